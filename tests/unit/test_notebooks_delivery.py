"""The notebook governor's notice delivery and stop-claim decisions, pure (no I/O)."""

from __future__ import annotations

from pathlib import Path

import yaml

from pai_autopilot.config.models import Notebooks
from pai_autopilot.ledger import Ledger, MemoryStore, Record
from pai_autopilot.notebooks import state
from pai_autopilot.notebooks.decide import GOVERNOR_TIMEOUT_S, STOP_LEASE_S, decide
from pai_autopilot.notebooks.delivery import MAX_ATTEMPTS, NOTICE_LEASE_S, next_step
from pai_autopilot.notebooks.views import InstanceView

ROOT = Path(__file__).resolve().parents[2]
POLICY = Notebooks(mode="enforce", idle_minutes=60, warn_minutes=30)
IDLE = InstanceView("dsw-1", "nb", "Running", "ecs.g7.xlarge", False, 0, "alice", {}, None, 90, None)


def notice(state_name: str, *, attempt: int = 1, at: float = 0.0, by: str = "r1") -> Record:
    return Record(entity="notifications/dsw-1/00000000-notebook_idle_warning", seq=attempt - 1, state=state_name,
                  at=at, data={"attempt": attempt, "outcomes": {"webhook#0": "failed: HTTP 500"}}, by=by)


def test_a_notice_is_sent_once_resent_when_its_sender_is_gone_and_given_up_after_three_attempts():
    assert (next_step(None, now=0.0, request_id="r1").action, next_step(None, now=0.0, request_id="r1").attempt) == ("send", 1)
    for settled in ("sent", "given_up", "skipped"):
        assert next_step(notice(settled), now=1e9, request_id="r1").action == "done"
    # someone else is sending it: left to them inside the lease, taken over after it
    sending = notice("sending", at=100.0, by="r1")
    assert next_step(sending, now=100.0 + NOTICE_LEASE_S - 1, request_id="r2").action == "wait"
    taken = next_step(sending, now=100.0 + NOTICE_LEASE_S, request_id="r2")
    assert (taken.action, taken.attempt) == ("send", 2) and "sender is gone" in taken.reason
    # FC's retry of the same request: its earlier attempt died, so at once
    retry = next_step(sending, now=101.0, request_id="r1")
    assert (retry.action, retry.attempt) == ("send", 2) and "this request" in retry.reason
    assert next_step(notice("sending", by=None), now=1.0, request_id=None).action == "wait"  # no id: not "own"
    # a failed attempt is retried at the next tick, bounded
    failed = next_step(notice("failed", attempt=1), now=0.0, request_id="r2")
    assert (failed.action, failed.attempt) == ("send", 2) and "HTTP 500" in failed.reason
    assert next_step(notice("failed", attempt=MAX_ATTEMPTS), now=0.0, request_id="r2").action == "give_up"
    assert next_step(notice("sending", attempt=MAX_ATTEMPTS), now=1e9, request_id="r2").action == "give_up"


def _stopping(by: str, at: float) -> state.NotebookState:
    return state.NotebookState(kind="stopping", at=at, by=by)


def test_a_stop_claim_is_its_owners_at_once_and_anyones_after_the_lease():
    claim = _stopping("req-a", 1000.0)
    assert decide(IDLE, claim, POLICY, now=1001.0, request_id="req-a").action == "stop"  # FC's retry
    assert decide(IDLE, claim, POLICY, now=1001.0, request_id="req-b").action == "wait"
    assert decide(IDLE, claim, POLICY, now=1000.0 + STOP_LEASE_S - 1, request_id="req-b").action == "wait"
    assert decide(IDLE, claim, POLICY, now=1000.0 + STOP_LEASE_S, request_id="req-b").action == "stop"
    assert decide(IDLE, claim, POLICY, now=1001.0).action == "wait"  # no request id: never "own"


def test_the_stop_lease_is_the_functions_timeout_in_s_yaml_plus_a_margin():
    spec = yaml.safe_load((ROOT / "s.yaml").read_text())["resources"]["dsw_governor"]["props"]
    assert float(spec["timeout"]) == GOVERNOR_TIMEOUT_S
    assert GOVERNOR_TIMEOUT_S < STOP_LEASE_S <= GOVERNOR_TIMEOUT_S + 60


def test_pending_notices_come_from_the_same_listing_as_the_open_index():
    ledger = Ledger(MemoryStore(), prefix=".autopilot/", now=lambda: 1_800_000_000.0)
    warned = state.write(ledger, "dsw-1", "warned", {}, head=None)
    ledger.store.put(state.notice_key(ledger, "dsw-1", warned.seq, "notebook_idle_warning"), b"{}")
    ledger.store.put(state.notice_key(ledger, "dsw-2", 7, "notebook_stopped"), b"{}")
    entries, pending = state.open_index(ledger)
    assert {k: e.state for k, e in entries.items()} == {"dsw-1": "warned"}  # a notice is no state
    assert [(p.instance_id, p.seq, p.event) for p in pending] == [("dsw-1", 0, "notebook_idle_warning"),
                                                                  ("dsw-2", 7, "notebook_stopped")]
    state.clear_open(ledger, entries["dsw-1"])  # forgetting an instance leaves its notices owed
    assert len(state.open_index(ledger)[1]) == 2
