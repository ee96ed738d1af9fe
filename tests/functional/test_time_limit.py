"""The run's own time limit is applied through the SDK: reconcile sees a job past
``max_running_minutes`` and StopJob reaches DLC (localcloud), not only the ledger."""

from __future__ import annotations

from pathlib import Path

from alibabacloud_pai_dlc20201203 import models

from localcloud.dlc.rules import FaultRule
from pai_autopilot.clients import Credentials
from pai_autopilot.config import load_config
from pai_autopilot.runtime import Runtime
from pai_autopilot.settings import Settings
from pai_autopilot.training.advance import advance_run
from pai_autopilot.training.datasets import match_marker
from pai_autopilot.training.runs import run_entity
from pai_autopilot.training.submit import submit_run

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "autopilot-demo"


def test_a_run_past_its_time_limit_is_stopped_through_stop_job(cloud):
    cloud.oss.create_bucket(BUCKET)
    cloud.clock.freeze()
    cloud.dlc.backend.rules.add(FaultRule(kind="hang", next=1))  # the job runs and never ends by itself
    env = cloud.env(BUCKET)
    config = load_config(ROOT / "autopilot.yaml")
    limit = config.pipelines["demo"].training.max_running_minutes
    assert limit
    make = lambda now: Runtime(Settings.resolve(environ=env), config, Credentials.from_env(env),  # noqa: E731
                               request_id="test", now=now)
    rt = make(cloud.clock.now)
    outcome = submit_run(rt, match_marker(config, BUCKET, "datasets/demo/v1/_SUCCESS"))
    entity = run_entity("demo", outcome.run_id)
    for _ in range(6):
        cloud.advance(10)
        advance_run(rt, entity)
    assert rt.ledger.latest(entity).state == "running"
    # When reconcile's clock is past the limit (DLC's own limit has not fired: the hang rule)
    late = make(lambda: cloud.clock.now() + (limit + 1) * 60)
    cloud.calls.reset()
    result = advance_run(late, entity)
    # Then StopJob went to DLC and the job is stopping there, and the ledger says so
    assert result["outcome"] == "stop", result
    assert cloud.calls.by_operation().get("dlc StopJob") == 1, cloud.calls.by_operation()
    status = rt.clients.dlc.get_job(outcome.job_id, models.GetJobRequest()).body.status
    assert status in ("Stopping", "Stopped"), status
    assert rt.ledger.latest(entity).state == "stopping"
