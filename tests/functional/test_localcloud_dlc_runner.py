"""DLC jobs with an effect: the simulated runner's checkpoints and model on OSS, stopping and
resuming, fault rules (preemption, failure, hang, delay, timeout), exec mode running a real
command, and status events on the workspace bus — all through the real SDK clients."""

from __future__ import annotations

import json

import pytest
from alibabacloud_eventbridge20200401 import models as eb_models
from alibabacloud_eventbridge20200401.client import Client as EbClient
from alibabacloud_pai_dlc20201203 import models
from alibabacloud_tea_openapi.models import Config

from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
from pai_autopilot.events import dlc_job_status, is_dlc_job_event, parse_event
from tests.functional.dlc_support import (
    T0,
    bucket,
    control,
    dlc_client,
    fault,
    get,
    history,
    job_request,
    keys,
    spot_specs,
    training_envs,
    wait_status,
)

CKPT = "checkpoints/demo/run-1/"


def logs(dlc, job_id: str) -> list[str]:
    pod = get(dlc, job_id).pods[0]
    return dlc.get_pod_logs(job_id, pod.pod_id, models.GetPodLogsRequest()).body.logs


@pytest.fixture
def dlc(cloud):
    cloud.clock.freeze(T0)
    return dlc_client(cloud)


@pytest.fixture
def bkt(cloud):
    return bucket(cloud)


# -- simulated runner: checkpoints and model ----------------------------------------------------
def test_a_simulated_job_writes_checkpoints_with_markers_then_its_model(cloud, dlc, bkt):
    # Given a job of 30 steps, checkpointing every 10, with the project's Envs
    envs = training_envs("run-1", total_steps=30, checkpoint_every=10)
    job_id = dlc.create_job(job_request("run-1", Envs=envs)).body.job_id
    # When the clock passes its run (Running at T0+8, 1 step/s, each marker 1 s after its files)
    cloud.advance(8)
    assert keys(bkt, "checkpoints/") == []
    cloud.advance(10.5)  # step 10 reached at T0+18; its marker is still being written
    assert keys(bkt, CKPT) == [f"{CKPT}step-10/model.pt"]
    cloud.advance(30)
    # Then every checkpoint is complete, and the model landed with _SUCCESS, then the job succeeded
    assert keys(bkt, CKPT) == [f"{CKPT}step-{n}/{f}" for n in (10, 20, 30) for f in ("_COMPLETE", "model.pt")]
    assert keys(bkt, "models/demo/run-1/") == [f"models/demo/run-1/{f}" for f in ("_SUCCESS", "metrics.json", "model.pt")]
    metrics = json.loads(bkt.get_object("models/demo/run-1/metrics.json").read())
    assert metrics["step"] == 30 and metrics["resumed_from_step"] == 0 and metrics["job_id"] == job_id
    job = get(dlc, job_id)
    assert job.status == "Succeeded" and job.gmt_successed_time == "2027-01-15T08:00:39Z"
    # And the writes went through OSS: each published its notification, markers after their files
    written = [p["event"]["data"]["oss"]["object"]["key"] for p in cloud.eventbridge.state()["published"]
               if p["event"]["source"] == "acs.oss"]
    assert written.index(f"{CKPT}step-10/model.pt") < written.index(f"{CKPT}step-10/_COMPLETE")
    assert written[-1] == "models/demo/run-1/_SUCCESS"


def test_stopping_mid_run_keeps_complete_checkpoints_and_a_resumed_job_continues(cloud, dlc, bkt):
    # Given a job checkpointing every 10 steps, each checkpoint taking 2 s to complete
    envs = training_envs("run-1", total_steps=100, checkpoint_every=10, checkpoint_seconds=2)
    job_id = dlc.create_job(job_request("run-1", Envs=envs)).body.job_id
    # When it is stopped at T0+29: step-10 complete (T0+20), step-20 written at T0+28, marker not yet
    cloud.advance(29)
    dlc.stop_job(job_id)
    cloud.advance(60)
    # Then it is Stopped; step-10 is complete and step-20 is half-written (files, no marker), forever
    assert get(dlc, job_id).status == "Stopped"
    assert keys(bkt, CKPT) == [f"{CKPT}step-10/_COMPLETE", f"{CKPT}step-10/model.pt", f"{CKPT}step-20/model.pt"]
    # When a new job resumes from the half-written step, it fails like a script that cannot load it
    bad = dlc.create_job(job_request("run-2", Envs=training_envs("run-2", resume_from=f"oss://bkt/{CKPT}step-20/"))).body.job_id
    cloud.advance(10)
    failed = get(dlc, bad)
    assert (failed.status, failed.reason_code) == ("Failed", "JobFailed") and "incomplete" in failed.reason_message
    # But resuming from the complete step-10 continues from step 10 to the end
    envs = training_envs("run-3", resume_from=f"oss://bkt/{CKPT}step-10/", total_steps=30, checkpoint_every=10)
    resumed = dlc.create_job(job_request("run-3", Envs=envs)).body.job_id
    cloud.advance(8 + 20 + 1)
    assert get(dlc, resumed).status == "Succeeded"
    assert [k.split("/")[-2] for k in keys(bkt, "checkpoints/demo/run-3/") if k.endswith("_COMPLETE")] == ["step-20", "step-30"]
    assert json.loads(bkt.get_object("models/demo/run-3/metrics.json").read())["resumed_from_step"] == 10
    assert f"resuming from oss://bkt/{CKPT}step-10/ (step 10)" in logs(dlc, resumed)


