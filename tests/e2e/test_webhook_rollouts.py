"""Rollout commands through the webhook on a live rollout on localcloud (real EAS weights): promote,
abort, pause/resume and rollback each do what they say; a repeated call is a no-op.

Needs the rollout controller (issue 12): skipped while ``pai_autopilot.rollout.control`` is absent.
The live rollout is set up as the serving half leaves one: the stable service at weight 100 and the
canary at 0 in the pipeline's EAS group (through the EAS SDK), the stable recorded, the rollout open.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pai_autopilot.rollout.control", reason="rollout control (issue 12) is not merged yet")

from alibabacloud_eas20210701 import models  # noqa: E402

from .conftest import BUCKET, ROOT  # noqa: E402
from .webhook_support import Webhook  # noqa: E402

HEALTHY = {"latency_ms": 1, "sleep_scale": 0}


@pytest.fixture
def live(project_cloud, sdk):
    """Stable v1 at 100 %, canary v2 at 0 %, the rollout open and at its first step."""
    from pai_autopilot.clients import Credentials
    from pai_autopilot.config import load_config
    from pai_autopilot.rollout.state import RolloutSpec, open_rollout
    from pai_autopilot.runtime import Runtime
    from pai_autopilot.serving.stable import record_stable
    from pai_autopilot.settings import Settings
    from pai_autopilot.training.runs import run_id

    project_cloud.clock.freeze()
    for name in ("demo_model", "demo_model_v2"):
        body = {"metadata": {"name": name, "instance": 1, "group": "demo"}, "containers": [{"image": "i", "port": 8000}],
                "localcloud": {**HEALTHY, "startup_seconds": 0}}
        sdk.eas.create_service(models.CreateServiceRequest(body=json.dumps(body)))
    project_cloud.advance(3)
    for name, weight in (("demo_model", 100), ("demo_model_v2", 0)):
        sdk.eas.release_service(project_cloud.region, name, models.ReleaseServiceRequest(weight=weight, traffic_state="grouping"))
    env = project_cloud.env(BUCKET)
    rt = Runtime(Settings.resolve(environ=env), load_config(ROOT / "autopilot.yaml"), Credentials.from_env(env))
    record_stable(rt.ledger, "demo", version="v1", service="demo_model", reason="first version")
    spec = RolloutSpec(pipeline="demo", version="v2", group="demo", canary_service="demo_model_v2",
                       stable_service="demo_model", stable_version="v1", run_id=run_id("demo", "v2"))
    open_rollout(rt.ledger, spec, correlation_id=run_id("demo", "v2"))
    return rt


def weights(sdk) -> dict[str, int]:
    services = sdk.eas.list_services(models.ListServicesRequest(group_name="demo")).body.services
    return {s.service_name: (s.weight if s.traffic_state == "grouping" else 0) for s in services}


def command(hook: Webhook, action: str, reason: str | None = None) -> dict:
    response = hook.call("POST", f"/v1/rollouts/demo/{action}", {"reason": reason} if reason else {})
    assert response.status_code == 200, response.text
    return response.json()


def test_promote_then_rollback_within_the_watch_window(project_cloud, live, sdk):
    hook = Webhook(project_cloud)
    promoted = command(hook, "promote", "hotfix")
    assert (promoted["outcome"], promoted["phase"], promoted["canary_weight"]) == ("applied", "watching", 100)
    assert weights(sdk) == {"demo_model": 0, "demo_model_v2": 100}
    assert command(hook, "promote", "hotfix")["outcome"] == "noop"
    back = command(hook, "rollback", "bad answers")
    assert (back["outcome"], back["phase"], back["canary_weight"]) == ("applied", "rolled_back", 0)
    assert weights(sdk) == {"demo_model": 100, "demo_model_v2": 0}
    assert command(hook, "rollback", "again")["outcome"] == "noop"
    timeline = hook.call("GET", "/v1/timeline/demo/v2").json()["events"]
    assert [e["by"] for e in timeline if e["source"] == "rollout"][-2:] == ["webhook:ci", "webhook:ci"]


def test_abort_rolls_back_at_once_and_pause_holds_until_resume(project_cloud, live, sdk):
    hook = Webhook(project_cloud)
    paused = command(hook, "pause", "launch freeze")
    assert (paused["outcome"], paused["phase"]) == ("applied", "holding")
    assert command(hook, "pause")["outcome"] == "noop"
    before = weights(sdk)
    for _ in range(3):  # several canary intervals on the clock: nothing moves
        project_cloud.advance(300)
        assert project_cloud.fc.wait_idle(60)
    assert weights(sdk) == before
    resumed = command(hook, "resume")
    assert resumed["outcome"] == "applied" and resumed["phase"] != "holding"
    assert command(hook, "resume")["outcome"] == "noop"
    aborted = command(hook, "abort", "wrong model")
    assert (aborted["outcome"], aborted["phase"], aborted["canary_weight"]) == ("applied", "aborted", 0)
    assert weights(sdk) == {"demo_model": 100, "demo_model_v2": 0}
    assert command(hook, "abort", "again")["outcome"] == "noop"
    refused = hook.call("POST", "/v1/rollouts/demo/pause", {})
    assert (refused.status_code, refused.json()["error"]["code"]) in ((409, "conflict"), (200, "noop"))
