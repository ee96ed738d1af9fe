"""DLC's control routes, under ``/_localcloud/dlc/`` (see :mod:`localcloud.control`).

=========================================  ==================================================
route                                      what it does
=========================================  ==================================================
``GET  /_localcloud/dlc/settings``          the runner settings (:class:`~.settings.RunnerSettings`)
``PUT  /_localcloud/dlc/settings``          change some: ``{"total_steps": 20,
                                           "phase_seconds": {"Queuing": 30}, "preempt_status":
                                           "Stopped"}`` (unknown keys are refused)
``GET  /_localcloud/dlc/workspaces``        workspace id → name (events go to ``pai-system-<name>``)
``PUT  /_localcloud/dlc/workspaces``        ``{"<WorkspaceId>": "<WorkspaceName>"}`` (merged; the
                                           buses are created)
``GET  /_localcloud/dlc/faults``            the fault rules (:mod:`.rules`)
``POST /_localcloud/dlc/faults``            add one: ``{"kind": "preempt", "name_prefix": "ap-",
                                           "at_step": 30, "status": "Failed"}`` → ``{"id", "rule"}``
``DELETE /_localcloud/dlc/faults[/<id>]``   remove all, or one
``GET  /_localcloud/dlc/jobs``              every job with its runner progress
=========================================  ==================================================

Example
-------
>>> from localcloud.core.clock import Clock
>>> from .models import DlcBackend
>>> backend = DlcBackend(clock=Clock(), region="cn-hangzhou", account_id="1")
>>> control(backend, "POST", "/faults", {"kind": "hang", "next": 1})[1]["id"]
1
>>> control(backend, "PUT", "/settings", {"total_steps": -1})
(400, {'Code': 'InvalidRequest', 'Message': 'total_steps must be an integer >= 0, got -1'})
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .rules import FaultRule

Answer = tuple[int, Any]


def _bad(message: str, status: int = 400) -> Answer:
    return status, {"Code": "InvalidRequest" if status == 400 else "NotFound", "Message": message}


def control(backend: Any, method: str, path: str, body: dict[str, Any]) -> Answer:
    """Answer one control call: ``(HTTP status, JSON data)``."""
    path = "/" + path.strip("/")
    try:
        if path == "/settings":
            if method == "PUT":
                backend.settings.update(body)
            elif method != "GET":
                return _bad(f"no control route {method} /_localcloud/dlc{path}", 404)
            return 200, backend.settings.as_dict()
        if path == "/workspaces":
            if method == "PUT":
                bad = {k: v for k, v in body.items() if not isinstance(v, str) or not v}
                if bad:
                    return _bad(f"workspace names must be non-empty strings, got {bad}")
                backend.set_workspaces(body)
            elif method != "GET":
                return _bad(f"no control route {method} /_localcloud/dlc{path}", 404)
            return 200, dict(backend.workspaces)
        if path == "/faults" or path.startswith("/faults/"):
            return _faults(backend, method, path, body)
        if path == "/jobs" and method == "GET":
            return 200, backend.state()["jobs"]
    except ValueError as exc:
        return _bad(str(exc))
    return _bad(f"no control route {method} /_localcloud/dlc{path}", 404)


def _faults(backend: Any, method: str, path: str, body: dict[str, Any]) -> Answer:
    rules = backend.rules
    if method == "GET" and path == "/faults":
        return 200, rules.list()
    if method == "POST" and path == "/faults":
        allowed = {f.name for f in dataclasses.fields(FaultRule)} - {"id", "bound", "remaining"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            return _bad(f"unknown field(s) {unknown}; allowed: {sorted(allowed)}")
        try:
            rule = FaultRule(**body)
        except TypeError as exc:
            return _bad(str(exc))
        if rule.job_id is not None and rule.job_id not in backend.jobs:
            return _bad(f"no job {rule.job_id!r}", 404)
        rule_id = rules.add(rule)
        return 200, {"id": rule_id, "rule": rule.describe()}
    if method == "DELETE" and path == "/faults":
        rules.clear()
        return 200, []
    if method == "DELETE":
        raw = path.removeprefix("/faults/")
        if not raw.isdigit() or not rules.remove(int(raw)):
            return _bad(f"no fault rule {raw!r}", 404)
        return 200, rules.list()
    return _bad(f"no control route {method} /_localcloud/dlc{path}", 404)
