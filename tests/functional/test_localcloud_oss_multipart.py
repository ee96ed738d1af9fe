"""Multipart upload on localcloud's OSS through the real oss2 client (resumable transfer included)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import oss2
import pytest
from oss2.models import PartInfo

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID as AK
from localcloud.core.credentials import LOCAL_ACCESS_KEY_SECRET as SK

from .conftest import ODD_KEY, crc64_of, object_events

KB = 1024
MB = 1024 * KB


def _upload_parts(bucket: oss2.Bucket, key: str, *chunks: bytes, headers: dict[str, str] | None = None) -> tuple[
        str, list[PartInfo]]:
    upload_id = bucket.init_multipart_upload(key, headers=headers).upload_id
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        result = bucket.upload_part(key, upload_id, number, chunk)
        parts.append(PartInfo(number, result.etag, size=len(chunk), part_crc=result.crc))
    return upload_id, parts


def _complete_raw(bucket: oss2.Bucket, key: str, upload_id: str, xml: bytes) -> Any:
    """CompleteMultipartUpload with a body as given (oss2 itself always sorts the parts)."""
    return bucket._do("POST", bucket.bucket_name, key, params={"uploadId": upload_id}, data=xml)


# -- resumable transfer -----------------------------------------------------------------------
def test_resumable_upload_and_download_of_50_mb(
    bucket: oss2.Bucket, events: list[Any], tmp_path: Path
) -> None:
    # given a 50 MB file
    data = os.urandom(50 * MB)
    source = tmp_path / "model.bin"
    source.write_bytes(data)

    # when oss2 uploads it in 1 MB parts on 4 threads (oss2 checks every part's CRC and the whole one)
    result = oss2.resumable_upload(
        bucket, ODD_KEY, str(source), store=oss2.ResumableStore(root=str(tmp_path)),
        multipart_threshold=MB, part_size=MB, num_threads=4,
    )

    # then the object is one multipart object with the file's size and CRC-64
    head = bucket.head_object(ODD_KEY)
    assert (head.content_length, head.object_type, head.server_crc) == (len(data), "Multipart", crc64_of(data))
    assert result.crc == crc64_of(data) and result.etag == head.etag and head.etag.endswith("-50")
    assert head.content_type == "text/csv"  # from the key, as oss2 set it on InitiateMultipartUpload
    # and exactly one event, for the completion (not per part)
    assert [e.event_name for e in object_events(events)] == ["ObjectCreated:CompleteMultipartUpload"]
    assert object_events(events)[0].size == len(data)
    assert list(oss2.MultipartUploadIterator(bucket)) == []

    # when it is downloaded with ranged GETs on 4 threads, then the bytes (and CRCs) are the same
    target = tmp_path / "download.bin"
    oss2.resumable_download(
        bucket, ODD_KEY, str(target), store=oss2.ResumableDownloadStore(root=str(tmp_path)),
        multiget_threshold=MB, part_size=3 * MB, num_threads=4,
    )
    assert target.read_bytes() == data


def test_uploads_in_progress_survive_a_restart_on_disk(tmp_path: Path) -> None:
    # given a localcloud on disk with an upload of two parts in progress
    first_part, last_part = os.urandom(100 * KB), b"tail"
    with LocalCloud(data_dir=tmp_path) as first:
        client = oss2.Bucket(oss2.Auth(AK, SK), first.url, "persist")
        client.create_bucket()
        upload_id, parts = _upload_parts(client, "big.bin", first_part, last_part)

    # when a new localcloud starts on the same directory
    with LocalCloud(data_dir=tmp_path) as second:
        client = oss2.Bucket(oss2.Auth(AK, SK), second.url, "persist")

        # then the upload and its parts are listed, and completing it assembles the object
        listed = list(oss2.PartIterator(client, "big.bin", upload_id))
        assert [(p.part_number, p.size, p.etag) for p in listed] == [(1, 100 * KB, parts[0].etag), (2, 4, parts[1].etag)]
        client.complete_multipart_upload("big.bin", upload_id, parts)
        assert client.get_object("big.bin").read() == first_part + last_part
        assert client.get_object("big.bin", byte_range=(100 * KB, None)).read() == last_part
        assert not list((tmp_path / "oss" / "persist" / "uploads").glob("*"))


# -- complete: overwrite protection and part list validation ---------------------------------
def test_complete_with_forbid_overwrite_is_409_and_keeps_the_upload(bucket: oss2.Bucket) -> None:
    # given an existing object and an upload for the same key
    bucket.put_object("claimed.bin", b"first")
    upload_id, parts = _upload_parts(bucket, "claimed.bin", b"second")
    forbid = {"x-oss-forbid-overwrite": "true"}

    # when the upload is completed with x-oss-forbid-overwrite, then 409 FileAlreadyExists
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.complete_multipart_upload("claimed.bin", upload_id, parts, headers=forbid)
    assert (exc.value.status, exc.value.code) == (409, "FileAlreadyExists")

    # and the object is unchanged, the upload still there
    assert bucket.get_object("claimed.bin").read() == b"first"
    assert [u.upload_id for u in oss2.MultipartUploadIterator(bucket)] == [upload_id]
    # and initiating with the header fails the same way
    with pytest.raises(oss2.exceptions.ServerError) as initiate:
        bucket.init_multipart_upload("claimed.bin", headers=forbid)
    assert initiate.value.code == "FileAlreadyExists"

    # when completed without the header, then it overwrites
    bucket.complete_multipart_upload("claimed.bin", upload_id, parts)
    assert bucket.get_object("claimed.bin").read() == b"second"


def test_complete_validates_the_part_list(bucket: oss2.Bucket) -> None:
    # given an upload of two parts (the first at the 100 KB minimum)
    upload_id, parts = _upload_parts(bucket, "v.bin", b"a" * (100 * KB), b"b")

    # when a part's ETag is wrong, then InvalidPart
    wrong = [parts[0], PartInfo(2, "0" * 32)]
    with pytest.raises(oss2.exceptions.ServerError) as invalid:
        bucket.complete_multipart_upload("v.bin", upload_id, wrong)
    assert (invalid.value.status, invalid.value.code) == (400, "InvalidPart")
    # when a part was never uploaded, then InvalidPart too
    with pytest.raises(oss2.exceptions.ServerError) as missing:
        bucket.complete_multipart_upload("v.bin", upload_id, [*parts, PartInfo(3, parts[1].etag)])
    assert missing.value.code == "InvalidPart"

    # when the parts are out of order, then InvalidPartOrder
    unordered = oss2.xml_utils.to_complete_upload_request(list(reversed(parts)))
    with pytest.raises(oss2.exceptions.ServerError) as order:
        _complete_raw(bucket, "v.bin", upload_id, unordered)
    assert (order.value.status, order.value.code) == (400, "InvalidPartOrder")
    # and an empty list is MalformedXML
    with pytest.raises(oss2.exceptions.MalformedXml):
        _complete_raw(bucket, "v.bin", upload_id, b"<CompleteMultipartUpload></CompleteMultipartUpload>")

    # when a part but the last is under 100 KB, then EntityTooSmall
    small_id, small_parts = _upload_parts(bucket, "s.bin", b"tiny", b"end")
    with pytest.raises(oss2.exceptions.ServerError) as small:
        bucket.complete_multipart_upload("s.bin", small_id, small_parts)
    assert (small.value.status, small.value.code) == (400, "EntityTooSmall")

    # and the valid list still completes
    bucket.complete_multipart_upload("v.bin", upload_id, parts)
    assert bucket.get_object("v.bin").read() == b"a" * (100 * KB) + b"b"


def test_unknown_upload_and_bad_part_numbers(bucket: oss2.Bucket) -> None:
    # when a part goes to an upload that does not exist, then NoSuchUpload
    with pytest.raises(oss2.exceptions.NoSuchUpload) as exc:
        bucket.upload_part("k", "0" * 32, 1, b"x")
    assert (exc.value.status, exc.value.code) == (404, "NoSuchUpload")
    assert exc.value.details["UploadId"] == "0" * 32

    # when a part number is outside 1..10000, then InvalidArgument
    upload_id = bucket.init_multipart_upload("k").upload_id
    for number in (0, 10001):
        with pytest.raises(oss2.exceptions.InvalidArgument) as bad:
            bucket.upload_part("k", upload_id, number, b"x")
        assert bad.value.name == "partNumber"

    # when the upload id belongs to another key, then NoSuchUpload
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.upload_part("other-key", upload_id, 1, b"x")


def test_complete_all_header_uses_every_part(bucket: oss2.Bucket) -> None:
    # given an upload whose client lost track of its parts
    upload_id, _ = _upload_parts(bucket, "all.bin", b"x" * (100 * KB), b"y")

    # when completed with x-oss-complete-all and no list, then every part is used
    bucket.complete_multipart_upload("all.bin", upload_id, None, headers={"x-oss-complete-all": "yes"})
    assert bucket.get_object("all.bin").read() == b"x" * (100 * KB) + b"y"


# -- abort, list parts, list uploads, part copy ----------------------------------------------
def test_list_uploads_and_parts_then_abort(bucket: oss2.Bucket) -> None:
    # given three uploads: two for one key, one in a "directory"
    first = bucket.init_multipart_upload("a.bin").upload_id
    second = bucket.init_multipart_upload("a.bin").upload_id
    nested = bucket.init_multipart_upload("dir/b.bin").upload_id
    for number in (1, 2, 3):
        bucket.upload_part("a.bin", first, number, bytes([number]) * 10)

    # when listed one at a time, then by key (and initiation), every upload once
    uploads = [(u.key, u.upload_id) for u in oss2.MultipartUploadIterator(bucket, max_uploads=1)]
    assert uploads == [("a.bin", first), ("a.bin", second), ("dir/b.bin", nested)]
    # and with a delimiter the nested one rolls up into a common prefix
    page = bucket.list_multipart_uploads(delimiter="/")
    assert ([u.key for u in page.upload_list], page.prefix_list) == (["a.bin", "a.bin"], ["dir/"])
    assert [u.upload_id for u in bucket.list_multipart_uploads(prefix="dir/").upload_list] == [nested]
    assert bucket.get_bucket_stat().multi_part_upload_count == 3

    # when the parts are listed two at a time, then all three, with sizes and ETags
    parts = list(oss2.PartIterator(bucket, "a.bin", first, max_parts=2))
    assert [(p.part_number, p.size) for p in parts] == [(1, 10), (2, 10), (3, 10)]
    assert parts[0].etag == oss2.utils.md5_string(b"\x01" * 10).upper()
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.list_parts("a.bin", first, max_parts=0)

    # and the bucket cannot be deleted while uploads are in progress
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        bucket.delete_bucket()

    # when an upload is aborted, then it and its parts are gone (a second abort is NoSuchUpload)
    assert bucket.abort_multipart_upload("a.bin", first).status == 204
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts("a.bin", first)
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.abort_multipart_upload("a.bin", first)
    assert [u.upload_id for u in oss2.MultipartUploadIterator(bucket)] == [second, nested]


def test_upload_part_copy(bucket: oss2.Bucket) -> None:
    # given a 150 KB source object
    source = os.urandom(150 * KB)
    bucket.put_object("src.bin", source)
    upload_id = bucket.init_multipart_upload("copy.bin").upload_id

    # when two parts are copied from byte ranges of it and the upload completed
    one = bucket.upload_part_copy("bkt", "src.bin", (0, 100 * KB - 1), "copy.bin", upload_id, 1)
    two = bucket.upload_part_copy("bkt", "src.bin", (100 * KB, None), "copy.bin", upload_id, 2)
    bucket.complete_multipart_upload("copy.bin", upload_id, [PartInfo(1, one.etag), PartInfo(2, two.etag)])

    # then the copy holds the source's bytes
    assert bucket.get_object("copy.bin").read() == source
    assert bucket.head_object("copy.bin").server_crc == crc64_of(source)

    # when the source does not exist, then NoSuchKey
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.upload_part_copy("bkt", "missing.bin", None, "copy.bin", bucket.init_multipart_upload(
            "copy.bin").upload_id, 1)
