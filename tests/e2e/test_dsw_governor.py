"""dsw_governor on its s.yaml timer, through the local FC runtime, with the shipped (dry-run) policy."""

from __future__ import annotations

import time

from alibabacloud_pai_dsw20220101 import models

FUNCTION = "pai-autopilot-dsw-governor"


def test_the_timer_runs_the_governor_in_dry_run(project_cloud, sdk):
    # Given a running notebook in the demo workspace, 20 s before a 5-minute boundary
    boundary = (int(time.time()) // 300 + 1) * 300
    project_cloud.clock.freeze(boundary - 20)
    body = {"InstanceName": "nb_e2e", "EcsSpec": "ecs.gn7i-c8g1.2xlarge", "ImageUrl": "img:1", "WorkspaceId": "12345"}
    instance_id = sdk.dsw.create_instance(models.CreateInstanceRequest().from_map(body)).body.instance_id
    project_cloud.advance(15)
    # When the timer fires
    project_cloud.advance(10)
    assert project_cloud.fc.wait_idle(60)
    # Then one dry-run tick saw it, planned its culler, and changed nothing
    (record,) = project_cloud.fc.invocation_records(FUNCTION)
    result = record["result"]
    assert record["status"] == "succeeded" and result["mode"] == "dry-run" and result["running"] == 1
    assert [(a["instance_id"], a["action"]) for a in result["actions"]] == [(instance_id, "would culler create")]
    described = sdk.dsw.get_instance(instance_id, models.GetInstanceRequest()).body
    assert described.status == "Running" and described.idle_instance_culler is None
