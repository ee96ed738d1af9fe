"""Indexes of what serving has open, so a tick costs one LIST, not a walk of every model ever landed.

* ``<ledger>/index/serving/deploying/<pipeline>/<model id>`` — a first version whose service is
  not Running yet (the reconcile pass DescribeServices each);
* ``<ledger>/index/serving/queued/<pipeline>/<claim time>-<model id>`` — versions waiting for the
  pipeline's rollout (or first deploy) to finish, oldest first.

Hints beside the ledger (which stays the truth): an entry whose model record moved on is dropped.

Example
-------
>>> from ..ledger import Ledger, MemoryStore
>>> ledger = Ledger(MemoryStore(), prefix=".autopilot/")
>>> mark_deploying(ledger, "demo", "ap-demo-v1-1"); deploying(ledger)
[('demo', 'ap-demo-v1-1')]
>>> mark_queued(ledger, "demo", "ap-demo-v3-3", 2.0); mark_queued(ledger, "demo", "ap-demo-v2-2", 1.0)
>>> queued(ledger, "demo")
['ap-demo-v2-2', 'ap-demo-v3-3']
"""

from __future__ import annotations

from ..ledger import Ledger


def _deploying(ledger: Ledger) -> str:
    return f"{ledger.prefix}index/serving/deploying/"


def _queued(ledger: Ledger, pipeline: str) -> str:
    return f"{ledger.prefix}index/serving/queued/{pipeline}/"


def mark_deploying(ledger: Ledger, pipeline: str, model: str) -> None:
    ledger.store.put(f"{_deploying(ledger)}{pipeline}/{model}", b"{}")


def clear_deploying(ledger: Ledger, pipeline: str, model: str) -> None:
    ledger.store.delete(f"{_deploying(ledger)}{pipeline}/{model}")


def deploying(ledger: Ledger, pipeline: str | None = None) -> list[tuple[str, str]]:
    """``(pipeline, model id)`` of every first version still deploying: one LIST."""
    prefix = _deploying(ledger) + (f"{pipeline}/" if pipeline else "")
    out = []
    for key in ledger.store.list_keys(prefix):
        p, _, model = key[len(_deploying(ledger)):].partition("/")
        if model:
            out.append((p, model))
    return out


def mark_queued(ledger: Ledger, pipeline: str, model: str, at: float) -> None:
    ledger.store.put(f"{_queued(ledger, pipeline)}{at:020.6f}-{model}", b"{}")


def clear_queued(ledger: Ledger, pipeline: str, model: str) -> None:
    prefix = _queued(ledger, pipeline)
    for key in ledger.store.list_keys(prefix):
        if key.endswith("-" + model):
            ledger.store.delete(key)


def queued(ledger: Ledger, pipeline: str) -> list[str]:
    """Model ids queued for ``pipeline``, oldest first."""
    prefix = _queued(ledger, pipeline)
    return [key[len(prefix):].split("-", 1)[1] for key in ledger.store.list_keys(prefix)]
