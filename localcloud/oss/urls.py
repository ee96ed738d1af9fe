"""OSS routing: a declarative table from (method, resource shape, selecting subresource) to an action.

Each route names its OSS API operation (``PutObject``, ``InitiateMultipartUpload``…), which is
what fault injection matches on, and how it is authenticated: by the request's signature
(``header``: the ``Authorization`` header or a presigned URL) or, for PostObject, by the policy
signature in its form fields (``form``).

A request's *shape* is ``service`` (``/``), ``bucket`` (``/<bucket>/``) or ``object``
(``/<bucket>/<key>``). Its *selector* is the subresource query parameter naming an operation
(``?bucketInfo``, ``?delete``, ``?list-type=2``…); parameters that only modify an operation
(``response-content-type``, ``continuation-token``…) select nothing. A route without selector
only matches requests without one, so an unsupported subresource is never mistaken for a plain
GET: it is answered ``NotImplemented``, naming the OSS operation (:mod:`.operations`); a
method that no route of the resource takes without a subresource is ``MethodNotAllowed``.

Example
-------
>>> match_route("GET", BUCKET, {"list-type": "2", "prefix": ""}, {}).action
'list_objects_v2'
>>> match_route("HEAD", OBJECT, {"objectMeta": ""}, {}).action
'get_object_meta'
>>> match_route("PUT", OBJECT, {"uploadId": "U", "partNumber": "1"}, {}).operation
'UploadPart'
>>> try:
...     match_route("POST", OBJECT, {}, {})
... except Exception as exc:
...     print(exc.code, exc.status)
MethodNotAllowed 405
"""

from __future__ import annotations

import dataclasses
from collections.abc import Container, Mapping

from . import exceptions as err
from .auth import SUBRESOURCES
from .operations import EXTRA_SELECTORS, operation_of

SERVICE, BUCKET, OBJECT = "service", "bucket", "object"
HEADER, FORM = "header", "form"


@dataclasses.dataclass(frozen=True)
class Route:
    """``action`` (a method of :class:`~localcloud.oss.responses.OssResponses`) serves requests with
    this method and shape whose selector is ``selector`` and that carry ``header`` (when given);
    ``operation`` is the OSS API name, ``auth`` how the caller is authenticated."""

    method: str
    shape: str
    action: str
    operation: str
    selector: str | None = None
    header: str | None = None
    auth: str = HEADER


