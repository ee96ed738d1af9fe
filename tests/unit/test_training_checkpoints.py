"""The newest complete checkpoint of a run, from a listing (pure)."""

from __future__ import annotations

import pytest

from pai_autopilot.errors import InvalidInputError
from pai_autopilot.training.checkpoints import checkpoint_uri_to_prefix, newest_complete_checkpoint

P = "checkpoints/demo/run-1/"


def steps(*names: str, files: tuple[str, ...] = ("model.pt", "_COMPLETE")) -> list[str]:
    return [f"{P}{name}/{f}" for name in names for f in files]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        pytest.param([], None, id="nothing-listed"),
        pytest.param(steps("step-10"), f"{P}step-10/", id="one-complete"),
        pytest.param(steps("step-9", "step-10", "step-2"), f"{P}step-10/", id="numeric-not-lexical-order"),
        pytest.param(steps("step-10") + [f"{P}step-20/model.pt"], f"{P}step-10/", id="half-written-skipped"),
        pytest.param([f"{P}step-20/model.pt"], None, id="only-half-written"),
        pytest.param([f"{P}step-5/_COMPLETE"], f"{P}step-5/", id="marker-alone-counts"),
        pytest.param(steps("step-10") + [f"{P}step-x/_COMPLETE", f"{P}step-/_COMPLETE", f"{P}step-1e3/_COMPLETE"],
                     f"{P}step-10/", id="non-numeric-ignored"),
        pytest.param(steps("step-10") + [f"{P}step-99/sub/_COMPLETE", f"{P}x/step-99/_COMPLETE"],
                     f"{P}step-10/", id="nested-ignored"),
        pytest.param(steps("step-10") + [f"{P}Step-99/_COMPLETE", f"{P}step-99/_COMPLETE.tmp", f"{P}step-99_COMPLETE"],
                     f"{P}step-10/", id="look-alikes-ignored"),
        pytest.param(steps("step-10") + ["checkpoints/demo/run-2/step-99/_COMPLETE", "checkpoints/demo/run-10/step-99/_COMPLETE"],
                     f"{P}step-10/", id="other-runs-ignored"),
        pytest.param([f"{P}step-000100/_COMPLETE", f"{P}step-99/_COMPLETE"], f"{P}step-000100/", id="leading-zeros"),
        pytest.param([f"{P}step-7/_COMPLETE", f"{P}step-007/_COMPLETE"], f"{P}step-7/", id="same-step-two-spellings"),
        pytest.param([f"{P}step-0/_COMPLETE"], f"{P}step-0/", id="step-zero"),
    ],
)
def test_newest_complete_checkpoint(keys, expected):
    # Given a listing of a run's checkpoint prefix (in any order)
    for listing in (keys, list(reversed(keys))):
        # When the resume point is chosen
        # Then it is the highest step with its marker, whatever the order
        assert newest_complete_checkpoint(listing, P) == expected


def test_a_custom_marker_and_a_prefix_without_slash():
    # Given steps marked with DONE, and one with the default marker
    keys = [f"{P}step-1/DONE", f"{P}step-2/_COMPLETE"]
    # When the marker is DONE and the prefix lacks its final slash
    # Then only DONE counts
    assert newest_complete_checkpoint(keys, P.rstrip("/"), marker="DONE") == f"{P}step-1/"


def test_a_generator_is_consumed_once():
    # Given keys from a one-shot iterator (like a paged listing)
    keys = iter(steps("step-1", "step-3"))
    # Then it works without materialising the listing first
    assert newest_complete_checkpoint(keys, P) == f"{P}step-3/"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("oss://demo-bucket/checkpoints/demo/run-1/", ("demo-bucket", "checkpoints/demo/run-1/")),
        ("oss://b/ck/run", ("b", "ck/run/")),
        ("oss://b/数据/v 1/", ("b", "数据/v 1/")),
    ],
)
def test_checkpoint_uri_to_prefix(uri, expected):
    assert checkpoint_uri_to_prefix(uri) == expected


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("s3://b/ck/", "not an oss:// checkpoint URI"),
        ("b/ck/", "not an oss:// checkpoint URI"),
        ("oss:///ck/", "names no bucket"),
        ("oss://b", "names no prefix"),
        ("oss://b/", "names no prefix"),
        ("oss://b//ck/", "empty path segment"),
    ],
)
def test_bad_checkpoint_uris_are_invalid_input(uri, reason):
    with pytest.raises(InvalidInputError, match=reason):
        checkpoint_uri_to_prefix(uri)
