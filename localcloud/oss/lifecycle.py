"""Bucket lifecycle rules: PutBucketLifecycle, GetBucketLifecycle, DeleteBucketLifecycle, and their
application on localcloud's clock (:meth:`LifecycleMixin.apply_lifecycle`, which
:meth:`OssService.tick <localcloud.oss.service.OssService.tick>` calls).

What is applied, per *Enabled* rule:

* ``Expiration/Days`` N: an object expires N days after its last-modified time rounded up to the
  next UTC midnight (OSS counts days that way);
* ``Expiration/Date`` D (deprecated by OSS): from D on, every matching object expires;
* ``Expiration/CreatedBeforeDate`` D: objects last modified before D expire;
* ``AbortMultipartUpload`` with ``Days`` / ``CreatedBeforeDate``: the same, on an upload's
  initiation time;
* matching: the rule's ``Prefix``, and its ``Filter`` (``ObjectSizeGreaterThan``,
  ``ObjectSizeLessThan``, ``Not/Prefix``). A rule with ``Tag`` conditions matches nothing:
  localcloud keeps no object tags.

Transitions and the versioning actions are kept and returned, not applied. Lifecycle deletions
publish no event: OSS's notification and EventBridge event types have none for them.

Example
-------
>>> from localcloud.core.clock import Clock
>>> from localcloud.core.events import EventHub
>>> from .models import OssBackend
>>> from .xmlutil import parse_xml
>>> oss = OssBackend(clock=Clock(), hub=EventHub(), region="cn-hangzhou", account_id="1")
>>> _ = oss.create_bucket("demo")
>>> _ = oss.put_object("demo", "tmp/a", b"x")
>>> rules = parse_xml(b"<LifecycleConfiguration><Rule><ID>r</ID><Prefix>tmp/</Prefix><Status>Enabled</Status>"
...                   b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
...                   "LifecycleConfiguration")
>>> oss.put_bucket_lifecycle("demo", rules)
>>> oss.apply_lifecycle(oss.clock.now()), oss.apply_lifecycle(oss.clock.now() + 2 * 86400)
(0, 1)
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import secrets
import threading
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from . import exceptions as err
from .parts import PartStore, Upload
from .storage import ObjectMeta, ObjectStore
from .utils import next_midnight, parse_iso8601
from .xmlutil import text_of, xml_document

if TYPE_CHECKING:
    from .models import BucketState

DAY = 86400.0
MAX_RULES = 1000
CONFIG_NAME = "lifecycle"
ACTIONS = ("Expiration", "AbortMultipartUpload", "Transition", "NoncurrentVersionExpiration",
           "NoncurrentVersionTransition")
log = logging.getLogger("localcloud.oss")


@dataclasses.dataclass(frozen=True)
class Timing:
    """When an action applies: ``days`` after (the midnight after) a time, on or after ``date``,
    or to things older than ``before``."""

    days: int | None = None
    date: float | None = None
    before: float | None = None

    def due(self, since: float, now: float) -> bool:
        if self.days is not None:
            return now >= next_midnight(since) + self.days * DAY
        if self.date is not None:
            return now >= self.date
        return self.before is not None and since < self.before


@dataclasses.dataclass(frozen=True)
class LifecycleRule:
    """One rule, as far as localcloud applies it."""

    id: str
    prefix: str
    enabled: bool
    expiration: Timing | None = None
    abort_uploads: Timing | None = None
    size_greater_than: int | None = None
    size_less_than: int | None = None
    not_prefixes: tuple[str, ...] = ()
    has_tags: bool = False

    def matches(self, key: str, size: int | None) -> bool:
        if not self.enabled or self.has_tags or not key.startswith(self.prefix):
            return False
        if any(key.startswith(p) for p in self.not_prefixes):
            return False
        if size is not None and self.size_greater_than is not None and size <= self.size_greater_than:
            return False
        return not (size is not None and self.size_less_than is not None and size >= self.size_less_than)

    def expires(self, meta: ObjectMeta, now: float) -> bool:
        return self.expiration is not None and self.matches(meta.key, meta.size) and self.expiration.due(
            meta.last_modified, now)

    def aborts(self, upload: Upload, now: float) -> bool:
        return self.abort_uploads is not None and self.matches(upload.key, None) and self.abort_uploads.due(
            upload.initiated, now)


def _positive_days(action: str, text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = 0
    if days <= 0:
        raise err.invalid_argument(f"'Days' for {action} action must be a positive integer", "Days", text)
    return days


def _midnight(action: str, name: str, text: str) -> float:
    when = parse_iso8601(text)
    if when is None or when % DAY:
        raise err.invalid_argument(f"'{name}' for {action} action must be ISO 8601 at midnight GMT", name, text)
    return when


def _timing(action: str, node: ET.Element | None) -> Timing | None:
    if node is None:
        return None
    if (days := text_of(node, "Days")) is not None:
        return Timing(days=_positive_days(action, days))
    if (date := text_of(node, "Date")) is not None and action == "Expiration":
        return Timing(date=_midnight(action, "Date", date))
    if (before := text_of(node, "CreatedBeforeDate")) is not None:
        return Timing(before=_midnight(action, "CreatedBeforeDate", before))
    if action == "Expiration" and text_of(node, "ExpiredObjectDeleteMarker") is not None:
        return None  # versioning only: nothing to expire here
    raise err.malformed_xml()


def _optional_int(node: ET.Element | None, path: str) -> int | None:
    text = text_of(node, path)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise err.invalid_argument(f"{path} must be an integer", path, text) from None


def parse_rules(root: ET.Element) -> list[LifecycleRule]:
    """Validate a ``LifecycleConfiguration`` (filling in missing rule IDs) and read its rules."""
    nodes = root.findall("Rule")
    if not nodes:
        raise err.malformed_xml()
    if len(nodes) > MAX_RULES:
        raise err.invalid_argument(f"The number of lifecycle rules must not exceed {MAX_RULES}.")
    rules: list[LifecycleRule] = []
    for node in nodes:
        rule_id = text_of(node, "ID") or ""
        if not rule_id:
            rule_id = secrets.token_hex(8)
            (node.find("ID") if node.find("ID") is not None else ET.SubElement(node, "ID")).text = rule_id
        if any(r.id == rule_id for r in rules):
            raise err.invalid_argument("Rule ID must be unique. Found same ID for more than one rule.", "ID", rule_id)
        status = text_of(node, "Status")
        if status not in ("Enabled", "Disabled"):
            raise err.malformed_xml()
        if not any(node.find(action) is not None for action in ACTIONS):
            raise err.invalid_argument("At least one action needs to be specified in a rule.", "ID", rule_id)
        filter_node = node.find("Filter")
        prefix = text_of(node, "Prefix") or text_of(filter_node, "Prefix") or ""
        if node.find("Prefix") is None:  # oss2's parser requires it
            ET.SubElement(node, "Prefix").text = prefix
        rules.append(LifecycleRule(
            id=rule_id,
            prefix=prefix,
            enabled=status == "Enabled",
            expiration=_timing("Expiration", node.find("Expiration")),
            abort_uploads=_timing("AbortMultipartUpload", node.find("AbortMultipartUpload")),
            size_greater_than=_optional_int(filter_node, "ObjectSizeGreaterThan"),
            size_less_than=_optional_int(filter_node, "ObjectSizeLessThan"),
            not_prefixes=tuple(n.text for n in node.findall("Filter/Not/Prefix") if n.text),
            has_tags=node.find("Tag") is not None or node.find("Filter/Tag") is not None,
        ))
    return rules


@dataclasses.dataclass(frozen=True)
class Lifecycle:
    """A bucket's lifecycle configuration: the rules and the document GetBucketLifecycle returns."""

    rules: tuple[LifecycleRule, ...]
    document: bytes


