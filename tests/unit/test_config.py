"""autopilot.yaml: typed loading, every problem with its path and line, the CLI's exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pai_autopilot.cli import app
from pai_autopilot.config import load_config, parse_config, validate_text
from pai_autopilot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

VALID = """
version: 1
storage: {bucket: demo-bucket}
pipelines:
  demo:
    dataset: {prefix: datasets/demo/}
    training: {image: img, command: "train {dataset_uri} {output_uri}", ecs_spec: ecs.c6.large}
"""

BROKEN = """version: 2
storage:
  bucket: Bad_Bucket
pipelines:
  demo:
    dataset:
      prefix: /datasets/demo
    training:
      image: img
      command: run
      imgae: typo
      pod_count: 0
"""


def test_shipped_example_is_valid_and_defines_demo():
    # Given the example configuration at the repo root
    config = load_config(ROOT / "autopilot.yaml")
    # Then it has a pipeline named demo watching datasets/demo/
    assert config.pipelines["demo"].dataset.prefix == "datasets/demo/"
    assert validate_text((ROOT / "autopilot.yaml").read_text()) == []


def test_defaults_are_filled():
    pipeline = parse_config(VALID).pipelines["demo"]
    assert pipeline.dataset.marker == "_SUCCESS"
    assert pipeline.training.job_type == "PyTorchJob"
    assert pipeline.training.dataset_mount == "/mnt/data/"


def test_every_schema_problem_is_reported_with_path_and_line():
    problems = {(p.path, p.line): p.reason for p in validate_text(BROKEN)}
    assert problems[("version", 1)] == "2 is not one of [1]"
    assert "is not a bucket name" in problems[("storage.bucket", 3)]
    assert "is not an OSS key prefix ending in '/'" in problems[("pipelines.demo.dataset.prefix", 7)]
    assert problems[("pipelines.demo.training.imgae", 11)].startswith("unknown key 'imgae'; allowed: command,")
    assert "less than the minimum of 1" in problems[("pipelines.demo.training.pod_count", 12)]
    assert len(problems) == 5


@pytest.mark.parametrize(
    ("patch", "path", "fragment"),
    [
        ('command: "run {nope}"', "pipelines.demo.training.command", "unknown placeholder {nope}"),
        ('command: "run {dataset_uri"', "pipelines.demo.training.command", "not a valid template"),
        ("ecs_spec: null", "pipelines.demo.training", "set ecs_spec"),
    ],
)
def test_semantic_problems(patch, path, fragment):
    key = patch.split(":")[0]
    text = VALID.replace(f'{key}: "train {{dataset_uri}} {{output_uri}}"', patch) if key == "command" else VALID.replace(
        "ecs_spec: ecs.c6.large", patch
    )
    problems = validate_text(text)
    assert [(p.path, fragment in p.reason) for p in problems] == [(path, True)]
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert info.value.errors[0][0] == path


def test_overlapping_prefixes_are_rejected():
    text = VALID + """  demo2:
    dataset: {prefix: datasets/demo/more/}
    training: {image: img, command: run, ecs_spec: ecs.c6.large}
"""
    problems = validate_text(text)
    assert [(p.path, "overlaps pipeline 'demo'" in p.reason) for p in problems] == [("pipelines.demo2.dataset.prefix", True)]


def test_runtime_loading_names_the_first_problem_path():
    with pytest.raises(ConfigError) as info:
        parse_config(BROKEN)
    assert str(info.value).startswith("autopilot.yaml is invalid")
    assert info.value.errors[0][0] == "version"


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "nope.yaml")


def test_not_yaml_is_a_clear_error():
    problems = validate_text("pipelines: [unclosed")
    assert len(problems) == 1 and "line" in problems[0].reason


def test_cli_validate_exit_codes(tmp_path):
    runner = CliRunner()
    good = runner.invoke(app, ["validate", str(ROOT / "autopilot.yaml")])
    assert good.exit_code == 0, good.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    bad = runner.invoke(app, ["validate", str(broken)])
    assert bad.exit_code == 1
    assert f"{broken}: pipelines.demo.training.imgae (line 11): unknown key 'imgae'" in bad.output
    assert "5 problem(s) found" in bad.output
    missing = runner.invoke(app, ["validate", str(tmp_path / "absent.yaml")])
    assert missing.exit_code == 2
    assert "cannot read" in missing.output


def test_cli_validate_warns_of_the_deprecated_alarm_token_without_failing():
    runner = CliRunner()
    warned = runner.invoke(app, ["validate", str(ROOT / "autopilot.yaml")], env={"AUTOPILOT_ALARM_TOKEN": "tok-secret-1"})
    assert warned.exit_code == 0 and "warning: AUTOPILOT_ALARM_TOKEN is deprecated" in warned.output
    assert "tok-secret-1" not in warned.output
    quiet = runner.invoke(app, ["validate", str(ROOT / "autopilot.yaml")], env={"AUTOPILOT_ALARM_TOKEN": ""})
    assert "deprecated" not in quiet.output
