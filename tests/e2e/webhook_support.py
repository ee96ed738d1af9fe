"""Calling the webhook function through localcloud's FC HTTP trigger, signed as CI would sign."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote, urlencode

import requests

from pai_autopilot.ops.signature import Secret, signed_headers

from .conftest import BUCKET, WEBHOOK_KEY_ID, WEBHOOK_SECRET

FUNCTION = "pai-autopilot-webhook"


class Webhook:
    """``call(method, path, body)`` signs and sends; ``send`` sends exactly what it is given."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        self.base = f"{cloud.url}/_fc/{FUNCTION}"
        self.signatures: list[str] = []

    def url(self, path: str, query: dict[str, str] | None = None) -> str:
        return self.base + quote(path) + (f"?{urlencode(query)}" if query else "")

    def headers(self, method: str, path: str, body: bytes = b"", *, query: dict[str, str] | None = None,
                secret: str = WEBHOOK_SECRET, key_id: str = WEBHOOK_KEY_ID, now: float | None = None) -> dict[str, str]:
        headers = signed_headers(Secret(secret), key_id, method, path, body, query=query,
                                 now=time.time() if now is None else now)
        self.signatures.append(headers["X-Autopilot-Signature"])
        return headers

    def send(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
             query: dict[str, str] | None = None, content_type: str = "application/json") -> requests.Response:
        return requests.request(method, self.url(path, query), data=body, headers={"Content-Type": content_type,
                                **(headers or {})}, timeout=60)

    def call(self, method: str, path: str, body: Any = None, *, query: dict[str, str] | None = None,
             accept: str | None = None, content_type: str = "application/json") -> requests.Response:
        raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = self.headers(method, path, raw, query=query)
        if accept:
            headers["Accept"] = accept
        return self.send(method, path, raw, headers, query, content_type)

    def logs(self) -> list[str]:
        return self.cloud.fc.logs(FUNCTION)


def ledger_keys(sdk: Any, prefix: str = ".autopilot/") -> list[str]:
    bucket = sdk.bucket(BUCKET)
    return sorted(o.key for o in bucket.list_objects_v2(prefix=prefix, max_keys=1000).object_list)
