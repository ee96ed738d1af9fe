"""Stage one of parsing (bytes/str → JSON) and the helpers every event module shares.

FC hands a Python handler its event as ``bytes``; :func:`decode` turns it (or a ``str``, or an
already-decoded ``dict``/``list``) into plain JSON values. Every failure, here and in the later
stages, is an :class:`~pai_autopilot.errors.EventParseError` whose message names the *stage*,
the *path* inside the document (``$.events[0].oss.object.size``) and the offending *value*,
truncated.

Example
-------
>>> decode(b'{"triggerName": "reconcile"}')
{'triggerName': 'reconcile'}
>>> decode(b"not json")
Traceback (most recent call last):
...
pai_autopilot.errors.EventParseError: decode: not valid JSON (JSON is malformed: invalid character (byte 4)): value b'not json'
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, TypeVar

import msgspec

from ..errors import EventParseError

__all__ = ["JSON_ERRORS", "MAX_EVENT_BYTES", "EventModel", "decode", "parse_error", "parse_time", "preview"]

T = TypeVar("T")

#: Longest rendering of an offending value inside an error message.
PREVIEW_LIMIT = 80

#: Largest event accepted (bytes). FC caps asynchronous payloads well below this; anything larger
#: is hostile or broken, and is refused before it is decoded.
MAX_EVENT_BYTES = 1 << 20

#: What decoding untrusted JSON may raise: malformed text, nesting deeper than the decoder's
#: limit (``RecursionError``), invalid UTF-8 inside a string (``UnicodeDecodeError``).
JSON_ERRORS = (msgspec.DecodeError, RecursionError, UnicodeDecodeError)

_MISSING: Any = object()


class EventModel(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every public event model: immutable, keyword-only, with a ``raw`` escape hatch.

    ``raw`` holds the decoded JSON the model was built from; it is left out of ``repr``, as are
    the values of the fields named in ``_redacted``.

    Example
    -------
    >>> class Ping(EventModel, frozen=True, kw_only=True):
    ...     name: str
    >>> Ping(name="a", raw={"name": "a"})
    Ping(name='a')
    """

    _redacted: ClassVar[tuple[str, ...]] = ()

    raw: Any = None

    def __repr__(self) -> str:
        parts = []
        for name in self.__struct_fields__:
            if name == "raw":
                continue
            value = "'***'" if name in self._redacted else repr(getattr(self, name))
            parts.append(f"{name}={value}")
        return f"{type(self).__name__}({', '.join(parts)})"


def preview(value: Any, limit: int = PREVIEW_LIMIT) -> str:
    """A short, safe rendering of an offending value for an error message.

    At most ``limit`` characters (an ellipsis marks the cut), built without walking more of the
    value than it shows (so a huge or deeply nested value costs nothing), with values under
    secret-like keys as ``***`` and URL userinfo and registered secrets removed.

    Example
    -------
    >>> preview("x" * 200, limit=12)
    "'xxxxxxxx..."
    >>> preview({"AccessKeySecret": "sk-1", "endpoint": "http://u:p@h"})
    "{'AccessKeySecret': '***', 'endpoint': 'http://***@h'}"
    >>> preview([[[[[[[[1]]]]]]]] * 3, limit=20)
    '[[[[[[[[1]]]]]]],...'
    """
    from ..redact import scrub

    if isinstance(value, (bytearray, memoryview)):
        value = bytes(value)
    parts: list[str] = []
    _bounded_repr(value, parts, [limit + 40], 0)
    text = scrub("".join(parts))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bounded_repr(value: Any, out: list[str], budget: list[int], depth: int) -> None:
    """``repr(value)`` into ``out``, stopping once ``budget[0]`` characters are written."""
    from ..redact import REDACTED, is_secret_key

    if budget[0] <= 0:
        return
    if depth > 30:
        out.append("...")
        budget[0] = 0
        return
    if isinstance(value, dict):
        out.append("{")
        budget[0] -= 1
        for i, (key, item) in enumerate(value.items()):
            if budget[0] <= 0:
                break
            if i:
                out.append(", ")
            _bounded_repr(key, out, budget, depth + 1)
            out.append(": ")
            budget[0] -= 2
            _bounded_repr(REDACTED if is_secret_key(key) else item, out, budget, depth + 1)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        budget[0] -= 1
        for i, item in enumerate(value):
            if budget[0] <= 0:
                break
            if i:
                out.append(", ")
            _bounded_repr(item, out, budget, depth + 1)
        out.append("]")
    else:
        if isinstance(value, (bytes, str)) and len(value) > budget[0]:
            value = value[: budget[0] + 1]
        text = repr(value)[: budget[0] + 1]
        out.append(text)
        budget[0] -= len(text)


