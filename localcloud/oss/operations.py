"""OSS operations localcloud does not emulate, by request shape, so a 501 names the operation.

Each entry is ``(method, shape, selector)`` → the OSS API name; ``selector`` is the query
parameters that pick the operation, ``&``-joined, each ``name`` (present) or ``name=value``
(equal). The most specific entry that matches wins, so ``?cname&comp=token`` names
``CreateCnameToken`` and plain ``?cname`` names ``ListCname``. The shapes are those oss2 2.19.1
sends (``oss2.api.Bucket`` / ``oss2.api.Service``).

Example
-------
>>> operation_of("POST", "bucket", {"cname": "", "comp": "token"})
'CreateCnameToken'
>>> operation_of("GET", "bucket", {"cname": ""})
'ListCname'
>>> operation_of("GET", "object", {"x-oss-process": "image/resize,w_1"})
'ProcessObject'
>>> operation_of("GET", "bucket", {"unheardOf": ""}) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping

S, B, O = "service", "bucket", "object"  # noqa: E741 - shapes, as in .urls

#: Query parameters that select an operation although oss2 does not sign them as subresources.
EXTRA_SELECTORS = frozenset({"regions", "accessmonitor", "list-type"})


def _crud(shape: str, selector: str, noun: str, methods: str = "GET PUT DELETE") -> list[tuple[str, str, str, str]]:
    verbs = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "POST": "Post"}
    return [(method, shape, selector, verbs[method] + noun) for method in methods.split()]


UNIMPLEMENTED: tuple[tuple[str, str, str, str], ...] = (
    # -- service --------------------------------------------------------------------------
    ("GET", S, "regions", "DescribeRegions"),
    *_crud(S, "publicAccessBlock", "PublicAccessBlock"),
    ("GET", S, "resourcePoolInfo", "GetResourcePoolInfo"),
    *_crud(S, "requesterQosInfo&qosRequester", "ResourcePoolRequesterQoSInfo"),
    ("GET", S, "requesterQosInfo", "ListResourcePoolRequesterQoSInfos"),
    ("GET", S, "qosInfo", "GetUserQoSInfo"),
    ("GET", S, "accessPoint", "ListAccessPoints"),
    ("GET", S, "resourcePoolBuckets", "ListResourcePoolBuckets"),
    ("GET", S, "resourcePool", "ListResourcePools"),
    ("GET", S, "redundancyTransition", "ListUserDataRedundancyTransition"),
    ("POST", S, "x-oss-write-get-object-response", "WriteGetObjectResponse"),
    # -- bucket ---------------------------------------------------------------------------
    ("POST", B, "worm", "InitiateBucketWorm"),
    ("DELETE", B, "worm", "AbortBucketWorm"),
    ("GET", B, "worm", "GetBucketWorm"),
    ("POST", B, "wormId", "CompleteBucketWorm"),
    ("POST", B, "wormExtend&wormId", "ExtendBucketWorm"),
    ("GET", B, "metaQuery", "GetMetaQueryStatus"),
    ("POST", B, "metaQuery&comp=add", "OpenMetaQuery"),
    ("POST", B, "metaQuery&comp=query", "DoMetaQuery"),
    ("POST", B, "metaQuery&comp=delete", "CloseMetaQuery"),
    ("GET", B, "cname", "ListCname"),
    ("POST", B, "cname&comp=token", "CreateCnameToken"),
    ("GET", B, "cname&comp=token", "GetCnameToken"),
    ("POST", B, "cname&comp=add", "PutCname"),
    ("POST", B, "cname&comp=delete", "DeleteCname"),
    ("POST", B, "redundancyTransition", "CreateBucketDataRedundancyTransition"),
    ("DELETE", B, "redundancyTransition", "DeleteBucketDataRedundancyTransition"),
    ("GET", B, "redundancyTransition", "ListBucketDataRedundancyTransition"),
    ("GET", B, "redundancyTransition&x-oss-redundancy-transition-taskid", "GetBucketDataRedundancyTransition"),
    ("PUT", B, "accessPoint", "CreateAccessPoint"),
    ("GET", B, "accessPoint", "GetAccessPoint"),
    ("GET", B, "accessPoint&max-keys", "ListAccessPoints"),
    ("DELETE", B, "accessPoint", "DeleteAccessPoint"),
    *_crud(B, "accessPointPolicy", "AccessPointPolicy"),
    *_crud(B, "publicAccessBlock", "BucketPublicAccessBlock"),
    *_crud(B, "publicAccessBlock&x-oss-access-point-name", "AccessPointPublicAccessBlock"),
    *_crud(B, "policy", "BucketPolicy"),
    *_crud(B, "policy&comp=callback", "BucketCallbackPolicy"),
    *_crud(B, "cors", "BucketCors"),
    *_crud(B, "encryption", "BucketEncryption"),
    *_crud(B, "inventory&inventoryId", "BucketInventory"),
    ("GET", B, "inventory", "ListBucketInventory"),
    *_crud(B, "logging", "BucketLogging"),
    *_crud(B, "qosInfo", "BucketQoSInfo"),
    ("GET", B, "replication", "GetBucketReplication"),
    ("POST", B, "replication&comp=add", "PutBucketReplication"),
    ("POST", B, "replication&comp=delete", "DeleteBucketReplication"),
    ("GET", B, "replicationLocation", "GetBucketReplicationLocation"),
    ("GET", B, "replicationProgress", "GetBucketReplicationProgress"),
    *_crud(B, "requesterQosInfo&qosRequester", "BucketRequesterQoSInfo"),
    ("GET", B, "requesterQosInfo", "ListBucketRequesterQoSInfos"),
    *_crud(B, "style&styleName", "Style"),
    ("GET", B, "style", "ListStyle"),
    ("GET", B, "tagging", "GetBucketTags"),
    ("PUT", B, "tagging", "PutBucketTags"),
    ("DELETE", B, "tagging", "DeleteBucketTags"),
    *_crud(B, "website", "BucketWebsite"),
    ("GET", B, "asyncFetch", "GetAsyncFetchTask"),
    ("POST", B, "asyncFetch", "PutAsyncFetchTask"),
    *_crud(B, "accessmonitor", "BucketAccessMonitor", "GET PUT"),
    *_crud(B, "bucketArchiveDirectRead", "BucketArchiveDirectRead", "GET PUT"),
    *_crud(B, "httpsConfig", "BucketHttpsConfig", "GET PUT"),
    *_crud(B, "referer", "BucketReferer", "GET PUT"),
    *_crud(B, "requestPayment", "BucketRequestPayment", "GET PUT"),
    *_crud(B, "resourceGroup", "BucketResourceGroup", "GET PUT"),
    *_crud(B, "qos", "BucketStorageCapacity", "GET PUT"),
    *_crud(B, "transferAcceleration", "BucketTransferAcceleration", "GET PUT"),
    ("GET", B, "versions", "ListObjectVersions"),
    # -- object ---------------------------------------------------------------------------
    ("POST", O, "x-oss-async-process", "AsyncProcessObject"),
    ("GET", O, "x-oss-process", "ProcessObject"),
    ("POST", O, "x-oss-process", "ProcessObject"),
    ("POST", O, "x-oss-process=csv/meta", "CreateSelectObjectMeta"),
    ("POST", O, "x-oss-process=json/meta", "CreateSelectObjectMeta"),
    ("POST", O, "x-oss-process=csv/select", "SelectObject"),
    ("POST", O, "x-oss-process=json/select", "SelectObject"),
    ("PUT", O, "live", "PutLiveChannel"),
    ("GET", O, "live", "GetLiveChannelInfo"),
    ("DELETE", O, "live", "DeleteLiveChannel"),
    ("PUT", O, "live&status", "PutLiveChannelStatus"),
    ("GET", O, "live&comp=history", "GetLiveChannelHistory"),
    ("GET", O, "live&comp=stat", "GetLiveChannelStat"),
    ("GET", O, "vod", "GetVodPlaylist"),
    ("POST", O, "vod", "PostVodPlaylist"),
    ("POST", O, "restore", "RestoreObject"),
)


def _parts(selector: str) -> list[tuple[str, str | None]]:
    return [(name, value if sep else None) for name, sep, value in (p.partition("=") for p in selector.split("&"))]


_INDEX: dict[tuple[str, str], list[tuple[list[tuple[str, str | None]], str]]] = {}
for _method, _shape, _selector, _name in UNIMPLEMENTED:
    _INDEX.setdefault((_method, _shape), []).append((_parts(_selector), _name))
for _entries in _INDEX.values():
    _entries.sort(key=lambda entry: (-len(entry[0]), -sum(v is not None for _, v in entry[0])))  # most specific first


def operation_of(method: str, shape: str, params: Mapping[str, str]) -> str | None:
    """The OSS operation an unrouted request asks for, or ``None`` if it names none we know."""
    for parts, name in _INDEX.get((method, shape), ()):
        if all(key in params and (value is None or params[key] == value) for key, value in parts):
            return name
    return None
