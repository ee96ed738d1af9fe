"""Request validation shared by the DSW operations (DSW reports every failure as ``ValidationError``).

Example
-------
>>> labels_of([{"Key": "team", "Value": "cv"}], "Labels")
{'team': 'cv'}
>>> int_in("60", "MaxIdleTimeInMinutes", 1, 100, None)
60
"""

from __future__ import annotations

from typing import Any

from .exceptions import validation


def check_priority(raw: Any) -> None:
    if raw is not None:
        int_in(raw, "Priority", 1, 9, None)


def int_in(raw: Any, name: str, lo: int, hi: int, default: int | None) -> int:
    if raw is None or raw == "":
        if default is None:
            raise validation(f"{name} is required.")
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise validation(f"{name} must be an integer, got {raw!r}.") from None
    if isinstance(raw, bool) or (isinstance(raw, float) and raw != value) or not lo <= value <= hi:
        raise validation(f"{name} must be an integer within [{lo}, {hi}], got {raw!r}.")
    return value


def key_values(raw: Any, name: str) -> list[dict[str, str]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or not all(isinstance(i, dict) and i.get("Key") for i in raw):
        raise validation(f"{name} must be a list of {{Key, Value}}, got {raw!r}.")
    return [{"Key": str(i["Key"]), "Value": str(i.get("Value") or "")} for i in raw]


def labels_of(raw: Any, name: str) -> dict[str, str]:
    return {i["Key"]: i["Value"] for i in key_values(raw, name)}


def id_list(raw: Any) -> list[str]:
    ids = raw if isinstance(raw, list) else [i.strip() for i in str(raw or "").split(",")]
    ids = [str(i) for i in ids if i]
    if not ids:
        raise validation("InstanceIds is required.")
    return ids
