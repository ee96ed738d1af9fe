"""The demo's chapters. Each one only does what the world does (uploads, the clock, traffic,
faults), lets the functions act on their triggers, then checks what they did in localcloud's state
and the ledger, and returns a :class:`Chapter` with one :class:`Check` per part of the story.

Example
-------
>>> c = Chapter("training")
>>> c.check("one job", True, "dlc-1"); c.check("a model", False, "none")
>>> c.ok, [x.name for x in c.failed]
(False, ['a model'])
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ...rollout.state import rollout_entity, rollout_id
from ...training.runs import run_id
from .narrator import Narrator
from .world import HEALTHY, World

TRAINED = ("waiting_for_model", "model_ready", "served")
CLOSED = ("succeeded", "rolled_back", "aborted")


@dataclasses.dataclass
class Check:
    """One part of the story: did it happen, and the evidence."""

    name: str
    ok: bool
    detail: str = ""


@dataclasses.dataclass
class Chapter:
    """One chapter's checks and the facts the summary shows."""

    title: str
    headline: str = ""
    checks: list[Check] = dataclasses.field(default_factory=list)
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)

    def check(self, name: str, ok: bool, detail: Any = "") -> None:
        self.checks.append(Check(name, bool(ok), str(detail)))

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def ok(self) -> bool:
        return not self.failed


