"""The rollout controller under 20 % request faults and crash points (issue 14): ``canary`` (every tick
fired three times side by side) and ``alarm`` (every CloudMonitor alarm delivered three times, on the bus
and by the HTTP callback) converge, each weight step reaches EAS once, one rollout per version, nothing
lost; what exhausted its retries is dead-lettered whole. The harness: rollout_reliability_support.py."""

from __future__ import annotations

import json

import pytest

from localcloud.core.faults import DeliveryFaults, Fault

from .reliability_support import CallLog, check_invariants, crash_every_point
from .rollout_reliability_support import (
    ALARM_FLOW,
    CANARY_FLOW,
    FAST,
    FAULTY,
    all_calls,
    begin,
    canary_minutes,
    converged,
    open_canary,
    phases,
    release_counts,
    repost_callback,
    rollout_cloud,
    wait_callbacks,
    wire_alarms,
)

TWENTY_PERCENT = {"service": "*", "operation": "*", "throttle_rate": 0.10, "error_rate": 0.112, "latency_ms": 15,
                  "retry_after_ms": 50}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, _notices):
    cloud = rollout_cloud(tmp_path_factory, _notices[1])
    yield cloud
    cloud.stop()


@pytest.fixture
def calls(cloud):
    log = CallLog(cloud).install()
    yield log
    log.uninstall()


@pytest.fixture
def sdk(cloud):
    from .rollout_reliability_support import runtime

    return runtime(cloud).clients


def test_under_twenty_percent_faults_a_canary_is_promoted_and_another_rolled_back_by_its_alarm(cloud, sdk, calls):
    rt = begin(cloud)
    wire_alarms(cloud, rt)
    v2 = open_canary(cloud, rt, "v2", FAST)
    calls.clear()
    fault = cloud.faults.add(Fault(**TWENTY_PERCENT))
    final = canary_minutes(cloud, rt, v2, ("succeeded",), minutes=8)
    promoted_calls = len(all_calls(calls))
    # v3 replaces v2 and fails: its alarm, delivered three times on the bus, and by the callback three times
    hits = cloud.faults.list()[0]["hits"]
    cloud.faults.remove(fault)  # the test's own setup of v3 (in process) is not under test
    v3 = open_canary(cloud, rt, "v3", FAULTY, stable=("v2", "demo_model_v2"))
    cloud.faults.add(Fault(**TWENTY_PERCENT))
    cloud.delivery = DeliveryFaults(duplicate=1.0, extra_copies=2, reorder_window=0.3)
    canary_minutes(cloud, rt, v3, ("rolled_back",), minutes=5)
    wait_callbacks(cloud)
    reposted = repost_callback(cloud, copies=2)
    assert cloud.fc.wait_idle(120)
    hits += sum(f["hits"] for f in cloud.faults.list())
    cloud.faults.clear()
    cloud.delivery = DeliveryFaults()
    for letter in cloud.fc.dead_letters():  # what exhausted its retries is there whole
        assert letter["attempts"] == 3 and json.loads(letter["event"]), letter
    problems = converged(rt, v2, "succeeded", {"demo_model_v2": 100}) if final.state == "succeeded" else [
        f"v2 stuck at {final.state} ({final.data.get('reason')})"]
    problems += converged(rt, v3, "rolled_back", {"demo_model_v2": 100, "demo_model_v3": 0})
    v2_steps = release_counts(all_calls(calls)[:promoted_calls])
    v3_steps = release_counts(all_calls(calls)[promoted_calls:])
    problems += [f"v2 phase: ReleaseService {k} ×{n}" for k, n in v2_steps.items() if n > 1]
    problems += [f"v3 phase: ReleaseService {k} ×{n}" for k, n in v3_steps.items() if n > 1]
    assert not problems, "\n".join(problems + [str(phases(rt, v2)), str(phases(rt, v3)),
                                               str([(d["function"], d["error"]) for d in cloud.fc.dead_letters()])])
    assert {("demo_model_v2", w) for w in (50, 100)} <= set(v2_steps), v2_steps
    assert head_by(rt, v3).startswith("alarm:"), head_by(rt, v3)
    alarms = cloud.fc.invocation_records("pai-autopilot-alarm")
    assert len(alarms) >= 3 and len(alarms) % 3 == 0, [(a["source"], a["status"]) for a in alarms]
    # the callback: delivered by CloudMonitor (200), then twice more: answered, a no-op, or (a fault met on the
    # way) a retryable 503 `unavailable` that CloudMonitor sends again
    assert reposted and all(status in (200, 503) for status, _ in reposted), reposted
    assert all(answer.get("outcome") in ("noop", "applied", None) for status, answer in reposted if status == 200), reposted
    assert all((answer.get("error") or {}).get("code", "unavailable") == "unavailable" for status, answer in reposted if status == 503), reposted
    check_invariants(cloud, sdk, calls, allow_dead=True)
    assert hits >= 20, f"only {hits} injected faults"