def parse_error(stage: str, problem: str, *, path: str | None = None, value: Any = _MISSING) -> EventParseError:
    """Build the one error type of this package: ``"<stage>: <problem> at <path>: value <v>"``.

    The returned error also carries ``stage`` and ``path`` attributes for structured logs.

    Example
    -------
    >>> str(parse_error("oss", "expected `int`, got `str`", path="$.events[0].oss.object.size", value="12"))
    "oss: expected `int`, got `str` at $.events[0].oss.object.size: value '12'"
    """
    message = f"{stage}: {problem}"
    if path:
        message += f" at {path}"
    if value is not _MISSING:
        message += f": value {preview(value)}"
    err = EventParseError(message)
    err.stage = stage  # type: ignore[attr-defined]
    err.path = path  # type: ignore[attr-defined]
    return err


def decode(raw: bytes | bytearray | memoryview | str | dict[str, Any] | list[Any]) -> Any:
    """Stage one: the event as FC delivers it (``bytes``, or ``str``) → JSON values.

    A ``dict`` or ``list`` is taken as already decoded and returned unchanged. A UTF-8 byte
    order mark is ignored. Empty input, invalid JSON and any other input type raise
    :class:`~pai_autopilot.errors.EventParseError` (stage ``decode``).

    Example
    -------
    >>> decode('[{"id": "1"}]')
    [{'id': '1'}]
    >>> decode(b"  ")
    Traceback (most recent call last):
    ...
    pai_autopilot.errors.EventParseError: decode: empty event: value b'  '
    """
    if isinstance(raw, (dict, list)):
        return raw
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if not isinstance(raw, bytes):
        raise parse_error("decode", f"unsupported event type {type(raw).__name__}", value=raw)
    if len(raw) > MAX_EVENT_BYTES:
        raise parse_error("decode", f"event of {len(raw)} bytes exceeds the {MAX_EVENT_BYTES}-byte limit", value=raw)
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    if not body.strip():
        raise parse_error("decode", "empty event", value=raw)
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise parse_error("decode", f"not valid JSON ({exc})", value=raw) from exc
    except RecursionError:
        raise parse_error("decode", "not valid JSON (nested too deeply)", value=raw) from None
    except UnicodeDecodeError:
        raise parse_error("decode", "not valid JSON (invalid UTF-8 in a string)", value=raw) from None


_VALIDATION = re.compile(r"^(?P<problem>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[([^\]]*)\]")


def convert(obj: Any, model: type[T], *, stage: str, path: str = "$") -> T:
    """Validate decoded JSON ``obj`` against a msgspec ``model``; errors name path and value.

    ``path`` is where ``obj`` sits in the whole event, so the message points into the document
    FC delivered, not into the fragment.

    Example
    -------
    >>> class Obj(msgspec.Struct):
    ...     size: int
    >>> convert({"size": "12"}, Obj, stage="oss", path="$.events[0]")
    Traceback (most recent call last):
    ...
    pai_autopilot.errors.EventParseError: oss: expected `int`, got `str` at $.events[0].size: value '12'
    """
    try:
        return msgspec.convert(obj, model)
    except msgspec.ValidationError as exc:
        raise _validation_error(str(exc), obj, stage, path) from exc


