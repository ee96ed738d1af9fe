"""CloudMonitor metrics on localcloud through the real alibabacloud_cms20190101 client (ACS3 verified):
EAS metrics derived from the request log, DSW and other metrics from the timeline."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from alibabacloud_cms20190101 import models

from tests.functional.cms_support import T0, fail, frozen_cms, last, seed


@pytest.fixture
def cms(cloud):
    return frozen_cms(cloud)


def listed(cms, metric, dimensions, namespace="acs_pai_eas", **kw):
    body = cms.describe_metric_list(models.DescribeMetricListRequest(
        namespace=namespace, metric_name=metric, dimensions=json.dumps(dimensions), **kw)).body
    assert body.code == "200" and body.success is True and isinstance(body.datapoints, str)
    return json.loads(body.datapoints), body.next_token, body.period


# -- EAS ----------------------------------------------------------------------------------------
def test_eas_metrics_come_from_the_request_log(cms, cloud):
    # Given three minutes of traffic at 10 req/s: svc-bad answers 503 to one request in five
    seed(cloud, "svc-bad", start=T0, seconds=180, error_every=5)
    seed(cloud, "svc-good", start=T0, seconds=180)
    cloud.clock.freeze(T0 + 180)
    services = [{"serviceName": "svc-bad"}, {"serviceName": "svc-good"}]
    # When DescribeMetricLast asks for the 5xx ratio of both services
    points = last(cms, "5xxResponseRatio", services, period="60")
    # Then Datapoints (a JSON string) holds the newest complete minute of each, as a fraction
    assert [(p["serviceName"], p["timestamp"], p["Average"]) for p in points] == [
        ("svc-bad", int((T0 + 120) * 1000), 0.2), ("svc-good", int((T0 + 120) * 1000), 0.0)]
    assert points[0]["userId"] == cloud.account_id and points[0]["SampleCount"] == 600
    assert points[0]["Maximum"] >= 0.2 >= points[0]["Minimum"]
    # And the rates, the other ratios and the response-time percentiles (ms) follow the same rows
    bad = {"serviceName": "svc-bad"}
    assert last(cms, "QueryPerSecondTotal", bad)[0]["Average"] == 10.0
    assert last(cms, "ResponsePerSecondWithStatusCode5xx", bad)[0]["Average"] == 2.0
    assert last(cms, "ResponsePerSecondWithStatusCode5xx", bad)[0]["Sum"] == 120
    assert last(cms, "2xxResponseRatio", bad)[0]["Average"] == 0.8
    assert last(cms, "4xxResponseRatio", bad)[0]["Average"] == 0.0
    tps = {m: last(cms, m, bad)[0]["Average"] for m in ("TP5", "TP50", "TP90", "TP99", "TP100")}
    assert tps == {"TP5": 20.0, "TP50": 24.0, "TP90": 28.0, "TP99": 29.0, "TP100": 29.0}
    # And one object (not a list) as Dimensions works too; no Dimensions gives every service
    assert [p["serviceName"] for p in last(cms, "QueryPerSecondTotal", '{"serviceName": "svc-good"}')] == ["svc-good"]
    assert [p["serviceName"] for p in last(cms, "QueryPerSecondTotal")] == ["svc-bad", "svc-good"]


def test_only_complete_periods_are_reported_and_stopped_traffic_shows_zero_qps(cms, cloud):
    # Given one minute of traffic, then none
    seed(cloud, "svc", start=T0, seconds=60, qps=5)
    dims = [{"serviceName": "svc"}]
    # When the clock stands in the middle of the first minute, then nothing is complete yet
    cloud.clock.freeze(T0 + 30)
    assert last(cms, "QueryPerSecondTotal", dims) == []
    # When three minutes have passed, then QPS of the newest minute is 0 and the ratio has no point there
    cloud.clock.freeze(T0 + 180 + 30)
    qps = last(cms, "QueryPerSecondTotal", dims)
    assert [(p["timestamp"], p["Average"]) for p in qps] == [(int((T0 + 120) * 1000), 0.0)]
    ratio = last(cms, "2xxResponseRatio", dims)
    assert [(p["timestamp"], p["Average"]) for p in ratio] == [(int(T0 * 1000), 1.0)]
    # And an unknown metric or service has no datapoints (an empty JSON list)
    assert last(cms, "NoSuchMetric", dims) == []
    assert last(cms, "QueryPerSecondTotal", [{"serviceName": "nobody"}]) == []


def test_describe_metric_list_pages_and_accepts_several_time_formats(cms, cloud):
    # Given three minutes of traffic
    seed(cloud, "svc", start=T0, seconds=180, qps=2, error_every=4)
    cloud.clock.freeze(T0 + 600)
    dims = [{"serviceName": "svc"}]
    # When the range is given in epoch milliseconds
    points, token, period = listed(cms, "5xxResponseRatio", dims, start_time=str(int(T0 * 1000)),
                                   end_time=str(int((T0 + 180) * 1000)))
    # Then each complete minute is one point, oldest first
    assert period == "60" and token is None
    assert [(p["timestamp"], p["Average"]) for p in points] == [(int((T0 + 60 * i) * 1000), 0.25) for i in range(3)]
    # And the same range as 'YYYY-MM-DD HH:MM:SS' (Beijing time) or ISO 8601 gives the same points
    beijing = dt.timezone(dt.timedelta(hours=8))
    as_text = {k: dt.datetime.fromtimestamp(t, beijing).strftime("%Y-%m-%d %H:%M:%S")
               for k, t in (("start_time", T0), ("end_time", T0 + 180))}
    assert listed(cms, "5xxResponseRatio", dims, **as_text)[0] == points
    iso = {k: dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat().replace("+00:00", "Z")
           for k, t in (("start_time", T0), ("end_time", T0 + 180))}
    assert listed(cms, "5xxResponseRatio", dims, **iso)[0] == points
    # When Length is 2, then NextToken pages through the rest
    first, token, _ = listed(cms, "5xxResponseRatio", dims, start_time=str(int(T0 * 1000)),
                             end_time=str(int((T0 + 180) * 1000)), length="2")
    rest, end_token, _ = listed(cms, "5xxResponseRatio", dims, start_time=str(int(T0 * 1000)),
                                end_time=str(int((T0 + 180) * 1000)), length="2", next_token=token)
    assert token and end_token is None and first + rest == points
    # And a 15-second period gives four points a minute; the default range covers the last 2 hours
    fine, _, period = listed(cms, "QueryPerSecondTotal", dims, period="15", start_time=str(int(T0 * 1000)),
                             end_time=str(int((T0 + 180) * 1000)))
    assert period == "15" and len(fine) == 12 and {p["Average"] for p in fine} == {2.0}
    assert len(listed(cms, "QueryPerSecondTotal", dims)[0]) == 10  # from the first minute with traffic to now


def test_up_to_50_services_per_call(cms, cloud):
    # Given 51 services with traffic
    for i in range(51):
        seed(cloud, f"svc-{i:02d}", start=T0, seconds=60, qps=1)
    cloud.clock.freeze(T0 + 60)
    dims = [{"serviceName": f"svc-{i:02d}"} for i in range(51)]
    # When 50 are asked for, then each has its point
    assert len(last(cms, "QueryPerSecondTotal", dims[:50])) == 50
    # When 51 are asked for, then the call is refused
    error = fail(lambda: last(cms, "QueryPerSecondTotal", dims))
    assert error.code == "ParameterInvalid" and error.status_code == 400 and "at most 50" in error.message


def test_describe_metric_errors(cms):
    request = models.DescribeMetricLastRequest
    # Namespace and MetricName are required
    assert fail(lambda: cms.describe_metric_last(request(metric_name="TP99"))).code == "MissingNamespace"
    assert fail(lambda: cms.describe_metric_list(
        models.DescribeMetricListRequest(namespace="acs_pai_eas"))).code == "MissingMetricName"
    # Bad values name themselves
    bad = {
        "Period": {"period": "30"},
        "Dimensions": {"dimensions": "[{serviceName: x}]"},
        "StartTime": {"start_time": "yesterday"},
        "Length": {"length": "5000"},
    }
    for word, kw in bad.items():
        error = fail(lambda kw=kw: cms.describe_metric_last(request(namespace="acs_pai_eas", metric_name="TP99", **kw)))
        assert (error.code, error.status_code) == ("ParameterInvalid", 400) and word in error.message


# -- DSW and other timeline metrics ---------------------------------------------------------------
def test_dsw_and_other_metrics_come_from_the_timeline(cms, cloud):
    # Given GPU usage samples every 15 s for two DSW instances, and a custom metric
    for i in range(8):
        cloud.timeline.add("acs_pai_dsw", "GpuCoreUsage", "dsw-1", at=T0 + 15 * i, value=2.0 + i)
        cloud.timeline.add("acs_pai_dsw", "GpuCoreUsage", "dsw-2", at=T0 + 15 * i, value=90.0)
    cloud.timeline.add("acs_custom", "Widgets", "w-1", at=T0, value=7.0)
    cloud.clock.freeze(T0 + 125)
    # When DescribeMetricLast asks for dsw-1
    points = last(cms, "GpuCoreUsage", {"instanceId": "dsw-1"}, namespace="acs_pai_dsw")
    # Then the newest complete minute's statistics come back under the instanceId dimension
    assert points == [{"timestamp": int((T0 + 60) * 1000), "userId": cloud.account_id, "instanceId": "dsw-1",
                       "Average": 7.5, "Maximum": 9.0, "Minimum": 6.0, "Sum": 30.0, "SampleCount": 4}]
    # And DescribeMetricList gives both minutes of both instances
    points, _, _ = listed(cms, "GpuCoreUsage", [{"instanceId": "dsw-1"}, {"instanceId": "dsw-2"}],
                          namespace="acs_pai_dsw", start_time=str(int(T0 * 1000)))
    assert [(p["instanceId"], p["Average"]) for p in points] == [
        ("dsw-1", 3.5), ("dsw-2", 90.0), ("dsw-1", 7.5), ("dsw-2", 90.0)]
    # And any other namespace in the timeline is served the same way
    assert last(cms, "Widgets", namespace="acs_custom")[0]["Maximum"] == 7.0


def test_metric_meta_list_names_what_localcloud_serves(cms):
    # When the EAS namespace's metrics are listed
    body = cms.describe_metric_meta_list(models.DescribeMetricMetaListRequest(namespace="acs_pai_eas",
                                                                              page_size=50)).body
    # Then the derived EAS metrics are named with their unit and dimensions
    metas = {r.metric_name: r for r in body.resources.resource}
    assert body.success is True and int(body.total_count) == len(metas) == 14
    assert (metas["5xxResponseRatio"].unit, metas["TP99"].unit, metas["TP99"].dimensions) == (
        "ratio", "ms", "userId,serviceName")
    # And a bad page size is refused
    error = fail(lambda: cms.describe_metric_meta_list(models.DescribeMetricMetaListRequest(page_size=0)))
    assert error.code == "ParameterInvalid"
