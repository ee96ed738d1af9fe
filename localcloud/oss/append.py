"""AppendObject: create an ``Appendable`` object and grow it at its current length.

The first append (``position=0`` on a missing key) sets the object's metadata; later ones only
add bytes. The answer's ``x-oss-next-append-position`` is the new length and its
``x-oss-hash-crc64ecma`` the CRC-64 of the whole object (oss2 chains it with ``init_crc``).
A wrong position is 409 ``PositionNotEqualToLength`` (with the right one in
``x-oss-next-append-position``); a normal object is 409 ``ObjectNotAppendable``. Every append
publishes ``ObjectCreated:AppendObject``.

Example
-------
>>> from localcloud.core.clock import Clock
>>> from localcloud.core.events import EventHub
>>> from .models import OssBackend
>>> oss = OssBackend(clock=Clock(), hub=EventHub(), region="cn-hangzhou", account_id="1")
>>> _ = oss.create_bucket("demo")
>>> first = oss.append_object("demo", "log.txt", "0", b"hello ")
>>> second = oss.append_object("demo", "log.txt", str(first.size), b"world")
>>> second.size, second.object_type, oss.get_object("demo", "log.txt").data
(11, 'Appendable', b'hello world')
>>> try:
...     oss.append_object("demo", "log.txt", "3", b"!")
... except Exception as exc:
...     print(exc.code, exc.headers)
PositionNotEqualToLength {'x-oss-next-append-position': '11'}
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..core.clock import Clock
from . import exceptions as err
from .storage import ObjectMeta, ObjectStore
from .tagging import parse_tagging_header
from .utils import (
    DEFAULT_CONTENT_TYPE,
    check_object_key,
    crc64,
    decode_content_md5,
    etag_of,
    object_acl_of,
    storage_class_of,
)

if TYPE_CHECKING:
    from .models import BucketState, Caller

APPENDABLE = "Appendable"


def parse_position(value: str | None) -> int:
    try:
        position = int(value or "")
    except ValueError:
        position = -1
    if position < 0:
        raise err.invalid_argument("Argument position must be a non-negative integer.", "position", value)
    return position


class AppendMixin:
    """AppendObject on :class:`~localcloud.oss.models.OssBackend`."""

    clock: Clock
    store: ObjectStore
    _lock: threading.RLock

    def bucket(self, name: str) -> BucketState:
        raise NotImplementedError

    def _publish(self, name: str, bucket: str, meta: ObjectMeta, caller: Caller | None, delta: int) -> None:
        raise NotImplementedError

    def append_object(
        self,
        bucket: str,
        key: str,
        position: str | None,
        data: bytes,
        *,
        content_type: str | None = None,
        content_md5: str | None = None,
        user_meta: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        storage_class: str | None = None,
        object_acl: str | None = None,
        tagging: str | None = None,
        caller: Caller | None = None,
    ) -> ObjectMeta:
        """AppendObject (``POST /<bucket>/<key>?append&position=N``); the first append creates the
        object with its metadata and ``x-oss-tagging``, later ones only add bytes."""
        check_object_key(key)
        offset = parse_position(position)
        tags = parse_tagging_header(tagging)
        if content_md5 is not None and decode_content_md5(content_md5) != hashlib.md5(data).digest():
            raise err.invalid_digest(content_md5)
        with self._lock:
            state = self.bucket(bucket)
            old = state.objects.get(key)
            if old is not None and old.object_type != APPENDABLE:
                raise err.object_not_appendable()
            length = old.size if old is not None else 0
            if offset != length:
                raise err.position_not_equal_to_length(length)
            now = self.clock.now()
            if old is None:
                whole = data
                meta = ObjectMeta(
                    key=key, size=len(data), etag=etag_of(data), crc64=crc64(data), last_modified=now,
                    content_type=content_type or DEFAULT_CONTENT_TYPE,
                    user_meta={k.lower(): v for k, v in (user_meta or {}).items()}, headers=dict(headers or {}),
                    storage_class=storage_class_of(storage_class), object_type=APPENDABLE,
                    acl=object_acl_of(object_acl), tags=tags,
                )
            else:
                whole = self.store.read_object(bucket, key) + data
                meta = dataclasses.replace(
                    old, size=len(whole), etag=etag_of(whole), crc64=crc64(data, old.crc64), last_modified=now,
                    content_md5="", user_meta=dict(old.user_meta), headers=dict(old.headers),
                )
            self.store.save_object(bucket, meta, whole)
            state.put(meta)
        self._publish("ObjectCreated:AppendObject", bucket, meta, caller, len(data))
        return meta
