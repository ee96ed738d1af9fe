"""CloudMonitor errors, in the platform's codes.

* A missing required parameter answers the POP gateway's ``Missing<Param>`` (400), like the other
  localcloud services **[A]**.
* A bad value answers ``ParameterInvalid`` (400) and an unknown alarm rule ``ResourceNotFound``
  (404), the codes of the CMS 2019-01-01 error tables as recalled **[A: not re-checked here]**;
  the messages name the offending value.
* A feature localcloud does not emulate (``CompositeExpression``, ``Prometheus``, comparisons
  against yesterday/last week) answers ``ParameterInvalid`` saying so, never a silent no-op.
"""

from __future__ import annotations

from ..core.errors import ServiceError


def missing(param: str) -> ServiceError:
    return ServiceError(f"Missing{param}", f"{param} is mandatory for this action.", status=400)


def invalid(message: str) -> ServiceError:
    return ServiceError("ParameterInvalid", message, status=400)


def rule_not_found(rule_id: str) -> ServiceError:
    return ServiceError("ResourceNotFound", f"The specified resource is not found: alert rule {rule_id!r}.", status=404)


def unsupported(what: str) -> ServiceError:
    return invalid(f"{what} is not supported by localcloud's CloudMonitor.")
