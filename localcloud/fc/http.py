"""HTTP triggers: a request on the edge's ``/_fc/<function>/…`` becomes FC 3.0's event (v1),
and the handler's ``{statusCode, headers, body, isBase64Encoded}`` becomes the response.

Example
-------
>>> from werkzeug.test import EnvironBuilder
>>> req = Request(EnvironBuilder(path="/_fc/hook/v1/retrain?a=1", method="POST", json={"x": 1}).get_environ())
>>> event = http_event(req, function="hook", account_id="1", region="cn-hangzhou", request_id="r1")
>>> event["rawPath"], event["requestContext"]["http"]["method"], event["isBase64Encoded"], event["queryParameters"]
('/v1/retrain', 'POST', False, {'a': '1'})
>>> r = http_response({"statusCode": 202, "headers": {"X-A": "1"}, "body": "ok", "isBase64Encoded": False})
>>> r.status_code, r.get_data(as_text=True), r.headers["X-A"]
(202, 'ok', '1')
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

PREFIX = "/_fc/"
_TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml")


def split_path(raw_path: str) -> tuple[str, str]:
    """``/_fc/<function>/rest?q`` → (function, ``/rest``) from the still-encoded path."""
    rest = raw_path[len(PREFIX) :].split("?", 1)[0]
    function, _, tail = rest.partition("/")
    return unquote(function), "/" + tail


def http_event(request: Request, *, function: str, account_id: str, region: str, request_id: str) -> dict[str, Any]:
    """FC 3.0's HTTP trigger event for ``request`` (headers and query values comma-joined)."""
    from ..edge import raw_path_and_query

    raw, _ = raw_path_and_query(request.environ)
    _, raw_path = split_path(raw)
    body = request.get_data(cache=True)
    content_type = (request.headers.get("Content-Type") or "").lower()
    textual = not body or content_type.startswith(_TEXT_TYPES)
    try:
        text = body.decode("utf-8") if textual else None
    except UnicodeDecodeError:
        text = None
    now = time.time()
    return {
        "version": "v1",
        "rawPath": raw_path,
        "body": text if text is not None else base64.b64encode(body).decode(),
        "isBase64Encoded": text is None,
        "headers": {k: ",".join(request.headers.getlist(k)) for k in dict(request.headers)},
        "queryParameters": {k: ",".join(v) for k, v in request.args.lists()},
        "requestContext": {
            "accountId": account_id,
            "domainName": f"{function}.{region}.fcapp.run",
            "domainPrefix": function,
            "http": {
                "method": request.method,
                "path": unquote(raw_path),
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": request_id,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "timeEpoch": str(int(now * 1000)),
        },
    }


def http_response(result: Any) -> Response:
    """Map the handler's return value to the HTTP response FC would send."""
    if isinstance(result, str):
        try:
            result = json.loads(result)
        except ValueError:
            return Response(result, status=200, content_type="text/plain; charset=utf-8")
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response(json.dumps(result), status=200, content_type="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    response = Response(data, status=int(result["statusCode"]))
    for key, value in (result.get("headers") or {}).items():
        response.headers[key] = str(value)
    return response


def error_response(error_type: str | None, message: str | None, request_id: str) -> Response:
    """An unhandled function error, as FC answers it: 502 with the error in JSON."""
    body = {"errorMessage": message or "", "errorType": error_type or "UnhandledInvocationError"}
    return Response(
        json.dumps(body), status=502, content_type="application/json",
        headers={"x-fc-error-type": "UnhandledInvocationError", "x-fc-request-id": request_id},
    )
