"""The reliability harness: whole flows on localcloud under duplication, reordering, request faults and
crashes, and the invariants that must hold afterwards (issue 14's reliability suite).

Used by ``tests/e2e/test_reliability*.py`` (CI-sized) and ``bench/soak.py`` (``make soak``). Nothing here
scripts an SDK answer: the project's functions run in localcloud's FC runtime, on their s.yaml triggers,
calling localcloud with the real SDKs; this module only drives events in (objects landed, the clock),
records the calls that reach localcloud (:class:`CallLog`) and reads the outcome back.

* :data:`SCENARIOS` — one entry per s.yaml function: what drives it, the side effects it must make
  at most once per natural key, and the crash points of its flows; :func:`uncovered_functions` lists
  the s.yaml functions with no entry (a test fails on them);
* :func:`land_dataset`, :func:`land_model`, :func:`settle` — drive a flow;
* :func:`check_invariants` — 0 duplicates (jobs, services, weight steps, stops, ledger transitions),
  0 lost (every version converged), no secret in any output. Returns the figures it counted.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from .conftest import BUCKET

# -- the calls that reach localcloud ---------------------------------------------------------------
READ_PREFIXES = ("Get", "List", "Describe", "Query", "Check")


@dataclasses.dataclass(frozen=True)
class Call:
    """One routed call through localcloud's edge."""

    service: str
    operation: str
    method: str
    path: str
    status: int
    by_function: bool
    body: bytes = b""

    @property
    def mutating(self) -> bool:
        if self.service == "oss":
            return self.method in ("PUT", "POST", "DELETE")
        return not self.operation.startswith(READ_PREFIXES)

    @property
    def reached_backend(self) -> bool:
        """Not refused by an injected 5xx/throttle (those never run the operation)."""
        return self.status < 500

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class CallLog:
    """Installed as the edge's ``on_request`` hook: every call, who made it, how it ended."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self._previous: Callable[[Any, Any], None] | None = None

    def __call__(self, request: Any, response: Any) -> None:
        if self._previous is not None:  # localcloud's own call log (cloud.api_calls)
            self._previous(request, response)
        environ = request.environ
        service = environ.get("localcloud.service")
        if not service:
            return
        caller = environ.get("localcloud.caller") or ""
        by_function = bool(self.cloud.fc and caller and self.cloud.fc.knows_caller(caller))
        call = Call(service, environ.get("localcloud.operation") or "*", request.method, request.path,
                    response.status_code, by_function,
                    request.get_data(cache=True) if service != "oss" and request.method != "GET" else b"")
        with self._lock:
            self.calls.append(call)

    def install(self) -> CallLog:
        """Chain in front of the edge's ``on_request`` hook."""
        self._previous, self.cloud.edge.on_request = self.cloud.edge.on_request, self
        return self

    def uninstall(self) -> None:
        if self.cloud.edge.on_request is self:
            self.cloud.edge.on_request = self._previous

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def side_effects(self) -> list[Call]:
        """The functions' calls that changed something, in order (the crash points)."""
        with self._lock:
            return [c for c in self.calls if c.by_function and c.mutating and c.status < 400]

    def attempts(self, service: str, operation: str) -> list[Call]:
        """The functions' calls of one operation that reached the backend (whatever it answered)."""
        with self._lock:
            return [c for c in self.calls if c.by_function and (c.service, c.operation) == (service, operation)
                    and c.reached_backend]


# -- natural keys of the side effects that must happen at most once ---------------------------------
def _job_name(call: Call) -> str:
    return str(call.json().get("DisplayName"))


def _service_from_body(call: Call) -> str:
    return str((call.json().get("metadata") or {}).get("name"))


def _service_from_path(call: Call) -> str:
    # EAS ROA paths: /api/v2/services/<cluster>/<name>[/<verb>]
    parts = call.path.split("/")
    return parts[5] if len(parts) > 5 else call.path


