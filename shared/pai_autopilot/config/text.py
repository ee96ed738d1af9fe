"""From a configuration file to YAML data, with every way the text itself can be broken named.

Shared by the functions (:func:`~.load.load_config`) and ``pai-autopilot validate``:

* a file that is not UTF-8 text (binary, NUL bytes, another encoding) → its offset;
* an empty file (or only comments) → "is empty";
* a tab in the indentation → its line (YAML indents with spaces only);
* a YAML syntax error → line, column and the parser's problem;
* a key given twice in one mapping (PyYAML keeps the last silently) → both lines.

Each is a :class:`~pai_autopilot.errors.ConfigError` whose ``errors`` are ``(where, reason)``.

Example
-------
>>> read_yaml("a: 1\\nb: 2\\na: 3\\n", "x.yaml")
Traceback (most recent call last):
...
pai_autopilot.errors.ConfigError: x.yaml is invalid
  a (line 3): duplicate key 'a' (first at line 1, again at line 3)
>>> read_yaml("a: [1,\\n", "x.yaml")
Traceback (most recent call last):
...
pai_autopilot.errors.ConfigError: x.yaml is not valid YAML
  line 2, column 1: did not find expected node content (while parsing a flow node)
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ConfigError

#: A configuration larger than this is refused before it is parsed.
MAX_CONFIG_BYTES = 4 << 20


def decode_config(raw: bytes, source: str) -> str:
    """The file's bytes as text; a binary or non-UTF-8 file is a ``ConfigError`` naming the offset.

    Example
    -------
    >>> decode_config(b"version: 1\\n", "a.yaml")
    'version: 1\\n'
    >>> decode_config(b"\\x89PNG\\r\\n", "a.yaml")
    Traceback (most recent call last):
    ...
    pai_autopilot.errors.ConfigError: a.yaml is not a UTF-8 text file (byte 0x89 at offset 0); save it as UTF-8 YAML
    """
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source} is {len(raw)} bytes, over the {MAX_CONFIG_BYTES}-byte limit of a configuration")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise ConfigError(f"{source} is a binary file (NUL byte at offset {nul}), not YAML text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{source} is not a UTF-8 text file (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8 YAML"
        ) from None
    return text.removeprefix("\ufeff")


def read_config_bytes(path: str | os.PathLike[str]) -> bytes:
    """A configuration file's bytes, at most one past the size limit (``ConfigError`` when unreadable)."""
    key = os.fspath(path)
    try:
        with open(key, "rb") as handle:
            return handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {key!r}: {exc.strerror}") from None


def read_config_file(path: str | os.PathLike[str]) -> str:
    """Read a configuration file as text (``ConfigError`` when unreadable, binary or not UTF-8)."""
    return decode_config(read_config_bytes(path), os.fspath(path))


class _Duplicates:
    """Collects duplicate keys while a loader constructs mappings."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []
        self.lines: dict[str, int] = {}


def _make_loader(duplicates: _Duplicates) -> type:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class UniqueKeyLoader(base):  # type: ignore[misc, valid-type]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, int] = {}
            for key_node, _value in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                line = key_node.start_mark.line + 1
                if key is not None and key in seen:
                    duplicates.found.append((str(key), f"duplicate key {key!r} (first at line {seen[key]}, again at line {line})"))
                    duplicates.lines.setdefault(str(key), line)
                elif key is not None:
                    seen[key] = line
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def _tab_indent(text: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip() and not line.lstrip().startswith("#"):
            return number
    return None


def read_yaml(text: str, source: str = "autopilot.yaml") -> Any:
    """Parse configuration text into YAML data, or raise ``ConfigError`` saying what is broken.

    Example
    -------
    >>> read_yaml("version: 1\\n")
    {'version': 1}
    >>> read_yaml("# nothing\\n", "a.yaml")
    Traceback (most recent call last):
    ...
    pai_autopilot.errors.ConfigError: a.yaml is empty: write at least version, storage and pipelines
    """
    import yaml

    duplicates = _Duplicates()
    try:
        data = yaml.load(text, Loader=_make_loader(duplicates))  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        tab = _tab_indent(text)
        if tab is not None:
            raise ConfigError(f"{source} is not valid YAML", errors=[(f"line {tab}", "a tab in the indentation; YAML indents with spaces")]) from None
        raise ConfigError(f"{source} is not valid YAML", errors=[_syntax_problem(exc)]) from None
    if duplicates.found:
        raise ConfigError(f"{source} is invalid", errors=duplicates.found, lines=duplicates.lines)
    if data is None:
        raise ConfigError(f"{source} is empty: write at least version, storage and pipelines")
    return data


def _syntax_problem(exc: Any) -> tuple[str, str]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "<unknown position>"
    return where, f"{problem}" + (f" ({context})" if context else "")
