"""Filters, sorting and paging of EAS list operations (ListServices, ListServiceInstances, …).

Example
-------
>>> page_of(list(range(7)), {"PageNumber": "2", "PageSize": "3"}, "PageNumber", "PageSize", default_size=100)
([3, 4, 5], 2, 3)
>>> parse_event_time("2022-04-09 06:30:00", "StartTime", default=0.0)
1649485800.0
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Sequence
from typing import Any, TypeVar

from ..core.pop import parse_int
from .exceptions import invalid_parameter

T = TypeVar("T")

#: ListServices ``Sort`` values and what they sort by (EAS documents only "CreateTime"-like timestamps).
SERVICE_SORT_KEYS: dict[str, Any] = {
    "CreateTime": lambda s: (s.created_at, s.name),
    "UpdateTime": lambda s: (s.updated_at, s.name),
    "ServiceName": lambda s: s.name,
    "Status": lambda s: (s.status, s.name),
}


def page_of(items: Sequence[T], query: dict[str, str], number_key: str, size_key: str, *, default_size: int) -> tuple[list[T], int, int]:
    """One page of ``items``: (page, page number, page size)."""
    number = _int(query, number_key, 1, 1, 10**6)
    size = _int(query, size_key, default_size, 1, 1000)
    return list(items[(number - 1) * size : number * size]), number, size


def select_services(services: list[Any], query: dict[str, str], label: dict[str, Any]) -> list[Any]:
    """ListServices' filters and order."""

    def keep(s: Any) -> bool:
        meta = s.config.get("metadata") or {}
        checks = (
            not query.get("Filter") or query["Filter"].lower() in s.name.lower(),
            not query.get("ServiceName") or s.name == query["ServiceName"],
            not query.get("ServiceStatus") or s.status == query["ServiceStatus"],
            not query.get("GroupName") or s.group == query["GroupName"],
            not query.get("WorkspaceId") or s.workspace_id == query["WorkspaceId"],
            not query.get("ServiceUid") or s.service_id == query["ServiceUid"],
            not query.get("ResourceName") or str(meta.get("resource") or "eas-r-public") == query["ResourceName"],
            not query.get("ServiceType") or query["ServiceType"] == "Standard",
            not any(query.get(k) for k in ("Role", "Gateway", "QuotaId", "ParentServiceUid", "ResourceType")),
            all(k in s.labels and (v in (None, "") or s.labels[k] == v) for k, v in label.items()),
        )
        return all(checks)

    sort = query.get("Sort") or "CreateTime"
    if sort not in SERVICE_SORT_KEYS:
        raise invalid_parameter(f"Sort is invalid: {sort!r}. Expected one of {', '.join(SERVICE_SORT_KEYS)}.")
    return sorted((s for s in services if keep(s)), key=SERVICE_SORT_KEYS[sort], reverse=_descending(query))


def select_instances(svc: Any, query: dict[str, str]) -> list[Any]:
    """ListServiceInstances' filters and order (Sort: StartTime)."""
    instance_type = svc.describe_instance  # the type is per service; describe once per instance

    def keep(inst: Any) -> bool:
        item = instance_type(inst)
        text = (query.get("Filter") or "").lower()
        checks = (
            not text or any(text in str(item[k]).lower() for k in ("InstanceName", "InnerIP", "HostIP", "InstanceType")),
            not query.get("InstanceStatus") or inst.status == query["InstanceStatus"],
            not query.get("InstanceName") or inst.name == query["InstanceName"],
            not query.get("InstanceIP") or inst.inner_ip == query["InstanceIP"],
            not query.get("HostIP") or inst.host_ip == query["HostIP"],
            not query.get("InstanceType") or item["InstanceType"] == query["InstanceType"],
            not query.get("ResourceType") or query["ResourceType"] == "PublicResource",
            not query.get("Role") or query["Role"] == "Standard",
            (query.get("IsSpot") or "").lower() != "true",
        )
        return all(checks)

    sort = query.get("Sort") or "StartTime"
    if sort != "StartTime":
        raise invalid_parameter(f"Sort is invalid: {sort!r}. Expected StartTime.")
    return sorted((i for i in svc.instances if keep(i)), key=lambda i: (i.created_at, i.name), reverse=_descending(query))


def parse_event_time(value: str | None, name: str, *, default: float) -> float:
    """``2006-01-02 15:04:05`` (UTC, the documented format) or ``2006-01-02T15:04:05Z`` → epoch seconds."""
    if not value:
        return default
    text = value.strip().replace("T", " ").rstrip("Z")
    try:
        return float(calendar.timegm(time.strptime(text.split(".")[0], "%Y-%m-%d %H:%M:%S")))
    except ValueError:
        raise invalid_parameter(f"{name} is invalid: {value!r}. Expected yyyy-MM-dd HH:mm:ss (UTC).") from None


def _descending(query: dict[str, str]) -> bool:
    order = (query.get("Order") or "desc").lower()
    if order not in ("asc", "desc"):
        raise invalid_parameter(f"Order is invalid: {order!r}. Expected asc or desc.")
    return order == "desc"


def _int(query: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    return parse_int(name, query.get(name), default, lo, hi, error=invalid_parameter)  # type: ignore[return-value]
