"""EAS service groups: created implicitly when a service names one (``metadata.group``), deleted
with their last member, and the traffic split of their shared endpoint.

Traffic rule on the group endpoint: among members whose ``TrafficState`` is ``grouping`` and
that have a ready instance, pick one at random in proportion to its ``Weight`` (ReleaseService);
``Weight = -1`` (meaning unconfirmed) counts as the member's number of running instances — the
older docs' "proportional to instance count" default. Weight 0 takes no traffic.

Example
-------
>>> import random
>>> class M:   # a stand-in for a Service
...     def __init__(self, name, weight): self.name, self.weight, self.traffic_state = name, weight, "grouping"
...     def serves(self): return True
...     def running(self): return [1]
>>> rng = random.Random(7)
>>> picks = [pick_member([M("a", 10), M("b", 90)], rng).name for _ in range(1000)]
>>> 50 < picks.count("a") < 150
True
>>> pick_member([M("a", 0)], rng) is None
True
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from typing import Any

from .exceptions import group_not_found
from .queries import page_of
from .services import Service, iso, new_token


@dataclasses.dataclass
class Group:
    name: str
    region: str
    access_token: str
    created_at: float
    updated_at: float

    @classmethod
    def create(cls, name: str, *, region: str, now: float) -> Group:
        return cls(name=name, region=region, access_token=new_token(), created_at=now, updated_at=now)

    def endpoint(self, base_url: str) -> str:
        return f"{base_url}/api/predict/{self.name}"

    def describe(self, base_url: str) -> dict[str, Any]:
        """The ``Group`` object (DescribeGroup body, ListGroups ``Groups[]``).

        ``TrafficMode`` values are unconfirmed; localcloud always reports ``weight``.
        """
        return {
            "Name": self.name, "ClusterId": self.region, "TrafficMode": "weight", "QueueService": "",
            "InternetEndpoint": self.endpoint(base_url), "IntranetEndpoint": self.endpoint(base_url),
            "AccessToken": self.access_token, "CreateTime": iso(self.created_at), "UpdateTime": iso(self.updated_at),
        }


def traffic_weight(member: Any) -> int:
    """A member's share of group traffic (0 when it takes none)."""
    if member.traffic_state != "grouping" or not member.serves():
        return 0
    if member.weight < 0:
        return len(member.running())
    return int(member.weight)


def pick_member(members: Sequence[Any], rng: random.Random) -> Any | None:
    """A weighted random member, or ``None`` when no member takes traffic."""
    weights = [traffic_weight(m) for m in members]
    total = sum(weights)
    if total <= 0:
        return None
    point = rng.random() * total
    for member, weight in zip(members, weights, strict=True):
        point -= weight
        if weight and point < 0:
            return member
    return next(m for m, w in zip(reversed(members), reversed(weights), strict=True) if w)


class GroupOps:
    """Group operations of :class:`~localcloud.eas.models.EasBackend` (a mixin; the backend
    provides ``lock``, ``region``, ``services``, ``groups`` and ``sync``)."""

    lock: Any
    region: str
    services: dict[str, Service]
    groups: dict[str, Group]

    def sync(self, now: float | None = None) -> float:  # pragma: no cover - EasBackend's
        raise NotImplementedError

    def _move(self, svc: Service, group: str | None, now: float) -> None:
        if group == svc.group:
            return
        svc.group = group
        svc.traffic_state = "grouping" if group else "standalone"
        if group and group not in self.groups:
            self.groups[group] = Group.create(group, region=self.region, now=now)

    def members(self, group: str) -> list[Service]:
        with self.lock:
            return sorted((s for s in self.services.values() if s.group == group), key=lambda s: s.name)

    def describe_group(self, cluster_id: str, name: str) -> Group:
        self.sync()
        with self.lock:
            group = self.groups.get(name) if cluster_id == self.region else None
        if group is None:
            raise group_not_found(name)
        return group

    def list_groups(self, query: dict[str, str]) -> tuple[list[Group], int, int, int]:
        self.sync()
        with self.lock:
            groups = sorted(self.groups.values(), key=lambda g: g.name)
            wanted = query.get("Filter") or ""
            workspace = query.get("WorkspaceId") or ""
            selected = [
                g for g in groups
                if wanted.lower() in g.name.lower()
                and (not workspace or any(s.workspace_id == workspace for s in self.members(g.name)))
            ]
        page, number, size = page_of(selected, query, "PageNumber", "PageSize", default_size=100)
        return page, len(selected), number, size

