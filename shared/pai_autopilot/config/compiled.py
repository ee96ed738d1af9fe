"""The configuration compiled to JSON at package time, so a cold start never imports YAML.

``pai-autopilot package`` writes ``autopilot.yaml.json`` beside ``autopilot.yaml``: the checked
configuration as JSON, with the length and CRC-32 of the YAML text it came from.
:func:`~.load.load_config` uses it only while it matches that text byte for byte (an edited
``autopilot.yaml`` falls back to parsing the YAML), so it can never be stale. Importing PyYAML
costs more than the rest of the ignored path (bench/RESULTS.md); JSON is decoded by msgspec,
which the event models load anyway.

Example
-------
>>> text = "version: 1\\nstorage: {bucket: demo-bucket}\\npipelines: {}\\n"
>>> blob = compile_config(text)
>>> from_compiled(blob, text.encode()).storage.bucket
'demo-bucket'
>>> from_compiled(blob, text.replace("demo", "other").encode()) is None  # the YAML changed
True
"""

from __future__ import annotations

import zlib

import msgspec

from .models import AutopilotConfig

SUFFIX = ".json"
_FORMAT = 1


def compiled_path(path: str) -> str:
    """Where the compiled form of the configuration at ``path`` lives."""
    return path + SUFFIX


def compile_config(text: str, source: str = "autopilot.yaml", *, raw: bytes | None = None) -> bytes:
    """Check ``text`` (every problem raises ``ConfigError``) and return its compiled JSON.

    ``raw`` is the file's bytes (default: ``text`` as UTF-8), which the compiled form must match.
    """
    from .load import parse_config

    config = parse_config(text, source=source)
    raw = text.encode("utf-8") if raw is None else raw
    return msgspec.json.encode(
        {"format": _FORMAT, "source_bytes": len(raw), "source_crc32": zlib.crc32(raw), "config": config}
    )


def from_compiled(blob: bytes, source: bytes) -> AutopilotConfig | None:
    """The configuration in ``blob`` if it was compiled from exactly ``source``, else ``None``."""
    try:
        doc = msgspec.json.decode(blob)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        return None
    if doc.get("source_bytes") != len(source) or doc.get("source_crc32") != zlib.crc32(source):
        return None
    try:
        return msgspec.convert(doc.get("config"), AutopilotConfig)
    except msgspec.ValidationError:
        return None


def write_compiled(yaml_path: str, text: str | None = None) -> str | None:
    """Compile the configuration at ``yaml_path`` next to it; the path written.

    ``None`` (nothing written) when the configuration is invalid: the functions then parse the
    YAML and report every problem with its line, as ``pai-autopilot validate`` does.
    """
    from ..errors import ConfigError
    from .text import decode_config, read_config_bytes

    raw = read_config_bytes(yaml_path)
    target = compiled_path(yaml_path)
    try:
        blob = compile_config(decode_config(raw, yaml_path) if text is None else text, source=yaml_path, raw=raw)
    except ConfigError:
        return None
    with open(target, "wb") as handle:
        handle.write(blob)
    return target
