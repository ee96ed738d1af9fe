"""One controller tick (the ``canary`` function): every open rollout, one decision each.

1. one listing of the open index (:func:`~.state.open_rollouts`) and each rollout's head
   (never closed history);
2. the metrics of every canary and stable that needs analysing, in batched CloudMonitor calls
   (:func:`~.metrics.fetch_samples`: ``2 × ⌈2N/50⌉`` calls for N rollouts);
3. a pure :func:`~.lifecycle.decide` per rollout — asking the canary's status, the smoke
   request or a webhook only when the decision needs it;
4. :func:`~.apply.apply_decision` (record, then ReleaseService …, then notify);
5. due cleanups (canaries of rolled-back rollouts stopped ``cleanup_after`` later).

Overlapping or duplicated ticks are safe: a transition is applied only by the tick that
appended its record (see :mod:`.apply`).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError
from ..ledger import Record
from ..log import bind, get_logger
from ..runtime import Runtime
from . import traffic
from .apply import apply_decision, parse_cleanup_key, reapply_own, result_of
from .gates import Sample
from .hooks import call_webhook, smoke, webhook_payload
from .lifecycle import ANALYSED_PHASES, Check, Decision, Observation, RolloutView, decide
from .metrics import fetch_samples, period_for
from .policy import INTERVAL_TOLERANCE, Policy
from .state import TERMINAL_PHASES, drop_from_index, ensure_indexed, open_rollouts, read_head

TICK_BY = "canary-tick"
MAX_NEEDS = 4


def policy_of(rt: Runtime, pipeline: str) -> Policy:
    """The rollout policy of a pipeline (defaults when it has no ``rollout:`` block)."""
    cfg = rt.config.pipelines.get(pipeline)
    return Policy.from_config(getattr(cfg, "rollout", None))


def windows_of(head: Record, policy: Policy, now: float) -> dict[str, tuple[float, float]]:
    """The services a head needs analysed this tick, each with its window ``(start, now)``.

    >>> from ..ledger import Record
    >>> head = Record(entity="rollouts/demo/ro", seq=1, state="progressing", at=0.0,
    ...               data={"canary_service": "c", "stable_service": "s", "analysis_from": 0.0})
    >>> windows_of(head, Policy(), now=60.0)
    {'c': (0.0, 60.0), 's': (0.0, 60.0)}
    >>> windows_of(head, Policy(), now=30.0)
    {}
    """
    view = RolloutView.from_record(head)
    if view.phase not in ANALYSED_PHASES or view.paused:
        return {}
    if now - view.analysis_from < INTERVAL_TOLERANCE * policy.interval:
        return {}
    window = (max(view.analysis_from, now - policy.interval), now)
    out = {head.data["canary_service"]: window}
    if view.phase != "watching" and head.data.get("stable_service"):
        out[head.data["stable_service"]] = window
    return out


def observe_needs(rt: Runtime, head: Record, decision: Decision, obs: Observation) -> Observation:
    """Fill what ``decision`` says it needs (status, smoke, webhooks, metrics)."""
    import dataclasses

    d = head.data
    cfg = getattr(rt.config.pipelines.get(d["pipeline"]), "rollout", None)
    changes: dict[str, Any] = {}
    for need in decision.needs:
        if need == "canary_status":
            changes["canary_status"] = traffic.status(rt, d["canary_service"])
        elif need == "smoke":
            changes["smoke"] = smoke(rt, d["canary_service"], cfg.smoke) if cfg and cfg.smoke else Check(True, "no smoke")
        elif need in ("pre_rollout", "confirm_promotion"):
            hook = next((w for w in (cfg.webhooks if cfg else []) if w.type == need), None)
            payload = webhook_payload(d, phase=head.state, kind=need)
            if decision.gate is not None:
                payload["last_gate"] = decision.gate.to_dict()
            changes[need] = call_webhook(hook, payload) if hook else Check(True, "no webhook")
        elif need == "metrics":
            policy = policy_of(rt, d["pipeline"])
            view = RolloutView.from_record(head)
            window = (max(view.analysis_from, obs.now - policy.interval), obs.now)
            wanted = {d["canary_service"]: window}
            if d.get("stable_service") and head.state != "watching":
                wanted[d["stable_service"]] = window
            samples = fetch_samples(rt.clients.cms, wanted, period=period_for(policy.interval))
            changes["canary"] = samples.get(d["canary_service"], Sample(0, 0))
            changes["stable"] = samples.get(d.get("stable_service") or "")
    return dataclasses.replace(obs, **changes)


def decide_for(rt: Runtime, head: Record, obs: Observation, policy: Policy) -> Decision:
    """:func:`decide`, filling what it needs (at most a few rounds)."""
    decision = decide(RolloutView.from_record(head), obs, policy)
    for _ in range(MAX_NEEDS):
        if decision.action != "needs":
            return decision
        obs = observe_needs(rt, head, decision, obs)
        decision = decide(RolloutView.from_record(head), obs, policy)
    return decision


def advance_rollout(rt: Runtime, head: Record, obs: Observation, *, by: str = TICK_BY) -> dict[str, Any]:
    """Decide and apply one rollout's next transition."""
    policy = policy_of(rt, head.data["pipeline"])
    reapply_own(rt, head, policy, obs.now)  # a retry of the invocation that recorded the head finishes it
    decision = decide_for(rt, head, obs, policy)
    return apply_decision(rt, head, decision, policy, by=by, now=obs.now)


