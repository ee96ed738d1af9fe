"""The fc3 resources of a resolved s.yaml as typed specs: functions and their triggers."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .resolve import SyamlError, _text

_OSS_ARN = re.compile(r"^acs:oss:(?P<region>[a-z0-9-]+):(?P<account>\d+):(?P<bucket>[a-z0-9][a-z0-9-]{1,61}[a-z0-9])$")
_CRON_TZ = re.compile(r"^CRON_TZ=(?P<tz>\S+)\s+(?P<rest>.*)$")
_EVERY = re.compile(r"^@every\s+(?=\d)(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


@dataclass(frozen=True)
class OssTrigger:
    """A native OSS trigger: ``events`` keep fc3's ``oss:`` prefix."""

    name: str
    events: tuple[str, ...]
    prefix: str
    suffix: str
    bucket: str
    region: str
    account_id: str
    invocation_role: str | None = None
    qualifier: str = "LATEST"
    type: str = "oss"

    def matches(self, key: str, event_name: str) -> bool:
        """Would OSS deliver ``event_name`` (with or without ``oss:``) on ``key`` to this trigger?

        >>> t = OssTrigger("t", ("oss:ObjectCreated:PutObject",), "datasets/", "_SUCCESS", "b", "r", "1")
        >>> t.matches("datasets/a/v1/_SUCCESS", "ObjectCreated:PutObject"), t.matches("datasets/x.csv", "ObjectCreated:PutObject")
        (True, False)
        """
        name = event_name if event_name.startswith("oss:") else f"oss:{event_name}"
        family = name.rsplit(":", 1)[0] + ":*"
        return (key.startswith(self.prefix) and key.endswith(self.suffix)
                and (name in self.events or family in self.events))


@dataclass(frozen=True)
class TimerTrigger:
    """A timer: 6-field cron (seconds first, UTC unless ``CRON_TZ=``) or ``@every <n>h|m|s``."""

    name: str
    cron: str
    enable: bool = True
    payload: str | None = None
    qualifier: str = "LATEST"
    type: str = "timer"

    @property
    def timezone(self) -> str | None:
        m = _CRON_TZ.match(self.cron)
        return m.group("tz") if m else None

    @property
    def expression(self) -> str:
        """The cron expression without its ``CRON_TZ=`` prefix."""
        m = _CRON_TZ.match(self.cron)
        return m.group("rest").strip() if m else self.cron.strip()

    @property
    def interval_seconds(self) -> int | None:
        """Seconds between runs for ``@every``, else None.

        >>> TimerTrigger("t", "@every 1h30m").interval_seconds
        5400
        """
        m = _EVERY.match(self.cron.strip())
        if not m:
            return None
        return sum(int(m.group(u) or 0) * f for u, f in (("h", 3600), ("m", 60), ("s", 1)))


@dataclass(frozen=True)
class HttpTrigger:
    name: str
    auth_type: str
    methods: tuple[str, ...]
    disable_url_internet: bool = False
    qualifier: str = "LATEST"
    type: str = "http"


@dataclass(frozen=True)
class EventBridgeTrigger:
    """An EventBridge trigger; ``pattern`` is ``eventRuleFilterPattern`` parsed from its JSON."""

    name: str
    pattern: dict[str, Any]
    event_source_type: str = "Default"
    enable: bool = True
    async_invocation: bool | None = None
    qualifier: str = "LATEST"
    type: str = "eventbridge"


@dataclass(frozen=True)
class GenericTrigger:
    """Any other trigger type (log, mns_topic, cdn_events, tablestore), config as given."""

    name: str
    type: str
    config: dict[str, Any] = field(default_factory=dict)
    qualifier: str = "LATEST"


Trigger = OssTrigger | TimerTrigger | HttpTrigger | EventBridgeTrigger | GenericTrigger


@dataclass(frozen=True)
class AsyncConfig:
    """FC async invocation: retries of a failed invocation, event age, destinations.

    Defaults are FC's (3 retries; 86400 s per the FC 3.0 API ``PutAsyncInvokeConfig``).
    """

    max_retries: int = 3
    max_event_age_seconds: int = 86400
    on_failure: str | None = None
    on_success: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    """One fc3 resource. ``memory_size``/``timeout`` default to fc3's 512 MB / 3 s."""

    resource: str
    name: str
    handler: str
    runtime: str
    region: str
    code: Any
    memory_size: int = 512
    timeout: int = 3
    role: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    async_config: AsyncConfig = field(default_factory=AsyncConfig)
    triggers: tuple[Trigger, ...] = ()

    @property
    def module(self) -> str:
        """``dataset_landed`` for handler ``dataset_landed.handler``."""
        return self.handler.rsplit(".", 1)[0]

    @property
    def func(self) -> str:
        return self.handler.rsplit(".", 1)[-1]


