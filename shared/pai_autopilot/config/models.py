"""The typed pipeline configuration (``autopilot.yaml``), as msgspec Structs.

The Structs are the single source of truth: the runtime converts YAML into them (cheap, first
error only) and ``pai-autopilot validate`` checks the YAML against the JSON Schema generated
from them (every error), then runs :mod:`.checks`.

Example
-------
>>> import msgspec
>>> t = msgspec.convert({"image": "img", "command": "train {dataset_uri}", "ecs_spec": "ecs.c6.large"}, Training)
>>> t.job_type, t.pod_count, t.dataset_mount
('PyTorchJob', 1, '/mnt/data/')
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

Name = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9-]{0,39}$", description="lower-case letters, digits and '-'")]
EasName = Annotated[
    str, Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="an EAS name (lower-case letters, digits, '_'; no '-')")
]
Prefix = Annotated[str, Meta(pattern=r"^[^/].*/$", description="an OSS key prefix ending in '/', no leading '/'")]
JobType = Literal[
    "TFJob", "PyTorchJob", "MPIJob", "XGBoostJob", "OneFlowJob", "ElasticBatchJob", "SlurmJob", "RayJob",
    "DataJuicerJob",
]

#: Placeholders a training command may use, with what each becomes.
COMMAND_PLACEHOLDERS = {
    "dataset_uri": "oss:// URI of the dataset version (ends in '/')",
    "dataset_path": "where the dataset is mounted in the job (training.dataset_mount)",
    "checkpoint_uri": "oss:// URI where this run writes checkpoints",
    "output_uri": "oss:// URI where the final model and its _SUCCESS marker go",
    "resume_from": "oss:// URI of the checkpoint to resume from ('' on a first attempt)",
    "run_id": "the run id (also the DLC job's display name)",
    "pipeline": "the pipeline name",
    "version": "the dataset version",
}


class _Base(Struct, forbid_unknown_fields=True, omit_defaults=True, frozen=True):
    pass


class Spot(_Base):
    """Spot (preemptible) instances for the training job."""

    enabled: bool = False
    #: Pay at most this fraction of the on-demand price (0.1-0.9), DLC ``SpotDiscountLimit``.
    discount_limit: Annotated[float, Meta(ge=0.1, le=0.9)] = 0.5


class Dataset(_Base):
    """Where a pipeline's dataset versions land: ``<prefix><version>/…`` then ``<prefix><version>/<marker>``."""

    prefix: Prefix
    marker: Annotated[str, Meta(pattern=r"^[^/]+$", description="a file name without '/'")] = "_SUCCESS"
    #: Optional manifest in each version (files with sizes and MD5/CRC-64); ``null`` disables it.
    manifest: Annotated[str, Meta(pattern=r"^[^/]+$", description="a file name without '/'")] | None = "manifest.json"
    #: A version larger than this (data files, in bytes) is rejected. Default 1 TiB.
    max_bytes: Annotated[int, Meta(ge=1)] = 1 << 40
    #: A version with more data files than this is rejected (each is listed before training).
    max_files: Annotated[int, Meta(ge=1, le=10_000_000)] = 100_000


class Training(_Base):
    """The DLC job template of a pipeline."""

    image: Annotated[str, Meta(min_length=1)]
    command: Annotated[str, Meta(min_length=1)]
    job_type: JobType = "PyTorchJob"
    #: Role of the pods (``Worker`` for PyTorchJob, ``Chief``/``Worker``… for TFJob).
    role: Annotated[str, Meta(min_length=1)] = "Worker"
    pod_count: Annotated[int, Meta(ge=1, le=1000)] = 1
    #: ECS instance type, for the public resource group. Either this or ``resources``.
    ecs_spec: str | None = None
    #: CPU/GPU/memory for a dedicated resource group (needs ``workspace.resource_id``).
    cpu: str | None = None
    gpu: str | None = None
    memory: str | None = None
    gpu_type: str | None = None
    dataset_mount: Annotated[str, Meta(pattern=r"^/.*/$", description="an absolute path ending in '/'")] = "/mnt/data/"
    max_running_minutes: Annotated[int, Meta(ge=1, le=43200)] | None = None
    priority: Annotated[int, Meta(ge=1, le=9)] = 1
    envs: dict[str, str] = {}
    spot: Spot = Spot()
    #: Spot preemptions resumed on spot instances; the next one falls back (or fails).
    preemption_budget: Annotated[int, Meta(ge=0, le=100)] = 2
    #: When the preemption budget is spent, resume on on-demand instances instead of failing.
    on_demand_fallback: bool = True


