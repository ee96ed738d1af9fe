"""DLC's HTTP layer: parse each ROA call and serialize the backend's answer (no validation here)."""

from __future__ import annotations

from typing import Any

from ..core.pop import PopRequest, PopService, Route
from .control import control
from .models import DlcBackend


class DlcResponses:
    """One method per DLC action, named after the action in snake_case."""

    def __init__(self, backend: DlcBackend) -> None:
        self.backend = backend

    def create_job(self, req: PopRequest) -> dict[str, Any]:
        job = self.backend.create_job(req.json if req.json is not None else {})
        return {"JobId": job.job_id}

    def get_job(self, req: PopRequest) -> dict[str, Any]:
        return self.backend.view(self.backend.get_job(req.path_params["JobId"]))

    def list_jobs(self, req: PopRequest) -> dict[str, Any]:
        jobs, total = self.backend.list_jobs(req.query)
        return {"Jobs": [self.backend.view(job, item=True) for job in jobs], "TotalCount": total}

    def stop_job(self, req: PopRequest) -> dict[str, Any]:
        job = self.backend.stop_job(req.path_params["JobId"])
        return {"JobId": job.job_id}

    def delete_job(self, req: PopRequest) -> dict[str, Any]:
        self.backend.delete_job(req.path_params["JobId"])
        return {"JobId": req.path_params["JobId"]}

    def get_job_events(self, req: PopRequest) -> dict[str, Any]:
        job_id = req.path_params["JobId"]
        return {"JobId": job_id, "Events": self.backend.get_job_events(job_id, req.query)}

    def get_pod_logs(self, req: PopRequest) -> dict[str, Any]:
        job_id, pod_id = req.path_params["JobId"], req.path_params["PodId"]
        _, pod_uid, lines = self.backend.get_pod_logs(job_id, pod_id, req.query)
        return {"JobId": job_id, "PodId": pod_id, "PodUid": pod_uid, "Logs": lines, "Containers": ""}


class DlcService(PopService):
    """PAI-DLC 2020-12-03 (ROA, JSON) on the edge.

    ``oss`` and ``eventbridge`` may be the services or their backends: jobs write checkpoints and
    models through the first and publish status events on the second (``None``: neither).
    """

    name = "dlc"
    version = "2020-12-03"
    routes = (
        Route("CreateJob", "POST", "/api/v1/jobs"),
        Route("ListJobs", "GET", "/api/v1/jobs"),
        Route("GetJob", "GET", "/api/v1/jobs/{JobId}"),
        Route("StopJob", "POST", "/api/v1/jobs/{JobId}/stop"),
        Route("DeleteJob", "DELETE", "/api/v1/jobs/{JobId}"),
        Route("GetJobEvents", "GET", "/api/v1/jobs/{JobId}/events"),
        Route("GetPodLogs", "GET", "/api/v1/jobs/{JobId}/pods/{PodId}/logs"),
    )

    def __init__(self, *, clock: Any, region: str, account_id: str, oss: Any = None, eventbridge: Any = None) -> None:
        self.backend = DlcBackend(
            clock=clock, region=region, account_id=account_id,
            oss=getattr(oss, "backend", oss), eventbridge=getattr(eventbridge, "backend", eventbridge),
        )
        self.responses = DlcResponses(self.backend)

    def reset(self) -> None:
        self.backend.reset()

    def tick(self, now: float) -> None:
        self.backend.tick(now)

    def state(self) -> dict[str, Any]:
        return self.backend.state()

    def control(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """``/_localcloud/dlc/…`` (routes in :mod:`.control`)."""
        return control(self.backend, method, path, body)
