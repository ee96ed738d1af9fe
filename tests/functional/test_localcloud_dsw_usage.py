"""DSW usage on localcloud: a seedable usage timeline, GetInstanceMetrics read from it, and the
native idle culler that really stops idle instances on the clock (real alibabacloud_pai_dsw20220101
client)."""

from __future__ import annotations

import time

import pytest
import requests
from alibabacloud_pai_dsw20220101 import models

from localcloud.dsw.times import iso

from . import dsw_support
from .dsw_support import CPU_SPEC, T0, dsw_service, fail, get, running

dsw_cloud, dsw = dsw_support.dsw_cloud, dsw_support.dsw  # the fixtures, for this module
RUNNING_AT = T0 + 10  # when ``running`` instances reach Running


def culler(dsw, instance_id, *, gpu=5, cpu=20, minutes=60):
    request = models.CreateIdleInstanceCullerRequest(cpu_percent_threshold=cpu, gpu_percent_threshold=gpu,
                                                     max_idle_time_in_minutes=minutes)
    return dsw.create_idle_instance_culler(instance_id, request).body


def seed(cloud, instance_id, body):
    response = requests.post(f"{cloud.url}/_localcloud/dsw/instances/{instance_id}/usage", json=body, timeout=5)
    return response.status_code, response.json()


# -- the usage timeline and GetInstanceMetrics ---------------------------------------------------
def test_get_instance_metrics_returns_the_seeded_points(dsw, dsw_cloud):
    # Given GPU usage seeded through the control API, one sample a minute for 5 minutes
    instance_id = running(dsw, dsw_cloud)
    points = [[60 * i, 10.0 * i] for i in range(5)]
    assert seed(dsw_cloud, instance_id, {"metric": "GpuCoreUsage", "points": points}) == (
        200, {"instanceId": instance_id, "samples": 5})
    # When GetInstanceMetrics asks for that range (singular /instance/ path, ISO-8601 UTC times)
    request = models.GetInstanceMetricsRequest(metric_type="GpuCoreUsage", start_time=iso(RUNNING_AT),
                                               end_time=iso(RUNNING_AT + 300))
    body = dsw.get_instance_metrics(instance_id, request).body
    # Then it returns every point, Time in unix seconds, under the instance's pod
    assert body.success is True and body.instance_id == instance_id and len(body.pod_metrics) == 1
    assert body.pod_metrics[0].pod_id.startswith("dsw-")
    assert [(m.time, m.value) for m in body.pod_metrics[0].metrics] == [
        (int(RUNNING_AT) + 60 * i, 10.0 * i) for i in range(5)]
    # And TimeStep averages buckets of that many minutes
    request.time_step = "2m"
    stepped = dsw.get_instance_metrics(instance_id, request).body.pod_metrics[0].metrics
    assert [(m.time - int(RUNNING_AT), m.value) for m in stepped] == [(0, 5.0), (120, 25.0), (240, 40.0)]
    # And another metric, never seeded, has no points
    request.metric_type, request.time_step = "MemoryUsage", None
    assert dsw.get_instance_metrics(instance_id, request).body.pod_metrics[0].metrics == []


def test_get_instance_metrics_defaults_to_the_last_hour_and_reads_what_python_seeded(dsw, dsw_cloud):
    instance_id = running(dsw, dsw_cloud)
    service = dsw_service(dsw_cloud)
    assert service.seed_usage(instance_id, "CpuCoreUsage", value=42.0, duration=7200, step=600,
                              start=RUNNING_AT - 3600) == 13
    request = models.GetInstanceMetricsRequest(metric_type="CpuCoreUsage")
    metrics = dsw.get_instance_metrics(instance_id, request).body.pod_metrics[0].metrics
    assert [m.time for m in metrics] == [int(RUNNING_AT - 3600 + 600 * i) for i in range(7)]
    assert {m.value for m in metrics} == {42.0}
    # CloudMonitor reads the same rows
    assert dsw_cloud.timeline.latest("acs_pai_dsw", "CpuCoreUsage", instance_id, at=RUNNING_AT).value == 42.0


@pytest.mark.parametrize(
    ("query", "code", "fragment"),
    [
        ({}, "ValidationError", "MetricType is required"),
        ({"metric_type": "Happiness"}, "ValidationError", "MetricType is invalid"),
        ({"metric_type": "CpuCoreUsage", "start_time": "yesterday"}, "ValidationError", "StartTime is invalid"),
        ({"metric_type": "CpuCoreUsage", "start_time": iso(T0 + 60), "end_time": iso(T0)}, "ValidationError", "is after"),
        ({"metric_type": "CpuCoreUsage", "time_step": "soon"}, "ValidationError", "TimeStep is invalid"),
    ],
)
def test_get_instance_metrics_errors(dsw, dsw_cloud, query, code, fragment):
    instance_id = running(dsw, dsw_cloud)
    err = fail(lambda: dsw.get_instance_metrics(instance_id, models.GetInstanceMetricsRequest(**query)))
    assert (err.code, err.status_code) == (code, 400) and fragment in err.data["Message"]


