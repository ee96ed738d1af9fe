"""DLC on localcloud through the real alibabacloud_pai_dlc20201203 client (ACS3 signatures verified):
every operation, success and error, and the job lifecycle. The runner (OSS effects, faults, exec
mode, events) is in test_localcloud_dlc_runner.py."""

from __future__ import annotations

import pytest
from alibabacloud_pai_dlc20201203 import models
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.functional.dlc_support import T0, control, dlc_client, fail, get, history, job_request, spot_specs


def test_create_get_and_list_a_job(cloud):
    # Given a DLC client signed with the local credentials
    dlc = dlc_client(cloud)
    # When a job is created
    job_id = dlc.create_job(job_request(WorkspaceId="ws-1")).body.job_id
    # Then GetJob shows it as it was requested, starting its lifecycle
    job = dlc.get_job(job_id, models.GetJobRequest()).body
    assert job.job_id == job_id and job.display_name == "ap-demo-v1" and job.status == "Creating"
    assert job.data_sources[0].uri == "oss://bkt/datasets/demo/v1/"
    assert job.settings.tags == {"autopilot-run-id": "ap-demo-v1"}
    assert job.status_history[0].status == "Creating"
    # And ListJobs finds it by workspace, display name (fuzzy) and tags
    for query in (
        models.ListJobsRequest(workspace_id="ws-1"),
        models.ListJobsRequest(display_name="demo-v"),
        models.ListJobsRequest(tags={"autopilot-run-id": "ap-demo-v1"}),
    ):
        listed = dlc.list_jobs(query).body
        assert [j.job_id for j in listed.jobs] == [job_id] and listed.total_count == 1
    assert dlc.list_jobs(models.ListJobsRequest(tags={"autopilot-run-id": "other"})).body.total_count == 0


def test_jobs_move_through_their_lifecycle_on_the_clock(cloud):
    dlc = dlc_client(cloud)
    cloud.clock.freeze()
    job_id = dlc.create_job(job_request()).body.job_id
    seen = []
    for _ in range(4):
        seen.append(dlc.get_job(job_id, models.GetJobRequest()).body.status)
        cloud.advance(3)
    assert seen == ["Creating", "Queuing", "EnvPreparing", "Running"]
    history = [h.status for h in dlc.get_job(job_id, models.GetJobRequest()).body.status_history]
    assert history == ["Creating", "Queuing", "EnvPreparing", "Running"]


def test_list_jobs_pages_and_sorts(cloud):
    dlc = dlc_client(cloud)
    cloud.clock.freeze(1_800_000_000)
    ids = []
    for i in range(5):
        ids.append(dlc.create_job(job_request(f"job-{i}")).body.job_id)
        cloud.advance(1)
    page1 = dlc.list_jobs(models.ListJobsRequest(page_size=2, page_number=1, order="asc")).body
    page3 = dlc.list_jobs(models.ListJobsRequest(page_size=2, page_number=3, order="asc")).body
    assert [j.job_id for j in page1.jobs] == ids[:2] and [j.job_id for j in page3.jobs] == ids[4:]
    assert page1.total_count == 5
    newest_first = dlc.list_jobs(models.ListJobsRequest(page_size=10)).body.jobs
    assert [j.job_id for j in newest_first] == ids[::-1]


def test_sts_credentials_are_accepted_and_a_wrong_token_is_refused(cloud):
    sts = cloud.credentials.issue_sts()
    ok = dlc_client(cloud, key=sts.access_key_id, secret=sts.access_key_secret, token=sts.security_token)
    assert ok.list_jobs(models.ListJobsRequest()).body.total_count == 0
    bad = dlc_client(cloud, key=sts.access_key_id, secret=sts.access_key_secret, token="CAISforged")
    with pytest.raises(ClientException) as info:
        bad.list_jobs(models.ListJobsRequest())
    assert info.value.code == "InvalidSecurityToken" and info.value.status_code == 403


def test_wrong_secret_gets_a_pop_json_error(cloud):
    # Given a client with a wrong secret
    dlc = dlc_client(cloud, secret="not-the-secret")
    # When it calls DLC, the SDK parses the POP JSON error into a ClientException (no crash)
    with pytest.raises(ClientException) as info:
        dlc.list_jobs(models.ListJobsRequest())
    assert info.value.code == "SignatureDoesNotMatch"
    assert info.value.status_code == 400
    assert info.value.request_id
    assert info.value.data["Code"] == "SignatureDoesNotMatch"