def _weight(call: Call) -> Any:
    return call.json().get("Weight", call.json().get("weight"))


def _instance_from_path(call: Call) -> str:
    # DSW ROA paths: /api/v2/instances/<id>[/<verb>]
    parts = call.path.split("/")
    return parts[4] if len(parts) > 4 else call.path


def _job_from_path(call: Call) -> str:
    parts = call.path.rstrip("/").split("/")
    return parts[4] if len(parts) > 4 else call.path


@dataclasses.dataclass(frozen=True)
class Once:
    """A side effect that must reach the backend at most once per natural key."""

    service: str
    operation: str
    key: Callable[[Call], str]
    what: str
    repeat_of: Callable[[Call], Any] | None = None  # set: only a repeat of the key's previous value counts
    created_only: bool = False  # the code relies on the platform's AlreadyExists: count only what succeeded


ONCE = (
    Once("dlc", "CreateJob", _job_name, "DLC jobs per display name"),
    Once("dlc", "StopJob", _job_from_path, "StopJob per job"),
    Once("eas", "CreateService", _service_from_body, "CreateService per service name"),
    Once("eas", "CreateServiceAutoScaler", _service_from_path, "autoscalers per service", created_only=True),
    Once("eas", "ReleaseService", _service_from_path, "weight steps repeating the service's weight", _weight),
    Once("dsw", "StopInstance", _instance_from_path, "StopInstance per notebook"),
)


# -- one scenario table per function -------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class FunctionScenario:
    """How the suite exercises one s.yaml function."""

    driven_by: str
    once: tuple[str, ...]  # operations of ONCE this function performs
    crash_flows: tuple[str, ...]  # flows in which its side effects are crash points
    notes: str = ""


SCENARIOS: dict[str, FunctionScenario] = {
    "dataset_landed": FunctionScenario(
        "datasets/<p>/<v>/_SUCCESS landed (OSS trigger)", ("CreateJob",), ("submit",),
        "claim → ListJobs → CreateJob → submitted record → capacity slot, content fingerprint"),
    "job_events": FunctionScenario(
        "DLC status events on pai-system-demo (EventBridge rule)", ("CreateJob", "StopJob"), ("train", "preempt"),
        "GetJob → record status; resubmission after preemption (CreateJob <run>-a2); next queued run"),
    "reconcile": FunctionScenario(
        "timer every 5 minutes (the clock)", ("CreateJob", "StopJob", "CreateServiceAutoScaler", "CreateService"),
        ("train", "serve_first", "preempt", "dequeue"),
        "open runs from GetJob; first versions deploying → autoscaler, stable, serving; queued versions"),
    "model_landed": FunctionScenario(
        "models/<p>/<v>/_SUCCESS landed (OSS trigger, written by the DLC job or by hand)",
        ("CreateService", "ReleaseService"), ("serve_first", "canary"),
        "claim → first version (deploying, CreateService) or canary (CreateService, ReleaseService 0, rollout)"),
    "canary": FunctionScenario(
        "timer every minute (the clock; each tick fired three times side by side) and model_landed's kick",
        ("ReleaseService",), ("rollout", "rollout_canary"),
        "one step per interval: the rollout record, then ReleaseService canary/stable weights; promote, watch, "
        "finalise (rollout_reliability_support.CANARY_FLOW; 20 % faults: test_reliability_rollout_faults.py)"),
    "alarm": FunctionScenario(
        "CloudMonitor alarm events on the default bus (EventBridge, delivered three times and reordered)",
        ("ReleaseService",), ("rollout", "rollout_alarm"),
        "rollback at once: one rolling_back intent, weights back, one rolled_back record; also the form-encoded "
        "callback (rollout_reliability_support.ALARM_FLOW; 20 % faults: test_reliability_rollout_faults.py)"),
    "dsw_governor": FunctionScenario(
        "timer every 5 minutes (the clock; duplicated ticks fired side by side)",
        ("StopInstance",), ("notebooks",),
        "native culler on every instance (overlapping ticks may both set it: checked as state, one culler); "
        "idle → one warning (ledger warned, then its notice: sending, sent) → one stop (stopping, StopInstance, "
        "stopped, its notice); a crash anywhere: FC's retry finishes its own stop claim and sends what was owed"),
    "webhook": FunctionScenario(
        "signed HTTP requests (FC HTTP trigger); tests/e2e/test_webhook*.py, and in the rollout flows: "
        "pause/resume/promote three times side by side, also under 20 % faults (test_reliability_rollout_faults.py)",
        ("ReleaseService",), (),
        "a replayed nonce is refused (401 replayed) and a repeated rollout command is a no-op, recorded once "
        "by webhook:<key> with its reason; under faults a 200 or a 503 `unavailable` (retry, signed anew); "
        "no crash points of its own (no FC retry of an HTTP call): its side effects are rollout.control's"),
}


