"""Per-function cases of ``cold_start.py``: for every function in ``functions/``, the cheapest event its
deployed trigger delivers that it ignores or refuses, its action path where that is cheap to set up
against localcloud, and the SDKs a handler with module-level clients would import up front (the
eager baseline). Plus :func:`overhead`: the handler's own time per handled event, SDK/HTTP split out
as in ``bench/serving.py``.

Three localclouds, so an "ignored" case really finds nothing and an action case really finds work:

* ``demo`` — the one ``cold_start.py`` always ran (markers land here each round, so runs open);
* ``idle`` — an empty bucket and no notebook: the timers of ``reconcile``, ``canary`` and
  ``dsw_governor`` find nothing open;
* ``busy`` — one open rollout (``demo`` v1 stable, v2 canary, set up in-process before the rounds)
  and three running notebooks in the configured workspace.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "bench-webhook-secret-0123456789abcdef"
ALARM_TOKEN = "bench-alarm-token"
WORKSPACE = "12345"  # autopilot.yaml's workspace.id

_OSS, _TEA = "oss2", "alibabacloud_tea_openapi.client"
_DLC, _EAS = "alibabacloud_pai_dlc20201203.client", "alibabacloud_eas20210701.client"
_CMS, _FC = "alibabacloud_cms20190101.client", "alibabacloud_fc20230330.client"
_DSW = "alibabacloud_pai_dsw20220101.client"
#: what each function's clients need: the eager baseline imports these before the handler
EAGER = {
    "dataset_landed": (_OSS, _TEA, _DLC), "job_events": (_OSS, _TEA, _DLC), "reconcile": (_OSS, _TEA, _DLC, _EAS),
    "model_landed": (_OSS, _TEA, _EAS, _FC), "canary": (_OSS, _TEA, _EAS, _CMS), "alarm": (_OSS, _TEA, _EAS, _CMS),
    "webhook": (_OSS, _TEA, _DLC, _EAS), "dsw_governor": (_OSS, _TEA, _DSW),
}


def sample(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / name).read_text())


def timer(name: str, payload: str) -> bytes:
    return json.dumps({"triggerTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "triggerName": name,
                       "payload": payload}).encode()


def alarm_without_token() -> bytes:
    """CloudMonitor's form callback through the HTTP trigger, without ``?token=`` (→ 403)."""
    event = sample("httpCmsAlarmForm.json")
    event["queryParameters"] = {}
    return json.dumps(event).encode()


def alarm_no_rollout(n: int) -> bytes:
    """The EventBridge CloudMonitor alarm sample on a service in no rollout, a distinct time per round
    (else the second delivery is a duplicate): claim + handled records, a notification, nothing else."""
    event = sample("eventbridgeCmsAlarm.json")
    event["id"] = f"bench-alarm-{n}-{time.time_ns()}"
    event["data"] = {**event["data"], "timestamp": str(int(time.time() * 1000) + n),
                     "dimensions": "{serviceName=nobody_v9, userId=1234567890123456}"}
    return json.dumps(event).encode()


def webhook_unsigned() -> bytes:
    """The signed-scheme sample with its four signature headers stripped (→ 401 before routing)."""
    event = sample("httpWebhookSigned.json")
    event["headers"] = {k: v for k, v in event["headers"].items() if not k.startswith("X-Autopilot-")}
    return json.dumps(event).encode()


def webhook_status() -> bytes:
    """``GET /v1/status`` signed with the real scheme (fresh nonce, current time)."""
    from pai_autopilot.ops.signature import Secret, signed_headers

    event = sample("httpWebhookSigned.json")
    headers = signed_headers(Secret(WEBHOOK_SECRET), "default", "GET", "/v1/status", now=time.time())
    event.update(rawPath="/v1/status", body="", queryParameters={},
                 headers={"Accept": "application/json", "User-Agent": "bench", **headers})
    event["requestContext"]["http"].update(method="GET", path="/v1/status")
    return json.dumps(event).encode()


