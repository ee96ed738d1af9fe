"""AppendObject through oss2, and PostObject (browser form upload) through a hand-built form."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import oss2
import pytest
import requests

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID as AK
from localcloud.core.credentials import LOCAL_ACCESS_KEY_SECRET as SK

from .conftest import ODD_KEY, crc64_of, object_events


# -- AppendObject -------------------------------------------------------------------------------
def test_append_chains_positions_and_crc(bucket: oss2.Bucket, events: list[Any]) -> None:
    # given nothing under the key; when appended three times, each at the position the last returned
    first = bucket.append_object(ODD_KEY, 0, b"epoch,loss\n", init_crc=0, headers={"x-oss-meta-run": "7"})
    second = bucket.append_object(ODD_KEY, first.next_position, b"1,0.5\n", init_crc=first.crc)
    third = bucket.append_object(ODD_KEY, second.next_position, b"2,0.4\n", init_crc=second.crc)

    # then positions and CRCs chain (oss2 checked each CRC against its own, from init_crc)
    whole = b"epoch,loss\n1,0.5\n2,0.4\n"
    assert (first.next_position, second.next_position, third.next_position) == (11, 17, 23)
    assert third.crc == crc64_of(whole)

    # and the object is Appendable, with the first append's metadata
    got = bucket.get_object(ODD_KEY)
    assert got.read() == whole
    assert (got.headers["x-oss-object-type"], got.headers["x-oss-meta-run"], got.server_crc) == (
        "Appendable", "7", crc64_of(whole))
    assert [o.type for o in bucket.list_objects_v2().object_list] == ["Appendable"]
    assert bucket.head_object(ODD_KEY).headers["x-oss-next-append-position"] == "23"
    # and every append is an event
    assert [(e.event_name, e.delta_size) for e in object_events(events)] == [
        ("ObjectCreated:AppendObject", 11), ("ObjectCreated:AppendObject", 6), ("ObjectCreated:AppendObject", 6)]


def test_append_at_the_wrong_position_or_to_a_normal_object(bucket: oss2.Bucket) -> None:
    # given an appendable object of 5 bytes
    bucket.append_object("log.txt", 0, b"12345")

    # when appended at another position, then 409 PositionNotEqualToLength with the right position
    with pytest.raises(oss2.exceptions.PositionNotEqualToLength) as exc:
        bucket.append_object("log.txt", 3, b"x")
    assert (exc.value.status, exc.value.code, exc.value.next_position) == (409, "PositionNotEqualToLength", 5)
    with pytest.raises(oss2.exceptions.PositionNotEqualToLength) as fresh:
        bucket.append_object("new.txt", 4, b"x")
    assert fresh.value.next_position == 0
    assert bucket.get_object("log.txt").read() == b"12345"

    # when a normal object is appended to, then 409 ObjectNotAppendable
    bucket.put_object("normal.txt", b"n")
    with pytest.raises(oss2.exceptions.ObjectNotAppendable) as normal:
        bucket.append_object("normal.txt", 1, b"x")
    assert (normal.value.status, normal.value.code) == (409, "ObjectNotAppendable")

    # and a put over an appendable object makes it normal again
    bucket.put_object("log.txt", b"reset")
    assert bucket.head_object("log.txt").object_type == "Normal"


# -- PostObject ---------------------------------------------------------------------------------
def _policy(cloud: LocalCloud, conditions: list[Any], ttl: float = 3600) -> str:
    expiration = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(cloud.clock.now() + ttl))
    return base64.b64encode(json.dumps({"expiration": expiration, "conditions": conditions}).encode()).decode()


def _sign(policy: str, secret: str = SK) -> str:
    return base64.b64encode(hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest()).decode()


def _post(cloud: LocalCloud, fields: dict[str, str], content: bytes, filename: str = "local.csv") -> requests.Response:
    # requests sends the data fields first and the file last, as OSS requires
    return requests.post(f"{cloud.url}/bkt/", data=fields, files={"file": (filename, content)}, timeout=10)


def test_post_object_stores_the_file_and_publishes(cloud: LocalCloud, bucket: oss2.Bucket, events: list[Any]) -> None:
    # given a signed policy allowing uploads under uploads/ of at most 1 KB
    policy = _policy(cloud, [{"bucket": "bkt"}, ["starts-with", "$key", "uploads/"], ["content-length-range", 1, 1024]])
    fields = {
        "key": "uploads/${filename}", "policy": policy, "OSSAccessKeyId": AK, "Signature": _sign(policy),
        "success_action_status": "201", "Content-Type": "text/csv", "x-oss-meta-source": "browser",
    }

    # when a browser form posts a file
    answer = _post(cloud, fields, b"a,b\n1,2\n")

    # then 201 with a PostResponse, and the object (with its metadata) is there
    assert answer.status_code == 201, answer.text
    assert "<Key>uploads/local.csv</Key>" in answer.text and answer.headers["x-oss-request-id"]
    got = bucket.get_object("uploads/local.csv")
    assert (got.read(), got.content_type, got.headers["x-oss-meta-source"]) == (b"a,b\n1,2\n", "text/csv", "browser")
    assert answer.headers["ETag"].strip('"') == got.etag
    # and the event names the operation
    assert [e.event_name for e in object_events(events)] == ["ObjectCreated:PostObject"]

    # and without success_action_status the answer is 204
    del fields["success_action_status"]
    assert _post(cloud, fields, b"x", filename="again.csv").status_code == 204


def test_post_object_with_v4_form_signature(cloud: LocalCloud, bucket: oss2.Bucket) -> None:
    # given a policy signed with the v4 signing key
    policy = _policy(cloud, [{"bucket": "bkt"}])
    date = time.strftime("%Y%m%d", time.gmtime())
    key = ("aliyun_v4" + SK).encode()
    for part in (date, cloud.region, "oss", "aliyun_v4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    fields = {
        "key": "v4.txt", "policy": policy, "x-oss-signature-version": "OSS4-HMAC-SHA256",
        "x-oss-credential": f"{AK}/{date}/{cloud.region}/oss/aliyun_v4_request",
        "x-oss-date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        "x-oss-signature": hmac.new(key, policy.encode(), hashlib.sha256).hexdigest(),
    }

    # when posted, then stored
    assert _post(cloud, fields, b"v4").status_code == 204
    assert bucket.get_object("v4.txt").read() == b"v4"


@pytest.mark.parametrize(
    ("case", "status", "code", "message"),
    [
        ("expired", 403, "AccessDenied", "Invalid according to Policy: Policy expired."),
        ("bad-signature", 403, "SignatureDoesNotMatch", None),
        ("anonymous", 403, "AccessDenied", None),
        ("wrong-prefix", 403, "AccessDenied", "Invalid according to Policy: Policy Condition failed"),
        ("too-large", 400, "EntityTooLarge", None),
        ("no-conditions", 400, "InvalidPolicyDocument", None),
    ],
)
def test_post_object_refusals(
    cloud: LocalCloud, bucket: oss2.Bucket, case: str, status: int, code: str, message: str | None
) -> None:
    # given a form that breaks one rule
    conditions: list[Any] = [["starts-with", "$key", "uploads/"], ["content-length-range", 0, 4]]
    policy = _policy(cloud, conditions, ttl=-60 if case == "expired" else 3600)
    if case == "no-conditions":
        policy = base64.b64encode(json.dumps({"expiration": "2100-01-01T00:00:00.000Z"}).encode()).decode()
    fields = {"key": "other/x" if case == "wrong-prefix" else "uploads/x", "policy": policy,
              "OSSAccessKeyId": AK, "Signature": _sign(policy, "wrong" if case == "bad-signature" else SK)}
    if case == "anonymous":
        fields = {"key": "uploads/x", "policy": policy}

    # when posted, then refused with OSS's XML error, and nothing stored
    answer = _post(cloud, fields, b"12345" if case == "too-large" else b"1")
    assert answer.status_code == status, answer.text
    assert f"<Code>{code}</Code>" in answer.text
    assert message is None or message in answer.text
    assert not bucket.object_exists("uploads/x") and not bucket.object_exists("other/x")
