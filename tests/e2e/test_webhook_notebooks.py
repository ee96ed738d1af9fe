"""Notebook snoozes through the webhook: the signed POST and the GET link from the idle warning.

Needs the notebook governor (issue 10): skipped while ``pai_autopilot.notebooks.snooze`` is absent.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest

pytest.importorskip("pai_autopilot.notebooks.snooze", reason="notebook snoozes (issue 10) are not merged yet")

from alibabacloud_pai_dsw20220101 import models  # noqa: E402

from .conftest import WEBHOOK_KEY_ID, WEBHOOK_SECRET  # noqa: E402
from .webhook_support import Webhook  # noqa: E402


@pytest.fixture
def notebook(project_cloud, sdk) -> str:
    body = {"InstanceName": "nb_1", "EcsSpec": "ecs.gn6i-c4g1.xlarge", "WorkspaceId": "12345",
            "ImageUrl": "dsw-registry-vpc.cn-hangzhou.cr.aliyuncs.com/pai/pytorch:2.1-gpu-py310"}
    instance = sdk.dsw.create_instance(models.CreateInstanceRequest().from_map(body)).body.instance_id
    project_cloud.advance(10)
    return instance


def test_a_signed_snooze_and_the_warning_link(project_cloud, notebook):
    from pai_autopilot.notebooks.links import snooze_url

    hook = Webhook(project_cloud)
    snoozed = hook.call("POST", f"/v1/notebooks/{notebook}/snooze", {"hours": 4, "reason": "training overnight"})
    assert snoozed.status_code == 200 and snoozed.json()["outcome"] == "applied", snoozed.text
    assert hook.call("POST", f"/v1/notebooks/{notebook}/snooze", {"hours": 4}).json()["outcome"] == "noop"
    missing = hook.call("POST", "/v1/notebooks/dsw-doesnotexist/snooze", {"hours": 4})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    bad = hook.call("POST", f"/v1/notebooks/{notebook}/snooze", {"hours": "four"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid")
    # the GET link of the warning (its own signature in the query, no headers)
    link = snooze_url(hook.base, notebook, 8, secret=WEBHOOK_SECRET, key_id=WEBHOOK_KEY_ID, expires_at=time.time() + 3600)
    query = dict(parse_qsl(urlsplit(link).query))
    path = f"/v1/notebooks/{notebook}/snooze"
    assert hook.send("GET", path, query=query).status_code == 200
    forged = hook.send("GET", path, query={**query, "hours": "72"})
    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "bad_signature")
    assert not any(query["sig"] in line or WEBHOOK_SECRET in line for line in hook.logs())
    status = hook.call("GET", "/v1/status").json()["notebooks"]
    assert status["available"] and any(a.get("instance_id") == notebook for a in status["actions"])
