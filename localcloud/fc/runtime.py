"""``FcRuntime``: the project's ``s.yaml`` functions, run locally and fed by their triggers.

* Reads ``s.yaml`` with :mod:`pai_autopilot.syaml` (the same loader the deploy test uses).
* Runs each function from the source tree (``functions/`` and ``shared/`` on its path, the
  layout of the flat code package) in worker processes with FC's environment variables, an
  STS credential triple and ``AUTOPILOT_ENDPOINT`` pointing at localcloud.
* Delivers OSS notifications (native format) to the functions whose OSS trigger matches
  (events, bucket, prefix, suffix), asynchronously, with FC's retry semantics
  (:mod:`.queues`); failed events end in an inspectable dead-letter store.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from pai_autopilot import syaml

from ..core.clock import Clock
from ..core.credentials import CredentialStore
from ..core.events import EventHub, ObjectEvent
from .instances import Instance, InvokeResult
from .queues import AsyncInvocation, FunctionQueue
from .triggers import native_oss_event, oss_trigger_matches

LOG_LINES_KEPT = 5000


@dataclasses.dataclass(frozen=True)
class FcInvocationEvent:
    """Published on the hub when an invocation starts, succeeds, fails or is dead-lettered."""

    kind: str
    record: dict[str, Any]


class FcRuntime:
    """Runs the functions of one Serverless Devs project against a localcloud."""

    def __init__(
        self,
        *,
        project_dir: Path,
        hub: EventHub,
        clock: Clock,
        credentials: CredentialStore,
        region: str,
        account_id: str,
        extra_env: dict[str, str],
        retry_delay_scale: float = 1.0,
        concurrency: int = 2,
        syaml_file: str = "s.yaml",
    ) -> None:
        self.project_dir = project_dir.resolve()
        self.syaml_path = self.project_dir / syaml_file
        self.hub = hub
        self.clock = clock
        self.credentials = credentials
        self.region = region
        self.account_id = account_id
        self.extra_env = dict(extra_env)
        self.retry_delay_scale = retry_delay_scale
        self.concurrency = concurrency
        self.endpoint: str | None = None
        self.functions: dict[str, syaml.FunctionSpec] = {}
        self._queues: dict[str, FunctionQueue] = {}
        self._records: dict[str, AsyncInvocation] = collections.OrderedDict()
        self._logs: dict[str, collections.deque[str]] = collections.defaultdict(lambda: collections.deque(maxlen=LOG_LINES_KEPT))
        self._lock = threading.Lock()
        self.echo_logs = False

    # -- lifecycle ---------------------------------------------------------------------------
    def project_env(self) -> dict[str, str]:
        """Variables the project's s.yaml expects from the deployer, filled for local runs.

        ``AUTOPILOT_CONFIG`` defaults to the project's ``autopilot.yaml`` and
        ``AUTOPILOT_BUCKET`` to that configuration's bucket; ``extra_env`` overrides both.
        """
        env = {"AUTOPILOT_CONFIG": str(self.project_dir / "autopilot.yaml"), **self.extra_env}
        if "AUTOPILOT_BUCKET" not in env and os.path.exists(env["AUTOPILOT_CONFIG"]):
            from pai_autopilot.config import load_config

            env["AUTOPILOT_BUCKET"] = load_config(env["AUTOPILOT_CONFIG"]).storage.bucket
        return env

    def load(self) -> dict[str, syaml.FunctionSpec]:
        """Read ``s.yaml``; every function it declares, by function name."""
        env = {**os.environ, "ALIBABA_CLOUD_REGION_ID": self.region, **self.project_env()}
        doc = syaml.load_syaml(self.syaml_path, env=env, account_id=self.account_id, strict=False)
        return {spec.name: spec for spec in syaml.functions(doc)}

    def start(self, *, endpoint: str) -> None:
        self.endpoint = endpoint
        self.functions = self.load()
        for name, spec in self.functions.items():
            self._queues[name] = FunctionQueue(
                name,
                make_instance=lambda spec=spec: self._instance(spec),
                make_context=lambda inv, spec=spec: self._context(spec, inv.request_id),
                timeout=float(spec.timeout),
                max_retries=spec.async_config.max_retries,
                max_age=float(spec.async_config.max_event_age_seconds),
                concurrency=self.concurrency,
                delay_scale=self.retry_delay_scale,
                on_change=self._on_change,
            )
        self.hub.subscribe(self._on_hub_event)

    def stop(self) -> None:
        self.hub.unsubscribe(self._on_hub_event)
        for queue in self._queues.values():
            queue.stop()
        self._queues.clear()

    def reset(self) -> None:
        """Drop queued invocations, records and logs (instances stay warm)."""
        for queue in self._queues.values():
            queue.clear()
        self.wait_idle(timeout=30)
        with self._lock:
            self._records.clear()
            self._logs.clear()

    def on_clock_advanced(self) -> None:
        """Timers follow the clock (timer triggers come with localcloud part 1)."""

    # -- instances ---------------------------------------------------------------------------
    def function_env(self, spec: syaml.FunctionSpec, credential: Any) -> dict[str, str]:
        """The environment a function instance sees: FC's variables, s.yaml's, localcloud's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FC_", "ALIBABA_CLOUD_", "AUTOPILOT_"))}
        env.update({k: str(v) for k, v in spec.environment.items()})
        env.update(
            {
                "FC_FUNCTION_NAME": spec.name,
                "FC_FUNCTION_HANDLER": spec.handler,
                "FC_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
                "FC_TIMEOUT": str(spec.timeout),
                "FC_RUNTIME": spec.runtime,
                "FC_REGION": self.region,
                "FC_ACCOUNT_ID": self.account_id,
                "FC_FUNC_CODE_PATH": str(self.project_dir),
                "FC_INSTANCE_ID": uuid.uuid4().hex,
                "ALIBABA_CLOUD_ACCESS_KEY_ID": credential.access_key_id,
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": credential.access_key_secret,
                "ALIBABA_CLOUD_SECURITY_TOKEN": credential.security_token or "",
                "ALIBABA_CLOUD_REGION_ID": self.region,
            }
        )
        env.update(self.project_env())
        env["AUTOPILOT_ENDPOINT"] = self.endpoint or ""
        env.pop("PYTHONPATH", None)
        return env

    def _instance(self, spec: syaml.FunctionSpec) -> Instance:
        credential = self.credentials.issue_sts()
        return Instance(
            spec.name,
            env=self.function_env(spec, credential),
            cwd=str(self.project_dir),
            pythonpath=[str(self.project_dir / "functions"), str(self.project_dir / "shared")],
            on_log=self._on_log,
        )

    def _context(self, spec: syaml.FunctionSpec, request_id: str) -> dict[str, Any]:
        return {
            "request_id": request_id,
            "function": {"name": spec.name, "handler": spec.handler, "memory": spec.memory_size, "timeout": spec.timeout},
            "service": {"name": spec.name, "log_project": "", "log_store": "", "qualifier": "LATEST", "version_id": ""},
            "region": self.region,
            "account_id": self.account_id,
        }

    # -- invocation --------------------------------------------------------------------------
    def invoke_async(self, function: str, event: bytes, *, source: str = "api") -> str:
        """Queue one asynchronous invocation; returns its id."""
        queue = self._queues.get(function)
        if queue is None:
            raise KeyError(f"no function {function!r} in {self.syaml_path.name}; known: {', '.join(self.functions)}")
        invocation = AsyncInvocation(id=uuid.uuid4().hex[:16], function=function, event=event, source=source, enqueued_at=time.time())
        with self._lock:
            self._records[invocation.id] = invocation
        queue.submit(invocation)
        return invocation.id

    def invoke_sync(self, function: str, event: bytes, *, timeout: float | None = None) -> InvokeResult:
        """Run one synchronous invocation in a fresh instance (``pai-autopilot local invoke``)."""
        spec = self.functions.get(function) or self.load().get(function)
        if spec is None:
            raise KeyError(f"no function {function!r} in {self.syaml_path.name}")
        instance = self._instance(spec)
        try:
            return instance.invoke(event, self._context(spec, str(uuid.uuid4())), timeout=timeout or float(spec.timeout))
        finally:
            instance.stop()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no invocation is queued, running or waiting to retry."""
        deadline = time.monotonic() + timeout
        return all(q.wait_idle(max(0.0, deadline - time.monotonic())) for q in list(self._queues.values()))

    def _on_hub_event(self, event: Any) -> None:
        if not isinstance(event, ObjectEvent):
            return
        for name, spec in self.functions.items():
            for trigger in spec.triggers:
                if trigger.type != "oss":
                    continue
                if oss_trigger_matches(trigger.events, trigger.bucket, trigger.prefix, trigger.suffix, event):
                    payload = native_oss_event(event, region=self.region, account_id=self.account_id, rule_id=trigger.name)
                    self.invoke_async(name, json.dumps(payload).encode(), source=f"oss:{trigger.name}")

    def _on_change(self, invocation: AsyncInvocation, kind: str) -> None:
        self.hub.publish(FcInvocationEvent(kind, invocation.record()))

    def _on_log(self, function: str, line: str) -> None:
        self._logs[function].append(line)
        if self.echo_logs:
            print(f"[{function}] {line}", flush=True)

    # -- inspection --------------------------------------------------------------------------
    def invocation_records(self, function: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self._records.values())
        return [inv.record() for inv in items if function is None or inv.function == function]

    def dead_letters(self) -> list[dict[str, Any]]:
        """Invocations that exhausted their retries: full event, last error, attempts."""
        with self._lock:
            items = [inv for inv in self._records.values() if inv.status == "dead"]
        return [{**inv.record(), "event": inv.event.decode("utf-8", "replace"), "errors": [r.get("error") for r in inv.results]} for inv in items]

    def logs(self, function: str) -> list[str]:
        return list(self._logs.get(function, ()))

    def state(self) -> dict[str, Any]:
        return {
            "functions": sorted(self.functions),
            "pending": {name: q.pending for name, q in self._queues.items()},
            "invocations": len(self._records),
            "dead_letters": len(self.dead_letters()),
        }
