"""Fixtures for the OSS tests: buckets through the real oss2 client, the event hub."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import oss2
import pytest

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID as AK
from localcloud.core.credentials import LOCAL_ACCESS_KEY_SECRET as SK
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


