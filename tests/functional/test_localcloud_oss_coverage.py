"""Every public method of ``oss2.Bucket`` and ``oss2.Service``, called through oss2 over the wire.

The methods are enumerated from oss2 itself, so a method added to oss2 fails this test until it
is classified. A method localcloud emulates must not be answered 501; every other one must be
answered 501 ``NotImplemented`` naming its OSS operation.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable
from typing import Any

import oss2
import pytest
from oss2 import models

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID as AK
from localcloud.core.credentials import LOCAL_ACCESS_KEY_SECRET as SK

#: Methods that answer without a 501 (some with an OSS error for the dummy arguments below).
EMULATED = {
    "list_buckets", "abort_multipart_upload", "append_object", "batch_delete_objects", "complete_multipart_upload",
    "copy_object", "create_bucket", "delete_bucket", "delete_bucket_lifecycle", "delete_object",
    "delete_object_tagging", "delete_object_versions", "get_bucket_acl", "get_bucket_info", "get_bucket_lifecycle",
    "get_bucket_location", "get_bucket_stat", "get_bucket_versioning", "get_object", "get_object_acl",
    "get_object_meta", "get_object_tagging", "get_object_to_file", "get_object_with_url",
    "get_object_with_url_to_file", "get_symlink", "head_object", "init_multipart_upload", "list_live_channel",
    "list_multipart_uploads", "list_objects", "list_objects_v2", "list_parts", "object_exists",
    "put_bucket_acl", "put_bucket_lifecycle", "put_bucket_versioning", "put_object", "put_object_acl",
    "put_object_from_file", "put_object_tagging", "put_object_with_url", "put_object_with_url_from_file",
    "put_symlink", "update_object_meta", "upload_part", "upload_part_copy",
}
#: Methods that make no request (URL signing).
CLIENT_ONLY = {"sign_url", "sign_rtmp_url"}
#: The OSS operation of each method whose name is not its oss2 name in CamelCase.
OPERATION = {
    "abort_bucket_worm": "AbortBucketWorm", "init_bucket_worm": "InitiateBucketWorm",
    "close_bucket_meta_query": "CloseMetaQuery", "open_bucket_meta_query": "OpenMetaQuery",
    "do_bucket_meta_query": "DoMetaQuery", "get_bucket_meta_query_status": "GetMetaQueryStatus",
    "create_bucket_cname_token": "CreateCnameToken", "get_bucket_cname_token": "GetCnameToken",
    "put_bucket_cname": "PutCname", "delete_bucket_cname": "DeleteCname", "list_bucket_cname": "ListCname",
    "delete_bucket_inventory_configuration": "DeleteBucketInventory",
    "get_bucket_inventory_configuration": "GetBucketInventory",
    "put_bucket_inventory_configuration": "PutBucketInventory",
    "list_bucket_inventory_configurations": "ListBucketInventory",
    "get_bucket_tagging": "GetBucketTags", "put_bucket_tagging": "PutBucketTags",
    "delete_bucket_tagging": "DeleteBucketTags", "get_bucket_style": "GetStyle", "put_bucket_style": "PutStyle",
    "delete_bucket_style": "DeleteStyle", "list_bucket_style": "ListStyle",
    "list_bucket_access_points": "ListAccessPoints", "get_bucket_storage_capacity": "GetBucketStorageCapacity",
    "set_bucket_storage_capacity": "PutBucketStorageCapacity", "create_live_channel": "PutLiveChannel",
    "get_live_channel": "GetLiveChannelInfo", "get_bucket_qos_info": "GetBucketQoSInfo",
    "put_bucket_qos_info": "PutBucketQoSInfo", "delete_bucket_qos_info": "DeleteBucketQoSInfo",
    "get_user_qos_info": "GetUserQoSInfo", "select_object_to_file": "SelectObject",
    "create_select_object_meta": "CreateSelectObjectMeta",
    "get_bucket_requester_qos_info": "GetBucketRequesterQoSInfo",
    "put_bucket_requester_qos_info": "PutBucketRequesterQoSInfo",
    "delete_bucket_requester_qos_info": "DeleteBucketRequesterQoSInfo",
    "list_bucket_requester_qos_infos": "ListBucketRequesterQoSInfos",
    "get_resource_pool_requester_qos_info": "GetResourcePoolRequesterQoSInfo",
    "put_resource_pool_requester_qos_info": "PutResourcePoolRequesterQoSInfo",
    "delete_resource_pool_requester_qos_info": "DeleteResourcePoolRequesterQoSInfo",
    "list_resource_pool_requester_qos_infos": "ListResourcePoolRequesterQoSInfos",
    "delete_public_access_block": "DeletePublicAccessBlock", "get_public_access_block": "GetPublicAccessBlock",
    "put_public_access_block": "PutPublicAccessBlock",
}
#: Argument values by parameter name (a method's own entry in OVERRIDES wins).
VALUES: dict[str, Any] = {
    "key": "k", "data": b"x", "position": 1, "upload_id": "U", "part_number": 1, "parts": [], "key_list": ["k"],
    "source_bucket_name": "bkt", "source_key": "k", "target_key": "k2", "headers": {}, "permission": "private",
    "channel_name": "ch", "symlink_key": "s", "target_key_symlink": "k", "target_upload_id": "U",
    "target_part_number": 1, "byte_range": (0, 0), "sql": "select * from ossobject", "expires": 60, "method": "GET",
    "process": "image/resize,w_10", "status": "Enabled", "start_time": 0, "end_time": 1,
    "playlist_name": "p.m3u8", "worm_id": "w", "tagging": models.Tagging(models.TaggingRule()),
    "input": "<x/>", "config": models.BucketVersioningConfig("Enabled"),
}
OVERRIDES: dict[str, Callable[[str], dict[str, Any]]] = {
    "put_resource_pool_requester_qos_info": lambda f: {"uid": "1", "resource_pool_name": "p",
                                                       "qos_configuration": models.QoSConfiguration(total_qps=1)},
    "put_bucket_requester_qos_info": lambda f: {"uid": "1", "qos_configuration": models.QoSConfiguration(total_qps=1)},
    "create_access_point": lambda f: {"accessPoint": models.CreateAccessPointRequest("ap", "internet")},
    "delete_object_versions": lambda f: {"keylist_versions": models.BatchDeleteObjectVersionList(
        [models.BatchDeleteObjectVersion("k")])},
    "put_async_fetch_task": lambda f: {"task_config": models.AsyncFetchTaskConfiguration("http://x/y", "o")},
    "put_bucket_callback_policy": lambda f: {"callbackPolicy": [models.CallbackPolicyInfo("p", "cb")]},
    "put_bucket_cname": lambda f: {"input": models.PutBucketCnameRequest("example.com")},
    "put_bucket_https_config": lambda f: {"httpsConfig": types.SimpleNamespace(tls_enabled=True, tls_version=[])},
    "put_bucket_inventory_configuration": lambda f: {
        "inventory_configuration": models.InventoryConfiguration("inv", True, "All")},
    "put_bucket_replication": lambda f: {"rule": models.ReplicationRule("r", "t", "oss-cn-hangzhou")},
    "set_bucket_storage_capacity": lambda f: {"user_qos": models.BucketUserQos(10)},
    "put_bucket_lifecycle": lambda f: {"input": models.BucketLifecycle(
        [models.LifecycleRule("r", "tmp/", expiration=models.LifecycleExpiration(days=1))])},
    "get_object_to_file": lambda f: {"key": "k", "filename": f},
    "put_object_from_file": lambda f: {"key": "k3", "filename": f},
    "put_symlink": lambda f: {"target_key": "k", "symlink_key": "s"},
    "extend_bucket_worm": lambda f: {"worm_id": "w", "retention_period_days": 1},
    "complete_bucket_worm": lambda f: {"worm_id": "w"},
}
URL_METHODS = {"get_object_with_url": "GET", "get_object_with_url_to_file": "GET", "put_object_with_url": "PUT",
               "put_object_with_url_from_file": "PUT"}
_NAMED = re.compile(r"localcloud does not implement ([A-Z][A-Za-z]+) \(")


def public_methods() -> list[tuple[str, str]]:
    return [
        (owner.__name__, name)
        for owner in (oss2.Service, oss2.Bucket)
        for name, _ in inspect.getmembers(owner, inspect.isfunction)
        if not name.startswith("_")
    ]


def arguments(owner: Any, name: str, bucket: oss2.Bucket, path: str) -> dict[str, Any]:
    if name in OVERRIDES:
        return OVERRIDES[name](path)
    if name in URL_METHODS:
        url = bucket.sign_url(URL_METHODS[name], "k", 60)
        return {"sign_url": url, **({"filename": path} if name.endswith("file") else {}),
                **({"data": b"x"} if name == "put_object_with_url" else {})}
    signature = inspect.signature(getattr(type(owner), name))
    required = [
        p for p in list(signature.parameters.values())[1:]
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return {p.name: path if p.name == "filename" else VALUES.get(p.name, "x") for p in required}


def camel(name: str) -> str:
    return "".join(word.capitalize() for word in name.split("_"))


def test_every_oss2_method_is_emulated_or_answered_501_with_its_operation(cloud: LocalCloud, tmp_path: Any) -> None:
    # given a bucket holding an object and a file to upload, and every public oss2 method
    auth = oss2.Auth(AK, SK)
    service = oss2.Service(auth, cloud.url)
    bucket = oss2.Bucket(auth, cloud.url, "bkt")
    path = str(tmp_path / "f.bin")
    (tmp_path / "f.bin").write_bytes(b"x")
    methods = public_methods()
    assert len(methods) > 150  # oss2 2.19.1 has 169
    names = {name for _, name in methods}
    assert (EMULATED | CLIENT_ONLY | set(OPERATION)) - names == set()  # no stale entry

    # when each is called (the bucket's deletion last, each on a fresh bucket)
    answered_501: dict[str, str] = {}
    other: dict[str, str] = {}
    for owner_name, name in sorted(methods, key=lambda m: m[1] == "delete_bucket"):
        if name in CLIENT_ONLY:
            continue
        bucket.create_bucket()
        bucket.put_object("k", b"x")
        owner = service if owner_name == "Service" else bucket
        try:
            getattr(owner, name)(**arguments(owner, name, bucket, path))
        except oss2.exceptions.OssError as exc:
            if exc.status == 501:
                answered_501[name] = f"{exc.code}: {exc.message}"
            elif exc.status in (405, -2) or exc.status >= 500:
                other[name] = f"{exc.status} {exc.code} {exc.message}"

    # then no emulated method is refused, every other one is 501 naming its own operation
    assert other == {}
    assert sorted(set(answered_501) & EMULATED) == []
    expected_501 = names - EMULATED - CLIENT_ONLY
    assert sorted(expected_501 - set(answered_501)) == []
    for name, answer in answered_501.items():
        assert answer.startswith("NotImplemented: A header you provided implies functionality that is not implemented")
        named = _NAMED.search(answer)
        assert named is not None, (name, answer)
        assert named.group(1) == OPERATION.get(name, camel(name)), (name, answer)


@pytest.mark.parametrize("method", ["get_bucket_cors", "put_bucket_tagging", "get_bucket_worm"])
def test_a_missing_bucket_is_no_such_bucket_before_not_implemented(cloud: LocalCloud, method: str) -> None:
    # given a bucket that does not exist, when an operation localcloud does not emulate is asked of it
    ghost = oss2.Bucket(oss2.Auth(AK, SK), cloud.url, "ghost-bucket")
    args = {"tagging": VALUES["tagging"]} if method == "put_bucket_tagging" else {}

    # then NoSuchBucket, as OSS answers
    with pytest.raises(oss2.exceptions.NoSuchBucket) as exc:
        getattr(ghost, method)(**args)
    assert (exc.value.status, exc.value.code) == (404, "NoSuchBucket")
