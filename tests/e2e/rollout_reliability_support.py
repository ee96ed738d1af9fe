"""The rollout controller in the reliability suite (issue 14): a localcloud whose functions follow the
driven clock, with the webhook, the alarm callback and notifications on; flows of the ``canary``,
``alarm`` and ``webhook`` functions for :mod:`.reliability_support`'s crash points and invariants.

* :func:`rollout_cloud` — the module-scoped cloud (``cloud`` fixture of the test modules);
* :func:`open_canary` — a canary beside a stable, the rollout opened as model_landed leaves it;
* :func:`canary_minutes` — traffic, a timer tick fired three times side by side, one minute, until a phase;
* :func:`release_counts` — ReleaseService per (service, weight) that reached EAS, from the call log;
* :data:`CANARY_FLOW`, :data:`ALARM_FLOW` — the crash-point flows of ``canary`` and ``alarm``.
"""

from __future__ import annotations

import collections
import json
import time
from typing import Any

import requests
import yaml

from .conftest import BUCKET, ROOT, WEBHOOK_KEY_ID, WEBHOOK_SECRET
from .reliability_support import Call, CallLog, Flow, _service_from_path, _weight, fire_timer, with_retries

START = 1_900_000_020.0
ALARM_TOKEN = "alarm-token-0123456789abcdef"
FAST = {"latency_ms": 1, "sleep_scale": 0}
FAULTY = {**FAST, "error_rate": 0.9}
ALARM_FUNCTION = "pai-autopilot-alarm"


def rollout_cloud(tmp_path_factory: Any, notify_url: str) -> Any:
    """localcloud for rollout flows: functions follow the clock; webhook, alarm callback, notifications on."""
    from localcloud import LocalCloud

    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    # two steps and a one-minute watch window: a flow short enough to rerun once per crash point
    config["pipelines"]["demo"]["rollout"].update(step_weights=[50, 100], min_requests=20, threshold=5,
                                                  watch_window_seconds=60)
    config["notifications"] = [{"type": "webhook", "url_env": "AUTOPILOT_NOTIFY_URL"}]
    path = tmp_path_factory.mktemp("rollout-reliability") / "autopilot.yaml"
    path.write_text(yaml.safe_dump(config))
    cloud = LocalCloud(project_dir=ROOT, retry_delay_scale=0.05, tick_interval=3600, function_env={
        "AUTOPILOT_CONFIG": str(path), "LOCALCLOUD_FOLLOW_CLOCK": "*", "AUTOPILOT_NOTIFY_URL": notify_url,
        "AUTOPILOT_NOTIFY_PER_MINUTE": "10000", "AUTOPILOT_ALARM_TOKEN": ALARM_TOKEN,
        "AUTOPILOT_WEBHOOK_SECRET": WEBHOOK_SECRET, "AUTOPILOT_WEBHOOK_KEY_ID": WEBHOOK_KEY_ID}).start()
    cloud.create_bucket(BUCKET)
    cloud.config_path = str(path)
    return cloud


def runtime(cloud: Any) -> Any:
    """The test's own Runtime on the cloud (its clock), as the functions build theirs."""
    from pai_autopilot.clients import Clients, Credentials
    from pai_autopilot.config import load_config
    from pai_autopilot.runtime import Runtime
    from pai_autopilot.settings import Settings

    shell = {**cloud.env(BUCKET), "AUTOPILOT_CANARY_FUNCTION": "pai-autopilot-canary"}
    settings = Settings.resolve(environ=shell)
    rt = Runtime(settings, load_config(cloud.config_path), Credentials.from_env(shell), now=cloud.clock.now)
    rt.__dict__["clients"] = Clients(settings, Credentials.from_env(shell))
    return rt


def begin(cloud: Any) -> Any:
    """A reset cloud at START (timers re-anchored, the gateway seeded); the test's Runtime."""
    cloud.reset()
    cloud.clock.freeze(START)
    cloud.fc.restart_timers()
    requests.put(f"{cloud.url}/_localcloud/eas/gateway", json={"seed": 3}, timeout=5)
    return runtime(cloud)


def callback_url(cloud: Any) -> str:
    return f"{cloud.url}/_fc/{ALARM_FUNCTION}/v1/cms/alarm?token={ALARM_TOKEN}"