def test_a_job_whose_bucket_is_missing_fails_when_it_writes(cloud, dlc):
    envs = training_envs("run-1", total_steps=10, checkpoint_every=5)
    job_id = dlc.create_job(job_request("run-1", Envs=envs)).body.job_id
    cloud.advance(20)
    job = get(dlc, job_id)
    assert (job.status, job.reason_code) == ("Failed", "JobFailed") and "NoSuchBucket" in job.reason_message


# -- faults ------------------------------------------------------------------------------------
def test_a_preempted_spot_job_ends_in_the_state_and_reason_it_was_told(cloud, dlc, bkt):
    # Given a rule: spot jobs named spot-* are preempted at step 25, ending Stopped with a given reason
    fault(cloud, kind="preempt", name_prefix="spot-", at_step=25, status="Stopped",
          reason_code="SpotReclaimed", reason_message="the spot instance was reclaimed")
    envs = training_envs("run-1", total_steps=100, checkpoint_every=10)
    job_id = dlc.create_job(job_request("spot-run-1", JobSpecs=spot_specs(), Envs=envs)).body.job_id
    # When the clock passes step 25 (Running at T0+10 after bidding: step 25 at T0+35)
    cloud.advance(60)
    # Then it ended as told, after bidding, with evicted pods and its complete checkpoints kept
    job = get(dlc, job_id)
    assert (job.status, job.reason_code, job.reason_message) == ("Stopped", "SpotReclaimed", "the spot instance was reclaimed")
    assert history(dlc, job_id) == ["Creating", "Queuing", "Bidding", "EnvPreparing", "Running", "Stopped"]
    assert job.gmt_stopped_time == "2027-01-15T08:00:35Z"
    assert (job.pods[0].status, job.pods[0].sub_status) == ("Failed", "Evicted")
    assert [k for k in keys(bkt, CKPT) if k.endswith("_COMPLETE")] == [f"{CKPT}step-10/_COMPLETE", f"{CKPT}step-20/_COMPLETE"]
    assert any("Preempted" in e for e in dlc.get_job_events(job_id, models.GetJobEventsRequest()).body.events)


def test_preemption_defaults_to_failed_and_next_n_takes_only_the_next_jobs(cloud, dlc):
    # Given a rule for the next job only, time-based: 12 s after it starts running
    fault(cloud, kind="preempt", next=1, after_seconds=12)
    first = dlc.create_job(job_request("a", JobSpecs=spot_specs())).body.job_id
    second = dlc.create_job(job_request("b", JobSpecs=spot_specs())).body.job_id
    cloud.advance(30)
    # Then the first ended with the default (documented) Failed + assumed reason; the second runs on
    job = get(dlc, first)
    assert (job.status, job.reason_code, job.reason_message) == ("Failed", "JobPreempted", "spot instance reclaimed")
    assert job.gmt_failed_time == "2027-01-15T08:00:22Z"
    assert get(dlc, second).status == "Running"
    # And the global setting changes the default ending
    control(cloud, "PUT", "/settings", {"preempt_status": "Stopped", "preempt_reason_code": "Reclaimed"})
    fault(cloud, kind="preempt", job_id=second)
    cloud.advance(1)
    assert (get(dlc, second).status, get(dlc, second).reason_code) == ("Stopped", "Reclaimed")


