"""localcloud's EAS inference gateway: group traffic splits, behaviour profiles, request rows, the traffic CLI."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests
from alibabacloud_eas20210701 import models
from typer.testing import CliRunner

from . import eas_fixtures
from .eas_fixtures import REGION, create, describe, running

eas_cloud, eas = eas_fixtures.eas_cloud, eas_fixtures.eas  # the fixtures, for this module

FAST = {"latency_ms": 0}


def post_many(url: str, count: int, *, workers: int = 8) -> list[requests.Response]:
    def batch(n: int) -> list[requests.Response]:
        with requests.Session() as session:
            return [session.post(url, data=b"{}", timeout=10) for _ in range(n)]

    sizes = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        return [r for chunk in pool.map(batch, sizes) for r in chunk]


def control(cloud, method: str, path: str, body=None) -> requests.Response:
    return requests.request(method, f"{cloud.url}/_localcloud/eas{path}", json=body, timeout=5)


def test_group_splits_traffic_by_weight(eas_cloud, eas):
    # Given two running services in one group at weights 10 / 90
    create(eas, "demo_v1", group="demo", profile=FAST)
    create(eas, "demo_v2", group="demo", profile=FAST)
    running(eas_cloud, eas, "demo_v1", "demo_v2")
    eas.release_service(REGION, "demo_v1", models.ReleaseServiceRequest(weight=10, traffic_state="grouping"))
    eas.release_service(REGION, "demo_v2", models.ReleaseServiceRequest(weight=90, traffic_state="grouping"))
    assert control(eas_cloud, "PUT", "/gateway", {"seed": 7}).json() == {"seed": 7}
    # When 2,000 requests go to the group endpoint
    group_url = eas.describe_group(REGION, "demo").body.internet_endpoint
    responses = post_many(group_url, 2000)
    # Then the split is within ±3 points of 10/90, and every request is a row under its service's name
    assert {r.status_code for r in responses} == {200}
    served = Counter(r.headers["x-localcloud-service"] for r in responses)
    assert abs(served["demo_v1"] / 2000 - 0.10) <= 0.03 and served["demo_v1"] + served["demo_v2"] == 2000
    now = eas_cloud.clock.now()
    rows = {name: eas_cloud.requests.window(name, start=now - 60, end=now) for name in ("demo_v1", "demo_v2")}
    assert {name: len(r) for name, r in rows.items()} == dict(served)
    # And each member keeps its own endpoint; <group>.<service> reaches a member too
    assert requests.post(f"{eas_cloud.url}/api/predict/demo_v1", timeout=5).json()["service"] == "demo_v1"
    assert requests.post(f"{eas_cloud.url}/api/predict/demo.demo_v2/v1/predict", timeout=5).json()["service"] == "demo_v2"


def test_standalone_and_zero_weight_members_take_no_group_traffic(eas_cloud, eas):
    create(eas, "demo_v1", group="demo", profile=FAST)
    create(eas, "demo_v2", group="demo", profile=FAST)
    running(eas_cloud, eas, "demo_v1", "demo_v2")
    group_url = f"{eas_cloud.url}/api/predict/demo"
    eas.release_service(REGION, "demo_v2", models.ReleaseServiceRequest(traffic_state="standalone"))
    assert {r.headers["x-localcloud-service"] for r in post_many(group_url, 50, workers=2)} == {"demo_v1"}
    eas.release_service(REGION, "demo_v2", models.ReleaseServiceRequest(traffic_state="grouping", weight=100))
    eas.release_service(REGION, "demo_v1", models.ReleaseServiceRequest(weight=0))
    assert {r.headers["x-localcloud-service"] for r in post_many(group_url, 50, workers=2)} == {"demo_v2"}
    eas.stop_service(REGION, "demo_v2")
    assert requests.post(group_url, timeout=5).status_code == 503  # nobody takes traffic


def test_a_profile_with_20_percent_errors_answers_about_20_percent_5xx(eas_cloud, eas):
    # Given a canary whose profile fails 20 % of requests with 503
    create(eas, "canary", profile={"latency_ms": 0, "error_rate": 0.2, "error_status": 503})
    running(eas_cloud, eas, "canary")
    control(eas_cloud, "PUT", "/gateway", {"seed": 3})
    # When 1,000 requests arrive
    statuses = Counter(r.status_code for r in post_many(f"{eas_cloud.url}/api/predict/canary", 1000))
    # Then about 20 % are 5xx, and the rows in cloud.requests (CloudMonitor's source) show the same
    assert set(statuses) == {200, 503} and abs(statuses[503] / 1000 - 0.2) <= 0.04
    now = eas_cloud.clock.now()
    rows = eas_cloud.requests.window("canary", start=now - 60, end=now)
    assert len(rows) == 1000 and sum(1 for r in rows if r.status >= 500) == statuses[503]
    assert "canary" in eas_cloud.requests.services()


def test_latency_profiles_sleep_and_record(eas_cloud, eas):
    create(eas, "slow", profile={"latency": {"dist": "fixed", "ms": 60}})
    create(eas, "modelled", profile={"latency": {"dist": "lognormal", "median_ms": 400, "p99_ms": 2000}, "sleep_scale": 0})
    running(eas_cloud, eas, "slow", "modelled")
    began = time.perf_counter()
    assert requests.post(f"{eas_cloud.url}/api/predict/slow", timeout=5).status_code == 200
    assert time.perf_counter() - began >= 0.06
    began = time.perf_counter()
    post_many(f"{eas_cloud.url}/api/predict/modelled", 200, workers=4)
    assert time.perf_counter() - began < 5  # sleep_scale 0: latencies recorded, not slept
    now = eas_cloud.clock.now()
    assert [r.latency_ms for r in eas_cloud.requests.window("slow", start=now - 60, end=now)] == [60.0]
    modelled = sorted(r.latency_ms for r in eas_cloud.requests.window("modelled", start=now - 60, end=now))
    assert 250 < modelled[100] < 600 and modelled[-1] > modelled[100] * 1.5


def test_services_that_are_not_running_answer_503(eas_cloud, eas):
    create(eas, "demo", profile=FAST)
    url = f"{eas_cloud.url}/api/predict/demo"
    assert requests.post(url, timeout=5).status_code == 503  # Creating
    running(eas_cloud, eas, "demo")
    assert requests.post(url, timeout=5).status_code == 200
    eas.stop_service(REGION, "demo")
    response = requests.post(url, timeout=5)
    assert response.status_code == 503 and "Stopping" in response.text
    assert requests.post(f"{eas_cloud.url}/api/predict/absent", timeout=5).status_code == 404
    now = eas_cloud.clock.now()
    assert [r.status for r in eas_cloud.requests.window("demo", start=now - 60, end=now)] == [503, 200, 503]


def test_profiles_are_controlled_at_runtime(eas_cloud, eas):
    create(eas, "demo", profile=FAST)
    running(eas_cloud, eas, "demo")
    url = f"{eas_cloud.url}/api/predict/demo"
    # When the control API makes every request fail with 500 and answer a custom body otherwise
    set_ = control(eas_cloud, "PUT", "/services/demo/profile", {"latency_ms": 0, "error_rate": 1.0})
    assert set_.status_code == 200 and set_.json()["override"] is True
    assert {r.status_code for r in post_many(url, 20, workers=2)} == {500}
    assert control(eas_cloud, "GET", "/services/demo/profile").json()["profile"]["error_rate"] == 1.0
    # Then DELETE returns to the config's profile
    assert control(eas_cloud, "DELETE", "/services/demo/profile").json()["override"] is False
    assert requests.post(url, timeout=5).status_code == 200
    control(eas_cloud, "PUT", "/services/demo/profile", {"latency_ms": 0, "body": "ok"})
    assert requests.post(url, timeout=5).text == "ok"
    # Errors name the problem
    assert control(eas_cloud, "PUT", "/services/demo/profile", {"error_rate": 3}).status_code == 400
    assert control(eas_cloud, "PUT", "/services/demo/profile", {"colour": "red"}).status_code == 400
    assert control(eas_cloud, "GET", "/services/absent/profile").status_code == 404
    assert control(eas_cloud, "PUT", "/gateway", {"seed": "x"}).status_code == 400
    assert control(eas_cloud, "GET", "/nothing").status_code == 404


def test_tokens_are_checked_when_the_profile_requires_them(eas_cloud, eas):
    create(eas, "open", profile=FAST)
    create(eas, "locked", group="secure", profile={"latency_ms": 0, "require_token": True})
    running(eas_cloud, eas, "open", "locked")
    assert requests.post(f"{eas_cloud.url}/api/predict/open", headers={"Authorization": "wrong"}, timeout=5).status_code == 200
    url = f"{eas_cloud.url}/api/predict/locked"
    assert requests.post(url, timeout=5).status_code == 401
    token = eas.describe_service_endpoints(REGION, "locked").body.access_token
    assert requests.post(url, headers={"Authorization": token}, timeout=5).status_code == 200
    group_token = eas.describe_group(REGION, "secure").body.access_token
    group_url = f"{eas_cloud.url}/api/predict/secure"
    assert requests.post(group_url, headers={"Authorization": f"Bearer {group_token}"}, timeout=5).status_code == 200
    assert describe(eas, "locked").access_token == token


def test_traffic_command_sends_steady_traffic(eas_cloud, eas):
    from pai_autopilot.cli import app
    from pai_autopilot.cli import traffic as traffic_cli  # registers `local traffic`

    create(eas, "demo", profile={"latency_ms": 0, "error_rate": 0.5, "error_status": 500})
    running(eas_cloud, eas, "demo")
    port = eas_cloud.url.rsplit(":", 1)[1]
    # When the CLI sends 40 QPS for 1.5 s
    result = CliRunner().invoke(app, ["local", "traffic", "--target", "demo", "--qps", "40", "--duration", "1.5",
                                      "--port", port, "--path-suffix", "v1/predict"])
    # Then it reports progress and a summary, and the gateway recorded every request
    assert result.exit_code == 0, result.output
    assert "[  1.0 s]" in result.output and "done in" in result.output and "QPS" in result.output
    now = eas_cloud.clock.now()
    rows = eas_cloud.requests.window("demo", start=now - 60, end=now)
    assert len(rows) == 60 and {r.status for r in rows} == {200, 500}
    # The function behind it returns the numbers
    summary = traffic_cli.run_traffic(f"{eas_cloud.url}/api/predict/demo", qps=50, duration=0.5)
    assert summary.sent == 25 and summary.completed == 25 and set(summary.statuses) <= {200, 500}
    assert summary.to_dict()["p99_ms"] >= summary.to_dict()["p50_ms"] > 0
    # Only loopback targets
    refused = CliRunner().invoke(app, ["local", "traffic", "--target", "demo", "--qps", "1", "--host", "10.1.2.3"])
    assert refused.exit_code == 2
