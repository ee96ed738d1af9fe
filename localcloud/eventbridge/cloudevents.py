"""The CloudEvents 1.0 envelope EventBridge delivers (lowercase keys plus Alibaba extensions).

Shape: reference/events-and-syaml.md §1.4 and §2.1 — ``specversion, id, source, type, subject,
time, datacontenttype, dataschema, data`` and ``aliyunaccountid, aliyunoriginalaccountid,
aliyunpublishtime, aliyuneventbusname, aliyunregionid, aliyunpublishaddr``. ``subject`` and
``dataschema`` appear only when the event has them (the OSS sample carries no ``dataschema``).

Example
-------
>>> from localcloud.core.events import ObjectEvent
>>> ev = ObjectEvent("ObjectCreated:PutObject", "bkt", "a/b.csv", 3, "E", "R1", "10.0.0.1", 0.0)
>>> env = oss_envelope(ev, region="cn-hangzhou", account_id="1", now=0.0)
>>> env["type"], env["subject"], env["data"]["oss"]["object"]["key"]
('oss:ObjectCreated:PutObject', 'acs:oss:cn-hangzhou:1:bkt/a/b.csv', 'a/b.csv')
"""

from __future__ import annotations

import contextlib
import json
import secrets
from typing import Any

from ..core.events import ObjectEvent
from ..fc.triggers import iso_ms, native_oss_event

SPEC_VERSION = "1.0"
JSON_CONTENT_TYPE = "application/json;charset=utf-8"
#: The PutEvents ``EventList`` keys (PascalCase) and their envelope names.
ENTRY_KEYS = {
    "Id": "id", "Source": "source", "Type": "type", "Subject": "subject", "Time": "time",
    "SpecVersion": "specversion", "DataContentType": "datacontenttype", "DataSchema": "dataschema",
    "Data": "data",
}
REQUIRED_ENTRY_KEYS = ("Id", "Source", "Type")


def new_event_id() -> str:
    """A 24-hex-digit id like the ones real events carry (``6364D216511B143733C5A67B``)."""
    return secrets.token_hex(12).upper()


def envelope(
    *,
    id: str,
    source: str,
    type: str,
    data: Any,
    bus: str,
    region: str,
    account_id: str,
    now: float,
    publish_addr: str = "127.0.0.1",
    subject: str | None = None,
    time: str | None = None,
    specversion: str | None = None,
    datacontenttype: str | None = None,
    dataschema: str | None = None,
) -> dict[str, Any]:
    """One event as the targets receive it."""
    env: dict[str, Any] = {
        "id": id,
        "source": source,
        "specversion": specversion or SPEC_VERSION,
        "type": type,
        "datacontenttype": datacontenttype or JSON_CONTENT_TYPE,
    }
    if subject is not None:
        env["subject"] = subject
    if dataschema is not None:
        env["dataschema"] = dataschema
    env.update({
        "time": time or iso_ms(now),
        "aliyunaccountid": account_id,
        "aliyunoriginalaccountid": account_id,
        "aliyunpublishtime": iso_ms(now),
        "aliyuneventbusname": bus,
        "aliyunregionid": region,
        "aliyunpublishaddr": publish_addr,
        "data": data,
    })
    return env


def entry_problem(entry: Any) -> str | None:
    """Why a PutEvents ``EventList`` item cannot be published, or ``None`` when it can."""
    if not isinstance(entry, dict):
        return "Each event must be a JSON object."
    for key in REQUIRED_ENTRY_KEYS:
        value = entry.get(key)
        if not isinstance(value, str) or not value:
            return f"The event attribute [{key}] is required and must be a non-empty string."
    return None


def entry_envelope(entry: dict[str, Any], *, bus: str, region: str, account_id: str, now: float,
                   publish_addr: str) -> dict[str, Any]:
    """The envelope of one valid PutEvents entry. ``Data`` given as JSON text is parsed."""
    fields = {ENTRY_KEYS[k]: v for k, v in entry.items() if k in ENTRY_KEYS and v is not None}
    data = fields.pop("data", None)
    if isinstance(data, str):
        with contextlib.suppress(ValueError):  # a plain string payload stays a string
            data = json.loads(data)
    return envelope(data=data, bus=bus, region=region, account_id=account_id, now=now,
                    publish_addr=publish_addr, **{k: str(v) for k, v in fields.items()})


def oss_envelope(event: ObjectEvent, *, region: str, account_id: str, now: float) -> dict[str, Any]:
    """An OSS object change as an event on the ``default`` bus: ``data`` is ONE native record."""
    record = native_oss_event(event, region=region, account_id=account_id, rule_id="")["events"][0]
    record["oss"].pop("ruleId", None)  # the EventBridge record has no notification rule id
    return envelope(
        id=new_event_id(),
        source="acs.oss",
        type="oss:" + event.event_name,
        subject=f"acs:oss:{region}:{account_id}:{event.bucket}/{event.key}",
        time=iso_ms(event.time),
        data=record,
        bus="default",
        region=region,
        account_id=account_id,
        now=now,
        publish_addr=event.source_ip or "127.0.0.1",
    )
