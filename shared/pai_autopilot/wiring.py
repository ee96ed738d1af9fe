"""``pai-autopilot wire``: what ``s deploy`` cannot create, planned first, applied idempotently.

1. An EventBridge rule on the PAI workspace bus ``pai-system-<workspace.name>`` whose target is
   the ``job_events`` function (fc3's eventbridge trigger reaches only the default bus).
2. An OSS lifecycle rule expiring checkpoints under ``checkpoints/`` after
   ``storage.checkpoint_retention_days`` (other lifecycle rules of the bucket are kept).
3. Per pipeline with a rollout, CloudMonitor alarm rules (5xx ratio, p99) that reach the
   ``alarm`` function (:mod:`.rollout.alarm_rules`).
4. A guard: the ledger's compare-and-set (``x-oss-forbid-overwrite``) does not hold on a bucket
   with versioning enabled or suspended, so such a bucket is refused.

:func:`plan` reads the current state and returns :class:`Step` s (``create``, ``update``,
``unchanged``, ``refuse``); :func:`apply` carries out the ``create``/``update`` ones. The dry
run prints the plan and changes nothing.

Example
-------
>>> Step("create", "eventbridge rule", "pai-system-demo/pai-autopilot-job-events").line()
'create     eventbridge rule: pai-system-demo/pai-autopilot-job-events'
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from .config import AutopilotConfig

RULE_NAME = "pai-autopilot-job-events"
LIFECYCLE_RULE_ID = "pai-autopilot-checkpoints"
JOB_EVENTS_PATTERN = {"source": [{"prefix": "acs.pai"}]}


@dataclasses.dataclass(frozen=True)
class Step:
    action: str  # create | update | unchanged | refuse
    what: str
    target: str
    detail: str = ""
    payload: Any = None

    def line(self) -> str:
        return f"{self.action:<10} {self.what}: {self.target}" + (f" ({self.detail})" if self.detail else "")


def function_arn(region: str, account_id: str, function_name: str) -> str:
    """The FC 3.0 target endpoint of a function."""
    return f"acs:fc:{region}:{account_id}:functions/{function_name}"


def checkpoint_prefixes(config: AutopilotConfig) -> list[str]:
    return sorted({p.checkpoints_prefix or f"checkpoints/{name}/" for name, p in config.pipelines.items()})


def plan(config: AutopilotConfig, *, eventbridge: Any, bucket: Any, region: str, account_id: str, function_prefix: str,
         cms: Any = None, alarm_webhook: str | None = None) -> list[Step]:
    """Every step ``wire`` would take, from the current cloud state."""
    return [
        _versioning_step(bucket),
        _rule_step(config, eventbridge, region, account_id, function_prefix),
        *_lifecycle_steps(config, bucket),
        *(_alarm_rule_steps(config, cms, alarm_webhook) if cms is not None else []),
    ]


# -- CloudMonitor alarm rules of the rollouts (issue 12) -------------------------------------------
ALARM_RULE = "cms alarm rule"


def _alarm_rule_steps(config: AutopilotConfig, cms: Any, webhook: str | None) -> list[Step]:
    """Per pipeline with a rollout: the 5xx-ratio and p99 rules that reach the alarm function."""
    from .rollout.alarm_rules import plan_rules

    return [Step(action, ALARM_RULE, rule["rule_id"], detail, rule) for action, rule, detail in plan_rules(config, cms, webhook=webhook)]


def _versioning_step(bucket: Any) -> Step:
    import oss2

    try:
        status = bucket.get_bucket_versioning().status or "Disabled"
    except oss2.exceptions.ServerError as exc:
        if exc.status in (404, 501):  # not supported by this endpoint (e.g. an emulator)
            return Step("unchanged", "ledger bucket versioning", bucket.bucket_name, f"cannot check: {exc.code}")
        raise
    if status in ("Enabled", "Suspended"):
        return Step("refuse", "ledger bucket versioning", bucket.bucket_name,
                    f"versioning is {status}: x-oss-forbid-overwrite does not hold; use an unversioned bucket")
    return Step("unchanged", "ledger bucket versioning", bucket.bucket_name, "disabled: the ledger's exclusive writes hold")


def _rule_step(config: AutopilotConfig, eb: Any, region: str, account_id: str, function_prefix: str) -> Step:
    from alibabacloud_eventbridge20200401 import models as eb_models
    from alibabacloud_tea_openapi.exceptions import ClientException

    bus = f"pai-system-{config.workspace.name}"
    target = {"Id": "job-events", "Type": "acs.fc.function",
              "Endpoint": function_arn(region, account_id, f"{function_prefix}-job-events"),
              "ParamList": [{"ResourceKey": "Body", "Form": "ORIGINAL"}]}
    where = f"{bus}/{RULE_NAME}"
    if not config.workspace.name:
        return Step("refuse", "eventbridge rule", where, "set workspace.name in autopilot.yaml (the PAI bus is pai-system-<name>)")
    try:
        eb.get_event_bus(eb_models.GetEventBusRequest(event_bus_name=bus))
    except ClientException as exc:
        return Step("refuse", "eventbridge rule", where,
                    f"bus {bus} not found ({exc.code}): enable event notifications for the PAI workspace first")
    try:
        rule = eb.get_rule(eb_models.GetRuleRequest(event_bus_name=bus, rule_name=RULE_NAME)).body.data
    except ClientException:
        rule = None
    payload = {"bus": bus, "pattern": JOB_EVENTS_PATTERN, "target": target}
    if rule is None:
        return Step("create", "eventbridge rule", where, f"→ {target['Endpoint']}", payload)
    endpoints = sorted(t.endpoint for t in (rule.targets or []))
    same = json.loads(rule.filter_pattern or "{}") == JOB_EVENTS_PATTERN and endpoints == [target["Endpoint"]]
    if same and rule.status == "ENABLE":
        return Step("unchanged", "eventbridge rule", where, f"→ {target['Endpoint']}")
    return Step("update", "eventbridge rule", where, f"pattern/targets/status differ → {target['Endpoint']}", payload)


def _lifecycle_steps(config: AutopilotConfig, bucket: Any) -> list[Step]:
    import oss2
    from oss2.models import BucketLifecycle, LifecycleExpiration, LifecycleRule

    try:
        existing = list(bucket.get_bucket_lifecycle().rules)
    except oss2.exceptions.NoSuchLifecycle:
        existing = []
    days = config.storage.checkpoint_retention_days
    ours = {f"{LIFECYCLE_RULE_ID}-{i}": prefix for i, prefix in enumerate(checkpoint_prefixes(config))}
    current = {r.id: r for r in existing if r.id.startswith(LIFECYCLE_RULE_ID)}
    wanted = [LifecycleRule(rid, prefix, status=LifecycleRule.ENABLED, expiration=LifecycleExpiration(days=days))
              for rid, prefix in ours.items()]
    same = set(current) == set(ours) and all(
        current[rid].prefix == prefix and current[rid].expiration and current[rid].expiration.days == days
        for rid, prefix in ours.items()
    )
    target = f"{bucket.bucket_name}/{', '.join(ours.values())}"
    if same:
        return [Step("unchanged", "oss lifecycle (checkpoints)", target, f"expire after {days} days")]
    others = [r for r in existing if not r.id.startswith(LIFECYCLE_RULE_ID)]
    action = "update" if current else "create"
    return [Step(action, "oss lifecycle (checkpoints)", target, f"expire after {days} days; {len(others)} other rule(s) kept",
                 BucketLifecycle(others + wanted))]


def apply(steps: list[Step], *, eventbridge: Any, bucket: Any, cms: Any = None) -> None:
    """Carry out the ``create``/``update`` steps (call only when no step is ``refuse``)."""
    from alibabacloud_eventbridge20200401 import models as eb_models

    for step in steps:
        if step.action not in ("create", "update"):
            continue
        if step.what == ALARM_RULE:
            from .rollout.alarm_rules import apply_rule

            apply_rule(cms, step.payload)
        elif step.what == "eventbridge rule":
            p = step.payload
            pattern = json.dumps(p["pattern"])
            target = eb_models.CreateRuleRequestEventTargets().from_map(p["target"])
            if step.action == "create":
                eventbridge.create_rule(eb_models.CreateRuleRequest(
                    event_bus_name=p["bus"], rule_name=RULE_NAME, filter_pattern=pattern, status="ENABLE", event_targets=[target],
                    description="pai-autopilot: DLC job status events -> job_events"))
            else:
                eventbridge.update_rule(eb_models.UpdateRuleRequest(
                    event_bus_name=p["bus"], rule_name=RULE_NAME, filter_pattern=pattern, status="ENABLE"))
                eventbridge.put_targets(eb_models.PutTargetsRequest(
                    event_bus_name=p["bus"], rule_name=RULE_NAME,
                    targets=[eb_models.PutTargetsRequestTargets().from_map(p["target"])]))
        else:
            bucket.put_bucket_lifecycle(step.payload)
