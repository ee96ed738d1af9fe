"""localcloud's EAS traffic mirroring: the four mirror APIs through the real SDK, and the gateway's copies."""

from __future__ import annotations

from collections import Counter

import pytest
import requests
from alibabacloud_eas20210701 import models
from alibabacloud_tea_openapi.exceptions import ClientException

from . import eas_fixtures
from .eas_fixtures import REGION, create, running

eas_cloud, eas = eas_fixtures.eas_cloud, eas_fixtures.eas

FAST = {"latency_ms": 0}


def test_mirror_lifecycle_with_sdk_shapes(eas_cloud, eas):
    create(eas, "demo_v1", group="demo", profile=FAST)
    create(eas, "demo_v2", group="demo", profile=FAST)
    created = eas.create_service_mirror(REGION, "demo_v1", models.CreateServiceMirrorRequest(ratio=30, target=["demo_v2"]))
    assert "demo_v1" in created.body.message and created.body.request_id
    got = eas.describe_service_mirror(REGION, "demo_v1").body
    assert (got.service_name, got.ratio, got.target) == ("demo_v1", "30", "demo_v2")
    eas.update_service_mirror(REGION, "demo_v1", models.UpdateServiceMirrorRequest(ratio=50))
    assert eas.describe_service_mirror(REGION, "demo_v1").body.ratio == "50"
    with pytest.raises(ClientException) as again:
        eas.create_service_mirror(REGION, "demo_v1", models.CreateServiceMirrorRequest(ratio=10, target=["demo_v2"]))
    assert again.value.code == "InvalidMirror.AlreadyExists"
    eas.delete_service_mirror(REGION, "demo_v1")
    with pytest.raises(ClientException) as gone:
        eas.describe_service_mirror(REGION, "demo_v1")
    assert gone.value.code == "InvalidMirror.NotFound" and gone.value.status_code == 404


@pytest.mark.parametrize("ratio, target, needle", [(101, ["demo_v2"], "Ratio"), (10, ["ghost"], "ghost"),
                                                    (10, ["demo_v1"], "itself"), (10, [], "Target")])
def test_bad_mirror_requests_name_the_value(eas_cloud, eas, ratio, target, needle):
    create(eas, "demo_v1", profile=FAST)
    create(eas, "demo_v2", profile=FAST)
    with pytest.raises(ClientException) as bad:
        eas.create_service_mirror(REGION, "demo_v1", models.CreateServiceMirrorRequest(ratio=ratio, target=target))
    assert bad.value.code == "InvalidParameter" and needle in bad.value.message


def test_gateway_copies_ratio_percent_to_the_target_and_discards_its_answers(eas_cloud, eas):
    # Given a stable at full weight and a canary at weight 0 answering 30 % errors, mirrored at 40 %
    create(eas, "demo_v1", group="demo", profile=FAST)
    create(eas, "demo_v2", group="demo", profile={"latency_ms": 0, "error_rate": 0.3})
    running(eas_cloud, eas, "demo_v1", "demo_v2")
    eas.release_service(REGION, "demo_v1", models.ReleaseServiceRequest(weight=100, traffic_state="grouping"))
    eas.release_service(REGION, "demo_v2", models.ReleaseServiceRequest(weight=0, traffic_state="grouping"))
    eas.create_service_mirror(REGION, "demo_v1", models.CreateServiceMirrorRequest(ratio=40, target=["demo_v2"]))
    requests.put(f"{eas_cloud.url}/_localcloud/eas/gateway", json={"seed": 5}, timeout=5)
    # When 1,000 requests reach the group endpoint
    with requests.Session() as session:
        answers = [session.post(f"{eas_cloud.url}/api/predict/demo", data=b"{}", timeout=5) for _ in range(1000)]
    # Then every caller was answered by the stable, and ~40 % were copied to the canary (with its errors)
    assert Counter(r.headers["x-localcloud-service"] for r in answers) == {"demo_v1": 1000}
    assert {r.status_code for r in answers} == {200}
    now = eas_cloud.clock.now()
    copies = eas_cloud.requests.window("demo_v2", start=now - 60, end=now + 1)
    assert abs(len(copies) / 1000 - 0.40) <= 0.04
    errors = sum(1 for r in copies if r.status >= 500)
    assert abs(errors / len(copies) - 0.3) <= 0.07
    # And deleting the canary removes the mirror
    eas.delete_service(REGION, "demo_v2")
    eas_cloud.advance(60)
    with pytest.raises(ClientException):
        eas.describe_service_mirror(REGION, "demo_v1")
