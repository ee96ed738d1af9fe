"""DLC errors. DLC's own error codes are unconfirmed (reference/alibaba-api.md §1), so these
use the generic POP codes; the SDK only reads ``Code``/``Message``/``RequestId``."""

from __future__ import annotations

from ..core.errors import ServiceError


def invalid_parameter(message: str) -> ServiceError:
    return ServiceError("InvalidParameter", message, status=400)


def job_not_found(job_id: str) -> ServiceError:
    return ServiceError("JobNotFound", f"The job {job_id} does not exist.", status=404)
