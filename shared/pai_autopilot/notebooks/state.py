"""Per-instance governor state in the ledger, the open index and the action log.

* Entity ``notebooks/<instance id>``: an append-only history; the newest record is the state.
  States: ``warned`` (an idle episode was announced; ``stop_at``), ``snoozed`` (``snoozed_until``),
  ``stopping`` (the stop is claimed; StopInstance follows), ``stopped``, ``cleared`` (the episode
  ended without a stop: busy again, exempt, no longer running), ``restarted`` (running again
  after our stop). Writing the next record is the compare-and-set: of two overlapping ticks only
  one warns, only one stops.
* Open index ``<ledger>/index/notebooks/<instance id>@<state>@<record time>``: present while the
  state needs a look (warned, snoozed, stopping, and stopped until it is restarted or
  ``max_avoided_hours`` pass). A tick lists it once; it reads the head record only of entries whose
  instance is running or whose state is not ``stopped``, and of instances idle enough to act on —
  never every instance's state. The key carries the state, so a stopped instance that stays
  stopped costs nothing but its line in the listing.
* Pending notices ``<ledger>/index/notebooks/<instance id>@notice@<record seq>.<event>``: in the same
  listing, present from just before a ``warned`` or ``stopped`` record is written until its notice is
  delivered or given up (:mod:`.delivery`) — so a notice lost to a crash costs requests only while it
  is pending.
* Action log ``<ledger>/index/notebook-actions/<UTC date>/<at>-<instance>-<seq>``: a copy of every
  record, by day, so reports and the status page list only the days they show.

Example
-------
>>> from ..ledger import Ledger, MemoryStore
>>> ledger = Ledger(MemoryStore(), prefix=".autopilot/", now=lambda: 1_800_000_000.0)
>>> rec = write(ledger, "dsw-1", "warned", {"stop_at": 1_800_001_800.0}, head=None)
>>> entry = open_instances(ledger)["dsw-1"]
>>> entry.state, entry.at, view(rec).kind, view(rec).stop_at
('warned', 1800000000.0, 'warned', 1800001800.0)
>>> [r["state"] for r in actions_between(ledger, 1_799_999_000.0, 1_800_000_100.0)]
['warned']
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from ..ledger import Ledger, Record

KIND = "notebooks/"
OPEN_STATES = ("warned", "snoozed", "stopping", "stopped")
NOTICE = "notice"  # the middle field of a pending notice's index key


def entity(instance_id: str) -> str:
    return f"{KIND}{instance_id}"


def _open_prefix(ledger: Ledger) -> str:
    return f"{ledger.prefix}index/notebooks/"


def _actions_prefix(ledger: Ledger) -> str:
    return f"{ledger.prefix}index/notebook-actions/"


@dataclasses.dataclass(frozen=True)
class NotebookState:
    """The head record, read for a decision (``kind="none"`` when there is none)."""

    kind: str = "none"
    at: float = 0.0
    episode: str | None = None
    stop_at: float | None = None
    snoozed_until: float | None = None
    save_image: bool = False
    by: str | None = None  # who wrote it (a request id, ``webhook:…``, ``cli:…``)


def view(record: Record | None) -> NotebookState:
    if record is None:
        return NotebookState()
    d = record.data
    return NotebookState(kind=record.state, at=record.at, episode=d.get("episode"), stop_at=d.get("stop_at"),
                         snoozed_until=d.get("snoozed_until"), save_image=bool(d.get("save_image", False)),
                         by=record.by)


@dataclasses.dataclass(frozen=True)
class IndexEntry:
    """An open-index entry: the instance's open state and when it was recorded (from the key alone)."""

    instance_id: str
    state: str
    at: float
    keys: tuple[str, ...]  # every index key of the instance (normally one)


def _index_key(ledger: Ledger, instance_id: str, kind: str, at: float) -> str:
    return f"{_open_prefix(ledger)}{instance_id}@{kind}@{at:.6f}"


