"""DLC's HTTP layer: parse each ROA call and serialize the backend's answer (no validation here)."""

from __future__ import annotations

from typing import Any

from ..core.pop import PopRequest, PopService, Route
from .models import DlcBackend


class DlcResponses:
    """One method per DLC action, named after the action in snake_case."""

    def __init__(self, backend: DlcBackend) -> None:
        self.backend = backend

    def create_job(self, req: PopRequest) -> dict[str, Any]:
        job = self.backend.create_job(req.json if req.json is not None else {})
        return {"JobId": job.job_id}

    def get_job(self, req: PopRequest) -> dict[str, Any]:
        job = self.backend.get_job(req.path_params["JobId"])
        return job.describe(self.backend.clock.now())

    def list_jobs(self, req: PopRequest) -> dict[str, Any]:
        jobs, total = self.backend.list_jobs(req.query)
        now = self.backend.clock.now()
        return {"Jobs": [job.list_item(now) for job in jobs], "TotalCount": total}


class DlcService(PopService):
    """PAI-DLC 2020-12-03 (ROA, JSON) on the edge."""

    name = "dlc"
    version = "2020-12-03"
    routes = (
        Route("CreateJob", "POST", "/api/v1/jobs"),
        Route("ListJobs", "GET", "/api/v1/jobs"),
        Route("GetJob", "GET", "/api/v1/jobs/{JobId}"),
    )

    def __init__(self, *, clock: Any, region: str, account_id: str) -> None:
        self.backend = DlcBackend(clock=clock, region=region, account_id=account_id)
        self.responses = DlcResponses(self.backend)

    def reset(self) -> None:
        self.backend.reset()

    def state(self) -> dict[str, Any]:
        return self.backend.state()
