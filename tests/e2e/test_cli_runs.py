"""`pai-autopilot runs`, `run show` and `retrain` in-process against localcloud running the project's functions."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from localcloud.core.faults import DeliveryFaults
from pai_autopilot.cli import app as shipped_app
from pai_autopilot.clients import Credentials
from pai_autopilot.config import load_config
from pai_autopilot.runtime import Runtime
from pai_autopilot.settings import Settings
from pai_autopilot.training.runs import retrain_run_id, run_id

from .conftest import BUCKET, ROOT
from .test_training_lifecycle import dlc_jobs, land, run_for

CONFIG = str(ROOT / "autopilot.yaml")


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    return shipped_app  # the console script's own app


@pytest.fixture
def cli(app, project_cloud):
    env = {**project_cloud.env(BUCKET), "AUTOPILOT_CONFIG": CONFIG, "USER": "alice"}

    def invoke(*args: str):
        return CliRunner().invoke(app, list(args), env=env)

    return invoke


def ledger_keys(sdk) -> list[str]:
    return sorted(o.key for o in sdk.bucket(BUCKET).list_objects_v2(prefix=".autopilot/", max_keys=1000).object_list)


@pytest.fixture
def landed(project_cloud, sdk) -> str:
    """Dataset version v1 landed and its job followed for a while: the run is submitted and running."""
    project_cloud.clock.freeze()
    land(sdk, "v1")
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 20)
    return run_id("demo", "v1")


def test_runs_lists_the_landed_version(cli, landed):
    table = cli("runs")
    assert table.exit_code == 0, table.output
    header, line = table.output.splitlines()
    assert header.split()[:4] == ["RUN", "PIPELINE", "VERSION", "STATE"]
    assert line.split()[:3] == [landed, "demo", "v1"]
    listed = cli("runs", "--pipeline", "demo", "--json")
    assert listed.exit_code == 0, listed.output
    (run,) = json.loads(listed.output)
    assert run["run_id"] == landed and run["job_id"].startswith("dlc") and run["attempts"] == 1
    assert run["model_uri"] == f"oss://{BUCKET}/models/demo/v1/"
    assert cli("runs", "--state", "failed").output.strip() == "no runs in state 'failed'"
    assert json.loads(cli("runs", "--state", "failed", "--json").output) == []
    # an open state is answered from the active index
    assert run["state"] in ("submitted", "running")
    assert [r["run_id"] for r in json.loads(cli("runs", "--state", run["state"], "--json").output)] == [landed]


def test_run_show_prints_the_timeline_with_reasons(cli, landed):
    shown = cli("run", "show", landed)
    assert shown.exit_code == 0, shown.output
    assert f"run:          {landed}" in shown.output and "model:        oss://autopilot-demo/models/demo/v1/" in shown.output
    data = json.loads(cli("run", "show", landed, "--json").output)
    rows = data["timeline"]
    assert [r["state"] for r in rows[:2]] == ["claimed", "submitted"]
    assert rows[0]["reason"] == "marker datasets/demo/v1/_SUCCESS landed"
    job = rows[1]["job_id"]
    assert rows[1]["reason"] == f"job {job} submitted (attempt 1)"
    statuses = [r for r in rows[2:] if r["status"]]
    assert statuses and all(r["reason"].startswith(f"job {job} is ") for r in statuses), rows
    assert all(r["at"].endswith("Z") for r in rows)
    for row in rows:  # the table shows every record
        assert row["reason"] in shown.output


def test_retrain_without_force_is_a_noop(cli, landed, sdk):
    before = ledger_keys(sdk)
    result = cli("retrain", "demo", "v1")
    assert result.exit_code == 0, result.output
    assert f"already has run {landed}" in result.output and "nothing to do" in result.output
    assert ledger_keys(sdk) == before and len(dlc_jobs(sdk)) == 1
    # --json prints the outcome the webhook's POST /v1/retrain answers
    as_json = json.loads(cli("retrain", "demo", "v1", "--json").output)
    assert as_json["outcome"] == "noop" and as_json["run_id"] == landed and as_json["requested_by"] == "cli:alice"
    planned = json.loads(cli("retrain", "demo", "v1", "--force", "--dry-run", "--json").output)
    assert planned["outcome"] == "planned" and planned["job"]["display_name"] == retrain_run_id("demo", "v1", 1)
    assert ledger_keys(sdk) == before


def test_retrain_force_starts_a_second_run_and_job(cli, landed, project_cloud, sdk):
    before = ledger_keys(sdk)
    dry = cli("retrain", "demo", "v1", "--force", "--dry-run")
    assert dry.exit_code == 0, dry.output
    forced = retrain_run_id("demo", "v1", 1)
    assert f"display name: {forced}" in dry.output and "image:" in dry.output and "--run-id " + forced in dry.output
    assert "dry run: nothing written" in dry.output
    assert ledger_keys(sdk) == before and len(dlc_jobs(sdk)) == 1

    # v1 holds the pipeline's only slot (max_active_runs: 1): --now starts the forced run regardless
    result = cli("retrain", "demo", "v1", "--force", "--now")
    assert result.exit_code == 0, result.output
    assert f"submitted run {forced} for demo v1" in result.output
    jobs = dlc_jobs(sdk)
    assert sorted(j.display_name for j in jobs) == sorted([landed, forced])
    shown = json.loads(cli("run", "show", forced, "--json").output)
    assert shown["run"]["forced"] and shown["run"]["requested_by"] == "cli:alice"
    assert shown["timeline"][0]["by"] == "cli:alice"
    assert shown["timeline"][0]["reason"] == f"forced retrain #1 of {landed} by cli:alice"
    # the forced run is followed like any other
    run_for(project_cloud, 15)
    assert json.loads(cli("run", "show", forced, "--json").output)["timeline"][-1]["status"]
    # forcing again numbers the next run, and without --now it queues behind the active ones
    second = retrain_run_id("demo", "v1", 2)
    again = cli("retrain", "demo", "v1", "--force")
    assert again.exit_code == 0 and f"run {second} queued" in again.output, again.output
    assert len(dlc_jobs(sdk)) == 2
    assert f"run {second} is already queued" in cli("retrain", "demo", "v1", "--force").output
    assert f"already has run {second} (queued" in cli("retrain", "demo", "v1").output
    assert len(json.loads(cli("runs", "--json").output)) == 3
    # when the slots free, the queued forced run starts, still forced by alice
    run_for(project_cloud, 200, step=10)
    assert len(dlc_jobs(sdk)) == 3
    shown = json.loads(cli("run", "show", second, "--json").output)
    assert shown["run"]["forced"] and shown["run"]["job_id"] and shown["run"]["requested_by"] == "cli:alice"


def test_retrain_force_retried_resumes_the_unfinished_forced_run(cli, landed, project_cloud, sdk):
    # Given a forced retrain by alice that claimed run #1 and stopped before creating its job
    env = project_cloud.env(BUCKET)
    rt = Runtime(Settings.resolve(environ=env), load_config(CONFIG), Credentials.from_env(env))
    forced = retrain_run_id("demo", "v1", 1)
    rt.ledger.claim(f"runs/demo/{forced}", "claimed", {"pipeline": "demo", "version": "v1", "forced": True}, by="cli:alice")
    # When alice runs the command again, Then it finishes run #1 rather than starting #2
    result = cli("retrain", "demo", "v1", "--force")
    assert f"submitted run {forced} for demo v1" in result.output, result.output
    assert sorted(j.display_name for j in dlc_jobs(sdk)) == sorted([landed, forced])
    states = [r["state"] for r in json.loads(cli("run", "show", forced, "--json").output)["timeline"]]
    assert states[:3] == ["claimed", "claimed", "submitted"]  # the retry took its own claim over


def test_retrain_submits_a_version_whose_marker_event_was_lost(cli, project_cloud, sdk):
    project_cloud.delivery = DeliveryFaults(drop=1.0)
    land(sdk, "v5")
    assert project_cloud.fc.wait_idle(60)
    project_cloud.delivery = DeliveryFaults()
    assert cli("runs").output.strip() == "no runs"
    result = cli("retrain", "demo", "v5")
    assert result.exit_code == 0 and f"submitted run {run_id('demo', 'v5')} for demo v5" in result.output, result.output
    (run,) = json.loads(cli("runs", "--json").output)
    assert run["requested_by"] == "cli:alice" and not run["forced"] and len(dlc_jobs(sdk)) == 1


def test_retrain_of_an_unlanded_version_needs_its_marker(cli, project_cloud, sdk):
    sdk.bucket(BUCKET).put_object("datasets/demo/v9/part-0.csv", b"x\n")
    missing = cli("retrain", "demo", "v9")
    assert missing.exit_code == 1 and "marker oss://autopilot-demo/datasets/demo/v9/_SUCCESS is not in OSS" in missing.output
    dry = cli("retrain", "demo", "v9", "--force", "--dry-run")
    assert dry.exit_code == 0 and retrain_run_id("demo", "v9", 1) in dry.output
    assert ledger_keys(sdk) == [] and dlc_jobs(sdk) == []


def test_wrong_input_is_refused_with_its_reason(cli):
    pipeline = cli("runs", "--pipeline", "nosuch")
    assert pipeline.exit_code == 2 and "error: no pipeline 'nosuch'; known: demo" in pipeline.output
    state = cli("runs", "--state", "bogus")
    assert state.exit_code == 2 and "error: no run state 'bogus'; known: queued, claimed, submitted" in state.output
    now = cli("retrain", "demo", "v1", "--now")
    assert now.exit_code == 2 and "--now only applies to --force" in now.output


def test_errors(cli, landed):
    unknown = cli("run", "show", "ap-nope")
    assert unknown.exit_code == 1 and f"error: no run 'ap-nope'; known: {landed}" in unknown.output
    pipeline = cli("retrain", "nope", "v1")
    assert pipeline.exit_code == 2 and "error: no pipeline 'nope'; known: demo" in pipeline.output
    empty = cli("retrain", "demo", " ")
    assert empty.exit_code == 2 and "error: empty version" in empty.output
    nested = cli("retrain", "demo", "a/b")
    assert nested.exit_code == 2 and "nested" in nested.output


def test_help(app):
    for args in (["runs"], ["run", "show"], ["retrain"]):
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
    assert "vouch for the data" in CliRunner().invoke(app, ["retrain", "--help"]).output
