"""Multipart uploads in progress: each upload's record and its parts' bytes, in memory or on disk.

The backend keeps the index (:class:`Upload` records with their :class:`PartMeta`) in memory and
writes every change through a :class:`PartStore`. Completing an upload streams the parts'
bytes, in order, into the object store (:meth:`PartStore.chunks`), so a large object is never
held twice.

On disk (``<data_dir>/oss/<bucket>/uploads/<upload id>/``)::

    upload.json                 the upload: key, initiation time, the object's metadata to be
    <n>.json                    part n's metadata, naming its blob
    <n>.<token>.part            part n's bytes

As for objects, bytes go to a fresh blob before the metadata names it; orphan blobs are swept
on load.

Example
-------
>>> from .storage import ObjectMeta
>>> store = MemoryPartStore()
>>> upload = Upload("b", "k", "U1", 0.0, ObjectMeta("k", 0, "", 0, 0.0, "text/plain"))
>>> store.save_upload(upload)
>>> store.save_part(upload, PartMeta(1, 2, "E", 0, 0.0), b"hi")
>>> b"".join(store.chunks(upload, [1, 1]))
b'hihi'
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from .storage import ObjectMeta, atomic_write

CHUNK = 1 << 20


@dataclasses.dataclass
class PartMeta:
    """One uploaded part: its number, size, ETag (upper-case hex MD5) and CRC-64."""

    number: int
    size: int
    etag: str
    crc64: int
    last_modified: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartMeta:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


@dataclasses.dataclass
class Upload:
    """A multipart upload: where it goes, when it began, the completed object's metadata
    (``template``: content type, user metadata, headers, storage class, ACL) and its parts."""

    bucket: str
    key: str
    upload_id: str
    initiated: float
    template: ObjectMeta
    parts: dict[int, PartMeta] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket, "key": self.key, "upload_id": self.upload_id, "initiated": self.initiated,
            "template": self.template.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Upload:
        return cls(
            data["bucket"], data["key"], data["upload_id"], data["initiated"], ObjectMeta.from_json(data["template"])
        )


class PartStore(Protocol):
    """Persistence of uploads and parts. Callers serialize writes (the backend holds a lock)."""

    def load(self) -> list[Upload]: ...

    def save_upload(self, upload: Upload) -> None: ...

    def save_part(self, upload: Upload, part: PartMeta, data: bytes) -> None: ...

    def read_part(self, upload: Upload, number: int) -> bytes: ...

    def chunks(self, upload: Upload, numbers: list[int]) -> Iterator[bytes]: ...

    def remove_upload(self, upload: Upload) -> None: ...

    def clear(self) -> None: ...


class MemoryPartStore:
    """Parts in a dictionary; gone with the process."""

    def __init__(self) -> None:
        self._data: dict[str, dict[int, bytes]] = {}

    def load(self) -> list[Upload]:
        return []

    def save_upload(self, upload: Upload) -> None:
        self._data.setdefault(upload.upload_id, {})

    def save_part(self, upload: Upload, part: PartMeta, data: bytes) -> None:
        self._data.setdefault(upload.upload_id, {})[part.number] = bytes(data)

    def read_part(self, upload: Upload, number: int) -> bytes:
        return self._data[upload.upload_id][number]

    def chunks(self, upload: Upload, numbers: list[int]) -> Iterator[bytes]:
        parts = self._data[upload.upload_id]
        return (parts[n] for n in numbers)

    def remove_upload(self, upload: Upload) -> None:
        self._data.pop(upload.upload_id, None)

    def clear(self) -> None:
        self._data.clear()


class DiskPartStore:
    """Uploads and parts as files under ``<data_dir>/oss/<bucket>/uploads`` (layout above)."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "oss"
        self.root.mkdir(parents=True, exist_ok=True)

    def _dir(self, upload: Upload) -> Path:
        return self.root / upload.bucket / "uploads" / upload.upload_id

    def load(self) -> list[Upload]:
        uploads: list[Upload] = []
        for record in sorted(self.root.glob("*/uploads/*/upload.json")):
            upload = Upload.from_json(json.loads(record.read_text("utf-8")))
            live: set[Path] = set()
            for part_path in record.parent.glob("*.json"):
                if part_path.name == "upload.json":
                    continue
                data = json.loads(part_path.read_text("utf-8"))
                blob = part_path.parent / data.get("blob", "")
                if blob.is_file():
                    live.add(blob)
                    part = PartMeta.from_json(data["meta"])
                    upload.parts[part.number] = part
            for stale in [*record.parent.glob("*.part"), *record.parent.glob(".*.tmp")]:
                if stale not in live:
                    stale.unlink(missing_ok=True)
            uploads.append(upload)
        return uploads

    def save_upload(self, upload: Upload) -> None:
        atomic_write(self._dir(upload) / "upload.json", json.dumps(upload.to_json(), ensure_ascii=False).encode())

    def save_part(self, upload: Upload, part: PartMeta, data: bytes) -> None:
        meta_path = self._dir(upload) / f"{part.number}.json"
        old_blob = self._blob_of(meta_path)
        blob = meta_path.with_name(f"{part.number}.{secrets.token_hex(8)}.part")
        atomic_write(blob, data)
        atomic_write(meta_path, json.dumps({"blob": blob.name, "meta": part.to_json()}).encode())
        if old_blob is not None and old_blob != blob:
            old_blob.unlink(missing_ok=True)

    def read_part(self, upload: Upload, number: int) -> bytes:
        blob = self._blob_of(self._dir(upload) / f"{number}.json")
        if blob is None:
            raise KeyError(number)
        return blob.read_bytes()

    def chunks(self, upload: Upload, numbers: list[int]) -> Iterator[bytes]:
        for number in numbers:
            blob = self._blob_of(self._dir(upload) / f"{number}.json")
            if blob is None:
                raise KeyError(number)
            with open(blob, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk

    def remove_upload(self, upload: Upload) -> None:
        shutil.rmtree(self._dir(upload), ignore_errors=True)

    def clear(self) -> None:
        for uploads in self.root.glob("*/uploads"):
            shutil.rmtree(uploads, ignore_errors=True)

    @staticmethod
    def _blob_of(meta_path: Path) -> Path | None:
        try:
            record = json.loads(meta_path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        return meta_path.parent / record["blob"]
