"""The edge: one WSGI app on one port, routing every request by a declarative table.

* ``/_localcloud/...`` → the control API;
* ``/_fc/<function>/...`` → the function's HTTP trigger (local FC runtime);
* a mounted prefix (:meth:`Edge.mount`, e.g. ``/api/predict/``) → its handler;
* a request with ``x-acs-version`` → the POP product registered for that version (its ACS3
  signature is verified first);
* anything else → OSS (which checks its own signatures and answers in XML).

After a routed call the request's environ names it: ``localcloud.service``,
``localcloud.operation`` and ``localcloud.caller`` (the signing access key id), for
``on_request`` hooks; a successful call by a function instance then goes past the crash faults
(:meth:`~.core.faults.FaultInjector.crash_due`), which may kill that instance (``crash_target``).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from .core import acs3
from .core.credentials import CredentialStore
from .core.errors import ServiceError
from .core.faults import FaultInjector
from .core.pop import error_response

log = logging.getLogger("localcloud.edge")


class Handler(Protocol):
    def handle(self, request: Request) -> Response: ...


class CrashTarget(Protocol):
    """Who can kill the function instance behind an access key (the local FC runtime)."""

    def knows_caller(self, access_key_id: str) -> bool: ...

    def crash_caller(self, access_key_id: str) -> int: ...


class PopHandler(Protocol):
    name: str

    def handle(self, request: Request, action: str | None) -> Response: ...


def raw_path_and_query(environ: Mapping[str, Any]) -> tuple[str, str]:
    """The request path exactly as sent (still percent-encoded) and the raw query string."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    path, _, query = str(raw).partition("?")
    return path, environ.get("QUERY_STRING", query)


class Edge:
    """The WSGI application behind localcloud's single port."""

    def __init__(
        self,
        *,
        oss: Handler,
        pop_services: Mapping[str, PopHandler],
        control: Handler,
        credentials: CredentialStore,
        faults: FaultInjector | None = None,
        functions: Handler | None = None,
        on_request: Callable[[Request, Response], None] | None = None,
        crash_target: CrashTarget | None = None,
    ) -> None:
        self.oss = oss
        self.pop_services = dict(pop_services)
        self.control = control
        self.credentials = credentials
        self.faults = faults or FaultInjector()
        self.functions = functions
        self.mounts: dict[str, Handler] = {}
        self.on_request = on_request
        self.crash_target = crash_target

    def mount(self, prefix: str, handler: Handler) -> None:
        """Serve every request under ``prefix`` (not a POP call) with ``handler`` (e.g. the EAS gateway)."""
        self.mounts[prefix] = handler

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self.dispatch(request)
        self._maybe_crash(request, response)
        if self.on_request is not None:
            self.on_request(request, response)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_localcloud/"):
            return self.control.handle(request)
        if request.path.startswith("/_fc/") and self.functions is not None:
            return self.functions.handle(request)
        for prefix, handler in self.mounts.items():
            if request.path.startswith(prefix) and "x-acs-version" not in request.headers:
                return handler.handle(request)
        version = request.headers.get("x-acs-version")
        if version is None:
            return self.oss.handle(request)
        try:
            service = self.pop_services.get(version)
            if service is None:
                raise ServiceError(
                    "InvalidVersion", f"Specified parameter Version is not valid: {version}", status=400
                )
            raw_path, raw_query = raw_path_and_query(request.environ)
            caller = acs3.verify(
                method=request.method,
                raw_path=raw_path,
                raw_query=raw_query,
                headers=request.headers,
                body=request.get_data(cache=True),
                credentials=self.credentials,
            )
            action = request.headers.get("x-acs-action")
            request.environ.update({"localcloud.service": service.name, "localcloud.operation": action or "*",
                                    "localcloud.caller": caller})
            injected = self.faults.check(service.name, action or "*", request.path)
            if injected is not None:
                raise injected
            return service.handle(request, action)
        except ServiceError as err:
            return error_response(err)
        except Exception:  # an emulator bug must reach the client as a 500, and the log
            log.error("unhandled error in POP request %s %s\n%s", request.method, request.path, traceback.format_exc())
            return error_response(ServiceError("InternalError", "localcloud internal error", status=500))

    def _maybe_crash(self, request: Request, response: Response) -> None:
        """Kill the calling function instance if a crash fault is due for this successful call."""
        target, environ = self.crash_target, request.environ
        caller = environ.get("localcloud.caller")
        if target is None or not caller or response.status_code >= 400 or not target.knows_caller(caller):
            return
        if self.faults.crash_due(environ["localcloud.service"], environ["localcloud.operation"], request.path):
            log.info("crash fault: killing the instance behind %s after %s %s", caller,
                     environ["localcloud.operation"], request.path)
            target.crash_caller(caller)
