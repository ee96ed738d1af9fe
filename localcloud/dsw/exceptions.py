"""DSW errors, every code and status in one place.

Confirmed (**[C]**) and assumed (**[A]**) facts:

* **[C]** DSW bodies carry ``Code``; the SDK's model docs name two values: ``ValidationError`` (a
  parameter validation error) and ``InternalError`` (every other error). The DSW API docs also show
  ``PermissionError`` as an example code.
* **[A]** A parameter or state error is HTTP 400 ``ValidationError`` (an operation the instance's
  current status does not allow is reported the same way, naming the status).
* **[A]** An unknown instance is HTTP 404 ``InstanceNotFound``; a missing culler or shutdown
  timer is HTTP 404 ``IdleInstanceCullerNotFound`` / ``InstanceShutdownTimerNotFound``.
* **[A]** Error bodies also carry ``Success: false`` and ``HttpStatusCode`` like success bodies
  (the SDK only reads ``Code``/``Message``/``RequestId``).

Example
-------
>>> err = instance_not_found("dsw-123")
>>> err.status, err.code, err.extra["Success"]
(404, 'InstanceNotFound', False)
"""

from __future__ import annotations

from typing import Any

from ..core.errors import ServiceError


def _error(code: str, message: str, status: int) -> ServiceError:
    extra: dict[str, Any] = {"Success": False, "HttpStatusCode": status}
    return ServiceError(code, message, status=status, extra=extra)


def validation(message: str) -> ServiceError:
    """A request parameter (or the instance's status) does not allow the call."""
    return _error("ValidationError", message, 400)


def invalid_status(instance_id: str, status: str, action: str, allowed: tuple[str, ...]) -> ServiceError:
    return validation(
        f"The instance {instance_id} is {status}; {action} needs one of: {', '.join(allowed)}."
    )


def instance_not_found(instance_id: str) -> ServiceError:
    return _error("InstanceNotFound", f"The instance {instance_id} does not exist.", 404)


def culler_not_found(instance_id: str) -> ServiceError:
    return _error("IdleInstanceCullerNotFound", f"The instance {instance_id} has no idle instance culler.", 404)


def timer_not_found(instance_id: str) -> ServiceError:
    return _error("InstanceShutdownTimerNotFound", f"The instance {instance_id} has no shutdown timer.", 404)
