"""Multipart upload: initiate, upload parts (or copy them), complete, abort, list parts and uploads.

The completed object is the parts' bytes in the listed order; its CRC-64 is combined from the
parts' CRCs (no byte is re-read), its ETag is the MD5 of the parts' binary MD5s plus ``-<count>``
(OSS only documents it as "a unique value", and oss2 does not check it), its type
``Multipart``. Only completion publishes an event (``ObjectCreated:CompleteMultipartUpload``).

Example
-------
>>> from localcloud.core.clock import Clock
>>> from localcloud.core.events import EventHub
>>> from .models import OssBackend
>>> oss = OssBackend(clock=Clock(), hub=EventHub(), region="cn-hangzhou", account_id="1")
>>> _ = oss.create_bucket("demo")
>>> upload = oss.initiate_multipart_upload("demo", "big.bin")
>>> part = oss.upload_part("demo", "big.bin", upload.upload_id, "1", b"abc")
>>> meta = oss.complete_multipart_upload("demo", "big.bin", upload.upload_id, [("1", part.etag)])
>>> (meta.size, meta.object_type, meta.etag.endswith("-1")), oss.get_object("demo", "big.bin").data
((3, 'Multipart', True), b'abc')
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.clock import Clock
from . import exceptions as err
from .listing import check_length, parse_encoding_type
from .parts import DiskPartStore, MemoryPartStore, PartMeta, PartStore, Upload
from .storage import ObjectMeta, ObjectStore
from .tagging import parse_tagging_header
from .utils import (
    DEFAULT_CONTENT_TYPE,
    check_object_key,
    crc64,
    crc64_combine,
    decode_content_md5,
    etag_of,
    object_acl_of,
    storage_class_of,
)

if TYPE_CHECKING:
    from .models import BucketState, Caller, ObjectRead

MAX_PART_NUMBER = 10_000
MIN_PART_SIZE = 100 * 1024  # every part but the last (CompleteMultipartUpload checks it)


@dataclasses.dataclass
class PartList:
    """One page of ListParts."""

    upload: Upload
    parts: list[PartMeta]
    marker: int
    next_marker: int
    max_parts: int
    is_truncated: bool


@dataclasses.dataclass
class UploadList:
    """One page of ListMultipartUploads (``next_*`` empty unless truncated)."""

    bucket: str
    prefix: str
    delimiter: str
    key_marker: str
    upload_id_marker: str
    max_uploads: int
    encoding_type: str | None
    uploads: list[Upload]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str
    next_upload_id_marker: str


def _int_param(name: str, value: str | None, default: int, low: int, high: int, message: str) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise err.invalid_argument(message, name, value)
    return number


def parse_part_number(value: str | None) -> int:
    message = f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive."
    if value is None or value == "":
        raise err.invalid_argument(message, "partNumber", value)
    return _int_param("partNumber", value, 0, 1, MAX_PART_NUMBER, message)


def new_upload_id(now: float) -> str:
    """32 upper-case hex digits, ordered by initiation time (so listings sort uploads by it)."""
    return f"{int(now * 1_000_000) & (2**64 - 1):016X}{secrets.token_hex(8).upper()}"


class MultipartMixin:
    """The multipart operations of :class:`~localcloud.oss.models.OssBackend`."""

    clock: Clock
    store: ObjectStore
    _lock: threading.RLock
    _buckets: dict[str, BucketState]

    def bucket(self, name: str) -> BucketState:
        raise NotImplementedError

    def get_object(self, bucket: str, key: str, **kwargs: str | None) -> ObjectRead:
        raise NotImplementedError

    def _write(self, bucket: str, meta: ObjectMeta, data: object, forbid_overwrite: str | None, event: str,
               caller: Caller | None) -> ObjectMeta:
        raise NotImplementedError

    # -- state -------------------------------------------------------------------------------
    def _init_multipart(self, data_dir: Path | None) -> None:
        self.parts: PartStore = DiskPartStore(data_dir) if data_dir is not None else MemoryPartStore()
        self._uploads: dict[str, dict[str, Upload]] = {}
        for upload in self.parts.load():
            if upload.bucket in self._buckets:
                self._uploads.setdefault(upload.bucket, {})[upload.upload_id] = upload

    def _upload(self, bucket: str, key: str, upload_id: str | None) -> Upload:
        check_object_key(key)
        self.bucket(bucket)
        upload = self._uploads.get(bucket, {}).get(upload_id or "")
        if upload is None or upload.key != key:
            raise err.no_such_upload(upload_id or "")
        return upload

    def upload_count(self, bucket: str) -> int:
        return len(self._uploads.get(bucket, {}))

    # -- operations --------------------------------------------------------------------------
    def initiate_multipart_upload(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        user_meta: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        forbid_overwrite: str | None = None,
        storage_class: str | None = None,
        object_acl: str | None = None,
        tagging: str | None = None,
    ) -> Upload:
        """InitiateMultipartUpload: the metadata (and ``x-oss-tagging``) given here becomes the completed object's."""
        check_object_key(key)
        template = ObjectMeta(
            key=key, size=0, etag="", crc64=0, last_modified=0.0, content_type=content_type or DEFAULT_CONTENT_TYPE,
            user_meta={k.lower(): v for k, v in (user_meta or {}).items()}, headers=dict(headers or {}),
            storage_class=storage_class_of(storage_class), object_type="Multipart", acl=object_acl_of(object_acl),
            tags=parse_tagging_header(tagging),
        )
        with self._lock:
            state = self.bucket(bucket)
            if (forbid_overwrite or "").strip().lower() == "true" and key in state.objects:
                raise err.file_already_exists(key)
            now = self.clock.now()
            upload = Upload(bucket, key, new_upload_id(now), now, template)
            self.parts.save_upload(upload)
            self._uploads.setdefault(bucket, {})[upload.upload_id] = upload
        return upload

    def upload_part(
        self, bucket: str, key: str, upload_id: str | None, part_number: str | None, data: bytes,
        *, content_md5: str | None = None,
    ) -> PartMeta:
        """UploadPart: store (or replace) part ``partNumber`` of the upload."""
        number = parse_part_number(part_number)
        if content_md5 is not None and decode_content_md5(content_md5) != hashlib.md5(data).digest():
            raise err.invalid_digest(content_md5)
        part = PartMeta(number, len(data), etag_of(data), crc64(data), self.clock.now())
        with self._lock:
            upload = self._upload(bucket, key, upload_id)
            self.parts.save_part(upload, part, data)
            upload.parts[number] = part
        return part

    def upload_part_copy(
        self, bucket: str, key: str, upload_id: str | None, part_number: str | None, source_bucket: str,
        source_key: str, *, source_range: str | None = None,
    ) -> PartMeta:
        """UploadPartCopy: a part made of (a byte range of) an existing object."""
        number = parse_part_number(part_number)
        with self._lock:
            self._upload(bucket, key, upload_id)
        data = self.get_object(source_bucket, source_key, range_header=source_range).data
        return self.upload_part(bucket, key, upload_id, str(number), data)

    def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str | None,
        listed: list[tuple[str, str]] | None,
        *,
        complete_all: str | None = None,
        forbid_overwrite: str | None = None,
        caller: Caller | None = None,
    ) -> ObjectMeta:
        """CompleteMultipartUpload with the listed ``(PartNumber, ETag)`` pairs (or every part when
        ``x-oss-complete-all: yes``); publishes ``ObjectCreated:CompleteMultipartUpload``."""
        with self._lock:
            upload = self._upload(bucket, key, upload_id)
            parts = self._chosen_parts(upload, listed, (complete_all or "").strip().lower() == "yes")
            del self._uploads[bucket][upload.upload_id]  # claimed: a concurrent complete finds no upload
        try:
            meta = self._assemble(upload, parts)
            chunks = self.parts.chunks(upload, [p.number for p in parts])
            meta = self._write(bucket, meta, chunks, forbid_overwrite, "ObjectCreated:CompleteMultipartUpload", caller)
        except BaseException:
            with self._lock:
                if bucket in self._buckets:
                    self._uploads.setdefault(bucket, {})[upload.upload_id] = upload
            raise
        with self._lock:
            self.parts.remove_upload(upload)
        return meta

    def _chosen_parts(self, upload: Upload, listed: list[tuple[str, str]] | None, complete_all: bool) -> list[PartMeta]:
        if complete_all:
            if listed:
                raise err.invalid_argument("Should not specify both complete all header and http body.")
            chosen = [upload.parts[n] for n in sorted(upload.parts)]
            if not chosen:
                raise err.invalid_part(upload.upload_id, "", "")
        else:
            if not listed:
                raise err.malformed_xml()
            chosen = []
            for number_text, etag in listed:
                try:
                    number = int(number_text)
                except ValueError:
                    raise err.malformed_xml() from None
                if chosen and number <= chosen[-1].number:
                    raise err.invalid_part_order(upload.upload_id)
                part = upload.parts.get(number)
                if part is None or part.etag.upper() != etag.strip().strip('"').upper():
                    raise err.invalid_part(upload.upload_id, number_text, etag)
                chosen.append(part)
        for part in chosen[:-1]:
            if part.size < MIN_PART_SIZE:
                raise err.entity_too_small({
                    "MinSizeAllowed": str(MIN_PART_SIZE), "ProposedSize": str(part.size),
                    "PartNumber": str(part.number),
                })
        return chosen

    def _assemble(self, upload: Upload, parts: list[PartMeta]) -> ObjectMeta:
        crc, size = 0, 0
        for part in parts:
            crc = crc64_combine(crc, part.crc64, part.size)
            size += part.size
        digest = hashlib.md5(b"".join(bytes.fromhex(p.etag) for p in parts)).hexdigest().upper()
        return dataclasses.replace(
            upload.template, size=size, crc64=crc, etag=f"{digest}-{len(parts)}",
            last_modified=self.clock.now(),
            user_meta=dict(upload.template.user_meta), headers=dict(upload.template.headers),
        )

    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str | None) -> None:
        """AbortMultipartUpload: the upload and its parts are gone."""
        with self._lock:
            upload = self._upload(bucket, key, upload_id)
            del self._uploads[bucket][upload.upload_id]
            self.parts.remove_upload(upload)

    def list_parts(
        self, bucket: str, key: str, upload_id: str | None, *, max_parts: str | None = None,
        part_number_marker: str | None = None,
    ) -> PartList:
        """ListParts: parts numbered above ``part-number-marker``, at most ``max-parts`` (≤ 1000)."""
        limit = _int_param("max-parts", max_parts, 1000, 1, 1000,
                           "Argument max-parts must be an integer between 1 and 1000.")
        marker = _int_param("part-number-marker", part_number_marker, 0, 0, MAX_PART_NUMBER,
                            "Argument part-number-marker must be an integer between 0 and 10000.")
        with self._lock:
            upload = self._upload(bucket, key, upload_id)
            numbers = sorted(n for n in upload.parts if n > marker)
            page = [upload.parts[n] for n in numbers[:limit]]
        truncated = len(numbers) > limit
        return PartList(upload, page, marker, page[-1].number if page else marker, limit, truncated)

    def list_multipart_uploads(
        self,
        bucket: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        key_marker: str | None = None,
        upload_id_marker: str | None = None,
        max_uploads: str | None = None,
        encoding_type: str | None = None,
    ) -> UploadList:
        """ListMultipartUploads: by key, then by initiation; a delimiter rolls keys up into prefixes."""
        prefix = check_length("prefix", prefix or "")
        delimiter = check_length("delimiter", delimiter or "")
        key_marker = check_length("key-marker", key_marker or "")
        upload_id_marker = (upload_id_marker or "") if key_marker else ""
        limit = _int_param("max-uploads", max_uploads, 1000, 1, 1000,
                           "Argument max-uploads must be an integer between 1 and 1000.")
        encoding = parse_encoding_type(encoding_type)
        with self._lock:
            self.bucket(bucket)
            ordered = sorted(self._uploads.get(bucket, {}).values(), key=lambda u: (u.key, u.upload_id))
        start = bisect.bisect_left([(u.key, u.upload_id) for u in ordered], (prefix, ""))
        uploads: list[Upload] = []
        prefixes: list[str] = []
        truncated, last = False, ("", "")
        for upload in ordered[start:]:
            if not upload.key.startswith(prefix):
                break
            if (upload.key, upload.upload_id) <= (key_marker, upload_id_marker) or (
                not upload_id_marker and upload.key == key_marker
            ):
                continue
            group = None
            if delimiter:
                cut = upload.key.find(delimiter, len(prefix))
                group = upload.key[: cut + len(delimiter)] if cut >= 0 else None
            if group is not None and (group <= key_marker or (prefixes and prefixes[-1] == group)):
                continue
            if len(uploads) + len(prefixes) == limit:
                truncated = True
                break
            if group is not None:
                prefixes.append(group)
                last = (group, "")
            else:
                uploads.append(upload)
                last = (upload.key, upload.upload_id)
        return UploadList(
            bucket, prefix, delimiter, key_marker, upload_id_marker, limit, encoding, uploads, prefixes, truncated,
            last[0] if truncated else "", last[1] if truncated else "",
        )
