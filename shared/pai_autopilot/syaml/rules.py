"""The rules behind :func:`pai_autopilot.syaml.validate_syaml` (fc3 ``src/schema.json`` + FC limits).

Every rule appends ``(path, reason)`` and carries on, so one run reports every problem.
Paths look like ``resources.dataset_landed.props.triggers[0].triggerConfig.events[1]``.

Beyond the fc3 schema, a few *project* rules (FC itself would accept these) are enforced because
they break at-least-once-but-once-only processing or deploys from CI:

* ``oss:ObjectCreated:*`` is rejected: it also fires on ``InitiateMultipartUpload`` and on every
  ``UploadPart``, before the object is complete. List the completing events instead.
* native-style triggers (oss, log, mns_topic, cdn_events, tablestore) need an explicit
  ``invocationRole``; without it fc3 get-or-creates a role through RAM at deploy time.
* ``eventbridge`` triggers must come after every other trigger of the function: fc3's trigger
  deploy loop ``return``\\ s (instead of ``continue``\\ s) after an unchanged eventbridge trigger,
  silently skipping the triggers listed after it.
* the runtime must be one the project supports (python3.10, python3.12).

Example
-------
>>> check_document({"edition": "1.0.0", "resources": {}})
[('edition', "must be '3.0.0' (Serverless Devs 3), got '1.0.0'"), ('resources', 'must define at least one resource')]
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .resolve import _MAGIC, DEFERRED_MAGIC
from .specs import _CRON_TZ, _EVERY, _OSS_ARN, _is_fc3

Problems = list[tuple[str, str]]

ALLOWED_RUNTIMES = ("python3.10", "python3.12")
TRIGGER_TYPES = ("oss", "eventbridge", "timer", "http", "log", "mns_topic", "cdn_events", "tablestore")
ROLE_TRIGGERS = ("oss", "log", "mns_topic", "cdn_events", "tablestore")
OSS_EVENTS = (
    "oss:ObjectCreated:PutObject", "oss:ObjectCreated:PostObject",
    "oss:ObjectCreated:CompleteMultipartUpload", "oss:ObjectCreated:CopyObject",
    "oss:ObjectCreated:AppendObject", "oss:ObjectCreated:PutSymlink",
    "oss:ObjectCreated:InitiateMultipartUpload", "oss:ObjectCreated:UploadPart",
    "oss:ObjectCreated:UploadPartCopy", "oss:ObjectCreated:*",
    "oss:ObjectModified:UpdateObjectMeta", "oss:ObjectRemoved:DeleteObject",
    "oss:ObjectRemoved:DeleteObjects", "oss:ObjectRemoved:AbortMultipartUpload",
)
HTTP_AUTH_TYPES = ("anonymous", "function", "jwt")
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS")
EB_SOURCE_TYPES = ("Default", "MNS", "RocketMQ", "RabbitMQ", "Kafka", "MQTT", "DTS")
MAX_OSS_TRIGGERS_PER_BUCKET = 10
MAX_ENV_BYTES = 4096

_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_TRIGGER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_HANDLER = re.compile(r"^(?P<module>[A-Za-z_]\w*)\.(?P<func>[A-Za-z_]\w*)$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,#-]+$")


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _range(props: Mapping[str, Any], key: str, lo: int, hi: int, path: str, out: Problems) -> None:
    if key in props and not (_int(props[key]) and lo <= props[key] <= hi):
        out.append((f"{path}.{key}", f"must be an integer between {lo} and {hi}, got {props[key]!r}"))


def check_document(doc: Mapping[str, Any], *, root: Path | None = None) -> Problems:
    """All problems of a loaded (resolved) s.yaml document."""
    out: Problems = []
    if not isinstance(doc, Mapping):
        return [("", "s.yaml must be a mapping")]
    if str(doc.get("edition")) != "3.0.0":
        out.append(("edition", f"must be '3.0.0' (Serverless Devs 3), got {doc.get('edition')!r}"))
    _unresolved(doc, "", out)
    resources = doc.get("resources")
    if not isinstance(resources, Mapping) or not resources:
        out.append(("resources", "must define at least one resource"))
        return out
    templates = doc.get("template") if isinstance(doc.get("template"), Mapping) else {}
    names: dict[str, str] = {}
    buckets: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for rname, res in resources.items():
        path = f"resources.{rname}"
        if not isinstance(res, Mapping):
            out.append((path, "must be a mapping"))
            continue
        if not _is_fc3(res.get("component")):
            out.append((f"{path}.component", f"must be fc3, got {res.get('component')!r}"))
        extend = res.get("extend")
        if isinstance(extend, Mapping) and extend.get("name") not in templates:
            out.append((f"{path}.extend.name", f"no template named {extend.get('name')!r}"))
        props = res.get("props")
        if not isinstance(props, Mapping):
            out.append((f"{path}.props", "must be a mapping"))
            continue
        _function(props, f"{path}.props", root, out)
        fname = props.get("functionName")
        if isinstance(fname, str) and fname:
            if fname in names:
                out.append((f"{path}.props.functionName", f"{fname!r} is also used by resource {names[fname]}"))
            names.setdefault(fname, rname)
        _triggers(props, f"{path}.props", out, buckets)
    _oss_buckets(buckets, out)
    return out


def _unresolved(node: Any, path: str, out: Problems) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            _unresolved(value, f"{path}.{key}" if path else str(key), out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _unresolved(value, f"{path}[{i}]", out)
    elif isinstance(node, str):
        for m in _MAGIC.finditer(node):
            if not m.group(1).strip().startswith(DEFERRED_MAGIC):
                out.append((path, f"unresolved magic variable {m.group(0)}"))


def _function(props: Mapping[str, Any], path: str, root: Path | None, out: Problems) -> None:
    for key in ("region", "functionName", "runtime", "code", "handler"):
        if props.get(key) in (None, "", {}):
            out.append((f"{path}.{key}", "required"))
    name = props.get("functionName")
    if isinstance(name, str) and name and not _FUNCTION_NAME.match(name):
        out.append((f"{path}.functionName", f"{name!r}: letters, digits, _ and -, starting with a letter "
                                            "or _, at most 64 characters"))
    runtime = props.get("runtime")
    if runtime and runtime not in ALLOWED_RUNTIMES:
        out.append((f"{path}.runtime", f"{runtime!r} is not one of {', '.join(ALLOWED_RUNTIMES)}"))
    memory = props.get("memorySize")
    if memory is not None and not (_int(memory) and memory % 64 == 0 and 128 <= memory <= 32768):
        out.append((f"{path}.memorySize", f"must be a multiple of 64 between 128 and 32768, got {memory!r}"))
    _range(props, "timeout", 1, 86400, path, out)
    _range(props, "instanceConcurrency", 1, 200, path, out)
    handler = props.get("handler")
    if isinstance(handler, str) and handler:
        m = _HANDLER.match(handler)
        if not m:
            out.append((f"{path}.handler", f"{handler!r} is not <module>.<function> (the package is flat)"))
        elif root is not None:
            reason = _handler_problem(root, m["module"], m["func"])
            if reason:
                out.append((f"{path}.handler", reason))
    _environment(props.get("environmentVariables"), f"{path}.environmentVariables", out)
    _async(props.get("asyncInvokeConfig"), f"{path}.asyncInvokeConfig", out)


def _handler_problem(root: Path, module: str, func: str) -> str | None:
    source = root / "functions" / f"{module}.py"
    if not source.is_file():
        return f"functions/{module}.py does not exist"
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    except SyntaxError as exc:
        return f"functions/{module}.py does not parse: {exc.msg} (line {exc.lineno})"
    if not any(isinstance(n, ast.FunctionDef) and n.name == func for n in tree.body):
        return f"functions/{module}.py has no top-level `def {func}`"
    return None


def _environment(env: Any, path: str, out: Problems) -> None:
    if env is None:
        return
    if not isinstance(env, Mapping):
        out.append((path, "must be a mapping of names to strings"))
        return
    size = 0
    for key, value in env.items():
        key = str(key)
        if not _ENV_NAME.match(key):
            out.append((f"{path}.{key}", "name must start with a letter and use only letters, digits and _"))
        elif key.upper().startswith("FC_"):
            out.append((f"{path}.{key}", "names starting with FC_ are reserved by Function Compute"))
        if not isinstance(value, str):
            out.append((f"{path}.{key}", f"value must be a string (quote it in YAML), got {value!r}"))
        size += len(key.encode()) + len(str(value).encode())
    if size > MAX_ENV_BYTES:
        out.append((path, f"all variables together take {size} bytes; FC allows {MAX_ENV_BYTES}"))


def _async(cfg: Any, path: str, out: Problems) -> None:
    if cfg is None:
        return
    if not isinstance(cfg, Mapping):
        out.append((path, "must be a mapping"))
        return
    _range(cfg, "maxAsyncRetryAttempts", 0, 8, path, out)
    _range(cfg, "maxAsyncEventAgeInSeconds", 1, 604800, path, out)
    for when in ("onSuccess", "onFailure"):
        dest = ((cfg.get("destinationConfig") or {}).get(when) or {}).get("destination")
        if dest is not None and not (isinstance(dest, str) and dest.startswith("acs:")):
            out.append((f"{path}.destinationConfig.{when}.destination", f"must be an acs: ARN, got {dest!r}"))


def _triggers(props: Mapping[str, Any], path: str, out: Problems,
              buckets: dict[str, list[tuple[str, Mapping[str, Any]]]]) -> None:
    triggers = props.get("triggers")
    if triggers is None:
        return
    if not isinstance(triggers, list):
        out.append((f"{path}.triggers", "must be a list"))
        return
    seen: set[str] = set()
    first_eb: tuple[int, str] | None = None
    for i, item in enumerate(triggers):
        tpath = f"{path}.triggers[{i}]"
        if not isinstance(item, Mapping):
            out.append((tpath, "must be a mapping"))
            continue
        for key in ("triggerName", "triggerType", "triggerConfig"):
            if item.get(key) in (None, ""):
                out.append((f"{tpath}.{key}", "required"))
        name, ttype, cfg = item.get("triggerName"), item.get("triggerType"), item.get("triggerConfig")
        if isinstance(name, str) and name:
            if not _TRIGGER_NAME.match(name):
                out.append((f"{tpath}.triggerName", f"{name!r}: letters, digits, _ and -, starting with a letter or _"))
            if name in seen:
                out.append((f"{tpath}.triggerName", f"{name!r} is used twice in this function"))
            seen.add(name)
        if ttype is not None and ttype not in TRIGGER_TYPES:
            out.append((f"{tpath}.triggerType", f"{ttype!r} is not one of {', '.join(TRIGGER_TYPES)}"))
            continue
        if ttype == "eventbridge" and first_eb is None:
            first_eb = (i, str(name))
        elif ttype is not None and ttype != "eventbridge" and first_eb is not None:
            out.append((f"{path}.triggers[{first_eb[0]}]",
                        f"eventbridge trigger {first_eb[1]!r} is listed before the {ttype} trigger {name!r}: "
                        "fc3 stops deploying the triggers after an unchanged eventbridge trigger; "
                        "list eventbridge triggers last"))
        if ttype in ROLE_TRIGGERS and not item.get("invocationRole"):
            out.append((f"{tpath}.invocationRole", "required: without it fc3 get-or-creates a RAM role at deploy"))
        if cfg is not None and not isinstance(cfg, Mapping):
            out.append((f"{tpath}.triggerConfig", "must be a mapping"))
            continue
        cfg = cfg or {}
        cpath = f"{tpath}.triggerConfig"
        if ttype == "oss":
            _oss(item, cfg, tpath, props.get("region"), out, buckets)
        elif ttype == "timer":
            _timer(cfg, cpath, out)
        elif ttype == "http":
            _http(cfg, cpath, out)
        elif ttype == "eventbridge":
            _eventbridge(cfg, cpath, out)


def _oss(item: Mapping[str, Any], cfg: Mapping[str, Any], tpath: str, region: Any, out: Problems,
         buckets: dict[str, list[tuple[str, Mapping[str, Any]]]]) -> None:
    cpath = f"{tpath}.triggerConfig"
    events = cfg.get("events")
    if not isinstance(events, list) or not events:
        out.append((f"{cpath}.events", "must be a non-empty list of oss:... event names"))
    else:
        for j, event in enumerate(events):
            if event == "oss:ObjectCreated:*":
                out.append((f"{cpath}.events[{j}]", "oss:ObjectCreated:* also fires on InitiateMultipartUpload "
                            "and every UploadPart; list PutObject, PostObject, CompleteMultipartUpload, "
                            "CopyObject instead"))
            elif event not in OSS_EVENTS:
                out.append((f"{cpath}.events[{j}]", f"{event!r} is not an OSS trigger event"))
    key = ((cfg.get("filter") or {}) if isinstance(cfg.get("filter"), Mapping) else {}).get("key")
    for part in ("prefix", "suffix"):
        if not isinstance(key, Mapping) or not isinstance(key.get(part), str):
            out.append((f"{cpath}.filter.key.{part}", "required string (may be empty)"))
    arn = item.get("sourceArn")
    m = _OSS_ARN.match(arn) if isinstance(arn, str) else None
    if not m:
        out.append((f"{tpath}.sourceArn", f"must be acs:oss:<region>:<account>:<bucket>, got {arn!r}"))
        return
    if isinstance(region, str) and region and m["region"] != region:
        out.append((f"{tpath}.sourceArn", f"bucket region {m['region']} differs from the function's {region}"))
    buckets.setdefault(m["bucket"], []).append((tpath, cfg))


def _oss_buckets(buckets: dict[str, list[tuple[str, Mapping[str, Any]]]], out: Problems) -> None:
    for bucket, triggers in buckets.items():
        if len(triggers) > MAX_OSS_TRIGGERS_PER_BUCKET:
            out.append((triggers[-1][0], f"bucket {bucket} has {len(triggers)} native OSS triggers; "
                                         f"OSS allows {MAX_OSS_TRIGGERS_PER_BUCKET}"))
        for i, (path_a, a) in enumerate(triggers):
            for path_b, b in triggers[i + 1:]:
                if _overlap(a, b):
                    out.append((path_b, f"overlaps {path_a} on bucket {bucket} (same event, nested "
                                        "prefix and suffix); native OSS triggers must not overlap"))


def _overlap(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    def parts(cfg: Mapping[str, Any]) -> tuple[set[str], str, str]:
        key = ((cfg.get("filter") or {}).get("key") or {}) if isinstance(cfg.get("filter"), Mapping) else {}
        return set(cfg.get("events") or ()), str(key.get("prefix", "")), str(key.get("suffix", ""))

    def covers(events: set[str], event: str) -> bool:
        return event in events or f"{event.rsplit(':', 1)[0]}:*" in events

    (ea, pa, sa), (eb, pb, sb) = parts(a), parts(b)
    shared = any(covers(eb, e) for e in ea) or any(covers(ea, e) for e in eb)
    nested = (pa.startswith(pb) or pb.startswith(pa)) and (sa.endswith(sb) or sb.endswith(sa))
    return shared and nested


def _timer(cfg: Mapping[str, Any], path: str, out: Problems) -> None:
    cron = cfg.get("cronExpression")
    if not isinstance(cron, str) or not cron.strip():
        out.append((f"{path}.cronExpression", "required string"))
    else:
        reason = _cron_problem(cron.strip())
        if reason:
            out.append((f"{path}.cronExpression", reason))
    if not isinstance(cfg.get("enable"), bool):
        out.append((f"{path}.enable", f"required boolean, got {cfg.get('enable')!r}"))
    if "payload" in cfg and not isinstance(cfg["payload"], str):
        out.append((f"{path}.payload", "must be a string (JSON text if structured)"))


def _cron_problem(cron: str) -> str | None:
    if cron.startswith("@every"):
        return None if _EVERY.match(cron) else f"{cron!r}: expected @every <n>h|m|s, e.g. @every 5m"
    m = _CRON_TZ.match(cron)
    if cron.startswith("CRON_TZ=") and not m:
        return f"{cron!r}: expected CRON_TZ=<zone> followed by the cron fields"
    if m:
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(m["tz"])
        except Exception:  # unknown zone or no tz database: report as unknown
            return f"unknown time zone {m['tz']!r} in CRON_TZ"
        cron = m["rest"].strip()
    fields = cron.split()
    if len(fields) != 6:
        return f"{cron!r} has {len(fields)} fields; FC cron needs 6 (second minute hour day month weekday)"
    bad = [f for f in fields if not _CRON_FIELD.match(f)]
    return f"{cron!r}: invalid field(s) {', '.join(bad)}" if bad else None


def _http(cfg: Mapping[str, Any], path: str, out: Problems) -> None:
    if cfg.get("authType") not in HTTP_AUTH_TYPES:
        out.append((f"{path}.authType", f"must be one of {', '.join(HTTP_AUTH_TYPES)}, got {cfg.get('authType')!r}"))
    methods = cfg.get("methods")
    if not isinstance(methods, list) or not methods:
        out.append((f"{path}.methods", f"required non-empty list of {', '.join(HTTP_METHODS)}"))
    else:
        bad = [m for m in methods if m not in HTTP_METHODS]
        if bad:
            out.append((f"{path}.methods", f"unknown method(s) {bad}; allowed: {', '.join(HTTP_METHODS)}"))


def _eventbridge(cfg: Mapping[str, Any], path: str, out: Problems) -> None:
    pattern = cfg.get("eventRuleFilterPattern")
    try:
        parsed = json.loads(pattern) if isinstance(pattern, str) else None
    except ValueError as exc:
        out.append((f"{path}.eventRuleFilterPattern", f"not valid JSON: {exc}"))
    else:
        if not isinstance(parsed, dict):
            out.append((f"{path}.eventRuleFilterPattern", "must be a JSON object in a string"))
    source = cfg.get("eventSourceConfig")
    stype = source.get("eventSourceType") if isinstance(source, Mapping) else None
    if stype not in EB_SOURCE_TYPES:
        out.append((f"{path}.eventSourceConfig.eventSourceType",
                    f"must be one of {', '.join(EB_SOURCE_TYPES)}, got {stype!r}"))
    for key in ("triggerEnable", "asyncInvocationType"):
        if key in cfg and not isinstance(cfg[key], bool):
            out.append((f"{path}.{key}", f"must be a boolean, got {cfg[key]!r}"))
