"""The rollout's outside checks: the pre-traffic smoke request and the signed external webhooks.

* :func:`smoke` — one request to the canary's **own** endpoint (not the group's) with its
  access token, before any weight (CodeDeploy's BeforeAllowTraffic, Flagger's pre-rollout):
  it passes when the answer's status is ``smoke.expect_status``.
* :func:`call_webhook` — a POST of :func:`webhook_payload` as JSON to the URL in the webhook's
  ``url_env``, signed when ``secret_env`` is set: ``X-Autopilot-Timestamp: <unix seconds>`` and
  ``X-Autopilot-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`` (the
  webhook route's scheme). A 2xx passes; anything else (status, timeout, refused) does not.

Neither the token, the URL nor the secret ever appears in a :class:`~.lifecycle.Check`'s detail
(it goes into records and notifications): the detail says only what happened.

Example
-------
>>> sign(b'{}', secret='k', timestamp=1)[:7]
'sha256='
>>> webhook_payload({"pipeline": "demo", "version": "v2", "stable_version": "v1", "rollout_id": "ro-1",
...                  "canary_weight": 50}, phase="progressing", kind="confirm_promotion")["versions"]
{'canary': 'v2', 'stable': 'v1'}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from .lifecycle import Check


def sign(body: bytes, *, secret: str, timestamp: int) -> str:
    """The ``X-Autopilot-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _request(url: str, *, method: str, body: bytes, headers: dict[str, str], timeout: float) -> Check:
    request = urllib.request.Request(url, data=body if method != "GET" else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URLs)
            return Check(True, f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        return Check(False, f"HTTP {exc.code}")
    except TimeoutError:
        return Check(False, f"no answer within {timeout:g} s")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check(False, f"unreachable ({type(reason).__name__})")


def smoke(rt: Any, service: str, config: Any) -> Check:
    """The smoke request of ``rollout.smoke`` to ``service``'s own endpoint."""
    from .traffic import describe

    body = describe(rt, service)
    if body is None:
        return Check(False, f"service {service} does not exist")
    endpoint = body.internet_endpoint or body.intranet_endpoint
    if not endpoint:
        return Check(False, f"service {service} has no endpoint yet")
    headers = {"Content-Type": "application/json"}
    if body.access_token:
        headers["Authorization"] = body.access_token
    check = _request(endpoint.rstrip("/") + config.path, method=config.method, body=config.body.encode(),
                     headers=headers, timeout=config.timeout_seconds)
    if check.detail == f"HTTP {config.expect_status}":
        return Check(True, check.detail)
    return Check(False, f"{check.detail}, expected HTTP {config.expect_status}")


def webhook_payload(data: Mapping[str, Any], *, phase: str, kind: str) -> dict[str, Any]:
    """What a webhook receives: the pipeline, the versions, the phase, the weight and the last gate values."""
    return {
        "type": kind, "pipeline": data.get("pipeline"), "rollout_id": data.get("rollout_id"), "phase": phase,
        "versions": {"canary": data.get("version"), "stable": data.get("stable_version")},
        "services": {"canary": data.get("canary_service"), "stable": data.get("stable_service")},
        "canary_weight": data.get("canary_weight"), "last_gate": data.get("last_gate"),
    }


def call_webhook(hook: Any, payload: Mapping[str, Any], *, environ: Mapping[str, str] | None = None,
                 now: float | None = None) -> Check:
    """POST ``payload`` to the webhook ``hook`` (a ``RolloutWebhook``); a 2xx passes."""
    env = os.environ if environ is None else environ
    url = env.get(hook.url_env)
    if not url:
        return Check(False, f"{hook.url_env} is unset")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if hook.secret_env:
        secret = env.get(hook.secret_env)
        if not secret:
            return Check(False, f"{hook.secret_env} is unset")
        ts = int(time.time() if now is None else now)
        headers["X-Autopilot-Timestamp"] = str(ts)
        headers["X-Autopilot-Signature"] = sign(body, secret=secret, timestamp=ts)
    return _request(url, method="POST", body=body, headers=headers, timeout=hook.timeout_seconds)
