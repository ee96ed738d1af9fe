"""Replay protection: each signed request's nonce is recorded once, with an exclusive write.

The nonce key is ``<ledger prefix>webhook/nonces/<window>/<key id>/<nonce>``, where ``window`` is the
request's signed timestamp divided by the skew (300 s). A replay carries the same timestamp and
nonce, so it maps to the same key and the exclusive create (``x-oss-forbid-overwrite``) fails: the
request is ``replayed``. Once a window is older than the skew allows (``window < now // 300 - 1``),
every timestamp in it is ``stale`` anyway, so its nonces are no longer needed: :func:`sweep` deletes
them. Because every accepted request sweeps, the nonce listing holds at most the last ~3 windows
(15 minutes) of requests, whatever the ledger's age. Checking a nonce never lists anything.

Example
-------
>>> from ..ledger import MemoryStore
>>> store = MemoryStore()
>>> record_nonce(store, ".autopilot/", key_id="ci", nonce="a" * 16, timestamp=1000, now=1000)
True
>>> record_nonce(store, ".autopilot/", key_id="ci", nonce="a" * 16, timestamp=1000, now=1010)
False
>>> sweep(store, ".autopilot/", now=1000 + 900), store.list_keys(".autopilot/webhook/nonces/")
(1, [])
"""

from __future__ import annotations

import json

from ..ledger.store import Store
from .signature import MAX_SKEW_SECONDS

NONCES_KIND = "webhook/nonces/"


def window_of(timestamp: int, skew: int = MAX_SKEW_SECONDS) -> int:
    """The replay window of a signed timestamp.

    >>> window_of(1767225600), window_of(1767225899)
    (5890752, 5890752)
    """
    return timestamp // skew


def nonce_key(prefix: str, *, key_id: str, nonce: str, timestamp: int) -> str:
    """The store key recording one nonce (``nonce`` and ``key_id`` are already validated).

    >>> nonce_key(".autopilot/", key_id="ci", nonce="n" * 16, timestamp=600)
    '.autopilot/webhook/nonces/00000000002/ci/nnnnnnnnnnnnnnnn'
    """
    return f"{prefix}{NONCES_KIND}{window_of(timestamp):011d}/{key_id}/{nonce}"


def record_nonce(store: Store, prefix: str, *, key_id: str, nonce: str, timestamp: int, now: float) -> bool:
    """Record the nonce; False when it was recorded before (a replay)."""
    body = json.dumps({"key_id": key_id, "timestamp": timestamp, "at": now}).encode()
    return store.create_exclusive(nonce_key(prefix, key_id=key_id, nonce=nonce, timestamp=timestamp), body)


def sweep(store: Store, prefix: str, *, now: float, skew: int = MAX_SKEW_SECONDS) -> int:
    """Delete the nonces of windows no request can still be accepted in; how many were deleted."""
    base = f"{prefix}{NONCES_KIND}"
    oldest_live = int(now) // skew - 1
    deleted = 0
    for key in store.list_keys(base):
        window = key[len(base):].split("/", 1)[0]
        if window.isdigit() and int(window) < oldest_live:
            store.delete(key)
            deleted += 1
    return deleted
