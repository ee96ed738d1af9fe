"""localcloud's OSS, driven by the real ``oss2`` client over HTTP (no mocks)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oss2
import pytest
import requests

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID as AK
from localcloud.core.credentials import LOCAL_ACCESS_KEY_SECRET as SK
from localcloud.core.errors import ServiceError
from localcloud.core.events import ObjectEvent

ODD_KEY = "datasets/demo/v 1+x/数据.csv"


def crc64_of(data: bytes) -> int:
    crc = oss2.utils.Crc64()
    crc.update(data)
    return crc.crc


@pytest.fixture
def bucket(cloud: LocalCloud) -> oss2.Bucket:
    """Bucket ``bkt``, created, with signature v1."""
    b = oss2.Bucket(oss2.Auth(AK, SK), cloud.url, "bkt")
    b.create_bucket()
    return b


@pytest.fixture
def bucket_v4(cloud: LocalCloud, bucket: oss2.Bucket) -> oss2.Bucket:
    """The same bucket through signature v4."""
    return oss2.Bucket(oss2.AuthV4(AK, SK), cloud.url, "bkt", region=cloud.region)


@pytest.fixture
def events(cloud: LocalCloud) -> Iterator[list[Any]]:
    seen: list[Any] = []
    cloud.hub.subscribe(seen.append)
    yield seen
    cloud.hub.unsubscribe(seen.append)


def object_events(seen: list[Any]) -> list[ObjectEvent]:
    return [e for e in seen if isinstance(e, ObjectEvent)]


# -- buckets ----------------------------------------------------------------------------------
def test_create_bucket_is_listed_described_and_idempotent(cloud: LocalCloud) -> None:
    # given a fresh localcloud
    service = oss2.Service(oss2.Auth(AK, SK), cloud.url)
    bucket = oss2.Bucket(oss2.Auth(AK, SK), cloud.url, "my-bucket")

    # when the bucket is created (twice: PutBucket by its owner succeeds again)
    assert bucket.create_bucket().status == 200
    assert bucket.create_bucket().status == 200

    # then it is listed once, described, located in the region, and in the state dump
    assert [b.name for b in oss2.BucketIterator(service)] == ["my-bucket"]
    info = bucket.get_bucket_info()
    assert (info.name, info.storage_class, info.acl.grant) == ("my-bucket", "Standard", "private")
    assert info.location == f"oss-{cloud.region}"
    assert bucket.get_bucket_location().location == f"oss-{cloud.region}"
    assert cloud.state()["oss"]["buckets"]["my-bucket"]["objects"] == {}


def test_invalid_bucket_name_is_rejected(cloud: LocalCloud) -> None:
    # given a name oss2 itself would refuse to send (so ask the service directly)
    # when it is created, then OSS's InvalidBucketName
    with pytest.raises(ServiceError) as exc:
        cloud.oss.create_bucket("Bad_Bucket")
    assert (exc.value.status, exc.value.code) == (400, "InvalidBucketName")
    assert exc.value.message == "The specified bucket is not valid."


def test_delete_bucket_requires_it_to_be_empty(bucket: oss2.Bucket) -> None:
    # given a bucket with one object
    bucket.put_object("a.txt", b"a")

    # when it is deleted, then BucketNotEmpty
    with pytest.raises(oss2.exceptions.BucketNotEmpty) as exc:
        bucket.delete_bucket()
    assert (exc.value.status, exc.value.code) == (409, "BucketNotEmpty")
    assert exc.value.message == "The bucket you tried to delete is not empty."

    # and once empty it can be deleted, after which it does not exist
    bucket.delete_object("a.txt")
    assert bucket.delete_bucket().status == 204
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        bucket.get_bucket_info()


def test_create_bucket_from_python_is_idempotent(cloud: LocalCloud) -> None:
    # given the buckets `local up` creates, when created twice
    cloud.oss.create_bucket("cfg-bucket")
    cloud.oss.create_bucket("cfg-bucket")

    # then oss2 sees one empty bucket
    bucket = oss2.Bucket(oss2.Auth(AK, SK), cloud.url, "cfg-bucket")
    assert list(oss2.ObjectIteratorV2(bucket)) == []
    assert list(cloud.state()["oss"]["buckets"]) == ["cfg-bucket"]


# -- objects ----------------------------------------------------------------------------------
def test_put_get_head_delete_round_trip(bucket: oss2.Bucket, cloud: LocalCloud) -> None:
    # given some bytes
    data = b"epoch,loss\n1,0.5\n"

    # when they are put
    put = bucket.put_object("runs/metrics.csv", data)

    # then the ETag is the upper-case MD5 and the CRC-64 the one oss2 computes (oss2 checks it too)
    assert put.status == 200
    assert put.etag == hashlib.md5(data).hexdigest().upper()
    assert put.crc == crc64_of(data)

    # and GET returns them with their metadata
    got = bucket.get_object("runs/metrics.csv")
    assert got.read() == data
    assert (got.content_type, got.etag, got.content_length) == ("text/csv", put.etag, len(data))
    assert got.server_crc == put.crc
    assert got.headers["x-oss-object-type"] == "Normal"

    # and HEAD / GetObjectMeta describe them without a body
    head = bucket.head_object("runs/metrics.csv")
    assert (head.content_length, head.etag, head.object_type) == (len(data), put.etag, "Normal")
    assert bucket.get_object_meta("runs/metrics.csv").content_length == len(data)
    assert bucket.object_exists("runs/metrics.csv")
    assert cloud.state()["oss"]["buckets"]["bkt"]["objects"]["runs/metrics.csv"]["etag"] == put.etag

    # when deleted, it is gone (and deleting again still succeeds, as on OSS)
    assert bucket.delete_object("runs/metrics.csv").status == 204
    assert not bucket.object_exists("runs/metrics.csv")
    assert bucket.delete_object("runs/metrics.csv").status == 204


def test_range_get(bucket: oss2.Bucket) -> None:
    # given a 10-byte object
    bucket.put_object("r.bin", b"0123456789")

    # when parts are read, then 206 with the bytes and Content-Range
    part = bucket.get_object("r.bin", byte_range=(2, 5))
    assert (part.status, part.read()) == (206, b"2345")
    assert part.content_range == "bytes 2-5/10"
    assert bucket.get_object("r.bin", byte_range=(7, None)).read() == b"789"
    assert bucket.get_object("r.bin", byte_range=(None, 3)).read() == b"789"
    assert bucket.get_object("r.bin", byte_range=(8, 100)).read() == b"89"

    # and an unsatisfiable range is ignored (200, whole object) unless standard behaviour is asked
    whole = bucket.get_object("r.bin", byte_range=(20, 30))
    assert (whole.status, whole.read()) == (200, b"0123456789")
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.get_object("r.bin", byte_range=(20, 30), headers={"x-oss-range-behavior": "standard"})
    assert (exc.value.status, exc.value.code) == (416, "InvalidRange")


def test_user_metadata_and_standard_headers_round_trip(bucket: oss2.Bucket) -> None:
    # given an upload with user metadata, a content type and a disposition
    headers = {
        "x-oss-meta-Dataset": "demo", "x-oss-meta-version": "v1", "Content-Type": "application/json",
        "Content-Disposition": "attachment; filename=m.json",
    }

    # when it is put and read back
    bucket.put_object("m.json", b"{}", headers=headers)
    head = bucket.head_object("m.json")

    # then the metadata comes back (names lower-cased, as OSS does)
    assert head.headers["x-oss-meta-dataset"] == "demo"
    assert head.headers["x-oss-meta-version"] == "v1"
    assert head.content_type == "application/json"
    assert head.headers["Content-Disposition"] == "attachment; filename=m.json"
    # and response-* parameters override headers on GET
    got = bucket.get_object("m.json", params={"response-content-type": "text/plain"})
    assert got.content_type == "text/plain"


def test_content_md5_mismatch_is_invalid_digest(bucket: oss2.Bucket) -> None:
    # given a Content-MD5 of other bytes
    headers = {"Content-MD5": oss2.utils.content_md5(b"other")}

    # when put, then InvalidDigest and nothing stored
    with pytest.raises(oss2.exceptions.InvalidDigest) as exc:
        bucket.put_object("d.txt", b"these", headers=headers)
    assert (exc.value.status, exc.value.code) == (400, "InvalidDigest")
    assert exc.value.message == "The Content-MD5 you specified was invalid."
    assert not bucket.object_exists("d.txt")

    # and with the right digest the put succeeds
    ok = bucket.put_object("d.txt", b"these", headers={"Content-MD5": oss2.utils.content_md5(b"these")})
    assert ok.headers["Content-MD5"] == oss2.utils.content_md5(b"these")


def test_forbid_overwrite_answers_409_file_already_exists(bucket: oss2.Bucket, events: list[Any]) -> None:
    # given a claimed key
    forbid = {"x-oss-forbid-overwrite": "true"}
    bucket.put_object("ledger/run-1.json", b"first", headers=forbid)

    # when it is put again with x-oss-forbid-overwrite
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.put_object("ledger/run-1.json", b"second", headers=forbid)

    # then 409 FileAlreadyExists, the object unchanged and no second event
    assert (exc.value.status, exc.value.code) == (409, "FileAlreadyExists")
    assert exc.value.message == "The object you specified already exists and can not be overwritten."
    assert exc.value.request_id
    assert bucket.get_object("ledger/run-1.json").read() == b"first"
    assert len(object_events(events)) == 1

    # and without the header (or with false) an overwrite is allowed
    bucket.put_object("ledger/run-1.json", b"third", headers={"x-oss-forbid-overwrite": "false"})
    assert bucket.get_object("ledger/run-1.json").read() == b"third"


def test_conditional_get(bucket: oss2.Bucket) -> None:
    # given an object and its ETag
    etag = bucket.put_object("c.txt", b"c").etag

    # when asked with a matching If-None-Match, then 304; a failing If-Match, then 412
    with pytest.raises(oss2.exceptions.NotModified) as not_modified:
        bucket.get_object("c.txt", headers={"If-None-Match": f'"{etag}"'})
    assert not_modified.value.status == 304
    with pytest.raises(oss2.exceptions.PreconditionFailed) as failed:
        bucket.get_object("c.txt", headers={"If-Match": '"0000"'})
    assert (failed.value.status, failed.value.code) == (412, "PreconditionFailed")
    assert bucket.get_object("c.txt", headers={"If-Match": f'"{etag}"'}).read() == b"c"


def test_copy_and_batch_delete(bucket: oss2.Bucket, events: list[Any]) -> None:
    # given an object
    bucket.put_object("src.txt", b"payload", headers={"x-oss-meta-a": "1"})

    # when copied (keeping metadata) and then its metadata replaced
    bucket.copy_object("bkt", "src.txt", "dst.txt")
    bucket.update_object_meta("dst.txt", {"x-oss-meta-b": "2", "Content-Type": "text/x-log"})

    # then the copy has the bytes and the new metadata
    head = bucket.head_object("dst.txt")
    assert bucket.get_object("dst.txt").read() == b"payload"
    assert (head.headers.get("x-oss-meta-b"), head.headers.get("x-oss-meta-a"), head.content_type) == (
        "2", None, "text/x-log")

    # when both are deleted in one call (with a key that never existed)
    result = bucket.batch_delete_objects(["src.txt", "dst.txt", "ghost.txt"])

    # then all are reported deleted, and only real deletions are events
    assert sorted(result.deleted_keys) == ["dst.txt", "ghost.txt", "src.txt"]
    assert list(oss2.ObjectIteratorV2(bucket)) == []
    names = [e.event_name for e in object_events(events)]
    assert names == ["ObjectCreated:PutObject", "ObjectCreated:CopyObject", "ObjectCreated:CopyObject",
                     "ObjectRemoved:DeleteObjects", "ObjectRemoved:DeleteObjects"]


# -- listing ----------------------------------------------------------------------------------
@pytest.fixture
def tree(bucket: oss2.Bucket) -> oss2.Bucket:
    for key in ("a.txt", "dir/1.txt", "dir/2.txt", "dir/sub/3.txt", "other/4.txt", "z.txt"):
        bucket.put_object(key, key.encode())
    return bucket


def test_list_objects_v2_prefix_and_delimiter(tree: oss2.Bucket) -> None:
    # when listed under a prefix, then only those keys, with sizes and ETags
    under = tree.list_objects_v2(prefix="dir/")
    assert [o.key for o in under.object_list] == ["dir/1.txt", "dir/2.txt", "dir/sub/3.txt"]
    assert under.object_list[0].size == len(b"dir/1.txt")
    assert under.object_list[0].etag == hashlib.md5(b"dir/1.txt").hexdigest().upper()
    assert under.object_list[0].type == "Normal" and under.object_list[0].storage_class == "Standard"
    assert not under.is_truncated

    # when listed with a delimiter, then sub-"directories" roll up into common prefixes
    top = tree.list_objects_v2(delimiter="/")
    assert [o.key for o in top.object_list] == ["a.txt", "z.txt"]
    assert top.prefix_list == ["dir/", "other/"]
    nested = tree.list_objects_v2(prefix="dir/", delimiter="/")
    assert ([o.key for o in nested.object_list], nested.prefix_list) == (["dir/1.txt", "dir/2.txt"], ["dir/sub/"])

    # and start-after skips keys up to and including it; fetch-owner adds the owner
    after = tree.list_objects_v2(start_after="dir/2.txt", fetch_owner=True)
    assert [o.key for o in after.object_list] == ["dir/sub/3.txt", "other/4.txt", "z.txt"]
    assert after.object_list[0].owner is not None


def test_list_objects_v2_pages_across_max_keys(tree: oss2.Bucket) -> None:
    # when listed two entries at a time
    first = tree.list_objects_v2(max_keys=2)

    # then the page is truncated with a continuation token
    assert [o.key for o in first.object_list] == ["a.txt", "dir/1.txt"]
    assert first.is_truncated and first.next_continuation_token
    second = tree.list_objects_v2(max_keys=2, continuation_token=first.next_continuation_token)
    assert [o.key for o in second.object_list] == ["dir/2.txt", "dir/sub/3.txt"]

    # and the iterator walks every key exactly once, with or without a delimiter
    keys = [o.key for o in oss2.ObjectIteratorV2(tree, max_keys=2)]
    assert keys == ["a.txt", "dir/1.txt", "dir/2.txt", "dir/sub/3.txt", "other/4.txt", "z.txt"]
    entries = [(o.key, o.is_prefix()) for o in oss2.ObjectIteratorV2(tree, delimiter="/", max_keys=1)]
    assert entries == [("a.txt", False), ("dir/", True), ("other/", True), ("z.txt", False)]
    # and ListObjects (v1) pages the same way
    assert [o.key for o in oss2.ObjectIterator(tree, max_keys=2)] == keys


def test_list_objects_v2_rejects_bad_max_keys(bucket: oss2.Bucket) -> None:
    # when max-keys is out of range, then InvalidArgument naming it
    with pytest.raises(oss2.exceptions.InvalidArgument) as exc:
        bucket.list_objects_v2(max_keys=1001)
    assert (exc.value.status, exc.value.code) == (400, "InvalidArgument")
    assert (exc.value.name, exc.value.value) == ("max-keys", "1001")


def test_list_encoding_type_url_and_plain(bucket: oss2.Bucket) -> None:
    # given keys that only survive if the listing encodes (and flags) them correctly
    keys = sorted(["a%20b", "p+q r", ODD_KEY])
    for key in keys:
        bucket.put_object(key, b"x")

    # when listed url-encoded (oss2's default) and plain, then the keys come back unchanged
    assert [o.key for o in bucket.list_objects_v2(encoding_type="url").object_list] == keys
    assert [o.key for o in bucket.list_objects_v2(encoding_type="").object_list] == keys
    nested = bucket.list_objects_v2(prefix="datasets/demo/", delimiter="/", encoding_type="url")
    assert nested.prefix_list == ["datasets/demo/v 1+x/"]

    # and an unknown encoding is refused
    with pytest.raises(oss2.exceptions.InvalidArgument) as exc:
        bucket.list_objects_v2(encoding_type="base64")
    assert exc.value.name == "encoding-type"


def test_odd_keys_round_trip_with_v1_and_v4(bucket: oss2.Bucket, bucket_v4: oss2.Bucket) -> None:
    for client in (bucket, bucket_v4):
        for key in (ODD_KEY, "with%percent/and?query#frag", "trailing space "):
            # when put and read through the path-style URL (key percent-encoded, `/` included)
            client.put_object(key, key.encode("utf-8"))
            # then the same key holds the same bytes, and is listed and deleted by that name
            assert client.get_object(key).read() == key.encode("utf-8")
            assert key in [o.key for o in oss2.ObjectIteratorV2(client, prefix=key[:5])]
            client.delete_object(key)
            assert not client.object_exists(key)


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
        bucket.get_bucket_acl()
    assert (exc.value.status, exc.value.code) == (501, "NotImplemented")

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
