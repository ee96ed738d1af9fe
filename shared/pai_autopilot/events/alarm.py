"""CloudMonitor (CMS) alarms, normalised into one :class:`CmsAlarm` from three deliveries.

Reference: ``events-and-syaml.md`` §2.3.

(a) **Threshold-alarm webhook callback** [confirmed]: an HTTP POST, form-encoded, with
    ``alertName``, ``alertState`` (``OK`` | ``ALERT`` | ``INSUFFICIENT_DATA``; one doc revision
    says ``ALARM``, accepted as ``ALERT``), ``curValue``, ``metricName``, ``metricProject``,
    ``namespace``, ``dimensions`` (``{k=v, k2=v2}`` text, or JSON), ``expression``,
    ``triggerLevel``, ``preTriggerLevel``, ``ruleId``, ``timestamp`` (ms), ``userId``, ...
    Reached from an :class:`~pai_autopilot.events.HttpRequest` body.
(b) **Alarm JSON** (the MNS/FC push form) [fields confirmed, FC delivery unconfirmed]:
    ``ruleId``, ``ruleName``, ``curLevel``, ``preLevel``, ``metricName``, ``namespace``,
    ``metricData{timestamp, userId, instanceId, Average, ...}``, ``resources`` (a JSON string),
    ``escalation{statistics, threshold, ...}``, ``eventName`` (``AlertOk``), ``time``, ...
(c) **EventBridge** CloudEvent, source ``acs.cms``, type ``cms:CloudMonitor:AlertWebHook``
    [type confirmed, ``data`` layout UNCONFIRMED]: ``data`` is assumed to carry (a) as a JSON
    object (or as form text) or (b); all are accepted.

How (b) maps to the common model (our choice): ``state`` is ``OK`` when ``curLevel`` is ``OK``
(or ``eventName`` is ``AlertOk``), ``INSUFFICIENT_DATA`` for ``INSUFFICIENT_DATA``/``NO_DATA``,
``ALERT`` for ``CRITICAL``/``WARN``/``INFO``; the current value is ``metricData[escalation.statistics]``;
dimensions come from ``resources`` and the non-statistic keys of ``metricData``.

Example
-------
>>> alarm = cms_alarm(HttpRequest(method="POST", body=b"alertName=p99&alertState=ALARM&curValue=912"
...                               b"&ruleId=r1&dimensions=%7BserviceName%3Dsvc%7D&timestamp=1717000000000"))
>>> alarm.state, alarm.current_value, alarm.dimensions, alarm.timestamp_ms
('ALERT', 912.0, {'serviceName': 'svc'}, 1717000000000)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from .alarm_values import json_object, parse_dimensions, to_epoch_ms, to_number
from .cloudevents import CloudEvent
from .decode import EventModel, convert, parse_error
from .http import HttpRequest

__all__ = ["ALARM_STATES", "CMS_ALERT_WEBHOOK_TYPE", "CMS_SOURCE", "CmsAlarm", "cms_alarm", "parse_dimensions"]

STAGE = "cms"

#: EventBridge ``source`` of CloudMonitor events (probable, see module docstring).
CMS_SOURCE = "acs.cms"
#: EventBridge ``type`` of CloudMonitor alert callbacks (confirmed name).
CMS_ALERT_WEBHOOK_TYPE = "cms:CloudMonitor:AlertWebHook"
#: The normalised states.
ALARM_STATES = ("ALERT", "OK", "INSUFFICIENT_DATA")

_STATE_ALIASES = {"ALERT": "ALERT", "ALARM": "ALERT", "OK": "OK", "INSUFFICIENT_DATA": "INSUFFICIENT_DATA"}
_LEVEL_STATES = {
    "CRITICAL": "ALERT", "WARN": "ALERT", "WARNING": "ALERT", "INFO": "ALERT",
    "OK": "OK", "INSUFFICIENT_DATA": "INSUFFICIENT_DATA", "NO_DATA": "INSUFFICIENT_DATA",
}
_STATISTICS = ("Average", "Maximum", "Minimum", "Value", "Sum", "SampleCount")
_Scalar = str | int | float


class _Callback(msgspec.Struct):
    alertState: str
    alertName: str = ""
    ruleId: str = ""
    curValue: _Scalar | None = None
    metricName: str = ""
    metricProject: str = ""
    namespace: str = ""
    dimensions: str | dict[str, Any] | None = None
    expression: str = ""
    triggerLevel: str = ""
    preTriggerLevel: str = ""
    timestamp: _Scalar | None = None
    userId: _Scalar | None = None


class _Escalation(msgspec.Struct):
    statistics: str = ""
    comparisonOperator: str = ""
    threshold: _Scalar | None = None


class _AlarmJson(msgspec.Struct):
    ruleId: str
    ruleName: str = ""
    curLevel: str = ""
    preLevel: str = ""
    alertState: str = ""
    eventName: str = ""
    metricName: str = ""
    namespace: str = ""
    metricData: dict[str, Any] | str | None = None
    resources: str | dict[str, Any] | list[Any] | None = None
    escalation: _Escalation | None = None
    time: _Scalar | None = None
    lastTime: _Scalar | None = None
    userId: _Scalar | None = None


class CmsAlarm(EventModel, frozen=True, kw_only=True):
    """A CloudMonitor alarm notification, whatever way it arrived.

    Attributes
    ----------
    kind : ``"callback"`` (threshold webhook fields) or ``"json"`` (alarm JSON)
    rule_id, rule_name : the alarm rule (``rule_name`` is ``alertName`` for callbacks)
    state : ``ALERT`` | ``OK`` | ``INSUFFICIENT_DATA``
    level, previous_level : ``CRITICAL``/``WARN``/``INFO``/``OK`` (``triggerLevel``/``curLevel``
        and ``preTriggerLevel``/``preLevel``), ``None`` when absent
    metric_name, namespace, metric_project : the metric (``metric_project`` callbacks only)
    dimensions : the dimensions as a ``str → str`` dict
    current_value : ``curValue`` (or the statistic of ``metricData``) as a float, ``None`` when
        absent or not numeric; ``current_value_text`` keeps the value as delivered
    expression : the rule expression (callbacks only)
    timestamp_ms : the alarm time in epoch milliseconds, ``None`` when absent
    user_id : the account, when given

    Example
    -------
    >>> a = CmsAlarm.from_mapping({"ruleId": "r1", "ruleName": "p99", "curLevel": "OK", "preLevel": "CRITICAL"})
    >>> a.kind, a.state, a.is_firing, a.previous_level
    ('json', 'OK', False, 'CRITICAL')
    """

    kind: str
    rule_id: str
    rule_name: str = ""
    state: str
    level: str | None = None
    previous_level: str | None = None
    metric_name: str = ""
    namespace: str = ""
    metric_project: str = ""
    dimensions: dict[str, str] = {}
    current_value: float | None = None
    current_value_text: str | None = None
    expression: str | None = None
    timestamp_ms: int | None = None
    user_id: str | None = None

    @property
    def is_firing(self) -> bool:
        """True while the alarm is in ``ALERT`` state.

        Example
        -------
        >>> CmsAlarm(kind="callback", rule_id="r", state="ALERT").is_firing
        True
        """
        return self.state == "ALERT"

    @property
    def dedupe_key(self) -> str:
        """``"cms/<rule_id>/<state>@<timestamp_ms>"``: one notification, however often delivered.

        Example
        -------
        >>> CmsAlarm(kind="callback", rule_id="r1", state="ALERT", timestamp_ms=1).dedupe_key
        'cms/r1/ALERT@1'
        """
        return f"cms/{self.rule_id}/{self.state}@{self.timestamp_ms}"

    @classmethod
    def from_form(cls, body: str | bytes, *, path: str = "$.body") -> CmsAlarm:
        """Parse the form-encoded threshold-alarm callback body (a).

        Example
        -------
        >>> CmsAlarm.from_form("alertState=FIRING&ruleId=r1")
        Traceback (most recent call last):
        ...
        pai_autopilot.errors.EventParseError: cms: unknown alertState (expected one of ALERT, ALARM, OK, INSUFFICIENT_DATA) at $.body.alertState: value 'FIRING'
        """
        from urllib.parse import parse_qsl

        if isinstance(body, bytes):
            try:
                body = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise parse_error(STAGE, "form body is not utf-8 text", path=path, value=body) from exc
        fields = dict(parse_qsl(body, keep_blank_values=True))
        if not fields:
            raise parse_error(STAGE, "empty or non-form alarm body", path=path, value=body)
        return cls.from_callback(fields, path=path)

    @classmethod
    def from_callback(cls, fields: Mapping[str, Any], *, path: str = "$") -> CmsAlarm:
        """Build from the callback fields (a), given as a dict (form-decoded or JSON).

        Example
        -------
        >>> a = CmsAlarm.from_callback({"alertState": "OK", "ruleId": "r1", "curValue": "n/a",
        ...                             "dimensions": '{"instanceId": "i-1"}'})
        >>> a.state, a.current_value, a.current_value_text, a.dimensions
        ('OK', None, 'n/a', {'instanceId': 'i-1'})
        """
        w = convert(dict(fields), _Callback, stage=STAGE, path=path)
        state = _STATE_ALIASES.get(w.alertState.strip().upper())
        if state is None:
            raise parse_error(
                STAGE, f"unknown alertState (expected one of {', '.join(_STATE_ALIASES)})",
                path=f"{path}.alertState", value=w.alertState,
            )
        return cls(
            kind="callback",
            rule_id=w.ruleId,
            rule_name=w.alertName,
            state=state,
            level=w.triggerLevel.upper() or None,
            previous_level=w.preTriggerLevel.upper() or None,
            metric_name=w.metricName,
            namespace=w.namespace,
            metric_project=w.metricProject,
            dimensions=parse_dimensions(w.dimensions),
            current_value=to_number(w.curValue),
            current_value_text=None if w.curValue is None else str(w.curValue),
            expression=w.expression or None,
            timestamp_ms=to_epoch_ms(w.timestamp),
            user_id=None if w.userId is None else str(w.userId),
            raw=dict(fields),
        )

    @classmethod
    def from_alarm_json(cls, obj: Mapping[str, Any], *, path: str = "$") -> CmsAlarm:
        """Build from the alarm JSON (b).

        Example
        -------
        >>> a = CmsAlarm.from_alarm_json({"ruleId": "r1", "curLevel": "CRITICAL",
        ...     "escalation": {"statistics": "Maximum"}, "time": 1717000000000,
        ...     "metricData": {"instanceId": "i-1", "Maximum": 97.5, "timestamp": 1716999940000}})
        >>> a.state, a.level, a.current_value, a.dimensions, a.timestamp_ms
        ('ALERT', 'CRITICAL', 97.5, {'instanceId': 'i-1'}, 1717000000000)
        """
        w = convert(dict(obj), _AlarmJson, stage=STAGE, path=path)
        metric_data = json_object(w.metricData, f"{path}.metricData", stage=STAGE)
        state = _json_state(w, path)
        statistic = w.escalation.statistics if w.escalation else ""
        value = metric_data.get(statistic) if statistic else None
        if value is None:
            value = next((metric_data[s] for s in _STATISTICS if s in metric_data), None)
        dimensions = parse_dimensions(w.resources)
        for key, item in metric_data.items():
            if key not in _STATISTICS and key != "timestamp" and isinstance(item, (str, int)):
                dimensions.setdefault(key, str(item))
        stamp = w.time if w.time is not None else metric_data.get("timestamp", w.lastTime)
        user = w.userId if w.userId is not None else metric_data.get("userId")
        return cls(
            kind="json",
            rule_id=w.ruleId,
            rule_name=w.ruleName,
            state=state,
            level=w.curLevel.upper() or None,
            previous_level=w.preLevel.upper() or None,
            metric_name=w.metricName,
            namespace=w.namespace,
            dimensions=dimensions,
            current_value=to_number(value),
            current_value_text=None if value is None else str(value),
            timestamp_ms=to_epoch_ms(stamp),
            user_id=None if user is None else str(user),
            raw=dict(obj),
        )

    @classmethod
    def from_mapping(cls, obj: Any, *, path: str = "$") -> CmsAlarm:
        """Build from a decoded JSON object holding either the callback fields or the alarm JSON.

        Example
        -------
        >>> CmsAlarm.from_mapping({"alertState": "ALERT", "ruleId": "r"}).kind
        'callback'
        >>> CmsAlarm.from_mapping({"foo": 1})
        Traceback (most recent call last):
        ...
        pai_autopilot.errors.EventParseError: cms: not a CloudMonitor alarm (no alertState, curLevel or ruleId) at $: value {'foo': 1}
        """
        if not isinstance(obj, Mapping):
            raise parse_error(STAGE, "an alarm must be a JSON object", path=path, value=obj)
        if "alertState" in obj or "alertName" in obj or "triggerLevel" in obj:
            return cls.from_callback(obj, path=path)
        if "ruleId" in obj or "curLevel" in obj:
            return cls.from_alarm_json(obj, path=path)
        raise parse_error(STAGE, "not a CloudMonitor alarm (no alertState, curLevel or ruleId)", path=path,
                          value=dict(obj))


def looks_like_alarm(obj: Mapping[str, Any]) -> bool:
    """True when a decoded JSON object has the keys of a CMS alarm (used by envelope detection).

    Example
    -------
    >>> looks_like_alarm({"ruleId": "r", "curLevel": "OK"}), looks_like_alarm({"ruleId": "r"})
    (True, False)
    """
    if "alertState" in obj or "alertName" in obj:
        return True
    return "ruleId" in obj and any(k in obj for k in ("curLevel", "ruleName", "metricData", "escalation"))


def cms_alarm(event: HttpRequest | CloudEvent | CmsAlarm | Mapping[str, Any] | str | bytes) -> CmsAlarm:
    """The :class:`CmsAlarm` carried by an HTTP callback, a CMS CloudEvent, a dict or form text.

    * :class:`HttpRequest`: a JSON body (``Content-Type: application/json``, or a body starting
      with ``{``) is read as JSON; anything else as the form-encoded callback.
    * :class:`CloudEvent`: the source must be ``acs.cms``; ``data`` may be a JSON object of
      either kind, or a string (JSON or form text).
    * A ``dict``: either kind. ``str``/``bytes``: form text. A ``CmsAlarm`` is returned unchanged.

    Example
    -------
    >>> ce = CloudEvent(id="1", source="acs.cms", type="cms:CloudMonitor:AlertWebHook",
    ...                 data={"alertState": "ALERT", "ruleId": "r1", "curValue": "0.31"})
    >>> cms_alarm(ce).current_value
    0.31
    >>> cms_alarm(CloudEvent(id="1", source="acs.oss", type="t"))
    Traceback (most recent call last):
    ...
    pai_autopilot.errors.EventParseError: cms: not a CloudMonitor event (source must be 'acs.cms') at $.source: value 'acs.oss'
    """
    if isinstance(event, CmsAlarm):
        return event
    if isinstance(event, HttpRequest):
        if event.content_type.endswith("json") or event.body.lstrip().startswith(b"{"):
            return CmsAlarm.from_mapping(event.json(), path="$.body")
        return CmsAlarm.from_form(event.body, path="$.body")
    if isinstance(event, CloudEvent):
        if event.source != CMS_SOURCE:
            raise parse_error(STAGE, f"not a CloudMonitor event (source must be {CMS_SOURCE!r})", path="$.source",
                              value=event.source)
        if isinstance(event.data, str) and not event.data.lstrip().startswith("{"):
            return CmsAlarm.from_form(event.data, path="$.data")
        return CmsAlarm.from_mapping(event.data_object(stage=STAGE), path="$.data")
    if isinstance(event, (str, bytes)):
        return CmsAlarm.from_form(event, path="$")
    return CmsAlarm.from_mapping(event)


def _json_state(w: _AlarmJson, path: str) -> str:
    if w.alertState:
        state = _STATE_ALIASES.get(w.alertState.strip().upper())
        if state is None:
            raise parse_error(STAGE, "unknown alertState", path=f"{path}.alertState", value=w.alertState)
        return state
    if w.curLevel:
        state = _LEVEL_STATES.get(w.curLevel.strip().upper())
        if state is None:
            raise parse_error(STAGE, f"unknown curLevel (expected one of {', '.join(_LEVEL_STATES)})",
                              path=f"{path}.curLevel", value=w.curLevel)
        return state
    if w.eventName.lower() == "alertok":
        return "OK"
    if w.eventName.lower() == "alert":
        return "ALERT"
    raise parse_error(STAGE, "cannot tell the alarm state: missing curLevel", path=f"{path}.curLevel")
