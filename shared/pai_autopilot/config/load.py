"""Loading ``autopilot.yaml``: fast typed loading for functions, full validation for the CLI.

* :func:`load_config` (functions): YAML → Structs → semantic checks; cached per file and
  modification time; raises :class:`~pai_autopilot.errors.ConfigError`.
* :func:`validate_text` (``pai-autopilot validate``): every problem, each with its path,
  line and reason — schema errors from the JSON Schema generated from the Structs, then the
  semantic checks.

Example
-------
>>> problems = validate_text("version: 1\\nstorage: {bucket: demo-bucket}\\npipelines: {}\\nextra: 1\\n")
>>> [(p.path, p.line) for p in problems]
[('extra', 4)]
"""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import Any

import msgspec

from ..errors import ConfigError
from .checks import semantic_problems
from .models import AutopilotConfig, json_schema


@dataclasses.dataclass(frozen=True)
class Problem:
    """One configuration problem: a dotted path (``pipelines.demo.training.image``), its line, why."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        if not self.path and self.reason.startswith("line "):  # a position in the text: it says where
            return self.reason
        where = f"{self.path or '<root>'}" + (f" (line {self.line})" if self.line else "")
        return f"{where}: {self.reason}"


def _read_yaml(text: str, source: str) -> Any:
    from .text import read_yaml

    return read_yaml(text, source)


def _lines_of(text: str, problems: list[tuple[str, str]]) -> dict[str, int]:
    """The line of each problem's path (``pipelines.a.training`` → 7), where the text has it."""
    index = _line_index(text)
    lines = {}
    for path, _reason in problems:
        line = index.get(tuple(path.replace("[", ".").replace("]", "").split("."))) if path else None
        if line:
            lines[path] = line
    return lines


def parse_config(text: str, source: str = "autopilot.yaml") -> AutopilotConfig:
    """Parse and check a configuration; raise ``ConfigError`` with the problems found.

    Example
    -------
    >>> cfg = parse_config('''
    ... version: 1
    ... storage: {bucket: demo-bucket}
    ... pipelines:
    ...   demo:
    ...     dataset: {prefix: datasets/demo/}
    ...     training: {image: img, command: "train {dataset_uri}", ecs_spec: ecs.c6.large}
    ... ''')
    >>> cfg.pipelines["demo"].dataset.marker
    '_SUCCESS'
    """
    data = _read_yaml(text, source)
    try:
        config = msgspec.convert(data, AutopilotConfig)
    except msgspec.ValidationError:
        from .problems import schema_problems

        problems = schema_problems(data)
        raise ConfigError(f"{source} is invalid", errors=problems, lines=_lines_of(text, problems)) from None
    problems = semantic_problems(config)
    if problems:
        raise ConfigError(f"{source} is invalid", errors=problems, lines=_lines_of(text, problems))
    return config


_cache: dict[str, tuple[float, AutopilotConfig]] = {}
_cache_lock = threading.Lock()


def load_config(path: str | os.PathLike[str]) -> AutopilotConfig:
    """Load the configuration file at ``path``, cached until the file changes.

    Raises ``ConfigError`` when the file is missing or invalid (an invalid-input error: FC
    must not retry an invocation that cannot succeed until someone fixes the file).
    """
    from .compiled import compiled_path, from_compiled
    from .text import decode_config, read_config_bytes

    key = os.fspath(path)
    try:
        mtime = os.stat(key).st_mtime
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {key!r}: {exc.strerror}") from None
    with _cache_lock:
        cached = _cache.get(key)
        if cached and cached[0] == mtime:
            return cached[1]
    raw = read_config_bytes(key)
    config = None
    try:
        with open(compiled_path(key), "rb") as handle:  # written by `pai-autopilot package`
            config = from_compiled(handle.read(), raw)
    except OSError:
        pass
    if config is None:
        config = parse_config(decode_config(raw, key), source=key)
    with _cache_lock:
        _cache[key] = (mtime, config)
    return config


def _line_index(text: str) -> dict[tuple[str, ...], int]:
    """Map each YAML path (tuple of keys/indices as strings) to its 1-based line."""
    import yaml

    index: dict[tuple[str, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return index

    def walk(node: Any, path: tuple[str, ...]) -> None:
        index[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = (*path, str(key_node.value))
                walk(value_node, child)
                index[child] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, str(i)))

    if root is not None:
        walk(root, ())
    return index


def _dotted(parts: tuple[str, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _text_problem(where: str, reason: str, line: int | None) -> Problem:
    """A problem of the text itself: a position (``line 2, column 5``) goes into the reason."""
    if where.startswith("line "):
        number = where[5:].split(",", 1)[0]
        return Problem("", f"{where}: {reason}", int(number) if number.isdigit() else None)
    return Problem(where, reason, line)


def validate_text(text: str, source: str = "autopilot.yaml") -> list[Problem]:
    """Every problem of a configuration text (empty list when valid)."""
    import jsonschema  # CLI-only dependency: keep it off the functions' import path

    try:
        data = _read_yaml(text, source)
    except ConfigError as exc:
        if not exc.errors:
            return [Problem("", exc.message)]
        return [_text_problem(where, reason, exc.lines.get(where)) for where, reason in exc.errors]
    lines = _line_index(text)
    validator = jsonschema.Draft202012Validator(json_schema())
    problems: list[Problem] = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        parts = tuple(str(p) for p in error.absolute_path)
        reason = error.message
        described = error.schema.get("description") if isinstance(error.schema, dict) else None
        if error.validator == "pattern" and described:
            reason = f"{error.instance!r} is not {described}"
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set((error.schema.get("properties") or {}).keys())
            for extra in sorted(set(error.instance) - allowed):
                child = (*parts, str(extra))
                problems.append(Problem(_dotted(child), f"unknown key {extra!r}; allowed: {', '.join(sorted(allowed))}", lines.get(child)))
            continue
        problems.append(Problem(_dotted(parts), reason, lines.get(parts)))
    if problems:
        return problems
    config = msgspec.convert(data, AutopilotConfig)
    for path, reason in semantic_problems(config):
        parts = tuple(path.replace("[", ".").replace("]", "").split("."))
        problems.append(Problem(path, reason, lines.get(parts)))
    return problems
