"""The control API under ``/_localcloud/``: health, reset, state dump, clock, FC inspection.

=========================================== ================================================
route                                       what it does
=========================================== ================================================
``GET  /_localcloud/health``                ``{"status": "ok", "services": [...]}``
``POST /_localcloud/reset``                 forget every resource, object and invocation
``GET  /_localcloud/state``                 every service's state as JSON
``GET  /_localcloud/clock``                 the clock; ``POST`` with ``{"freeze": t|null}``,
                                            ``{"advance": seconds}`` or ``{"unfreeze": true}``
``GET  /_localcloud/fc/invocations``        the local FC runtime's invocation records
``GET  /_localcloud/fc/dead-letters``       invocations that exhausted their retries
=========================================== ================================================
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from .cloud import LocalCloud


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, default=str), status=status, content_type="application/json")


class ControlApi:
    """Serves ``/_localcloud/*`` for one :class:`~localcloud.cloud.LocalCloud`."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud

    def handle(self, request: Request) -> Response:
        route = (request.method, request.path.removeprefix("/_localcloud").rstrip("/"))
        cloud = self.cloud
        if route == ("GET", "/health"):
            return _json({"status": "ok", "services": cloud.service_names(), "region": cloud.region})
        if route == ("POST", "/reset"):
            cloud.reset()
            return _json({"reset": True})
        if route == ("GET", "/state"):
            return _json(cloud.state())
        if route[1] == "/clock":
            if request.method == "POST":
                body = request.get_json(force=True, silent=True) or {}
                if "freeze" in body:
                    cloud.clock.freeze(body["freeze"])
                if body.get("advance"):
                    cloud.advance(float(body["advance"]))
                if body.get("unfreeze"):
                    cloud.clock.unfreeze()
            return _json(cloud.clock.state())
        if cloud.fc is not None and route == ("GET", "/fc/invocations"):
            return _json(cloud.fc.invocation_records())
        if cloud.fc is not None and route == ("GET", "/fc/dead-letters"):
            return _json(cloud.fc.dead_letters())
        return _json({"Code": "NotFound", "Message": f"no control route {request.method} {request.path}"}, 404)
