"""``FcRuntime``: the project's ``s.yaml`` functions, run locally and fed by their triggers.

* Reads ``s.yaml`` with :mod:`pai_autopilot.syaml` (the same loader the deploy test uses).
* Runs each function from the source tree (``functions/`` and ``shared/`` on its path, the
  layout of the flat code package) in worker processes with FC's environment variables, an
  STS credential triple and ``AUTOPILOT_ENDPOINT`` pointing at localcloud.
* Delivers OSS notifications (native format) to the functions whose OSS trigger matches
  (events, bucket, prefix, suffix), asynchronously, with FC's retry semantics
  (:mod:`.queues`); failed events end in an inspectable dead-letter store. Deliveries go
  through :meth:`FcRuntime.deliver`, where the delivery faults (duplicates, reordering,
  delay, loss) apply — EventBridge targets use it too.
* Fires timer triggers on localcloud's clock (:mod:`.timers`) and serves HTTP triggers on
  the edge under ``/_fc/<function>/`` (:mod:`.http`), synchronously.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from pai_autopilot import syaml

from ..core.clock import Clock
from ..core.credentials import CredentialStore
from ..core.events import EventHub, ObjectEvent
from ..core.faults import DeliveryFaults
from .http import error_response, http_event, http_response, split_path
from .instances import Instance, InvokeResult
from .queues import AsyncInvocation, FunctionQueue
from .timers import TimerSchedule, timer_event
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
        delivery: Callable[[], DeliveryFaults] = DeliveryFaults,
        seed: int | None = None,
        static_credential: Any = None,
    ) -> None:
        self.project_dir = project_dir.resolve()
        self.syaml_path = self.project_dir / syaml_file
        self.hub = hub
        self.clock = clock
        self._timers_lock = threading.Lock()
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
        self.delivery = delivery
        self.static_credential = static_credential
        self._rng = random.Random(seed)
        self._delayed = 0
        self._delayed_cond = threading.Condition()
        self.dropped = 0
        self._schedules: list[tuple[str, TimerSchedule]] = []
        self._http_instances: dict[str, tuple[threading.Lock, Instance]] = {}
        self._callers: dict[str, list[Instance]] = collections.defaultdict(list)
        self._callers_lock = threading.Lock()  # not _lock: instances are made while _lock is held
        self.crashes = 0

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
            for trigger in spec.triggers:
                if trigger.type == "timer":
                    self._schedules.append((name, TimerSchedule(trigger, start=self.clock.now())))
        self.hub.subscribe(self._on_hub_event)

    def stop(self) -> None:
        self.hub.unsubscribe(self._on_hub_event)
        for queue in self._queues.values():
            queue.stop()
        self._queues.clear()
        for _, instance in self._http_instances.values():
            instance.stop()
        self._http_instances.clear()
        self._schedules.clear()

    def reset(self) -> None:
        """Drop queued invocations, records and logs (instances stay warm)."""
        for queue in self._queues.values():
            queue.clear()
        self.wait_idle(timeout=30)
        with self._lock:
            self._records.clear()
            self._logs.clear()

    def tick(self, now: float) -> int:
        """Fire every timer trigger that fell due up to ``now`` (clock time); how many fired.

        Never beyond the clock's current time: a tick that read the clock just before it was
        frozen or set back fires nothing ahead of it (and one tick never interleaves with
        :meth:`restart_timers`).
        """
        fired = 0
        with self._timers_lock:
            now = min(now, self.clock.now())
            for function, schedule in self._schedules:
                for fire_time in schedule.due(now):
                    event = timer_event(schedule.trigger, fire_time).encode()
                    self.invoke_async(function, event, source=f"timer:{schedule.trigger.name}")
                    fired += 1
        return fired

    def restart_timers(self) -> None:
        """Re-anchor every timer at the clock's current time (after a clock reset)."""
        with self._timers_lock:
            now = self.clock.now()
            self._schedules = [(fn, TimerSchedule(s.trigger, start=now)) for fn, s in self._schedules]

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
        credential = self.static_credential or self.credentials.issue_sts()
        instance = Instance(
            spec.name,
            env=self.function_env(spec, credential),
            cwd=str(self.project_dir),
            pythonpath=[str(self.project_dir / "functions"), str(self.project_dir / "shared")],
            on_log=self._on_log,
        )
        with self._callers_lock:
            self._callers[credential.access_key_id].append(instance)
        return instance

    # -- crash faults (the edge asks, see localcloud.core.faults) --------------------------------
    def knows_caller(self, access_key_id: str) -> bool:
        """True when ``access_key_id`` is the credential of one of our function instances."""
        with self._callers_lock:
            return access_key_id in self._callers

    def crash_caller(self, access_key_id: str) -> int:
        """Kill the running instance(s) signing with ``access_key_id``; how many were killed.

        Each instance has its own STS credential, so this is the one instance that made the call
        (with ``static_credential`` every instance shares one key: all running ones die)."""
        with self._callers_lock:
            instances = list(self._callers.get(access_key_id, ()))
        killed = sum(1 for instance in instances if instance.crash())
        with self._callers_lock:
            self.crashes += killed
        return killed

    def _context(self, spec: syaml.FunctionSpec, request_id: str) -> dict[str, Any]:
        return {
            "request_id": request_id,
            "function": {"name": spec.name, "handler": spec.handler, "memory": spec.memory_size, "timeout": spec.timeout},
            "service": {"name": spec.name, "log_project": "", "log_store": "", "qualifier": "LATEST", "version_id": ""},
            "region": self.region,
            "account_id": self.account_id,
            "clock_now": self.clock.now(),  # read by the worker only under LOCALCLOUD_FOLLOW_CLOCK
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

    def resolve(self, name: str) -> syaml.FunctionSpec:
        """A function by its FC name or its s.yaml resource name (``dataset_landed``)."""
        functions = self.functions or self.load()
        spec = functions.get(name) or next((f for f in functions.values() if f.resource == name), None)
        if spec is None:
            known = ", ".join(f"{f.resource} ({f.name})" for f in functions.values())
            raise KeyError(f"no function {name!r} in {self.syaml_path}; known: {known}")
        return spec

    def invoke_sync(self, function: str, event: bytes, *, timeout: float | None = None) -> InvokeResult:
        """Run one synchronous invocation in a fresh instance (``pai-autopilot local invoke``)."""
        spec = self.resolve(function)
        instance = self._instance(spec)
        try:
            return instance.invoke(event, self._context(spec, str(uuid.uuid4())), timeout=timeout or float(spec.timeout))
        finally:
            instance.stop()

    def deliver(self, function: str, event: bytes, *, source: str) -> int:
        """Deliver an event as a trigger does, through the delivery faults; copies sent."""
        delays = self.delivery().plan(self._rng)
        if not delays:
            self.dropped += 1
        for delay in delays:
            if delay <= 0:
                self.invoke_async(function, event, source=source)
                continue
            with self._delayed_cond:
                self._delayed += 1
            timer = threading.Timer(delay, self._deliver_later, args=(function, event, source))
            timer.daemon = True
            timer.start()
        return len(delays)

    def _deliver_later(self, function: str, event: bytes, source: str) -> None:
        try:
            self.invoke_async(function, event, source=source)
        finally:
            with self._delayed_cond:
                self._delayed -= 1
                self._delayed_cond.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no delivery is held back and no invocation is queued, running or retrying."""
        deadline = time.monotonic() + timeout
        with self._delayed_cond:
            while self._delayed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._delayed_cond.wait(timeout=min(remaining, 0.1))
        return all(q.wait_idle(max(0.0, deadline - time.monotonic())) for q in list(self._queues.values()))

    def handle(self, request: Request) -> Response:
        """The edge's entry point for ``/_fc/…`` (HTTP triggers)."""
        return self.handle_http(request)

    def handle_http(self, request: Request) -> Response:
        """Serve ``/_fc/<function>/…`` for a function with an HTTP trigger (synchronous)."""
        function, _ = split_path(request.environ.get("RAW_URI") or request.path)
        spec = self.functions.get(function)
        trigger = next((t for t in spec.triggers if t.type == "http"), None) if spec else None
        if spec is None or trigger is None:
            known = sorted(n for n, s in self.functions.items() if any(t.type == "http" for t in s.triggers))
            body = {"ErrorCode": "FunctionNotFound", "ErrorMessage": f"no HTTP-triggered function {function!r}; known: {known}"}
            return Response(json.dumps(body), status=404, content_type="application/json")
        if request.method not in trigger.methods:
            body = {"ErrorCode": "MethodNotAllowed", "ErrorMessage": f"{request.method} is not in {list(trigger.methods)}"}
            return Response(json.dumps(body), status=405, content_type="application/json")
        request_id = str(uuid.uuid4())
        event = http_event(request, function=function, account_id=self.account_id, region=self.region, request_id=request_id)
        with self._lock:
            if function not in self._http_instances:
                self._http_instances[function] = (threading.Lock(), self._instance(spec))
            lock, instance = self._http_instances[function]
        with lock:
            result = instance.invoke(json.dumps(event).encode(), self._context(spec, request_id), timeout=float(spec.timeout))
        if not result.ok:
            return error_response(result.error_type, result.error, request_id)
        response = http_response(result.result)
        response.headers["x-fc-request-id"] = request_id
        return response

    def _on_hub_event(self, event: Any) -> None:
        if not isinstance(event, ObjectEvent):
            return
        for name, spec in self.functions.items():
            for trigger in spec.triggers:
                if trigger.type != "oss":
                    continue
                if oss_trigger_matches(trigger.events, trigger.bucket, trigger.prefix, trigger.suffix, event):
                    payload = native_oss_event(event, region=self.region, account_id=self.account_id, rule_id=trigger.name)
                    self.deliver(name, json.dumps(payload).encode(), source=f"oss:{trigger.name}")

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
            "dropped_deliveries": self.dropped,
            "crashes": self.crashes,
            "timers": [{"function": fn, "trigger": s.trigger.name, "cron": s.trigger.cron} for fn, s in self._schedules],
        }
