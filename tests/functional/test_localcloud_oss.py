"""localcloud's OSS, driven by the real ``oss2`` client over HTTP (no mocks)."""

from __future__ import annotations

import hashlib
from typing import Any

import oss2
import pytest

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID as AK
from localcloud.core.credentials import LOCAL_ACCESS_KEY_SECRET as SK
from localcloud.core.errors import ServiceError

from .conftest import ODD_KEY, crc64_of, object_events


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