# --- serving (issue 11) ---------------------------------------------------------------------

#: Placeholders a serving command, script, env value or model path may use.
SERVING_PLACEHOLDERS = {
    "model_uri": "oss:// URI of the model version (ends in '/')",
    "model_path": "where the model is mounted in the service (serving.model_mount)",
    "version": "the model version",
    "pipeline": "the pipeline name",
}


class ScaleStrategy(_Base):
    """One autoscaler metric: scale so the per-instance value stays near ``threshold``."""

    #: EAS ``metricName``: ``qps`` (per instance), ``cpu`` (percent) or ``gpu[util]`` (percent).
    metric: Literal["qps", "cpu", "gpu[util]"]
    threshold: Annotated[float, Meta(gt=0)]


class Autoscaler(_Base):
    """EAS horizontal autoscaler of the stable service, created once the service is Running.

    Asymmetric on purpose: scale up fast (``scale_up_window``, HPA's ``scaleUp``
    stabilization, default 60 s), scale down slowly (``scale_down_window``, default 300 s).
    ``min: 0`` lets the service scale to zero after ``scale_to_zero_grace`` seconds idle.
    """

    min: Annotated[int, Meta(ge=0, le=1000)] = 1
    max: Annotated[int, Meta(ge=1, le=1000)] = 3
    strategies: list[ScaleStrategy] = msgspec.field(default_factory=lambda: [ScaleStrategy(metric="qps", threshold=10.0)])
    scale_up_window: Annotated[int, Meta(ge=0, le=86400)] = 60
    scale_down_window: Annotated[int, Meta(ge=0, le=86400)] = 300
    scale_to_zero_grace: Annotated[int, Meta(ge=0, le=86400)] = 600


class GuardMetric(_Base):
    """A metric the challenger may not make worse by more than ``max_regression`` (absolute)."""

    metric: Annotated[str, Meta(min_length=1)]
    #: ``max``: higher is better; ``min``: lower is better (a latency).
    mode: Literal["max", "min"] = "min"
    max_regression: Annotated[float, Meta(ge=0)] = 0.0


class Evaluation(_Base):
    """Offline champion/challenger gate: the version's ``metrics.json`` against the stable's.

    Passes when ``metric`` improves on the stable's by at least ``min_improvement`` (absolute;
    ``mode: max`` higher is better, ``min`` lower is better) and no guard regresses beyond its
    ``max_regression``. A metric absent on either side fails the gate (``missing: require``) or
    is not compared (``missing: skip``).
    """

    metric: Annotated[str, Meta(min_length=1)] = "accuracy"
    mode: Literal["max", "min"] = "max"
    min_improvement: float = 0.0
    guards: list[GuardMetric] = []
    missing: Literal["require", "skip"] = "require"


class Serving(_Base):
    """EAS service template of a pipeline: each model version becomes the service
    ``<service_name>_<version>`` in the EAS group ``group`` (default: ``service_name``).

    Image mode (``image`` + ``command`` or ``script``, ``port``, ``env``) or processor mode
    (``processor`` + ``model_path``); the version's model is mounted read-only from OSS at
    ``model_mount``. Resources: ``instance_type`` on the public resource group, or
    ``cpu``/``memory`` (MB)/``gpu`` with ``resource_group``. Placeholders in command, script,
    env values and model_path: ``{model_uri}``, ``{model_path}``, ``{version}``, ``{pipeline}``.
    """

    service_name: EasName
    group: EasName | None = None
    image: str | None = None
    command: str | None = None
    script: str | None = None
    port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    env: dict[str, str] = {}
    processor: str | None = None
    model_path: str | None = None
    model_mount: Annotated[str, Meta(pattern=r"^/.*/$", description="an absolute path ending in '/'")] = "/mnt/model/"
    instance_type: str | None = None
    cpu: Annotated[int, Meta(ge=1)] | None = None
    memory: Annotated[int, Meta(ge=1)] | None = None
    gpu: Annotated[int, Meta(ge=0)] | None = None
    #: Dedicated EAS resource group id (``metadata.resource``); needs cpu/memory.
    resource_group: str | None = None
    #: Instances of a new version's service (the canary starts with these too).
    instances: Annotated[int, Meta(ge=1, le=1000)] = 1
    #: HTTP path EAS probes before an instance takes traffic (``containers[0].readiness_probe``, unconfirmed key).
    readiness_path: str | None = None
    readiness_initial_delay_seconds: Annotated[int, Meta(ge=0, le=3600)] = 0
    #: Instances of this pipeline's stable plus its canary may not exceed this.
    max_instances: Annotated[int, Meta(ge=1, le=10000)] = 10
    #: A version landing while a rollout is in progress: wait for it (``queue``) or replace it (``supersede``).
    on_newer_version: Literal["queue", "supersede"] = "queue"
    autoscaler: Autoscaler | None = Autoscaler()
    evaluation: Evaluation | None = None

    @property
    def group_name(self) -> str:
        return self.group or self.service_name


