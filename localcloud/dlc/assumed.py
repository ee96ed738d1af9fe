"""Every DLC behaviour localcloud had to choose without a source, in one place.

**Confirmed** (reference/alibaba-api.md §1, the SDK models, and PAI's documentation):

* the job statuses and the terminal ones (``Succeeded``, ``Failed``, ``Stopped``); pod statuses
  ``Pending, Running, Succeeded, Failed, Unknown`` and pod sub-statuses ``Normal, Evicted`` ("such as
  the preemption status", GetJob docstring); the field names of GetJob, ListJobs, StopJob, DeleteJob,
  GetJobEvents (``Events: [str]``) and GetPodLogs (``Logs: [str]``);
* a spot job waits while DLC bids for preemptible resources (the ``Bidding`` status), and "after
  preemptible resources are released, DLC jobs fail and stop running"
  (https://www.alibabacloud.com/help/en/pai/user-guide/use-preemptible-job) — hence
  :data:`PREEMPT_STATUS` ``= "Failed"``;
* status events go to the workspace bus ``pai-system-<WorkspaceName>`` (events-and-syaml.md §2.2).

**Assumed** (unconfirmed — change them here, nowhere else):

* the event ``source``/``type``/``subject``/``data`` shape: imported from
  :mod:`pai_autopilot.events.pai` (the project's single statement of it), never restated here;
* every ``ReasonCode``/``ReasonMessage`` below (DLC's list is not published);
* DLC's own error codes (``JobNotFound``, ``PodNotFound``, ``InvalidJobStatus``) and that StopJob on a
  finished job and DeleteJob on an unfinished one are refused;
* what ``JobMaxRunningTimeMinutes`` does when exceeded (:data:`TIMEOUT_STATUS`), measured from
  ``GmtRunningTime``;
* the text of GetJobEvents lines and the pod id format ``<JobId>-<role>-<index>``;
* how long each phase lasts (:mod:`.settings` holds the defaults; they are controllable).

Example
-------
>>> bus_name("my-ws")
'pai-system-my-ws'
>>> ev = status_event({"JobId": "dlc1", "Status": "Running", "PreviousStatus": "EnvPreparing"},
...                   region="cn-hangzhou", account_id="1")
>>> ev["source"] == PAI_SOURCE, ev["subject"], ev["data"]["Status"], ev["data"]["ReasonCode"]
(True, 'acs:pai:cn-hangzhou:1:job/dlc1', 'Running', '')
"""

from __future__ import annotations

import time
from typing import Any

from pai_autopilot.events.pai import ASSUMED_DLC_JOB_EVENT, DLC_JOB_STATUS_TYPE, PAI_BUS_PREFIX, PAI_SOURCE

__all__ = [
    "DLC_JOB_STATUS_TYPE",
    "PAI_SOURCE",
    "bus_name",
    "event_line",
    "pod_id",
    "status_event",
]

#: Where a preempted spot job ends (documented: it "fails"); a fault rule may say otherwise.
PREEMPT_STATUS = "Failed"
PREEMPT_REASON_CODE = "JobPreempted"
PREEMPT_REASON_MESSAGE = "spot instance reclaimed"
#: A job whose user command failed (exec mode: non-zero exit), or an injected failure by default.
FAIL_REASON_CODE = "JobFailed"
FAIL_REASON_MESSAGE = "the user command exited with an error"
#: StopJob.
STOP_REASON_CODE = "JobStoppedByUser"
STOP_REASON_MESSAGE = "The job was stopped by the user."
#: ``JobMaxRunningTimeMinutes`` exceeded (measured from entering ``Running``).
TIMEOUT_STATUS = "Failed"
TIMEOUT_REASON_CODE = "JobTimeout"
TIMEOUT_REASON_MESSAGE = "The job ran longer than JobMaxRunningTimeMinutes."
#: A job that finished well.
SUCCESS_REASON_CODE = "JobSucceeded"
SUCCESS_REASON_MESSAGE = "The job finished successfully."

#: Error codes (DLC's own are unconfirmed; ``InvalidParameter`` is the generic POP one).
ERROR_JOB_NOT_FOUND = "JobNotFound"
ERROR_POD_NOT_FOUND = "PodNotFound"
ERROR_JOB_STATUS = "InvalidJobStatus"


def bus_name(workspace_name: str) -> str:
    """The workspace bus (confirmed naming): ``pai-system-<WorkspaceName>``."""
    return PAI_BUS_PREFIX + workspace_name


def pod_id(job_id: str, role: str, index: int) -> str:
    """A pod's id, like Kubernetes names a job's replicas (assumed)."""
    return f"{job_id}-{role.lower()}-{index}"


def event_line(at: float, reason: str, message: str, *, kind: str = "Normal") -> str:
    """One GetJobEvents line (assumed Kubernetes-event-like text)."""
    return f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(at))} {kind} {reason} {message}"


def status_event(values: dict[str, Any], *, region: str, account_id: str) -> dict[str, Any]:
    """``source``, ``type``, ``subject`` and ``data`` of a job status event, in the ASSUMED shape of
    :data:`pai_autopilot.events.pai.ASSUMED_DLC_JOB_EVENT`: ``data`` has exactly its keys, filled
    from ``values`` (missing ones are ``""``)."""
    template = ASSUMED_DLC_JOB_EVENT
    data = {key: values.get(key, "") for key in template["data"]}
    subject = (
        template["subject"].replace("<region>", region).replace("<account>", account_id)
        .replace("<JobId>", str(values.get("JobId", "")))
    )
    return {"source": template["source"], "type": template["type"], "subject": subject, "data": data}
