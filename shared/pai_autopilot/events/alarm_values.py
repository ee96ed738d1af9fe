"""Value coercions for CloudMonitor alarm fields: dimensions text, numbers, epoch milliseconds.

CMS sends most values as strings, in more than one notation (``{k=v, k2=v2}`` or JSON for
dimensions; ``"912"`` or ``912`` for values; ms, s or ISO text for times). These helpers turn them
into plain Python values and are shared by every alarm delivery form.

Example
-------
>>> parse_dimensions("{serviceName=svc, userId=1}"), to_number("0.31"), to_epoch_ms("1717000000")
({'serviceName': 'svc', 'userId': '1'}, 0.31, 1717000000000)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from .decode import JSON_ERRORS, parse_error, parse_time

__all__ = ["json_object", "parse_dimensions", "to_epoch_ms", "to_number"]


def parse_dimensions(value: str | Mapping[str, Any] | list[Any] | None) -> dict[str, str]:
    """CMS dimensions as a dict: ``{k=v, k2=v2}`` text, JSON text, a dict, or a list of dicts.

    Unparseable pieces are skipped (dimensions are informative; the raw text stays in ``raw``).

    Example
    -------
    >>> parse_dimensions("{userId=123, instanceId=i-abc}")
    {'userId': '123', 'instanceId': 'i-abc'}
    >>> parse_dimensions('[{"serviceName": "svc"}]')
    {'serviceName': 'svc'}
    """
    if value is None:
        return {}
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "{[" and ('"' in text or text in ("{}", "[]")):
            try:
                return parse_dimensions(msgspec.json.decode(text))
            except (*JSON_ERRORS, TypeError):
                pass
        pieces = (p.partition("=") for p in text.strip("{}").split(","))
        return {k.strip(): v.strip() for k, sep, v in pieces if sep and k.strip()}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items() if not isinstance(v, (dict, list))}
    if isinstance(value, list):
        merged: dict[str, str] = {}
        for item in value:
            if isinstance(item, (Mapping, str)):
                merged.update(parse_dimensions(item))
        return merged
    return {}


def json_object(value: dict[str, Any] | str | None, path: str, *, stage: str = "cms") -> dict[str, Any]:
    """A JSON object given as an object or as JSON text (``None``/blank → ``{}``).

    Example
    -------
    >>> json_object('{"Average": 1}', "$.metricData")
    {'Average': 1}
    """
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = msgspec.json.decode(value) if value.strip() else {}
        except JSON_ERRORS as exc:
            raise parse_error(stage, "not valid JSON", path=path, value=value) from exc
    if not isinstance(value, dict):
        raise parse_error(stage, "expected a JSON object", path=path, value=value)
    return value


def to_number(value: Any) -> float | None:
    """A finite float, or ``None`` when absent or not numeric (``"--"``, ``"NaN"``, booleans).

    Example
    -------
    >>> to_number("912"), to_number("n/a"), to_number(True)
    (912.0, None, None)
    """
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


def to_epoch_ms(value: Any) -> int | None:
    """Epoch milliseconds from ms or s (number or digits) or a date string, else ``None``.

    Example
    -------
    >>> to_epoch_ms(1717000000000), to_epoch_ms("1717000000"), to_epoch_ms("2024-05-29T16:26:40Z")
    (1717000000000, 1717000000000, 1717000000000)
    """
    if value is None or isinstance(value, bool) or value == "":
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(float(value))
        return number if number > 1e11 else number * 1000
    parsed = parse_time(value)
    return None if parsed is None else int(parsed.timestamp() * 1000)
