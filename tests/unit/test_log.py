"""Logging: JSON lines, per-invocation context, one summary line, error classification, redaction."""

from __future__ import annotations

import io
import json
import sys
from types import SimpleNamespace

import pytest

from pai_autopilot import log as aplog
from pai_autopilot.errors import ConflictError, InvalidInputError, TransientError


@pytest.fixture
def lines():
    stream = io.StringIO()

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    aplog.configure("DEBUG", stream=stream)
    yield read
    aplog.configure("INFO", stream=sys.stdout)


def ctx(request_id: str = "req-1") -> SimpleNamespace:
    return SimpleNamespace(request_id=request_id)


def test_one_summary_line_with_context(lines):
    @aplog.invocation("fn", level=lambda: "DEBUG")
    def handler(event, context):
        aplog.bind(event_id="bkt/key@E", correlation_id="run-1")
        aplog.get_logger().info("work done", job_id="dlc1")
        return {"outcome": "submitted"}

    assert handler(b"{}", ctx()) == {"outcome": "submitted"}
    work, summary = lines()
    for line in (work, summary):
        assert line["request_id"] == "req-1" and line["function"] == "fn"
        assert line["event_id"] == "bkt/key@E" and line["correlation_id"] == "run-1"
        assert "timestamp" in line and "cold_start" in line
    assert summary["event"] == "invocation" and summary["outcome"] == "submitted"
    assert isinstance(summary["duration_ms"], float)


def test_context_does_not_leak_between_invocations(lines):
    @aplog.invocation("fn", level=lambda: "DEBUG")
    def handler(event, context):
        if event == b"first":
            aplog.bind(correlation_id="run-1")
        return {}

    handler(b"first", ctx("a"))
    handler(b"second", ctx("b"))
    first, second = lines()
    assert first["correlation_id"] == "run-1"
    assert "correlation_id" not in second and second["request_id"] == "b"


@pytest.mark.parametrize(
    ("error", "returned", "outcome", "level"),
    [
        (InvalidInputError("bad event"), {"outcome": "rejected", "error": "bad event", "code": "InvalidInput"}, "rejected", "warning"),
        (ConflictError("taken"), {"outcome": "noop", "reason": "taken"}, "noop", "info"),
    ],
)
def test_invalid_input_and_conflict_return_without_retry(lines, error, returned, outcome, level):
    @aplog.invocation("fn", level=lambda: "DEBUG")
    def handler(event, context):
        raise error

    assert handler(b"", ctx()) == returned
    (summary,) = lines()
    assert (summary["outcome"], summary["level"]) == (outcome, level)


@pytest.mark.parametrize(("error", "outcome"), [(TransientError("throttled"), "retry"), (RuntimeError("bug"), "error")])
def test_transient_and_unknown_errors_are_raised_for_fc_to_retry(lines, error, outcome):
    @aplog.invocation("fn", level=lambda: "DEBUG")
    def handler(event, context):
        raise error

    with pytest.raises(type(error)):
        handler(b"", ctx())
    (summary,) = lines()
    assert summary["outcome"] == outcome and summary["level"] == "error"


def test_secrets_are_redacted_at_any_depth(lines):
    aplog.get_logger().info(
        "creds", access_key_secret="sk-123", headers={"Authorization": "OSS a:b", "ok": "1"}, items=[{"security_token": "t"}]
    )
    (line,) = lines()
    assert line["access_key_secret"] == "***"
    assert line["headers"] == {"Authorization": "***", "ok": "1"}
    assert line["items"] == [{"security_token": "***"}]
    assert "sk-123" not in json.dumps(line)


def test_level_filters(lines):
    aplog.configure("WARNING", stream=aplog._configured["stream"])
    aplog.get_logger().info("hidden")
    aplog.get_logger().warning("shown")
    assert [line["event"] for line in lines()] == ["shown"]


def test_cold_start_is_true_once_per_process():
    flag = aplog._ColdStart()
    assert [flag.take(), flag.take(), flag.take()] == [True, False, False]
