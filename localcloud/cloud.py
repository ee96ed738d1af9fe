"""``LocalCloud``: every emulated service behind one edge, plus the local FC runtime.

Example
-------
>>> cloud = LocalCloud().start()          # doctest: +SKIP
>>> cloud.url                              # doctest: +SKIP
'http://127.0.0.1:40123'
>>> cloud.stop()                           # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from .cms import CmsService
from .control import ControlApi
from .core.calls import ApiCallLog, oss_operation
from .core.clock import Clock
from .core.credentials import (
    LOCAL_ACCESS_KEY_ID,
    LOCAL_ACCESS_KEY_SECRET,
    LOCAL_ACCOUNT_ID,
    CredentialStore,
)
from .core.events import EventHub
from .core.faults import DeliveryFaults, FaultInjector
from .core.metrics import RequestLog, Timeline
from .dlc import DlcService
from .dsw import DswService
from .eas import EasService
from .edge import Edge
from .eventbridge import EventBridgeService
from .oss import OssService
from .server import ThreadedServer

DEFAULT_PORT = 9800
DEFAULT_REGION = "cn-hangzhou"


class LocalCloud:
    """One emulated account in one region.

    Parameters
    ----------
    region:
        Region id the services report (and the FC runtime passes to functions).
    data_dir:
        Keep OSS objects on disk there (they survive a restart); ``None`` keeps them in memory.
    project_dir:
        A directory with ``s.yaml``: its functions run in the local FC runtime and receive the
        events their triggers subscribe to. ``None`` runs no functions.
    function_env:
        Extra environment variables for every function (e.g. ``AUTOPILOT_CONFIG``).
    retry_delay_scale:
        Multiplies FC's async retry backoff (1 s, 2 s, 4 s …); tests use a small value.
    tick_interval:
        Real seconds between ticks (timers, lifecycle); :meth:`advance` also ticks at once.
    oss_max_buckets:
        The account's bucket cap (default ``LOCALCLOUD_OSS_MAX_BUCKETS``, else OSS's 100).
    """

    def __init__(
        self,
        *,
        region: str = DEFAULT_REGION,
        data_dir: str | os.PathLike[str] | None = None,
        project_dir: str | os.PathLike[str] | None = None,
        function_env: dict[str, str] | None = None,
        retry_delay_scale: float = 1.0,
        tick_interval: float = 0.5,
        oss_max_buckets: int | None = None,
    ) -> None:
        self.region = region
        self.account_id = LOCAL_ACCOUNT_ID
        self.clock = Clock()
        self.credentials = CredentialStore()
        self.hub = EventHub()
        self.faults = FaultInjector()
        self.requests = RequestLog()  # EAS gateway → CloudMonitor
        self.timeline = Timeline()  # seeded usage (DSW) and other samples → CloudMonitor
        self.delivery = DeliveryFaults()
        self.api_calls = ApiCallLog()  # every POP/OSS request the edge answered (bench: calls per tick)
        self.oss = OssService(
            clock=self.clock, credentials=self.credentials, hub=self.hub, region=region,
            account_id=self.account_id, data_dir=Path(data_dir) if data_dir else None, faults=self.faults,
            max_buckets=oss_max_buckets,
        )
        self.eventbridge = EventBridgeService(clock=self.clock, hub=self.hub, region=region, account_id=self.account_id)
        self.dlc = DlcService(clock=self.clock, region=region, account_id=self.account_id,
                              oss=self.oss, eventbridge=self.eventbridge)
        self.dsw = DswService(clock=self.clock, region=region, account_id=self.account_id, timeline=self.timeline)
        self.eas = EasService(
            clock=self.clock, region=region, account_id=self.account_id, requests=self.requests, timeline=self.timeline
        )
        self.cms = CmsService(
            clock=self.clock, region=region, account_id=self.account_id,
            requests=self.requests, timeline=self.timeline, eventbridge=self.eventbridge,
        )
        self.fc: Any = None
        if project_dir is not None:
            from .fc.runtime import FcRuntime

            self.fc = FcRuntime(
                project_dir=Path(project_dir), hub=self.hub, clock=self.clock, credentials=self.credentials,
                region=region, account_id=self.account_id, extra_env=function_env or {},
                retry_delay_scale=retry_delay_scale, delivery=lambda: self.delivery,
            )
        self.control = ControlApi(self)
        self.calls = self.api_calls  # the same log under its shorter name (request counts in bench/ and tests)
        self.edge = Edge(
            oss=self.oss,
            pop_services={},
            control=self.control,
            credentials=self.credentials,
            faults=self.faults,
            functions=self.fc,
            on_request=self._record_call,
            crash_target=self.fc,
        )
        self._server: ThreadedServer | None = None
        self.services: dict[str, Any] = {}
        for service in (self.dlc, self.eventbridge, self.eas, self.dsw, self.cms):  # cms last: alarms see the others' tick
            self.register(service)
        self.edge.mount("/api/predict/", self.eas.gateway)
        self.fc_api: Any = None
        if self.fc is not None:  # FC 3.0's InvokeFunction (POP, version 2023-03-30) through the runtime
            from .fc.api import FcApiService

            self.fc_api = FcApiService(self.fc)
            self.edge.pop_services[self.fc_api.version] = self.fc_api  # on the edge; "fc" stays the runtime
        self._standing_buckets: set[str] = set()
        self._standing_workspaces: dict[str, str] = {}
        self.tick_interval = tick_interval
        self._ticking = threading.Event()
        self._tick_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, port: int = 0, host: str = "127.0.0.1") -> LocalCloud:
        """Serve the edge in a background thread and start the FC runtime and the ticker."""
        self._server = ThreadedServer(self.edge, host=host, port=port)
        self._server.start()
        if self.fc is not None:
            self.fc.start(endpoint=self.url)
            self._wire_eventbridge()
        self._start_ticker()
        return self

    def _wire_eventbridge(self) -> None:
        """EventBridge FC targets deliver through the runtime; s.yaml's eventbridge triggers
        become rules on the default bus (as fc3 creates them)."""
        fc = self.fc
        self.eventbridge.set_fc_invoker(lambda function, payload, source: fc.deliver(function, payload, source=source))
        for name, spec in fc.functions.items():
            for trigger in spec.triggers:
                if trigger.type == "eventbridge" and trigger.enable:
                    self.eventbridge.backend.subscribe_function("default", f"fc-{name}-{trigger.name}", trigger.pattern, name)

    def _start_ticker(self) -> None:
        """Every ``tick_interval`` real seconds, let time-driven behaviour catch up with the clock."""
        self._ticking.clear()

        def run() -> None:
            while not self._ticking.wait(self.tick_interval):
                self.tick()

        threading.Thread(target=run, name="localcloud-ticker", daemon=True).start()

    def register(self, service: Any) -> Any:
        """Add a POP service (``name``, ``version``, ``handle``, ``reset``, ``state`` and
        optionally ``tick(now)``) to the edge, reset, state and the ticker."""
        self.services[service.name] = service
        self.edge.pop_services[service.version] = service
        return service

    def tick(self) -> None:
        """Run what is due at the clock's time: timers, lifecycles, every service's ``tick``."""
        with self._tick_lock:
            now = self.clock.now()
            for service in [self.oss, *self.services.values()]:
                tick = getattr(service, "tick", None)
                if tick is not None:
                    tick(now)
            if self.fc is not None:
                self.fc.tick(now)

    def _record_call(self, request: Any, response: Any) -> None:
        """The edge's hook: one :class:`~.core.calls.ApiCall` per POP or OSS request."""
        path = request.path
        if path.startswith(("/_localcloud/", "/_fc/")):
            return
        version = request.headers.get("x-acs-version")
        if version is not None:
            service = self.edge.pop_services.get(version)
            product = service.name if service is not None else f"unknown:{version}"
            action = request.headers.get("x-acs-action") or request.method
        elif any(path.startswith(prefix) for prefix in self.edge.mounts):
            return
        else:
            product, action = "oss", oss_operation(request.method, path, request.args)
        self.api_calls.record(product, action, response.status_code, at=self.clock.now())

    def serve_forever(self, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> None:
        """Serve in the foreground until interrupted (``pai-autopilot local up``)."""
        self._server = ThreadedServer(self.edge, host=host, port=port)
        if self.fc is not None:
            self.fc.start(endpoint=self.url)
            self._wire_eventbridge()
        self._start_ticker()
        try:
            self._server.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        self._ticking.set()
        if self.fc is not None:
            self.fc.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> LocalCloud:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- facts -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("localcloud is not started")
        return self._server.url

    def env(self, bucket: str | None = None) -> dict[str, str]:
        """The environment a client needs to talk to this localcloud."""
        env = {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": LOCAL_ACCESS_KEY_SECRET,
            "ALIBABA_CLOUD_REGION_ID": self.region,
            "AUTOPILOT_ENDPOINT": self.url,
        }
        if bucket:
            env["AUTOPILOT_BUCKET"] = bucket
        return env

    def service_names(self) -> list[str]:
        names = ["oss", *self.services]
        return [*names, "fc"] if self.fc is not None else names

    # -- control -----------------------------------------------------------------------------
    def create_bucket(self, name: str) -> None:
        """Create a bucket that stays across :meth:`reset` (the ones the configuration names)."""
        self._standing_buckets.add(name)
        self.oss.create_bucket(name)

    def add_workspace(self, workspace_id: str, name: str) -> None:
        """Name a PAI workspace as PAI knows it (id → name; kept across :meth:`reset`): its jobs'
        status events go to the bus ``pai-system-<name>``, created now (PAI creates it when the
        workspace's event notifications are enabled)."""
        self._standing_workspaces[workspace_id] = name
        self.dlc.backend.set_workspaces({workspace_id: name})

    def reset(self, *, everything: bool = False) -> dict[str, list[str]]:
        """Forget every object, job and invocation; re-create the standing buckets (empty) and
        workspaces (``everything``: forget the buckets too). Returns ``{"buckets_removed": [...]}``:
        the buckets that are gone, e.g. ones a crashed program left behind."""
        # under the tick lock: a background tick between the clock's reset and the timers'
        # re-anchoring would otherwise fire every timer between the two times
        with self._tick_lock:
            removed = sorted(set(self.oss.bucket_names()) - (set() if everything else self._standing_buckets))
            if everything:
                self._standing_buckets.clear()
            if self.fc is not None:
                self.fc.reset()
            if self.fc_api is not None:
                self.fc_api.reset()
            self.oss.reset()
            for service in self.services.values():
                service.reset()
            self.requests.reset()
            self.api_calls.reset()
            self.timeline.reset()
            self.clock.reset()
            self.faults.clear()
            self.delivery = DeliveryFaults()
            if self.fc is not None:
                self.fc.restart_timers()
            for name in sorted(self._standing_buckets):
                self.oss.create_bucket(name)
            if self._standing_workspaces:
                self.dlc.backend.set_workspaces(dict(self._standing_workspaces))
        return {"buckets_removed": removed}

    def advance(self, seconds: float) -> None:
        """Advance the clock and let time-driven behaviour (timers, lifecycles) follow at once."""
        self.clock.advance(seconds)
        self.tick()

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"clock": self.clock.state(), "oss": self.oss.state()}
        state.update({name: service.state() for name, service in self.services.items()})
        if self.fc is not None:
            state["fc"] = self.fc.state()
        return state
