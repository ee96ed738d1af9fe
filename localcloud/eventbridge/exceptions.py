"""EventBridge errors, in the platform's codes.

Confirmed codes (Alibaba's own SDK/API doc examples and the Terraform provider's error checks):
``EventBusNotExist``, ``EventRuleNotExisted`` (message "The event rule not existed!").
Taken from Apache RocketMQ EventBridge (the open-source engine Alibaba donated; its enum
``EventBridgeErrorCode``): ``EventBusAlreadyExist``, ``EventBusNameInvalid``,
``EventRuleAlreadyExist``, ``EventRuleNameInvalid``, ``EventBusRuleNotEmptyForDelete``,
``EventTargetNotExist``, ``LimitSizeInvalid``, ``NextTokenInvalid`` (messages in its style).
The HTTP statuses are **unconfirmed** (that engine answers 409 for all of them); here a missing
resource is 404, a conflict 409 and a bad argument 400. Missing or malformed parameters use
the generic POP codes ``Missing<Param>`` and ``InvalidParameter``.
"""

from __future__ import annotations

from ..core.errors import ServiceError


def invalid_parameter(message: str) -> ServiceError:
    return ServiceError("InvalidParameter", message, status=400)


def missing(param: str) -> ServiceError:
    return ServiceError(f"Missing{param}", f"{param} is mandatory for this action.", status=400)


def bus_not_exist(bus: str) -> ServiceError:
    return ServiceError("EventBusNotExist", f"The event bus [{bus}] not existed!", status=404)


def bus_already_exist(bus: str) -> ServiceError:
    return ServiceError("EventBusAlreadyExist", f"The event bus [{bus}] already existed!", status=409)


def bus_name_invalid(bus: str) -> ServiceError:
    return ServiceError("EventBusNameInvalid", f"The event bus name [{bus}] is invalid!", status=400)


def bus_not_empty(bus: str) -> ServiceError:
    return ServiceError(
        "EventBusRuleNotEmptyForDelete",
        f"The rules of eventbus [{bus}] exist, please delete them before delete event bus.", status=409,
    )


def default_bus_undeletable() -> ServiceError:
    return invalid_parameter("The default event bus cannot be deleted.")


def rule_not_exist(bus: str, rule: str) -> ServiceError:
    return ServiceError(
        "EventRuleNotExisted", f"The event rule not existed! (rule [{rule}] of event bus [{bus}])", status=404,
    )


def rule_already_exist(bus: str, rule: str) -> ServiceError:
    return ServiceError(
        "EventRuleAlreadyExist", f"The event rule [{rule}] of event bus [{bus}] already existed!", status=409,
    )


def rule_name_invalid(rule: str) -> ServiceError:
    return ServiceError("EventRuleNameInvalid", f"The event rule name [{rule}] is invalid!", status=400)


def pattern_invalid(reason: str) -> ServiceError:
    return invalid_parameter(f"The FilterPattern is invalid: {reason}")


def limit_invalid(limit: object, most: int) -> ServiceError:
    return ServiceError(
        "LimitSizeInvalid",
        f"The limit size of page [{limit}] is invalid, which must greater than 0 and less than [{most}].", status=400,
    )


def next_token_invalid(token: str) -> ServiceError:
    return ServiceError("NextTokenInvalid", f"The next token of page [{token}] is invalid.", status=400)
