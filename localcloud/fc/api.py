"""The Function Compute 3.0 API (2023-03-30) on the edge: ``InvokeFunction``, sync and async.

``POST /2023-03-30/functions/{functionName}/invocations`` (ROA, signed ACS3 like every POP
call; the edge verifies it), raw body = the event. Headers (``InvokeFunctionHeaders`` of
``alibabacloud_fc20230330``): ``x-fc-invocation-type`` ``Sync`` (default) | ``Async``,
``x-fc-async-task-id`` (an idempotency id for async tasks), ``x-fc-log-type``.

* **Async**: the event joins the function's queue in the local FC runtime (FC's async retry
  semantics, the function's ``asyncInvokeConfig``); the answer is **202** with an empty body
  and ``x-fc-request-id``. A repeated ``x-fc-async-task-id`` is accepted again without a second
  invocation (ASSUMED: FC documents the id as idempotent; its exact answer is unconfirmed).
* **Sync**: runs the function in a fresh instance and answers 200 with its result as the body
  (JSON for a dict/list, the text for a str). A function error is still 200, with
  ``x-fc-error-type: UnhandledInvocationError`` and ``{"errorMessage", "errorType"}`` as body
  (FC 3.0's behaviour for a handler that raised).
* Errors are POP JSON: ``FunctionNotFound`` 404 (the name is the **FC function name**, e.g.
  ``pai-autopilot-canary``), ``InvalidArgument`` 400 for a bad invocation type or qualifier.

Example
-------
>>> route_function("/2023-03-30/functions/pai-autopilot-canary/invocations")
'pai-autopilot-canary'
>>> route_function("/2023-03-30/functions") is None
True
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from ..core.errors import ServiceError

_INVOKE = re.compile(r"^/2023-03-30/functions/([^/]+)/invocations/?$")
INVOCATION_TYPES = ("Sync", "Async")


def route_function(path: str) -> str | None:
    """The function name of an InvokeFunction path, or None."""
    found = _INVOKE.match(path)
    return unquote(found.group(1)) if found else None


class FcApiService:
    """FC 3.0's InvokeFunction, served by a :class:`~.runtime.FcRuntime`."""

    name = "fc"
    version = "2023-03-30"

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self._tasks: dict[str, str] = {}
        self.invocations: list[dict[str, Any]] = []

    def handle(self, request: Request, action: str | None) -> Response:
        function = route_function(request.path)
        if request.method != "POST" or function is None or action not in (None, "InvokeFunction"):
            raise ServiceError("InvalidAction.NotFound", f"Specified api is not found: {action or request.method} "
                               f"{request.path} (localcloud's FC emulates InvokeFunction only)", status=404)
        if function not in self.runtime.functions:
            known = ", ".join(sorted(self.runtime.functions)) or "none"
            raise ServiceError("FunctionNotFound", f"function '{function}' does not exist; known: {known}", status=404)
        qualifier = request.args.get("qualifier") or "LATEST"
        if qualifier != "LATEST":
            raise ServiceError("InvalidArgument", f"qualifier {qualifier!r}: localcloud has only LATEST", status=400)
        kind = request.headers.get("x-fc-invocation-type") or "Sync"
        if kind not in INVOCATION_TYPES:
            raise ServiceError("InvalidArgument", f"x-fc-invocation-type must be Sync or Async, got {kind!r}", status=400)
        event = request.get_data(cache=True)
        if kind == "Async":
            return self._async(function, event, request.headers.get("x-fc-async-task-id"))
        return self._sync(function, event)

    def _async(self, function: str, event: bytes, task_id: str | None) -> Response:
        key = f"{function}/{task_id}" if task_id else None
        if key is not None and key in self._tasks:
            request_id = self._tasks[key]
        else:
            request_id = self.runtime.invoke_async(function, event, source="api:InvokeFunction")
            if key is not None:
                self._tasks[key] = request_id
            self.invocations.append({"function": function, "type": "Async", "request_id": request_id, "task_id": task_id})
        return Response(b"", status=202, headers={"x-fc-request-id": request_id})

    def _sync(self, function: str, event: bytes) -> Response:
        request_id = str(uuid.uuid4())
        self.invocations.append({"function": function, "type": "Sync", "request_id": request_id})
        result = self.runtime.invoke_sync(function, event)
        headers = {"x-fc-request-id": request_id}
        if not result.ok:
            headers["x-fc-error-type"] = "UnhandledInvocationError"
            body = json.dumps({"errorMessage": result.error, "errorType": result.error_type})
            return Response(body, status=200, content_type="application/json", headers=headers)
        value = result.result
        if isinstance(value, str):
            return Response(value, status=200, content_type="text/plain; charset=utf-8", headers=headers)
        return Response(json.dumps(value), status=200, content_type="application/json", headers=headers)

    def reset(self) -> None:
        self._tasks.clear()
        self.invocations.clear()

    def state(self) -> dict[str, Any]:
        return {"invocations": list(self.invocations)}