def test_unknown_access_key(cloud):
    with pytest.raises(ClientException) as info:
        dlc_client(cloud, key="LTAIunknown").list_jobs(models.ListJobsRequest())
    assert info.value.code == "InvalidAccessKeyId"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"DisplayName": "has space"}, "DisplayName is invalid: 'has space'"),
        ({"JobType": "SparkJob"}, "JobType is invalid: 'SparkJob'"),
        ({"JobSpecs": []}, "JobSpecs is mandatory"),
        ({"JobSpecs": [{"Type": "Worker", "Image": "img", "PodCount": 1}]}, "needs EcsSpec"),
        ({"Priority": 12}, "Priority must be within [1, 9]"),
    ],
)
def test_invalid_create_job_is_a_400_with_the_offending_value(cloud, change, fragment):
    with pytest.raises(ClientException) as info:
        dlc_client(cloud).create_job(job_request(**change))
    assert info.value.code == "InvalidParameter" and info.value.status_code == 400
    assert fragment in info.value.data["Message"]


def test_get_unknown_job_is_404(cloud):
    with pytest.raises(ClientException) as info:
        dlc_client(cloud).get_job("dlcnope", models.GetJobRequest())
    assert (info.value.code, info.value.status_code) == ("JobNotFound", 404)


def test_unknown_product_version_is_a_pop_error(cloud):
    import requests

    response = requests.get(cloud.url + "/api/v2/services", headers={"x-acs-version": "2099-01-01", "x-acs-action": "X"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["Code"] == "InvalidVersion"


# -- the full lifecycle -------------------------------------------------------------------------
def test_a_job_runs_to_success_with_pods_timestamps_and_history(cloud):
    # Given a frozen clock and a short simulated job of 2 pods (no OSS URIs: no writes)
    dlc = dlc_client(cloud)
    cloud.clock.freeze(T0)
    specs = [{"Type": "Worker", "Image": "img:1", "PodCount": 2, "EcsSpec": "ecs.c6.large"}]
    job_id = dlc.create_job(job_request(JobSpecs=specs, Envs={"LOCALCLOUD_TOTAL_STEPS": "20"})).body.job_id
    # Then it has no pods before EnvPreparing, and pending pods during it
    assert get(dlc, job_id).pods in (None, [])
    cloud.advance(5)
    preparing = get(dlc, job_id)
    assert preparing.status == "EnvPreparing" and [p.status for p in preparing.pods] == ["Pending", "Pending"]
    # When it runs (from T0+8) and finishes its 20 steps at 1 step/s
    cloud.advance(5)
    running = get(dlc, job_id)
    assert running.status == "Running" and running.gmt_running_time == "2027-01-15T08:00:08Z"
    assert [p.status for p in running.pods] == ["Running", "Running"] and running.gmt_finish_time is None
    cloud.advance(30)
    done = get(dlc, job_id)
    # Then it succeeded at T0+28, with every timestamp, its pods finished and the whole history
    assert (done.status, done.reason_code) == ("Succeeded", "JobSucceeded")
    assert done.gmt_finish_time == done.gmt_successed_time == "2027-01-15T08:00:28Z"
    assert done.gmt_failed_time is None and done.gmt_stopped_time is None and done.duration == 28
    assert [(p.pod_id, p.type, p.status, p.sub_status) for p in done.pods] == [
        (f"{job_id}-worker-0", "Worker", "Succeeded", "Normal"), (f"{job_id}-worker-1", "Worker", "Succeeded", "Normal")]
    assert done.pods[0].pod_uid and done.pods[0].ip and done.pods[0].gmt_start_time == "2027-01-15T08:00:08Z"
    assert history(dlc, job_id) == ["Creating", "Queuing", "EnvPreparing", "Running", "Succeeded"]
    assert done.status_history[-2].end_time == done.status_history[-1].start_time == "2027-01-15T08:00:28Z"
    assert done.status_history[-1].end_time is None


def test_a_spot_job_bids_before_preparing(cloud):
    dlc = dlc_client(cloud)
    cloud.clock.freeze(T0)
    job_id = dlc.create_job(job_request(JobSpecs=spot_specs())).body.job_id
    seen = []
    for _ in range(6):
        seen.append(get(dlc, job_id).status)
        cloud.advance(2)
    assert seen == ["Creating", "Queuing", "Bidding", "EnvPreparing", "EnvPreparing", "Running"]


def test_list_jobs_filters_by_status_and_sorts_by_finish_time(cloud):
    dlc = dlc_client(cloud)
    cloud.clock.freeze(T0)
    slow = dlc.create_job(job_request("slow", Envs={"LOCALCLOUD_TOTAL_STEPS": "30"})).body.job_id
    fast = dlc.create_job(job_request("fast", Envs={"LOCALCLOUD_TOTAL_STEPS": "10"})).body.job_id
    running = dlc.create_job(job_request("long", Envs={"LOCALCLOUD_TOTAL_STEPS": "1000"})).body.job_id
    cloud.advance(60)
    done = dlc.list_jobs(models.ListJobsRequest(status="Succeeded", sort_by="GmtFinishTime", order="asc")).body
    assert [j.job_id for j in done.jobs] == [fast, slow] and done.total_count == 2
    assert [j.job_id for j in dlc.list_jobs(models.ListJobsRequest(status="Running")).body.jobs] == [running]
    assert done.jobs[0].gmt_finish_time == "2027-01-15T08:00:18Z"


def test_list_jobs_refuses_an_unknown_sort_key_or_status(cloud):
    dlc = dlc_client(cloud)
    err = fail(lambda: dlc.list_jobs(models.ListJobsRequest(sort_by="Size")))
    assert (err.code, err.status_code) == ("InvalidParameter", 400) and "SortBy is invalid: 'Size'" in err.data["Message"]
    err = fail(lambda: dlc.list_jobs(models.ListJobsRequest(status="Done")))
    assert "Status is invalid: 'Done'" in err.data["Message"]


# -- StopJob, DeleteJob --------------------------------------------------------------------------
def test_stop_job_passes_through_stopping(cloud):
    # Given a running job
    dlc = dlc_client(cloud)
    cloud.clock.freeze(T0)
    job_id = dlc.create_job(job_request()).body.job_id
    cloud.advance(10)
    # When it is stopped
    response = dlc.stop_job(job_id).body
    # Then it is Stopping at once, then Stopped, with the stop's reason and time
    assert response.job_id == job_id and get(dlc, job_id).status == "Stopping"
    assert dlc.stop_job(job_id).body.job_id == job_id  # stopping a stopping job is a no-op
    cloud.advance(3)
    job = get(dlc, job_id)
    assert (job.status, job.reason_code) == ("Stopped", "JobStoppedByUser")
    assert job.gmt_stopped_time == job.gmt_finish_time == "2027-01-15T08:00:12Z"
    assert history(dlc, job_id)[-3:] == ["Running", "Stopping", "Stopped"]


def test_stop_job_errors(cloud):
    dlc = dlc_client(cloud)
    cloud.clock.freeze(T0)
    err = fail(lambda: dlc.stop_job("dlcnope"))
    assert (err.code, err.status_code) == ("JobNotFound", 404)
    job_id = dlc.create_job(job_request(Envs={"LOCALCLOUD_TOTAL_STEPS": "0"})).body.job_id
    cloud.advance(10)
    assert get(dlc, job_id).status == "Succeeded"
    err = fail(lambda: dlc.stop_job(job_id))
    assert (err.code, err.status_code) == ("InvalidJobStatus", 400) and "in status Succeeded" in err.data["Message"]


def test_delete_job_removes_a_finished_job_and_refuses_a_running_one(cloud):
    dlc = dlc_client(cloud)
    cloud.clock.freeze(T0)
    job_id = dlc.create_job(job_request()).body.job_id
    # A running job cannot be deleted
    err = fail(lambda: dlc.delete_job(job_id))
    assert (err.code, err.status_code) == ("InvalidJobStatus", 400) and "stop it first" in err.data["Message"]
    # Once stopped it can, and then it is gone
    dlc.stop_job(job_id)
    cloud.advance(5)
    assert dlc.delete_job(job_id).body.job_id == job_id
    assert fail(lambda: get(dlc, job_id)).code == "JobNotFound"
    assert dlc.list_jobs(models.ListJobsRequest()).body.total_count == 0
    assert fail(lambda: dlc.delete_job(job_id)).status_code == 404


# -- GetJobEvents, GetPodLogs -------------------------------------------------------------------
def test_get_job_events(cloud):
    dlc = dlc_client(cloud)
    cloud.clock.freeze(T0)
    job_id = dlc.create_job(job_request()).body.job_id
    cloud.advance(10)
    events = dlc.get_job_events(job_id, models.GetJobEventsRequest()).body
    assert events.job_id == job_id
    assert any("Creating -> Queuing" in line for line in events.events)
    assert any("EnvPreparing -> Running" in line for line in events.events)
    assert any("PodCreated" in line for line in events.events)
    # A window and a limit: the newest MaxEventsNum within StartTime..EndTime
    window = models.GetJobEventsRequest(start_time="2027-01-15T08:00:03Z", end_time="2027-01-15T08:00:05Z")
    assert [e.split(" ", 1)[1] for e in dlc.get_job_events(job_id, window).body.events] == [
        f"Normal JobEnvPreparing job {job_id} Queuing -> EnvPreparing", f"Normal PodCreated pod {job_id}-worker-0 scheduled"]
    assert len(dlc.get_job_events(job_id, models.GetJobEventsRequest(max_events_num=2)).body.events) == 2


def test_get_job_events_errors(cloud):
    dlc = dlc_client(cloud)
    err = fail(lambda: dlc.get_job_events("dlcnope", models.GetJobEventsRequest()))
    assert (err.code, err.status_code) == ("JobNotFound", 404)
    job_id = dlc.create_job(job_request()).body.job_id
    err = fail(lambda: dlc.get_job_events(job_id, models.GetJobEventsRequest(start_time="yesterday")))
    assert err.code == "InvalidParameter" and "Invalid StartTime 'yesterday'" in err.data["Message"]


def test_get_pod_logs(cloud):
    dlc = dlc_client(cloud)
    cloud.clock.freeze(T0)
    job_id = dlc.create_job(job_request(Envs={"LOCALCLOUD_TOTAL_STEPS": "30"})).body.job_id
    cloud.advance(60)
    pod = get(dlc, job_id).pods[0]
    logs = dlc.get_pod_logs(job_id, pod.pod_id, models.GetPodLogsRequest(pod_uid=pod.pod_uid)).body
    assert (logs.job_id, logs.pod_id, logs.pod_uid) == (job_id, pod.pod_id, pod.pod_uid)
    assert "step 30/30 loss=0.625" in logs.logs and logs.logs[-1] == "training finished"
    tail = dlc.get_pod_logs(job_id, pod.pod_id, models.GetPodLogsRequest(max_lines=2)).body.logs
    assert tail == logs.logs[-2:]


def test_get_pod_logs_errors(cloud):
    dlc = dlc_client(cloud)
    cloud.clock.freeze(T0)
    job_id = dlc.create_job(job_request()).body.job_id
    # No pod before EnvPreparing; an unknown pod; a pod with the wrong uid
    err = fail(lambda: dlc.get_pod_logs(job_id, f"{job_id}-worker-0", models.GetPodLogsRequest()))
    assert (err.code, err.status_code) == ("PodNotFound", 404)
    cloud.advance(10)
    assert fail(lambda: dlc.get_pod_logs(job_id, "nope", models.GetPodLogsRequest())).code == "PodNotFound"
    wrong_uid = models.GetPodLogsRequest(pod_uid="not-the-uid")
    assert fail(lambda: dlc.get_pod_logs(job_id, f"{job_id}-worker-0", wrong_uid)).code == "PodNotFound"
    assert fail(lambda: dlc.get_pod_logs("dlcnope", "p", models.GetPodLogsRequest())).code == "JobNotFound"


# -- control routes -----------------------------------------------------------------------------
def test_control_settings_and_faults_validate_their_input(cloud):
    assert control(cloud, "GET", "/settings").json()["total_steps"] == 100
    ok = control(cloud, "PUT", "/settings", {"total_steps": 5, "phase_seconds": {"Queuing": 30}})
    assert ok.status_code == 200 and ok.json()["phase_seconds"]["Queuing"] == 30 and ok.json()["phase_seconds"]["Creating"] == 2
    bad = control(cloud, "PUT", "/settings", {"total_step": 5})
    assert bad.status_code == 400 and "unknown setting(s) ['total_step']" in bad.json()["Message"]
    assert control(cloud, "PUT", "/settings", {"preempt_status": "Gone"}).status_code == 400
    assert control(cloud, "POST", "/faults", {"kind": "explode", "next": 1}).status_code == 400
    assert "exactly one of" in control(cloud, "POST", "/faults", {"kind": "preempt"}).json()["Message"]
    assert control(cloud, "POST", "/faults", {"kind": "preempt", "job_id": "dlcnope"}).status_code == 404
    assert control(cloud, "DELETE", "/faults/99").status_code == 404
    assert control(cloud, "GET", "/nothing").status_code == 404
    # And reset restores the defaults
    cloud.reset()
    assert control(cloud, "GET", "/settings").json()["total_steps"] == 100


def test_create_job_refuses_bad_localcloud_envs(cloud):
    err = fail(lambda: dlc_client(cloud).create_job(job_request(Envs={"LOCALCLOUD_RUNNER": "docker"})))
    assert err.code == "InvalidParameter" and "LOCALCLOUD_RUNNER must be one of simulated, exec" in err.data["Message"]
