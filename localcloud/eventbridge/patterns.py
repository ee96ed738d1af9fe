"""EventBridge event patterns: validation and matching (pure functions, no state).

Semantics, as documented for Alibaba Cloud EventBridge ("Event patterns",
help.aliyun.com/document_detail/181432.html):

* a pattern is a JSON object with the event's nesting (``{"data": {"oss": {...}}}``);
* keys are ANDed; the values inside one array are ORed; matching is case-sensitive;
* a leaf value is an array of exact values (string, number, boolean, ``null``, ``""``) and/or
  operator objects: ``prefix``, ``suffix``, ``contains``, ``anything-but`` (a value, a list,
  or ``{"prefix": ...}``), ``numeric`` (``[">", 0, "<=", 5]``), ``exists`` and ``cidr``
  (IPv4); several operators in one object must all hold (``{"prefix": "a/", "suffix": ".txt"}``);
* an array-valued event field matches when any of its elements matches;
* ``null`` and ``""`` are different values; a missing field matches only ``{"exists": false}``;
  ``anything-but`` never matches ``null`` or a missing field.

The empty pattern ``{}`` matches every event.

Example
-------
>>> p = parse('{"source": ["acs.oss"], "data": {"key": [{"suffix": ".csv"}]}}')
>>> matches(p, {"source": "acs.oss", "data": {"key": "a/b.csv"}})
True
>>> matches(p, {"source": "acs.oss", "data": {"key": "a/b.txt"}})
False
>>> parse('{"source": "acs.oss"}')
Traceback (most recent call last):
...
localcloud.eventbridge.patterns.PatternError: source: the value must be an array of matchers or a nested object, got a string
"""

from __future__ import annotations

import functools
import ipaddress
import json
from typing import Any

OPERATORS = ("prefix", "suffix", "contains", "anything-but", "numeric", "exists", "cidr")
NUMERIC_OPS = ("<", "<=", "=", ">", ">=")
_MISSING = object()


class PatternError(ValueError):
    """The pattern is not valid; the message names the offending field and why."""


# -- parsing and validation --------------------------------------------------------------------
def parse(pattern: str | dict[str, Any] | None) -> dict[str, Any]:
    """Parse (when given JSON text) and validate a pattern; ``None`` or ``""`` is ``{}``."""
    if pattern is None or (isinstance(pattern, str) and not pattern.strip()):
        return {}
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except ValueError as exc:
            raise PatternError(f"the pattern is not valid JSON: {exc}") from None
    validate(pattern)
    return pattern  # type: ignore[return-value]


def validate(pattern: Any, path: str = "") -> None:
    """Raise :class:`PatternError` unless ``pattern`` is a well-formed event pattern."""
    if not isinstance(pattern, dict):
        where = f"{path}: " if path else ""
        raise PatternError(f"{where}a pattern must be a JSON object, got {_kind(pattern)}")
    for key, value in pattern.items():
        here = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            if not value:
                raise PatternError(f"{here}: a nested pattern must not be empty")
            validate(value, here)
        elif isinstance(value, list):
            if not value:
                raise PatternError(f"{here}: the array of matchers must not be empty")
            for item in value:
                _validate_matcher(item, here)
        else:
            raise PatternError(
                f"{here}: the value must be an array of matchers or a nested object, got {_kind(value)}"
            )


def _validate_matcher(item: Any, path: str) -> None:
    if item is None or isinstance(item, (str, bool, int, float)):
        return
    if not isinstance(item, dict):
        raise PatternError(f"{path}: a matcher must be a value or an operator object, got {_kind(item)}")
    if not item:
        raise PatternError(f"{path}: an operator object must not be empty")
    for op, arg in item.items():
        if op not in OPERATORS:
            raise PatternError(f"{path}: unsupported operator {op!r} (supported: {', '.join(OPERATORS)})")
        _validate_operator(op, arg, path)


def _validate_operator(op: str, arg: Any, path: str) -> None:
    if op in ("prefix", "suffix", "contains"):
        if not isinstance(arg, str):
            raise PatternError(f"{path}: {op!r} takes a string, got {_kind(arg)}")
    elif op == "exists":
        if not isinstance(arg, bool):
            raise PatternError(f"{path}: 'exists' takes true or false, got {_kind(arg)}")
    elif op == "cidr":
        if not isinstance(arg, str):
            raise PatternError(f"{path}: 'cidr' takes a string such as '10.0.0.0/24', got {_kind(arg)}")
        try:
            _network(arg)
        except ValueError:
            raise PatternError(f"{path}: 'cidr' {arg!r} is not an IPv4 CIDR block") from None
    elif op == "numeric":
        _validate_numeric(arg, path)
    elif op == "anything-but":
        _validate_anything_but(arg, path)


