"""OSS state and behaviour: buckets and objects, one method per operation, all validation.

The HTTP layer (:mod:`.responses`) hands each method the request's values as strings; the
backend checks them and raises :mod:`.exceptions`. Every object write publishes
``ObjectCreated:*`` and every delete ``ObjectRemoved:*`` to the :class:`EventHub`
(after the change is stored, outside the lock). Listing lives in :mod:`.listing`.

Example
-------
>>> from localcloud.core.clock import Clock
>>> from localcloud.core.events import EventHub
>>> oss = OssBackend(clock=Clock(), hub=EventHub(), region="cn-hangzhou", account_id="1")
>>> _ = oss.create_bucket("demo")
>>> oss.put_object("demo", "a/b.txt", b"hi", content_type="text/plain").etag
'49F68A5C8493EC2C0BF489821C21FC3B'
>>> oss.get_object("demo", "a/b.txt").data
b'hi'
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.clock import Clock
from ..core.events import EventHub, ObjectEvent
from . import exceptions as err
from .append import AppendMixin
from .attributes import AttributesMixin
from .lifecycle import LifecycleMixin
from .listing import ListingMixin
from .multipart import MultipartMixin
from .postobject import PostObjectMixin
from .storage import BucketInfo, DiskStore, MemoryStore, ObjectMeta, ObjectStore
from .tagging import parse_tagging_header
from .utils import (
    BUCKET_ACLS,
    DEFAULT_CONTENT_TYPE,
    REDUNDANCY_TYPES,
    STORAGE_CLASSES,
    check_bucket_name,
    check_object_key,
    check_preconditions,
    crc64,
    decode_content_md5,
    etag_of,
    iso8601,
    object_acl_of,
    parse_range,
    storage_class_of,
)
from .utils import choice as _choice
from .versioning import VersioningMixin

#: OSS's default cap per account and region (help/en/oss/user-guide/limits: 100 buckets).
MAX_BUCKETS = 100
log = logging.getLogger("localcloud.oss")


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who made a request, for the event it causes (``request_id`` as in ``x-oss-request-id``)."""

    request_id: str = ""
    source_ip: str = "127.0.0.1"


@dataclasses.dataclass(frozen=True)
class ObjectRead:
    """A GET's answer: the object's metadata, the bytes sent and the range they cover (if any)."""

    meta: ObjectMeta
    data: bytes
    range: tuple[int, int] | None = None


class BucketState:
    """One bucket: its attributes, its objects and their keys in sorted order."""

    def __init__(self, info: BucketInfo, objects: Mapping[str, ObjectMeta] | None = None) -> None:
        self.info = info
        self.objects: dict[str, ObjectMeta] = dict(objects or {})
        self.keys: list[str] = sorted(self.objects)

    def put(self, meta: ObjectMeta) -> None:
        if meta.key not in self.objects:
            bisect.insort(self.keys, meta.key)
        self.objects[meta.key] = meta

    def remove(self, key: str) -> ObjectMeta | None:
        meta = self.objects.pop(key, None)
        if meta is not None:
            del self.keys[bisect.bisect_left(self.keys, key)]
        return meta


