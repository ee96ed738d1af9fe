"""Retraining a dataset version on demand, through the training library: ``POST /v1/retrain`` and
``pai-autopilot retrain`` both call :func:`retrain_version`.

Without ``force`` the request takes the marker event's path (:func:`~..training.landed.admit_and_submit`:
checks, content dedupe, queue) under the run id the marker gives the version, so it can never race
``dataset_landed`` into a second job; a version that already has a run is a no-op. With ``force`` a
NEW run is submitted under ``<version>#retrain-<n>`` (a retried request resumes an unfinished one; one
already queued is a no-op). Either way the run's claim records who asked (``requested_by``) and why
(``request_reason``, when given: the webhook requires one with ``force``, the CLI does not).

Example
-------
>>> from ..ledger import Ledger, MemoryStore
>>> ledger = Ledger(MemoryStore(), now=lambda: 0.0)
>>> _ = ledger.claim("runs/demo/ap-demo-v1-retrain-1-265d50e4", "claimed", {"forced": True})
>>> [n for n, _ in forced_runs(ledger, "demo", "v1")]
[1]
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError
from ..ledger import Ledger, Record
from .errors import NotFound


class MarkerMissing(InvalidInputError):
    """The version's completion marker is not in OSS, so its data is not known to be complete.

    >>> str(MarkerMissing("b", "datasets/demo/v9/_SUCCESS"))
    'marker oss://b/datasets/demo/v9/_SUCCESS is not in OSS: the version is not complete'
    """

    code = "MarkerMissing"

    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"marker oss://{bucket}/{key} is not in OSS: the version is not complete")
        self.bucket, self.key = bucket, key


def forced_runs(ledger: Ledger, pipeline: str, version: str) -> list[tuple[int, list[Record]]]:
    """The version's forced retrains ``(n, records)``, numbered 1, 2, … up to the first free number."""
    from ..training.runs import retrain_run_id, run_entity

    found: list[tuple[int, list[Record]]] = []
    while records := ledger.history(run_entity(pipeline, retrain_run_id(pipeline, version, len(found) + 1))):
        found.append((len(found) + 1, records))
    return found


def retrain_version(
    rt: Any, pipeline: str, version: str, *, actor: str, force: bool = False, reason: str | None = None,
    queue_at_capacity: bool = False, dry_run: bool = False,
) -> dict[str, Any]:
    """Submit a run for ``pipeline``/``version``; returns ``{"outcome", "run_id", …}``.

    Outcomes: ``submitted``, ``queued``, ``noop`` (the version already has a run, or its forced run is
    already queued; ``state`` says which), ``duplicate`` (another invocation submitted it), ``rejected``
    (the version failed its checks) or, with ``dry_run``, ``planned`` (the job that would be created;
    nothing written). ``queue_at_capacity``: a forced run queues while the pipeline is at
    ``max_active_runs`` instead of starting at once. Raises :class:`NotFound` for an unknown pipeline,
    :class:`MarkerMissing` when a run without ``force`` finds no marker, and ``InvalidInputError`` for
    an unusable version.
    """
    from ..training.datasets import DatasetVersion, match_marker
    from ..training.history import summarize
    from ..training.runs import retrain_run_id, run_entity, run_id

    spec = rt.config.pipelines.get(pipeline)
    if spec is None:
        raise NotFound(f"no pipeline {pipeline!r}; known: {', '.join(sorted(rt.config.pipelines)) or '(none)'}")
    if not version.strip():
        raise InvalidInputError("'version' is empty; give the dataset version, as in <dataset prefix><version>/<marker>")
    marker_key = f"{spec.dataset.prefix}{version}/{spec.dataset.marker}"
    dataset = match_marker(rt.config, rt.bucket_name, marker_key, expected_bucket=rt.bucket_name)
    if not isinstance(dataset, DatasetVersion) or dataset.pipeline != pipeline:
        raise InvalidInputError(getattr(dataset, "reason", f"{marker_key!r} is not a marker of pipeline {pipeline!r}"))
    ledger = rt.ledger
    original = run_id(pipeline, version)
    forced = forced_runs(ledger, pipeline, version)
    newest = forced[-1][1] if forced else ledger.history(run_entity(pipeline, original))
    reason = (reason or "").strip() or None
    who: dict[str, Any] = {"requested_by": actor, **({"request_reason": reason} if reason else {})}
    base = {"pipeline": pipeline, "version": version, "requested_by": actor}
    if not force:
        if newest:
            s = summarize(newest)
            return {**base, "outcome": "noop", "run_id": s.run_id, "state": s.state, "job_id": s.job_id or None,
                    "reason": f"{pipeline} {version} already has run {s.run_id} ({s.state}); force starts another"}
        _require_marker(rt, dataset)
        run, claim = original, who
    else:
        if forced and forced[-1][1][-1].state == "queued":
            queued = forced[-1][1][-1].entity.rsplit("/", 1)[-1]
            return {**base, "outcome": "noop", "run_id": queued, "state": "queued",
                    "reason": f"run {queued} is already queued"}
        unfinished = bool(forced) and forced[-1][1][-1].state == "claimed"  # this request retried: resume it
        n = forced[-1][0] if unfinished else len(forced) + 1
        run = retrain_run_id(pipeline, version, n)
        claim = {**who, "forced": True, "retrain": n, "retrain_of": original}
    if dry_run:
        return {**base, "outcome": "planned", "run_id": run, "forced": force, "retrain": claim.get("retrain"),
                "job": _job_plan(rt, dataset, run)}
    return {**_submit(rt, dataset, run, claim, force=force, queue=queue_at_capacity).as_dict(), "requested_by": actor}


def _submit(rt: Any, dataset: Any, run: str, claim: dict[str, Any], *, force: bool, queue: bool) -> Any:
    """The run's :class:`~..training.submit.RunOutcome`: the marker's path, or a forced run (queued at capacity if ``queue``)."""
    if not force:  # exactly what the marker event would do: checks, dedupe, queue
        from ..training.landed import admit_and_submit

        return admit_and_submit(rt, dataset, claim=claim)
    from ..training.runs import run_entity
    from ..training.submit import submit_run

    if queue and rt.ledger.latest(run_entity(dataset.pipeline, run)) is None:
        from ..training.queue import at_capacity

        if at_capacity(rt, dataset.pipeline):
            from ..training.admission import enqueue

            return enqueue(rt, dataset, "", run=run, claim=claim)
    return submit_run(rt, dataset, run=run, claim=claim)


def _job_plan(rt: Any, dataset: Any, run: str) -> dict[str, Any]:
    """What the DLC job would be: display name, type, image, command, dataset (nothing written)."""
    from ..training.jobs import create_job_body

    body = create_job_body(rt.config, dataset, run=run, workspace_id=rt.workspace_id)
    return {"display_name": body["DisplayName"], "job_type": body["JobType"], "image": body["JobSpecs"][0]["Image"],
            "command": body["UserCommand"], "dataset": dataset.dataset_uri}


def _require_marker(rt: Any, dataset: Any) -> None:
    from ..clients import retry_oss

    if not retry_oss(lambda: rt.clients.bucket(rt.bucket_name).object_exists(dataset.marker_key)):
        raise MarkerMissing(rt.bucket_name, dataset.marker_key)
