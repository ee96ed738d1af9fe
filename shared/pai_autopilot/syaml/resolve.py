"""Resolving s.yaml's magic variables and templates, the way ``s`` 3.1.10 does."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError


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
    pai_autopilot.syaml.resolve.SyamlError: cannot resolve the magic variables of s.yaml
      vars.b: environment variable AUTOPILOT_BUCKET is not set and ${env('AUTOPILOT_BUCKET')} has no default
    """
    return parse_syaml(Path(path).read_text(encoding="utf-8"), env=env, account_id=account_id,
                       strict=strict)