def test_a_job_fails_with_the_given_reason_code_at_a_step(cloud, dlc):
    job_id = dlc.create_job(job_request("run-1")).body.job_id
    fault(cloud, kind="fail", job_id=job_id, at_step=15, reason_code="CUDAOutOfMemory", reason_message="CUDA out of memory")
    cloud.advance(60)
    job = get(dlc, job_id)
    assert (job.status, job.reason_code, job.reason_message) == ("Failed", "CUDAOutOfMemory", "CUDA out of memory")
    assert job.gmt_failed_time == "2027-01-15T08:00:23Z" and job.pods[0].sub_status == "Normal"
    assert logs(dlc, job_id)[-1] == "failed at step 15: CUDAOutOfMemory: CUDA out of memory"


def test_a_hanging_job_stays_running_until_stopped(cloud, dlc, bkt):
    job_id = dlc.create_job(job_request("run-1", Envs=training_envs("run-1", total_steps=20))).body.job_id
    fault(cloud, kind="hang", job_id=job_id, at_step=5)
    cloud.advance(3600)
    assert get(dlc, job_id).status == "Running" and keys(bkt, CKPT) == []
    assert logs(dlc, job_id)[-1] == "step 5/20 loss=1.6667"
    dlc.stop_job(job_id)
    cloud.advance(5)
    assert get(dlc, job_id).status == "Stopped"


def test_queueing_delay_and_a_job_stuck_in_queue(cloud, dlc):
    fault(cloud, kind="delay", next=1, seconds=30)
    fault(cloud, kind="hang", name_prefix="stuck-", phase="Queuing")
    delayed = dlc.create_job(job_request("late")).body.job_id
    stuck = dlc.create_job(job_request("stuck-1")).body.job_id
    cloud.advance(20)
    assert get(dlc, delayed).status == "Queuing"
    cloud.advance(15)  # Queuing lasted 2 + 30 s: EnvPreparing from T0+34
    assert get(dlc, delayed).status == "EnvPreparing"
    assert get(dlc, delayed).status_history[2].start_time == "2027-01-15T08:00:34Z"
    cloud.advance(3600)
    assert get(dlc, stuck).status == "Queuing"


def test_a_job_past_its_max_running_time_is_ended(cloud, dlc):
    job_id = dlc.create_job(job_request("run-1", JobMaxRunningTimeMinutes=1, Envs={"LOCALCLOUD_TOTAL_STEPS": "1000"})).body.job_id
    cloud.advance(100)
    job = get(dlc, job_id)
    assert (job.status, job.reason_code, job.gmt_finish_time) == ("Failed", "JobTimeout", "2027-01-15T08:01:08Z")


# -- events ------------------------------------------------------------------------------------
def test_status_changes_are_published_on_the_workspace_bus(cloud, dlc):
    # Given workspace ws-1 is named team-a, and a rule on its bus with an FC target
    assert control(cloud, "PUT", "/workspaces", {"ws-1": "team-a"}).json() == {"ws-1": "team-a"}
    eb = EbClient(Config(access_key_id=LOCAL_ACCESS_KEY_ID, access_key_secret=LOCAL_ACCESS_KEY_SECRET,
                         endpoint=cloud.url.removeprefix("http://"), protocol="http"))
    target = eb_models.CreateRuleRequestEventTargets(
        id="fc", type="acs.fc.function", endpoint=f"acs:fc:{cloud.region}:{cloud.account_id}:functions/job-events",
        push_retry_strategy="BACKOFF_RETRY")
    eb.create_rule(eb_models.CreateRuleRequest(event_bus_name="pai-system-team-a", rule_name="dlc-jobs",
                                               filter_pattern=json.dumps({"source": [{"prefix": "acs."}]}),
                                               event_targets=[target]))
    delivered: list[bytes] = []
    cloud.eventbridge.set_fc_invoker(lambda fn, payload, label: delivered.append(payload))
    try:
        # When a job in ws-1 runs to success, and one in ws-2 (no name set) is created
        job_id = dlc.create_job(job_request("run-1", WorkspaceId="ws-1", Envs={"LOCALCLOUD_TOTAL_STEPS": "5"})).body.job_id
        dlc.create_job(job_request("run-2", WorkspaceId="ws-2"))
        cloud.advance(20)
    finally:
        cloud.eventbridge.set_fc_invoker(None)
    # Then the function got every status change of the ws-1 job, in order, readable by the project's parser
    events = [parse_event(payload) for payload in delivered]
    assert all(is_dlc_job_event(e) for e in events)
    assert [dlc_job_status(e) for e in events] == [
        (job_id, s) for s in ("Creating", "Queuing", "EnvPreparing", "Running", "Succeeded")]
    assert events[-1].data["PreviousStatus"] == "Running" and events[-1].data["WorkspaceName"] == "team-a"
    assert events[0].event_bus_name == "pai-system-team-a"
    assert get(dlc, job_id).workspace_name == "team-a"
    # And the ws-2 job's events went to the bus named after its id
    buses = {p["bus"] for p in cloud.eventbridge.state()["published"] if p["event"]["source"] != "acs.oss"}
    assert buses == {"pai-system-team-a", "pai-system-ws-2"}


