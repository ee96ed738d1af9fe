"""Bucket versioning *configuration* (PutBucketVersioning / GetBucketVersioning).

Only the status is emulated (Enabled / Suspended; a bucket never returns to "off"), so that
tools can check it — ``pai-autopilot wire`` refuses a versioned ledger bucket because
``x-oss-forbid-overwrite`` does not hold there. Object versions themselves are not emulated.

Example
-------
>>> from localcloud.core.clock import Clock
>>> from localcloud.core.events import EventHub
>>> from localcloud.oss.models import OssBackend
>>> b = OssBackend(clock=Clock(), hub=EventHub(), region="cn-hangzhou", account_id="1")
>>> _ = b.create_bucket("bkt"); b.get_bucket_versioning("bkt") is None
True
>>> b.put_bucket_versioning("bkt", "Enabled"); b.get_bucket_versioning("bkt")
'Enabled'
"""

from __future__ import annotations

import threading
from typing import Any

from . import exceptions as err

STATUSES = ("Enabled", "Suspended")


class VersioningMixin:
    """The backend's versioning status per bucket (kept in memory)."""

    _lock: threading.RLock
    _versioning: dict[str, str]

    def bucket(self, name: str) -> Any:
        raise NotImplementedError

    def put_bucket_versioning(self, bucket: str, status: str) -> None:
        if status not in STATUSES:
            raise err.invalid_argument(f"Versioning status must be Enabled or Suspended, got {status!r}.", "Status", status)
        with self._lock:
            self.bucket(bucket)
            self._versioning[bucket] = status

    def get_bucket_versioning(self, bucket: str) -> str | None:
        """The status, or None when versioning was never enabled."""
        with self._lock:
            self.bucket(bucket)
            return self._versioning.get(bucket)
