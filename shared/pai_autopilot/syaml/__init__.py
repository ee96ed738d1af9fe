"""Read the project's ``s.yaml`` (Serverless Devs 3, component fc3) offline, the way ``s`` does.

One module for everyone who needs to know what gets deployed: the s.yaml tests,
``pai-autopilot validate``, and localcloud's FC runtime (which delivers events to the functions
and triggers declared here). It imports only ``yaml`` and the standard library.

* :func:`load_syaml` / :func:`parse_syaml` / :func:`resolve_syaml` — YAML in, a plain ``dict`` out,
  with the magic variables the project uses resolved (``${env('X')}``, ``${env('X', 'default')}``,
  ``${vars.x}``, ``${config('AccountID')}``) and every resource's ``extend: {name: <template>}``
  merged into its ``props`` (deep merge: maps merge, lists and scalars are replaced, props win —
  what ``s`` 3.1.10 does; ``extend.ignore`` drops top-level template keys).
  Other magic variables (``${resources.x.output...}``, ``${this.name}``, ``${path(...)}``) are
  left as they are: ``s`` resolves them at deploy time.
* :func:`functions` — the fc3 resources as typed :class:`FunctionSpec` objects.
* :func:`validate_syaml` — every structural problem as ``(path, reason)``, in one pass.

Example
-------
>>> text = '''
... edition: 3.0.0
... name: demo
... vars:
...   region: ${env('ALIBABA_CLOUD_REGION_ID', 'cn-hangzhou')}
... template:
...   fn:
...     region: ${vars.region}
...     runtime: python3.10
...     code: ./.build/code
... resources:
...   tick:
...     component: fc3
...     extend: {name: fn}
...     props:
...       functionName: demo-tick
...       handler: tick.handler
...       triggers:
...         - triggerName: every-5m
...           triggerType: timer
...           triggerConfig: {cronExpression: '0 */5 * * * *', enable: true}
... '''
>>> doc = parse_syaml(text, env={}, account_id="1234567890123456")
>>> doc["resources"]["tick"]["props"]["region"]
'cn-hangzhou'
>>> validate_syaml(doc)
[]
>>> [(f.name, f.handler, f.triggers[0].cron) for f in functions(doc)]
[('demo-tick', 'tick.handler', '0 */5 * * * *')]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .resolve import SyamlError, load_syaml, parse_syaml, resolve_syaml
from .specs import (
    AsyncConfig,
    EventBridgeTrigger,
    FunctionSpec,
    GenericTrigger,
    HttpTrigger,
    OssTrigger,
    TimerTrigger,
    Trigger,
    functions,
)

__all__ = [
    "AsyncConfig", "EventBridgeTrigger", "FunctionSpec", "GenericTrigger", "HttpTrigger",
    "OssTrigger", "SyamlError", "TimerTrigger", "Trigger", "functions", "load_syaml",
    "parse_syaml", "resolve_syaml", "validate_syaml",
]


def validate_syaml(doc: Mapping[str, Any], *, root: str | Path | None = None) -> list[tuple[str, str]]:
    """Every structural problem of a loaded s.yaml as ``(path, reason)``; ``[]`` when clean.

    With ``root`` (the repo root) each handler ``module.func`` must name ``functions/<module>.py``
    with a top-level ``def func``. The rules live in :mod:`pai_autopilot.syaml.rules`.

    >>> validate_syaml({"edition": "3.0.0", "resources": {"f": {"component": "fc3", "props": {
    ...     "region": "cn-hangzhou", "functionName": "f", "runtime": "python3.10", "code": "./c",
    ...     "handler": "f.handler", "memorySize": 500}}}})
    [('resources.f.props.memorySize', 'must be a multiple of 64 between 128 and 32768, got 500')]
    """
    from .rules import check_document

    return check_document(doc, root=Path(root) if root is not None else None)
