"""The demo's world: localcloud running the project's functions, and what a real world does to it.

The world only does what people and the cloud would do: upload datasets, move the clock, send
inference traffic, create a notebook and report its usage, and inject the faults a real account
sees (a spot preemption, a bad model's errors). Every decision is taken by the functions of
``s.yaml`` on their triggers, through the real SDK clients.

Example
-------
>>> demo_config({"pipelines": {"demo": {"rollout": {"threshold": 2}}}, "notebooks": {"mode": "dry-run"}})["notebooks"]["mode"]
'enforce'
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

#: Friday 2027-01-15 22:00 in Asia/Shanghai (14:00 UTC): inside the notebooks' quiet hours.
START = 1_800_021_600.0
#: The demo's overrides of the shipped autopilot.yaml: the same story, in minutes of clock.
DEMO_TUNING: dict[str, Any] = {
    "rollout": {"min_requests": 50, "threshold": 1, "watch_window_seconds": 300},
    "notebooks": {"mode": "enforce", "idle_minutes": 30, "warn_minutes": 10},
}
#: How a healthy model answers on localcloud's gateway: 5 ms, recorded but not slept (fast demo).
HEALTHY = {"latency_ms": 5, "sleep_scale": 0, "startup_seconds": 5}
FUNCTIONS_ENV = {
    "LOCALCLOUD_FOLLOW_CLOCK": "*",  # every function's time.time() is the driven clock
    "AUTOPILOT_KICK_WAIT_SECONDS": "0",  # a kicked canary ticks once; the clock only moves when we move it
    "AUTOPILOT_LOG_LEVEL": "WARNING",
}


def demo_config(raw: dict[str, Any]) -> dict[str, Any]:
    """The shipped configuration with :data:`DEMO_TUNING` applied to every pipeline and the notebooks."""
    out = copy.deepcopy(raw)
    for pipeline in (out.get("pipelines") or {}).values():
        pipeline.setdefault("rollout", {}).update(DEMO_TUNING["rollout"])
    out.setdefault("notebooks", {}).update(DEMO_TUNING["notebooks"])
    return out


class World:
    """One localcloud with the project's functions, driven on its clock.

    ``on_step`` is called after every clock step once the functions are idle (the narrator reads
    the new ledger records then).
    """

    def __init__(self, project_dir: Path, work_dir: Path, *, timeout: float = 60.0) -> None:
        import yaml

        from localcloud import LocalCloud

        from ...config import load_config

        self.project_dir = project_dir
        self.timeout = timeout
        raw = yaml.safe_load((project_dir / "autopilot.yaml").read_text())
        self.config_path = work_dir / "autopilot.yaml"
        self.config_path.write_text(yaml.safe_dump(demo_config(raw)))
        self.config = load_config(self.config_path)
        self.pipeline_name, self.pipeline = next(iter(self.config.pipelines.items()))
        self.bucket_name = self.config.storage.bucket
        self.cloud = LocalCloud(project_dir=project_dir, retry_delay_scale=0.05, tick_interval=3600,
                                function_env={"AUTOPILOT_CONFIG": str(self.config_path), **FUNCTIONS_ENV})
        self.on_step: Callable[[], None] = lambda: None
        self.http = requests.Session()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start localcloud, the bucket and the workspace, freeze the clock at :data:`START`."""
        from ...clients import Credentials, clients
        from ...ledger import Ledger, OssStore
        from ...runtime import Runtime
        from ...settings import Settings

        self.cloud.start()
        self.cloud.create_bucket(self.bucket_name)
        self.cloud.add_workspace(self.config.workspace.id, self.config.workspace.name)  # PAI makes the bus
        self.cloud.clock.freeze(START)
        self.cloud.fc.restart_timers()
        self.env = self.cloud.env(self.bucket_name)
        self.settings = Settings.resolve(environ=self.env)
        self.credentials = Credentials.from_env(self.env)
        self.sdk = clients(self.settings, self.credentials)
        self.bucket = self.sdk.bucket(self.bucket_name)
        self.ledger = Ledger(OssStore(self.bucket), prefix=self.config.storage.ledger_prefix, now=self.cloud.clock.now)
        self.runtime = Runtime(self.settings, self.config, self.credentials, now=self.cloud.clock.now)
        self.runtime.__dict__["clients"] = self.sdk
        self.control("PUT", "eas/gateway", {"seed": 7})  # reproducible traffic splits and error draws

    def stop(self) -> None:
        self.http.close()
        self.cloud.stop()

    def __enter__(self) -> World:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the control API (what `pai-autopilot local fault|clock` sends) ------------------------
    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One request to ``/_localcloud/<path>``; the JSON answer (raises on an error status)."""
        response = self.http.request(method, f"{self.cloud.url}/_localcloud/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    # -- time ----------------------------------------------------------------------------------
    def now(self) -> float:
        return self.cloud.clock.now()

    def settle(self) -> None:
        """Wait until no function is running or queued, then let the narrator look."""
        if not self.cloud.fc.wait_idle(self.timeout):
            raise TimeoutError(f"functions still busy after {self.timeout:g} s")
        self.on_step()

    def advance(self, seconds: float) -> None:
        """Move the clock (timers and lifecycles follow at once), then settle."""
        self.cloud.advance(seconds)
        self.settle()

    def run_until(self, done: Callable[[], bool], *, within: float, step: float) -> bool:
        """Advance ``step`` seconds at a time until ``done()`` or ``within`` clock seconds passed."""
        moved = 0.0
        while not done():
            if moved >= within:
                return False
            self.advance(step)
            moved += step
        return True

    # -- the data engineer and the training job ------------------------------------------------
    def upload_dataset(self, version: str, rows: int = 400) -> str:
        """Two CSV parts, then the marker that says the version is complete; the marker's key."""
        prefix = f"{self.pipeline.dataset.prefix}{version}/"
        seed = sum(map(ord, version))
        for part in range(2):
            body = "x,y\n" + "".join(f"{i},{(2 + seed % 5) * i + 1}\n" for i in range(part * rows // 2, (part + 1) * rows // 2))
            self.bucket.put_object(f"{prefix}part-{part}.csv", body.encode())
        self.bucket.put_object(prefix + self.pipeline.dataset.marker, b"")
        return prefix + self.pipeline.dataset.marker

    def dlc_fault(self, rule: dict[str, Any]) -> dict[str, Any]:
        """A DLC fault rule (``POST /_localcloud/dlc/faults``): a preemption, the model's metrics."""
        return self.control("POST", "dlc/faults", rule)

    # -- serving ---------------------------------------------------------------------------------
    def services(self) -> dict[str, Any]:
        """Every EAS service by name (ListServices, real SDK)."""
        from alibabacloud_eas20210701 import models

        body = self.sdk.eas.list_services(models.ListServicesRequest(page_size=100)).body
        return {s.service_name: s for s in body.services or []}

    def wait_for_service(self, name: str, within: float = 30.0) -> bool:
        """Real seconds until ``name`` exists (model_landed creates it on the model's OSS event)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if name in self.services():
                return True
            time.sleep(0.1)
        return False

    def behave(self, service: str, profile: dict[str, Any]) -> None:
        """How a service's model answers on the gateway (``PUT /_localcloud/eas/services/…/profile``)."""
        self.control("PUT", f"eas/services/{service}/profile", profile)

    def traffic(self, requests_count: int) -> dict[str, int]:
        """Inference requests to the group endpoint; how many each service answered, and the 5xx."""
        counts: dict[str, int] = {}
        url = f"{self.cloud.url}/api/predict/{self.pipeline.serving.group}"
        for _ in range(requests_count):
            answer = self.http.post(url, data=b'{"x": 3}', timeout=10)
            name = answer.headers.get("x-localcloud-service", "?")
            counts[name] = counts.get(name, 0) + 1
            if answer.status_code >= 500:
                counts["5xx"] = counts.get("5xx", 0) + 1
        return counts

    # -- notebooks ---------------------------------------------------------------------------------
    def create_notebook(self, name: str, ecs_spec: str, owner: str) -> str:
        """A DSW instance as a user creates it (CreateInstance, real SDK); its id."""
        from alibabacloud_pai_dsw20220101 import models

        body = {"InstanceName": name, "EcsSpec": ecs_spec, "ImageUrl": "dsw-registry.cn-hangzhou.cr.aliyuncs.com/pai/pytorch:2.1",
                "WorkspaceId": self.config.workspace.id, "Labels": [{"Key": "owner", "Value": owner}]}
        return self.sdk.dsw.create_instance(models.CreateInstanceRequest().from_map(body)).body.instance_id

    def notebook(self, instance_id: str) -> Any:
        from alibabacloud_pai_dsw20220101 import models

        return self.sdk.dsw.get_instance(instance_id, models.GetInstanceRequest()).body

    def report_usage(self, instance_id: str, cpu: float, gpu: float, hours: float) -> None:
        """What DSW measures on the instance: constant CPU and GPU usage for ``hours`` from now."""
        series = [{"metric": m, "value": v, "duration": hours * 3600, "step": 60}
                  for m, v in (("CpuCoreUsage", cpu), ("GpuCoreUsage", gpu))]
        self.control("POST", f"dsw/instances/{instance_id}/usage", {"series": series})

    # -- the ledger ----------------------------------------------------------------------------------
    def ledger_keys(self) -> Iterator[str]:
        """Every ledger record key (not the indexes), in listing order."""
        import oss2

        prefix = self.config.storage.ledger_prefix
        for obj in oss2.ObjectIteratorV2(self.bucket, prefix=prefix):
            if not obj.key[len(prefix):].startswith("index/") and obj.key.endswith(".json"):
                yield obj.key

    def read_json(self, key: str) -> dict[str, Any]:
        return json.loads(self.bucket.get_object(key).read())

    def head(self, entity: str) -> Any:
        """The newest record of a ledger entity (``runs/demo/<id>``, ``rollouts/demo/<id>``…)."""
        return self.ledger.latest(entity)

    def entities(self, kind: str) -> list[str]:
        return self.ledger.entities(kind)

    # -- what localcloud holds at the end (the JSON summary's "state") ----------------------------
    def snapshot(self) -> dict[str, Any]:
        """The cloud's own state, read through the real SDKs, plus the ledger's heads and the FC runtime."""
        from alibabacloud_pai_dlc20201203 import models as dlc
        from alibabacloud_pai_dsw20220101 import models as dsw

        jobs = self.sdk.dlc.list_jobs(dlc.ListJobsRequest(page_size=100, order="asc")).body.jobs or []
        notebooks = self.sdk.dsw.list_instances(dsw.ListInstancesRequest(page_size=100)).body.instances or []
        heads = {}
        for kind in ("runs/", "models/", "rollouts/", "serving/", "notebooks/"):
            for entity in self.entities(kind):
                head = self.head(entity)
                if head is not None:
                    heads[entity] = {"state": head.state, "by": head.by, "version": head.data.get("version"),
                                     "reason": head.data.get("reason")}
        return {
            "dlc_jobs": [{"job_id": j.job_id, "display_name": j.display_name, "status": j.status} for j in jobs],
            "eas_services": {n: {"status": s.status, "weight": s.weight, "group": s.service_group}
                             for n, s in sorted(self.services().items())},
            "dsw_instances": {i.instance_id: {"name": i.instance_name, "status": i.status} for i in notebooks},
            "ledger_heads": heads,
            "fc": {"invocations": len(self.cloud.fc.invocation_records()), "dead_letters": len(self.cloud.fc.dead_letters()),
                   "by_function": _count(r["function"] for r in self.cloud.fc.invocation_records())},
            "clock": self.now(),
        }


def _count(names: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in names:
        out[name] = out.get(name, 0) + 1
    return dict(sorted(out.items()))
