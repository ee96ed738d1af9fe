"""A crash of ``model_landed`` between a first version's ``deploying`` record and its CreateService
(found by ``make soak``'s crash phase, flow ``serve_first``): the invocation's retry indexes the version
and creates the service, so the next reconcile tick serves it. Before, the retry read "version already
deploying" as a duplicate and the version stayed deploying with no service and no index entry."""

from __future__ import annotations

import pytest

from localcloud.core.faults import Fault

from . import reliability_support as rs


@pytest.fixture
def calls(project_cloud):
    log = rs.CallLog(project_cloud).install()
    yield log
    log.uninstall()


@pytest.mark.parametrize("after", ["deploying record", "deploying index entry"])
def test_a_crash_after_deploying_is_recorded_is_finished_by_the_retry(project_cloud, sdk, calls, after):
    cloud = project_cloud
    rs.freeze_after_reconcile(cloud)
    rs.fast_training(cloud)
    if after == "deploying record":  # the model entity's second record (claimed, then deploying)
        fault = Fault(service="oss", operation="PutObject", path_contains="/.autopilot/models/demo/", crash=True, skip=1, count=1)
    else:
        fault = Fault(service="oss", operation="PutObject", path_contains="/.autopilot/index/serving/deploying/demo/",
                      crash=True, count=1)
    crashes = cloud.fc.crashes
    cloud.faults.add(fault)
    rs.land_model(sdk, "s0", rs.V1_METRICS)
    assert cloud.fc.wait_idle(120)
    assert cloud.fc.crashes == crashes + 1
    # before any reconcile tick: the retry indexed the version and created its service
    assert "demo_model_s0" in rs.eas_services(sdk)
    assert rs.index_keys(sdk, "serving/deploying/demo/")
    cloud.faults.clear()
    cloud.advance(298)  # the reconcile tick at +299 s finds it Running: stable, serving
    assert cloud.fc.wait_idle(120)
    rs.settle(cloud, 10, step=5)
    rs.check_invariants(cloud, sdk, calls, models=("s0",))
