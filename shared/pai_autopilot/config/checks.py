"""Checks the schema cannot express: placeholders, overlapping prefixes, resource choices.

Each check returns ``(path, reason)`` pairs; :func:`semantic_problems` runs them all.

Example
-------
>>> from .models import AutopilotConfig
>>> import msgspec
>>> cfg = msgspec.convert({"version": 1, "storage": {"bucket": "demo-bucket"}, "pipelines": {"a": {
...     "dataset": {"prefix": "datasets/a/"},
...     "training": {"image": "img", "command": "run {nope}", "ecs_spec": "ecs.c6.large"}}}}, AutopilotConfig)
>>> semantic_problems(cfg)[0][0]
'pipelines.a.training.command'
"""

from __future__ import annotations

import string
from collections.abc import Iterator

from .models import COMMAND_PLACEHOLDERS, NOTIFICATION_EVENTS, AutopilotConfig, Pipeline

Problem = tuple[str, str]


def semantic_problems(config: AutopilotConfig) -> list[Problem]:
    """Every semantic problem of a schema-valid configuration, in file order."""
    problems: list[Problem] = []
    for name, pipeline in config.pipelines.items():
        problems.extend(_pipeline_problems(config, name, pipeline))
    problems.extend(_overlapping_prefixes(config))
    problems.extend(_notification_events(config))
    return problems


def _notification_events(config: AutopilotConfig) -> Iterator[Problem]:
    """Every subscribed event name must be one the project sends.

    Example
    -------
    >>> import msgspec
    >>> cfg = msgspec.convert({"version": 1, "storage": {"bucket": "demo-bucket"}, "pipelines": {},
    ...     "notifications": [{"type": "webhook", "url_env": "HOOK", "events": ["run_sucess"]}]}, AutopilotConfig)
    >>> list(_notification_events(cfg))[0][1].split(";")[0]
    "unknown event 'run_sucess'"
    """
    known = ", ".join(NOTIFICATION_EVENTS)
    for i, target in enumerate(config.notifications):
        for j, name in enumerate(target.events):
            if name not in NOTIFICATION_EVENTS:
                yield f"notifications[{i}].events[{j}]", f"unknown event {name!r}; known events: {known}"


def _placeholders(template: str) -> Iterator[str]:
    for _literal, field, _spec, _conv in string.Formatter().parse(template):
        if field is not None:
            yield field


def _pipeline_problems(config: AutopilotConfig, name: str, p: Pipeline) -> Iterator[Problem]:
    base = f"pipelines.{name}"
    t = p.training
    try:
        unknown = sorted({f for f in _placeholders(t.command) if f not in COMMAND_PLACEHOLDERS})
    except ValueError as exc:
        yield f"{base}.training.command", f"not a valid template ({exc}); write literal braces as {{{{ and }}}}"
    else:
        allowed = ", ".join("{" + k + "}" for k in sorted(COMMAND_PLACEHOLDERS))
        for field in unknown:
            yield f"{base}.training.command", f"unknown placeholder {{{field}}}; use one of {allowed}"
    has_resources = any(v is not None for v in (t.cpu, t.gpu, t.memory))
    if t.ecs_spec and has_resources:
        yield f"{base}.training", "set either ecs_spec (public resource group) or cpu/gpu/memory, not both"
    elif not t.ecs_spec and not has_resources:
        yield f"{base}.training", "set ecs_spec (public resource group) or cpu/memory with workspace.resource_id"
    elif has_resources and not config.workspace.resource_id:
        yield f"{base}.training", "cpu/gpu/memory need a dedicated resource group: set workspace.resource_id"
    for field in ("checkpoints_prefix", "models_prefix"):
        prefix = getattr(p, field)
        if prefix and prefix.startswith(p.dataset.prefix):
            yield f"{base}.{field}", f"{prefix!r} lies under the dataset prefix {p.dataset.prefix!r}"
    if p.dataset.prefix.startswith(config.storage.ledger_prefix):
        yield f"{base}.dataset.prefix", f"lies under the ledger prefix {config.storage.ledger_prefix!r}"
    if p.rollout is not None:
        weights = p.rollout.step_weights
        if weights != sorted(set(weights)):
            yield f"{base}.rollout.step_weights", f"must be strictly increasing, got {weights}"
        if weights and weights[-1] > p.rollout.max_weight:
            yield f"{base}.rollout.step_weights", f"last step {weights[-1]} exceeds max_weight {p.rollout.max_weight}"
        for i, gate in enumerate(p.rollout.metrics):
            if gate.min is None and gate.max is None:
                yield f"{base}.rollout.metrics[{i}]", "set min, max or both"


def _overlapping_prefixes(config: AutopilotConfig) -> Iterator[Problem]:
    items = sorted((p.dataset.prefix, name) for name, p in config.pipelines.items())
    for i, (prefix_b, b) in enumerate(items):
        for prefix_a, a in items[:i]:
            if prefix_b.startswith(prefix_a):
                yield f"pipelines.{b}.dataset.prefix", f"{prefix_b!r} overlaps pipeline {a!r} ({prefix_a!r})"