class Story:
    """The chapters in order, over one :class:`World`, told by one :class:`Narrator`."""

    def __init__(self, world: World, narrator: Narrator) -> None:
        self.world = world
        self.say = narrator.say
        self.narrator = narrator
        self.p = world.pipeline_name
        self.service = world.pipeline.serving.service_name

    # -- helpers -----------------------------------------------------------------------------
    def run_head(self, version: str) -> Any:
        return self.world.head(f"runs/{self.p}/{run_id(self.p, version)}")

    def rollout_head(self, version: str) -> Any:
        return self.world.head(rollout_entity(self.p, rollout_id(self.p, version)))

    def train(self, version: str, chapter: Chapter, *, metrics: dict[str, float] | None = None, upload: bool = True) -> bool:
        """Upload the dataset version (unless done) and let the clock run until its run trained (5 s steps)."""
        if metrics:
            self.world.dlc_fault({"kind": "metrics", "next": 1, "metrics": metrics})
            self.say("⚙", f"this version's model will score {metrics} offline (DLC fault rule: metrics)")
        if upload:
            self.world.upload_dataset(version)
            self.world.settle()
        trained = self.world.run_until(lambda: (h := self.run_head(version)) is not None and h.state in TRAINED,
                                       within=600, step=5)
        chapter.check(f"{version} trained", trained, self.run_head(version).state if self.run_head(version) else "no run")
        return trained

    def canary_appears(self, version: str, profile: dict[str, Any], chapter: Chapter) -> str:
        """Wait for model_landed's canary service, then say how its model answers on the gateway."""
        name = f"{self.service}_{version}"
        found = self.world.wait_for_service(name)
        chapter.check(f"canary service {name} created", found)
        if found:
            self.world.behave(name, {**HEALTHY, **profile})
        return name

    def first_step(self, version: str) -> bool:
        """The canary timer (every minute) takes the first step once the canary is ready."""
        return self.world.run_until(lambda: (h := self.rollout_head(version)) is not None
                                    and (h.data.get("canary_weight") or h.state in CLOSED), within=180, step=10)

    def intervals(self, version: str, per_interval: int, *, until: tuple[str, ...], limit: int = 8) -> list[int]:
        """Traffic through one analysis interval at a time until the rollout reaches ``until``; the weights seen."""
        head = self.rollout_head(version)
        if head is None:
            return []
        weights = [head.data.get("canary_weight")]
        for _ in range(limit):
            head = self.rollout_head(version)
            if head.state in until:
                break
            split = self.world.traffic(per_interval)
            shown = ", ".join(f"{k}: {v}" for k, v in sorted(split.items()))
            self.say("↯", f"{per_interval} requests to the group endpoint ({shown})")
            self.world.advance(60)
            weight = self.rollout_head(version).data.get("canary_weight")
            if weight != weights[-1]:
                weights.append(weight)
        return weights

    # -- chapters ------------------------------------------------------------------------------
    def wire(self) -> Chapter:
        """What `pai-autopilot wire` does after `s deploy`: the PAI-bus rule, lifecycle, alarm rules."""
        from ... import wiring
        from ...clients import eventbridge_client

        chapter = Chapter("wire")
        eb = eventbridge_client(self.world.settings, self.world.credentials)
        cloud = self.world.cloud
        steps = wiring.plan(self.world.config, eventbridge=eb, bucket=self.world.bucket, region=cloud.region,
                            account_id=cloud.account_id, function_prefix="pai-autopilot", cms=self.world.sdk.cms)
        wiring.apply(steps, eventbridge=eb, bucket=self.world.bucket, cms=self.world.sdk.cms)
        for step in steps:
            self.say("⚙", f"wire: {step.line()}")
        chapter.check("wired", not any(s.action == "refuse" for s in steps), f"{len(steps)} steps")
        chapter.headline = "PAI bus → job_events, checkpoint lifecycle, CloudMonitor 5xx alarm → alarm"
        return chapter

    def first_version(self) -> Chapter:
        """v1: trained on spot, preempted once, resumed from its newest checkpoint, served with its autoscaler."""
        from alibabacloud_pai_dlc20201203 import models as dlc

        chapter = Chapter("v1: spot training, preempted, resumed → first service")
        self.world.dlc_fault({"kind": "preempt", "next": 1, "at_step": 35})
        self.say("⚡", "the spot market will reclaim the next job's instance at step 35 (DLC fault rule: preempt)")
        self.narrator.checkpoints = True
        marker = self.world.upload_dataset("v1")
        self.world.settle()
        self.say("↻", "the upload job runs again and writes the same marker (at-least-once, like every event)")
        self.world.bucket.put_object(marker, b"")
        self.world.settle()
        trained = self.train("v1", chapter, upload=False)
        self.narrator.checkpoints = False
        if not trained:
            return chapter
        records = [r for e, r in self.narrator.records if e == f"runs/{self.p}/{run_id(self.p, 'v1')}"]
        resumed = [r["data"] for r in records if r["state"] == "submitted" and r["data"].get("previous_job_id")
                   and r["data"].get("status") is None]
        jobs = self.world.sdk.dlc.list_jobs(dlc.ListJobsRequest(page_size=100)).body.jobs or []
        chapter.check("preempted once, resubmitted from the newest complete checkpoint",
                      len(resumed) == 1 and str(resumed[0].get("resume_from", "")).endswith("/step-30/"),
                      resumed[0].get("resume_from") if resumed else "no resubmission")
        chapter.check("two DLC jobs for one run (the duplicate marker made none)", len(jobs) == 2,
                      [f"{j.job_id} {j.status}" for j in jobs])
        name = f"{self.service}_v1"
        if self.world.wait_for_service(name):
            self.world.behave(name, HEALTHY)
        served = self.world.run_until(lambda: (h := self.run_head("v1")) is not None and h.state == "served",
                                      within=600, step=30)
        svc = self.world.services().get(name)
        chapter.check("v1 served: EAS service Running", served and svc is not None and svc.status == "Running",
                      f"{name} {svc.status if svc else 'missing'}")
        try:
            scaler = self.world.sdk.eas.describe_service_auto_scaler(self.world.cloud.region, name).body
            behaviour = (scaler.behavior or {}).get("behavior", {})
            detail = (f"min {scaler.min_replica}, max {scaler.max_replica}, "
                      f"{', '.join(f'{s.metric_name}>{s.threshold:g}' for s in scaler.scale_strategies or [])}, "
                      f"up within {behaviour.get('scaleUp', {}).get('stabilizationWindowSeconds')} s, "
                      f"down within {behaviour.get('scaleDown', {}).get('stabilizationWindowSeconds')} s")
            self.say("⚖", f"autoscaler of {name} (DescribeServiceAutoScaler): {detail}")
            chapter.check("autoscaler in place", scaler.max_replica is not None, detail)
        except Exception as exc:  # noqa: BLE001 — the check records it
            chapter.check("autoscaler in place", False, exc)
        chapter.facts.update(jobs=len(jobs), service=name)
        chapter.headline = (f"{len(jobs)} DLC jobs for one run, resumed from "
                            f"{str(resumed[0].get('resume_from', '?')).rstrip('/').rsplit('/', 1)[-1] if resumed else '?'}; "
                            f"{name} {svc.status if svc else 'missing'} with its autoscaler")
        return chapter

    def healthy_canary(self) -> Chapter:
        """v2: canary 10 → 25 → 50 → 100, promoted; the old stable warm through the watch window."""
        chapter = Chapter("v2: canary 10 → 25 → 50 → 100, promoted")
        if not self.train("v2", chapter, metrics={"accuracy": 0.93, "loss": 0.2}):
            return chapter
        self.canary_appears("v2", {}, chapter)
        chapter.check("first step taken", self.first_step("v2"), getattr(self.rollout_head("v2"), "state", "no rollout"))
        weights = self.intervals("v2", 800, until=("watching", *CLOSED))
        chapter.check("weights 10 → 25 → 50 → 100", weights == [10, 25, 50, 100], weights)
        old = self.world.services().get(f"{self.service}_v1")
        warm = self.rollout_head("v2").state == "watching" and old is not None and old.status == "Running"
        detail = f"{old.service_name} {old.status}, weight {old.weight}" if old else "missing"
        self.say("♨", f"watch window: the old stable is kept warm ({detail}); one step reverts to it")
        chapter.check("old version warm while watching", warm, detail)
        for _ in range(8):
            if self.rollout_head("v2").state in CLOSED:
                break
            self.world.traffic(100)
            self.world.advance(60)
        final = self.rollout_head("v2")
        old = self.world.services().get(f"{self.service}_v1")
        chapter.check("promoted, watch window passed", final.state == "succeeded", final.state)
        chapter.check("old version retired after the window", old is None or old.status in ("Stopping", "Stopped"),
                      old.status if old else "deleted")
        chapter.facts.update(weights=weights, phase=final.state)
        chapter.headline = (f"canary {' → '.join(map(str, weights))}, {final.state}; "
                            f"v1 warm through the watch window, then {old.status if old else 'deleted'}")
        return chapter

    def bad_canary(self) -> Chapter:
        """v3: looks better offline, answers 30 % errors online → rolled back by the canary's metrics."""
        chapter = Chapter("v3: a bad model, rolled back by its metrics")
        if not self.train("v3", chapter, metrics={"accuracy": 0.94, "loss": 0.19}):
            return chapter
        self.say("☠", "v3's model is broken online: 30 % of its answers are HTTP 500 (EAS profile: error_rate 0.3)")
        self.canary_appears("v3", {"error_rate": 0.3}, chapter)
        self.first_step("v3")
        self.intervals("v3", 800, until=CLOSED, limit=4)
        head = self.rollout_head("v3")
        if head is None:
            chapter.check("a rollout opened for v3", False, "no rollout")
            return chapter
        gate = head.data.get("last_gate") or {}
        canary, stable = gate.get("canary") or {}, gate.get("stable") or {}
        values = (f"canary {canary.get('errors')}/{canary.get('requests')} errors (ratio {canary.get('error_ratio')}) "
                  f"vs stable {stable.get('errors')}/{stable.get('requests')} (ratio {stable.get('error_ratio')}); "
                  f"p-value {gate.get('p_value')}")
        self.say("↩", f"[bold red]rolled back[/bold red] by the metrics: {values}")
        chapter.check("rolled back by the canary's metrics", head.state == "rolled_back" and not str(head.by).startswith("alarm:"),
                      f"{head.state} by {head.by}: {head.data.get('reason')}")
        chapter.check("failing values recorded", bool(canary.get("requests")) and (canary.get("error_ratio") or 0) > 0.05, values)
        chapter.facts.update(reason=head.data.get("reason"), values=values)
        chapter.headline = f"{head.state}: {values}"
        return chapter

    def alarmed_canary(self) -> Chapter:
        """v4: too little canary traffic for the gates to judge (hold), but CloudMonitor's alarm fires."""
        chapter = Chapter("v4: a CloudMonitor alarm on the canary")
        if not self.train("v4", chapter, metrics={"accuracy": 0.95, "loss": 0.18}):
            return chapter
        self.say("☠", "v4 answers 60 % errors, and the canary sees little traffic: the gates hold, CloudMonitor watches")
        self.canary_appears("v4", {"error_rate": 0.6}, chapter)
        self.first_step("v4")
        self.intervals("v4", 150, until=CLOSED, limit=5)
        head = self.rollout_head("v4")
        if head is None:
            chapter.check("a rollout opened for v4", False, "no rollout")
            return chapter
        chapter.check("rolled back by the CloudMonitor alarm", head.state == "rolled_back" and str(head.by).startswith("alarm:"),
                      f"{head.state} by {head.by}: {head.data.get('reason')}")
        alarms = self.world.cloud.fc.invocation_records("pai-autopilot-alarm")
        chapter.check("the alarm function ran", bool(alarms) and all(r["status"] == "succeeded" for r in alarms), len(alarms))
        weights = {n: s.weight for n, s in self.world.services().items() if s.status == "Running"}
        chapter.check("all traffic back on the stable", weights.get(f"{self.service}_v2") == 100, weights)
        chapter.facts.update(reason=head.data.get("reason"))
        chapter.headline = f"{head.state} by {head.by}: {head.data.get('reason')}"
        return chapter

    def idle_notebook(self) -> Chapter:
        """A GPU notebook left idle at night: its culler set, one warning, then stopped."""
        chapter = Chapter("an idle notebook: warned, then stopped")
        world = self.world
        iid = world.create_notebook("nb_alice_exp", "ecs.gn6i-c4g1.xlarge", owner="alice")
        world.advance(10)
        world.report_usage(iid, cpu=2.0, gpu=0.0, hours=4)
        self.say("☕", f"GPU notebook nb_alice_exp ({iid}) sits idle (CPU 2 %, GPU 0 %) on a Friday night")
        entity = f"notebooks/{iid}"
        stopped = world.run_until(lambda: (h := world.head(entity)) is not None and h.state == "stopped",
                                  within=4 * 3600, step=300)
        states = [r["state"] for e, r in self.narrator.records if e == entity]
        chapter.check("warned once, then stopped", stopped and states.count("warned") == 1, states)
        chapter.check("DSW instance stopped", world.notebook(iid).status in ("Stopping", "Stopped"), world.notebook(iid).status)
        world.advance(3600)  # an hour of GPU not billed
        chapter.facts.update(instance=iid, states=states)
        chapter.headline = f"nb_alice_exp ({iid}): {' → '.join(states)}"
        return chapter

    def savings(self) -> Chapter:
        """The notebooks report (what `pai-autopilot notebooks report` prints)."""
        from ...notebooks.report import savings_report

        chapter = Chapter("savings estimate")
        report = savings_report(self.world.runtime, 86_400)
        t = report["totals"]
        line = (f"{t['stops']} stop(s), {t['gpu_hours']:.2f} GPU-hours, {t['cost']:.2f} {report['currency']} avoided "
                "so far (estimates)")
        self.say("¥", line)
        chapter.check("savings reported", t["stops"] >= 1 and t["cost"] > 0, line)
        chapter.facts.update(report=report, line=line)
        chapter.headline = line
        return chapter

    def timeline(self, path: Any, version: str = "v2") -> Chapter:
        """One version's HTML timeline, as ``pai-autopilot timeline PIPELINE VERSION --html FILE`` writes it.

        The operations surface (issue 13) renders it: ``pai_autopilot.ops.timeline.gather`` and
        ``pai_autopilot.ops.timeline_html.render_html``, the functions the CLI calls.
        """
        from ...ops.timeline import gather
        from ...ops.timeline_html import render_html

        chapter = Chapter(f"HTML timeline of {version}")
        found = gather(self.world.runtime, self.p, version)
        path.write_text(render_html(found), encoding="utf-8")
        self.say("🗎", f"{version}'s timeline ({len(found.events)} events) written to [bold]{path}[/bold]")
        chapter.check("timeline written", path.exists() and bool(found.events), f"{path} ({len(found.events)} events)")
        chapter.facts.update(path=str(path), events=len(found.events))
        chapter.headline = f"{len(found.events)} events → {path}"
        return chapter

    def functions(self) -> Chapter:
        """Every invocation of the story ended well: nothing exhausted its retries."""
        chapter = Chapter("the functions")
        records = self.world.cloud.fc.invocation_records()
        dead = self.world.cloud.fc.dead_letters()
        chapter.check("no dead letters", not dead, f"{len(dead)} dead letter(s)")
        failed = [r for r in records if r["status"] != "succeeded"]
        chapter.check("every invocation succeeded", not failed,
                      ", ".join(f"{r['function']} {r['status']}" for r in failed[:5]) or f"{len(records)} invocations")
        chapter.headline = f"{len(records)} invocations of {len({r['function'] for r in records})} functions, {len(dead)} dead letters"
        return chapter