def head_by(rt, rid: str) -> str:
    from .rollout_reliability_support import head

    return head(rt, rid).by or ""


@pytest.mark.parametrize("flow", [CANARY_FLOW, ALARM_FLOW], ids=lambda f: f.name)
def test_a_crash_after_each_side_effect_of_canary_and_alarm_no_duplicate_and_the_retry_converges(cloud, sdk, calls, flow):
    points, failures, missed = crash_every_point(cloud, sdk, calls, flow)
    assert points and not failures, "\n".join(failures)
    assert len(missed) <= len(points) // 4, f"{len(missed)} of {len(points)} crash points did not recur: {missed}"



def _command(cloud, action: str, reason: str, *, raw: tuple[bytes, dict] | None = None):
    """A signed rollout command (signed on the functions' clock); the (status, body, signed request)."""
    from .webhook_support import Webhook

    hook = Webhook(cloud)
    path = f"/v1/rollouts/demo/{action}"
    body, headers = raw or (json.dumps({"reason": reason}).encode(), None)
    headers = headers or hook.headers("POST", path, body, now=cloud.clock.now())
    answer = hook.send("POST", path, body, headers)
    return answer.status_code, answer.json(), (body, headers)


def test_webhook_commands_three_times_side_by_side_are_applied_and_recorded_once(cloud, sdk, calls):
    from concurrent.futures import ThreadPoolExecutor

    from .rollout_reliability_support import head, records

    rt = begin(cloud)
    rid = open_canary(cloud, rt, "v2", FAST)
    first = canary_minutes(cloud, rt, rid, ("progressing", "holding"), minutes=2)
    assert (first.state, first.data["canary_weight"]) in (("progressing", 50), ("holding", 50)), first
    for action in ("pause", "resume", "promote"):
        with ThreadPoolExecutor(3) as pool:  # three fresh signatures at once: one applies, two are no-ops
            answers = list(pool.map(lambda _, a=action: _command(cloud, a, f"{a} from CI"), range(3)))
        assert all(status == 200 for status, _, _ in answers), answers
        assert sorted(body["outcome"] for _, body, _ in answers) == ["applied", "noop", "noop"], answers
        replayed = _command(cloud, action, "", raw=answers[0][2])  # the same signed request again
        assert replayed[0] == 401 and replayed[1]["error"]["code"] == "replayed", replayed
    by_webhook = [(r.state, r.data.get("reason")) for r in records(rt, rid) if r.by == "webhook:ci"]
    assert [s for s, _ in by_webhook][::2] == ["holding", "promoting"] and len(by_webhook) == 4, by_webhook
    assert by_webhook[3][0] == "watching" and by_webhook[1][0] in ("progressing", "holding"), by_webhook
    assert all("from CI" in (reason or "") for _, reason in by_webhook), by_webhook
    assert head(rt, rid).state == "watching"
    assert release_counts(all_calls(calls))[("demo_model_v2", 100)] == 1
    check_invariants(cloud, sdk, calls)


def _until_answered(cloud, action: str, reason: str, attempts: int = 8) -> list[tuple[int, dict]]:
    """What CI does: send the command, signed anew, again while the answer is a retryable 503; every answer."""
    answers = []
    for _ in range(attempts):
        status, body, _ = _command(cloud, action, reason)
        answers.append((status, body))
        if status != 503:
            break
    return answers


def test_webhook_commands_under_twenty_percent_faults_apply_once_or_answer_a_retryable_error(cloud, sdk, calls):
    from concurrent.futures import ThreadPoolExecutor

    from .rollout_reliability_support import head, records

    rt = begin(cloud)
    rid = open_canary(cloud, rt, "v2", FAST)
    first = canary_minutes(cloud, rt, rid, ("progressing", "holding"), minutes=2)
    assert first.data["canary_weight"] == 50, first
    cloud.faults.add(Fault(**TWENTY_PERCENT))
    answers: list[tuple[int, dict]] = []
    for action in ("pause", "resume", "promote"):
        with ThreadPoolExecutor(3) as pool:
            for sent in pool.map(lambda _, a=action: _until_answered(cloud, a, f"{a} from CI"), range(3)):
                answers += sent
    cloud.faults.clear()
    canary_minutes(cloud, rt, rid, ("watching", "succeeded"), minutes=2)  # an intent left by a 503 is finished
    for status, body in answers:  # a 5xx always says it is retryable; nothing without a code
        assert status == 200 or (body.get("error") or {}).get("code"), (status, body)
        assert status < 500 or body["error"]["code"] == "unavailable", (status, body)
    commanded = [r.state for r in records(rt, rid) if r.by == "webhook:ci"]
    assert commanded.count("holding") == 1 and commanded.count("promoting") == 1, commanded
    assert [r.state for r in records(rt, rid)].count("watching") == 1
    assert head(rt, rid).state in ("watching", "succeeded")
    assert release_counts(all_calls(calls))[("demo_model_v2", 100)] == 1
    check_invariants(cloud, sdk, calls, allow_dead=True)
