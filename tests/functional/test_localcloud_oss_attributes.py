"""Object tags, symlinks and ACLs on localcloud's OSS, through the real ``oss2`` client."""

from __future__ import annotations

import oss2
import pytest
import requests
from oss2.models import Tagging, TaggingRule

from localcloud import LocalCloud

from .conftest import ODD_KEY


def tags_of(bucket: oss2.Bucket, key: str) -> dict[str, str]:
    return dict(bucket.get_object_tagging(key).tag_set.tagging_rule)


def tagging(**tags: str) -> Tagging:
    rule = TaggingRule()
    for key, value in tags.items():
        rule.add(key, value)
    return Tagging(rule)


# -- tags -------------------------------------------------------------------------------------
def test_tags_given_on_upload_are_stored_counted_and_replaced(bucket: oss2.Bucket) -> None:
    # given an object uploaded with x-oss-tagging (URL-encoded, one key without value)
    bucket.put_object("a.csv", b"1,2", headers={"x-oss-tagging": "project=demo&stage=raw%20data&flag"})
    last_modified = bucket.head_object("a.csv").last_modified

    # then its tags are stored and counted on HEAD and GET
    assert tags_of(bucket, "a.csv") == {"project": "demo", "stage": "raw data", "flag": ""}
    assert bucket.head_object("a.csv").headers["x-oss-tagging-count"] == "3"
    assert bucket.get_object("a.csv").headers["x-oss-tagging-count"] == "3"

    # when they are replaced, then only the new ones remain and Last-Modified did not move
    bucket.put_object_tagging("a.csv", tagging(owner="ml-team"))
    assert tags_of(bucket, "a.csv") == {"owner": "ml-team"}
    assert bucket.head_object("a.csv").last_modified == last_modified

    # when they are deleted, then none are left and no count is sent
    assert bucket.delete_object_tagging("a.csv").status == 204
    assert tags_of(bucket, "a.csv") == {}
    assert "x-oss-tagging-count" not in bucket.head_object("a.csv").headers