def project_functions() -> list[str]:
    """The s.yaml resource names of the project's functions (the FC runtime's own reading)."""
    from pai_autopilot import syaml

    from .conftest import ROOT

    doc = syaml.load_syaml(ROOT / "s.yaml", env={"AUTOPILOT_BUCKET": BUCKET}, account_id="1", strict=False)
    return sorted(spec.resource for spec in syaml.functions(doc))


def uncovered_functions() -> list[str]:
    return [name for name in project_functions() if name not in SCENARIOS]


# -- driving flows -------------------------------------------------------------------------------
def fire_timer(cloud: Any, resource: str, copies: int = 1, timeout: float = 300.0, *, wait: bool = True) -> None:
    """Deliver the s.yaml timer trigger's event of ``resource`` ``copies`` times at once (a duplicated
    or overlapping tick), through the FC runtime's async queue, then wait for them."""
    from localcloud.fc.timers import timer_event

    spec = cloud.fc.resolve(resource)
    (trigger,) = [t for t in spec.triggers if t.type == "timer"]
    event = timer_event(trigger, cloud.clock.now()).encode()
    for _ in range(copies):
        cloud.fc.invoke_async(spec.name, event, source=f"timer:{trigger.name}:fired")
    if wait:
        assert cloud.fc.wait_idle(timeout), cloud.fc.state()


def with_retries(operation: Callable[[], Any], attempts: int = 8) -> Any:
    """The test's own SDK calls under injected faults: retried (they are not under test)."""
    for attempt in range(attempts):
        try:
            return operation()
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def land_dataset(sdk: Any, version: str, pipeline: str = "demo") -> str:
    """Upload one dataset version (a part, then the ``_SUCCESS`` marker); returns the marker key."""
    bucket = sdk.bucket(BUCKET)
    with_retries(lambda: bucket.put_object(f"datasets/{pipeline}/{version}/part-0.csv", f"x,y\n1,{version}\n".encode()))
    marker = f"datasets/{pipeline}/{version}/_SUCCESS"
    with_retries(lambda: bucket.put_object(marker, b""))
    return marker


def land_model(sdk: Any, version: str, metrics: dict[str, float], pipeline: str = "demo") -> str:
    """A model uploaded by hand (model.pt, metrics.json, then ``_SUCCESS``); returns the marker key."""
    bucket = sdk.bucket(BUCKET)
    with_retries(lambda: bucket.put_object(f"models/{pipeline}/{version}/model.pt", b"weights-" + version.encode()))
    with_retries(lambda: bucket.put_object(f"models/{pipeline}/{version}/metrics.json", json.dumps({"metrics": metrics}).encode()))
    marker = f"models/{pipeline}/{version}/_SUCCESS"
    with_retries(lambda: bucket.put_object(marker, b""))
    return marker


