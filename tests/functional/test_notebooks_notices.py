"""The governor's notices, at least once and deduplicated (notebooks/delivery.py): two overlapping ticks
send one warning; a webhook answering errors is retried by later ticks, three attempts, then given up
and logged; a quiet tick after costs one ledger LIST again."""

from __future__ import annotations

import json
import threading
import time

import pytest

from pai_autopilot.notebooks.tick import governor_tick

from . import notebooks_support
from .notebooks_support import create, runtime, seed

_notice_server, nb_cloud, notices = notebooks_support._notice_server, notebooks_support.nb_cloud, notebooks_support.notices  # the fixtures

POLICY = {"mode": "enforce", "idle_minutes": 60, "warn_minutes": 30}


class Flaky:
    """A webhook answering HTTP 500 while ``failing``; every POST it got."""

    def __init__(self) -> None:
        self.failing = True
        self.posts: list[dict] = []

    def __call__(self, environ, start_response):
        from werkzeug.wrappers import Request, Response

        self.posts.append(json.loads(Request(environ).get_data() or b"{}"))
        return Response("{}", status=500 if self.failing else 200, content_type="application/json")(environ, start_response)


@pytest.fixture
def flaky(nb_cloud, monkeypatch):
    from localcloud.server import ThreadedServer

    receiver = Flaky()
    server = ThreadedServer(receiver)
    server.start()
    monkeypatch.setenv("AUTOPILOT_NOTIFY_URL", server.url)
    yield receiver
    server.stop()


def _idle(cloud, rt, name):
    """A notebook idle for the past 65 minutes: the first tick warns it."""
    iid = create(rt, name)
    cloud.advance(10)
    seed(cloud, iid, cpu=1, gpu=1, minutes=400, step=300, start=cloud.clock.now() - 65 * 60)
    return iid


def _notice_states(rt, iid):
    return {entity.rsplit("/", 1)[-1]: [r.state for r in rt.ledger.history(entity)]
            for entity in rt.ledger.entities(f"notifications/{iid}/")}


def _pending(rt):
    return rt.ledger.store.list_keys(f"{rt.ledger.prefix}index/notebooks/")


def test_two_overlapping_ticks_send_one_warning(nb_cloud, notices):
    from localcloud.core.faults import Fault

    cloud = nb_cloud
    first, second = runtime(cloud, POLICY, request_id="tick-a"), runtime(cloud, POLICY, request_id="tick-b")
    iid = _idle(cloud, first, "nb_overlap")
    # every notice claim takes 1.5 s: the second tick lists the first one's announced warning mid-way
    cloud.faults.add(Fault(service="oss", operation="PutObject", path_contains="/notifications/", latency_ms=1500))
    results = []
    thread = threading.Thread(target=lambda: results.append(governor_tick(first)))
    thread.start()
    deadline = time.monotonic() + 30
    while first.ledger.latest(f"notebooks/{iid}") is None and time.monotonic() < deadline:
        time.sleep(0.02)
    results.append(governor_tick(second))  # it finds the warning announced, recorded, not yet sent
    thread.join(60)
    cloud.faults.clear()
    assert len(notices.of("notebook_idle_warning")) == 1, [r["actions"] for r in results]
    assert _notice_states(first, iid) == {"00000000-notebook_idle_warning": ["sending", "sent"]}
    assert [k for k in _pending(first) if "@notice@" in k] == []
    assert sum(r["counts"].get("warn", 0) for r in results) == 1


def test_a_failing_webhook_is_retried_three_times_then_given_up_and_logged(nb_cloud, flaky, capsys):
    cloud = nb_cloud
    rt = runtime(cloud, POLICY)
    iid = _idle(cloud, rt, "nb_flaky")
    results = []
    for _ in range(4):  # the warning, then three ticks inside the grace
        results.append(governor_tick(rt))
        cloud.advance(5 * 60)
    assert len(flaky.posts) == 3 and {p["event"] for p in flaky.posts} == {"notebook_idle_warning"}
    assert _notice_states(rt, iid) == {"00000000-notebook_idle_warning":
                                       ["sending", "failed", "sending", "failed", "sending", "given_up"]}
    assert [a["action"] for a in results[1]["actions"]] == ["notify", "wait"]  # the resend, then the instance
    given_up = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "notebook notice given up" in line]
    assert len(given_up) == 1 and given_up[0]["instance_id"] == iid and given_up[0]["attempts"] == 3
    assert not [k for k in _pending(rt) if "@notice@" in k]  # settled: nothing left owed
    # and the next tick costs what it did before any notice: the open index LIST and the warned head (LIST +
    # GET: its culler, created at the first tick, counts fewer idle minutes than the warning saw), no POST
    mark = cloud.api_calls.mark()
    assert governor_tick(rt)["counts"] == {"wait": 1}
    oss = {k: v for k, v in cloud.api_calls.by_action(mark).items() if k.startswith("oss:")}
    assert oss == {"oss:ListObjects": 2, "oss:GetObject": 1}, oss
    assert len(flaky.posts) == 3


def test_a_webhook_failing_once_gets_the_warning_at_the_next_tick_and_the_stop_notice(nb_cloud, flaky):
    cloud = nb_cloud
    rt = runtime(cloud, POLICY)
    iid = _idle(cloud, rt, "nb_once")
    governor_tick(rt)  # warned; the webhook answers 500
    flaky.failing = False
    cloud.advance(5 * 60)
    governor_tick(rt)  # the warning again, delivered
    cloud.advance(30 * 60)
    governor_tick(rt)  # stopped, and told
    governor_tick(rt)
    assert [p["event"] for p in flaky.posts] == ["notebook_idle_warning"] * 2 + ["notebook_stopped"]
    assert _notice_states(rt, iid) == {"00000000-notebook_idle_warning": ["sending", "failed", "sending", "sent"],
                                       "00000002-notebook_stopped": ["sending", "sent"]}
    # the resend carries the first send's id (a receiver deduplicates on it); the stop notice its own
    ids = [p.get("id") for p in flaky.posts]
    assert ids[0] == ids[1] == f"notifications/{iid}/00000000-notebook_idle_warning" and ids[2] != ids[0], ids
