"""The EAS inference gateway: ``/api/predict/<service-or-group>[/…]`` on localcloud's edge.

* ``/api/predict/<group>`` splits traffic among the group's members (see :mod:`.groups`);
  a group name wins over a service of the same name; ``/api/predict/<group>.<service>``
  reaches one member directly; ``/api/predict/<service>`` reaches a service;
* the chosen service answers per the behaviour profile of a random ready instance's version
  (so a rolling update serves both versions for a while): a real sleep for the sampled latency
  (scaled and capped by the profile), then ``error_status`` at ``error_rate``, else 200 and the
  profile's ``body`` (default ``{"service", "version", "instance"}`` as JSON);
* a service with no ready instance (Creating, Waiting, Stopping, Stopped, Deleting, Failed)
  answers 503; an unknown name 404; a group with no member taking traffic 503;
* auth: EAS clients send ``Authorization: <AccessToken>``. It is only checked when the profile
  says ``require_token`` (then the service's token, or the group's token on the group endpoint,
  is required, bare or as ``Bearer <token>``; otherwise 401);
* every request that reaches a service is recorded in ``cloud.requests`` under the **service**
  name (status, sampled latency in ms, clock time of arrival) — CloudMonitor's source. 404s and
  group-level 503s (no member chosen) are not recorded;
* a service with a traffic mirror (:mod:`.mirrors`) copies ``Ratio`` % of the requests it
  answers to its targets: each copy is a row under the target's name, its answer discarded.

Responses carry ``x-localcloud-service`` / ``x-localcloud-instance`` headers (not EAS's).

Example
-------
>>> from localcloud.core.clock import Clock
>>> from werkzeug.test import EnvironBuilder
>>> from werkzeug.wrappers import Request
>>> from .models import EasBackend
>>> clock = Clock(); clock.freeze(0)
>>> eas = EasBackend(clock=clock, region="cn-hangzhou", account_id="1")
>>> _ = eas.create_service({"metadata": {"name": "demo"}, "localcloud": {"latency_ms": 0}}, {})
>>> gateway = InferenceGateway(eas, seed=1)
>>> def call(path): return gateway.handle(Request(EnvironBuilder(path=path, method="POST").get_environ()))
>>> call("/api/predict/demo").status_code      # still Creating
503
>>> clock.advance(10); call("/api/predict/demo").get_json()["service"]
'demo'
>>> [(r.status, r.latency_ms) for r in eas.requests.window("demo", start=0, end=10)]
[(503, 0.0), (200, 0.0)]
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from .groups import pick_member
from .models import EasBackend

PREFIX = "/api/predict/"


class InferenceGateway:
    """Serves ``/api/predict/…`` for one :class:`EasBackend` (mount it on the edge)."""

    def __init__(self, backend: EasBackend, *, seed: int | None = None, sleep: Callable[[float], Any] = time.sleep) -> None:
        self.backend = backend
        self.sleep = sleep
        self._rng = random.Random(seed)

    def reseed(self, seed: int | None) -> None:
        """Make traffic splits and error draws reproducible (for sequential requests)."""
        with self.backend.lock:
            self._rng = random.Random(seed)

    def handle(self, request: Request) -> Response:
        target = unquote(request.path[len(PREFIX):].partition("/")[0]) if request.path.startswith(PREFIX) else ""
        if not target:
            return _text(404, "no service in the path: use /api/predict/<service-or-group>")
        backend = self.backend
        kind, found = backend.resolve(target)
        at = backend.clock.now()
        if kind == "none":
            return _text(404, f"service or group [{target}] does not exist")
        token = _token(request.headers.get("Authorization"))
        with backend.lock:
            if kind == "group":
                svc = pick_member(found, self._rng)
                if svc is None:
                    return _text(503, f"no service of group [{target}] takes traffic (grouping, weight > 0, running)")
                tokens = {svc.access_token, backend.groups[target].access_token} if target in backend.groups else {svc.access_token}
            else:
                svc, tokens = found, {found.access_token}
            name, status_name = svc.name, svc.status
            running = svc.running() if svc.serves() else []
            if not running:
                backend.requests.record(name, at=at, status=503, latency_ms=0.0)
                return _text(503, f"service [{name}] is not running (status {status_name})", service=name)
            instance = self._rng.choice(running)
            profile = svc.profile(instance.version)
            version = instance.version
            if profile.require_token and token not in tokens:
                backend.requests.record(name, at=at, status=401, latency_ms=0.0)
                return _text(401, "Authorization failed: send the service's AccessToken in the Authorization header",
                             service=name)
            status, latency = profile.decide(self._rng)
            backend.mirror_copies(name, self._rng, at=at)
        self.sleep(profile.sleep_seconds(latency))
        backend.requests.record(name, at=at, status=status, latency_ms=round(latency, 3))
        headers = {"x-localcloud-service": name, "x-localcloud-instance": instance.name}
        if status >= 400:
            return _text(status, f"[localcloud] service [{name}] answered {status} (its profile's error_rate)", **headers)
        body = profile.body
        if body is None:
            body = {"service": name, "version": version, "instance": instance.name}
        if isinstance(body, str):
            return Response(body, status=200, content_type=profile.content_type or "text/plain; charset=utf-8", headers=headers)
        return Response(json.dumps(body, ensure_ascii=False), status=200,
                        content_type=profile.content_type or "application/json", headers=headers)


def _token(header: str | None) -> str:
    value = (header or "").strip()
    return value[7:].strip() if value.lower().startswith("bearer ") else value


def _text(status: int, message: str, service: str | None = None, **headers: str) -> Response:
    if service is not None:
        headers["x-localcloud-service"] = service
    return Response(message, status=status, content_type="text/plain; charset=utf-8", headers=headers)