def wire_alarms(cloud: Any, rt: Any) -> None:
    """What `wire` creates: the alarm rules, to the default bus and the form-encoded callback."""
    from pai_autopilot.rollout.alarm_rules import apply_rule, wanted_rules

    for rule in wanted_rules(rt.config, webhook=callback_url(cloud)):
        with_retries(lambda r=rule: apply_rule(rt.clients.cms, r))


def create_service(cloud: Any, rt: Any, name: str, profile: dict[str, Any], weight: int) -> None:
    from alibabacloud_eas20210701 import models

    body = {"metadata": {"name": name, "instance": 1, "group": "demo"}, "containers": [{"image": "i", "port": 8000}],
            "localcloud": {"startup_seconds": 0, **profile}}
    with_retries(lambda: rt.clients.eas.create_service(models.CreateServiceRequest(body=json.dumps(body))))
    cloud.advance(3)
    with_retries(lambda: rt.clients.eas.release_service(
        cloud.region, name, models.ReleaseServiceRequest(weight=weight, traffic_state="grouping")))


def open_canary(cloud: Any, rt: Any, version: str, profile: dict[str, Any], *, stable: tuple[str, str] | None = None) -> str:
    """The canary of ``version`` at 0 beside the stable (``(version, service)``; default v1, created at 100)."""
    from pai_autopilot.rollout.state import RolloutSpec, open_rollout, rollout_id
    from pai_autopilot.serving.stable import record_stable
    from pai_autopilot.training.runs import run_id

    if stable is None:
        stable = ("v1", "demo_model")
        create_service(cloud, rt, "demo_model", FAST, 100)
        record_stable(rt.ledger, "demo", version="v1", service="demo_model", reason="first version")
    create_service(cloud, rt, f"demo_model_{version}", profile, 0)
    spec = RolloutSpec(pipeline="demo", version=version, group="demo", canary_service=f"demo_model_{version}",
                       stable_service=stable[1], stable_version=stable[0])
    open_rollout(rt.ledger, spec, correlation_id=run_id("demo", version))
    return rollout_id("demo", version)


def head(rt: Any, rid: str) -> Any:
    from pai_autopilot.rollout.state import read_head

    return with_retries(lambda: read_head(rt.ledger, "demo", rid))


def traffic(cloud: Any, n: int) -> None:
    with requests.Session() as s:
        for _ in range(n):
            s.post(f"{cloud.url}/api/predict/demo", data=b"{}", timeout=5)


def canary_minutes(cloud: Any, rt: Any, rid: str, until: tuple[str, ...], minutes: int, requests_per_minute: int = 60) -> Any:
    """Minutes of traffic, each with the canary timer's tick fired three times side by side, until the
    rollout's phase is one of ``until`` (or ``minutes`` ran out); the head."""
    for _ in range(minutes):
        current = head(rt, rid)
        if current.state in until:
            return current
        traffic(cloud, requests_per_minute)
        cloud.advance(60)  # the timer's own tick …
        fire_timer(cloud, "canary", copies=2, wait=False)  # … and two more copies of it, at the same clock
        assert cloud.fc.wait_idle(120), cloud.fc.state()
        wait_callbacks(cloud)  # an alarm callback in flight finishes before the clock moves on
    return head(rt, rid)


def release_counts(calls: list[Call]) -> collections.Counter[tuple[str, Any]]:
    """ReleaseService that reached EAS (by a function, not refused by an injected fault), per (service, weight)."""
    return collections.Counter((_service_from_path(c), _weight(c)) for c in calls
                               if c.by_function and c.operation == "ReleaseService" and c.reached_backend and c.status < 400)


def all_calls(calls: CallLog) -> list[Call]:
    with calls._lock:
        return list(calls.calls)


def weights(rt: Any) -> dict[str, int]:
    from alibabacloud_eas20210701 import models

    body = with_retries(lambda: rt.clients.eas.list_services(models.ListServicesRequest(group_name="demo")).body)
    return {s.service_name: (s.weight if s.traffic_state == "grouping" else 0) for s in body.services}


def records(rt: Any, rid: str) -> list[Any]:
    from pai_autopilot.rollout.state import rollout_entity

    return with_retries(lambda: list(rt.ledger.history(rollout_entity("demo", rid))))


def phases(rt: Any, rid: str) -> collections.Counter[str]:
    return collections.Counter(r.state for r in records(rt, rid))


