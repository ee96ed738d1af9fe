"""DSW instance lifecycles on localcloud's clock: create, stop (and save an image), start, delete,
batch stop and shutdown timers, through the real alibabacloud_pai_dsw20220101 client."""

from __future__ import annotations

from alibabacloud_pai_dsw20220101 import models

from localcloud.dsw.times import iso

from . import dsw_support
from .dsw_support import T0, create, fail, get, running

dsw_cloud, dsw = dsw_support.dsw_cloud, dsw_support.dsw  # the fixtures, for this module


def statuses(dsw, cloud, instance_id, steps):
    """The status after each ``advance(seconds)`` in ``steps`` (the first read before any)."""
    seen = [get(dsw, instance_id).status]
    for seconds in steps:
        cloud.advance(seconds)
        seen.append(get(dsw, instance_id).status)
    return seen


def test_an_instance_is_created_then_runs_and_accumulates_running_time(dsw, dsw_cloud):
    # Given a frozen clock, when an instance is created
    instance_id = create(dsw)
    # Then it goes Creating → ResourceAllocating → EnvPreparing → Running as the clock passes
    assert statuses(dsw, dsw_cloud, instance_id, [2, 3, 5]) == ["Creating", "ResourceAllocating", "EnvPreparing", "Running"]
    # And its running time grows only while Running
    dsw_cloud.advance(90)
    assert get(dsw, instance_id).accumulated_running_time_in_ms == 90_000


def test_stop_then_start_again(dsw, dsw_cloud):
    instance_id = running(dsw, dsw_cloud)
    dsw_cloud.advance(60)
    # When it is stopped
    response = dsw.stop_instance(instance_id, models.StopInstanceRequest(save_image=False)).body
    assert (response.instance_id, response.success, response.code) == (instance_id, True, "200")
    # Then it goes Stopping → Stopped and its running time stops growing
    assert statuses(dsw, dsw_cloud, instance_id, [5, 600]) == ["Stopping", "Stopped", "Stopped"]
    body = get(dsw, instance_id)
    assert body.accumulated_running_time_in_ms == 60_000 and body.reason_code == ""
    # When it is started again it goes Starting → EnvPreparing → Running
    assert dsw.start_instance(instance_id).body.instance_id == instance_id
    assert statuses(dsw, dsw_cloud, instance_id, [3, 5]) == ["Starting", "EnvPreparing", "Running"]
    dsw_cloud.advance(30)
    assert get(dsw, instance_id).accumulated_running_time_in_ms == 90_000


def test_start_and_stop_in_the_wrong_status_are_validation_errors(dsw, dsw_cloud):
    instance_id = running(dsw, dsw_cloud)
    err = fail(lambda: dsw.start_instance(instance_id))
    assert (err.code, err.status_code) == ("ValidationError", 400) and "is Running" in err.data["Message"]
    dsw.stop_instance(instance_id, models.StopInstanceRequest())
    dsw_cloud.advance(5)
    err = fail(lambda: dsw.stop_instance(instance_id, models.StopInstanceRequest()))
    assert err.code == "ValidationError" and "is Stopped" in err.data["Message"]
    assert fail(lambda: dsw.start_instance("dsw-nope")).code == "InstanceNotFound"
    assert fail(lambda: dsw.stop_instance("dsw-nope", models.StopInstanceRequest())).code == "InstanceNotFound"


def test_stop_with_save_image_commits_pushes_and_saves_a_snapshot(dsw, dsw_cloud):
    instance_id = running(dsw, dsw_cloud)
    # When it is stopped with SaveImage (sent as a capitalised query boolean)
    dsw.stop_instance(instance_id, models.StopInstanceRequest(save_image=True))
    seen = []
    for seconds in (0, 3, 5, 5):
        dsw_cloud.advance(seconds)
        body = get(dsw, instance_id)
        seen.append((body.status, body.latest_snapshot.status))
    # Then the instance goes Stopping → Saving → Saved while the snapshot goes Committing → Pushing → Saved
    assert seen == [("Stopping", "Committing"), ("Saving", "Committing"), ("Saving", "Pushing"), ("Saved", "Saved")]
    snapshot = get(dsw, instance_id).latest_snapshot
    assert instance_id in snapshot.image_url and snapshot.gmt_create_time == iso(T0 + 10)
    assert [s.status for s in get(dsw, instance_id).instance_snapshot_list] == ["Saved"]
    # And a Saved instance can be started again
    dsw.start_instance(instance_id)
    assert get(dsw, instance_id).status == "Starting"


def test_delete_goes_through_deleting_then_the_instance_is_gone(dsw, dsw_cloud):
    instance_id = running(dsw, dsw_cloud)
    assert dsw.delete_instance(instance_id).body.instance_id == instance_id
    assert get(dsw, instance_id).status == "Deleting"
    err = fail(lambda: dsw.delete_instance(instance_id))
    assert err.code == "ValidationError" and "is Deleting" in err.data["Message"]
    dsw_cloud.advance(3)
    assert fail(lambda: get(dsw, instance_id)).code == "InstanceNotFound"
    assert dsw.list_instances(models.ListInstancesRequest()).body.total_count == 0
    assert fail(lambda: dsw.delete_instance(instance_id)).status_code == 404


