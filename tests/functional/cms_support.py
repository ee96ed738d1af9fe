"""Shared fixtures and helpers of the CloudMonitor tests (real ``alibabacloud_cms20190101`` client)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alibabacloud_cms20190101 import models
from alibabacloud_cms20190101.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config
from werkzeug.wrappers import Request, Response

from localcloud.cms import CmsService
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
from localcloud.server import ThreadedServer

T0 = 1_699_999_980.0  # a multiple of 60 and of 900


def cms_service(cloud: Any) -> CmsService:
    """The cloud's CloudMonitor, registered on it if the cloud does not have one yet."""
    if "cms" not in cloud.services:
        cloud.register(CmsService(clock=cloud.clock, region=cloud.region, account_id=cloud.account_id,
                                  requests=cloud.requests, timeline=cloud.timeline, eventbridge=cloud.eventbridge))
    return cloud.services["cms"]


def cms_client(cloud: Any) -> Client:
    return Client(Config(access_key_id=LOCAL_ACCESS_KEY_ID, access_key_secret=LOCAL_ACCESS_KEY_SECRET,
                         endpoint=cloud.url.removeprefix("http://"), protocol="http"))


def frozen_cms(cloud: Any) -> Client:
    """A CMS client against the test's localcloud (CloudMonitor registered), clock frozen at ``T0``
    (the ``cms`` fixture of the CMS test modules)."""
    cms_service(cloud)
    cloud.clock.freeze(T0)
    return cms_client(cloud)


def fail(call: Callable[[], Any]) -> ClientException:
    with pytest.raises(ClientException) as excinfo:
        call()
    return excinfo.value


def seed(cloud: Any, service: str, *, start: float, seconds: int, qps: int = 10, error_every: int = 0,
         status: int = 503, latency: Callable[[int], float] = lambda i: 20.0 + i % 10) -> int:
    """Record ``qps`` requests a second for ``seconds`` from ``start``; every ``error_every``-th fails."""
    count = 0
    for second in range(seconds):
        for k in range(qps):
            i = second * qps + k
            failed = error_every and i % error_every == 0
            cloud.requests.record(service, at=start + second + k / qps, status=status if failed else 200,
                                  latency_ms=latency(i))
            count += 1
    return count


def last(cms: Client, metric: str, dimensions: Any = None, namespace: str = "acs_pai_eas", **kw: Any) -> list[dict]:
    """DescribeMetricLast's datapoints (decoded)."""
    dims = dimensions if dimensions is None or isinstance(dimensions, str) else json.dumps(dimensions)
    body = cms.describe_metric_last(models.DescribeMetricLastRequest(
        namespace=namespace, metric_name=metric, dimensions=dims, **kw)).body
    assert body.code == "200" and body.success is True and isinstance(body.datapoints, str)
    return json.loads(body.datapoints)


class Recorder:
    """A tiny local HTTP server recording every request (the alarm webhook's receiver)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self.server = ThreadedServer(self._app)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._cond:
            self.requests.append({"method": request.method, "path": request.path, "body": request.get_data(),
                                  "content_type": request.headers.get("Content-Type", "")})
            self._cond.notify_all()
        return Response("ok", status=self.status)(environ, start_response)

    @property
    def url(self) -> str:
        return self.server.url + "/cms/alarm"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.requests) >= count, timeout=timeout)
            return list(self.requests)


def running_recorder() -> Iterator[Recorder]:
    """A started :class:`Recorder`, stopped afterwards (the ``webhook`` fixture)."""
    recorder = Recorder()
    recorder.server.start()
    yield recorder
    recorder.server.stop()


def settle(seconds: float = 0.3) -> None:
    """Give the webhook worker a moment (used only to show that nothing MORE arrives)."""
    time.sleep(seconds)