def test_get_instance_metrics_of_an_unknown_instance_is_404(dsw):
    err = fail(lambda: dsw.get_instance_metrics("dsw-nope", models.GetInstanceMetricsRequest(metric_type="CpuCoreUsage")))
    assert (err.code, err.status_code) == ("InstanceNotFound", 404)


def test_the_usage_control_route_validates_and_reports(dsw, dsw_cloud):
    instance_id = running(dsw, dsw_cloud)
    assert seed(dsw_cloud, "dsw-nope", {"metric": "CpuCoreUsage", "value": 1})[0] == 404
    for bad in ({"metric": "Fun", "value": 1}, {"metric": "CpuCoreUsage"}, {"metric": "CpuCoreUsage", "value": -1},
                {"metric": "CpuCoreUsage", "points": [[0]]}, {"metric": "CpuCoreUsage", "value": 1, "extra": 1}):
        status, body = seed(dsw_cloud, instance_id, bad)
        assert (status, body["Code"]) == (400, "InvalidRequest"), bad
    series = [{"metric": "CpuCoreUsage", "value": 3, "duration": 120}, {"metric": "GpuCoreUsage", "points": [[0, 1]]}]
    assert seed(dsw_cloud, instance_id, {"series": series}) == (200, {"instanceId": instance_id, "samples": 4})
    culler(dsw, instance_id)
    report = requests.get(f"{dsw_cloud.url}/_localcloud/dsw/instances/{instance_id}/usage", timeout=5).json()
    assert report["metrics"]["CpuCoreUsage"] == [[RUNNING_AT + 60 * i, 3.0] for i in range(3)]
    assert (report["idleNow"], report["idleTimeInMinutes"], report["acceleratorType"]) == (True, 0, "GPU")


# -- the native idle culler -------------------------------------------------------------------------
def test_acceptance_an_idle_gpu_instance_is_stopped_by_its_culler_after_60_minutes(dsw, dsw_cloud):
    # Given a running GPU instance with a culler (GPU < 5 % for 60 min) and an idle usage timeline
    instance_id = running(dsw, dsw_cloud)
    body = culler(dsw, instance_id, gpu=5, minutes=60)
    assert (body.success, body.instance_id) == (True, instance_id)
    for metric, value in (("GpuCoreUsage", 1.5), ("CpuCoreUsage", 3.0)):
        seed(dsw_cloud, instance_id, {"metric": metric, "value": value, "duration": 3 * 3600, "step": 60})
    # When 59 simulated minutes pass, it still runs and reports its idle time
    dsw_cloud.advance(59 * 60)
    instance = get(dsw, instance_id)
    assert instance.status == "Running" and instance.idle_instance_culler.idle_time_in_minutes == 59
    assert dsw.get_idle_instance_culler(instance_id).body.idle_time_in_minutes == 59
    # And at exactly 60 idle minutes the limit is reached but not exceeded
    dsw_cloud.advance(60)
    assert get(dsw, instance_id).status == "Running"
    # Then just after 60 minutes localcloud itself stops it, saying its culler did
    dsw_cloud.advance(1)
    instance = get(dsw, instance_id)
    assert instance.status == "Stopping" and instance.reason_code == "IdleInstanceCuller"
    assert "GPU < 5%" in instance.reason_message and "60 minutes" in instance.reason_message
    assert instance.accumulated_running_time_in_ms == 3600 * 1000  # it ran exactly until the limit
    dsw_cloud.advance(5)
    assert get(dsw, instance_id).status == "Stopped"
    assert get(dsw, instance_id).idle_instance_culler.idle_time_in_minutes == 0


def test_a_busy_gpu_keeps_the_instance_running(dsw, dsw_cloud):
    # Given idle CPU but a busy GPU
    instance_id = running(dsw, dsw_cloud)
    culler(dsw, instance_id, gpu=5, minutes=60)
    dsw_service(dsw_cloud).seed_usage(instance_id, "CpuCoreUsage", value=1.0, duration=4 * 3600)
    dsw_service(dsw_cloud).seed_usage(instance_id, "GpuCoreUsage", value=80.0, duration=4 * 3600)
    # When three hours pass, it keeps running and is never idle
    dsw_cloud.advance(3 * 3600)
    instance = get(dsw, instance_id)
    assert instance.status == "Running" and instance.idle_instance_culler.idle_time_in_minutes == 0


def test_a_busy_spell_resets_the_idle_streak(dsw, dsw_cloud):
    instance_id = running(dsw, dsw_cloud)
    culler(dsw, instance_id, gpu=5, minutes=60)
    service = dsw_service(dsw_cloud)
    service.seed_usage(instance_id, "CpuCoreUsage", value=1.0)
    # idle for 50 min, busy for 10, idle again
    service.seed_usage(instance_id, "GpuCoreUsage", points=[[0, 1.0], [50 * 60, 70.0], [60 * 60, 1.0]])
    dsw_cloud.advance(110 * 60)
    assert get(dsw, instance_id).status == "Running"
    assert get(dsw, instance_id).idle_instance_culler.idle_time_in_minutes == 50
    dsw_cloud.advance(10 * 60 + 1)
    assert get(dsw, instance_id).status == "Stopping"