class LifecycleMixin:
    """The lifecycle operations of :class:`~localcloud.oss.models.OssBackend`."""

    store: ObjectStore
    parts: PartStore
    _lock: threading.RLock
    _buckets: dict[str, BucketState]
    _uploads: dict[str, dict[str, Upload]]

    def bucket(self, name: str) -> BucketState:
        raise NotImplementedError

    def _init_lifecycle(self) -> None:
        self._lifecycles: dict[str, Lifecycle] = {}
        for name in self._buckets:
            document = self.store.load_config(name, CONFIG_NAME)
            if document is None:
                continue
            try:
                self._lifecycles[name] = Lifecycle(tuple(parse_rules(ET.fromstring(document))), document)
            except (ET.ParseError, err.OssError):
                log.warning("ignoring the unreadable lifecycle configuration of bucket %s", name)

    def put_bucket_lifecycle(self, bucket: str, root: ET.Element) -> None:
        """PutBucketLifecycle: replace the bucket's rules (validated first)."""
        rules = parse_rules(root)
        document = xml_document(root)
        with self._lock:
            self.bucket(bucket)
            self.store.save_config(bucket, CONFIG_NAME, document)
            self._lifecycles[bucket] = Lifecycle(tuple(rules), document)

    def get_bucket_lifecycle(self, bucket: str) -> bytes:
        """GetBucketLifecycle: the configuration document (``NoSuchLifecycle`` when there is none)."""
        with self._lock:
            self.bucket(bucket)
            config = self._lifecycles.get(bucket)
        if config is None:
            raise err.no_such_lifecycle(bucket)
        return config.document

    def delete_bucket_lifecycle(self, bucket: str) -> None:
        """DeleteBucketLifecycle: succeeds whether or not rules exist."""
        with self._lock:
            self.bucket(bucket)
            self.store.save_config(bucket, CONFIG_NAME, None)
            self._lifecycles.pop(bucket, None)

    def apply_lifecycle(self, now: float) -> int:
        """Delete the objects (and abort the uploads) the enabled rules say are due at ``now``.

        Returns the number of objects deleted; no event is published for them.
        """
        deleted = 0
        with self._lock:
            for name, config in list(self._lifecycles.items()):
                state = self._buckets.get(name)
                if state is None:
                    continue
                doomed: set[str] = set()
                for rule in config.rules:
                    if rule.expiration is None or not rule.enabled:
                        continue
                    start = bisect.bisect_left(state.keys, rule.prefix)
                    for key in state.keys[start:]:
                        if not key.startswith(rule.prefix):
                            break
                        if key not in doomed and rule.expires(state.objects[key], now):
                            doomed.add(key)
                for key in sorted(doomed):
                    state.remove(key)
                    self.store.remove_object(name, key)
                deleted += len(doomed)
                uploads = self._uploads.get(name, {})
                for upload in list(uploads.values()):
                    if any(rule.aborts(upload, now) for rule in config.rules):
                        del uploads[upload.upload_id]
                        self.parts.remove_upload(upload)
        return deleted
