"""EAS errors: every failure the emulated EAS API answers with, in one place.

=============================== ====== ======================================================
code                            status where the code comes from
=============================== ====== ======================================================
``InvalidService.NotFound``     404    **confirmed** code: checked by terraform-provider-alicloud
                                       (``IsExpectedErrors(err, ["InvalidService.NotFound"])``)
                                       and by agentscope's PAI deployer after ``DescribeService``;
                                       the 404 status is from the API doc (DeleteService lists 404)
``InvalidParameter``            400    the generic POP code (EAS answers it for a bad
                                       ``DescribeServiceLog`` time range); per-field codes unknown
``InvalidService.AlreadyExists`` 409   *assumed* code; CreateService documents a 409
``InvalidService.Status``       409    *assumed* code (an operation the service's status forbids);
                                       UpdateService documents a 409
``InvalidGroup.NotFound``       404    *assumed*, by analogy with ``InvalidService.NotFound``
``InvalidAutoScaler.NotFound``  404    *assumed* (DeleteServiceAutoScaler documents a 404)
``InvalidAutoScaler.AlreadyExists`` 409 *assumed*
=============================== ====== ======================================================

``Forbidden.PrivilegeCheckFailed`` (a service name owned by another account) is also a real EAS
code; localcloud has a single account, so it never answers it.

Example
-------
>>> err = service_not_found("demo")
>>> err.status, err.code
(404, 'InvalidService.NotFound')
"""

from __future__ import annotations

from ..core.errors import ServiceError


def invalid_parameter(message: str) -> ServiceError:
    return ServiceError("InvalidParameter", message, status=400)


def service_not_found(name: str) -> ServiceError:
    return ServiceError("InvalidService.NotFound", f"Service [{name}] does not exist.", status=404)


def service_exists(name: str) -> ServiceError:
    return ServiceError("InvalidService.AlreadyExists", f"Service [{name}] already exists.", status=409)


def invalid_status(name: str, status: str, action: str) -> ServiceError:
    return ServiceError(
        "InvalidService.Status", f"Cannot {action} service [{name}] in status [{status}].", status=409
    )


def group_not_found(name: str) -> ServiceError:
    return ServiceError("InvalidGroup.NotFound", f"Service group [{name}] does not exist.", status=404)


def autoscaler_not_found(name: str) -> ServiceError:
    return ServiceError(
        "InvalidAutoScaler.NotFound", f"Autoscaler for service [{name}] does not exist.", status=404
    )


def autoscaler_exists(name: str) -> ServiceError:
    return ServiceError(
        "InvalidAutoScaler.AlreadyExists", f"Autoscaler for service [{name}] already exists.", status=409
    )
