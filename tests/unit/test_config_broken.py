"""validate catches every broken configuration; a function reports every problem with its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pai_autopilot.cli import app
from pai_autopilot.config import load_config, validate_text
from pai_autopilot.config.models import NOTIFICATION_EVENTS
from pai_autopilot.errors import ConfigError

VALID = """version: 1
storage: {bucket: demo-bucket}
pipelines:
  demo:
    dataset: {prefix: datasets/demo/}
    training:
      image: img
      command: "train {dataset_uri}"
      ecs_spec: ecs.c6.large
      pod_count: 2
"""


def run_validate(tmp_path: Path, content: bytes | str) -> tuple[int, str]:
    path = tmp_path / "autopilot.yaml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_valid_file_passes(tmp_path):
    assert run_validate(tmp_path, VALID) == (0, f"{tmp_path / 'autopilot.yaml'}: valid\n")


def test_a_duplicate_key_names_both_lines(tmp_path):
    code, out = run_validate(tmp_path, VALID + "      pod_count: 3\n")
    assert code == 1
    assert "duplicate key 'pod_count' (first at line 10, again at line 11)" in out


def test_an_unknown_notification_event_lists_the_known_ones(tmp_path):
    text = VALID + "notifications:\n  - {type: webhook, url_env: HOOK, events: [run_started, run_sucess]}\n"
    code, out = run_validate(tmp_path, text)
    assert code == 1
    assert "notifications[0].events[1] (line 12): unknown event 'run_sucess'" in out
    assert all(name in out for name in NOTIFICATION_EVENTS)


def test_a_syntax_error_gives_line_column_and_problem(tmp_path):
    code, out = run_validate(tmp_path, VALID.replace("ecs_spec: ecs.c6.large", "ecs_spec: [ecs.c6.large"))
    assert code == 1
    assert "autopilot.yaml: line 10, column 16: did not find expected" in out and "while parsing a flow sequence" in out and "Traceback" not in out


def test_a_tab_in_the_indentation_says_so(tmp_path):
    code, out = run_validate(tmp_path, VALID.replace("      pod_count", "\tpod_count"))
    assert code == 1 and "line 10" in out and "a tab in the indentation" in out


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_file_says_it_is_empty(tmp_path, text):
    code, out = run_validate(tmp_path, text)
    assert code == 1 and "is empty" in out and "Traceback" not in out


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file (NUL byte at offset 8)"),
        ("version: 1\nstorage: {bucket: démo}\n".encode("latin-1"), "not a UTF-8 text file (byte 0xe9 at offset 30)"),
    ],
)
def test_a_binary_or_non_utf8_file_exits_2_with_a_clear_message(tmp_path, content, says):
    code, out = run_validate(tmp_path, content)
    assert code == 2 and says in out and out.startswith("error: ") and "Traceback" not in out


BROKEN_TWO = """version: 1
storage: {bucket: demo-bucket}
pipelines:
  alpha:
    dataset: {prefix: datasets/alpha/}
    training:
      image: img
      command: "train {dataset_uri}"
      ecs_spec: ecs.c6.large
      pod_count: 0
  beta:
    dataset: {prefix: nope}
    training: {image: img, command: "train", ecs_spec: ecs.c6.large}
  gamma:
    dataset: {prefix: datasets/gamma/}
    training: {image: img, command: "train", ecs_spec: ecs.c6.large, imgae: typo}
"""


def test_a_deployed_function_reports_every_problem_with_pipeline_and_line(tmp_path):
    # Given a configuration broken in three pipelines
    path = tmp_path / "autopilot.yaml"
    path.write_text(BROKEN_TWO)
    # When the function loads it (the runtime path, no jsonschema)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    # Then every problem is reported, each naming its pipeline and line
    assert "pipelines.alpha.training.pod_count (line 10): Expected `int` >= 1" in text
    assert "pipelines.beta.dataset.prefix (line 12):" in text
    assert "pipelines.gamma.training.imgae (line 16): unknown key 'imgae'" in text
    assert [p for p, _ in info.value.errors] == [
        "pipelines.alpha.training.pod_count", "pipelines.beta.dataset.prefix", "pipelines.gamma.training.imgae",
    ]


def test_a_semantic_problem_at_runtime_carries_its_line(tmp_path):
    path = tmp_path / "autopilot.yaml"
    path.write_text(VALID.replace("train {dataset_uri}", "train {nope}"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "pipelines.demo.training.command (line 8): unknown placeholder {nope}" in str(info.value)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00b", b"pipelines: {}\n\t- x\n", b""])
def test_the_runtime_raises_config_error_not_a_crash(tmp_path, content):
    path = tmp_path / "autopilot.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError):
        load_config(path)


def test_validate_text_gives_the_duplicate_its_line():
    (problem,) = validate_text(VALID + "      pod_count: 3\n")
    assert (problem.path, problem.line) == ("pod_count", 11)