def test_stop_instances_stops_the_stoppable_ones(dsw, dsw_cloud):
    # Given two running instances and one stopped
    first, second, third = (running(dsw, dsw_cloud, f"nb_{i}") for i in range(3))
    dsw.stop_instance(third, models.StopInstanceRequest())
    dsw_cloud.advance(5)
    # When all three are stopped in one batch
    body = dsw.stop_instances(models.StopInstancesRequest(instance_ids=[first, second, third])).body
    # Then the two running ones are stopped and returned
    assert body.success is True and body.instance_ids == [first, second]
    assert [get(dsw, i).status for i in (first, second, third)] == ["Stopping", "Stopping", "Stopped"]
    # And a batch naming an unknown instance, or none, fails as a whole
    assert fail(lambda: dsw.stop_instances(models.StopInstancesRequest(instance_ids=[first, "dsw-nope"]))).code == "InstanceNotFound"
    assert fail(lambda: dsw.stop_instances(models.StopInstancesRequest(instance_ids=[]))).code == "ValidationError"


def test_a_shutdown_timer_stops_the_instance_at_its_due_time(dsw, dsw_cloud):
    # Given a running instance with a shutdown timer due in 30 minutes
    instance_id = running(dsw, dsw_cloud)
    due = T0 + 10 + 1800
    request = models.CreateInstanceShutdownTimerRequest(due_time=iso(due))
    assert dsw.create_instance_shutdown_timer(instance_id, request).body.instance_id == instance_id
    timer = dsw.get_instance_shutdown_timer(instance_id).body
    assert (timer.due_time, timer.remaining_time_in_ms, timer.success) == (iso(due), 1_800_000, True)
    assert get(dsw, instance_id).instance_shutdown_timer.due_time == iso(due)
    # When the clock reaches a second before the due time, it still runs
    dsw_cloud.advance(1799)
    assert get(dsw, instance_id).status == "Running"
    assert dsw.get_instance_shutdown_timer(instance_id).body.remaining_time_in_ms == 1000
    # Then at the due time localcloud stops it, says why, and the timer is used up
    dsw_cloud.advance(1)
    body = get(dsw, instance_id)
    assert (body.status, body.reason_code) == ("Stopping", "InstanceShutdownTimer")
    assert body.instance_shutdown_timer is None
    dsw_cloud.advance(5)
    assert get(dsw, instance_id).status == "Stopped"
    assert get(dsw, instance_id).accumulated_running_time_in_ms == 1_800_000


def test_a_shutdown_timer_stops_at_its_due_time_even_when_the_clock_jumps(dsw, dsw_cloud):
    instance_id = running(dsw, dsw_cloud)
    dsw.create_instance_shutdown_timer(instance_id, models.CreateInstanceShutdownTimerRequest(remaining_time_in_ms=600_000))
    dsw_cloud.advance(7200)
    body = get(dsw, instance_id)
    assert body.status == "Stopped" and body.accumulated_running_time_in_ms == 600_000


def test_shutdown_timer_errors_and_delete(dsw, dsw_cloud):
    instance_id = running(dsw, dsw_cloud)
    for request in (models.CreateInstanceShutdownTimerRequest(),
                    models.CreateInstanceShutdownTimerRequest(due_time=iso(T0 - 60)),
                    models.CreateInstanceShutdownTimerRequest(due_time="tomorrow")):
        err = fail(lambda r=request: dsw.create_instance_shutdown_timer(instance_id, r))
        assert (err.code, err.status_code) == ("ValidationError", 400)
    assert fail(lambda: dsw.get_instance_shutdown_timer(instance_id)).code == "InstanceShutdownTimerNotFound"
    assert fail(lambda: dsw.delete_instance_shutdown_timer(instance_id)).status_code == 404
    request = models.CreateInstanceShutdownTimerRequest(remaining_time_in_ms=60_000)
    assert fail(lambda: dsw.create_instance_shutdown_timer("dsw-nope", request)).code == "InstanceNotFound"
    # A deleted timer never fires
    dsw.create_instance_shutdown_timer(instance_id, request)
    assert dsw.delete_instance_shutdown_timer(instance_id).body.success is True
    dsw_cloud.advance(120)
    assert get(dsw, instance_id).status == "Running"


def test_failed_instances_can_be_made_through_the_control_api(dsw, dsw_cloud):
    import requests

    instance_id = running(dsw, dsw_cloud)
    url = f"{dsw_cloud.url}/_localcloud/dsw/instances/{instance_id}/fail"
    response = requests.post(url, json={"reasonCode": "NodeError", "reasonMessage": "the node died"}, timeout=5)
    assert response.status_code == 200 and response.json()["status"] == "Failed"
    body = get(dsw, instance_id)
    assert (body.status, body.reason_code, body.reason_message) == ("Failed", "NodeError", "the node died")
    dsw.start_instance(instance_id)
    assert get(dsw, instance_id).status == "Starting" and get(dsw, instance_id).reason_code == ""
