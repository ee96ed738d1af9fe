"""`pai-autopilot rollouts`, `rollout show` and the manual controls, in-process against localcloud."""

from __future__ import annotations

import json

import typer
import yaml
from typer.testing import CliRunner

from pai_autopilot.cli.rollouts import register

from . import rollout_fixtures
from .rollout_fixtures import BASE_CONFIG, HEALTHY

rollout_env = rollout_fixtures.rollout_env


def cli(env, tmp_path):
    app = typer.Typer(no_args_is_help=True)
    register(app)
    path = tmp_path / "autopilot.yaml"
    path.write_text(yaml.safe_dump(BASE_CONFIG))
    shell = {**env.env, "AUTOPILOT_CONFIG": str(path), "USER": "alice"}
    return lambda *args: CliRunner().invoke(app, list(args), env=shell)


def test_list_show_and_control_a_rollout_from_the_cli(rollout_env, tmp_path):
    env = rollout_env
    env.start("v2", HEALTHY)
    env.tick()
    env.traffic(300)
    env.advance(60)
    env.tick()
    run = cli(env, tmp_path)
    listed = run("rollouts", "--json")
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert (row["pipeline"], row["version"], row["phase"], row["canary_weight"]) == ("demo", "v2", "progressing", 25)
    shown = run("rollout", "show", "demo", "--json")
    steps = json.loads(shown.output)["steps"]
    assert [s["canary_weight"] for s in steps] == [0, 10, 25]
    assert steps[-1]["canary"]["requests"] > 0 and steps[-1]["stable_weight"] == 75 and steps[-1]["p_value"] is not None
    table = run("rollout", "show", "demo")
    assert "progressing" in table.output and "p-value" in table.output
    # a destructive command needs a reason; --dry-run changes nothing
    assert run("rollout", "abort", "demo").exit_code == 2
    dry = run("rollout", "abort", "demo", "--reason", "bad", "--dry-run")
    assert dry.exit_code == 0 and "dry run: would abort demo: would-apply - phase aborted, canary weight 0" in dry.output
    assert env.weights()["demo_model_v2"] == 25
    done = run("rollout", "abort", "demo", "--reason", "bad", "--json")
    assert json.loads(done.output)["outcome"] == "applied" and env.weights()["demo_model_v2"] == 0
    assert env.head().by == "cli:alice"
    again = run("rollout", "abort", "demo", "--reason", "bad")
    assert again.exit_code == 0 and "noop" in again.output
    assert run("rollout", "pause", "demo").exit_code == 1  # a closed rollout cannot pause: 409 → exit 1
    assert "no pipeline 'nope'" in run("rollout", "show", "nope").output
