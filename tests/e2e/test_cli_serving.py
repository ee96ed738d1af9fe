"""`pai-autopilot deploy` and `services` in-process against localcloud running the project's functions."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from localcloud.core.faults import DeliveryFaults
from pai_autopilot.cli.serving import register

from .conftest import BUCKET, ROOT
from .serving_support import V1, land_model, model_records, run_for, services


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True)
    register(app)
    return app


@pytest.fixture
def cli(app, project_cloud):
    env = {**project_cloud.env(BUCKET), "AUTOPILOT_CONFIG": str(ROOT / "autopilot.yaml"), "USER": "alice"}
    return lambda *args: CliRunner().invoke(app, list(args), env=env)


def test_deploy_by_hand_after_a_lost_event_then_services_shows_it(project_cloud, sdk, cli):
    project_cloud.clock.freeze()
    project_cloud.delivery = DeliveryFaults(drop=1.0)  # the model's event is lost
    land_model(sdk, "v1", V1)
    assert project_cloud.fc.wait_idle(60)
    project_cloud.delivery = DeliveryFaults()
    assert model_records(sdk, "v1") == []
    # --dry-run says what would happen and writes nothing
    plan = cli("deploy", "demo", "v1", "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert "create first service" in plan.output and "dry run: nothing written" in plan.output
    assert model_records(sdk, "v1") == [] and services(sdk) == {}
    # deploy takes the event's path; a second deploy changes nothing
    done = cli("deploy", "demo", "v1")
    assert done.exit_code == 0 and "deploying (demo_model_v1)" in done.output, done.output
    again = cli("deploy", "demo", "v1")
    assert again.exit_code == 0 and "duplicate" in again.output and len(services(sdk)) == 1
    assert model_records(sdk, "v1")[0]["by"] == "cli:alice"
    run_for(project_cloud, 330, step=30)
    listed = cli("services", "--json")
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert row["stable"]["version"] == "v1" and row["stable"]["status"] == "Running" and row["canary"] is None
    table = cli("services")
    assert "stable  v1" in table.output and "Running" in table.output


def test_deploy_refuses_unknown_pipelines_and_incomplete_models(project_cloud, cli):
    unknown = cli("deploy", "nope", "v1")
    assert unknown.exit_code == 2 and "no pipeline 'nope'; known: demo" in unknown.output
    missing = cli("deploy", "demo", "v9")
    assert missing.exit_code == 1 and "models/demo/v9/_SUCCESS is not in OSS" in missing.output
