"""ListInstances: filters, sorting and paging.

* **[C]** ``Labels`` arrives as a JSON object string (``{"team": "cv"}``), ``Tag`` as a JSON
  list string of ``{Key, Value}``; ``ResourceId`` empty lists the pay-as-you-go instances only,
  ``ALL`` lists every instance; ``SortBy`` is ``Priority``, ``GmtCreateTime`` or
  ``GmtModifiedTime``; ``Order`` ``ASC``/``DESC``; Min/Max CPU and GPU in thousandths
  (1000 = one), memory in GB.
* **[A]** ``InstanceName`` matches as a case-insensitive substring; ``ImageName`` too;
  ``Labels`` and ``Tag`` must all match; defaults ``SortBy=GmtCreateTime``, ``Order=DESC``,
  ``PageNumber=1``, ``PageSize=20`` (1-1000).

Example
-------
>>> _labels_filter('{"team": "cv"}')
{'team': 'cv'}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..core.pop import parse_int, parse_json_map
from .exceptions import validation
from .instance import STATUSES, Instance
from .times import parse_iso

SORT_KEYS: dict[str, Callable[[Instance], Any]] = {
    "Priority": lambda i: (i.spec.get("Priority") or 0, i.created_at, i.instance_id),
    "GmtCreateTime": lambda i: (i.created_at, i.instance_id),
    "GmtModifiedTime": lambda i: (i.modified_at, i.instance_id),
}
DEFAULT_PAGE_SIZE = 20


def select_instances(instances: list[Instance], query: dict[str, Any]) -> tuple[list[Instance], int]:
    """The page of instances matching ``query`` and how many matched in all."""
    status = query.get("Status")
    if status and status not in STATUSES:
        raise validation(f"Status is invalid: {status!r}. Expected one of {', '.join(STATUSES)}.")
    labels = _labels_filter(query.get("Labels"))
    tags = _tag_filter(query.get("Tag"))
    after = parse_iso(query["CreateTimeAfter"], "CreateTimeAfter") if query.get("CreateTimeAfter") else None
    before = parse_iso(query["CreateTimeBefore"], "CreateTimeBefore") if query.get("CreateTimeBefore") else None
    ranges = [
        (_number(query, f"{side}{name}"), side, getter)
        for name, getter in (("Cpu", _cpu), ("Gpu", _gpu), ("Memory", _memory), ("GpuMemory", _gpu_memory))
        for side in ("Min", "Max")
    ]

    def keep(inst: Instance) -> bool:
        spec = inst.spec
        resource_id = query.get("ResourceId") or ""
        checks = (
            not query.get("WorkspaceId") or spec.get("WorkspaceId") == query["WorkspaceId"],
            not status or inst.status == status,
            not query.get("InstanceName") or query["InstanceName"].lower() in inst.name.lower(),
            not query.get("InstanceId") or inst.instance_id == query["InstanceId"],
            resource_id == "ALL" or (spec.get("ResourceId") or "") == resource_id,
            not query.get("AcceleratorType") or inst.accelerator_type == query["AcceleratorType"].upper(),
            not query.get("PaymentType") or _payment(inst) == query["PaymentType"],
            not query.get("GpuType") or (spec.get("RequestedResource") or {}).get("GPUType") == query["GpuType"],
            not query.get("ImageName") or query["ImageName"].lower() in str(spec.get("ImageUrl") or "").lower(),
            not query.get("Accessibility") or (spec.get("Accessibility") or "PRIVATE") == query["Accessibility"],
            not query.get("CreateUserId") or (spec.get("UserId") or "") == query["CreateUserId"],
            after is None or inst.created_at >= after,
            before is None or inst.created_at <= before,
            all(inst.labels.get(k) == v for k, v in labels.items()),
            all(t in inst.tags for t in tags),
            all(_within(getter(inst), bound, side) for bound, side, getter in ranges),
        )
        return all(checks)

    selected = [inst for inst in instances if keep(inst)]
    sort_by = query.get("SortBy") or "GmtCreateTime"
    if sort_by not in SORT_KEYS:
        raise validation(f"SortBy is invalid: {sort_by!r}. Expected one of {', '.join(SORT_KEYS)}.")
    order = str(query.get("Order") or "DESC").upper()
    if order not in ("ASC", "DESC"):
        raise validation(f"Order is invalid: {query.get('Order')!r}. Expected ASC or DESC.")
    selected.sort(key=SORT_KEYS[sort_by], reverse=order == "DESC")
    page = _page(query, "PageNumber", 1, 10**6)
    size = _page(query, "PageSize", DEFAULT_PAGE_SIZE, 1000)
    return selected[(page - 1) * size : page * size], len(selected)


def _labels_filter(raw: Any) -> dict[str, str]:
    return parse_json_map("Labels", raw, error=validation)


def _tag_filter(raw: Any) -> list[dict[str, str]]:
    if not raw:
        return []
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise validation(f"Tag must be a JSON list string of {{Key, Value}}, got {raw!r}.") from None
    if not isinstance(value, list) or not all(isinstance(t, dict) and "Key" in t for t in value):
        raise validation(f"Tag must be a JSON list string of {{Key, Value}}, got {raw!r}.")
    return [{"Key": str(t["Key"]), "Value": str(t.get("Value") or "")} for t in value]


def _payment(inst: Instance) -> str:
    return "Subscription" if inst.spec.get("ResourceId") else "PayAsYouGo"


def _resource(inst: Instance, key: str) -> float:
    try:
        raw = str((inst.spec.get("RequestedResource") or {}).get(key) or 0).lower()
        return float(raw.removesuffix("gi").removesuffix("gb"))
    except (TypeError, ValueError):
        return 0.0


def _cpu(inst: Instance) -> float:
    return _resource(inst, "CPU") * 1000


def _gpu(inst: Instance) -> float:
    return _resource(inst, "GPU") * 1000


def _memory(inst: Instance) -> float:
    return _resource(inst, "Memory")


def _gpu_memory(inst: Instance) -> float:
    return _resource(inst, "GPUMemory")


def _within(value: float, bound: float | None, side: str) -> bool:
    if bound is None:
        return True
    return value >= bound if side == "Min" else value <= bound


def _number(query: dict[str, Any], name: str) -> float | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        return float(str(raw).lower().removesuffix("gi").removesuffix("gb"))
    except ValueError:
        raise validation(f"{name} must be a number, got {raw!r}.") from None


def _page(query: dict[str, Any], name: str, default: int, hi: int) -> int:
    return parse_int(name, query.get(name), default, 1, hi, error=validation)  # type: ignore[return-value]
