"""The ledger's append-only semantics over the in-memory store (the OSS store: functional tests)."""

from __future__ import annotations

import threading

import pytest

from pai_autopilot.errors import ConflictError
from pai_autopilot.ledger import Ledger, LedgerConflict, MemoryStore


@pytest.fixture
def ledger():
    clock = iter(range(1000))
    return Ledger(MemoryStore(), prefix=".autopilot", now=lambda: float(next(clock)))


def test_claim_then_append_builds_a_history(ledger):
    first = ledger.claim("runs/demo/r1", "claimed", {"a": 1}, correlation_id="r1", by="req-1")
    second = ledger.append("runs/demo/r1", "submitted", {"job_id": "dlc1"}, after=first, by="req-1")
    history = ledger.history("runs/demo/r1")
    assert [(r.seq, r.state) for r in history] == [(0, "claimed"), (1, "submitted")]
    assert second.correlation_id == "r1"  # carried over
    assert ledger.latest("runs/demo/r1") == second
    assert ledger.store.list_keys(".autopilot/runs/demo/r1/") == [
        ".autopilot/runs/demo/r1/00000000.json", ".autopilot/runs/demo/r1/00000001.json",
    ]


def test_second_claim_conflicts_and_is_a_conflict_error(ledger):
    ledger.claim("runs/demo/r1", "claimed", {})
    with pytest.raises(LedgerConflict) as info:
        ledger.claim("runs/demo/r1", "claimed", {})
    assert isinstance(info.value, ConflictError)
    assert info.value.seq == 0


def test_append_after_a_stale_record_conflicts(ledger):
    first = ledger.claim("runs/demo/r1", "claimed", {})
    ledger.append("runs/demo/r1", "submitted", {}, after=first)
    with pytest.raises(LedgerConflict):
        ledger.append("runs/demo/r1", "rejected", {}, after=first)
    assert ledger.latest("runs/demo/r1").state == "submitted"


def test_unknown_entity_has_no_history(ledger):
    assert ledger.latest("runs/demo/none") is None
    assert ledger.history("runs/demo/none") == []


def test_entities_lists_each_entity_once(ledger):
    r = ledger.claim("runs/demo/a", "claimed", {})
    ledger.append("runs/demo/a", "submitted", {}, after=r)
    ledger.claim("runs/other/b", "claimed", {})
    assert ledger.entities("runs/") == ["runs/demo/a", "runs/other/b"]


def test_readers_ignore_unknown_fields(ledger):
    ledger.store.create_exclusive(
        ".autopilot/runs/demo/x/00000000.json",
        b'{"entity":"runs/demo/x","seq":0,"state":"claimed","at":1.0,"future_field":[1,2]}',
    )
    assert ledger.latest("runs/demo/x").state == "claimed"


def test_exactly_one_of_many_concurrent_claimants_wins(ledger):
    winners, losers = [], []
    barrier = threading.Barrier(16)

    def claim(i: int) -> None:
        barrier.wait()
        try:
            ledger.claim("runs/demo/race", "claimed", {"who": i})
            winners.append(i)
        except LedgerConflict:
            losers.append(i)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and len(losers) == 15
    assert ledger.latest("runs/demo/race").data == {"who": winners[0]}
