"""Who may complete a rollout intent (pure): its owner at once, anyone else only after the lease."""

from __future__ import annotations

from types import SimpleNamespace

from pai_autopilot.ledger import Record
from pai_autopilot.rollout.apply import INTENT_LEASE_S, intent_left_to_owner, owner_of


def intent(owner: str | None, at: float = 100.0) -> Record:
    data = {"rollout_id": "ro", "canary_weight": 0} | ({"request_id": owner} if owner is not None else {})
    return Record(entity="rollouts/demo/ro", seq=3, state="rolling_back", at=at, data=data)


def test_the_owner_and_its_fc_retries_complete_their_intent_at_once():
    assert not intent_left_to_owner(SimpleNamespace(request_id="req-1"), intent("req-1"), now=100.5)


def test_another_invocation_leaves_a_fresh_intent_to_its_owner_then_takes_it_over():
    other = SimpleNamespace(request_id="req-2")
    assert intent_left_to_owner(other, intent("req-1"), now=100.0 + INTENT_LEASE_S - 1)
    assert not intent_left_to_owner(other, intent("req-1"), now=100.0 + INTENT_LEASE_S)


def test_an_intent_recorded_before_owners_were_recorded_is_anyones():
    assert not intent_left_to_owner(SimpleNamespace(request_id="req-2"), intent(None), now=100.0)


def test_outside_fc_the_owner_is_the_process():
    assert owner_of(SimpleNamespace(request_id=None)).startswith("pid-")