# --- end serving ------------------------------------------------------------------------------


# -- rollout (issue 12) -------------------------------------------------------------------------
EnvName = Annotated[str, Meta(pattern=r"^[A-Z][A-Z0-9_]*$", description="an environment variable name")]
Fraction = Annotated[float, Meta(ge=0.0, le=1.0)]


class Shadow(_Base):
    """Before any real traffic, the stable mirrors ``ratio`` % of its requests to the canary for ``duration_seconds``."""

    ratio: Annotated[int, Meta(ge=1, le=100)] = 20
    duration_seconds: Annotated[int, Meta(ge=15, le=86400)] = 300


class Smoke(_Base):
    """Pre-traffic check: one request to the canary's own endpoint (with its token) must answer ``expect_status``."""

    path: Annotated[str, Meta(pattern=r"^(/.*)?$", description="a path under the service endpoint, '' or starting with '/'")] = ""
    body: str = "{}"
    method: Literal["GET", "POST"] = "POST"
    expect_status: Annotated[int, Meta(ge=100, le=599)] = 200
    timeout_seconds: Annotated[float, Meta(gt=0, le=60)] = 10.0


class RolloutWebhook(_Base):
    """An external gate (Flagger's webhook types): a signed POST to the user's URL."""

    type: Literal["pre_rollout", "confirm_promotion", "post_rollout"]
    #: Environment variable holding the URL (never inlined: URLs often carry tokens).
    url_env: EnvName
    #: Environment variable holding the HMAC-SHA256 key of the ``X-Autopilot-Signature`` header.
    secret_env: EnvName | None = None
    timeout_seconds: Annotated[float, Meta(gt=0, le=60)] = 10.0  # Flagger's webhook default


class Rollout(_Base):
    """Canary policy (Flagger/Argo vocabulary; defaults from reference/anchors.md §1, §9)."""

    #: Canary weights, in order; the last must be 100 (promotion). Ignored when ``step_weight`` is set.
    step_weights: list[Annotated[int, Meta(ge=1, le=100)]] = msgspec.field(default_factory=lambda: [10, 25, 50, 100])
    #: Flagger's linear form: ``step_weight``, 2×, … up to ``max_weight``, then promotion.
    step_weight: Annotated[int, Meta(ge=1, le=100)] | None = None
    max_weight: Annotated[int, Meta(ge=1, le=100)] = 100
    #: The analysis interval: the canary timer's period and the length of one step.
    interval_seconds: Annotated[int, Meta(ge=15, le=86400)] = 60
    #: Failed checks (not necessarily in a row) before a rollback.
    threshold: Annotated[int, Meta(ge=1, le=100)] = 2
    #: Canary requests per interval below which the step holds (never promotes, never fails).
    min_requests: Annotated[int, Meta(ge=0)] = 100
    #: Absolute gates on the canary.
    max_error_ratio: Fraction | None = 0.05
    max_p99_ms: Annotated[float, Meta(gt=0)] | None = None
    #: Gates relative to the stable: canary ratio - stable ratio, canary p99 / stable p99.
    max_error_ratio_delta: Fraction | None = 0.02
    max_p99_ratio: Annotated[float, Meta(ge=1.0)] | None = 2.0
    #: Confidence of the two-proportion test (canary worse than stable); ``null`` disables it.
    confidence: Annotated[float, Meta(ge=0.5, le=0.9999)] | None = 0.95
    #: Without progress (a step or a promotion) for this long → rollback.
    progress_deadline_seconds: Annotated[int, Meta(ge=30, le=604800)] = 600
    #: A rollout still open after this long → rollback (SageMaker guardrails cap a deployment at 8 h).
    max_duration_seconds: Annotated[int, Meta(ge=60, le=2592000)] = 28800
    #: After promotion the old stable stays warm (weight 0) this long while the gates keep running.
    watch_window_seconds: Annotated[int, Meta(ge=0, le=604800)] = 1800
    #: After a rollback the canary is stopped this long later.
    cleanup_after_seconds: Annotated[int, Meta(ge=0, le=604800)] = 300
    #: The old stable after the watch window: ``scale_to_zero`` (StopService) or ``delete``.
    retire: Literal["scale_to_zero", "delete"] = "scale_to_zero"
    shadow: Shadow | None = None
    smoke: Smoke | None = None
    webhooks: list[RolloutWebhook] = []


