"""Run identity: deterministic ids, DLC display names and ledger entities (pure).

The run id doubles as the DLC job's display name and as the correlation id, so a crash
between CreateJob and the ledger write is found again with ListJobs.

Example
-------
>>> run_id("demo", "v1")
'ap-demo-v1-d1c72ca7'
>>> run_id("demo", "v 1+数据")
'ap-demo-v-1-b1bcda5c'
>>> run_entity("demo", "ap-demo-v1-d1c72ca7")
'runs/demo/ap-demo-v1-d1c72ca7'
>>> retrain_run_id("demo", "v1", 1)
'ap-demo-v1-retrain-1-265d50e4'
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
SLUG_LENGTH = 48


def run_id(pipeline: str, version: str) -> str:
    """``ap-<pipeline>-<slug of version>-<8 hex of sha256(pipeline, version)>``.

    The slug keeps ``[A-Za-z0-9_.-]`` (DLC's display-name alphabet) for readability; the
    hash keeps distinct versions distinct whatever characters they use.
    """
    import hashlib  # not at import: the ignored path never names a run

    digest = hashlib.sha256(f"{pipeline}\0{version}".encode()).hexdigest()[:8]
    slug = _UNSAFE.sub("-", version).strip("-.")[:SLUG_LENGTH] or "v"
    return f"ap-{pipeline}-{slug}-{digest}"


def run_entity(pipeline: str, run: str) -> str:
    """The ledger entity of a run."""
    return f"runs/{pipeline}/{run}"


def retrain_run_id(pipeline: str, version: str, n: int) -> str:
    """The id of the ``n``-th forced retrain of a version (n ≥ 1): ``run_id(pipeline, "<version>#retrain-<n>")``.

    Deterministic, so a retried ``retrain --force`` computes the same id and the ledger claim
    (an exclusive write) lets only one invocation own it.
    """
    if n < 1:
        raise ValueError(f"retrain number starts at 1, got {n}")
    return run_id(pipeline, f"{version}#retrain-{n}")
