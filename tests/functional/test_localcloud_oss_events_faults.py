"""Which OSS operations publish which events, and fault injection on OSS operations."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import oss2
import pytest
import requests

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID as AK
from localcloud.core.credentials import LOCAL_ACCESS_KEY_SECRET as SK
from localcloud.core.faults import Fault

from .conftest import object_events


def test_every_object_operation_publishes_its_event_name(
    cloud: LocalCloud, bucket: oss2.Bucket, events: list[Any]
) -> None:
    # given a form upload's policy
    policy = base64.b64encode(json.dumps(
        {"expiration": "2100-01-01T00:00:00.000Z", "conditions": [{"bucket": "bkt"}]}).encode()).decode()
    signature = base64.b64encode(hmac.new(SK.encode(), policy.encode(), hashlib.sha1).digest()).decode()

    # when objects are created in every way, then read, listed and removed in every way
    bucket.put_object("put.txt", b"p")
    answer = requests.post(f"{cloud.url}/bkt/", timeout=10, files={"file": ("f", b"f")}, data={
        "key": "post.txt", "policy": policy, "OSSAccessKeyId": AK, "Signature": signature})
    assert answer.status_code == 204, answer.text
    bucket.copy_object("bkt", "put.txt", "copy.txt")
    bucket.append_object("append.txt", 0, b"a")
    upload_id = bucket.init_multipart_upload("multi.bin").upload_id
    part = bucket.upload_part("multi.bin", upload_id, 1, b"m")
    bucket.list_parts("multi.bin", upload_id)
    bucket.complete_multipart_upload("multi.bin", upload_id, [oss2.models.PartInfo(1, part.etag)])
    bucket.get_object("put.txt").read()
    bucket.list_objects_v2()
    bucket.delete_object("put.txt")
    bucket.batch_delete_objects(["post.txt", "copy.txt"])

    # then one event per created or removed object, named as OSS names them (none per part)
    assert [(e.event_name, e.key) for e in object_events(events)] == [
        ("ObjectCreated:PutObject", "put.txt"),
        ("ObjectCreated:PostObject", "post.txt"),
        ("ObjectCreated:CopyObject", "copy.txt"),
        ("ObjectCreated:AppendObject", "append.txt"),
        ("ObjectCreated:CompleteMultipartUpload", "multi.bin"),
        ("ObjectRemoved:DeleteObject", "put.txt"),
        ("ObjectRemoved:DeleteObjects", "post.txt"),
        ("ObjectRemoved:DeleteObjects", "copy.txt"),
    ]


@pytest.fixture
def faults(cloud: LocalCloud) -> Iterator[Any]:
    """The OSS service's fault injector, emptied afterwards (it may not be the cloud's own yet)."""
    yield cloud.oss.faults
    cloud.oss.faults.clear()


def test_an_injected_error_fails_the_next_call_only(bucket: oss2.Bucket, faults: Any) -> None:
    # given one InternalError injected on PutObject
    faults.add(Fault(service="oss", operation="PutObject", error_code="InternalError", status=500, count=1))

    # when an object is put, then oss2 sees a 500 in OSS's XML error format, with a request id
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.put_object("a.txt", b"a")
    assert (exc.value.status, exc.value.code, exc.value.message) == (500, "InternalError", "injected fault")
    assert len(exc.value.request_id) == 24
    assert not bucket.object_exists("a.txt")  # HeadObject is not faulted

    # when put again, then it succeeds
    assert bucket.put_object("a.txt", b"a").status == 200
    assert bucket.get_object("a.txt").read() == b"a"


def test_throttling_answers_503_with_retry_after(bucket: oss2.Bucket, faults: Any) -> None:
    # given GetObject throttled once, and a multipart initiation failing once
    bucket.put_object("t.txt", b"t")
    faults.add(Fault(service="oss", operation="GetObject", throttle_rate=1.0, retry_after_ms=250, count=1))
    faults.add(Fault(service="oss", operation="InitiateMultipartUpload", error_code="ServiceUnavailable",
                     status=503, count=1))

    # when read, then 503 Throttling with x-acs-retry-after, then the object
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.get_object("t.txt")
    assert (exc.value.status, exc.value.code) == (503, "Throttling")
    assert exc.value.headers["x-acs-retry-after"] == "250"
    assert bucket.get_object("t.txt").read() == b"t"

    # and faults match operations by their OSS names
    with pytest.raises(oss2.exceptions.ServerError) as initiate:
        bucket.init_multipart_upload("m.bin")
    assert (initiate.value.status, initiate.value.code) == (503, "ServiceUnavailable")
    assert bucket.init_multipart_upload("m.bin").upload_id