class Pipeline(_Base):
    """Dataset → training → serving, for one model."""

    dataset: Dataset
    training: Training
    #: Key prefix of checkpoints; the run id is appended. Default ``checkpoints/<pipeline>/``.
    checkpoints_prefix: Prefix | None = None
    #: Key prefix of trained models; the version is appended. Default ``models/<pipeline>/``.
    models_prefix: Prefix | None = None
    serving: Serving | None = None
    rollout: Rollout | None = None
    #: Runs of this pipeline in flight at once; later versions queue, in order.
    max_active_runs: Annotated[int, Meta(ge=1, le=10_000)] = 1


class Workspace(_Base):
    """The PAI workspace jobs run in. ``PAI_WORKSPACE_ID`` overrides ``id``."""

    id: str = ""
    name: str = ""
    #: Dedicated resource group / quota id; empty means the public resource group.
    resource_id: str = ""


class Storage(_Base):
    """The bucket holding datasets, checkpoints, models and the ledger."""

    bucket: Annotated[
        str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", description="a bucket name (3-63 lower-case letters, digits, '-')")
    ]
    ledger_prefix: Prefix = ".autopilot/"
    #: Checkpoints older than this are expired by an OSS lifecycle rule (``pai-autopilot wire``).
    checkpoint_retention_days: Annotated[int, Meta(ge=1, le=3650)] = 14


# -- notebooks (issue 10): the DSW governor's policy ------------------------------------------
LabelKey = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$", description="a DSW label key")]


class NotebookScope(_Base):
    """Which DSW instances the governor looks after: one workspace, optionally a label selector."""

    #: PAI workspace id; empty means the configuration's ``workspace.id`` (``PAI_WORKSPACE_ID``).
    workspace_id: str = ""
    #: Only instances carrying every one of these labels (ListInstances ``Labels``); empty: all.
    labels: dict[str, str] = {}


class QuietHours(_Base):
    """When running notebooks are stopped even before ``idle_minutes`` (nights, weekends).

    ``cron`` is a 5-field cron expression matching the *minutes that are quiet* (for example
    ``"* 0-7,20-23 * * *"``: 20:00-08:00 every day), read in ``timezone``; ``weekends`` makes all
    of Saturday and Sunday quiet too. Inside quiet hours an instance idle for
    ``idle_minutes`` (default 15) is warned, then stopped after the grace; a busy one is left alone
    unless ``stop_busy`` is true.
    """

    cron: str | None = None
    #: An IANA time zone name (``Asia/Shanghai``, ``Europe/Berlin``, ``UTC``).
    timezone: str = "Asia/Shanghai"
    weekends: bool = True
    idle_minutes: Annotated[int, Meta(ge=0, le=10080)] = 15
    #: Stop inside quiet hours even when the instance is busy (Cloud Custodian offhours style).
    stop_busy: bool = False


class NativeCuller(_Base):
    """The DSW native idle culler the governor keeps on every in-scope instance (a backstop).

    Its ``MaxIdleTimeInMinutes`` is ``idle_minutes + warn_minutes + margin_minutes``, so the
    platform stops an idle instance even when the governor is down, but never before the
    governor's own warning and grace; its thresholds are ``cpu_percent``/``gpu_percent``.
    """

    enabled: bool = True
    margin_minutes: Annotated[int, Meta(ge=0, le=1440)] = 15


