"""Finding the checkpoint a resubmitted run resumes from: the newest *complete* step.

A training job writes its checkpoints under the run's checkpoint URI (``{checkpoint_uri}``,
``AUTOPILOT_CHECKPOINT_URI``) as one directory per step, and the completion marker LAST::

    <checkpoint prefix>step-<n>/model.pt        (any number of files)
    <checkpoint prefix>step-<n>/_COMPLETE       (written after every other file of the step)

A job preempted between the two leaves a half-written step (files, no marker); it is skipped.
Names that are not ``step-<digits>/`` directly under the prefix are ignored.

:func:`newest_complete_checkpoint` and :func:`checkpoint_uri_to_prefix` are pure;
:func:`find_resume_point` is the one I/O function (one listing of ``<prefix>step-``).

Example
-------
>>> keys = ["ck/r1/step-10/model.pt", "ck/r1/step-10/_COMPLETE", "ck/r1/step-20/model.pt"]
>>> newest_complete_checkpoint(keys, "ck/r1/")
'ck/r1/step-10/'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import InvalidInputError

if TYPE_CHECKING:
    import oss2

#: The default completion marker of a checkpoint step (what localcloud's runner writes).
COMPLETE_MARKER = "_COMPLETE"
#: A step directory name: ``step-<digits>`` (leading zeros allowed: ``step-000100`` is step 100).
_STEP_DIR = re.compile(r"step-([0-9]{1,18})")


def newest_complete_checkpoint(keys: Iterable[str], prefix: str, marker: str = COMPLETE_MARKER) -> str | None:
    """The key prefix ``<prefix>step-<n>/`` of the highest step ``n`` whose marker is listed.

    ``keys`` is a listing of object keys (any order; keys outside ``prefix`` are ignored).
    A step counts only when ``<prefix>step-<n>/<marker>`` itself is among the keys; steps
    without it (half-written), nested markers and non-numeric names are skipped. When two
    spellings name the same step (``step-7``, ``step-007``), the lexically greatest wins, so
    the answer does not depend on the listing's order. ``None`` when no step is complete.

    Example
    -------
    >>> keys = [
    ...     "ck/r1/step-9/model.pt", "ck/r1/step-9/_COMPLETE",
    ...     "ck/r1/step-10/model.pt", "ck/r1/step-10/_COMPLETE",
    ...     "ck/r1/step-20/model.pt",                          # half-written: no marker
    ...     "ck/r1/step-x/_COMPLETE", "ck/r1/step-30/sub/_COMPLETE",  # malformed, nested
    ... ]
    >>> newest_complete_checkpoint(keys, "ck/r1/")
    'ck/r1/step-10/'
    >>> newest_complete_checkpoint(["ck/r1/step-20/model.pt"], "ck/r1/") is None
    True
    >>> newest_complete_checkpoint(["ck/r1/step-3/DONE"], "ck/r1", marker="DONE")
    'ck/r1/step-3/'
    """
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    suffix = "/" + marker
    best: tuple[int, str] | None = None
    for key in keys:
        if not key.startswith(prefix) or not key.endswith(suffix):
            continue
        directory = key[len(prefix) : -len(suffix)]
        match = _STEP_DIR.fullmatch(directory)
        if match is None:
            continue
        candidate = (int(match.group(1)), directory)
        if best is None or candidate > best:
            best = candidate
    return None if best is None else f"{prefix}{best[1]}/"


def checkpoint_uri_to_prefix(uri: str) -> tuple[str, str]:
    """``oss://bucket/prefix/`` → ``("bucket", "prefix/")`` (a missing final ``/`` is added).

    Raises :class:`~pai_autopilot.errors.InvalidInputError` for anything else: another scheme,
    no bucket, or no prefix (a run's checkpoints never live at a bucket's root).

    Example
    -------
    >>> checkpoint_uri_to_prefix("oss://demo-bucket/checkpoints/demo/ap-demo-v1-d1c72ca7/")
    ('demo-bucket', 'checkpoints/demo/ap-demo-v1-d1c72ca7/')
    >>> checkpoint_uri_to_prefix("oss://b/ck/run")
    ('b', 'ck/run/')
    >>> checkpoint_uri_to_prefix("s3://b/ck/")
    Traceback (most recent call last):
    ...
    pai_autopilot.errors.InvalidInputError: not an oss:// checkpoint URI: 's3://b/ck/'
    """
    scheme = "oss://"
    if not uri.startswith(scheme):
        raise InvalidInputError(f"not an oss:// checkpoint URI: {uri!r}")
    bucket, _, prefix = uri[len(scheme) :].partition("/")
    if not bucket:
        raise InvalidInputError(f"checkpoint URI {uri!r} names no bucket")
    if not prefix.strip("/"):
        raise InvalidInputError(f"checkpoint URI {uri!r} names no prefix: expected oss://<bucket>/<prefix>/")
    if prefix.startswith("/"):
        raise InvalidInputError(f"checkpoint URI {uri!r} has an empty path segment after the bucket")
    if not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def find_resume_point(bucket: oss2.Bucket, checkpoint_uri: str, marker: str = COMPLETE_MARKER) -> str | None:
    """The ``oss://`` URI of the run's newest complete checkpoint, or ``None`` (start afresh).

    Lists ``<prefix>step-`` with ``oss2.ObjectIteratorV2`` (every page), retried through
    :func:`~pai_autopilot.clients.retry_oss`; a listing that keeps failing raises
    :class:`~pai_autopilot.errors.TransientError`. ``bucket`` must be the URI's bucket.

    Example
    -------
    >>> bucket = clients(settings).bucket("b")                          # doctest: +SKIP
    >>> find_resume_point(bucket, "oss://b/checkpoints/demo/run-1/")  # doctest: +SKIP
    'oss://b/checkpoints/demo/run-1/step-20/'
    """
    import oss2

    from ..clients import retry_oss

    name, prefix = checkpoint_uri_to_prefix(checkpoint_uri)
    if getattr(bucket, "bucket_name", name) != name:
        raise InvalidInputError(f"checkpoint URI {checkpoint_uri!r} is not in bucket {bucket.bucket_name!r}")
    keys = retry_oss(lambda: [obj.key for obj in oss2.ObjectIteratorV2(bucket, prefix=prefix + "step-")])
    step = newest_complete_checkpoint(keys, prefix, marker)
    return None if step is None else f"oss://{name}/{step}"
