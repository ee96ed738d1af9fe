"""CloudMonitor reading what the EAS inference gateway recorded: real HTTP requests to
``/api/predict/<service>`` on localcloud, then DescribeMetricLast through the real CMS client."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.functional.cms_support import T0, frozen_cms, last

eas_package = pytest.importorskip("localcloud.eas")


@pytest.fixture
def gateway_cloud(cloud):
    """The cloud with EAS (and its gateway on the edge) registered if it is not yet."""
    if "eas" not in cloud.services:
        cloud.register(eas_package.EasService(clock=cloud.clock, region=cloud.region, account_id=cloud.account_id,
                                              requests=cloud.requests, timeline=cloud.timeline, edge=cloud.edge,
                                              seed=7))
    cloud.services["eas"].gateway.reseed(7)
    return cloud


def predict(url: str) -> int:
    request = urllib.request.Request(url, data=b"{}", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_service_profiled_at_20_percent_errors_shows_a_5xx_ratio_near_0_2(gateway_cloud):
    cloud = gateway_cloud
    cms = frozen_cms(cloud)
    # Given a running EAS service whose profile answers 503 to 20 % of requests (no real sleep)
    eas = cloud.services["eas"].backend
    eas.create_service({"metadata": {"name": "canary_v2", "instance": 1},
                        "localcloud": {"latency_ms": 12, "error_rate": 0.2, "error_status": 503, "sleep_scale": 0,
                                       "startup_seconds": 1}}, {})
    cloud.advance(30)
    # When 400 requests go through the gateway within one minute
    start = T0 + 60
    cloud.clock.freeze(start)
    statuses = [predict(f"{cloud.url}/api/predict/canary_v2") for _ in range(400)]
    assert set(statuses) == {200, 503}
    cloud.clock.freeze(start + 60)
    # Then CloudMonitor's 5xx ratio of that minute is near 0.2 and QPS counts the 400 requests
    dims = [{"serviceName": "canary_v2"}]
    ratio = last(cms, "5xxResponseRatio", dims)
    assert ratio[0]["timestamp"] == int(start * 1000) and ratio[0]["Average"] == pytest.approx(0.2, abs=0.06)
    assert ratio[0]["Average"] == pytest.approx(statuses.count(503) / 400)
    assert last(cms, "QueryPerSecondTotal", dims)[0]["Sum"] == 400
    assert last(cms, "TP99", dims)[0]["Average"] == 12.0