def repost_callback(cloud: Any, copies: int) -> list[tuple[int, dict[str, Any]]]:
    """CloudMonitor's form-encoded callbacks of firing alarms, as delivered (status, answer), each
    posted ``copies`` more times (a callback retried): (status, answer) of every delivery."""
    from localcloud.cms.notify import form_body

    sent = [r for r in cloud.cms.backend.notifier.records() if r.get("webhook") and r["state"] == "ALERT"]
    out = [(r["webhook"]["code"], {}) for r in sent]
    for record in sent:
        for _ in range(copies):
            answer = requests.post(callback_url(cloud), data=form_body(record["fields"]), timeout=30,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
            out.append((answer.status_code, answer.json() if answer.content else {}))
    return out


# -- crash-point flows of canary and alarm -----------------------------------------------------------
def _canary_setup(cloud: Any, sdk: Any) -> None:
    rt = begin(cloud)
    open_canary(cloud, rt, "v2", FAST)


def _canary_run(cloud: Any, sdk: Any) -> None:
    from pai_autopilot.rollout.state import rollout_id

    rt = runtime(cloud)
    canary_minutes(cloud, rt, rollout_id("demo", "v2"), ("succeeded",), minutes=6)


def _alarm_setup(cloud: Any, sdk: Any) -> None:
    from pai_autopilot.rollout.handlers import kick

    rt = begin(cloud)
    wire_alarms(cloud, rt)
    rid = open_canary(cloud, rt, "v5", FAULTY)
    kick(rt, "demo", rid)
    assert cloud.fc.wait_idle(60) and head(rt, rid).data["canary_weight"] == 50


def _alarm_run(cloud: Any, sdk: Any) -> None:
    from pai_autopilot.rollout.state import rollout_id

    rt = runtime(cloud)
    rid = rollout_id("demo", "v5")
    for _ in range(4):
        if head(rt, rid).state == "rolled_back":
            break
        traffic(cloud, 120)
        cloud.advance(60)
        assert cloud.fc.wait_idle(60)
        wait_callbacks(cloud)  # the callback's invocation finishes before the clock moves on


def wait_callbacks(cloud: Any, timeout: float = 30.0) -> None:
    """Until CloudMonitor's queued form-encoded callbacks were posted, and their invocations ran."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [r for r in cloud.cms.backend.notifier.records()
                   if r.get("webhook") and r["webhook"]["status"] in ("queued", "failing")]
        if not pending:
            break
        time.sleep(0.1)
    assert cloud.fc.wait_idle(60)


def _canary_converged(cloud: Any, sdk: Any) -> None:
    from pai_autopilot.rollout.state import rollout_id

    problems = converged(runtime(cloud), rollout_id("demo", "v2"), "succeeded", {"demo_model_v2": 100})
    assert not problems, "\n".join(problems)


def _alarm_converged(cloud: Any, sdk: Any) -> None:
    from pai_autopilot.rollout.state import rollout_id

    rid = rollout_id("demo", "v5")
    problems = converged(runtime(cloud), rid, "rolled_back", {"demo_model": 100, "demo_model_v5": 0})
    assert not problems, "\n".join(problems)


CANARY_FLOW = Flow("rollout_canary", _canary_setup, _canary_run, converged=_canary_converged)
ALARM_FLOW = Flow("rollout_alarm", _alarm_setup, _alarm_run, converged=_alarm_converged)


def converged(rt: Any, rid: str, phase: str, expected: dict[str, int]) -> list[str]:
    """What is wrong with a rollout that should have ended in ``phase`` with these group weights."""
    problems = []
    final = head(rt, rid)
    if final.state != phase:
        problems.append(f"{rid} is {final.state} ({final.data.get('reason')}), not {phase}")
    seen = phases(rt, rid)
    problems += [f"{rid}: {n} {p} records" for p, n in seen.items() if n > 1 and p not in ("holding", "progressing")]
    now = {k: v for k, v in weights(rt).items() if k in expected}
    if now != expected:
        problems.append(f"weights {now}, not {expected}")
    return problems


def doubled_steps(calls: CallLog, since: int = 0) -> list[str]:
    """ReleaseService calls that set a (service, weight) a second time (since call ``since``)."""
    return [f"ReleaseService {k} ×{n}" for k, n in release_counts(all_calls(calls)[since:]).items() if n > 1]
