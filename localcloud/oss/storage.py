"""Where OSS state lives: a small :class:`ObjectStore` interface, in memory or on disk.

The backend keeps its index (buckets, object metadata) in memory and writes every change
through a store; a store hands the whole state back on :meth:`ObjectStore.load`, so an on-disk
store survives a restart.

On disk (``<data_dir>/oss``)::

    <bucket>/bucket.json                          the bucket's attributes
    <bucket>/objects/<h2>/<h>.json                one object's metadata (h = sha256 of the key)
    <bucket>/objects/<h2>/<h>.<token>.blob        its bytes
    <bucket>/<name>.xml                           a bucket configuration (``lifecycle``)
    <bucket>/uploads/…                            multipart uploads in progress (:mod:`.parts`)

Every file is written to a temporary name and moved into place with :func:`os.replace`; an
object's bytes go to a fresh blob before its metadata points at them, so a crash leaves either
the old object or the new one, never a mix. Orphan blobs and temporary files are swept on load.

Example
-------
>>> store = MemoryStore()
>>> store.save_bucket(BucketInfo("b", created=0.0))
>>> store.save_object("b", ObjectMeta("k", 1, "E", 0, 0.0, "text/plain"), b"x")
>>> store.read_object("b", "k"), store.read_range("b", "k", 0, 0)
(b'x', b'x')
>>> [(info.name, sorted(objects)) for info, objects in store.load()]
[('b', ['k'])]
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

#: An object's bytes: all at once, or as chunks (a multipart object assembled from its parts).
Data = bytes | Iterable[bytes]


def join_data(data: Data) -> bytes:
    return bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else b"".join(data)


@dataclasses.dataclass
class BucketInfo:
    """A bucket's attributes."""

    name: str
    created: float
    storage_class: str = "Standard"
    acl: str = "private"
    redundancy: str = "LRS"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BucketInfo:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


@dataclasses.dataclass
class ObjectMeta:
    """An object's metadata: everything but its bytes.

    ``etag`` is the upper-case hex MD5 without quotes; ``user_meta`` maps lower-case
    ``x-oss-meta-*`` names to values; ``headers`` keeps the standard headers given on upload
    (``Cache-Control``, ``Content-Disposition``…), returned on GET and HEAD; ``tags`` are its
    object tags; a ``Symlink`` object names its target in ``symlink_target``.
    """

    key: str
    size: int
    etag: str
    crc64: int
    last_modified: float
    content_type: str
    content_md5: str = ""
    user_meta: dict[str, str] = dataclasses.field(default_factory=dict)
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    storage_class: str = "Standard"
    object_type: str = "Normal"
    acl: str = "default"
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    symlink_target: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObjectMeta:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


class ObjectStore(Protocol):
    """Persistence of buckets and objects. Callers serialize writes (the backend holds a lock)."""

    def load(self) -> list[tuple[BucketInfo, dict[str, ObjectMeta]]]: ...

    def save_bucket(self, info: BucketInfo) -> None: ...

    def remove_bucket(self, name: str) -> None: ...

    def save_object(self, bucket: str, meta: ObjectMeta, data: Data) -> None: ...

    def read_object(self, bucket: str, key: str) -> bytes: ...

    def read_range(self, bucket: str, key: str, first: int, last: int) -> bytes: ...

    def save_config(self, bucket: str, name: str, data: bytes | None) -> None: ...

    def load_config(self, bucket: str, name: str) -> bytes | None: ...

    def remove_object(self, bucket: str, key: str) -> None: ...

    def clear(self) -> None: ...


class MemoryStore:
    """Everything in dictionaries; gone with the process."""

    def __init__(self) -> None:
        self._buckets: dict[str, BucketInfo] = {}
        self._objects: dict[str, dict[str, tuple[ObjectMeta, bytes]]] = {}
        self._configs: dict[tuple[str, str], bytes] = {}

    def load(self) -> list[tuple[BucketInfo, dict[str, ObjectMeta]]]:
        return [
            (info, {key: meta for key, (meta, _) in self._objects.get(name, {}).items()})
            for name, info in self._buckets.items()
        ]

    def save_bucket(self, info: BucketInfo) -> None:
        self._buckets[info.name] = info
        self._objects.setdefault(info.name, {})

    def remove_bucket(self, name: str) -> None:
        self._buckets.pop(name, None)
        self._objects.pop(name, None)
        for config in [c for c in self._configs if c[0] == name]:
            del self._configs[config]

    def save_object(self, bucket: str, meta: ObjectMeta, data: Data) -> None:
        self._objects.setdefault(bucket, {})[meta.key] = (meta, join_data(data))

    def read_object(self, bucket: str, key: str) -> bytes:
        return self._objects[bucket][key][1]

    def read_range(self, bucket: str, key: str, first: int, last: int) -> bytes:
        return self._objects[bucket][key][1][first : last + 1]

    def save_config(self, bucket: str, name: str, data: bytes | None) -> None:
        if data is None:
            self._configs.pop((bucket, name), None)
        else:
            self._configs[(bucket, name)] = data

    def load_config(self, bucket: str, name: str) -> bytes | None:
        return self._configs.get((bucket, name))

    def remove_object(self, bucket: str, key: str) -> None:
        self._objects.get(bucket, {}).pop(key, None)

    def clear(self) -> None:
        self._buckets.clear()
        self._objects.clear()
        self._configs.clear()