def model_marker(data: Any, pipeline: str, version: str, accuracy: float, bucket: str) -> bytes:
    from cold_start import oss_event

    prefix = f"models/{pipeline}/{version}/"
    data.put_object(prefix + "model.pt", b"w")
    data.put_object(prefix + "metrics.json", json.dumps({"metrics": {"accuracy": accuracy, "loss": 0.4}}).encode())
    data.put_object(prefix + "_SUCCESS", b"")
    return oss_event(bucket, prefix + "_SUCCESS")


def cases(bucket: str, data: Any) -> dict[str, dict[str, tuple[str, Callable[[int], bytes]]]]:
    """``{function: {kind: (cloud, event for round n)}}``; kind ``ignored`` / ``action``. The
    ``dataset_landed`` and ``job_events`` ignored cases, and dataset_landed's action, are the
    legacy scenarios of ``cold_start.py`` (measured there, reused)."""
    from cold_start import oss_event

    dlc = json.dumps(sample("eventbridgeDlcJobStatus.json")).encode()
    return {
        "job_events": {"action": ("demo", lambda n: dlc)},
        "reconcile": {"ignored": ("idle", lambda n: timer("reconcile", '{"task": "reconcile"}')),
                      "action": ("demo", lambda n: timer("reconcile", '{"task": "reconcile"}'))},
        "model_landed": {"ignored": ("demo", lambda n: oss_event(bucket, "models/other/v1/_SUCCESS")),
                         "action": ("demo", lambda n: model_marker(data, "demo", f"b{n:03d}-{time.time_ns()}", 0.8, bucket))},
        "canary": {"ignored": ("idle", lambda n: json.dumps(sample("timerCanary.json")).encode()),
                   "action": ("busy", lambda n: json.dumps(sample("timerCanary.json")).encode())},
        "alarm": {"ignored": ("idle", lambda n: alarm_without_token()),
                  "action": ("idle", alarm_no_rollout)},
        "webhook": {"ignored": ("idle", lambda n: webhook_unsigned()), "action": ("demo", lambda n: webhook_status())},
        "dsw_governor": {"ignored": ("idle", lambda n: json.dumps(sample("timerDswGovernor.json")).encode()),
                         "action": ("busy", lambda n: json.dumps(sample("timerDswGovernor.json")).encode())},
    }


def extra_env() -> dict[str, str]:
    return {"AUTOPILOT_WEBHOOK_SECRET": WEBHOOK_SECRET, "AUTOPILOT_ALARM_TOKEN": ALARM_TOKEN}


def prepare_busy(cloud: Any, bucket: str, config: Path) -> dict[str, Any]:
    """One open rollout (v1 stable, v2 canary) and three running notebooks; not timed."""
    import oss2

    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
    from pai_autopilot.clients import Credentials
    from pai_autopilot.config import load_config
    from pai_autopilot.runtime import Runtime
    from pai_autopilot.serving.landed import on_model_event
    from pai_autopilot.serving.watch import serving_pass
    from pai_autopilot.settings import Settings

    cloud.oss.create_bucket(bucket)
    env = {**cloud.env(bucket), "AUTOPILOT_CONFIG": str(config), "AUTOPILOT_LOG_LEVEL": "WARNING", **extra_env()}
    settings, credentials = Settings.resolve(environ=env), Credentials.from_env(env)
    data = oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), cloud.url, bucket)
    ctx = type("Ctx", (), {"request_id": "bench-setup"})()
    first = on_model_event(model_marker(data, "demo", "v1", 0.8, bucket), ctx, settings=settings, credentials=credentials)
    cloud.advance(12)
    serving_pass(Runtime(settings, load_config(config), credentials, request_id="bench-setup"))
    second = on_model_event(model_marker(data, "demo", "v2", 0.9, bucket), ctx, settings=settings, credentials=credentials)
    for i in range(3):
        cloud.dsw.backend.create_instance({"InstanceName": f"nb_{i}", "EcsSpec": "ecs.g6.large", "ImageUrl": "img:1",
                                          "WorkspaceId": WORKSPACE, "UserId": f"u{i}"})
    cloud.advance(10)
    return {"v1": first.get("outcome"), "v2": second.get("outcome")}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {k: round(statistics.median(r[k] for r in rows), 1) for k in ("import_ms", "invoke_ms", "total_ms")}
    outcomes = sorted({str(r["outcome"]) for r in rows})
    return out | {"outcome": outcomes[0] if len(outcomes) == 1 else outcomes, "sdk_modules_loaded": rows[0]["sdk_modules"]}


