"""Property: every handler in functions/ answers any input with a result or the invalid-input error.

Generated events — random bytes, truncated JSON, wrong types in each field of every sample,
huge strings, deep nesting, NaN/Infinity, unicode (lone surrogates included) — never raise,
never make FC retry, and each takes under a second of CPU (hypothesis' 5 s wall-clock deadline
catches a hang without failing on a busy machine). Handlers are discovered from functions/, so
a new function is covered without editing this file. The configuration is the packaged one; no
credentials or endpoint are set, so nothing reaches the network (a generated event that gets as
far as the cloud is rejected for the missing credentials, itself an invalid-input answer).

Profiles: ``ci`` (default, a few hundred examples per handler) and ``soak`` (10,000 per handler,
``make soak-fuzz`` → ``bench/fuzz_soak.py``, counts in bench/RESULTS.md).
"""

from __future__ import annotations

import importlib
import io
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pai_autopilot import log as aplog

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(p.stem for p in (ROOT / "functions").glob("*.py") if p.stem != "__init__")
SAMPLES = [json.loads(p.read_text()) for p in sorted((ROOT / "events").glob("*.json"))]
MARKER = {"events": [{"eventName": "ObjectCreated:PutObject", "oss": {
    "bucket": {"name": "autopilot-demo"}, "object": {"key": "datasets/demo/v1/_SUCCESS", "eTag": "E"}}}]}
JOB = {"id": "1", "source": "acs.pai", "type": "pai:DLC:JobStatusChanged", "specversion": "1.0",
       "data": {"JobId": "dlc1a2b3c4", "Status": "Succeeded"}}
SEEDS = [*SAMPLES, MARKER, JOB]

settings.register_profile("ci", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")), deadline=5000,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], derandomize=True)
settings.register_profile("soak", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "10000")), deadline=5000,
                          suppress_health_check=list(HealthCheck))
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40), st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)


def paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON document (dict keys and list indices)."""
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += paths(value, (*prefix, i))
    return found


def replaced(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(doc))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


def nested(depth: int, kind: str) -> bytes:
    return (b"[" * depth + b"]" * depth) if kind == "list" else (b'{"a":' * depth + b"1" + b"}" * depth)


@st.composite
def mutated_seed(draw: Any) -> bytes:
    """A seed event (sample or marker/job event) with one field replaced by a hostile value."""
    seed = draw(st.sampled_from(SEEDS))
    path = draw(st.sampled_from(paths(seed)))
    value = draw(st.one_of(
        json_values,
        st.integers(min_value=1, max_value=400_000).map(lambda n: "x" * n),  # huge strings
        st.sampled_from(["../jobs/x", "id/", " id ", "a\nb", "a\x00b", "datasets/demo/v77//_SUCCESS",
                         "oss:ObjectCreated:PutObject", "datasets/demo/v%201/_SUCCESS", "\ud800"]),
    ))
    return json.dumps(replaced(seed, path, value), ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


@st.composite
def hostile_event(draw: Any) -> bytes:
    kind = draw(st.sampled_from(["bytes", "truncated", "mutated", "mutated", "mutated", "nesting", "nan", "unicode"]))
    if kind == "bytes":
        return draw(st.binary(max_size=512))
    if kind == "truncated":
        text = json.dumps(draw(st.sampled_from(SEEDS))).encode()
        return text[: draw(st.integers(min_value=0, max_value=len(text) - 1))]
    if kind == "nesting":
        return nested(draw(st.integers(min_value=1, max_value=200_000)), draw(st.sampled_from(["list", "dict"])))
    if kind == "nan":  # a NaN/Infinity token (not JSON, but what a sloppy producer writes) in any field
        seed = draw(st.sampled_from(SEEDS))
        path = draw(st.sampled_from(paths(seed)))
        token = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]))
        return json.dumps(replaced(seed, path, "__TOKEN__")).replace('"__TOKEN__"', token).encode()
    if kind == "unicode":
        seed = draw(st.sampled_from(SEEDS))
        path = draw(st.sampled_from(paths(seed)))
        return json.dumps(replaced(seed, path, draw(st.text(min_size=1, max_size=60))), ensure_ascii=False).encode(
            "utf-8", "surrogatepass")
    return draw(mutated_seed())


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    from pai_autopilot.config.compiled import write_compiled
    from pai_autopilot.settings import _current

    config = tmp_path_factory.mktemp("code") / "autopilot.yaml"
    shutil.copy2(ROOT / "autopilot.yaml", config)
    write_compiled(str(config))
    names = ("AUTOPILOT_CONFIG", "AUTOPILOT_BUCKET", "AUTOPILOT_ENDPOINT", "ALIBABA_CLOUD_ACCESS_KEY_ID",
             "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN")
    saved = {n: os.environ.pop(n, None) for n in names}
    os.environ.update(AUTOPILOT_CONFIG=str(config), AUTOPILOT_BUCKET="autopilot-demo")
    saved_settings = list(_current)
    _current.clear()
    sys.path.insert(0, str(ROOT / "functions"))
    try:
        yield
    finally:
        sys.path.remove(str(ROOT / "functions"))
        _current[:] = saved_settings
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


class Ctx:
    request_id = "fuzz"


def answer(handler: Any, event: bytes) -> tuple[dict[str, Any], float]:
    """The handler's answer and the CPU seconds it took (wall time on a shared 2-core machine
    measures the neighbours; a hang would still trip hypothesis' wall-clock deadline)."""
    started = time.thread_time()
    with aplog.quiet("WARNING", io.StringIO()):
        result = handler(event, Ctx())
    return result, time.thread_time() - started


COUNTS: dict[str, int] = {}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_handler_answers_any_input_with_a_result_or_the_invalid_input_error(environment, function):
    handler = importlib.import_module(function).handler

    @settings(settings.get_profile(PROFILE))
    @given(event=hostile_event())
    def check(event: bytes) -> None:
        result, seconds = answer(handler, event)
        COUNTS[function] = COUNTS.get(function, 0) + 1
        assert isinstance(result, dict), result
        if "statusCode" in result:  # an HTTP function's answer: a 2xx or 4xx, never a 5xx (FC would not retry it)
            assert isinstance(result["statusCode"], int) and 200 <= result["statusCode"] < 500, result
            assert seconds < 1.0, (seconds, event[:200])
            return
        assert isinstance(result.get("outcome"), str), result
        if "code" in result:  # the invalid-input error (the invocation decorator's answer)
            assert result["outcome"] == "rejected" and isinstance(result["error"], str) and len(result["error"]) < 4000
        assert seconds < 1.0, (seconds, event[:200])

    check()
    out = os.environ.get("FUZZ_COUNTS_FILE")
    if out:
        Path(out).write_text(json.dumps(COUNTS))


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("event", [
    nested(100_000, "list"), nested(5_000, "dict"),  # RecursionError inside the decoder
    b'{"events": [{"eventName": "ObjectCreated:PutObject", "oss": {"bucket": {"name": "\xff"}}}]}',  # bad UTF-8
    json.dumps({"id": "1", "source": "acs.pai", "type": "pai:DLC:JobStatusChanged",
                "data": {"JobId": "dlc" + "x" * 3_000_000}}).encode(),  # a multi-megabyte JobId
    b'{"events": [NaN]}', b"\x00" * 64, b"",
], ids=["deep-list", "deep-dict", "invalid-utf8", "huge-jobid", "nan", "nul", "empty"])
def test_known_hostile_events_are_rejected(environment, function, event):
    handler = importlib.import_module(function).handler
    result, seconds = answer(handler, event)
    assert result["outcome"] == "rejected" and seconds < 1.0

