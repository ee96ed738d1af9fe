"""docs/ram-policy*.json grant exactly the SDK actions the code calls, and nothing broader.

Regenerate with ``make docs`` (``python scripts/ram_policy.py --write``); ``--check`` lists
the missing and extra actions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .scripts_support import ROOT, load_script

ram = load_script("ram_policy")
#: RAM codes whose actions the product's RAM page lists as "all resources" (no resource-level grant).
ALL_RESOURCES_ONLY = {"paidlc", "paidsw", "cms"}


@pytest.mark.parametrize("path", [ram.FUNCTION_POLICY, ram.OPERATOR_POLICY], ids=lambda p: p.name)
def test_policy_grants_exactly_what_the_code_calls(path: Path) -> None:
    wanted = ram.proposed()[path]
    current = json.loads(path.read_text(encoding="utf-8"))
    missing, extra = ram.diff(current, wanted)
    assert not missing and not extra, (
        f"{path.relative_to(ROOT)} differs from the SDK calls in the code; run `make docs` "
        "(python scripts/ram_policy.py --write), review, commit.\n"
        + "".join(f"  missing: {m}\n" for m in missing) + "".join(f"  extra:   {e}\n" for e in extra)
        + "Call sites: python scripts/ram_policy.py --calls"
    )


@pytest.mark.parametrize("path", [ram.FUNCTION_POLICY, ram.OPERATOR_POLICY], ids=lambda p: p.name)
def test_policy_is_least_privilege(path: Path) -> None:
    policy = json.loads(path.read_text(encoding="utf-8"))
    assert policy["Version"] == "1"
    for action, resource in ram.grants(policy):
        code, _, name = action.partition(":")
        assert name and "*" not in action, f"wildcard action {action}"
        if resource == "*":
            assert code in ALL_RESOURCES_ONLY, f"{action} granted on every resource; scope it"
        if code == "oss":
            assert ":BUCKET" in resource, f"{action} not scoped to the bucket: {resource}"
        if code == "fc":
            assert "functions/FUNCTION_PREFIX-" in resource, f"{action} not scoped to our functions: {resource}"
        if code == "eventbridge":
            assert "eventbus/pai-system-WORKSPACE_NAME" in resource, f"{action} not scoped to the PAI bus: {resource}"
        if code == "eas":
            assert resource.startswith("acs:eas:REGION:ACCOUNT_ID:service/"), f"{action} not scoped to services"


def test_functions_role_gets_no_operator_actions() -> None:
    function_actions = {a for a, _ in ram.grants(json.loads(ram.FUNCTION_POLICY.read_text()))}
    assert not {a for a in function_actions if a.startswith("eventbridge:") or "Lifecycle" in a or "Versioning" in a}


SAMPLE = '''
import oss2

def serve(rt, bucket_name: str):
    rt.clients.eas.create_service(body)
    cms = rt.clients.cms
    cms.describe_metric_last(req)
    rt.clients.fc.invoke_function_with_options("f", req, headers, runtime)
    rt.clients.dsw.stop_instance("dsw-1", req)
    rt.clients.bucket(bucket_name).put_object("k", b"")
    bucket_name.startswith("x")
    keys = [o.key for o in oss2.ObjectIteratorV2(bucket, prefix="p/")]
    eventbridge_client(s, c).put_events(req)
    rt.clients.dlc.not_an_sdk_method()

def other(dataset):
    bucket = dataset.bucket
    bucket.startswith("x")
'''


def test_finder_follows_clients_aliases_and_oss2_helpers() -> None:
    calls = ram.find_calls_in_source(SAMPLE, "sample.py")
    assert [(c.product, c.method) for c in calls] == [
        ("eas", "create_service"), ("cms", "describe_metric_last"), ("fc", "invoke_function_with_options"),
        ("dsw", "stop_instance"), ("oss", "put_object"), ("oss", "ObjectIteratorV2"), ("eventbridge", "put_events"),
    ]
    actions = [a for c in calls for a, _ in ram.actions_of(c)]
    assert actions == ["eas:CreateService", "cms:DescribeMetricLast", "fc:InvokeFunction", "paidsw:StopInstance",
                       "oss:PutObject", "oss:ListObjects", "eventbridge:PutEvents"]


def test_a_new_sdk_call_shows_up_as_missing() -> None:
    calls = [c for c in ram.find_calls() if not ram.operator_only(c) and c.method != "release_service"]
    current = ram.build_policy(calls, ram.platform_grants())
    new = ram.Call("eas", "release_service", "shared/pai_autopilot/rollout/tick.py:1")
    missing, extra = ram.diff(current, ram.build_policy([*calls, new], ram.platform_grants()))
    assert missing == ["eas:ReleaseService on acs:eas:REGION:ACCOUNT_ID:service/*"] and not extra


def test_unmapped_oss2_method_is_an_error() -> None:
    with pytest.raises(ram.UnmappedCall, match="OSS_ACTIONS"):
        ram.actions_of(ram.Call("oss", "put_bucket_cors", "x.py:1"))


def test_render_fills_placeholders() -> None:
    policy = ram.render(json.loads(ram.FUNCTION_POLICY.read_text()), {"BUCKET": "b1", "ACCOUNT_ID": "123"})
    assert ("oss:GetObject", "acs:oss:*:123:b1/*") in ram.grants(policy)


HELPER = '''
from . import dsw

def list_running(client, workspace_id):
    from alibabacloud_pai_dsw20220101 import models
    return client.list_instances(models.ListInstancesRequest(workspace_id=workspace_id))

def stop(rt, instance_id):
    dsw.stop(rt, instance_id)          # our module `dsw`, not the client
    return {"a": 1}.get("a")
'''


def test_a_module_importing_an_sdk_counts_its_methods_on_any_receiver() -> None:
    calls = ram.find_calls_in_source(HELPER, "helper.py")
    assert [(c.product, c.method) for c in calls] == [("dsw", "list_instances")]
    assert ram.find_calls_in_source("from . import eas\ndef f(rt):\n    eas.describe_service(rt, 'x')\n", "y.py") == []
