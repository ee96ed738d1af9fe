"""Where ledger records live: a store with one exclusive-create primitive.

The ledger needs three verbs: create a key *only if absent* (the compare-and-set), read a
key, and list keys under a prefix. :class:`OssStore` implements them with
``x-oss-forbid-overwrite: true`` (409 ``FileAlreadyExists`` when taken); :class:`MemoryStore`
backs unit tests of pure logic. Another store (Tablestore conditional writes) can slot in by
implementing :class:`Store`.

Limits of the OSS primitive (see docs/ledger.md): the header does not take effect on a
bucket whose versioning is enabled or suspended, so the ledger must live in an unversioned
bucket; and writers racing to create one key are settled by OSS, but callers still guard
external side effects with a second, platform-side uniqueness (deterministic DLC job names).

Example
-------
>>> store = MemoryStore()
>>> store.create_exclusive("a/0.json", b"{}")
True
>>> store.create_exclusive("a/0.json", b"{}")
False
>>> store.list_keys("a/")
['a/0.json']
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

from ..clients import retry_oss

if TYPE_CHECKING:
    import oss2


class Store(Protocol):
    def create_exclusive(self, key: str, body: bytes) -> bool:
        """Create ``key`` unless it exists. True when this call created it."""

    def read(self, key: str) -> bytes | None:
        """The body of ``key``, or None when absent."""

    def list_keys(self, prefix: str, *, limit: int | None = None) -> list[str]:
        """Every key under ``prefix``, sorted (only the first ``limit`` when given)."""

    def put(self, key: str, body: bytes) -> None:
        """Write ``key`` (overwriting): for indexes, never for ledger records."""

    def delete(self, key: str) -> None:
        """Remove ``key`` if present: for indexes, never for ledger records."""


class MemoryStore:
    """An in-process store (tests and dry runs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[str, bytes] = {}

    def create_exclusive(self, key: str, body: bytes) -> bool:
        with self._lock:
            if key in self._objects:
                return False
            self._objects[key] = body
            return True

    def read(self, key: str) -> bytes | None:
        with self._lock:
            return self._objects.get(key)

    def list_keys(self, prefix: str, *, limit: int | None = None) -> list[str]:
        with self._lock:
            return sorted(k for k in self._objects if k.startswith(prefix))[:limit]

    def put(self, key: str, body: bytes) -> None:
        with self._lock:
            self._objects[key] = body

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(key, None)


class OssStore:
    """The ledger in an OSS bucket, through ``oss2`` (retries in :func:`retry_oss`)."""

    def __init__(self, bucket: oss2.Bucket) -> None:
        self.bucket = bucket

    def create_exclusive(self, key: str, body: bytes) -> bool:
        import oss2

        headers = {"x-oss-forbid-overwrite": "true", "Content-Type": "application/json"}
        try:
            retry_oss(lambda: self.bucket.put_object(key, body, headers=headers))
        except oss2.exceptions.ServerError as exc:
            if exc.status == 409 and exc.code == "FileAlreadyExists":
                return False
            raise
        return True

    def read(self, key: str) -> bytes | None:
        import oss2

        try:
            return retry_oss(lambda: self.bucket.get_object(key).read())
        except oss2.exceptions.NoSuchKey:
            return None

    def list_keys(self, prefix: str, *, limit: int | None = None) -> list[str]:
        """One ListObjectsV2 per 1,000 keys; with ``limit``, pages of at most ``limit`` keys and
        no page after the first ``limit`` (OSS lists in key order)."""
        page_size = min(limit, 1000) if limit else 1000

        def page(token: str) -> Any:
            return self.bucket.list_objects_v2(prefix=prefix, continuation_token=token, max_keys=page_size)

        keys: list[str] = []
        token = ""
        while limit is None or len(keys) < limit:
            result = retry_oss(lambda t=token: page(t))  # type: ignore[misc]
            keys.extend(obj.key for obj in result.object_list)
            if not result.is_truncated:
                break
            token = result.next_continuation_token
        return sorted(keys)[:limit]

    def put(self, key: str, body: bytes) -> None:
        retry_oss(lambda: self.bucket.put_object(key, body))

    def delete(self, key: str) -> None:
        retry_oss(lambda: self.bucket.delete_object(key))
