"""The POP (Alibaba Cloud OpenAPI) wire protocol: request parsing and JSON responses.

A POP service declares a routing table of :class:`Route` (action, method, path template)
and implements one ``snake_case`` method per action on its responses class. The edge verifies
the ACS3 signature before the service sees the request.

Example
-------
>>> route = Route("GetJob", "GET", "/api/v1/jobs/{JobId}")
>>> route.match("GET", "/api/v1/jobs/dlc-123")
{'JobId': 'dlc-123'}
>>> snake("ListJobs")
'list_jobs'
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote

from werkzeug.wrappers import Request, Response

from .errors import ServiceError


def snake(action: str) -> str:
    """``CreateJob`` → ``create_job``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


class Route:
    """One ROA operation: the action name, HTTP method and path template with ``{Params}``."""

    def __init__(self, action: str, method: str, template: str) -> None:
        self.action = action
        self.method = method
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self._regex = re.compile(f"^{pattern}/?$")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self._regex.match(path)
        if found is None:
            return None
        return {k: unquote(v) for k, v in found.groupdict().items()}


class PopRequest:
    """A parsed POP call: action, path params, query params and JSON or form body."""

    def __init__(self, request: Request, action: str, path_params: dict[str, str]) -> None:
        self.request = request
        self.action = action
        self.path_params = path_params
        self.query: dict[str, str] = dict(parse_qsl(request.environ.get("QUERY_STRING", ""), keep_blank_values=True))
        self.body_bytes = request.get_data(cache=True)
        self.form: dict[str, str] = {}
        self.json: Any = None
        content_type = (request.headers.get("Content-Type") or "").lower()
        if self.body_bytes and "x-www-form-urlencoded" in content_type:
            self.form = dict(parse_qsl(self.body_bytes.decode("utf-8"), keep_blank_values=True))
        elif self.body_bytes:
            try:
                self.json = json.loads(self.body_bytes.decode("utf-8"))
            except ValueError:
                raise ServiceError("InvalidParameter", "The request body is not valid JSON.", status=400) from None

    def param(self, name: str, default: Any = None) -> Any:
        """A parameter by name from path, query, form or JSON body, in that order."""
        for source in (self.path_params, self.query, self.form):
            if name in source:
                return source[name]
        if isinstance(self.json, dict) and name in self.json:
            return self.json[name]
        return default


def parse_bool(value: Any, default: bool | None = None) -> bool | None:
    """POP booleans arrive as ``True``/``False``/``true``; parse them case-insensitively."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    lowered = str(value).lower()
    if lowered in {"true", "1"}:
        return True
    if lowered in {"false", "0"}:
        return False
    raise ServiceError("InvalidParameter", f"Expected a boolean, got {value!r}.", status=400)


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameter", message, status=400)


def parse_int(
    name: str, value: Any, default: int | None = None, lo: int | None = None, hi: int | None = None,
    *, error: Callable[[str], ServiceError] = _invalid,
) -> int | None:
    """An integer parameter within ``[lo, hi]``; ``error`` builds the service's own error.

    Example
    -------
    >>> parse_int("PageSize", "20", 10, 1, 100), parse_int("PageSize", None, 10, 1, 100)
    (20, 10)
    >>> parse_int("PageSize", "0", 10, 1, 100)
    Traceback (most recent call last):
    ...
    localcloud.core.errors.ServiceError: InvalidParameter: PageSize must be within [1, 100], got 0.
    """
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise error(f"{name} must be an integer, got {value!r}.") from None
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise error(f"{name} must be within [{lo}, {hi}], got {number}.")
    return number


def parse_json_map(name: str, value: Any, *, error: Callable[[str], ServiceError] = _invalid) -> dict[str, str]:
    """A "shrink" parameter: a JSON object sent as a string (``Tags``, ``Labels``); ``{}`` if absent.

    Example
    -------
    >>> parse_json_map("Tags", '{"run": "a"}')
    {'run': 'a'}
    """
    if not value:
        return {}
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise error(f"{name} must be a JSON object string, got {value!r}.")
    return {str(k): str(v) for k, v in parsed.items()}


def json_response(data: dict[str, Any], *, status: int = 200, request_id: str | None = None) -> Response:
    body = {"RequestId": request_id or new_request_id(), **data}
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json;charset=utf-8",
        headers={"x-acs-request-id": body["RequestId"]},
    )


def error_response(error: ServiceError, *, host: str = "localcloud") -> Response:
    request_id = new_request_id()
    body = {
        "RequestId": request_id,
        "HostId": host,
        "Code": error.code,
        "Message": error.message,
        "Recommend": "https://api.aliyun.com/troubleshoot?q=" + error.code,
        **error.extra,
    }
    headers = {"x-acs-request-id": request_id, **error.headers}
    return Response(
        json.dumps(body, ensure_ascii=False), status=error.status,
        content_type="application/json;charset=utf-8", headers=headers,
    )


class PopService:
    """Base of a POP service: match a route, then call ``responses.<snake_case(action)>``.

    Subclasses set ``name``, ``version``, ``routes`` and ``responses`` (an object with one
    method per action taking a :class:`PopRequest` and returning a dict).
    """

    name: str = ""
    version: str = ""
    routes: Iterable[Route] = ()
    responses: Any = None

    def handle(self, request: Request, action: str | None) -> Response:
        path = request.path
        method = request.method
        route_params: dict[str, str] | None = None
        matched_action = None
        for route in self.routes:
            if action is not None and route.action != action:
                continue
            params = route.match(method, path)
            if params is not None:
                route_params, matched_action = params, route.action
                break
        if matched_action is None:
            name = action or f"{method} {path}"
            raise ServiceError(
                "InvalidAction.NotFound", f"Specified api is not found, please check your url and method: {name}",
                status=404,
            )
        handler: Callable[[PopRequest], dict[str, Any]] = getattr(self.responses, snake(matched_action))
        result = handler(PopRequest(request, matched_action, route_params or {}))
        return json_response(result)