#: Head reads in flight at once (each is an OSS LIST + GET; their latency, not CPU, bounds a tick).
HEAD_READERS = 8


def open_heads(rt: Runtime) -> list[Record]:
    """The head of every open rollout, read in parallel (the index repaired: terminal or missing heads dropped)."""
    from concurrent.futures import ThreadPoolExecutor

    entries = open_rollouts(rt.ledger)
    if len(entries) > 1:
        with ThreadPoolExecutor(min(HEAD_READERS, len(entries))) as pool:
            found = list(pool.map(lambda e: read_head(rt.ledger, *e), entries))
    else:
        found = [read_head(rt.ledger, *e) for e in entries]
    heads = []
    for (pipeline, rid), head in zip(entries, found, strict=True):
        if head is None or head.state in TERMINAL_PHASES:
            drop_from_index(rt.ledger, pipeline, rid)
            continue
        heads.append(head)
    return heads


def run_cleanups(rt: Runtime, now: float) -> list[str]:
    """Stop the canaries whose cleanup fell due; their index entries go."""
    prefix = f"{rt.ledger.prefix}index/rollouts/cleanup/"
    stopped = []
    for key in rt.ledger.store.list_keys(prefix):
        due, _pipeline, service = parse_cleanup_key(rt.ledger.prefix, key)
        if due > now:
            break  # keys sort by due time
        traffic.stop(rt, service)
        rt.ledger.store.delete(key)
        stopped.append(service)
    return stopped


def run_tick(rt: Runtime) -> dict[str, Any]:
    """One tick over every open rollout; a summary with one result per rollout."""
    now = rt.now()
    log = get_logger()
    heads = open_heads(rt)
    known = [h for h in heads if h.data.get("pipeline") in rt.config.pipelines]
    for h in heads:
        if h not in known:
            log.warning("rollout of a pipeline not in the configuration: left alone", rollout_id=h.data.get("rollout_id"))
    windows: dict[str, tuple[float, float]] = {}
    intervals = []
    for head in known:
        policy = policy_of(rt, head.data["pipeline"])
        wanted = windows_of(head, policy, now)
        if wanted:
            intervals.append(policy.interval)
            windows.update(wanted)
    samples = fetch_samples(rt.clients.cms, windows, period=period_for(min(intervals))) if windows else {}
    def one(head: Record) -> dict[str, Any]:
        d = head.data
        bind(correlation_id=head.correlation_id)
        canary = samples.get(d["canary_service"])
        obs = Observation(now=now, canary=canary, stable=samples.get(d.get("stable_service") or "") if canary else None)
        try:
            return advance_rollout(rt, head, obs)
        except InvalidInputError as exc:  # the platform refused: log, keep the rollout open, go on
            log.error("rollout step refused by the platform", rollout_id=d.get("rollout_id"), error=str(exc))
            ensure_indexed(rt.ledger, d["pipeline"], d["rollout_id"])
            return result_of(head, "error", str(exc))

    # rollouts are independent (own ledger entity, own services): advance them side by side;
    # a transient error (throttling, 5xx) propagates so FC retries the tick, which the ledger makes safe
    if len(known) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(HEAD_READERS, len(known))) as pool:
            results = list(pool.map(one, known))
    else:
        results = [one(h) for h in known]
    stopped = run_cleanups(rt, now)
    applied = [r for r in results if r["outcome"] == "applied"]
    log.info("canary tick", open_rollouts=len(heads), transitions=len(applied), analysed_services=len(windows),
             cleaned_up=stopped)
    return {"outcome": "applied" if applied else "noop", "open_rollouts": len(heads), "transitions": len(applied),
            "cleaned_up": stopped, "rollouts": results}
