"""Bucket lifecycle rules through oss2, and their expiration on localcloud's clock (``oss.tick``)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import oss2
import pytest
from oss2.models import (
    AbortMultipartUpload,
    BucketLifecycle,
    LifecycleExpiration,
    LifecycleRule,
    StorageTransition,
)

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID as AK
from localcloud.core.credentials import LOCAL_ACCESS_KEY_SECRET as SK

from .conftest import object_events

DAY = 86400
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def _keys(bucket: oss2.Bucket) -> list[str]:
    return [o.key for o in oss2.ObjectIteratorV2(bucket)]


def test_rules_round_trip_and_delete(bucket: oss2.Bucket) -> None:
    # given no rules, when they are read, then NoSuchLifecycle
    with pytest.raises(oss2.exceptions.NoSuchLifecycle) as none:
        bucket.get_bucket_lifecycle()
    assert (none.value.status, none.value.code) == (404, "NoSuchLifecycle")

    # when rules of every kind are put
    rules = [
        LifecycleRule("tmp", "tmp/", status=LifecycleRule.ENABLED, expiration=LifecycleExpiration(days=3)),
        LifecycleRule("old", "old/", status=LifecycleRule.DISABLED,
                      expiration=LifecycleExpiration(created_before_date=datetime.date(2024, 1, 1))),
        LifecycleRule("end", "end/", expiration=LifecycleExpiration(date=datetime.date(2030, 6, 1)),
                      abort_multipart_upload=AbortMultipartUpload(days=2),
                      storage_transitions=[StorageTransition(days=10, storage_class=oss2.BUCKET_STORAGE_CLASS_IA)]),
    ]
    assert bucket.put_bucket_lifecycle(BucketLifecycle(rules)).status == 200

    # then they read back as they were put
    got = bucket.get_bucket_lifecycle().rules
    assert [(r.id, r.prefix, r.status) for r in got] == [("tmp", "tmp/", "Enabled"), ("old", "old/", "Disabled"),
                                                         ("end", "end/", "Enabled")]
    assert got[0].expiration.days == 3
    # (oss2 reads dates back in the local time zone: compare through its own parser)
    assert got[1].expiration.created_before_date == oss2.utils.iso8601_to_date("2024-01-01T00:00:00.000Z")
    assert got[2].expiration.date == oss2.utils.iso8601_to_date("2030-06-01T00:00:00.000Z")
    assert got[2].abort_multipart_upload.days == 2
    assert got[2].storage_transitions[0].days == 10

    # when deleted, then gone (and deleting again still succeeds)
    assert bucket.delete_bucket_lifecycle().status == 204
    assert bucket.delete_bucket_lifecycle().status == 204
    with pytest.raises(oss2.exceptions.NoSuchLifecycle):
        bucket.get_bucket_lifecycle()


@pytest.mark.parametrize(
    ("rule_xml", "code"),
    [
        ("<ID>r</ID><Prefix>a/</Prefix><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>",
         "InvalidArgument"),
        ("<ID>r</ID><Prefix>a/</Prefix><Status>Enabled</Status>"
         "<Expiration><CreatedBeforeDate>2024-01-01T12:00:00.000Z</CreatedBeforeDate></Expiration>", "InvalidArgument"),
        ("<ID>r</ID><Prefix>a/</Prefix><Status>Sometimes</Status><Expiration><Days>1</Days></Expiration>",
         "MalformedXML"),
        ("<ID>r</ID><Prefix>a/</Prefix><Status>Enabled</Status>", "InvalidArgument"),
    ],
)
def test_invalid_rules_are_refused(bucket: oss2.Bucket, rule_xml: str, code: str) -> None:
    # when a rule breaks the schema (non-positive days, a date not at midnight, a bad status, no action)
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.put_bucket_lifecycle(f"<LifecycleConfiguration><Rule>{rule_xml}</Rule></LifecycleConfiguration>")
    # then 400 with the code, and no configuration stored
    assert (exc.value.status, exc.value.code) == (400, code)
    with pytest.raises(oss2.exceptions.NoSuchLifecycle):
        bucket.get_bucket_lifecycle()


def test_days_expire_only_matching_objects_on_the_clock(
    cloud: LocalCloud, bucket: oss2.Bucket, events: list[Any]
) -> None:
    # given objects written at T0 (22:13 UTC) and rules: tmp/ after 1 day; logs/ likewise, but disabled
    cloud.clock.freeze(T0)
    for key in ("tmp/a", "tmp/b", "keep/c", "logs/d", "tmpfile"):
        bucket.put_object(key, b"x")
    bucket.put_bucket_lifecycle(BucketLifecycle([
        LifecycleRule("tmp", "tmp/", expiration=LifecycleExpiration(days=1)),
        LifecycleRule("logs", "logs/", status=LifecycleRule.DISABLED, expiration=LifecycleExpiration(days=1)),
    ]))
    before = len(object_events(events))

    # when a day has passed, then nothing yet: OSS counts from the next UTC midnight
    assert cloud.oss.tick(T0 + DAY) == 0
    assert _keys(bucket) == ["keep/c", "logs/d", "tmp/a", "tmp/b", "tmpfile"]

    # when two days have passed, then only the enabled rule's objects are gone, without events
    assert cloud.oss.tick(T0 + 2 * DAY) == 2
    assert _keys(bucket) == ["keep/c", "logs/d", "tmpfile"]
    assert len(object_events(events)) == before
    assert cloud.oss.tick(T0 + 30 * DAY) == 0


def test_created_before_date_and_date_and_abandoned_uploads(cloud: LocalCloud, bucket: oss2.Bucket) -> None:
    # given objects under old/ written on 2023-11-14 and on 2023-11-16, an upload under tmp/
    cloud.clock.freeze(T0)
    bucket.put_object("old/early", b"x")
    upload_id = bucket.init_multipart_upload("tmp/big.bin").upload_id
    cloud.clock.freeze(T0 + 2 * DAY)
    bucket.put_object("old/late", b"x")
    bucket.put_object("until/z", b"x")

    # when rules expire old/ objects written before 2023-11-15, everything under until/ from
    # 2023-12-01 on, and tmp/ uploads after a day
    bucket.put_bucket_lifecycle(BucketLifecycle([
        LifecycleRule("old", "old/", expiration=LifecycleExpiration(created_before_date=datetime.date(2023, 11, 15))),
        LifecycleRule("until", "until/", expiration=LifecycleExpiration(date=datetime.date(2023, 12, 1))),
        LifecycleRule("parts", "tmp/", abort_multipart_upload=AbortMultipartUpload(days=1)),
    ]))
    cloud.oss.tick(T0 + 2 * DAY)

    # then the early object and the abandoned upload are gone; the rest stays until the date
    assert _keys(bucket) == ["old/late", "until/z"]
    assert list(oss2.MultipartUploadIterator(bucket)) == []
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts("tmp/big.bin", upload_id)
    cloud.oss.tick(datetime.datetime(2023, 12, 1, tzinfo=datetime.timezone.utc).timestamp())
    assert _keys(bucket) == ["old/late"]


def test_rules_persist_on_disk(tmp_path: Path) -> None:
    # given a localcloud on disk with a rule
    rule = LifecycleRule("tmp", "tmp/", expiration=LifecycleExpiration(days=7))
    with LocalCloud(data_dir=tmp_path) as first:
        client = oss2.Bucket(oss2.Auth(AK, SK), first.url, "persist")
        client.create_bucket()
        client.put_bucket_lifecycle(BucketLifecycle([rule]))

    # when restarted, then the rule is still there
    with LocalCloud(data_dir=tmp_path) as second:
        client = oss2.Bucket(oss2.Auth(AK, SK), second.url, "persist")
        assert [(r.id, r.expiration.days) for r in client.get_bucket_lifecycle().rules] == [("tmp", 7)]
