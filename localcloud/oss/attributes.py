"""Object and bucket attributes: ACLs (and who may act anonymously), tags, symlinks.

* **ACLs**: Put/GetBucketAcl (``private``, ``public-read``, ``public-read-write``) and
  Put/GetObjectACL (also ``default``: the bucket's). An unsigned request is served only when the
  effective ACL allows it: reads (GET/HEAD of objects, listing) on ``public-read`` and
  ``public-read-write``, writes of objects on ``public-read-write``; everything else, and every
  bucket configuration call, needs a signature.
* **Tags**: Put/Get/DeleteObjectTagging, checked by :mod:`.tagging`; changing tags does not
  touch ``Last-Modified`` (as OSS).
* **Symlinks**: PutSymlink stores an object of type ``Symlink`` naming its target (which need
  not exist yet); GetSymlink returns the target; GET and HEAD of a symlink serve its target
  (404 ``SymlinkTargetNotExist`` when it is gone). Tags and ACLs of a symlink are its own.

Example
-------
>>> from localcloud.core.clock import Clock
>>> from localcloud.core.events import EventHub
>>> from localcloud.oss.models import OssBackend
>>> b = OssBackend(clock=Clock(), hub=EventHub(), region="cn-hangzhou", account_id="1")
>>> _ = b.create_bucket("bkt"); _ = b.put_object("bkt", "a.txt", b"hi")
>>> b.anonymous_allowed("GetObject", "bkt", "a.txt")
False
>>> b.put_bucket_acl("bkt", "public-read"); b.anonymous_allowed("GetObject", "bkt", "a.txt")
True
>>> _ = b.put_symlink("bkt", "link", "a.txt"); b.get_object("bkt", "link").data
b'hi'
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from typing import Any

from . import exceptions as err
from .exceptions import OssError
from .storage import ObjectMeta, ObjectStore
from .tagging import parse_tagging_header
from .utils import (
    BUCKET_ACLS,
    DEFAULT_CONTENT_TYPE,
    check_object_key,
    etag_of,
    object_acl_of,
    storage_class_of,
)
from .utils import choice as _choice

SYMLINK = "Symlink"
#: Operations an unsigned caller may make, by the effective ACL that allows them.
ANONYMOUS_READS = frozenset({"GetObject", "HeadObject", "GetObjectMeta", "GetSymlink", "ListObjects",
                             "ListObjectsV2"})
ANONYMOUS_WRITES = frozenset({
    "PutObject", "PostObject", "DeleteObject", "DeleteMultipleObjects", "AppendObject", "CopyObject", "PutSymlink",
    "InitiateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
    "AbortMultipartUpload", "ListParts",
})


def not_symlink(key: str) -> OssError:
    return OssError("NotSymlink", "The specified object is not a symlink.", status=400, extra={"Key": key})


def symlink_target_missing(key: str, target: str) -> OssError:
    return OssError("SymlinkTargetNotExist", "The symlink target object does not exist.", status=404,
                    extra={"Key": key, "TargetKey": target})


class AttributesMixin:
    """ACLs, object tags and symlinks on :class:`~localcloud.oss.models.OssBackend`."""

    clock: Any
    store: ObjectStore
    _lock: threading.RLock
    _buckets: dict[str, Any]

    def bucket(self, name: str) -> Any:
        raise NotImplementedError

    def _object(self, bucket: str, key: str) -> ObjectMeta:
        raise NotImplementedError

    def get_object(self, bucket: str, key: str) -> Any:
        raise NotImplementedError

    def _write(self, bucket: str, meta: ObjectMeta, data: bytes, forbid_overwrite: str | None, event: str,
               caller: Any) -> ObjectMeta:
        raise NotImplementedError

    # -- copies ------------------------------------------------------------------------------
    def copy_object(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        *,
        metadata_directive: str | None = None,
        content_type: str | None = None,
        user_meta: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        forbid_overwrite: str | None = None,
        tagging_directive: str | None = None,
        tagging: str | None = None,
        caller: Any = None,
    ) -> ObjectMeta:
        """CopyObject: ``x-oss-metadata-directive`` and ``x-oss-tagging-directive`` ``COPY`` (the
        default) keep the source's metadata / tags, ``REPLACE`` takes the request's."""
        check_object_key(key)
        directive = _choice(
            "x-oss-metadata-directive", metadata_directive, ("COPY", "REPLACE"), "Invalid metadata directive."
        )
        tag_directive = _choice(
            "x-oss-tagging-directive", tagging_directive, ("COPY", "REPLACE"), "Invalid tagging directive."
        )
        new_tags = parse_tagging_header(tagging) if tag_directive == "REPLACE" else None
        source = self.get_object(source_bucket, source_key)
        meta = dataclasses.replace(
            source.meta, key=key, last_modified=self.clock.now(), user_meta=dict(source.meta.user_meta),
            headers=dict(source.meta.headers), tags=dict(source.meta.tags) if new_tags is None else new_tags,
            symlink_target="", acl="default",
        )
        if directive == "REPLACE":
            meta.content_type = content_type or DEFAULT_CONTENT_TYPE
            meta.user_meta = {k.lower(): v for k, v in (user_meta or {}).items()}
            meta.headers = dict(headers or {})
        return self._write(bucket, meta, source.data, forbid_overwrite, "ObjectCreated:CopyObject", caller)

    # -- ACLs ----------------------------------------------------------------------------------
    def put_bucket_acl(self, bucket: str, acl: str | None) -> None:
        """PutBucketAcl (``x-oss-acl``)."""
        grant = _choice("x-oss-acl", acl, BUCKET_ACLS, "no such bucket access control exists")
        if grant is None:
            raise err.invalid_argument("no such bucket access control exists", "x-oss-acl", acl or "")
        with self._lock:
            info = self.bucket(bucket).info
            info.acl = grant
            self.store.save_bucket(info)

    def get_bucket_acl(self, bucket: str) -> str:
        return str(self.bucket(bucket).info.acl)

    def put_object_acl(self, bucket: str, key: str, acl: str | None) -> None:
        """PutObjectACL (``x-oss-object-acl``; ``default`` defers to the bucket)."""
        if not acl:
            raise err.invalid_argument("no such object access control exists", "x-oss-object-acl", "")
        self._update(bucket, key, acl=object_acl_of(acl))

    def get_object_acl(self, bucket: str, key: str) -> str:
        with self._lock:
            return self._object(bucket, key).acl

    def anonymous_allowed(self, operation: str, bucket: str, key: str) -> bool:
        """Whether an unsigned caller may make ``operation`` on ``bucket``/``key``."""
        with self._lock:
            state = self._buckets.get(bucket)
            if state is None:
                return False
            acl = state.info.acl
            meta = state.objects.get(key) if key else None
            if meta is not None and meta.acl != "default":
                acl = meta.acl
        if operation in ANONYMOUS_READS:
            return acl in ("public-read", "public-read-write")
        return operation in ANONYMOUS_WRITES and acl == "public-read-write"

    # -- tags ----------------------------------------------------------------------------------
    def put_object_tagging(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        self._update(bucket, key, tags=dict(tags))

    def get_object_tagging(self, bucket: str, key: str) -> dict[str, str]:
        with self._lock:
            return dict(self._object(bucket, key).tags)

    def delete_object_tagging(self, bucket: str, key: str) -> None:
        self._update(bucket, key, tags={})

    def _update(self, bucket: str, key: str, **changes: Any) -> None:
        """Change an object's attributes in place (its bytes, ETag and Last-Modified stay)."""
        with self._lock:
            meta = dataclasses.replace(self._object(bucket, key), **changes)
            data = b"" if meta.object_type == SYMLINK else self.store.read_object(bucket, key)
            self.store.save_object(bucket, meta, data)
            self.bucket(bucket).put(meta)

    # -- symlinks ------------------------------------------------------------------------------
    def put_symlink(
        self, bucket: str, key: str, target: str, *, content_type: str | None = None,
        user_meta: Mapping[str, str] | None = None, forbid_overwrite: str | None = None,
        storage_class: str | None = None, object_acl: str | None = None, tagging: str | None = None,
        caller: Any = None,
    ) -> ObjectMeta:
        """PutSymlink (``x-oss-symlink-target``, URL-encoded by oss2 and decoded here)."""
        check_object_key(key)
        check_object_key(target)
        meta = ObjectMeta(
            key=key, size=0, etag=etag_of(target.encode("utf-8")), crc64=0, last_modified=self.clock.now(),
            content_type=content_type or DEFAULT_CONTENT_TYPE,
            user_meta={k.lower(): v for k, v in (user_meta or {}).items()},
            storage_class=storage_class_of(storage_class), object_type=SYMLINK, acl=object_acl_of(object_acl),
            tags=parse_tagging_header(tagging), symlink_target=target,
        )
        return self._write(bucket, meta, b"", forbid_overwrite, "ObjectCreated:PutSymlink", caller)

    def get_symlink(self, bucket: str, key: str) -> ObjectMeta:
        """GetSymlink: the symlink's own metadata (``NotSymlink`` for another object)."""
        with self._lock:
            meta = self._object(bucket, key)
        if meta.object_type != SYMLINK:
            raise not_symlink(key)
        return meta

    def _followed(self, bucket: str, meta: ObjectMeta) -> tuple[ObjectMeta, str]:
        """(the metadata to serve, the key whose bytes to read) for GET/HEAD of ``meta``.

        A symlink is served as its target's bytes, size, ETag and type, with the later of the
        two ``Last-Modified`` times and the symlink's own user metadata and tags. Caller holds the lock.
        """
        if meta.object_type != SYMLINK:
            return meta, meta.key
        target = self.bucket(bucket).objects.get(meta.symlink_target)
        if target is None or target.object_type == SYMLINK:
            raise symlink_target_missing(meta.key, meta.symlink_target)
        served = dataclasses.replace(
            target, key=meta.key, last_modified=max(meta.last_modified, target.last_modified),
            user_meta=dict(meta.user_meta), tags=dict(meta.tags), acl=meta.acl,
        )
        return served, target.key
