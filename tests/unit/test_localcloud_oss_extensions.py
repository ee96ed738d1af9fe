"""Pure parts of localcloud's OSS extensions: CRC-64 combination, policy conditions, lifecycle timing,
upload listing order and paging (on the backend, without HTTP)."""

from __future__ import annotations

import os

import pytest

from localcloud.core.clock import Clock
from localcloud.core.errors import ServiceError
from localcloud.core.events import EventHub
from localcloud.oss.lifecycle import Timing
from localcloud.oss.models import OssBackend
from localcloud.oss.postobject import check_policy, encode_policy
from localcloud.oss.utils import crc64, crc64_combine, next_midnight


@pytest.mark.parametrize("sizes", [(0, 5), (5, 0), (1, 1), (100, 1 << 16), (3, 7, 1 << 20, 11)])
def test_crc64_combine_equals_the_crc_of_the_concatenation(sizes: tuple[int, ...]) -> None:
    # given chunks of several sizes, when their CRCs are combined, then it is the whole's CRC
    chunks = [os.urandom(n) for n in sizes]
    crc = 0
    for chunk in chunks:
        crc = crc64_combine(crc, crc64(chunk), len(chunk))
    assert crc == crc64(b"".join(chunks))


@pytest.mark.parametrize(
    ("condition", "fields", "size", "code"),
    [
        (["eq", "$key", "a"], {"key": "a"}, 1, None),
        (["eq", "$key", "a"], {"key": "b"}, 1, "AccessDenied"),
        (["in", "$content-type", ["text/csv", "text/plain"]], {"content-type": "text/csv"}, 1, None),
        (["not-in", "$content-type", ["text/csv"]], {"content-type": "text/csv"}, 1, "AccessDenied"),
        (["content-length-range", 2, 5], {}, 1, "EntityTooSmall"),
        (["content-length-range", "x", 5], {}, 1, "InvalidPolicyDocument"),
        (["regex", "$key", "a.*"], {"key": "a"}, 1, "InvalidPolicyDocument"),
        ({"key": "a", "bucket": "b"}, {"key": "a"}, 1, "InvalidPolicyDocument"),
        ({"bucket": "other"}, {}, 1, "AccessDenied"),
    ],
)
def test_policy_conditions(condition: object, fields: dict[str, str], size: int, code: str | None) -> None:
    # given a policy with one condition, when checked against a form, then accepted or refused
    policy = encode_policy({"expiration": "2100-01-01T00:00:00Z", "conditions": [condition]})
    if code is None:
        check_policy(policy, bucket="bkt", fields=fields, size=size, now=0.0)
        return
    with pytest.raises(ServiceError) as exc:
        check_policy(policy, bucket="bkt", fields=fields, size=size, now=0.0)
    assert exc.value.code == code


def test_lifecycle_timing_counts_from_the_next_utc_midnight() -> None:
    # given something written at 23:00 UTC on day 0
    written = 23 * 3600.0
    # then a 1-day rule is due at midnight ending day 1, not 24 hours later
    assert next_midnight(written) == 86400.0
    assert not Timing(days=1).due(written, 2 * 86400.0 - 1)
    assert Timing(days=1).due(written, 2 * 86400.0)
    assert Timing(before=86400.0).due(written, 0.0) and not Timing(before=0.0).due(written, 1e12)
    assert Timing(date=100.0).due(written, 100.0) and not Timing(date=100.0).due(written, 99.0)


def test_uploads_list_by_key_then_initiation_and_page_with_markers() -> None:
    # given uploads for keys a, a, b/1, b/2, c (in that initiation order per key)
    clock = Clock()
    clock.freeze(1_000.0)
    oss = OssBackend(clock=clock, hub=EventHub(), region="cn-hangzhou", account_id="1")
    oss.create_bucket("bkt")
    ids: dict[str, list[str]] = {}
    for key in ["c", "a", "b/1", "a", "b/2"]:
        clock.advance(1)
        ids.setdefault(key, []).append(oss.initiate_multipart_upload("bkt", key).upload_id)

    # when paged two at a time with a delimiter, then a, a | b/, c — each entry once
    first = oss.list_multipart_uploads("bkt", delimiter="/", max_uploads="2")
    assert [(u.key, u.upload_id) for u in first.uploads] == [("a", ids["a"][0]), ("a", ids["a"][1])]
    assert (first.is_truncated, first.next_key_marker, first.next_upload_id_marker) == (True, "a", ids["a"][1])
    second = oss.list_multipart_uploads(
        "bkt", delimiter="/", max_uploads="2", key_marker=first.next_key_marker,
        upload_id_marker=first.next_upload_id_marker,
    )
    assert (second.common_prefixes, [u.key for u in second.uploads], second.is_truncated) == (["b/"], ["c"], False)

    # and a key marker alone skips every upload of that key
    assert [u.key for u in oss.list_multipart_uploads("bkt", key_marker="a").uploads] == ["b/1", "b/2", "c"]
    with pytest.raises(ServiceError) as exc:
        oss.list_multipart_uploads("bkt", max_uploads="1001")
    assert exc.value.code == "InvalidArgument"
