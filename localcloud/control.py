"""The control API under ``/_localcloud/``: health, reset, state, clock, faults, FC inspection.

=============================================== ============================================
route                                           what it does
=============================================== ============================================
``GET  /_localcloud/health``                    ``{"status": "ok", "services": [...]}``
``POST /_localcloud/reset``                     forget every resource, object, fault and
                                                invocation (standing buckets stay, empty;
                                                ``{"all": true}``: those too); answers
                                                ``buckets_removed`` when any were
``GET  /_localcloud/state``                     every service's state as JSON
``GET  /_localcloud/clock``                     the clock; ``POST`` ``{"freeze": t|null}``,
                                                ``{"advance": seconds}`` or ``{"unfreeze": true}``
``GET  /_localcloud/faults``                    active request faults; ``POST`` a fault
                                                (fields of :class:`~.core.faults.Fault`);
                                                ``DELETE`` all, or ``DELETE …/faults/<id>``
``GET  /_localcloud/delivery``                  delivery faults; ``POST`` ``{"duplicate": 1.0,
                                                "reorder_window": 2, "delay": 0, "drop": 0}``
``GET  /_localcloud/fc/invocations``            the local FC runtime's invocation records
``GET  /_localcloud/fc/dead-letters``           invocations that exhausted their retries
``GET  /_localcloud/fc/logs/<function>``        the function's captured log lines
``*    /_localcloud/<service>/…``                 a service's own controls (its ``control``
                                                method: ``(method, path, body) -> (status, data)``)
=============================================== ============================================

Errors are ``{"Code", "Message"}`` with a 4xx status and name the offending value.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from .core.faults import DeliveryFaults, Fault

if TYPE_CHECKING:
    from .cloud import LocalCloud


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, default=str), status=status, content_type="application/json")


def _bad(message: str, status: int = 400) -> Response:
    return _json({"Code": "InvalidRequest" if status == 400 else "NotFound", "Message": message}, status)


def _body(request: Request) -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    if body is None and request.get_data():
        raise ValueError("the body is not JSON")
    if body is not None and not isinstance(body, dict):
        raise ValueError(f"the body must be a JSON object, got {type(body).__name__}")
    return body or {}


def _build(cls: type, body: dict[str, Any]) -> Any:
    fields = {f.name for f in dataclasses.fields(cls)} - {"id", "hits"}
    unknown = sorted(set(body) - fields)
    if unknown:
        raise ValueError(f"unknown field(s) {unknown}; allowed: {sorted(fields)}")
    try:
        return cls(**body)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


class ControlApi:
    """Serves ``/_localcloud/*`` for one :class:`~localcloud.cloud.LocalCloud`."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud

    def handle(self, request: Request) -> Response:
        path = request.path.removeprefix("/_localcloud").rstrip("/")
        try:
            return self._route(request.method, path, request)
        except ValueError as exc:
            return _bad(str(exc))

    def _route(self, method: str, path: str, request: Request) -> Response:
        cloud = self.cloud
        if (method, path) == ("GET", "/health"):
            return _json({"status": "ok", "services": cloud.service_names(), "region": cloud.region})
        if (method, path) == ("POST", "/reset"):
            removed = cloud.reset(everything=bool(_body(request).get("all")))["buckets_removed"]
            return _json({"reset": True, **({"buckets_removed": removed} if removed else {})})
        if (method, path) == ("GET", "/state"):
            return _json(cloud.state())
        if path == "/clock":
            return self._clock(method, request)
        if path == "/faults" or path.startswith("/faults/"):
            return self._faults(method, path, request)
        if path == "/delivery":
            if method == "POST":
                cloud.delivery = _build(DeliveryFaults, _body(request))
            return _json(dataclasses.asdict(cloud.delivery))
        if path.startswith("/fc/") and method == "GET":
            return self._fc(path)
        name, _, rest = path.lstrip("/").partition("/")
        service = cloud.services.get(name)
        if service is not None and hasattr(service, "control"):
            status, data = service.control(method, "/" + rest, _body(request) if method in ("POST", "PUT") else {})
            return _json(data, status)
        return _bad(f"no control route {method} {request.path}", 404)

    def _clock(self, method: str, request: Request) -> Response:
        clock = self.cloud.clock
        if method == "POST":
            body = _body(request)
            if "freeze" in body:
                clock.freeze(body["freeze"])
            if body.get("advance"):
                seconds = float(body["advance"])
                if seconds < 0:
                    raise ValueError(f"advance must be >= 0 seconds, got {seconds}")
                self.cloud.advance(seconds)
            if body.get("unfreeze"):
                clock.unfreeze()
        return _json(clock.state())

    def _faults(self, method: str, path: str, request: Request) -> Response:
        faults = self.cloud.faults
        if method == "GET":
            return _json(faults.list())
        if method == "POST" and path == "/faults":
            fault = _build(Fault, _body(request))
            known = ["*", *(name for name in self.cloud.service_names() if name != "fc")]
            if fault.service not in known:
                return _bad(f"no service {fault.service!r} to inject faults into; known: {', '.join(known)}", 400)
            fault_id = faults.add(fault)
            return _json({"id": fault_id, "faults": faults.list()})
        if method == "DELETE" and path == "/faults":
            faults.clear()
            return _json({"faults": []})
        if method == "DELETE":
            raw = path.removeprefix("/faults/")
            if not raw.isdigit() or not faults.remove(int(raw)):
                return _bad(f"no fault {raw!r}", 404)
            return _json({"faults": faults.list()})
        return _bad(f"no control route {method} /_localcloud{path}", 404)

    def _fc(self, path: str) -> Response:
        fc = self.cloud.fc
        if fc is None:
            return _bad("this localcloud runs no functions (start it with a project that has s.yaml)", 404)
        if path == "/fc/invocations":
            return _json(fc.invocation_records())
        if path == "/fc/dead-letters":
            return _json(fc.dead_letters())
        if path.startswith("/fc/logs/"):
            try:  # the FC name or the s.yaml resource name, as `local invoke` accepts
                function = fc.resolve(path.removeprefix("/fc/logs/")).name
            except KeyError as exc:
                return _bad(exc.args[0], 404)
            return _json(fc.logs(function))
        return _bad(f"no control route GET /_localcloud{path}", 404)
