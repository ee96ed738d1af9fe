"""Rollouts: a canary version driven through traffic steps to promotion or rollback.

``state`` is the persisted rollout (ledger entity + open index), shared by ``serving`` (which
opens a rollout) and the controller (which advances it, one transition per tick).
"""
