"""Autoscaler operations of :class:`~localcloud.eas.models.EasBackend` (a mixin): the four
Create/Update/Describe/DeleteServiceAutoScaler calls and the periodic scaling decision.

Metrics: ``qps`` is measured from the gateway's rows in ``cloud.requests`` over the last
minute, per instance; ``cpu`` and ``gpu[util]`` are the newest sample seeded with
``cloud.timeline.add("acs_pai_eas", "cpu", <service>, at=t, value=percent)`` (0 without one).
"""

from __future__ import annotations

from typing import Any

from .autoscaler import AutoScaler
from .exceptions import autoscaler_exists, autoscaler_not_found, invalid_status
from .services import Service

TIMELINE_NAMESPACE = "acs_pai_eas"
QPS_WINDOW = 60.0


class ScalingOps:
    """Mixed into EasBackend, which provides ``service``, ``lock``, ``clock``, ``requests``, ``timeline``."""

    lock: Any
    clock: Any
    requests: Any
    timeline: Any

    def service(self, cluster_id: str, name: str) -> Service:  # pragma: no cover - EasBackend's
        raise NotImplementedError

    def _autoscale(self, svc: Service, now: float) -> None:
        assert svc.autoscaler is not None
        wanted = svc.autoscaler.evaluate(now, current=svc.replicas, measure=lambda m, other: self._measure(svc, m, other, now))
        if wanted is not None and wanted != svc.replicas:
            before = svc.replicas
            svc.scale_to(wanted, now)
            svc.event(now, "Scaling", f"Autoscaler scales the service from {before} to {wanted} instance(s)")
            svc.advance(now)

    def _measure(self, svc: Service, metric: str, other: str | None, now: float) -> float:
        target = other or svc.name
        if metric == "qps":
            rows = self.requests.window(target, start=now - QPS_WINDOW, end=now)
            return len(rows) / QPS_WINDOW / max(svc.replicas, 1)
        sample = self.timeline.latest(TIMELINE_NAMESPACE, metric, target, at=now)
        return sample.value if sample is not None else 0.0

    def create_autoscaler(self, cluster_id: str, name: str, body: Any) -> Service:
        scaler = AutoScaler.parse(body)
        svc = self.service(cluster_id, name)
        with self.lock:
            if svc.autoscaler is not None:
                raise autoscaler_exists(name)
            if svc.phase == "Deleting":
                raise invalid_status(name, svc.status, "autoscale")
            svc.autoscaler = scaler
            self._clamp(svc)
            return svc

    def update_autoscaler(self, cluster_id: str, name: str, body: Any) -> Service:
        scaler = AutoScaler.parse(body)
        svc = self.service(cluster_id, name)
        with self.lock:
            if svc.autoscaler is None:
                raise autoscaler_not_found(name)
            svc.autoscaler.replace_config(scaler)
            self._clamp(svc)
            return svc

    def describe_autoscaler(self, cluster_id: str, name: str) -> tuple[Service, AutoScaler]:
        svc = self.service(cluster_id, name)
        with self.lock:
            if svc.autoscaler is None:
                raise autoscaler_not_found(name)
            now = self.clock.now()
            svc.autoscaler.observe(lambda m, other: self._measure(svc, m, other, now))
            return svc, svc.autoscaler

    def delete_autoscaler(self, cluster_id: str, name: str) -> Service:
        svc = self.service(cluster_id, name)
        with self.lock:
            if svc.autoscaler is None:
                raise autoscaler_not_found(name)
            svc.autoscaler = None
            return svc

    def _clamp(self, svc: Service) -> None:
        assert svc.autoscaler is not None
        replicas = svc.autoscaler.clamp(svc.replicas)
        if replicas != svc.replicas and svc.phase == "Active":
            now = self.clock.now()
            svc.event(now, "Scaling", f"Autoscaler bounds move the service to {replicas} instance(s)")
            svc.scale_to(replicas, now)
            svc.advance(now)
        svc.replicas = replicas