ROUTES: tuple[Route, ...] = (
    Route("GET", SERVICE, "list_buckets", "ListBuckets"),
    Route("PUT", BUCKET, "create_bucket", "PutBucket"),
    Route("DELETE", BUCKET, "delete_bucket", "DeleteBucket"),
    Route("GET", BUCKET, "list_objects_v2", "ListObjectsV2", selector="list-type"),
    Route("GET", BUCKET, "list_objects", "ListObjects"),
    Route("GET", BUCKET, "get_bucket_info", "GetBucketInfo", selector="bucketInfo"),
    Route("GET", BUCKET, "get_bucket_location", "GetBucketLocation", selector="location"),
    Route("GET", BUCKET, "get_bucket_stat", "GetBucketStat", selector="stat"),
    Route("POST", BUCKET, "delete_objects", "DeleteMultipleObjects", selector="delete"),
    Route("GET", BUCKET, "list_multipart_uploads", "ListMultipartUploads", selector="uploads"),
    Route("PUT", BUCKET, "put_bucket_lifecycle", "PutBucketLifecycle", selector="lifecycle"),
    Route("GET", BUCKET, "get_bucket_lifecycle", "GetBucketLifecycle", selector="lifecycle"),
    Route("DELETE", BUCKET, "delete_bucket_lifecycle", "DeleteBucketLifecycle", selector="lifecycle"),
    Route("PUT", BUCKET, "put_bucket_versioning", "PutBucketVersioning", selector="versioning"),
    Route("GET", BUCKET, "get_bucket_versioning", "GetBucketVersioning", selector="versioning"),
    Route("GET", BUCKET, "get_bucket_acl", "GetBucketAcl", selector="acl"),
    Route("PUT", BUCKET, "put_bucket_acl", "PutBucketAcl", selector="acl"),
    Route("GET", BUCKET, "list_live_channels", "ListLiveChannel", selector="live"),
    Route("POST", BUCKET, "post_object", "PostObject", auth=FORM),
    Route("PUT", OBJECT, "copy_object", "CopyObject", header="x-oss-copy-source"),
    Route("PUT", OBJECT, "put_object", "PutObject"),
    Route("GET", OBJECT, "get_object", "GetObject"),
    Route("HEAD", OBJECT, "head_object", "HeadObject"),
    Route("HEAD", OBJECT, "get_object_meta", "GetObjectMeta", selector="objectMeta"),
    Route("DELETE", OBJECT, "delete_object", "DeleteObject"),
    Route("POST", OBJECT, "append_object", "AppendObject", selector="append"),
    Route("POST", OBJECT, "initiate_multipart_upload", "InitiateMultipartUpload", selector="uploads"),
    Route("PUT", OBJECT, "upload_part_copy", "UploadPartCopy", selector="uploadId", header="x-oss-copy-source"),
    Route("PUT", OBJECT, "upload_part", "UploadPart", selector="uploadId"),
    Route("POST", OBJECT, "complete_multipart_upload", "CompleteMultipartUpload", selector="uploadId"),
    Route("DELETE", OBJECT, "abort_multipart_upload", "AbortMultipartUpload", selector="uploadId"),
    Route("GET", OBJECT, "list_parts", "ListParts", selector="uploadId"),
    Route("GET", OBJECT, "get_object_acl", "GetObjectACL", selector="acl"),
    Route("PUT", OBJECT, "put_object_acl", "PutObjectACL", selector="acl"),
    Route("PUT", OBJECT, "put_object_tagging", "PutObjectTagging", selector="tagging"),
    Route("GET", OBJECT, "get_object_tagging", "GetObjectTagging", selector="tagging"),
    Route("DELETE", OBJECT, "delete_object_tagging", "DeleteObjectTagging", selector="tagging"),
    Route("PUT", OBJECT, "put_symlink", "PutSymlink", selector="symlink"),
    Route("GET", OBJECT, "get_symlink", "GetSymlink", selector="symlink"),
)

#: Subresources that modify an operation instead of selecting one.
MODIFIERS = frozenset({
    "response-cache-control", "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires", "continuation-token",
    "security-token", "versionId", "position", "x-oss-traffic-limit", "x-oss-request-payer",
    "x-oss-ac-forward-allow", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id",
})
_RESOURCE_TYPES = {SERVICE: "Service", BUCKET: "Bucket", OBJECT: "Object"}


def selectors_of(params: Mapping[str, str]) -> set[str]:
    """The operation-selecting parameters among a request's query parameters."""
    return {name for name in params if (name in SUBRESOURCES and name not in MODIFIERS) or name in EXTRA_SELECTORS}


def match_route(method: str, shape: str, params: Mapping[str, str], headers: Container[str]) -> Route:
    """The route for a request, or ``MethodNotAllowed`` / ``NotImplemented``.

    ``headers`` must answer ``in`` case-insensitively (werkzeug's ``Headers`` does).
    """
    selectors = selectors_of(params)
    for route in ROUTES:
        if route.method != method or route.shape != shape:
            continue
        if route.header is not None and route.header not in headers:
            continue
        if route.selector is None and selectors:
            continue
        if route.selector is not None and route.selector not in selectors:
            continue
        return route
    if selectors:
        request = f"{method} {_RESOURCE_TYPES[shape]} ?{'&'.join(sorted(selectors))}"
        operation = operation_of(method, shape, params)
        raise err.not_implemented(f"{operation} ({request})" if operation else request)
    raise err.method_not_allowed(method, _RESOURCE_TYPES[shape])
