"""PAI DLC job status events on the workspace bus ``pai-system-<workspace>`` — ASSUMED SHAPE.

What is confirmed (``events-and-syaml.md`` §2.2): PAI publishes DLC job, DSW instance, Flow task
and model-version status events to a custom EventBridge bus per workspace named
``pai-system-<WorkspaceName>``, as CloudEvents. What is **not** confirmed: the ``source`` and
``type`` strings and the ``data`` fields. Everything this project assumes about them lives in
this module, in :data:`ASSUMED_DLC_JOB_EVENT` and the constants below:

* ``source``: ``acs.pai`` (Alibaba's ``acs.<product>`` convention);
* ``type``: ``pai:DLC:JobStatusChanged`` (the ``<product>:<Resource>:<Event>`` convention seen in
  e.g. ``batchcompute:JobStateChange:JobSucceeded``);
* ``subject``: ``acs:pai:<region>:<account>:job/<JobId>``;
* ``data``: GetJob-style PascalCase fields, at least ``JobId`` and ``Status``.

Because the real shape is unknown, the reader is tolerant: :func:`dlc_job_status` finds a job
id under ``JobId``/``jobId``/``job_id`` (in ``data`` or up to two levels below it) or else takes
the last segment of ``subject``, and a status under ``Status``/``status``/``JobStatus``/... or
the ``Job<Status>`` suffix of ``type``. Handlers must still call ``GetJob`` for the truth
(events are hints). Replace the constants once a real event is captured from the bus's
event trace (EventBridge console → the bus → Event Tracking).

Example
-------
>>> ce = CloudEvent(id="1", source=PAI_SOURCE, type=DLC_JOB_STATUS_TYPE,
...                 data={"JobId": "dlc1q2w3e4r5t6y7", "Status": "SUCCEEDED"})
>>> is_dlc_job_event(ce), dlc_job_status(ce)
(True, ('dlc1q2w3e4r5t6y7', 'Succeeded'))
"""

from __future__ import annotations

import re
from typing import Any

from .cloudevents import CloudEvent
from .decode import parse_error

__all__ = [
    "ASSUMED_DLC_JOB_EVENT",
    "DLC_JOB_STATUS_TYPE",
    "DLC_STATUSES",
    "DLC_TERMINAL_STATUSES",
    "PAI_BUS_PREFIX",
    "PAI_SOURCE",
    "dlc_job_status",
    "is_dlc_job_event",
]

STAGE = "pai"

#: ASSUMED ``source`` of PAI events (unconfirmed).
PAI_SOURCE = "acs.pai"
#: ASSUMED ``type`` of a DLC job status change (unconfirmed).
DLC_JOB_STATUS_TYPE = "pai:DLC:JobStatusChanged"
#: The workspace bus name prefix (confirmed): ``pai-system-<WorkspaceName>``.
PAI_BUS_PREFIX = "pai-system-"

#: DLC job statuses (GetJob docstrings, ``alibaba-api.md`` §1); used to normalise case.
DLC_STATUSES = (
    "Creating", "Queuing", "Bidding", "EnvPreparing", "SanityChecking", "Running", "Restarting",
    "Stopping", "SucceededReserving", "FailedReserving", "Succeeded", "Failed", "Stopped",
)
DLC_TERMINAL_STATUSES = ("Succeeded", "Failed", "Stopped")

#: The ASSUMED event, the one place its shape is written down (``events/eventbridgeDlcJobStatus.json``
#: is this with values filled in).
ASSUMED_DLC_JOB_EVENT: dict[str, Any] = {
    "specversion": "1.0",
    "id": "<uuid>",
    "source": PAI_SOURCE,
    "type": DLC_JOB_STATUS_TYPE,
    "subject": "acs:pai:<region>:<account>:job/<JobId>",
    "datacontenttype": "application/json;charset=utf-8",
    "aliyuneventbusname": PAI_BUS_PREFIX + "<WorkspaceName>",
    "data": {
        "JobId": "<JobId>",
        "DisplayName": "<DisplayName>",
        "JobType": "PyTorchJob",
        "WorkspaceId": "<WorkspaceId>",
        "WorkspaceName": "<WorkspaceName>",
        "Status": "<one of DLC_STATUSES>",
        "PreviousStatus": "<one of DLC_STATUSES>",
        "ReasonCode": "",
        "ReasonMessage": "",
        "GmtModifiedTime": "<ISO-8601>",
    },
}

_JOB_ID_KEYS = ("JobId", "jobId", "job_id", "JobID", "jobID")
_STATUS_KEYS = ("Status", "status", "JobStatus", "jobStatus", "job_status", "CurrentStatus", "currentStatus")
_NESTED_KEYS = ("Job", "job", "detail", "Detail", "data", "Data")
_STATUS_BY_LOWER = {s.lower(): s for s in DLC_STATUSES}