@dataclasses.dataclass(frozen=True)
class PendingNotice:
    """A notice announced in the open index and not yet settled (delivered or given up): the notice of
    record ``seq`` of the instance (``notebook_idle_warning`` of a ``warned``, ``notebook_stopped`` of a
    ``stopped``). See :mod:`.delivery`."""

    instance_id: str
    seq: int
    event: str
    key: str


def notice_key(ledger: Ledger, instance_id: str, seq: int, event: str) -> str:
    """The open-index key announcing the notice of record ``seq`` (the same for every writer)."""
    return f"{_open_prefix(ledger)}{instance_id}@{NOTICE}@{seq:08d}.{event}"


def open_instances(ledger: Ledger) -> dict[str, IndexEntry]:
    """The open index by instance id (one LIST per 1,000 entries; the key carries state and time)."""
    return open_index(ledger)[0]


def open_index(ledger: Ledger) -> tuple[dict[str, IndexEntry], list[PendingNotice]]:
    """The open index by instance id, and the pending notices it announces — from the same listing."""
    prefix = _open_prefix(ledger)
    found: dict[str, IndexEntry] = {}
    pending: list[PendingNotice] = []
    for key in ledger.store.list_keys(prefix):
        try:
            instance_id, kind, at_text = key[len(prefix):].rsplit("@", 2)
            if kind == NOTICE:
                seq_text, event = at_text.split(".", 1)
                pending.append(PendingNotice(instance_id, int(seq_text), event, key))
                continue
            at = float(at_text)
        except ValueError:
            continue  # not ours
        old = found.get(instance_id)
        keys = (*old.keys, key) if old else (key,)
        if old is None or at >= old.at:
            found[instance_id] = IndexEntry(instance_id, kind, at, keys)
        else:
            found[instance_id] = dataclasses.replace(old, keys=keys)
    return found, pending


def clear_open(ledger: Ledger, entry: IndexEntry) -> None:
    for key in entry.keys:
        ledger.store.delete(key)


def write(ledger: Ledger, instance_id: str, state: str, data: dict[str, Any], *, head: Record | None,
          by: str | None = None) -> Record:
    """Append the next record after ``head`` (claim the first); keep the index and action log in step.

    Raises :class:`~pai_autopilot.ledger.LedgerConflict` when another writer got there first.
    """
    name = entity(instance_id)
    if head is None:
        record = ledger.claim(name, state, data, by=by, correlation_id=instance_id)
    else:
        record = ledger.append(name, state, data, after=head, by=by)
    day = time.strftime("%Y-%m-%d", time.gmtime(record.at))
    body = {"instance_id": instance_id, "state": record.state, "at": record.at, "seq": record.seq,
            "by": record.by, "data": record.data}
    ledger.store.put(f"{_actions_prefix(ledger)}{day}/{record.at:017.6f}-{instance_id}-{record.seq:08d}",
                     json.dumps(body, default=str).encode())
    if state in OPEN_STATES:
        ledger.store.put(_index_key(ledger, instance_id, state, record.at), b"{}")
    if head is not None and head.state in OPEN_STATES:
        ledger.store.delete(_index_key(ledger, instance_id, head.state, head.at))
    return record


def actions_between(ledger: Ledger, start: float, end: float) -> list[dict[str, Any]]:
    """Every recorded action with ``start <= at <= end``, oldest first (one LIST per day shown)."""
    out: list[dict[str, Any]] = []
    day = int(start // 86_400)
    while day * 86_400 <= end:
        prefix = f"{_actions_prefix(ledger)}{time.strftime('%Y-%m-%d', time.gmtime(day * 86_400))}/"
        for key in ledger.store.list_keys(prefix):
            at = float(key[len(prefix):].split("-", 1)[0])
            if start <= at <= end:
                body = ledger.store.read(key)
                if body is not None:
                    out.append(json.loads(body))
        day += 1
    return sorted(out, key=lambda a: (a["at"], a["instance_id"], a["seq"]))