def _validation_error(text: str, obj: Any, stage: str, base: str) -> EventParseError:
    match = _VALIDATION.match(text)
    problem = match.group("problem") if match else text
    rel = (match.group("path") if match else None) or "$"
    missing = _MISSING_FIELD.match(problem)
    if missing:
        return parse_error(stage, "missing required field", path=_join(base, rel) + f".{missing['field']}")
    problem = problem[:1].lower() + problem[1:]
    found, value = _lookup(obj, rel)
    if found:
        return parse_error(stage, problem, path=_join(base, rel), value=value)
    return parse_error(stage, problem, path=_join(base, rel))


def _join(base: str, rel: str) -> str:
    return base + rel[1:] if rel.startswith("$") else f"{base}.{rel}"


def _lookup(obj: Any, rel: str) -> tuple[bool, Any]:
    """Follow a msgspec path (``$.a[0].b``) into ``obj``; ``(False, None)`` when it cannot."""
    current = obj
    for attr, index, other in _SEGMENT.findall(rel[1:] if rel.startswith("$") else rel):
        if attr and isinstance(current, dict) and attr in current:
            current = current[attr]
        elif index and isinstance(current, list) and int(index) < len(current):
            current = current[int(index)]
        elif other and isinstance(current, dict) and other.strip("'\"") in current:
            current = current[other.strip("'\"")]
        else:
            return False, None
    return True, current


# ---------------------------------------------------------------------------- lenient time parsing

_ISO = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?|[A-Za-z][A-Za-z_/+\-0-9]*)?\s*$"
)
_UTC_NAMES = frozenset({"UTC", "GMT", "Z", "ETC/UTC", "ETC/GMT"})
_CHINA_NAMES = frozenset({"PRC", "CST", "ASIA/SHANGHAI", "ASIA/CHONGQING", "ASIA/HARBIN", "ASIA/BEIJING"})
_CHINA = timezone(timedelta(hours=8))


def parse_time(text: str | int | float | None) -> datetime | None:
    """Parse an event timestamp leniently into an aware ``datetime``, or ``None``.

    Accepts ISO-8601 with ``Z``, an offset or none (taken as UTC), any number of fraction
    digits, a trailing zone name seen in Alibaba samples (``Asia/Shanghai``, ``PRC`` and ``CST``
    mean UTC+8; ``UTC``/``GMT`` mean UTC), and epoch seconds or milliseconds as numbers or
    digit strings. Anything else gives ``None``: event times are informative, never fatal.

    Example
    -------
    >>> parse_time("2024-05-01T08:00:00.682Z").isoformat()
    '2024-05-01T08:00:00.682000+00:00'
    >>> parse_time("2024-05-01 16:00:00 Asia/Shanghai").isoformat()
    '2024-05-01T16:00:00+08:00'
    >>> parse_time("1693896071895").isoformat()
    '2023-09-05T06:41:11.895000+00:00'
    >>> parse_time("yesterday") is None
    True
    """
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, (int, float)) or (isinstance(text, str) and text.strip().isdigit()):
        return _from_epoch(float(text))
    if not isinstance(text, str):
        return None
    m = _ISO.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    tz = _zone(zone)
    if tz is None:
        return None
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tzinfo=tz
        )
    except ValueError:
        return None


def _from_epoch(number: float) -> datetime | None:
    seconds = number / 1000 if number > 1e11 else number
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _zone(zone: str | None) -> timezone | None:
    if zone is None:
        return timezone.utc
    upper = zone.upper()
    if upper in _UTC_NAMES:
        return timezone.utc
    if upper in _CHINA_NAMES:
        return _CHINA
    if zone[0] in "+-" and zone[1:].replace(":", "").isdigit():
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if zone[0] == "-" else delta)
    return None