def test_no_samples_means_not_idle_and_cpu_instances_ignore_the_gpu(dsw, dsw_cloud):
    # Given a GPU instance with CPU samples only, and a CPU instance with idle CPU samples
    gpu_instance = running(dsw, dsw_cloud, "nb_gpu")
    cpu_instance = running(dsw, dsw_cloud, "nb_cpu", spec=CPU_SPEC)
    start = dsw_cloud.clock.now()
    for instance_id in (gpu_instance, cpu_instance):
        culler(dsw, instance_id, minutes=30)
        dsw_service(dsw_cloud).seed_usage(instance_id, "CpuCoreUsage", value=1.0, start=start)
    # When two hours pass
    dsw_cloud.advance(2 * 3600)
    # Then the GPU instance (no GPU samples: not idle) runs, the CPU one was culled after 30 minutes
    assert get(dsw, gpu_instance).status == "Running"
    stopped = get(dsw, cpu_instance)
    assert (stopped.status, stopped.reason_code) == ("Stopped", "IdleInstanceCuller")
    assert stopped.accumulated_running_time_in_ms == (start - (T0 + 20) + 30 * 60) * 1000


def test_the_culler_counts_idle_time_only_since_it_exists_and_acts_again_after_a_restart(dsw, dsw_cloud):
    instance_id = running(dsw, dsw_cloud)
    service = dsw_service(dsw_cloud)
    service.seed_usage(instance_id, "CpuCoreUsage", value=1.0, start=RUNNING_AT)
    service.seed_usage(instance_id, "GpuCoreUsage", value=1.0, start=RUNNING_AT)
    dsw_cloud.advance(3 * 3600)  # idle for three hours, no culler yet
    culler(dsw, instance_id, minutes=10)
    assert get(dsw, instance_id).idle_instance_culler.idle_time_in_minutes == 0
    dsw_cloud.advance(10 * 60 + 1)
    assert get(dsw, instance_id).status == "Stopping"
    dsw_cloud.advance(5)
    dsw.start_instance(instance_id)
    dsw_cloud.advance(8)
    assert get(dsw, instance_id).status == "Running"
    dsw_cloud.advance(9 * 60)
    assert get(dsw, instance_id).idle_instance_culler.idle_time_in_minutes == 9
    dsw_cloud.advance(2 * 60)
    assert get(dsw, instance_id).status == "Stopped"
    assert get(dsw, instance_id).reason_code == "IdleInstanceCuller"


def test_culler_create_get_delete_and_errors(dsw, dsw_cloud):
    instance_id = running(dsw, dsw_cloud)
    assert fail(lambda: dsw.get_idle_instance_culler(instance_id)).code == "IdleInstanceCullerNotFound"
    assert fail(lambda: dsw.delete_idle_instance_culler(instance_id)).status_code == 404
    for kwargs in ({"cpu_percent_threshold": 0, "max_idle_time_in_minutes": 60},
                   {"gpu_percent_threshold": 101, "max_idle_time_in_minutes": 60}, {"cpu_percent_threshold": 10}):
        err = fail(lambda k=kwargs: dsw.create_idle_instance_culler(instance_id, models.CreateIdleInstanceCullerRequest(**k)))
        assert (err.code, err.status_code) == ("ValidationError", 400)
    request = models.CreateIdleInstanceCullerRequest(max_idle_time_in_minutes=60)
    assert fail(lambda: dsw.create_idle_instance_culler("dsw-nope", request)).code == "InstanceNotFound"
    dsw.create_idle_instance_culler(instance_id, request)
    body = dsw.get_idle_instance_culler(instance_id).body
    assert (body.cpu_percent_threshold, body.gpu_percent_threshold, body.max_idle_time_in_minutes) == (20, 10, 60)
    assert (body.success, body.instance_id, body.idle_time_in_minutes) == (True, instance_id, 0)
    # A deleted culler stops nothing
    assert dsw.delete_idle_instance_culler(instance_id).body.success is True
    dsw_service(dsw_cloud).seed_usage(instance_id, "CpuCoreUsage", value=1.0)
    dsw_service(dsw_cloud).seed_usage(instance_id, "GpuCoreUsage", value=1.0)
    dsw_cloud.advance(2 * 3600)
    assert get(dsw, instance_id).status == "Running" and get(dsw, instance_id).idle_instance_culler is None


def test_the_ticker_culls_without_anyone_asking(dsw, dsw_cloud):
    # Given an idle instance with a 1-minute culler and a running (not frozen) clock
    instance_id = running(dsw, dsw_cloud)
    culler(dsw, instance_id, minutes=1)
    dsw_service(dsw_cloud).seed_usage(instance_id, "CpuCoreUsage", value=1.0)
    dsw_service(dsw_cloud).seed_usage(instance_id, "GpuCoreUsage", value=1.0)
    dsw_cloud.clock.advance(61)  # no tick: only the background ticker will notice
    backend = dsw_service(dsw_cloud).backend
    for _ in range(40):
        if backend.instances[instance_id].status != "Running":
            break
        time.sleep(0.05)
    assert backend.instances[instance_id].status == "Stopping"
