"""The ledger: an append-only history of JSON records per entity, with compare-and-set.

An entity (a training run, a rollout, a notebook action) is a key prefix
``<ledger_prefix><entity>/``; its records are ``00000000.json``, ``00000001.json``, … Writing
record ``n+1`` succeeds for exactly one writer (the store's exclusive create), so the
current state is the latest record and the history is the audit trail.

* :meth:`Ledger.claim` writes record 0 — the first claimant wins, everyone else gets
  :class:`LedgerConflict` (a :class:`~pai_autopilot.errors.ConflictError`);
* :meth:`Ledger.append` writes ``after.seq + 1`` — optimistic concurrency: it fails with
  :class:`LedgerConflict` when someone appended since ``after`` was read;
* :meth:`Ledger.latest` and :meth:`Ledger.history` read.

Records carry ``schema``; readers ignore unknown fields.

Example
-------
>>> from .store import MemoryStore
>>> ledger = Ledger(MemoryStore(), prefix=".autopilot/", now=lambda: 0.0)
>>> first = ledger.claim("runs/demo/v1", "claimed", {"dataset": "oss://b/d/"})
>>> second = ledger.append("runs/demo/v1", "submitted", {"job_id": "dlc1"}, after=first)
>>> ledger.latest("runs/demo/v1").state, second.seq
('submitted', 1)
>>> ledger.claim("runs/demo/v1", "claimed", {})
Traceback (most recent call last):
...
pai_autopilot.ledger.ledger.LedgerConflict: runs/demo/v1 record 0 already exists
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from ..errors import ConflictError, TransientError
from .store import Store

SCHEMA_VERSION = 1
_SEQ_WIDTH = 8


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """One ledger record. ``data`` is free-form per entity kind."""

    entity: str
    seq: int
    state: str
    at: float
    data: dict[str, Any] = {}
    correlation_id: str | None = None
    by: str | None = None
    schema: int = SCHEMA_VERSION


class LedgerConflict(ConflictError):
    """Another writer created this record first."""

    def __init__(self, entity: str, seq: int) -> None:
        super().__init__(f"{entity} record {seq} already exists")
        self.entity = entity
        self.seq = seq


_decoder = msgspec.json.Decoder(Record)
_encoder = msgspec.json.Encoder()


class Ledger:
    """Append-only records per entity over a :class:`~.store.Store`."""

    def __init__(self, store: Store, *, prefix: str = ".autopilot/", now: Callable[[], float] = time.time) -> None:
        self.store = store
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.now = now

    def _key(self, entity: str, seq: int) -> str:
        return f"{self.prefix}{entity}/{seq:0{_SEQ_WIDTH}d}.json"

    def _write(self, entity: str, seq: int, state: str, data: dict[str, Any], correlation_id: str | None, by: str | None) -> Record:
        record = Record(entity=entity, seq=seq, state=state, at=self.now(), data=data, correlation_id=correlation_id, by=by)
        if not self.store.create_exclusive(self._key(entity, seq), _encoder.encode(record)):
            raise LedgerConflict(entity, seq)
        return record

    def claim(
        self, entity: str, state: str, data: dict[str, Any], *, correlation_id: str | None = None, by: str | None = None
    ) -> Record:
        """Write the entity's first record; raise :class:`LedgerConflict` if it exists."""
        return self._write(entity, 0, state, data, correlation_id, by)

    def append(
        self, entity: str, state: str, data: dict[str, Any], *, after: Record, by: str | None = None,
        correlation_id: str | None = None,
    ) -> Record:
        """Write the record after ``after``; raise :class:`LedgerConflict` if taken.

        ``correlation_id`` carries over from ``after`` unless given (an entity whose records
        belong to different model versions, like a pipeline's stable history, passes its own).
        """
        return self._write(entity, after.seq + 1, state, data, correlation_id or after.correlation_id, by)

    def history(self, entity: str) -> list[Record]:
        """Every record of the entity, oldest first (empty when it was never claimed)."""
        records = []
        for key in self.store.list_keys(f"{self.prefix}{entity}/"):
            body = self.store.read(key)
            if body is None:  # listed then gone: only a manual delete does that
                raise TransientError(f"ledger record {key} vanished while reading")
            records.append(self._decode(key, body))
        return records

    def latest(self, entity: str) -> Record | None:
        """The current state: the entity's newest record, or None."""
        keys = self.store.list_keys(f"{self.prefix}{entity}/")
        if not keys:
            return None
        body = self.store.read(keys[-1])
        if body is None:
            raise TransientError(f"ledger record {keys[-1]} vanished while reading")
        return self._decode(keys[-1], body)

    def entities(self, kind_prefix: str) -> list[str]:
        """Entity names under ``kind_prefix`` (e.g. ``runs/``), from their record keys."""
        names = {key[len(self.prefix) :].rsplit("/", 1)[0] for key in self.store.list_keys(self.prefix + kind_prefix)}
        return sorted(names)

    @staticmethod
    def _decode(key: str, body: bytes) -> Record:
        try:
            return _decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise TransientError(f"ledger record {key} is unreadable: {exc}") from exc