def test_tags_of_a_missing_object_are_no_such_key(bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object_tagging("missing.txt")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.put_object_tagging("missing.txt", tagging(a="1"))


@pytest.mark.parametrize(
    ("header", "ec"),
    [
        ("=a&b=a", "0010-00000217"),  # an empty key
        ("aa=bb=cc", "0010-00000219"),  # not key or key=value
        ("k=" + "v" * 257, "0010-00000214"),  # value longer than 256
        ("k" * 129 + "=v", "0010-00000209"),  # key longer than 128
        ("k=a%21", "0010-00000217"),  # "!" is not an allowed character
        ("&".join(f"k{i}=v" for i in range(11)), "0010-00000217"),  # more than 10 tags
        ("a=1&a=2", "0010-00000217"),  # the same key twice
    ],
)
def test_invalid_tagging_headers_are_refused_and_store_nothing(bucket: oss2.Bucket, header: str, ec: str) -> None:
    # when an object is put with an invalid x-oss-tagging, then 400 InvalidTag and no object
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.put_object("bad.txt", b"x", headers={"x-oss-tagging": header})
    assert (exc.value.status, exc.value.code, exc.value.details["EC"]) == (400, "InvalidTag", ec)
    assert not bucket.object_exists("bad.txt")


def test_tag_limits_hold_at_their_edges(bucket: oss2.Bucket) -> None:
    # given exactly 10 tags, a 128-character key and a 256-character value, then accepted
    ten = {f"k{i}": f"v {i}+-=._:/" for i in range(9)} | {"k" * 128: "v" * 256}
    bucket.put_object("x.txt", b"x")
    bucket.put_object_tagging("x.txt", tagging(**ten))
    assert tags_of(bucket, "x.txt") == ten

    # and through the XML body, an eleventh tag is refused
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.put_object_tagging("x.txt", tagging(**ten, extra="1"))
    assert (exc.value.status, exc.value.code) == (400, "InvalidTag")
    assert tags_of(bucket, "x.txt") == ten


def test_multipart_append_and_copy_carry_tags(bucket: oss2.Bucket) -> None:
    # given a multipart upload and an append, both started with x-oss-tagging
    upload = bucket.init_multipart_upload("mp.bin", headers={"x-oss-tagging": "kind=multipart"}).upload_id
    part = bucket.upload_part("mp.bin", upload, 1, b"m" * 10)
    bucket.complete_multipart_upload("mp.bin", upload, [oss2.models.PartInfo(1, part.etag)])
    bucket.append_object("log.txt", 0, b"a", headers={"x-oss-tagging": "kind=append"})
    bucket.append_object("log.txt", 1, b"b")

    # then the objects carry them
    assert tags_of(bucket, "mp.bin") == {"kind": "multipart"}
    assert tags_of(bucket, "log.txt") == {"kind": "append"}

    # when copied without a directive, then the source's tags are kept (COPY is the default)
    bucket.copy_object("bkt", "mp.bin", "copy-kept.bin")
    assert tags_of(bucket, "copy-kept.bin") == {"kind": "multipart"}

    # when copied with REPLACE, then the request's tags replace them
    bucket.copy_object("bkt", "mp.bin", "copy-new.bin",
                       headers={"x-oss-tagging-directive": "REPLACE", "x-oss-tagging": "kind=copy"})
    assert tags_of(bucket, "copy-new.bin") == {"kind": "copy"}

    # and an unknown directive is refused
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.copy_object("bkt", "mp.bin", "c.bin", headers={"x-oss-tagging-directive": "MERGE"})
    assert (exc.value.status, exc.value.code) == (400, "InvalidArgument")


# -- symlinks ---------------------------------------------------------------------------------
def test_a_symlink_names_its_target_and_reads_as_it(bucket: oss2.Bucket) -> None:
    # given an object with an odd key and a symlink to it
    bucket.put_object(ODD_KEY, b"epoch,loss\n", headers={"Content-Type": "text/csv"})
    assert bucket.put_symlink(ODD_KEY, "latest.csv").status == 200

    # then GetSymlink names the target; GET and HEAD follow it
    assert bucket.get_symlink("latest.csv").target_key == ODD_KEY
    got = bucket.get_object("latest.csv")
    assert (got.read(), got.content_type) == (b"epoch,loss\n", "text/csv")
    assert bucket.head_object("latest.csv").content_length == len(b"epoch,loss\n")

    # and its tags are its own, not the target's
    bucket.put_object_tagging("latest.csv", tagging(alias="yes"))
    assert tags_of(bucket, "latest.csv") == {"alias": "yes"}
    assert tags_of(bucket, ODD_KEY) == {}

    # when GetSymlink is asked of a plain object, then NotSymlink
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.get_symlink(ODD_KEY)
    assert (exc.value.status, exc.value.code) == (400, "NotSymlink")

    # when the target is deleted, then the symlink reads as SymlinkTargetNotExist
    bucket.delete_object(ODD_KEY)
    with pytest.raises(oss2.exceptions.ServerError) as gone:
        bucket.get_object("latest.csv")
    assert (gone.value.status, gone.value.code) == (404, "SymlinkTargetNotExist")
    assert bucket.get_symlink("latest.csv").target_key == ODD_KEY


# -- ACLs ---------------------------------------------------------------------------------------
def test_bucket_acl_is_read_written_and_enforced_for_anonymous_callers(cloud: LocalCloud, bucket: oss2.Bucket) -> None:
    # given a private bucket with an object, and an anonymous client
    bucket.put_object("a.txt", b"hello")
    anonymous = oss2.Bucket(oss2.AnonymousAuth(), cloud.url, "bkt")
    assert bucket.get_bucket_acl().acl == "private"
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("a.txt")

    # when the bucket is made public-read, then anyone may read and list, but not write
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    assert bucket.get_bucket_acl().acl == "public-read"
    assert bucket.get_bucket_info().acl.grant == "public-read"
    assert anonymous.get_object("a.txt").read() == b"hello"
    assert [o.key for o in anonymous.list_objects_v2().object_list] == ["a.txt"]
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.put_object("b.txt", b"x")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_bucket_acl()

    # when it is made public-read-write, then anyone may write too
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    assert anonymous.put_object("b.txt", b"x").status == 200
    assert bucket.get_object("b.txt").read() == b"x"

    # and an unknown ACL is refused
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.put_bucket_acl("everyone")
    assert (exc.value.status, exc.value.code) == (400, "InvalidArgument")


def test_object_acl_overrides_the_bucket_acl(cloud: LocalCloud, bucket: oss2.Bucket) -> None:
    # given a private bucket with two objects and an anonymous client
    bucket.put_object("open.txt", b"open")
    bucket.put_object("shut.txt", b"shut")
    anonymous = oss2.Bucket(oss2.AnonymousAuth(), cloud.url, "bkt")
    assert bucket.get_object_acl("open.txt").acl == "default"

    # when one object is made public-read, then anyone may read that one only
    bucket.put_object_acl("open.txt", oss2.OBJECT_ACL_PUBLIC_READ)
    assert bucket.get_object_acl("open.txt").acl == "public-read"
    assert anonymous.get_object("open.txt").read() == b"open"
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("shut.txt")

    # when the bucket is public-read but an object is private, then that object stays closed
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    bucket.put_object("private.txt", b"p", headers={"x-oss-object-acl": "private"})
    assert anonymous.get_object("shut.txt").read() == b"shut"
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("private.txt")

    # and the ACL of a missing object is NoSuchKey
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object_acl("missing.txt")


def test_an_unsigned_form_upload_needs_a_public_read_write_bucket(cloud: LocalCloud, bucket: oss2.Bucket) -> None:
    # given a form with no policy and no signature
    def post() -> requests.Response:
        return requests.post(f"{cloud.url}/bkt/", data={"key": "drop/a.txt"}, files={"file": ("a.txt", b"hi")},
                             timeout=10)

    # when posted to a public-read bucket, then AccessDenied and nothing stored
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    refused = post()
    assert refused.status_code == 403 and "<Code>AccessDenied</Code>" in refused.text
    assert not bucket.object_exists("drop/a.txt")

    # when posted to a public-read-write bucket, then stored
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    assert post().status_code == 204
    assert bucket.get_object("drop/a.txt").read() == b"hi"
