"""DLC errors. DLC's own error codes are unconfirmed (reference/alibaba-api.md §1): the codes live in
:mod:`.assumed`; ``InvalidParameter`` is the generic POP one. The SDK only reads
``Code``/``Message``/``RequestId``."""

from __future__ import annotations

from ..core.errors import ServiceError
from . import assumed


def invalid_parameter(message: str) -> ServiceError:
    return ServiceError("InvalidParameter", message, status=400)


def job_not_found(job_id: str) -> ServiceError:
    return ServiceError(assumed.ERROR_JOB_NOT_FOUND, f"The job {job_id} does not exist.", status=404)


def pod_not_found(job_id: str, pod_id: str) -> ServiceError:
    return ServiceError(
        assumed.ERROR_POD_NOT_FOUND, f"The pod {pod_id} of job {job_id} does not exist.", status=404
    )


def job_status(job_id: str, status: str, action: str, allowed: str) -> ServiceError:
    return ServiceError(
        assumed.ERROR_JOB_STATUS,
        f"Cannot {action} job {job_id} in status {status}: allowed only when {allowed}.",
        status=400,
    )
