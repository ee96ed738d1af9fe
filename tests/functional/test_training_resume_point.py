"""Resume points and dataset version checks on a real bucket (localcloud, the real oss2 client)."""

from __future__ import annotations

import hashlib
import json

import oss2
import pytest

from pai_autopilot.errors import InvalidInputError
from pai_autopilot.training.checkpoints import find_resume_point
from pai_autopilot.training.manifest import check_version, content_fingerprint, list_version, parse_manifest

RUN_URI = "oss://bkt/checkpoints/demo/ap-demo-v1-d1c72ca7/"
RUN_PREFIX = "checkpoints/demo/ap-demo-v1-d1c72ca7/"


def write_step(bucket: oss2.Bucket, step: int, *, complete: bool, prefix: str = RUN_PREFIX) -> None:
    bucket.put_object(f"{prefix}step-{step}/model.pt", json.dumps({"step": step}).encode())
    if complete:
        bucket.put_object(f"{prefix}step-{step}/_COMPLETE", b"")


def test_the_resume_point_is_the_newest_complete_step(bucket):
    # Given a run's checkpoints: complete steps 10, 20 and 100 (more than one listing page of
    # step-<n> files), a half-written step 200, and another run with a newer complete step
    for step in range(10, 101, 10):
        write_step(bucket, step, complete=True)
    for i in range(60):
        bucket.put_object(f"{RUN_PREFIX}step-100/shard-{i}.bin", b"x")
    write_step(bucket, 200, complete=False)
    write_step(bucket, 300, complete=True, prefix="checkpoints/demo/ap-demo-v10-00000000/")
    bucket.put_object(f"{RUN_PREFIX}events.log", b"")
    # When the resume point is looked up
    # Then it is step 100, as an oss:// URI
    assert find_resume_point(bucket, RUN_URI) == f"{RUN_URI}step-100/"


def test_no_complete_step_means_start_afresh(bucket):
    # Given only a half-written step (preempted before its marker)
    write_step(bucket, 10, complete=False)
    # Then there is no resume point; and none for a run that never checkpointed
    assert find_resume_point(bucket, RUN_URI) is None
    assert find_resume_point(bucket, "oss://bkt/checkpoints/demo/never/") is None


def test_a_uri_of_another_bucket_is_refused(bucket):
    with pytest.raises(InvalidInputError, match="is not in bucket 'bkt'"):
        find_resume_point(bucket, "oss://other/checkpoints/demo/run/")


def test_a_missing_bucket_is_an_oss_error(cloud):
    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID as AK
    from localcloud.core.credentials import LOCAL_ACCESS_KEY_SECRET as SK

    missing = oss2.Bucket(oss2.Auth(AK, SK), cloud.url, "nope")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        find_resume_point(missing, "oss://nope/checkpoints/demo/run/")


V1 = "datasets/demo/v1/"
PART0, PART1 = b"a,b\n1,2\n" * 100, b"c,d\n3,4\n" * 20_000  # part-1: 160 kB, two parts (min 100 KiB)


def land_version(bucket: oss2.Bucket, prefix: str = V1, manifest: bytes | None = None) -> None:
    bucket.put_object(prefix + "part-0.csv", PART0)
    # part-1 through a two-part multipart upload: its ETag is no MD5
    upload = bucket.init_multipart_upload(prefix + "part-1.csv").upload_id
    half = 110 * 1024
    parts = [bucket.upload_part(prefix + "part-1.csv", upload, n, chunk).etag for n, chunk in
             ((1, PART1[:half]), (2, PART1[half:]))]
    bucket.complete_multipart_upload(prefix + "part-1.csv", upload, [oss2.models.PartInfo(n + 1, e) for n, e in enumerate(parts)])
    if manifest is not None:
        bucket.put_object(prefix + "manifest.json", manifest)
    bucket.put_object(prefix + "_SUCCESS", b"")


def manifest_for(part0: bytes = PART0, size1: int = len(PART1)) -> bytes:
    return json.dumps({"version": 1, "files": [
        {"path": "part-0.csv", "size": len(part0), "md5": hashlib.md5(part0).hexdigest()},
        {"path": "part-1.csv", "size": size1, "md5": hashlib.md5(PART1).hexdigest()},
    ]}).encode()


def test_a_landed_version_lists_and_checks_against_its_manifest(bucket):
    # Given a version with a simple upload, a multipart upload, a manifest and the marker
    land_version(bucket, manifest=manifest_for())
    # When it is listed and checked
    listing = list_version(bucket, V1)
    raw = bucket.get_object(V1 + "manifest.json").read()
    check = check_version(listing, parse_manifest(raw), prefix=V1, marker="_SUCCESS", max_bytes=1_000_000, max_files=2)
    # Then it is ok: part-0's MD5 is verified; part-1's multipart ETag cannot be, and that is noted
    assert sorted(o.key for o in listing) == [V1 + n for n in ("_SUCCESS", "manifest.json", "part-0.csv", "part-1.csv")]
    assert all(o.crc64 is None for o in listing)
    assert (check.verdict, check.files, check.total_bytes) == ("ok", 2, len(PART0) + len(PART1))
    (note,) = check.notes
    assert note.startswith("unverifiable hash for part-1.csv")


def test_a_landed_version_with_a_wrong_manifest_is_rejected_with_every_reason(bucket):
    # Given a version whose manifest has a wrong MD5 for part-0 and a wrong size for part-1
    land_version(bucket, manifest=manifest_for(part0=b"other", size1=1))
    listing = list_version(bucket, V1)
    # When it is checked with a file limit of 1
    check = check_version(listing, parse_manifest(bucket.get_object(V1 + "manifest.json").read()),
                          prefix=V1, marker="_SUCCESS", max_bytes=1_000_000, max_files=1)
    # Then every problem is a reason
    assert check.verdict == "rejected"
    assert [r.split(":")[0] for r in check.reasons] == [
        "size mismatch for part-0.csv", "MD5 mismatch for part-0.csv", "size mismatch for part-1.csv", "too many files"]


def test_an_empty_version_is_rejected_and_copies_share_a_fingerprint(bucket):
    # Given an empty version (only its marker) and two versions with the same files
    bucket.put_object("datasets/demo/empty/_SUCCESS", b"")
    bucket.put_object(V1 + "part-0.csv", PART0)
    bucket.put_object(V1 + "_SUCCESS", b"")
    bucket.copy_object("bkt", V1 + "part-0.csv", "datasets/demo/v2/part-0.csv")
    bucket.put_object("datasets/demo/v2/_SUCCESS", b"done")
    # Then the empty one is rejected, and the copies have one fingerprint
    empty = check_version(list_version(bucket, "datasets/demo/empty/"), None, prefix="datasets/demo/empty/", marker="_SUCCESS")
    assert empty.reasons == ("empty version: datasets/demo/empty/ holds only the marker",)
    fingerprints = {content_fingerprint(list_version(bucket, p), None, prefix=p) for p in (V1, "datasets/demo/v2/")}
    assert len(fingerprints) == 1