class OssBackend(
    ListingMixin, MultipartMixin, LifecycleMixin, AppendMixin, PostObjectMixin, VersioningMixin, AttributesMixin
):
    """All buckets and objects of one account in one region (multipart uploads, lifecycle rules,
    appends, form uploads, copies, ACLs, tags and symlinks live in the mixins' modules).

    ``data_dir`` keeps them on disk (they survive a restart); ``None`` keeps them in memory.
    ``max_buckets`` is the account's bucket cap (OSS's default: :data:`MAX_BUCKETS`).
    """

    def __init__(
        self, *, clock: Clock, hub: EventHub, region: str, account_id: str, data_dir: Path | None = None,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self.clock = clock
        self.max_buckets = max_buckets
        self.hub = hub
        self.region = region
        self.account_id = account_id
        self.store: ObjectStore = DiskStore(data_dir) if data_dir is not None else MemoryStore()
        self._lock = threading.RLock()
        self._buckets: dict[str, BucketState] = {
            info.name: BucketState(info, objects) for info, objects in self.store.load()
        }
        self._init_multipart(data_dir)
        self._init_lifecycle()
        self._versioning: dict[str, str] = {}

    # -- control -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every bucket, object, upload and rule (on disk too)."""
        with self._lock:
            self.store.clear()
            self.parts.clear()
            self._buckets.clear()
            self._uploads.clear()
            self._lifecycles.clear()
            self._versioning.clear()

    def state(self) -> dict[str, Any]:
        """``{"buckets": {name: {"created", "storage_class", "objects": {key: {"size", "etag", …}},
        "uploads": {upload id: key}, "lifecycle_rules": [rule id]}}}``."""
        with self._lock:
            return {
                "buckets": {
                    name: {
                        "created": iso8601(b.info.created),
                        "storage_class": b.info.storage_class,
                        "objects": {
                            key: {"size": b.objects[key].size, "etag": b.objects[key].etag,
                                  "last_modified": iso8601(b.objects[key].last_modified)}
                            for key in b.keys
                        },
                        "uploads": {u.upload_id: u.key for u in self._uploads.get(name, {}).values()},
                        "lifecycle_rules": [r.id for r in self._lifecycles[name].rules] if name in self._lifecycles else [],
                    }
                    for name, b in sorted(self._buckets.items())
                }
            }

    # -- buckets -----------------------------------------------------------------------------
    def bucket_names(self) -> list[str]:
        with self._lock:
            return sorted(self._buckets)

    def bucket(self, name: str) -> BucketState:
        """The bucket ``name`` (``NoSuchBucket`` if absent). Callers hold no lock: read-only use."""
        check_bucket_name(name)
        found = self._buckets.get(name)
        if found is None:
            raise err.no_such_bucket(name)
        return found

    def create_bucket(
        self, name: str, *, acl: str | None = None, storage_class: str | None = None, redundancy: str | None = None
    ) -> BucketInfo:
        """PutBucket. Re-creating one's own bucket succeeds and updates its ACL, as OSS does."""
        check_bucket_name(name)
        acl = _choice("x-oss-acl", acl, BUCKET_ACLS, "no such bucket access control exists")
        storage_class = _choice("StorageClass", storage_class, STORAGE_CLASSES, "Invalid storage class.")
        redundancy = _choice("DataRedundancyType", redundancy, REDUNDANCY_TYPES, "Invalid data redundancy type.")
        with self._lock:
            existing = self._buckets.get(name)
            if existing is not None:
                info = existing.info
                if storage_class and storage_class != info.storage_class:
                    raise err.bucket_already_exists(name, "Cannot modify existing bucket's storage class.")
                if redundancy and redundancy != info.redundancy:
                    raise err.bucket_already_exists(name, "Bucket already exists can't modify data redundancy type.")
                if acl and acl != info.acl:
                    info.acl = acl
                    self.store.save_bucket(info)
                return info
            if len(self._buckets) >= self.max_buckets:
                raise err.too_many_buckets(self.max_buckets)
            info = BucketInfo(
                name, created=self.clock.now(), storage_class=storage_class or "Standard",
                acl=acl or "private", redundancy=redundancy or "LRS",
            )
            self.store.save_bucket(info)
            self._buckets[name] = BucketState(info)
            return info

    def delete_bucket(self, name: str) -> None:
        with self._lock:
            if self.bucket(name).objects or self.upload_count(name):
                raise err.bucket_not_empty(name)
            self.store.remove_bucket(name)
            del self._buckets[name]
            self._lifecycles.pop(name, None)

    def get_bucket_info(self, name: str) -> BucketInfo:
        return self.bucket(name).info

    def get_bucket_location(self, name: str) -> str:
        self.bucket(name)
        return f"oss-{self.region}"

    def get_bucket_stat(self, name: str) -> dict[str, int]:
        with self._lock:
            objects = list(self.bucket(name).objects.values())
        storage = sum(meta.size for meta in objects)
        return {
            "Storage": storage, "ObjectCount": len(objects), "MultipartUploadCount": self.upload_count(name),
            "LastModifiedTime": int(max((m.last_modified for m in objects), default=0)),
            "StandardStorage": storage, "StandardObjectCount": len(objects),
        }

    # -- objects -----------------------------------------------------------------------------
    def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        content_md5: str | None = None,
        user_meta: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        forbid_overwrite: str | None = None,
        storage_class: str | None = None,
        object_acl: str | None = None,
        tagging: str | None = None,
        caller: Caller | None = None,
        event: str = "ObjectCreated:PutObject",
    ) -> ObjectMeta:
        """PutObject: store ``data`` under ``key``; publish ``event`` (PostObject stores the same way)."""
        check_object_key(key)
        if content_md5 is not None and decode_content_md5(content_md5) != hashlib.md5(data).digest():
            raise err.invalid_digest(content_md5)
        meta = ObjectMeta(
            key=key, size=len(data), etag=etag_of(data), crc64=crc64(data), last_modified=self.clock.now(),
            content_type=content_type or DEFAULT_CONTENT_TYPE,
            content_md5=content_md5 or "",
            user_meta={k.lower(): v for k, v in (user_meta or {}).items()},
            headers=dict(headers or {}),
            storage_class=storage_class_of(storage_class), acl=object_acl_of(object_acl),
            tags=parse_tagging_header(tagging),
        )
        return self._write(bucket, meta, data, forbid_overwrite, event, caller)

    def _write(
        self, bucket: str, meta: ObjectMeta, data: bytes, forbid_overwrite: str | None, event: str,
        caller: Caller | None,
    ) -> ObjectMeta:
        forbid = (forbid_overwrite or "").strip().lower() == "true"
        with self._lock:
            state = self.bucket(bucket)
            old = state.objects.get(meta.key)
            if forbid and old is not None:
                raise err.file_already_exists(meta.key)
            self.store.save_object(bucket, meta, data)
            state.put(meta)
        self._publish(event, bucket, meta, caller, meta.size - (old.size if old else 0))
        return meta

    def get_object(
        self,
        bucket: str,
        key: str,
        *,
        range_header: str | None = None,
        range_behavior: str | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: str | None = None,
        if_unmodified_since: str | None = None,
    ) -> ObjectRead:
        """GetObject, with a byte range (ignored when unsatisfiable unless ``x-oss-range-behavior:
        standard``) and the HTTP preconditions (412 ``PreconditionFailed`` / 304)."""
        with self._lock:
            meta, source = self._followed(bucket, self._object(bucket, key))
            check_preconditions(
                meta.etag, meta.last_modified, if_match, if_none_match, if_modified_since, if_unmodified_since
            )
            span = parse_range(range_header, meta.size) if range_header else None
            if span is None and range_header and (range_behavior or "").lower() == "standard":
                raise err.invalid_range(meta.size)
            if span is None:
                return ObjectRead(meta, self.store.read_object(bucket, source))
            return ObjectRead(meta, self.store.read_range(bucket, source, *span), span)

    def head_object(
        self,
        bucket: str,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: str | None = None,
        if_unmodified_since: str | None = None,
    ) -> ObjectMeta:
        """HeadObject: the metadata (a symlink's target's), after the same preconditions as GET."""
        with self._lock:
            meta = self._followed(bucket, self._object(bucket, key))[0]
        check_preconditions(meta.etag, meta.last_modified, if_match, if_none_match, if_modified_since, if_unmodified_since)
        return meta

    def get_object_meta(self, bucket: str, key: str) -> ObjectMeta:
        """GetObjectMeta (``HEAD ?objectMeta``): ETag, size and time only."""
        with self._lock:
            return self._object(bucket, key)

    def delete_object(self, bucket: str, key: str, *, caller: Caller | None = None) -> bool:
        """DeleteObject: 204 whether or not the key existed; an event only when it did."""
        check_object_key(key)
        with self._lock:
            old = self.bucket(bucket).remove(key)
            if old is not None:
                self.store.remove_object(bucket, key)
        if old is not None:
            self._publish("ObjectRemoved:DeleteObject", bucket, old, caller, -old.size)
        return old is not None

    def delete_objects(
        self, bucket: str, keys: list[str], *, content_md5: str | None, body: bytes, caller: Caller | None = None
    ) -> list[str]:
        """DeleteMultipleObjects: every requested key is reported deleted (as OSS does)."""
        if content_md5 is not None and decode_content_md5(content_md5) != hashlib.md5(body).digest():
            raise err.invalid_digest(content_md5)
        if not keys or len(keys) > 1000:
            raise err.malformed_xml()
        for key in keys:
            check_object_key(key)
        removed: list[ObjectMeta] = []
        with self._lock:
            state = self.bucket(bucket)
            for key in keys:
                old = state.remove(key)
                if old is not None:
                    self.store.remove_object(bucket, key)
                    removed.append(old)
        for old in removed:
            self._publish("ObjectRemoved:DeleteObjects", bucket, old, caller, -old.size)
        return list(keys)

    # -- helpers -----------------------------------------------------------------------------
    def _object(self, bucket: str, key: str) -> ObjectMeta:
        check_object_key(key)
        meta = self.bucket(bucket).objects.get(key)
        if meta is None:
            raise err.no_such_key(key)
        return meta

    def _publish(self, name: str, bucket: str, meta: ObjectMeta, caller: Caller | None, delta: int) -> None:
        caller = caller or Caller()
        event = ObjectEvent(
            event_name=name, bucket=bucket, key=meta.key, size=meta.size, etag=meta.etag,
            request_id=caller.request_id, source_ip=caller.source_ip, time=self.clock.now(),
            mime_type=meta.content_type, delta_size=delta,
        )
        try:
            self.hub.publish(event)
        except Exception:  # a subscriber's bug must not undo a stored write
            log.exception("an OSS event subscriber failed on %s %s/%s", name, bucket, meta.key)
