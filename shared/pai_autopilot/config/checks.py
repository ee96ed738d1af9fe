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
from typing import Any

from .models import COMMAND_PLACEHOLDERS, NOTIFICATION_EVENTS, SERVING_PLACEHOLDERS, AutopilotConfig, Pipeline, Serving

Problem = tuple[str, str]


def semantic_problems(config: AutopilotConfig) -> list[Problem]:
    """Every semantic problem of a schema-valid configuration, in file order."""
    problems: list[Problem] = []
    for name, pipeline in config.pipelines.items():
        problems.extend(_pipeline_problems(config, name, pipeline))
    problems.extend(_overlapping_prefixes(config))
    for name, pipeline in config.pipelines.items():  # serving (issue 11)
        if pipeline.serving is not None:
            problems.extend(_serving_problems(f"pipelines.{name}.serving", pipeline.serving))
    problems.extend(_notebook_problems(config))  # issue 10
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
        yield from _rollout_problems(base, p.rollout)


def _rollout_problems(base: str, r: Any) -> Iterator[Problem]:
    """The rollout policy's cross-field rules (issue 12)."""
    weights = r.step_weights
    if r.step_weight is None:
        if weights != sorted(set(weights)):
            yield f"{base}.rollout.step_weights", f"must be strictly increasing, got {weights}"
        elif weights and weights[-1] != 100:
            yield f"{base}.rollout.step_weights", f"the last step must be 100 (promotion), got {weights[-1]}"
    elif r.step_weight > r.max_weight:
        yield f"{base}.rollout.step_weight", f"{r.step_weight} exceeds max_weight {r.max_weight}"
    if r.progress_deadline_seconds < r.interval_seconds:
        yield (f"{base}.rollout.progress_deadline_seconds",
               f"{r.progress_deadline_seconds} is shorter than one interval ({r.interval_seconds} s)")
    kinds = [w.type for w in r.webhooks]
    for kind in sorted({k for k in kinds if kinds.count(k) > 1}):
        yield f"{base}.rollout.webhooks", f"{kind} is given more than once"


def _overlapping_prefixes(config: AutopilotConfig) -> Iterator[Problem]:
    items = sorted((p.dataset.prefix, name) for name, p in config.pipelines.items())
    for i, (prefix_b, b) in enumerate(items):
        for prefix_a, a in items[:i]:
            if prefix_b.startswith(prefix_a):
                yield f"pipelines.{b}.dataset.prefix", f"{prefix_b!r} overlaps pipeline {a!r} ({prefix_a!r})"


# --- serving (issue 11) ---------------------------------------------------------------------
def _serving_problems(base: str, s: Serving) -> Iterator[Problem]:
    if bool(s.image) == bool(s.processor):
        yield base, "set either image (with command or script) or processor (with model_path)"
    if s.image and not (s.command or s.script):
        yield base, "image mode needs command or script"
    if s.command and s.script:
        yield base, "set command or script, not both"
    if s.processor and not s.model_path:
        yield base, "processor mode needs model_path (e.g. {model_uri})"
    has_resources = any(v is not None for v in (s.cpu, s.memory, s.gpu))
    if s.instance_type and has_resources:
        yield base, "set either instance_type (public resource group) or cpu/memory/gpu with resource_group, not both"
    elif not s.instance_type and not has_resources:
        yield base, "set instance_type (public resource group) or cpu/memory with resource_group"
    elif has_resources and not s.resource_group:
        yield base, "cpu/memory/gpu need a dedicated resource group: set resource_group"
    allowed = ", ".join("{" + k + "}" for k in sorted(SERVING_PLACEHOLDERS))
    templates = {"command": s.command, "script": s.script, "model_path": s.model_path,
                 **{f"env.{k}": v for k, v in s.env.items()}}
    for field, template in templates.items():
        if not template:
            continue
        try:
            unknown = sorted({f for f in _placeholders(template) if f not in SERVING_PLACEHOLDERS})
        except ValueError as exc:
            yield f"{base}.{field}", f"not a valid template ({exc}); write literal braces as {{{{ and }}}}"
            continue
        for name in unknown:
            yield f"{base}.{field}", f"unknown placeholder {{{name}}}; use one of {allowed}"
    a = s.autoscaler
    if a is not None:
        if a.max < max(a.min, 1):
            yield f"{base}.autoscaler", f"max ({a.max}) must be >= min ({a.min}) and >= 1"
        if not a.strategies:
            yield f"{base}.autoscaler.strategies", "give at least one strategy (qps, cpu or gpu[util] with a threshold)"
        if a.max > s.max_instances:
            yield f"{base}.autoscaler.max", f"{a.max} exceeds max_instances {s.max_instances}"
    if s.instances > s.max_instances:
        yield f"{base}.instances", f"{s.instances} exceeds max_instances {s.max_instances}"


# -- notebooks (issue 10) ---------------------------------------------------------------------------
def _notebook_problems(config: AutopilotConfig) -> Iterator[Problem]:
    """Quiet hours must parse (cron, time zone); the scope needs a workspace."""
    nb = config.notebooks
    if nb is None:
        return
    if nb.quiet_hours is not None:
        from ..notebooks.policy import quiet_hours_problem

        problem = quiet_hours_problem(nb.quiet_hours)
        if problem:
            yield "notebooks.quiet_hours", problem
    if not (nb.scope.workspace_id or config.workspace.id):
        yield "notebooks.scope.workspace_id", "set it (or workspace.id): the governor lists one workspace's instances"
