"""Listing buckets and objects (ListBuckets, ListObjects, ListObjectsV2): paging and grouping.

Keys are scanned in lexicographic order from a marker (``marker``, ``start-after`` or the
position a continuation token stands for). With a ``delimiter``, keys sharing the part up to the
delimiter roll up into one common prefix, which counts as one entry toward ``max-keys`` and is
only returned when it sorts after the marker — so paging never repeats it.

Example
-------
>>> from localcloud.core.clock import Clock
>>> from localcloud.core.events import EventHub
>>> from .models import OssBackend
>>> oss = OssBackend(clock=Clock(), hub=EventHub(), region="cn-hangzhou", account_id="1")
>>> _ = oss.create_bucket("demo")
>>> for key in ("a/1", "a/2", "b"):
...     _ = oss.put_object("demo", key, b"")
>>> page = oss.list_objects_v2("demo", delimiter="/", max_keys="1")
>>> page.common_prefixes, page.is_truncated
(['a/'], True)
>>> [m.key for m in oss.list_objects_v2("demo", delimiter="/", continuation_token=page.next_marker).objects]
['b']
"""

from __future__ import annotations

import base64
import binascii
import bisect
import dataclasses
import threading
from typing import TYPE_CHECKING

from . import exceptions as err
from .storage import BucketInfo, ObjectMeta

if TYPE_CHECKING:
    from .models import BucketState


@dataclasses.dataclass
class ObjectList:
    """One page of a ListObjects / ListObjectsV2 answer.

    ``next_marker`` is ``NextMarker`` (v1) or ``NextContinuationToken`` (v2); empty unless truncated.
    """

    bucket: str
    prefix: str
    delimiter: str
    max_keys: int
    encoding_type: str | None
    objects: list[ObjectMeta]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str
    marker: str = ""
    start_after: str = ""
    continuation_token: str = ""
    fetch_owner: bool = False
    owner_id: str = ""

    @property
    def key_count(self) -> int:
        return len(self.objects) + len(self.common_prefixes)


@dataclasses.dataclass
class BucketList:
    """One page of a ListBuckets answer."""

    buckets: list[BucketInfo]
    prefix: str
    marker: str
    max_keys: int
    is_truncated: bool
    next_marker: str
    owner_id: str


def encode_token(marker: str) -> str:
    """The opaque continuation token for "continue after ``marker``" (URL-safe as it is)."""
    return base64.urlsafe_b64encode(marker.encode("utf-8")).decode("ascii").rstrip("=")


def decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        raise err.invalid_argument(
            "The continuation token provided is incorrect.", "continuation-token", token
        ) from None


def parse_max_keys(value: str | None, default: int = 100) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 1 <= number <= 1000:
        raise err.invalid_argument("Argument max-keys must be an integer between 1 and 1000.", "max-keys", value)
    return number


def parse_encoding_type(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value.lower() != "url":
        raise err.invalid_argument("The Encoding-Type you specified was invalid.", "encoding-type", value)
    return "url"


def parse_bool(name: str, value: str | None) -> bool:
    if value is None or value == "" or value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    raise err.invalid_argument(f"Argument {name} must be true or false.", name, value)


def check_length(name: str, value: str) -> str:
    if len(value.encode("utf-8")) > 1023:
        raise err.invalid_argument(f"Argument {name} must be shorter than 1024 bytes.", name, value)
    return value


def scan(
    state: BucketState, prefix: str, delimiter: str, after: str, limit: int
) -> tuple[list[ObjectMeta], list[str], bool, str]:
    """Up to ``limit`` entries after ``after``: (objects, common prefixes, truncated, last entry)."""
    keys = state.keys
    i = max(bisect.bisect_right(keys, after) if after else 0, bisect.bisect_left(keys, prefix))
    objects: list[ObjectMeta] = []
    prefixes: list[str] = []
    last = ""
    while i < len(keys):
        key = keys[i]
        if not key.startswith(prefix):
            break
        group = None
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            group = key[: cut + len(delimiter)] if cut >= 0 else None
        if group is not None and group <= after:
            i = _skip_group(keys, i, group)
            continue
        if len(objects) + len(prefixes) == limit:
            return objects, prefixes, True, last
        if group is not None:
            prefixes.append(group)
            last = group
            i = _skip_group(keys, i, group)
        else:
            objects.append(state.objects[key])
            last = key
            i += 1
    return objects, prefixes, False, last


def _skip_group(keys: list[str], i: int, group: str) -> int:
    while i < len(keys) and keys[i].startswith(group):
        i += 1
    return i


class ListingMixin:
    """The listing operations of :class:`~localcloud.oss.models.OssBackend`."""

    account_id: str
    _lock: threading.RLock
    _buckets: dict[str, BucketState]

    def bucket(self, name: str) -> BucketState:
        raise NotImplementedError

    def list_objects_v2(
        self,
        bucket: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        max_keys: str | None = None,
        continuation_token: str | None = None,
        start_after: str | None = None,
        fetch_owner: str | None = None,
        encoding_type: str | None = None,
    ) -> ObjectList:
        """ListObjectsV2 (``GET /<bucket>/?list-type=2``); a token wins over ``start-after``."""
        prefix = check_length("prefix", prefix or "")
        delimiter = check_length("delimiter", delimiter or "")
        start_after = check_length("start-after", start_after or "")
        limit = parse_max_keys(max_keys)
        encoding = parse_encoding_type(encoding_type)
        owner = parse_bool("fetch-owner", fetch_owner)
        after = decode_token(continuation_token) if continuation_token else start_after
        with self._lock:
            objects, prefixes, truncated, last = scan(self.bucket(bucket), prefix, delimiter, after, limit)
        return ObjectList(
            bucket, prefix, delimiter, limit, encoding, objects, prefixes, truncated,
            next_marker=encode_token(last) if truncated else "", start_after=start_after,
            continuation_token=continuation_token or "", fetch_owner=owner, owner_id=self.account_id,
        )

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        marker: str | None = None,
        max_keys: str | None = None,
        encoding_type: str | None = None,
    ) -> ObjectList:
        """ListObjects (v1, ``GET /<bucket>/``): ``NextMarker`` is the last key or prefix returned."""
        prefix = check_length("prefix", prefix or "")
        delimiter = check_length("delimiter", delimiter or "")
        marker = check_length("marker", marker or "")
        limit = parse_max_keys(max_keys)
        encoding = parse_encoding_type(encoding_type)
        with self._lock:
            objects, prefixes, truncated, last = scan(self.bucket(bucket), prefix, delimiter, marker, limit)
        return ObjectList(
            bucket, prefix, delimiter, limit, encoding, objects, prefixes, truncated,
            next_marker=last if truncated else "", marker=marker, fetch_owner=True, owner_id=self.account_id,
        )

    def list_buckets(
        self, *, prefix: str | None = None, marker: str | None = None, max_keys: str | None = None
    ) -> BucketList:
        """ListBuckets (``GET /``), in name order."""
        prefix, marker = prefix or "", marker or ""
        limit = parse_max_keys(max_keys)
        with self._lock:
            names = sorted(n for n in self._buckets if n.startswith(prefix) and n > marker)
            page = [self._buckets[n].info for n in names[:limit]]
        truncated = len(names) > limit
        return BucketList(
            page, prefix, marker, limit, truncated, page[-1].name if truncated else "", self.account_id
        )