# -- exec mode ---------------------------------------------------------------------------------
EXEC_COMMAND = """set -e
echo "rank=$RANK world=$WORLD_SIZE master=$MASTER_ADDR job=$JOB_ID port=$MASTER_PORT"
python -c "
import os
rows = open('/mnt/data/train.csv').read().splitlines()
open(os.environ['LOCALCLOUD_OUTPUT_DIR'] + '/model.txt', 'w').write(str(len(rows)))
os.makedirs(os.environ['LOCALCLOUD_CHECKPOINT_DIR'] + '/step-1')
open(os.environ['LOCALCLOUD_CHECKPOINT_DIR'] + '/step-1/model.pt', 'w').write('w')
open(os.environ['LOCALCLOUD_CHECKPOINT_DIR'] + '/step-1/_COMPLETE', 'w').write('')
"
touch "$LOCALCLOUD_OUTPUT_DIR/_SUCCESS"
echo "read $(wc -l < /mnt/data/train.csv) rows"
"""


def test_exec_mode_runs_the_command_on_the_mounted_dataset_and_uploads_its_output(cloud, dlc, bkt):
    # Given a dataset in OSS and a job running its own command (exec mode)
    bkt.put_object("datasets/demo/v1/train.csv", b"a,1\nb,2\nc,3\n")
    envs = training_envs("run-1", runner="exec")
    job_id = dlc.create_job(job_request("run-1", UserCommand=EXEC_COMMAND, Envs=envs)).body.job_id
    # When it reaches Running on the clock and its process runs
    cloud.advance(8)
    job = wait_status(dlc, job_id, ("Succeeded", "Failed"))
    # Then it read the mounted dataset and its output and checkpoint landed in OSS, markers included
    assert (job.status, job.reason_code) == ("Succeeded", "JobSucceeded"), logs(dlc, job_id)
    assert bkt.get_object("models/demo/run-1/model.txt").read() == b"3"
    assert keys(bkt, "models/demo/run-1/") == ["models/demo/run-1/_SUCCESS", "models/demo/run-1/model.txt"]
    assert keys(bkt, CKPT) == [f"{CKPT}step-1/_COMPLETE", f"{CKPT}step-1/model.pt"]
    # And its logs are the process's output, with DLC's environment
    lines = logs(dlc, job_id)
    assert any(line.startswith(f"rank=0 world=1 master=127.0.0.1 job={job_id} port=") for line in lines)
    assert "read 3 rows" in lines
    assert any("oss://bkt/datasets/demo/v1/ -> /mnt/data/" in line for line in lines)


def test_exec_mode_a_failing_command_fails_the_job_with_its_output_in_the_logs(cloud, dlc, bkt):
    command = "echo starting; echo 'Traceback: boom' >&2; exit 3"
    job_id = dlc.create_job(job_request("run-1", UserCommand=command, Envs=training_envs(runner="exec"))).body.job_id
    cloud.advance(8)
    job = wait_status(dlc, job_id, ("Succeeded", "Failed"))
    assert (job.status, job.reason_code) == ("Failed", "JobFailed") and "exit code 3" in job.reason_message
    assert logs(dlc, job_id)[-2:] == ["starting", "Traceback: boom"]


def test_exec_mode_stop_job_ends_the_process(cloud, dlc, bkt):
    command = "echo sleeping; sleep 30"
    job_id = dlc.create_job(job_request("run-1", UserCommand=command, Envs=training_envs(runner="exec"))).body.job_id
    cloud.advance(8)
    assert wait_status(dlc, job_id, ("Running",)).status == "Running"
    dlc.stop_job(job_id)
    job = wait_status(dlc, job_id, ("Stopped", "Failed"), timeout=8)
    assert (job.status, job.reason_code) == ("Stopped", "JobStoppedByUser")
    assert history(dlc, job_id)[-2:] == ["Stopping", "Stopped"]
