"""OSS on localcloud through the real oss2 client: signatures, STS, errors, events, persistence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import oss2
import pytest
import requests

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID as AK
from localcloud.core.credentials import LOCAL_ACCESS_KEY_SECRET as SK

from .conftest import ODD_KEY, object_events


# -- authentication ---------------------------------------------------------------------------
@pytest.mark.parametrize("auth_version", ["v1", "v4"])
def test_wrong_secret_is_signature_does_not_match(cloud: LocalCloud, bucket: oss2.Bucket, auth_version: str) -> None:
    # given a client with the right key id and a wrong secret
    auth = oss2.Auth(AK, "not-the-secret") if auth_version == "v1" else oss2.AuthV4(AK, "not-the-secret")
    wrong = oss2.Bucket(auth, cloud.url, "bkt", region=cloud.region)

    # when it calls, then 403 SignatureDoesNotMatch with a request id and the server's string to sign
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as exc:
        wrong.put_object("x.txt", b"x")
    assert (exc.value.status, exc.value.code) == (403, "SignatureDoesNotMatch")
    assert exc.value.message.startswith("The request signature we calculated does not match")
    assert len(exc.value.request_id) == 24
    assert exc.value.details["OSSAccessKeyId"] == AK
    assert "/bkt/x.txt" in exc.value.details["StringToSign"] or auth_version == "v4"
    assert not bucket.object_exists("x.txt")


def test_unknown_key_and_anonymous_are_refused(cloud: LocalCloud, bucket: oss2.Bucket) -> None:
    # when an unknown AccessKey id calls, then InvalidAccessKeyId
    with pytest.raises(oss2.exceptions.ServerError) as unknown:
        oss2.Bucket(oss2.Auth("LTAInobody", SK), cloud.url, "bkt").get_object("a")
    assert (unknown.value.status, unknown.value.code) == (403, "InvalidAccessKeyId")
    assert unknown.value.message == "The OSS Access Key Id you provided does not exist in our records."

    # when nobody signs, then AccessDenied
    with pytest.raises(oss2.exceptions.AccessDenied) as anonymous:
        oss2.Bucket(oss2.AnonymousAuth(), cloud.url, "bkt").get_object("a")
    assert (anonymous.value.status, anonymous.value.code) == (403, "AccessDenied")


@pytest.mark.parametrize("auth_version", ["v1", "v4"])
def test_sts_credentials_work_and_a_wrong_token_does_not(
    cloud: LocalCloud, bucket: oss2.Bucket, auth_version: str
) -> None:
    # given an STS triple issued by localcloud
    sts = cloud.credentials.issue_sts()
    assert sts.security_token is not None
    good = oss2.StsAuth(sts.access_key_id, sts.access_key_secret, sts.security_token, auth_version=auth_version)

    # when used, then calls succeed
    client = oss2.Bucket(good, cloud.url, "bkt", region=cloud.region)
    client.put_object("sts.txt", b"sts")
    assert client.get_object("sts.txt").read() == b"sts"

    # when the token is someone else's, then InvalidSecurityToken
    bad = oss2.StsAuth(sts.access_key_id, sts.access_key_secret, sts.security_token + "x", auth_version=auth_version)
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        oss2.Bucket(bad, cloud.url, "bkt", region=cloud.region).get_object("sts.txt")
    assert (exc.value.status, exc.value.code) == (403, "InvalidSecurityToken")
    assert exc.value.message == "The security token you provided is invalid."


def test_v4_with_another_region_is_refused(cloud: LocalCloud, bucket: oss2.Bucket) -> None:
    # given a v4 client scoped to a region this endpoint is not
    other = oss2.Bucket(oss2.AuthV4(AK, SK), cloud.url, "bkt", region="cn-beijing")

    # when it calls, then InvalidArgument about the signing region
    with pytest.raises(oss2.exceptions.InvalidArgument) as exc:
        other.get_object("a")
    assert exc.value.status == 400
    assert "Invalid signing region" in exc.value.message


def test_presigned_urls_work_until_they_expire(cloud: LocalCloud, bucket: oss2.Bucket, bucket_v4: oss2.Bucket) -> None:
    # given an object and v1 / v4 presigned GET URLs valid for a minute
    bucket.put_object("shared.txt", b"shared")
    urls = [bucket.sign_url("GET", "shared.txt", 60), bucket_v4.sign_url("GET", "shared.txt", 60)]

    # when fetched without any other credentials, then the object is served
    for url in urls:
        assert requests.get(url, timeout=10).content == b"shared"

    # when localcloud's clock passes their expiry, then AccessDenied
    cloud.clock.advance(3600)
    try:
        for url in urls:
            answer = requests.get(url, timeout=10)
            assert answer.status_code == 403
            assert "<Code>AccessDenied</Code>" in answer.text and "Request has expired." in answer.text
    finally:
        cloud.clock.reset()


# -- errors -----------------------------------------------------------------------------------
def test_no_such_key_and_no_such_bucket(cloud: LocalCloud, bucket: oss2.Bucket) -> None:
    # when a missing key is read, then NoSuchKey (also for HEAD, whose error rides in x-oss-err)
    with pytest.raises(oss2.exceptions.NoSuchKey) as key_exc:
        bucket.get_object("missing.txt")
    assert (key_exc.value.status, key_exc.value.code) == (404, "NoSuchKey")
    assert key_exc.value.message == "The specified key does not exist."
    assert key_exc.value.details["Key"] == "missing.txt"
    assert key_exc.value.request_id
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.head_object("missing.txt")

    # when a missing bucket is used, then NoSuchBucket (object_exists re-raises it)
    ghost = oss2.Bucket(oss2.Auth(AK, SK), cloud.url, "ghost-bucket")
    with pytest.raises(oss2.exceptions.NoSuchBucket) as bucket_exc:
        ghost.put_object("a.txt", b"a")
    assert (bucket_exc.value.status, bucket_exc.value.code) == (404, "NoSuchBucket")
    assert bucket_exc.value.message == "The specified bucket does not exist."
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        ghost.object_exists("a.txt")


def test_unsupported_operations_are_named(cloud: LocalCloud, bucket: oss2.Bucket) -> None:
    # when a subresource localcloud does not emulate is asked for, then 501 NotImplemented
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.get_bucket_cors()
    assert (exc.value.status, exc.value.code) == (501, "NotImplemented")
    assert "localcloud does not implement GetBucketCors (GET Bucket ?cors)" in exc.value.message

    # when a method makes no sense on a resource, then 405 MethodNotAllowed (signed, via oss2 v1)
    with pytest.raises(oss2.exceptions.ServerError) as post:
        bucket._do("POST", "bkt", "a.txt")
    assert (post.value.status, post.value.code) == (405, "MethodNotAllowed")
    assert post.value.details["ResourceType"] == "Object"


# -- events and persistence ---------------------------------------------------------------------
def test_puts_and_deletes_are_published(cloud: LocalCloud, bucket: oss2.Bucket, events: list[Any]) -> None:
    # given a frozen clock
    cloud.clock.freeze(1_700_000_000.0)
    try:
        # when an object is put, overwritten and deleted
        put = bucket.put_object(ODD_KEY, b"12345")
        bucket.put_object(ODD_KEY, b"123")
        deleted = bucket.delete_object(ODD_KEY)
        bucket.delete_object(ODD_KEY)  # already gone: no event
    finally:
        cloud.clock.reset()

    # then three events, in the terms of an OSS notification
    seen = object_events(events)
    assert [e.event_name for e in seen] == [
        "ObjectCreated:PutObject", "ObjectCreated:PutObject", "ObjectRemoved:DeleteObject"]
    created = seen[0]
    assert (created.bucket, created.key, created.size, created.etag) == ("bkt", ODD_KEY, 5, put.etag)
    assert (created.request_id, created.time, created.mime_type) == (put.request_id, 1_700_000_000.0, "text/csv")
    assert created.source_ip == "127.0.0.1"
    assert [e.delta_size for e in seen] == [5, -2, -3]
    assert seen[2].request_id == deleted.request_id


def test_disk_storage_survives_a_restart(tmp_path: Path) -> None:
    # given a localcloud keeping its data on disk, with a bucket and objects
    with LocalCloud(data_dir=tmp_path) as first:
        client = oss2.Bucket(oss2.Auth(AK, SK), first.url, "persist")
        client.create_bucket()
        client.put_object(ODD_KEY, b"v1", headers={"x-oss-meta-k": "v"})
        client.put_object(ODD_KEY, b"version two")
        client.put_object("gone.txt", b"x")
        client.delete_object("gone.txt")
        etag = client.head_object(ODD_KEY).etag

    # when a new localcloud starts on the same directory
    with LocalCloud(data_dir=tmp_path) as second:
        client = oss2.Bucket(oss2.Auth(AK, SK), second.url, "persist")

        # then the buckets and objects (bytes and metadata) are back, deletions included
        got = client.get_object(ODD_KEY)
        assert (got.read(), got.etag) == (b"version two", etag)
        assert "x-oss-meta-k" not in got.headers
        assert [o.key for o in oss2.ObjectIteratorV2(client)] == [ODD_KEY]
        assert second.state()["oss"]["buckets"]["persist"]["objects"][ODD_KEY]["size"] == len(b"version two")

        # and only the live blob is left on disk
        assert len(list((tmp_path / "oss" / "persist").rglob("*.blob"))) == 1

        # and reset forgets everything, on disk too
        second.reset()
        assert second.state()["oss"] == {"buckets": {}}
    with LocalCloud(data_dir=tmp_path) as third:
        assert third.state()["oss"] == {"buckets": {}}