def _validate_numeric(arg: Any, path: str) -> None:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise PatternError(f"{path}: 'numeric' takes [op, number] or [op, number, op, number], got {json.dumps(arg)}")
    ops, numbers = arg[0::2], arg[1::2]
    for op in ops:
        if op not in NUMERIC_OPS:
            raise PatternError(f"{path}: 'numeric' operator {op!r} is not one of {', '.join(NUMERIC_OPS)}")
    for number in numbers:
        if not _is_number(number):
            raise PatternError(f"{path}: 'numeric' bound {json.dumps(number)} is not a number")
    if len(arg) == 4:
        if ops[0] not in (">", ">=") or ops[1] not in ("<", "<="):
            raise PatternError(f"{path}: a 'numeric' range must be a lower bound ('>' or '>=') then an upper bound ('<' or '<=')")
        if numbers[0] > numbers[1]:
            raise PatternError(f"{path}: the 'numeric' range is empty ({numbers[0]} > {numbers[1]})")


def _validate_anything_but(arg: Any, path: str) -> None:
    if isinstance(arg, dict):
        if set(arg) != {"prefix"} or not isinstance(arg["prefix"], str):
            raise PatternError(f"{path}: 'anything-but' takes a value, a list, or {{\"prefix\": string}}, got {json.dumps(arg)}")
        return
    values = arg if isinstance(arg, list) else [arg]
    if not values:
        raise PatternError(f"{path}: 'anything-but' list must not be empty")
    for value in values:
        if not (isinstance(value, str) or _is_number(value)):
            raise PatternError(f"{path}: 'anything-but' values must be strings or numbers, got {_kind(value)}")


# -- matching ----------------------------------------------------------------------------------
def matches(pattern: dict[str, Any], event: Any) -> bool:
    """True when ``event`` (a parsed JSON object, e.g. a CloudEvents envelope) matches."""
    if not isinstance(event, dict):
        event = {}
    for key, expected in pattern.items():
        value = event.get(key, _MISSING)
        if isinstance(expected, dict):
            if not _nested_matches(expected, value):
                return False
        elif not _field_matches(expected, value):
            return False
    return True


def _nested_matches(pattern: dict[str, Any], value: Any) -> bool:
    if isinstance(value, list):
        objects = [v for v in value if isinstance(v, dict)]
        return any(matches(pattern, v) for v in objects) if objects else matches(pattern, {})
    return matches(pattern, value if isinstance(value, dict) else {})


def _field_matches(matchers: list[Any], value: Any) -> bool:
    """OR over the matchers; an array-valued field matches when any element does."""
    for matcher in matchers:
        if isinstance(matcher, dict) and "exists" in matcher:
            if not _exists(matcher["exists"], value):
                continue
            rest = {k: v for k, v in matcher.items() if k != "exists"}
            if not rest or _any_element(rest, value):
                return True
        elif value is not _MISSING and _any_element(matcher, value):
            return True
    return False


def _exists(wanted: bool, value: Any) -> bool:
    present = value is not _MISSING
    return present if wanted else not present


def _any_element(matcher: Any, value: Any) -> bool:
    if value is _MISSING:
        return False
    if isinstance(value, list):
        return any(_scalar_matches(matcher, v) for v in value)
    return _scalar_matches(matcher, value)


def _scalar_matches(matcher: Any, value: Any) -> bool:
    if isinstance(value, (dict, list)):
        return False
    if not isinstance(matcher, dict):
        return _same(matcher, value)
    return all(_operator(op, arg, value) for op, arg in matcher.items())


def _operator(op: str, arg: Any, value: Any) -> bool:
    if op == "prefix":
        return isinstance(value, str) and value.startswith(arg)
    if op == "suffix":
        return isinstance(value, str) and value.endswith(arg)
    if op == "contains":
        return isinstance(value, str) and arg in value
    if op == "numeric":
        return _is_number(value) and _in_range(arg, value)
    if op == "cidr":
        return isinstance(value, str) and _in_network(arg, value)
    if op == "anything-but":
        if isinstance(arg, dict):
            return isinstance(value, str) and not value.startswith(arg["prefix"])
        excluded = arg if isinstance(arg, list) else [arg]
        return value is not None and not any(_same(x, value) for x in excluded)
    return True  # "exists" is handled by the caller


def _same(expected: Any, value: Any) -> bool:
    """Type-aware JSON equality: ``1 == 1.0`` but ``true != 1`` and ``"1" != 1``."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(expected, bool) and isinstance(value, bool) and expected is value
    if _is_number(expected) and _is_number(value):
        return float(expected) == float(value)
    return type(expected) is type(value) and expected == value


def _in_range(spec: list[Any], value: float) -> bool:
    for op, bound in zip(spec[0::2], spec[1::2], strict=True):
        ok = {
            "<": value < bound, "<=": value <= bound, "=": value == bound,
            ">": value > bound, ">=": value >= bound,
        }[op]
        if not ok:
            return False
    return True


def _in_network(cidr: str, value: str) -> bool:
    try:
        return ipaddress.IPv4Address(value) in _network(cidr)
    except ValueError:
        return False


@functools.lru_cache(maxsize=256)
def _network(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr, strict=False)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", str: "a string", list: "an array", dict: "an object"}
    for cls, name in names.items():
        if isinstance(value, cls):
            return name
    return "a number" if _is_number(value) else type(value).__name__
