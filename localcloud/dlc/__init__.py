"""PAI-DLC on localcloud: CreateJob, GetJob, ListJobs with job lifecycles on the clock."""

from .responses import DlcService

__all__ = ["DlcService"]
