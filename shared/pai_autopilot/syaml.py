"""Read the project's ``s.yaml`` (Serverless Devs 3, component fc3) offline, the way ``s`` does.

One module for everyone who needs to know what gets deployed: the s.yaml tests,
``pai-autopilot validate``, and localcloud's FC runtime (which delivers events to the functions
and triggers declared here). It imports only ``yaml`` and the standard library.

* :func:`load_syaml` / :func:`parse_syaml` / :func:`resolve_syaml` — YAML in, a plain ``dict`` out,
  with the magic variables the project uses resolved (``${env('X')}``, ``${env('X', 'default')}``,
  ``${vars.x}``, ``${config('AccountID')}``) and every resource's ``extend: {name: <template>}``
  merged into its ``props`` (deep merge: maps merge, lists and scalars are replaced, props win —
  what ``s`` 3.1.10 does; ``extend.ignore`` drops top-level template keys).
  Other magic variables (``${resources.x.output...}``, ``${this.name}``, ``${path(...)}``) are
  left as they are: ``s`` resolves them at deploy time.
* :func:`functions` — the fc3 resources as typed :class:`FunctionSpec` objects.
* :func:`validate_syaml` — every structural problem as ``(path, reason)``, in one pass.

Example
-------
>>> text = '''
... edition: 3.0.0
... name: demo
... vars:
...   region: ${env('ALIBABA_CLOUD_REGION_ID', 'cn-hangzhou')}
... template:
...   fn:
...     region: ${vars.region}
...     runtime: python3.10
...     code: ./.build/code
... resources:
...   tick:
...     component: fc3
...     extend: {name: fn}
...     props:
...       functionName: demo-tick
...       handler: tick.handler
...       triggers:
...         - triggerName: every-5m
...           triggerType: timer
...           triggerConfig: {cronExpression: '0 */5 * * * *', enable: true}
... '''
>>> doc = parse_syaml(text, env={}, account_id="1234567890123456")
>>> doc["resources"]["tick"]["props"]["region"]
'cn-hangzhou'
>>> validate_syaml(doc)
[]
>>> [(f.name, f.handler, f.triggers[0].cron) for f in functions(doc)]
[('demo-tick', 'tick.handler', '0 */5 * * * *')]
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

__all__ = [
    "AsyncConfig", "EventBridgeTrigger", "FunctionSpec", "GenericTrigger", "HttpTrigger",
    "OssTrigger", "SyamlError", "TimerTrigger", "Trigger", "functions", "load_syaml",
    "parse_syaml", "resolve_syaml", "validate_syaml",
]


class SyamlError(ConfigError):
    """``s.yaml`` cannot be loaded; ``errors`` lists every ``(path, reason)``."""

    code = "SyamlError"


# --------------------------------------------------------------------------- magic variables

_MAGIC = re.compile(r"\$\{([^{}]*)\}")
_ENV = re.compile(
    r"""^env\(\s*(['"])(?P<name>[^'"]*)\1\s*(?:,\s*(['"])(?P<default>[^'"]*)\3\s*)?\)$"""
)
_VARS = re.compile(r"^vars\.(?P<path>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)$")
_CONFIG = re.compile(r"""^config\(\s*(['"])(?P<key>\w+)\1\s*\)$""")
#: Magic variables ``s`` resolves at deploy time; we leave them verbatim.
DEFERRED_MAGIC = ("resources.", "this.", "path(", "file(", "json(", "aliyun-cli")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class _Resolver:
    """Resolves magic variables in a parsed document; collects every failure."""

    def __init__(self, raw_vars: Mapping[str, Any], env: Mapping[str, str], account_id: str,
                 strict: bool) -> None:
        self.raw_vars, self.env, self.account_id, self.strict = raw_vars, env, account_id, strict
        self.errors: list[tuple[str, str]] = []
        self._vars: dict[str, Any] = {}
        self._stack: list[str] = []

    def node(self, value: Any, path: str) -> Any:
        if isinstance(value, Mapping):
            return {k: self.node(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.node(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return self.string(value, path)
        return value

    def string(self, text: str, path: str) -> Any:
        whole = _MAGIC.fullmatch(text)
        if whole:  # a lone ${...} keeps the type of what it names (a number stays a number)
            return self.expr(whole.group(1).strip(), path, whole.group(0))
        return _MAGIC.sub(lambda m: _text(self.expr(m.group(1).strip(), path, m.group(0))), text)

    def expr(self, expr: str, path: str, literal: str) -> Any:
        if m := _ENV.match(expr):
            name, default = m.group("name"), m.group("default")
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            if self.strict:
                self.errors.append((path, f"environment variable {name} is not set and "
                                          f"{literal} has no default"))
            return ""
        if m := _VARS.match(expr):
            return self.var(m.group("path"), path)
        if m := _CONFIG.match(expr):
            if m.group("key") == "AccountID":
                return self.account_id
            self.errors.append((path, f"{literal}: only config('AccountID') is supported"))
            return ""
        return literal  # deferred or unknown: validate_syaml reports the unknown ones

    def var(self, dotted: str, at: str) -> Any:
        top, *rest = dotted.split(".")
        if top not in self.raw_vars:
            self.errors.append((at, f"${{vars.{dotted}}}: vars.{top} is not defined"))
            return ""
        if top not in self._vars:
            if top in self._stack:
                cycle = " -> ".join([*self._stack[self._stack.index(top):], top])
                self.errors.append((f"vars.{top}", f"vars reference each other in a cycle: {cycle}"))
                return ""
            self._stack.append(top)
            self._vars[top] = self.node(self.raw_vars[top], f"vars.{top}")
            self._stack.pop()
        value = self._vars[top]
        for part in rest:
            if not isinstance(value, Mapping) or part not in value:
                self.errors.append((at, f"${{vars.{dotted}}}: no key {part!r}"))
                return ""
            value = value[part]
        return value


def _deep_merge(base: Any, override: Any) -> Any:
    """Merge ``override`` onto ``base``: maps merge recursively, anything else is replaced."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in override.items():
            merged[key] = _deep_merge(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def resolve_syaml(raw: Mapping[str, Any], *, env: Mapping[str, str], account_id: str,
                  strict: bool = True) -> dict[str, Any]:
    """Resolve magic variables in an already-parsed s.yaml and merge templates into props.

    ``strict=False`` turns an unset ``${env('X')}`` without default into ``""`` instead of an error.

    >>> resolve_syaml({"vars": {"a": "${env('A')}"}, "x": "${vars.a}-1"}, env={"A": "z"}, account_id="1")
    {'vars': {'a': 'z'}, 'x': 'z-1'}
    >>> resolve_syaml({"x": "${env('NOPE')}"}, env={}, account_id="1", strict=False)
    {'x': ''}
    """
    if not isinstance(raw, Mapping):
        raise SyamlError("s.yaml must be a mapping at the top level")
    if "extend" in raw or "extends" in raw:
        raise SyamlError("file inheritance (top-level extend) is not supported by load_syaml",
                         errors=[("extend", "not supported")])
    raw_vars = raw.get("vars") or {}
    if not isinstance(raw_vars, Mapping):
        raise SyamlError("vars must be a mapping", errors=[("vars", "must be a mapping")])
    resolver = _Resolver(raw_vars, env, account_id, strict)
    resolved_vars = {name: resolver.var(str(name), f"vars.{name}") for name in raw_vars}
    doc = {key: resolved_vars if key == "vars" else resolver.node(value, str(key))
           for key, value in raw.items()}
    if resolver.errors:
        raise SyamlError("cannot resolve the magic variables of s.yaml", errors=resolver.errors)
    templates = doc.get("template") if isinstance(doc.get("template"), Mapping) else {}
    for resource in (doc.get("resources") or {}).values():
        extend = resource.get("extend") if isinstance(resource, Mapping) else None
        if not isinstance(extend, Mapping):
            continue
        template = templates.get(extend.get("name"), {})
        ignore = set(extend.get("ignore") or ())
        base = {k: v for k, v in template.items() if k not in ignore}
        resource["props"] = _deep_merge(base, resource.get("props") or {})
    return doc


def parse_syaml(text: str, *, env: Mapping[str, str], account_id: str,
                strict: bool = True) -> dict[str, Any]:
    """Like :func:`load_syaml`, from YAML text."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SyamlError(f"s.yaml is not valid YAML: {exc}") from exc
    return resolve_syaml(raw, env=env, account_id=account_id, strict=strict)


def load_syaml(path: str | Path, *, env: Mapping[str, str], account_id: str,
               strict: bool = True) -> dict[str, Any]:
    """Parse ``s.yaml`` at ``path``, resolve its magic variables, merge ``template``/``extend``.

    ``env`` stands for the process environment (pass ``os.environ`` to mimic ``s``),
    ``account_id`` for ``${config('AccountID')}``.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "s.yaml")
    >>> _ = open(p, "w").write("vars:\\n  b: ${env('AUTOPILOT_BUCKET')}\\n")
    >>> load_syaml(p, env={"AUTOPILOT_BUCKET": "my-bkt"}, account_id="1")["vars"]
    {'b': 'my-bkt'}
    >>> load_syaml(p, env={}, account_id="1")
    Traceback (most recent call last):
    ...
    pai_autopilot.syaml.SyamlError: cannot resolve the magic variables of s.yaml
      vars.b: environment variable AUTOPILOT_BUCKET is not set and ${env('AUTOPILOT_BUCKET')} has no default
    """
    return parse_syaml(Path(path).read_text(encoding="utf-8"), env=env, account_id=account_id,
                       strict=strict)


# --------------------------------------------------------------------------- typed specs

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


def validate_syaml(doc: Mapping[str, Any], *, root: str | Path | None = None) -> list[tuple[str, str]]:
    """Every structural problem of a loaded s.yaml as ``(path, reason)``; ``[]`` when clean.

    With ``root`` (the repo root) each handler ``module.func`` must name ``functions/<module>.py``
    with a top-level ``def func``. The rules live in :mod:`pai_autopilot.syaml_rules`.

    >>> validate_syaml({"edition": "3.0.0", "resources": {"f": {"component": "fc3", "props": {
    ...     "region": "cn-hangzhou", "functionName": "f", "runtime": "python3.10", "code": "./c",
    ...     "handler": "f.handler", "memorySize": 500}}}})
    [('resources.f.props.memorySize', 'must be a multiple of 64 between 128 and 32768, got 500')]
    """
    from .syaml_rules import check_document

    return check_document(doc, root=Path(root) if root is not None else None)