# -- the handler's own overhead per handled event (in-process, warm) --------------------------------


def instrument() -> tuple[Any, Any, Any]:
    """Timers around HTTP (``Session.send`` + body reads) and every SDK call (oss2.Bucket, the Tea clients)."""
    import importlib

    import oss2
    import requests
    import urllib3
    from training import Timer

    http, sdk, sends = Timer(), Timer(), Timer()
    for cls, name in ((requests.Session, "send"), (urllib3.response.HTTPResponse, "read")):
        setattr(cls, name, sdk.wrap(http.wrap(getattr(cls, name))))
    requests.Session.send = sends.wrap(requests.Session.send)
    classes = [oss2.Bucket] + [importlib.import_module(m).Client for m in (_DLC, _EAS, _CMS, _FC, _DSW)]
    for cls in classes:  # Tea clients send through darabonba/aiohttp-free sync HTTP: their methods are the SDK
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and callable(value):
                setattr(cls, name, sdk.wrap(value))
    return http, sdk, sends


def overhead(env: dict[str, str], events: int) -> dict[str, Any]:
    """canary (tick, one open rollout), alarm (EventBridge alarm, service in no rollout: claim, notify,
    handled), webhook (signed ``GET /v1/status``), dsw_governor (tick, three notebooks): ``events``
    each after one warm-up, in this process against the ``busy`` localcloud."""
    import importlib
    import os

    from pai_autopilot import settings

    os.environ.update(env)
    settings._current.clear()  # resolved from this process's environment before: resolve again
    http, sdk, sends = instrument()
    plan = {"canary": lambda n: json.dumps(sample("timerCanary.json")).encode(), "alarm": alarm_no_rollout,
            "webhook": lambda n: webhook_status(),
            "dsw_governor": lambda n: json.dumps(sample("timerDswGovernor.json")).encode()}
    out: dict[str, Any] = {}
    for module, make in plan.items():
        handler = importlib.import_module(f"functions.{module}").handler
        rows, outcomes = [], set()
        for n in range(events + 1):
            event = make(n)
            ctx = type("Ctx", (), {"request_id": f"bench-{module}-{n}"})()
            h0, s0, c0, t0 = http.seconds, sdk.seconds, sends.calls, time.perf_counter()
            result = handler(event, ctx)
            total = time.perf_counter() - t0
            outcomes.add(str(result.get("outcome", f"HTTP {result.get('statusCode')}")))
            if n:  # the first is the warm-up (imports, clients, pools)
                rows.append({"total_ms": total * 1e3, "sdk_ms": (sdk.seconds - s0) * 1e3,
                             "http_ms": (http.seconds - h0) * 1e3, "requests": sends.calls - c0})
        total = [r["total_ms"] for r in rows]
        out[module] = {"events": len(rows), "outcomes": sorted(outcomes),
                       "total_ms_median": round(statistics.median(total), 2),
                       "sdk_ms_median": round(statistics.median(r["sdk_ms"] for r in rows), 2),
                       "http_ms_median": round(statistics.median(r["http_ms"] for r in rows), 2),
                       "overhead_ms_median": round(statistics.median(r["total_ms"] - r["sdk_ms"] for r in rows), 2),
                       "overhead_fraction": round(sum(r["total_ms"] - r["sdk_ms"] for r in rows) / sum(total), 3),
                       "http_requests_median": statistics.median(r["requests"] for r in rows)}
    return out
