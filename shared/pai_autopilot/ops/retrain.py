"""Retraining a dataset version on demand (``POST /v1/retrain``), through the training library.

Without ``force`` the request takes the marker event's path (:func:`~..training.landed.admit_and_submit`:
checks, content dedupe, queue) under the run id the marker gives the version, so it can never race
``dataset_landed`` into a second job; a version that already has a run is a no-op. With ``force`` (a
``reason`` is required) a NEW run is submitted under ``<version>#retrain-<n>``. Either way the run's
claim records who asked (``requested_by``: the signing key's id) and why (``request_reason``).

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


def forced_runs(ledger: Ledger, pipeline: str, version: str) -> list[tuple[int, list[Record]]]:
    """The version's forced retrains ``(n, records)``, numbered 1, 2, … up to the first free number."""
    from ..training.runs import retrain_run_id, run_entity

    found: list[tuple[int, list[Record]]] = []
    while records := ledger.history(run_entity(pipeline, retrain_run_id(pipeline, version, len(found) + 1))):
        found.append((len(found) + 1, records))
    return found


def retrain_version(
    rt: Any, pipeline: str, version: str, *, actor: str, force: bool = False, reason: str | None = None
) -> dict[str, Any]:
    """Submit a run for ``pipeline``/``version``; returns ``{"outcome", "run_id", …}``.

    Outcomes: ``submitted``, ``queued``, ``noop`` (the version already has a run), ``duplicate``
    (another invocation submitted it) or ``rejected`` (the version failed its checks). Raises
    :class:`NotFound` for an unknown pipeline and ``InvalidInputError`` for an unusable version, a
    missing marker, or ``force`` without a reason.
    """
    from ..training.datasets import DatasetVersion, match_marker
    from ..training.history import summarize
    from ..training.runs import retrain_run_id, run_entity, run_id

    spec = rt.config.pipelines.get(pipeline)
    if spec is None:
        raise NotFound(f"no pipeline {pipeline!r}; known: {', '.join(sorted(rt.config.pipelines)) or '(none)'}")
    if not version.strip():
        raise InvalidInputError("'version' is empty; give the dataset version, as in <dataset prefix><version>/<marker>")
    if force and not (reason or "").strip():
        raise InvalidInputError("'reason' is required with 'force': say why the version is trained again")
    marker_key = f"{spec.dataset.prefix}{version}/{spec.dataset.marker}"
    dataset = match_marker(rt.config, rt.bucket_name, marker_key, expected_bucket=rt.bucket_name)
    if not isinstance(dataset, DatasetVersion) or dataset.pipeline != pipeline:
        raise InvalidInputError(getattr(dataset, "reason", f"{marker_key!r} is not a marker of pipeline {pipeline!r}"))
    ledger = rt.ledger
    original = run_id(pipeline, version)
    forced = forced_runs(ledger, pipeline, version)
    newest = forced[-1][1] if forced else ledger.history(run_entity(pipeline, original))
    who: dict[str, Any] = {"requested_by": actor, **({"request_reason": reason.strip()} if reason and reason.strip() else {})}
    if not force:
        if newest:
            s = summarize(newest)
            return {"outcome": "noop", "run_id": s.run_id, "pipeline": pipeline, "version": version, "state": s.state,
                    "job_id": s.job_id or None, "reason": f"{pipeline} {version} already has run {s.run_id} ({s.state}); "
                    "send force: true with a reason to start another"}
        _require_marker(rt, dataset)
        from ..training.landed import admit_and_submit

        return {**admit_and_submit(rt, dataset, claim=who).as_dict(), "requested_by": actor}
    unfinished = bool(forced) and forced[-1][1][-1].state == "claimed"  # this request retried: resume it
    n = forced[-1][0] if unfinished else len(forced) + 1
    run = retrain_run_id(pipeline, version, n)
    from ..training.submit import submit_run

    claim = {**who, "forced": True, "retrain": n, "retrain_of": original}
    return {**submit_run(rt, dataset, run=run, claim=claim).as_dict(), "requested_by": actor}


def _require_marker(rt: Any, dataset: Any) -> None:
    from ..clients import retry_oss

    if not retry_oss(lambda: rt.clients.bucket(rt.bucket_name).object_exists(dataset.marker_key)):
        raise InvalidInputError(f"marker oss://{rt.bucket_name}/{dataset.marker_key} is not in OSS: the version is not "
                                "complete (write the marker, or send force: true with a reason)")
