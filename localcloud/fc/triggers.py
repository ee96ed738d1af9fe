"""Trigger matching and the event payloads FC delivers for them.

Example
-------
>>> from localcloud.core.events import ObjectEvent
>>> ev = ObjectEvent("ObjectCreated:PutObject", "bkt", "datasets/a/_SUCCESS", 0, "D41D8CD98F00B204E9800998ECF8427E", "R1", "127.0.0.1", 0.0)
>>> oss_trigger_matches(["oss:ObjectCreated:PutObject"], "bkt", "datasets/", "_SUCCESS", ev)
True
>>> native_oss_event(ev, region="cn-hangzhou", account_id="1", rule_id="r")["events"][0]["eventName"]
'ObjectCreated:PutObject'
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..core.events import ObjectEvent


def oss_trigger_matches(
    events: Sequence[str], bucket: str, prefix: str, suffix: str, event: ObjectEvent
) -> bool:
    """True when an OSS trigger (events, bucket, key prefix and suffix) selects ``event``."""
    if event.bucket != bucket:
        return False
    if not event.key.startswith(prefix or "") or not event.key.endswith(suffix or ""):
        return False
    name = "oss:" + event.event_name
    family = name.rsplit(":", 1)[0] + ":*"
    return name in events or family in events


def iso_ms(ts: float) -> str:
    """``2024-05-01T08:00:00.000Z``, the native OSS event time format."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def native_oss_event(event: ObjectEvent, *, region: str, account_id: str, rule_id: str) -> dict[str, Any]:
    """The ``{"events": [record]}`` document a native OSS trigger delivers (one record)."""
    return {
        "events": [
            {
                "eventName": event.event_name,
                "eventSource": "acs:oss",
                "eventTime": iso_ms(event.time),
                "eventVersion": "1.0",
                "region": region,
                "oss": {
                    "bucket": {
                        "name": event.bucket,
                        "arn": f"acs:oss:{region}:{account_id}:{event.bucket}",
                        "ownerIdentity": account_id,
                        "virtualBucket": "",
                    },
                    "object": {
                        "key": event.key,
                        "size": event.size,
                        "deltaSize": event.size if event.delta_size is None else event.delta_size,
                        "eTag": event.etag,
                        "objectMeta": {"mimeType": event.mime_type},
                    },
                    "ossSchemaVersion": "1.0",
                    "ruleId": rule_id,
                },
                "requestParameters": {"sourceIPAddress": event.source_ip},
                "responseElements": {"requestId": event.request_id},
                "userIdentity": {"principalId": account_id},
            }
        ]
    }