def freeze_after_reconcile(cloud: Any) -> None:
    """Freeze the clock 1 s past a 5-minute boundary: the next reconcile tick is 299 s away."""
    cloud.clock.freeze((int(time.time()) // 300 + 1) * 300 + 1)
    cloud.tick()
    assert cloud.fc.wait_idle(120)


def fast_training(cloud: Any, steps: int = 20) -> None:
    """Simulated DLC jobs of ``steps`` steps (1 step per clock second), checkpoints every 10."""
    settings = cloud.dlc.backend.settings
    settings.total_steps = steps
    settings.checkpoint_every = 10


def settle(cloud: Any, seconds: float, step: float = 5.0, timeout: float = 120.0) -> None:
    """Advance the frozen clock ``seconds`` in ``step``s, letting every function settle after each."""
    for _ in range(int(seconds / step)):
        cloud.advance(step)
        assert cloud.fc.wait_idle(timeout), cloud.fc.state()


def replay_dead_letters(cloud: Any) -> int:
    """What an operator does with the dead-letter queue: deliver each event again. How many."""
    dead = cloud.fc.dead_letters()
    for letter in dead:
        cloud.fc.invoke_async(letter["function"], letter["event"].encode(), source="dlq-replay")
    return len(dead)


# -- reading the outcome ----------------------------------------------------------------------------
def ledger(sdk: Any, prefix: str = "") -> dict[str, list[dict[str, Any]]]:
    """Every ledger entity under ``prefix`` with its records, oldest first (indexes excluded)."""
    bucket = sdk.bucket(BUCKET)
    keys: list[str] = []
    token = ""
    while True:
        page = with_retries(lambda t=token: bucket.list_objects_v2(prefix=".autopilot/" + prefix, continuation_token=t, max_keys=1000))
        keys.extend(o.key for o in page.object_list)
        if not page.is_truncated:
            break
        token = page.next_continuation_token
    out: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for key in sorted(keys):
        if key.startswith(".autopilot/index/") or not key.endswith(".json"):
            continue
        record = json.loads(with_retries(lambda k=key: bucket.get_object(k).read()))
        out[record["entity"]].append(record)
    return dict(out)


def index_keys(sdk: Any, prefix: str) -> list[str]:
    bucket = sdk.bucket(BUCKET)
    page = with_retries(lambda: bucket.list_objects_v2(prefix=".autopilot/index/" + prefix, max_keys=1000))
    return [o.key for o in page.object_list]


def dlc_jobs(cloud: Any) -> list[dict[str, Any]]:
    return [cloud.dlc.backend.view(job) for job in cloud.dlc.backend.jobs.values()]


def eas_services(sdk: Any) -> dict[str, Any]:
    from alibabacloud_eas20210701 import models

    body = with_retries(lambda: sdk.eas.list_services(models.ListServicesRequest(page_size=100)).body)
    return {s.service_name: s for s in body.services or []}


# -- the invariants ------------------------------------------------------------------------------------
TRAINED = ("waiting_for_model", "model_ready", "served")
MODEL_SETTLED = ("serving", "canary", "queued", "promoted", "rolled_back")


def duplicates(calls: CallLog) -> dict[str, dict[str, int]]:
    """Per :data:`ONCE` check, the natural keys that reached the backend more than once."""
    out: dict[str, dict[str, int]] = {}
    for once in ONCE:
        attempts = [c for c in calls.attempts(once.service, once.operation) if c.status < 400 or not once.created_only]
        if once.repeat_of is None:
            counts = collections.Counter(once.key(c) for c in attempts)
            out[once.what] = {k: n for k, n in counts.items() if n > 1}
            continue
        repeats: collections.Counter[str] = collections.Counter()  # e.g. ReleaseService to the weight it has
        last: dict[str, Any] = {}
        for c in attempts:
            key, value = once.key(c), once.repeat_of(c)
            if key in last and last[key] == value:
                repeats[f"{key}@{value}"] += 1
            last[key] = value
        out[once.what] = {k: n + 1 for k, n in repeats.items()}
    return out


ONCE_STATES = frozenset({"deploying", "serving", "canary", "evaluation_failed", "rejected", "refused", "failed",
                         "initializing", "trained", "promoted"})


def transition_duplicates(entities: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Ledger transitions recorded twice: a run's training status per job; a model's, rollout's or
    fingerprint's once-only state; any record repeating its predecessor's state and data."""
    found = []
    for entity, records in entities.items():
        if entity.startswith("runs/"):
            seen = collections.Counter((r["data"].get("job_id"), r["state"], r["data"].get("status"))
                                       for r in records if r["state"] not in TRAINED[1:]
                                       and not (r["state"] == "claimed" and ({"takeover", "dequeued"} & set(r["data"]))))
        elif entity.startswith("serving/"):
            seen = collections.Counter(("stable", r["data"].get("version")) for r in records)
        else:
            seen = collections.Counter(r["state"] for r in records if r["state"] in ONCE_STATES)
        found += [f"{entity}: {key} ×{n}" for key, n in seen.items() if n > 1]
        found += [f"{entity}: record {b['seq']} repeats record {a['seq']}" for a, b in zip(records, records[1:], strict=False)
                  if (a["state"], a["data"]) == (b["state"], b["data"]) and "takeover" not in b["data"]]
    return found


def first_versions(entities: dict[str, list[dict[str, Any]]], pipeline: str) -> list[str]:
    """Versions deployed as the pipeline's first (full-traffic, no canary) version."""
    return [recs[0]["data"].get("version") for e, recs in entities.items()
            if e.startswith(f"models/{pipeline}/") and any(r["state"] == "deploying" for r in recs)]


def secrets_of(cloud: Any) -> list[str]:
    """The sentinels: every secret localcloud knows (access key secrets, STS tokens, service tokens)."""
    with cloud.credentials._lock:
        creds = list(cloud.credentials._keys.values())
    values = [c.access_key_secret for c in creds] + [c.security_token for c in creds if c.security_token]
    for svc in cloud.eas.backend.services.values() if hasattr(cloud.eas.backend, "services") else ():
        token = getattr(svc, "access_token", None) or (svc.get("AccessToken") if isinstance(svc, dict) else None)
        if token:
            values.append(token)
    return [v for v in values if v and len(v) >= 8]


def dead_lettered_keys(dead: Iterable[dict[str, Any]]) -> set[str]:
    """The OSS keys named by the dead-lettered events (native OSS notifications)."""
    keys = set()
    for letter in dead:
        try:
            event = json.loads(letter["event"])
        except ValueError:
            continue
        for record in event.get("events") or [] if isinstance(event, dict) else []:
            keys.add(((record.get("oss") or {}).get("object") or {}).get("key"))
    return keys


def outputs(cloud: Any, sdk: Any, notices: Iterable[dict[str, Any]] = ()) -> str:
    """Everything the functions put out: logs, invocation results and errors, dead letters, notices, ledger."""
    fc = cloud.fc
    parts: list[Any] = [fc.invocation_records(), fc.dead_letters(), list(notices)]
    parts += [fc.logs(name) for name in fc.functions]
    parts.append(ledger(sdk))
    return json.dumps(parts, default=str)


@dataclasses.dataclass
class Figures:
    """What :func:`check_invariants` counted (recorded by the soak)."""

    invocations: int = 0
    deliveries_by_function: dict[str, int] = dataclasses.field(default_factory=dict)
    dead_letters: int = 0
    jobs: int = 0
    services: int = 0
    runs: int = 0
    models: int = 0
    rollouts: int = 0
    side_effects: int = 0
    crashes: int = 0


def check_invariants(
    cloud: Any, sdk: Any, calls: CallLog, *, datasets: Iterable[str] = (), models: Iterable[str] = (),
    pipeline: str = "demo", notices: Iterable[dict[str, Any]] = (), allow_dead: bool = False,
) -> Figures:
    """Assert 0 duplicates, 0 lost, no secret out; ``datasets``/``models`` are the versions landed.

    With ``allow_dead``, a version that did not converge is not lost if its marker's event is in the
    dead-letter store (whole: the OSS notification naming it)."""
    problems: list[str] = []
    dead = cloud.fc.dead_letters()
    parked = dead_lettered_keys(dead) if allow_dead else set()
    for what, dups in duplicates(calls).items():
        if dups:
            problems.append(f"duplicate {what}: {dups}")
    jobs = dlc_jobs(cloud)
    names = collections.Counter(j["DisplayName"] for j in jobs)
    problems += [f"{n} DLC jobs named {name}" for name, n in names.items() if n > 1]
    entities = ledger(sdk)
    problems += [f"duplicate transition {d}" for d in transition_duplicates(entities)]
    firsts = first_versions(entities, pipeline)
    if len(firsts) > 1:
        problems.append(f"{len(firsts)} versions deployed as the first (no canary): {firsts}")
    for version in datasets:
        run = [recs for e, recs in entities.items() if e.startswith(f"runs/{pipeline}/") and recs[0]["data"].get("version") == version]
        if len(run) != 1:
            problems.append(f"dataset {version}: {len(run)} runs in the ledger")
            continue
        last = run[0][-1]
        if last["state"] not in TRAINED and f"datasets/{pipeline}/{version}/_SUCCESS" not in parked:
            problems.append(f"dataset {version}: run stuck at {last['state']} ({last['data'].get('reason')})")
    rollouts = {e: recs for e, recs in entities.items() if e.startswith(f"rollouts/{pipeline}/")}
    open_index = index_keys(sdk, "rollouts/")
    for version in models:
        recs = [r for e, r in entities.items() if e.startswith(f"models/{pipeline}/") and r[0]["data"].get("version") == version]
        if len(recs) != 1:
            problems.append(f"model {version}: {len(recs)} model entities")
            continue
        last = recs[0][-1]
        if last["state"] not in MODEL_SETTLED and f"models/{pipeline}/{version}/_SUCCESS" not in parked:
            problems.append(f"model {version}: stuck at {last['state']} ({last['data'].get('reason')})")
        if last["state"] == "canary":
            mine = [e for e, r in rollouts.items() if r[0]["data"].get("version") == version]
            if len(mine) != 1:
                problems.append(f"model {version}: {len(mine)} rollouts")
            elif not any(k.endswith("/" + mine[0].rsplit("/", 1)[-1]) for k in open_index):
                problems.append(f"model {version}: rollout {mine[0]} is open but not in the open-rollout index")
    services = eas_services(sdk)
    for version in models:
        expected = f"{pipeline}_model_{version}"
        last_state = next((r[-1]["state"] for e, r in entities.items()
                           if e.startswith(f"models/{pipeline}/") and r[0]["data"].get("version") == version), None)
        if last_state in ("serving", "canary", "promoted") and expected not in services:
            problems.append(f"model {version} is {last_state} but service {expected} does not exist")
    if dead and not allow_dead:
        problems.append(f"{len(dead)} dead letters: {[(d['function'], d['error']) for d in dead][:5]}")
    shown = outputs(cloud, sdk, notices)
    leaked = [s[:4] + "…" for s in secrets_of(cloud) if s in shown]
    if leaked:
        problems.append(f"secrets in the output: {leaked}")
    if problems and dead:  # what failed for good, to tell a poisoned tick from a lost event
        problems.append(f"dead letters: {[(d['function'], d['source'], (d['error'] or '')[:160]) for d in dead][:6]}")
    assert not problems, "\n".join(problems)
    records = cloud.fc.invocation_records()
    return Figures(
        invocations=len(records),
        deliveries_by_function=dict(collections.Counter(r["function"] for r in records)),
        dead_letters=len(dead), jobs=len(jobs), services=len(services),
        runs=sum(1 for e in entities if e.startswith("runs/")),
        models=sum(1 for e in entities if e.startswith("models/")),
        rollouts=sum(1 for e in entities if e.startswith("rollouts/")),
        side_effects=len(calls.side_effects()), crashes=cloud.fc.crashes,
    )


def shuffled(items: list[Any], seed: int) -> list[Any]:
    out = list(items)
    random.Random(seed).shuffle(out)
    return out


# -- crash points -------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CrashPoint:
    """Kill the worker right after its ``skip+1``-th successful ``operation`` on ``path``."""

    service: str
    operation: str
    path: str
    skip: int

    @property
    def label(self) -> str:
        tail = self.path.replace("/autopilot-demo/.autopilot/", "ledger:").replace("/api/v2/services/cn-hangzhou/", "")
        return f"{self.operation}:{tail}" + (f"#{self.skip + 1}" if self.skip else "")

    def fault(self) -> Any:
        from localcloud.core.faults import Fault

        return Fault(service=self.service, operation=self.operation, path_contains=self.path, crash=True,
                     skip=self.skip, count=1)


def crash_points(side_effects: Iterable[Call]) -> list[CrashPoint]:
    """One crash point after each side effect of a clean run, in order."""
    seen: collections.Counter[tuple[str, str, str]] = collections.Counter()
    points = []
    for call in side_effects:
        # keys with times or random parts in them (indexes, notification audit records) match by their prefix
        timed = "/.autopilot/index/" in call.path or "/.autopilot/notifications/" in call.path
        path = call.path.rsplit("/", 1)[0] + "/" if timed else call.path
        if "/.autopilot/notifications/" in call.path:
            path = path.rstrip("/").rsplit("/", 1)[0] + "/"  # notifications/<correlation id>/<time>-<event>-<rand>/
        key = (call.service, call.operation, path)
        points.append(CrashPoint(call.service, call.operation, path, seen[key]))
        seen[key] += 1
    return points


@dataclasses.dataclass(frozen=True)
class Flow:
    """A flow of one or more functions: ``setup`` (not under test) then ``run`` (its side effects are
    the crash points); ``datasets``/``models`` are the versions that must converge."""

    name: str
    setup: Callable[[Any, Any], None]
    run: Callable[[Any, Any], None]
    datasets: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    #: More to assert once the flow ran (e.g. a rollout's final phase and weights): raises AssertionError
    converged: Callable[[Any, Any], None] | None = None


V1_METRICS = {"accuracy": 0.80, "loss": 0.50}
BETTER = {"accuracy": 0.85, "loss": 0.45}


def _nothing(cloud: Any, sdk: Any) -> None:
    freeze_after_reconcile(cloud)
    fast_training(cloud)


def _submit_and_train(cloud: Any, sdk: Any) -> None:
    land_dataset(sdk, "c1")
    assert cloud.fc.wait_idle(120)
    settle(cloud, 60, step=10)


def _serve_first_model(cloud: Any, sdk: Any) -> None:
    land_model(sdk, "s0", V1_METRICS)
    assert cloud.fc.wait_idle(120)
    cloud.advance(298)  # the EAS service is Running by the reconcile tick at +299 s
    assert cloud.fc.wait_idle(120)
    settle(cloud, 10, step=5)


def _stable_then_nothing(cloud: Any, sdk: Any) -> None:
    _nothing(cloud, sdk)
    _serve_first_model(cloud, sdk)


def _canary(cloud: Any, sdk: Any) -> None:
    land_model(sdk, "s1", BETTER)
    assert cloud.fc.wait_idle(120)


def _first_deploying_second_queued(cloud: Any, sdk: Any) -> None:
    _nothing(cloud, sdk)
    land_model(sdk, "s0", V1_METRICS)
    assert cloud.fc.wait_idle(120)
    land_model(sdk, "s1", BETTER)  # the first version is still deploying: queued
    assert cloud.fc.wait_idle(120)


def _reconcile_serves_and_dequeues(cloud: Any, sdk: Any) -> None:
    cloud.advance(298)  # the reconcile tick at +299 s: s0 Running → autoscaler, stable, serving; s1 → canary
    assert cloud.fc.wait_idle(120)
    settle(cloud, 300, step=60)  # and the next tick, which finishes what a crash left


def _preempted_once(cloud: Any, sdk: Any) -> None:
    from localcloud.dlc.rules import FaultRule

    cloud.dlc.backend.rules.add(FaultRule(kind="preempt", next=1, at_step=15))
    land_dataset(sdk, "p1")
    assert cloud.fc.wait_idle(120)
    settle(cloud, 90, step=10)


FLOWS: dict[str, Flow] = {
    "submit": Flow("submit", _nothing, _submit_and_train, datasets=("c1",)),
    "preempt": Flow("preempt", _nothing, _preempted_once, datasets=("p1",)),
    "serve_first": Flow("serve_first", _nothing, _serve_first_model, models=("s0",)),
    "canary": Flow("canary", _stable_then_nothing, _canary, models=("s0", "s1")),
    "dequeue": Flow("dequeue", _first_deploying_second_queued, _reconcile_serves_and_dequeues, models=("s0", "s1")),
}


def fresh(cloud: Any) -> None:
    """Reset localcloud as the e2e fixture does (the bucket stays, empty; job events wired)."""
    from .conftest import wire_job_events

    cloud.reset()
    wire_job_events(cloud)


def discover_crash_points(cloud: Any, sdk: Any, calls: CallLog, flow: Flow) -> list[CrashPoint]:
    """Run ``flow`` clean once; the crash points are its side effects."""
    fresh(cloud)
    flow.setup(cloud, sdk)
    calls.clear()
    flow.run(cloud, sdk)
    return crash_points(calls.side_effects())


def run_with_crash(cloud: Any, sdk: Any, calls: CallLog, flow: Flow, point: CrashPoint) -> bool:
    """Run ``flow`` from a reset cloud with the worker killed at ``point``; check the invariants.

    Returns whether the crash happened: a point late in a flow may not recur in a rerun (how many
    status records a run gets depends on when events and ticks interleave); the invariants hold either way.
    """
    fresh(cloud)
    flow.setup(cloud, sdk)
    calls.clear()
    crashes = cloud.fc.crashes
    cloud.faults.add(point.fault())
    flow.run(cloud, sdk)
    assert cloud.fc.wait_idle(120)
    cloud.faults.clear()
    check_invariants(cloud, sdk, calls, datasets=flow.datasets, models=flow.models)
    if flow.converged is not None:
        flow.converged(cloud, sdk)
    return cloud.fc.crashes == crashes + 1


KEY_POINTS = ("CreateJob", "CreateService", "ReleaseService", "StopJob", "CreateServiceAutoScaler")


PointDone = Callable[[int, int, CrashPoint, "str | None", bool], None]  # (i, n, point, failure, crashed)


def crash_every_point(cloud: Any, sdk: Any, calls: CallLog, flow: Flow, *,
                      on_point: PointDone | None = None) -> tuple[list[CrashPoint], list[str], list[str]]:
    """Every crash point of ``flow``: (points, failures, points that did not recur). A key side effect
    (:data:`KEY_POINTS`) that does not recur is a failure too. ``on_point`` hears of each point as it
    is done (the soak's progress lines)."""
    points = discover_crash_points(cloud, sdk, calls, flow)
    failures, missed = [], []
    for i, point in enumerate(points, 1):
        failure, crashed = None, True
        try:
            if not run_with_crash(cloud, sdk, calls, flow, point):
                crashed = False
                missed.append(point.label)
                if point.operation in KEY_POINTS:
                    failure = f"crash after {point.label}: the crash did not happen"
        except AssertionError as exc:
            failure = f"crash after {point.label}: {exc}"
        if failure:
            failures.append(failure)
        if on_point is not None:
            on_point(i, len(points), point, failure, crashed)
    return points, failures, missed
