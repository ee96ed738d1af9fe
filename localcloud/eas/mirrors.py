"""EAS traffic mirroring: Create/Describe/Update/DeleteServiceMirror and what the gateway does with it.

A mirror belongs to a **source** service: ``Ratio`` % (0-100) of the requests that reach the
source (through its own endpoint or its group's) are copied to every ``Target`` service; the
copies' answers are discarded. On localcloud a copy is answered by the target's behaviour
profile like any request (a row in ``cloud.requests`` under the target's name, so CloudMonitor
sees the target's mirrored traffic), without a real sleep and without touching the caller's
response.

Wire shapes (``alibabacloud_eas20210701`` models): Create/Update take ``{"Ratio": int,
"Target": [service names]}`` and answer ``{RequestId, Message}``; Describe answers
``{RequestId, ServiceName, Ratio, Target}`` with ``Ratio`` and ``Target`` typed **str** in the
SDK. ASSUMED (no public example): ``Target`` is rendered comma-separated; the error codes below.

=============================== ====== ==========================================================
``InvalidMirror.NotFound``      404    *assumed*: Describe/Update/Delete of a service with no mirror
``InvalidMirror.AlreadyExists`` 409    *assumed*: Create on a service that has one
``InvalidParameter``            400    Ratio outside 0-100, no or unknown Target, a self-mirror
=============================== ====== ==========================================================

Example
-------
>>> m = Mirror(source="demo", ratio=30, targets=("demo_v2",))
>>> m.describe()
{'ServiceName': 'demo', 'Ratio': '30', 'Target': 'demo_v2'}
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from ..core.errors import ServiceError
from .exceptions import invalid_parameter


@dataclasses.dataclass(frozen=True)
class Mirror:
    """One service's mirror: ``ratio`` % of its requests copied to ``targets``."""

    source: str
    ratio: int
    targets: tuple[str, ...]

    def describe(self) -> dict[str, Any]:
        return {"ServiceName": self.source, "Ratio": str(self.ratio), "Target": ",".join(self.targets)}


def mirror_not_found(name: str) -> ServiceError:
    return ServiceError("InvalidMirror.NotFound", f"Service [{name}] has no traffic mirror.", status=404)


def mirror_exists(name: str) -> ServiceError:
    return ServiceError("InvalidMirror.AlreadyExists", f"Service [{name}] already has a traffic mirror; "
                        "update it with UpdateServiceMirror.", status=409)


class MirrorOps:
    """Mixed into :class:`~.models.EasBackend` (which owns ``mirrors``, ``services``, ``lock``)."""

    mirrors: dict[str, Mirror]

    def _mirror_body(self, name: str, body: Any, *, partial: bool, current: Mirror | None = None) -> Mirror:
        body = body if isinstance(body, dict) else {}
        ratio = body.get("Ratio", current.ratio if current else None)
        targets = body.get("Target", list(current.targets) if current else None)
        if isinstance(ratio, bool) or not isinstance(ratio, int) or not 0 <= ratio <= 100:
            raise invalid_parameter(f"Ratio must be an integer within [0, 100], got {ratio!r}.")
        if isinstance(targets, str):
            targets = [t for t in targets.split(",") if t]
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
            raise invalid_parameter(f"Target must be a non-empty list of service names, got {targets!r}.")
        for target in targets:
            if target == name:
                raise invalid_parameter(f"Service [{name}] cannot mirror its traffic to itself.")
            if target not in self.services:  # type: ignore[attr-defined]
                raise invalid_parameter(f"Target service [{target}] does not exist.")
        return Mirror(source=name, ratio=ratio, targets=tuple(dict.fromkeys(targets)))

    def create_mirror(self, cluster_id: str, name: str, body: Any) -> Mirror:
        svc = self.service(cluster_id, name)  # type: ignore[attr-defined]
        with self.lock:  # type: ignore[attr-defined]
            if svc.name in self.mirrors:
                raise mirror_exists(svc.name)
            mirror = self._mirror_body(svc.name, body, partial=False)
            self.mirrors[svc.name] = mirror
            return mirror

    def describe_mirror(self, cluster_id: str, name: str) -> Mirror:
        svc = self.service(cluster_id, name)  # type: ignore[attr-defined]
        with self.lock:  # type: ignore[attr-defined]
            mirror = self.mirrors.get(svc.name)
            if mirror is None:
                raise mirror_not_found(svc.name)
            return mirror

    def update_mirror(self, cluster_id: str, name: str, body: Any) -> Mirror:
        current = self.describe_mirror(cluster_id, name)
        with self.lock:  # type: ignore[attr-defined]
            mirror = self._mirror_body(current.source, body, partial=True, current=current)
            self.mirrors[current.source] = mirror
            return mirror

    def delete_mirror(self, cluster_id: str, name: str) -> Mirror:
        current = self.describe_mirror(cluster_id, name)
        with self.lock:  # type: ignore[attr-defined]
            return self.mirrors.pop(current.source)

    def forget_mirrors_of(self, name: str) -> None:
        """A deleted service neither mirrors nor is mirrored to."""
        self.mirrors.pop(name, None)
        for source, mirror in list(self.mirrors.items()):
            if name in mirror.targets:
                rest = tuple(t for t in mirror.targets if t != name)
                if rest:
                    self.mirrors[source] = dataclasses.replace(mirror, targets=rest)
                else:
                    del self.mirrors[source]

    def mirror_copies(self, source: str, rng: random.Random, *, at: float) -> None:
        """Copy one request that ``source`` served to its mirror targets (call under the lock)."""
        mirror = self.mirrors.get(source)
        if mirror is None or mirror.ratio <= 0 or rng.random() * 100 >= mirror.ratio:
            return
        for target in mirror.targets:
            svc = self.services.get(target)  # type: ignore[attr-defined]
            if svc is None:
                continue
            running = svc.running() if svc.serves() else []
            if not running:
                self.requests.record(target, at=at, status=503, latency_ms=0.0)  # type: ignore[attr-defined]
                continue
            status, latency = svc.profile(rng.choice(running).version).decide(rng)
            self.requests.record(target, at=at, status=status, latency_ms=round(latency, 3))  # type: ignore[attr-defined]