class NotebookPrice(_Base):
    """An estimated pay-as-you-go price of one ECS spec (for the savings report only)."""

    per_hour: Annotated[float, Meta(ge=0)]
    gpus: Annotated[int, Meta(ge=0, le=64)] = 0


class Notebooks(_Base):
    """The DSW notebook policy of ``dsw_governor`` (documented in README.md#notebooks).

    ``mode``: ``dry-run`` changes nothing and reports what it would do; ``warn`` keeps the
    ledger and sends the warnings but never stops nor touches cullers; ``enforce`` does it all.
    An instance is *idle* when CPU < ``cpu_percent`` and (on GPU instances) GPU < ``gpu_percent``
    — GPU busy with CPU idle is busy — for ``idle_minutes``; it is warned once per idle episode,
    then stopped ``warn_minutes`` later if still idle. A label ``<keep_alive_label>=YYYY-MM-DD``
    exempts it through that day (in the quiet-hours time zone); after it, the policy applies again.
    """

    mode: Literal["enforce", "warn", "dry-run"] = "dry-run"
    scope: NotebookScope = NotebookScope()
    cpu_percent: Annotated[int, Meta(ge=1, le=100)] = 20
    gpu_percent: Annotated[int, Meta(ge=1, le=100)] = 10
    idle_minutes: Annotated[int, Meta(ge=5, le=10080)] = 60
    warn_minutes: Annotated[int, Meta(ge=0, le=1440)] = 30
    quiet_hours: QuietHours | None = None
    keep_alive_label: LabelKey = "autopilot-keep-alive"
    #: Save the instance's image (StopInstance ``SaveImage``) before stopping; per instance also
    #: by the label ``<save_image_label>=true`` (or ``false`` to opt out).
    save_image: bool = False
    save_image_label: LabelKey = "autopilot-save-image"
    native_culler: NativeCuller = NativeCuller()
    #: The longest snooze one request may ask for.
    max_snooze_hours: Annotated[float, Meta(gt=0, le=720)] = 72
    #: Savings report: currency of ``prices`` and the longest a stop counts as avoided running.
    currency: Annotated[str, Meta(min_length=1, max_length=8)] = "CNY"
    prices: dict[str, NotebookPrice] = {}
    max_avoided_hours: Annotated[float, Meta(gt=0, le=720)] = 72
# -- end notebooks --------------------------------------------------------------------------------


#: Every event a notification target may subscribe to (``notifications[].events``). A package
#: that sends a new event adds its name here; ``validate`` refuses any other name.
NOTIFICATION_EVENTS = (
    "run_started", "run_queued", "run_rejected", "run_skipped", "run_succeeded", "run_failed", "run_preempted",
    # serving
    "service_creating", "service_running", "service_failed", "canary_created", "model_queued", "model_rejected",
    "evaluation_failed", "capacity_refused", "rollout_superseded",
    # rollouts: rollout_<phase> on every phase change (rollout/state.py PHASES; a test keeps them in step)
    "rollout_initializing", "rollout_shadowing", "rollout_progressing", "rollout_holding", "rollout_promoting",
    "rollout_watching", "rollout_succeeded", "rollout_rolled_back", "rollout_aborted", "rollout_rolling_back",
    "rollout_finalising", "rollout_alarm",
    # notebooks
    "notebook_idle_warning", "notebook_stopped",
)


class Notification(_Base):
    """A chat or webhook target. Secrets are named by environment variable, never inlined. A ``webhook``
    target receives ``{"event", "title", "details", "id"?}`` as JSON; a notice delivered at least once
    (the notebook governor's) carries an ``id`` that is the same on a resend: deduplicate on it."""

    type: Literal["dingtalk", "wecom", "lark", "webhook"]
    url_env: Annotated[str, Meta(pattern=r"^[A-Z][A-Z0-9_]*$")]
    secret_env: Annotated[str, Meta(pattern=r"^[A-Z][A-Z0-9_]*$")] | None = None
    events: list[str] = []


class AutopilotConfig(_Base):
    """The whole ``autopilot.yaml``."""

    version: Literal[1]
    storage: Storage
    pipelines: dict[Name, Pipeline]
    workspace: Workspace = Workspace()
    notebooks: Notebooks | None = None
    notifications: list[Notification] = []


def json_schema() -> dict[str, object]:
    """The JSON Schema of ``autopilot.yaml``, generated from the Structs."""
    return msgspec.json.schema(AutopilotConfig)
