"""A rollout on localcloud, built the way the serving half leaves it: a stable at weight 100 and a
canary at weight 0 in the pipeline's EAS group (through the real EAS SDK), the stable recorded,
the rollout opened; then ticks of the controller in-process, with the clock and the gateway
traffic driven by the test.

Use: ``rollout_env = rollout_fixtures.rollout_env`` in a test module.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import yaml
from alibabacloud_eas20210701 import models

from pai_autopilot.clients import Clients, Credentials
from pai_autopilot.config import parse_config
from pai_autopilot.rollout.state import RolloutSpec, open_rollout, read_head, rollout_id
from pai_autopilot.rollout.tick import run_tick
from pai_autopilot.runtime import Runtime
from pai_autopilot.serving.stable import record_stable
from pai_autopilot.settings import Settings

BUCKET = "rollout-bkt"
START = 1_800_000_000.0  # a multiple of 60: analysis windows line up with CloudMonitor's periods
HEALTHY = {"latency_ms": 5, "sleep_scale": 0}

BASE_CONFIG: dict[str, Any] = {
    "version": 1,
    "storage": {"bucket": BUCKET},
    "pipelines": {"demo": {
        "dataset": {"prefix": "datasets/demo/"},
        "training": {"image": "img", "command": "train", "ecs_spec": "ecs.c6.large"},
        "serving": {"service_name": "demo_model", "group": "demo", "image": "img", "command": "serve",
                    "instance_type": "ecs.c7.large"},
        "rollout": {"interval_seconds": 60, "threshold": 2, "min_requests": 20, "max_error_ratio": 0.05,
                    "max_error_ratio_delta": 0.02, "progress_deadline_seconds": 300, "watch_window_seconds": 300,
                    "cleanup_after_seconds": 0},
    }},
}


def post_many(url: str, count: int, *, workers: int = 4) -> list[requests.Response]:
    def batch(n: int) -> list[requests.Response]:
        with requests.Session() as session:
            return [session.post(url, data=b"{}", timeout=10) for _ in range(n)]

    sizes = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        return [r for chunk in pool.map(batch, sizes) for r in chunk]


class RolloutEnv:
    """One pipeline's serving state on localcloud plus the controller's runtime."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        self.region = cloud.region
        self.env = {**cloud.env(BUCKET), "AUTOPILOT_NOTIFY_PER_MINUTE": "10000"}
        self.settings = Settings.resolve(environ=self.env)
        self.clients = Clients(self.settings, Credentials.from_env(self.env))
        self.eas = self.clients.eas
        self.rollout_cfg: dict[str, Any] = dict(BASE_CONFIG["pipelines"]["demo"]["rollout"])
        self.version = ""

    # -- configuration and runtime -------------------------------------------------------------
    def config(self, **rollout: Any) -> None:
        self.rollout_cfg.update(rollout)

    def runtime(self) -> Runtime:
        doc = json.loads(json.dumps(BASE_CONFIG))
        doc["pipelines"]["demo"]["rollout"] = self.rollout_cfg
        doc["pipelines"]["demo"]["serving"].update(getattr(self, "serving", {}))
        doc["notifications"] = getattr(self, "notifications", [])
        cfg = parse_config(yaml.safe_dump(doc))
        rt = Runtime(self.settings, cfg, Credentials.from_env(self.env), request_id="test", now=self.cloud.clock.now)
        rt.__dict__["clients"] = self.clients  # reuse the SDK clients across ticks (as a warm instance does)
        return rt

    # -- EAS ----------------------------------------------------------------------------------
    def create(self, name: str, profile: dict[str, Any]) -> None:
        config = {"metadata": {"name": name, "instance": 1, "group": "demo"},
                  "containers": [{"image": "img", "port": 8000}], "localcloud": {**profile, "startup_seconds": 0}}
        self.eas.create_service(models.CreateServiceRequest(body=json.dumps(config)))

    def release(self, name: str, weight: int) -> None:
        self.eas.release_service(self.region, name, models.ReleaseServiceRequest(weight=weight, traffic_state="grouping"))

    def weights(self) -> dict[str, int]:
        group = [s for s in self.eas.list_services(models.ListServicesRequest(group_name="demo")).body.services]
        return {s.service_name: (s.weight if s.traffic_state == "grouping" else 0) for s in group}

    def status(self, name: str) -> str:
        return self.eas.describe_service(self.region, name).body.status

    def start(self, version: str, canary_profile: dict[str, Any], *, stable_profile: dict[str, Any] | None = None,
              run_id: str | None = None) -> Any:
        """Stable v1 serving everything, canary ``version`` at weight 0, the rollout opened."""
        self.cloud.clock.freeze(START)
        self.version = version
        self.create("demo_model", stable_profile or HEALTHY)
        self.create(f"demo_model_{version}", canary_profile)
        self.cloud.advance(3)  # both Running (startup 2 s + 0 s)
        self.release("demo_model", 100)
        self.release(f"demo_model_{version}", 0)
        self.cloud.clock.freeze(START)  # analysis windows line up with the periods
        rt = self.runtime()
        record_stable(rt.ledger, "demo", version="v1", service="demo_model", reason="first version")
        spec = RolloutSpec(pipeline="demo", version=version, group="demo", canary_service=f"demo_model_{version}",
                           stable_service="demo_model", stable_version="v1", run_id=run_id)
        return open_rollout(rt.ledger, spec, correlation_id=f"ap-demo-{version}")

    # -- driving -------------------------------------------------------------------------------
    def traffic(self, count: int = 600) -> Counter:
        """``count`` requests at the group endpoint now; how many each service answered."""
        answers = post_many(f"{self.cloud.url}/api/predict/demo", count)
        return Counter(r.headers.get("x-localcloud-service") for r in answers)

    def tick(self) -> dict[str, Any]:
        return run_tick(self.runtime())

    def advance(self, seconds: float = 60) -> None:
        self.cloud.advance(seconds)

    def head(self) -> Any:
        return read_head(self.runtime().ledger, "demo", rollout_id("demo", self.version))

    def history(self) -> list[Any]:
        rt = self.runtime()
        return rt.ledger.history(f"rollouts/demo/{rollout_id('demo', self.version)}")


@pytest.fixture
def rollout_env(cloud: Any) -> RolloutEnv:
    cloud.oss.create_bucket(BUCKET)
    requests.put(f"{cloud.url}/_localcloud/eas/gateway", json={"seed": 11}, timeout=5)
    return RolloutEnv(cloud)
