"""Every schema problem of a configuration, without jsonschema (cheap enough for a function).

``msgspec.convert`` stops at the first error. When it fails, :func:`schema_problems` converts
each part on its own — each pipeline, each section of a pipeline, each notification target,
each top-level section — so a deployed function reports every broken part, each with its path
(which names the pipeline) and its line.

Example
-------
>>> data = {"version": 1, "storage": {"bucket": "demo-bucket"}, "pipelines": {
...     "a": {"dataset": {"prefix": "datasets/a/"}, "training": {"image": "i", "command": "c", "pod_count": 0}},
...     "b": {"dataset": {"prefix": "nope"}, "training": {"image": "i", "command": "c"}}}}
>>> for path, reason in schema_problems(data):
...     print(path, "-", reason)
pipelines.a.training.pod_count - Expected `int` >= 1
pipelines.b.dataset.prefix - Expected `str` matching regex '^[^/].*/$'
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

import msgspec

from .models import AutopilotConfig


def _first(exc: msgspec.ValidationError, base: str) -> tuple[str, str]:
    message = str(exc)
    reason, _, where = message.rpartition(" - at `")
    rel = where.rstrip("`").removeprefix("$") if reason else ""
    path = (base + rel) if rel.startswith("[") else ".".join(p for p in (base, rel.lstrip(".")) if p)
    return path, reason or message


def _struct_type(tp: Any) -> type | None:
    """The Struct inside ``tp`` (``Pipeline``, ``Rollout | None``), else ``None``."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return tp
    structs = [a for a in get_args(tp) if isinstance(a, type) and issubclass(a, msgspec.Struct)]
    return structs[0] if len(structs) == 1 and get_origin(tp) is not dict else None


def _problems(data: Any, tp: Any, base: str, depth: int = 0) -> list[tuple[str, str]]:
    try:
        msgspec.convert(data, tp)
        return []
    except msgspec.ValidationError as exc:
        first = _first(exc, base)
    struct = _struct_type(tp)
    if depth > 6 or (struct is None and get_origin(tp) is not dict) or not isinstance(data, dict):
        return [first]
    problems: list[tuple[str, str]] = []
    if struct is None:  # dict[Name, Pipeline]: each entry alone
        key_type, value_type = get_args(tp)
        for key, value in data.items():
            path = f"{base}.{key}" if base else str(key)
            try:
                msgspec.convert(key, key_type)
            except msgspec.ValidationError as exc:
                problems.append((path, f"invalid name {key!r}: {_first(exc, '')[1]}"))
                continue
            problems.extend(_problems(value, value_type, path, depth + 1))
        return problems or [first]
    fields = {f.encode_name: f for f in msgspec.structs.fields(struct)}
    for key, value in data.items():
        field = fields.get(key)
        path = f"{base}.{key}" if base else str(key)
        if field is None:
            problems.append((path, f"unknown key {key!r}; allowed: {', '.join(sorted(fields))}"))
        elif get_origin(field.type) is list and isinstance(value, list):
            (item_type,) = get_args(field.type) or (Any,)
            for i, item in enumerate(value):
                problems.extend(_problems(item, item_type, f"{path}[{i}]", depth + 1))
        else:
            problems.extend(_problems(value, field.type, path, depth + 1))
    for name, field in fields.items():
        if field.required and name not in data:
            problems.append((f"{base}.{name}" if base else name, "missing required key"))
    return problems or [first]


def schema_problems(data: Any) -> list[tuple[str, str]]:
    """Every part of ``data`` that does not convert to :class:`AutopilotConfig`, as (path, reason)."""
    if not isinstance(data, dict):
        return [("", f"expected a mapping at the top level, got {type(data).__name__}")]
    return _problems(data, AutopilotConfig, "")