def _need(mapping: Mapping[str, Any], key: str, path: str) -> Any:
    if not isinstance(mapping, Mapping) or mapping.get(key) in (None, ""):
        raise SyamlError(f"{path}.{key} is required", errors=[(f"{path}.{key}", "required")])
    return mapping[key]


def _trigger(item: Mapping[str, Any], path: str) -> Trigger:
    name, ttype = _need(item, "triggerName", path), _need(item, "triggerType", path)
    cfg = item.get("triggerConfig") or {}
    qualifier = str(item.get("qualifier") or "LATEST")
    if ttype == "oss":
        arn = str(_need(item, "sourceArn", path))
        m = _OSS_ARN.match(arn)
        if not m:
            raise SyamlError(f"{path}.sourceArn is not acs:oss:<region>:<account>:<bucket>: {arn}")
        key = (cfg.get("filter") or {}).get("key") or {}
        return OssTrigger(name, tuple(cfg.get("events") or ()), str(key.get("prefix", "")),
                          str(key.get("suffix", "")), m["bucket"], m["region"], m["account"],
                          item.get("invocationRole"), qualifier)
    if ttype == "timer":
        return TimerTrigger(name, str(_need(cfg, "cronExpression", f"{path}.triggerConfig")),
                            bool(cfg.get("enable", True)), cfg.get("payload"), qualifier)
    if ttype == "http":
        return HttpTrigger(name, str(cfg.get("authType", "anonymous")), tuple(cfg.get("methods") or ()),
                           bool(cfg.get("disableURLInternet", False)), qualifier)
    if ttype == "eventbridge":
        raw = _need(cfg, "eventRuleFilterPattern", f"{path}.triggerConfig")
        try:
            pattern = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except ValueError as exc:
            raise SyamlError(f"{path}.triggerConfig.eventRuleFilterPattern is not JSON: {exc}") from exc
        source = (cfg.get("eventSourceConfig") or {}).get("eventSourceType", "Default")
        return EventBridgeTrigger(name, pattern, source, bool(cfg.get("triggerEnable", True)),
                                  cfg.get("asyncInvocationType"), qualifier)
    return GenericTrigger(name, str(ttype), dict(cfg), qualifier)


def _is_fc3(component: Any) -> bool:
    return isinstance(component, str) and (component == "fc3" or component.startswith("fc3@"))


def functions(doc: Mapping[str, Any]) -> list[FunctionSpec]:
    """The fc3 resources of a loaded s.yaml, in file order (run :func:`validate_syaml` first).

    >>> doc = {"resources": {"f": {"component": "fc3", "props": {
    ...     "functionName": "f1", "handler": "f.handler", "runtime": "python3.10", "region": "cn-hangzhou",
    ...     "code": "./c", "asyncInvokeConfig": {"maxAsyncEventAgeInSeconds": 60}}}}}
    >>> spec = functions(doc)[0]
    >>> spec.module, spec.async_config.max_retries, spec.async_config.max_event_age_seconds
    ('f', 3, 60)
    """
    specs = []
    for resource, body in (doc.get("resources") or {}).items():
        if not isinstance(body, Mapping) or not _is_fc3(body.get("component")):
            continue
        path = f"resources.{resource}.props"
        props = body.get("props") or {}
        aic = props.get("asyncInvokeConfig") or {}
        dest = aic.get("destinationConfig") or {}
        async_config = AsyncConfig(
            int(aic.get("maxAsyncRetryAttempts", 3)), int(aic.get("maxAsyncEventAgeInSeconds", 86400)),
            (dest.get("onFailure") or {}).get("destination"), (dest.get("onSuccess") or {}).get("destination"))
        triggers = tuple(_trigger(t, f"{path}.triggers[{i}]") for i, t in enumerate(props.get("triggers") or ()))
        specs.append(FunctionSpec(
            resource=resource, name=str(_need(props, "functionName", path)),
            handler=str(_need(props, "handler", path)), runtime=str(_need(props, "runtime", path)),
            region=str(_need(props, "region", path)), code=props.get("code"),
            memory_size=int(props.get("memorySize", 512)), timeout=int(props.get("timeout", 3)),
            role=props.get("role"),
            environment={str(k): _text(v) for k, v in (props.get("environmentVariables") or {}).items()},
            async_config=async_config, triggers=triggers))
    return specs
