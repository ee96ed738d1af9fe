"""Message bodies and signed URLs for each chat platform (pure; no I/O).

* DingTalk custom robot: ``{"msgtype": "markdown", …}``; signed by appending
  ``timestamp`` (ms) and ``sign`` = urlencode(base64(HMAC-SHA256(secret, "<ts>\\n<secret>"))).
* WeCom group robot: ``{"msgtype": "markdown", "markdown": {"content": …}}`` (no signature).
* Lark/Feishu custom bot: ``{"msg_type": "text", …}``; signed in the body with ``timestamp``
  (seconds) and ``sign`` = base64(HMAC-SHA256(key="<ts>\\n<secret>", msg=b"")).
* generic webhook: the notification as JSON.

Example
-------
>>> n = Notification("run_succeeded", "Run ap-demo-v1 succeeded", {"job_id": "dlc1"})
>>> url, body = render("wecom", "https://example.invalid/hook", n, secret=None, now=0)
>>> body["msgtype"], "dlc1" in body["markdown"]["content"]
('markdown', True)
>>> url, _ = render("dingtalk", "https://example.invalid/robot?access_token=t", n, secret="s", now=1700000000)
>>> url.split("&")[1:]
['timestamp=1700000000000', 'sign=izNUYw3bO0KxsDYzYMDR365t%2BvMgZSe8PyS8sv7esqs%3D']
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
from typing import Any
from urllib.parse import quote_plus


@dataclasses.dataclass(frozen=True)
class Notification:
    """What happened: an event name (``run_started``, …), a one-line title, details, and — for a notice
    delivered at least once, whose resend must be recognisable — an ``id`` the same on every send
    (a ``webhook`` target receives it; chat targets show people the message, not the id)."""

    event: str
    title: str
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    id: str | None = None

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        lines += [f"- **{key}**: {value}" for key, value in self.details.items()]
        return "\n".join(lines)

    def text(self) -> str:
        return "\n".join([self.title, *(f"{k}: {v}" for k, v in self.details.items())])


def _hmac_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def render(kind: str, url: str, n: Notification, *, secret: str | None, now: float) -> tuple[str, dict[str, Any]]:
    """The URL to POST to and the JSON body, for ``kind`` (dingtalk, wecom, lark, webhook)."""
    if kind == "dingtalk":
        body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": n.title, "text": n.markdown()}}
        if secret:
            ts = int(now * 1000)
            sign = quote_plus(_hmac_b64(secret.encode(), f"{ts}\n{secret}".encode()))
            url = f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}"
        return url, body
    if kind == "wecom":
        return url, {"msgtype": "markdown", "markdown": {"content": n.markdown()}}
    if kind == "lark":
        body = {"msg_type": "text", "content": {"text": n.text()}}
        if secret:
            ts = int(now)
            body.update(timestamp=str(ts), sign=_hmac_b64(f"{ts}\n{secret}".encode(), b""))
        return url, body
    if kind == "webhook":
        return url, {"event": n.event, "title": n.title, "details": n.details, **({"id": n.id} if n.id else {})}
    raise ValueError(f"unknown notification type {kind!r}; expected dingtalk, wecom, lark or webhook")
