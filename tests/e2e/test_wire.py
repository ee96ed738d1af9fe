"""`pai-autopilot wire` against localcloud: plan, apply, idempotence, and the wired rule in use."""

from __future__ import annotations

import oss2
from typer.testing import CliRunner

from pai_autopilot.cli import app

from .conftest import BUCKET, ROOT


def wire(cloud, *args: str):
    env = {**cloud.env(BUCKET), "AUTOPILOT_CONFIG": str(ROOT / "autopilot.yaml")}
    return CliRunner().invoke(app, ["wire", "--config", str(ROOT / "autopilot.yaml"), *args], env=env)


def test_dry_run_then_apply_then_nothing_to_change(project_cloud, sdk):
    # Given the PAI workspace bus exists (PAI creates it) but nothing of ours
    project_cloud.eventbridge.backend.unsubscribe_function("pai-system-demo", "autopilot-job-events")
    # When wire runs in dry-run: the plan is printed and nothing changes
    dry = wire(project_cloud, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "create     eventbridge rule: pai-system-demo/pai-autopilot-job-events" in dry.output
    assert "create     oss lifecycle (checkpoints): autopilot-demo/checkpoints/demo/" in dry.output
    assert "dry run: nothing applied" in dry.output
    assert "pai-autopilot-job-events" not in str(project_cloud.eventbridge.state())
    # When it runs for real, then again
    first, second = wire(project_cloud), wire(project_cloud)
    assert first.exit_code == 0 and "applied 3 change(s)" in first.output, first.output  # + the rollout alarm rule
    assert second.exit_code == 0 and "nothing to change" in second.output, second.output
    # Then the lifecycle rule expires checkpoints after the configured days
    rules = sdk.bucket(BUCKET).get_bucket_lifecycle().rules
    assert [(r.prefix, r.expiration.days) for r in rules] == [("checkpoints/demo/", 14)]


def test_the_wired_rule_delivers_job_events(project_cloud, sdk):
    project_cloud.eventbridge.backend.unsubscribe_function("pai-system-demo", "autopilot-job-events")
    assert wire(project_cloud).exit_code == 0
    project_cloud.clock.freeze()
    bucket = sdk.bucket(BUCKET)
    bucket.put_object("datasets/demo/w1/part-0.csv", b"x")
    bucket.put_object("datasets/demo/w1/_SUCCESS", b"")
    for _ in range(10):
        project_cloud.advance(2)
        assert project_cloud.fc.wait_idle(60)
    sources = {r["source"] for r in project_cloud.fc.invocation_records("pai-autopilot-job-events")}
    assert sources == {"eventbridge:pai-system-demo/pai-autopilot-job-events"}


def test_a_versioned_ledger_bucket_is_refused(project_cloud, sdk):
    # Given versioning enabled on the ledger's bucket (through oss2)
    config = oss2.models.BucketVersioningConfig()
    config.status = oss2.BUCKET_VERSIONING_ENABLE
    sdk.bucket(BUCKET).put_bucket_versioning(config)
    assert sdk.bucket(BUCKET).get_bucket_versioning().status == "Enabled"
    # When wire runs, Then it refuses and applies nothing
    result = wire(project_cloud)
    assert result.exit_code == 1
    assert "refuse     ledger bucket versioning" in result.output and "nothing applied" in result.output
    assert "x-oss-forbid-overwrite does not hold" in result.output
    with __import__("pytest").raises(oss2.exceptions.NoSuchLifecycle):
        sdk.bucket(BUCKET).get_bucket_lifecycle()