def is_dlc_job_event(event: CloudEvent) -> bool:
    """True when ``event`` looks like a DLC job event (tolerant of the unconfirmed shape).

    Matches the assumed source/type, any ``acs.pai*`` source or a ``type`` naming DLC, or a
    ``pai-system-*`` bus event whose ``data`` carries a job id.

    Example
    -------
    >>> is_dlc_job_event(CloudEvent(id="1", source="acs.pai", type="pai:DLC:JobStatusChanged"))
    True
    >>> is_dlc_job_event(CloudEvent(id="1", source="acs.oss", type="oss:ObjectCreated:PutObject"))
    False
    """
    if event.type == DLC_JOB_STATUS_TYPE or "dlc" in event.type.lower():
        return True
    if event.source.startswith(PAI_SOURCE):
        return "job" in event.type.lower() or _find(event.data, _JOB_ID_KEYS) is not None
    return (event.event_bus_name or "").startswith(PAI_BUS_PREFIX) and _find(event.data, _JOB_ID_KEYS) is not None


#: What a DLC job id may look like before it goes into a URL path (``/api/v1/jobs/<id>``). Every
#: sample and every id DLC returns is ``dlc`` + lower-case letters and digits (``dlc1q2w3e4r5t6y7``);
#: the exact alphabet is not documented, so the check is only as strict as a safe path segment
#: needs: letters, digits, ``-`` and ``_``, 1-64 characters, starting with a letter or digit.
JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
JOB_ID_SHAPE = "1-64 letters, digits, '-' or '_'"


def dlc_job_status(event: CloudEvent) -> tuple[str, str | None]:
    """``(job_id, status)`` from a DLC job event, wherever the (unconfirmed) shape puts them.

    The status is normalised to DLC's spelling (``SUCCEEDED`` → ``Succeeded``) when it is a known
    DLC status, returned as delivered otherwise, and ``None`` when the event carries none.
    Raises :class:`~pai_autopilot.errors.EventParseError` when no job id can be found.

    Example
    -------
    >>> dlc_job_status(CloudEvent(id="1", source="acs.pai", type="pai:DLC:JobSucceeded",
    ...                           subject="acs:pai:cn-hangzhou:1:job/dlc9"))
    ('dlc9', 'Succeeded')
    >>> dlc_job_status(CloudEvent(id="1", source="acs.pai", type="t", data={"job": {"jobId": "dlc1"}}))
    ('dlc1', None)
    >>> dlc_job_status(CloudEvent(id="1", source="acs.pai", type="t", data={"JobId": "../jobs/x"}))
    Traceback (most recent call last):
    ...
    pai_autopilot.errors.EventParseError: pai: job id is not 1-64 letters, digits, '-' or '_' at $.data: value '../jobs/x'
    >>> dlc_job_status(CloudEvent(id="1", source="acs.pai", type="t", data={}))
    Traceback (most recent call last):
    ...
    pai_autopilot.errors.EventParseError: pai: no job id in data (JobId/jobId/job_id) nor in subject at $.data: value {}
    """
    data = _data(event)
    job_id = _find(data, _JOB_ID_KEYS, strip=False)
    if job_id is None and event.subject:
        job_id = event.subject.replace(":", "/").rsplit("/", 1)[-1] or None
    if job_id is None:
        raise parse_error(STAGE, "no job id in data (JobId/jobId/job_id) nor in subject", path="$.data",
                          value=event.data)
    if not isinstance(job_id, str) or not JOB_ID.match(job_id):
        raise parse_error(STAGE, f"job id is not {JOB_ID_SHAPE}", path="$.data", value=job_id)
    status = _find(data, _STATUS_KEYS)
    if status is None:
        status = _status_from_type(event.type)
    return str(job_id), _normalise(status)


def _data(event: CloudEvent) -> Any:
    if isinstance(event.data, str):
        try:
            return event.data_object(stage=STAGE)
        except Exception:
            return None
    return event.data


def _find(data: Any, keys: tuple[str, ...], depth: int = 2, *, strip: bool = True) -> str | None:
    """The first non-empty scalar under one of ``keys`` in ``data`` or nested objects (breadth-first).

    ``strip=False`` returns the value exactly as delivered (identifiers are checked, not repaired).
    """
    if not isinstance(data, dict):
        return None
    for key in keys:
        value = data.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip() if strip else str(value)
    if depth <= 0:
        return None
    nested = [data[k] for k in _NESTED_KEYS if isinstance(data.get(k), dict)]
    nested += [v for k, v in data.items() if k not in _NESTED_KEYS and isinstance(v, dict)]
    for child in nested:
        found = _find(child, keys, depth - 1, strip=strip)
        if found is not None:
            return found
    return None


def _status_from_type(event_type: str) -> str | None:
    tail = event_type.rsplit(":", 1)[-1]
    for prefix in ("Job", "job"):
        if tail.startswith(prefix) and tail[len(prefix):].lower() in _STATUS_BY_LOWER:
            return tail[len(prefix):]
    return None


def _normalise(status: str | None) -> str | None:
    if status is None:
        return None
    return _STATUS_BY_LOWER.get(status.strip().lower(), status.strip())