def atomic_write(path: Path, data: Data) -> None:
    """Write ``data`` (bytes or chunks) to ``path`` through a temporary file and :func:`os.replace`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "wb") as handle:
            if isinstance(data, (bytes, bytearray, memoryview)):
                handle.write(data)
            else:
                for chunk in data:
                    handle.write(chunk)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class DiskStore:
    """Buckets and objects as files under ``<data_dir>/oss`` (layout in the module docstring)."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "oss"
        self.root.mkdir(parents=True, exist_ok=True)

    # -- paths -------------------------------------------------------------------------------
    def _bucket_dir(self, bucket: str) -> Path:
        return self.root / bucket

    def _meta_path(self, bucket: str, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self._bucket_dir(bucket) / "objects" / digest[:2] / f"{digest}.json"

    # -- ObjectStore -------------------------------------------------------------------------
    def load(self) -> list[tuple[BucketInfo, dict[str, ObjectMeta]]]:
        result: list[tuple[BucketInfo, dict[str, ObjectMeta]]] = []
        for bucket_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            info_path = bucket_dir / "bucket.json"
            if not info_path.is_file():
                continue
            info = BucketInfo.from_json(json.loads(info_path.read_text("utf-8")))
            result.append((info, self._load_objects(bucket_dir / "objects")))
        return result

    def _load_objects(self, objects_dir: Path) -> dict[str, ObjectMeta]:
        objects: dict[str, ObjectMeta] = {}
        if not objects_dir.is_dir():
            return objects
        live_blobs: set[str] = set()
        for meta_path in objects_dir.glob("*/*.json"):
            record = json.loads(meta_path.read_text("utf-8"))
            blob = meta_path.parent / record.get("blob", "")
            if not blob.is_file():
                continue
            live_blobs.add(str(blob))
            meta = ObjectMeta.from_json(record["meta"])
            objects[meta.key] = meta
        for stale in [*objects_dir.glob("*/*.blob"), *objects_dir.glob("*/.*.tmp")]:
            if str(stale) not in live_blobs:
                stale.unlink(missing_ok=True)
        return objects

    def save_bucket(self, info: BucketInfo) -> None:
        atomic_write(self._bucket_dir(info.name) / "bucket.json", json.dumps(info.to_json()).encode("utf-8"))

    def remove_bucket(self, name: str) -> None:
        shutil.rmtree(self._bucket_dir(name), ignore_errors=True)

    def save_object(self, bucket: str, meta: ObjectMeta, data: Data) -> None:
        meta_path = self._meta_path(bucket, meta.key)
        old_blob = self._blob_of(meta_path)
        blob = meta_path.with_name(f"{meta_path.stem}.{secrets.token_hex(8)}.blob")
        atomic_write(blob, data)
        record = {"blob": blob.name, "meta": meta.to_json()}
        atomic_write(meta_path, json.dumps(record, ensure_ascii=False).encode("utf-8"))
        if old_blob is not None and old_blob != blob:
            old_blob.unlink(missing_ok=True)

    def read_object(self, bucket: str, key: str) -> bytes:
        blob = self._blob_of(self._meta_path(bucket, key))
        if blob is None:
            raise KeyError(key)
        return blob.read_bytes()

    def read_range(self, bucket: str, key: str, first: int, last: int) -> bytes:
        blob = self._blob_of(self._meta_path(bucket, key))
        if blob is None:
            raise KeyError(key)
        with open(blob, "rb") as handle:
            handle.seek(first)
            return handle.read(last + 1 - first)

    def save_config(self, bucket: str, name: str, data: bytes | None) -> None:
        path = self._bucket_dir(bucket) / f"{name}.xml"
        if data is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write(path, data)

    def load_config(self, bucket: str, name: str) -> bytes | None:
        path = self._bucket_dir(bucket) / f"{name}.xml"
        return path.read_bytes() if path.is_file() else None

    def remove_object(self, bucket: str, key: str) -> None:
        meta_path = self._meta_path(bucket, key)
        blob = self._blob_of(meta_path)
        meta_path.unlink(missing_ok=True)
        if blob is not None:
            blob.unlink(missing_ok=True)

    def clear(self) -> None:
        for child in self.root.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    @staticmethod
    def _blob_of(meta_path: Path) -> Path | None:
        try:
            record = json.loads(meta_path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        return meta_path.parent / record["blob"]
