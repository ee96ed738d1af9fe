"""Transfer encodings, tolerant request XML, local endpoints, live channels, the bucket cap and
``local reset --all`` on localcloud's OSS, through the real ``oss2`` client."""

from __future__ import annotations

import gzip
import json

import oss2
import pytest
import requests
from typer.testing import CliRunner

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID as AK
from localcloud.core.credentials import LOCAL_ACCESS_KEY_SECRET as SK
from pai_autopilot.cli import app

TEXT = b"step,loss\n" + b"".join(b"%d,0.%04d\n" % (i, i) for i in range(400))  # > 1 KiB


# -- transfer encodings -----------------------------------------------------------------------
def test_gzip_is_sent_chunked_for_compressible_objects(bucket: oss2.Bucket) -> None:
    # given a text object of more than 1 KiB
    bucket.put_object("metrics.csv", TEXT, headers={"Content-Type": "text/plain"})

    # when oss2 asks for gzip, then it gets the object back (decoded, CRC checked by oss2)
    got = bucket.get_object("metrics.csv", headers={"Accept-Encoding": "gzip"})
    assert got.read() == TEXT
    assert got.headers["Content-Encoding"] == "gzip"
    assert got.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in got.headers and "ETag" not in got.headers

    # and on the wire the body is gzip, sent chunked
    url = bucket.sign_url("GET", "metrics.csv", 60)
    raw = requests.get(url, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
    body = raw.raw.read(decode_content=False)
    assert body[:2] == b"\x1f\x8b" and len(body) < len(TEXT)
    assert gzip.decompress(body) == TEXT

    # and HEAD says so too
    head = bucket.head_object("metrics.csv", headers={"Accept-Encoding": "gzip"})
    assert head.headers["Content-Encoding"] == "gzip"


@pytest.mark.parametrize(("content_type", "size"), [("image/png", 4096), ("text/plain", 1023)])
def test_gzip_is_not_used_for_other_types_or_small_objects(bucket: oss2.Bucket, content_type: str, size: int) -> None:
    # given an incompressible type, or a text object under 1 KiB
    bucket.put_object("o", TEXT[:size], headers={"Content-Type": content_type})

    # when gzip is asked for, then the plain bytes come back with their length and ETag
    got = bucket.get_object("o", headers={"Accept-Encoding": "gzip"})
    assert got.read() == TEXT[:size]
    assert "Content-Encoding" not in got.headers
    assert got.headers["Content-Length"] == str(size) and got.etag


# -- request XML ------------------------------------------------------------------------------
def test_delete_objects_accepts_a_key_with_a_control_character(bucket: oss2.Bucket) -> None:
    # given objects whose keys hold a form feed and a unit separator
    keys = ["page\x0cbreak.txt", "a\x1fb.txt"]
    for key in keys:
        bucket.put_object(key, b"x")

    # when they are deleted in one DeleteObjects request (raw control characters in its XML)
    result = bucket.batch_delete_objects(keys)

    # then both are reported deleted and are gone
    assert sorted(result.deleted_keys) == sorted(keys)
    assert [o.key for o in bucket.list_objects_v2().object_list] == []


# -- endpoints and live channels --------------------------------------------------------------
def test_bucket_endpoints_point_back_at_localcloud(cloud: LocalCloud, bucket: oss2.Bucket) -> None:
    # given a bucket with an object
    bucket.put_object("a.txt", b"local")
    host = cloud.url.removeprefix("http://")

    # then ListBuckets and GetBucketInfo name localcloud's own host:port
    listed = oss2.Service(oss2.Auth(AK, SK), cloud.url).list_buckets().buckets[0]
    info = bucket.get_bucket_info()
    assert (listed.extranet_endpoint, listed.intranet_endpoint) == (host, host)
    assert (info.extranet_endpoint, info.intranet_endpoint) == (host, host)

    # and a client built from them reaches localcloud
    rebuilt = oss2.Bucket(oss2.Auth(AK, SK), "http://" + info.extranet_endpoint, "bkt")
    assert rebuilt.get_object("a.txt").read() == b"local"


def test_list_live_channels_is_an_empty_list(cloud: LocalCloud, bucket: oss2.Bucket) -> None:
    listed = bucket.list_live_channel(prefix="cam", max_keys=10)
    assert (listed.status, listed.channels, listed.is_truncated, listed.prefix, listed.max_keys) == (
        200, [], False, "cam", 10)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        oss2.Bucket(oss2.Auth(AK, SK), cloud.url, "ghost-bucket").list_live_channel()


# -- buckets that pile up ----------------------------------------------------------------------
def test_the_bucket_cap_is_osss_default_of_100(cloud: LocalCloud) -> None:
    # given 100 buckets (OSS's default cap per account and region)
    auth = oss2.Auth(AK, SK)
    for i in range(100):
        oss2.Bucket(auth, cloud.url, f"pile-{i:03d}").create_bucket()

    # when one more is created, then TooManyBuckets, which says how to clear leftovers
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        oss2.Bucket(auth, cloud.url, "one-too-many").create_bucket()
    assert (exc.value.status, exc.value.code) == (400, "TooManyBuckets")
    assert "local reset --all" in exc.value.message

    # and re-creating an existing one still succeeds
    assert oss2.Bucket(auth, cloud.url, "pile-000").create_bucket().status == 200


def test_the_bucket_cap_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a localcloud capped at 2 buckets through the environment
    monkeypatch.setenv("LOCALCLOUD_OSS_MAX_BUCKETS", "2")
    with LocalCloud() as small:
        auth = oss2.Auth(AK, SK)
        for name in ("first-bucket", "second-bucket"):
            oss2.Bucket(auth, small.url, name).create_bucket()

        # when a third is created, then TooManyBuckets
        with pytest.raises(oss2.exceptions.ServerError) as exc:
            oss2.Bucket(auth, small.url, "third-bucket").create_bucket()
        assert exc.value.code == "TooManyBuckets" and "localcloud: at most 2" in exc.value.message
    # and the explicit argument wins over the environment
    assert LocalCloud(oss_max_buckets=5).oss.backend.max_buckets == 5


def test_reset_all_removes_leftover_and_configured_buckets(cloud: LocalCloud) -> None:
    # given a configured bucket and two a crashed program left behind
    port = cloud.url.rsplit(":", 1)[1]
    cloud.create_bucket("configured-bucket")
    for name in ("left-1", "left-2"):
        oss2.Bucket(oss2.Auth(AK, SK), cloud.url, name).create_bucket()

    # when `local reset` runs, then the leftovers are removed and reported, the configured one stays
    plain = CliRunner().invoke(app, ["local", "reset", "--port", port])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.output) == {"reset": True, "buckets_removed": ["left-1", "left-2"]}
    assert cloud.oss.bucket_names() == ["configured-bucket"]

    # when `local reset --all` runs, then the configured bucket goes too
    everything = CliRunner().invoke(app, ["local", "reset", "--all", "--port", port])
    assert everything.exit_code == 0, everything.output
    assert json.loads(everything.output) == {"reset": True, "buckets_removed": ["configured-bucket"]}
    assert cloud.oss.bucket_names() == []
    cloud.reset()  # later tests see a plain cloud
