"""OSS's HTTP layer: parse each request, call one backend method, serialize the answer as OSS does.

No validation happens here: values go to :class:`~localcloud.oss.models.OssBackend` as strings.
XML bodies carry exactly the elements ``oss2.xml_utils`` parsers require; object metadata
travels in headers (``ETag``, ``x-oss-hash-crc64ecma``, ``x-oss-meta-*``…).

Example
-------
>>> body = xml_document(element("LocationConstraint", "oss-cn-hangzhou"))
>>> body.decode().splitlines()[1]
'<LocationConstraint>oss-cn-hangzhou</LocationConstraint>'
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, unquote

from werkzeug.wrappers import Request, Response

from ..core.errors import ServiceError
from ..edge import raw_path_and_query
from . import exceptions as err
from .auth import SignedRequest
from .listing import ObjectList
from .models import Caller, OssBackend
from .responses_attributes import AttributesResponses
from .responses_more import MoreResponses
from .responses_multipart import MultipartResponses
from .responses_objects import ObjectResponses
from .storage import BucketInfo, ObjectMeta
from .urls import BUCKET, OBJECT, SERVICE
from .utils import iso8601, url_encode
from .xmlutil import XML_CONTENT_TYPE, element, xml_document
from .xmlutil import parse_xml as _parse_xml
from .xmlutil import text_of as _text
from .xmlutil import xml_response as _xml

#: Standard headers an upload may set and GET/HEAD return.
KEPT_HEADERS = ("Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires")
#: ``response-*`` query parameters of GetObject and the header each one overrides.
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type", "response-content-language": "Content-Language",
    "response-expires": "Expires", "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
}


def error_document(error: ServiceError, request_id: str, host_id: str) -> bytes:
    """``<Error><Code/><Message/><RequestId/><HostId/>…</Error>`` with the error's extra elements."""
    root = element("Error")
    for tag, text in (("Code", error.code), ("Message", error.message), ("RequestId", request_id),
                      ("HostId", host_id), *error.extra.items()):
        element(tag, text, root)
    return xml_document(root)


def error_response(error: ServiceError, request_id: str, *, host_id: str, method: str) -> Response:
    """The error as OSS sends it; a HEAD answer carries the document base64'd in ``x-oss-err``."""
    headers = {"x-oss-request-id": request_id, **error.headers}
    if error.status == 304:
        return Response(status=304, headers=headers)
    body = error_document(error, request_id, host_id)
    if method == "HEAD":
        headers["x-oss-err"] = base64.b64encode(body).decode("ascii")
        return Response(b"", status=error.status, headers=headers, content_type=XML_CONTENT_TYPE)
    return Response(body, status=error.status, headers=headers, content_type=XML_CONTENT_TYPE)


def _owner(parent: ET.Element, owner_id: str) -> None:
    owner = element("Owner", parent=parent)
    element("ID", owner_id, owner)
    element("DisplayName", owner_id, owner)


def _contents(parent: ET.Element, meta: ObjectMeta, encode: bool, owner_id: str | None) -> None:
    node = element("Contents", parent=parent)
    element("Key", url_encode(meta.key) if encode else meta.key, node)
    element("LastModified", iso8601(meta.last_modified), node)
    element("ETag", f'"{meta.etag}"', node)
    element("Type", meta.object_type, node)
    element("Size", meta.size, node)
    element("StorageClass", meta.storage_class, node)
    if owner_id is not None:
        _owner(node, owner_id)


def object_list_document(page: ObjectList, *, v2: bool) -> bytes:
    """``ListBucketResult`` of ListObjectsV2 (``v2``) or ListObjects."""
    encode = page.encoding_type == "url"

    def enc(value: str) -> str:
        return url_encode(value) if encode else value

    root = element("ListBucketResult")
    element("Name", page.bucket, root)
    element("Prefix", enc(page.prefix), root)
    if v2:
        if page.continuation_token:
            element("ContinuationToken", page.continuation_token, root)
    else:
        element("Marker", enc(page.marker), root)
    element("MaxKeys", page.max_keys, root)
    element("Delimiter", enc(page.delimiter), root)
    if v2 and page.start_after:
        element("StartAfter", enc(page.start_after), root)
    if encode:
        element("EncodingType", "url", root)
    element("IsTruncated", page.is_truncated, root)
    if page.is_truncated:
        element("NextContinuationToken" if v2 else "NextMarker", enc(page.next_marker), root)
    if v2:
        element("KeyCount", page.key_count, root)
    for meta in page.objects:
        _contents(root, meta, encode, page.owner_id if page.fetch_owner else None)
    for prefix in page.common_prefixes:
        element("Prefix", enc(prefix), element("CommonPrefixes", parent=root))
    return xml_document(root)


def _bucket_fields(parent: ET.Element, info: BucketInfo, region: str, endpoint: str) -> None:
    """The fields ListBuckets and GetBucketInfo share; both endpoints are localcloud's own
    ``host:port`` (as the request reached it), so a client built from them stays local."""
    element("CreationDate", iso8601(info.created), parent)
    element("ExtranetEndpoint", endpoint, parent)
    element("IntranetEndpoint", endpoint, parent)
    element("Location", f"oss-{region}", parent)
    element("Name", info.name, parent)
    element("Region", region, parent)
    element("StorageClass", info.storage_class, parent)


class OssRequest:
    """One OSS call, parsed: bucket and decoded key from the raw path, query pairs, headers, body."""

    def __init__(self, request: Request, request_id: str) -> None:
        self.request = request
        self.request_id = request_id
        self.method = request.method.upper()
        raw_path, raw_query = raw_path_and_query(request.environ)
        bucket, _, raw_key = raw_path.lstrip("/").partition("/")
        self.bucket = unquote(bucket)
        try:
            self.key = unquote(raw_key, errors="strict")
        except UnicodeDecodeError:
            raise err.invalid_object_name(raw_key, "The object name is not valid UTF-8.") from None
        self.shape = OBJECT if self.key else BUCKET if self.bucket else SERVICE
        self.query = parse_qsl(raw_query, keep_blank_values=True)
        self.params = dict(self.query)
        self.headers = request.headers
        self.body = request.get_data(cache=True)
        self.caller = Caller(request_id=request_id, source_ip=request.remote_addr or "")

    def signed(self) -> SignedRequest:
        return SignedRequest(self.method, self.bucket, self.key, self.query, self.headers.items(), self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def user_meta(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items() if name.lower().startswith("x-oss-meta-")}

    def kept_headers(self) -> dict[str, str]:
        return {name: self.headers[name] for name in KEPT_HEADERS if self.headers.get(name)}

    def form_fields(self) -> dict[str, str]:
        """A form upload's fields, names lower-cased (``MalformedPOSTRequest`` if not a form)."""
        if self.request.mimetype != "multipart/form-data":
            raise err.malformed_post_request()
        return {name.lower(): value for name, value in self.request.form.items()}

    def form_file(self) -> tuple[str, bytes]:
        """The form's ``file`` field: its file name and bytes."""
        for name, upload in self.request.files.items():
            if name.lower() == "file":
                return upload.filename or "", upload.read()
        if "file" in self.form_fields():
            return "", self.form_fields()["file"].encode("utf-8")
        raise err.malformed_post_request()

    def encode_keys(self) -> bool:
        return (self.params.get("encoding-type") or "").lower() == "url"

    @property
    def host_id(self) -> str:
        return self.request.host or "localhost"


class OssResponses(ObjectResponses, MultipartResponses, MoreResponses, AttributesResponses):
    """One method per OSS operation (named in :data:`~localcloud.oss.urls.ROUTES`); object reads
    and writes in :mod:`.responses_objects`, multipart ones in :mod:`.responses_multipart`,
    append, PostObject and lifecycle in :mod:`.responses_more`, ACLs, tags, symlinks and live
    channels in :mod:`.responses_attributes`."""

    def __init__(self, backend: OssBackend) -> None:
        self.backend = backend

    # -- service and buckets ---------------------------------------------------------------
    def list_buckets(self, req: OssRequest) -> Response:
        page = self.backend.list_buckets(
            prefix=req.params.get("prefix"), marker=req.params.get("marker"), max_keys=req.params.get("max-keys")
        )
        root = element("ListAllMyBucketsResult")
        _owner(root, page.owner_id)
        element("Prefix", page.prefix, root)
        element("Marker", page.marker, root)
        element("MaxKeys", page.max_keys, root)
        element("IsTruncated", page.is_truncated, root)
        if page.is_truncated:
            element("NextMarker", page.next_marker, root)
        buckets = element("Buckets", parent=root)
        for info in page.buckets:
            _bucket_fields(element("Bucket", parent=buckets), info, self.backend.region, req.host_id)
        return _xml(root)

    def create_bucket(self, req: OssRequest) -> Response:
        config = _parse_xml(req.body, "CreateBucketConfiguration") if req.body.strip() else None
        self.backend.create_bucket(
            req.bucket, acl=req.header("x-oss-acl"),
            storage_class=_text(config, "StorageClass"), redundancy=_text(config, "DataRedundancyType"),
        )
        return Response(b"", status=200, headers={"Location": f"/{req.bucket}"})

    def delete_bucket(self, req: OssRequest) -> Response:
        self.backend.delete_bucket(req.bucket)
        return Response(b"", status=204)

    def get_bucket_info(self, req: OssRequest) -> Response:
        info = self.backend.get_bucket_info(req.bucket)
        root = element("BucketInfo")
        bucket = element("Bucket", parent=root)
        element("AccessMonitor", "Disabled", bucket)
        _bucket_fields(bucket, info, self.backend.region, req.host_id)
        element("DataRedundancyType", info.redundancy, bucket)
        element("TransferAcceleration", "Disabled", bucket)
        element("CrossRegionReplication", "Disabled", bucket)
        element("ResourceGroupId", "rg-default", bucket)
        _owner(bucket, self.backend.account_id)
        element("Grant", info.acl, element("AccessControlList", parent=bucket))
        element("SSEAlgorithm", "None", element("ServerSideEncryptionRule", parent=bucket))
        return _xml(root)

    def get_bucket_location(self, req: OssRequest) -> Response:
        return _xml(element("LocationConstraint", self.backend.get_bucket_location(req.bucket)))

    def get_bucket_stat(self, req: OssRequest) -> Response:
        root = element("BucketStat")
        for tag, value in self.backend.get_bucket_stat(req.bucket).items():
            element(tag, value, root)
        return _xml(root)

    # -- listing ---------------------------------------------------------------------------
    def list_objects_v2(self, req: OssRequest) -> Response:
        p = req.params
        page = self.backend.list_objects_v2(
            req.bucket, prefix=p.get("prefix"), delimiter=p.get("delimiter"), max_keys=p.get("max-keys"),
            continuation_token=p.get("continuation-token"), start_after=p.get("start-after"),
            fetch_owner=p.get("fetch-owner"), encoding_type=p.get("encoding-type"),
        )
        return _xml(object_list_document(page, v2=True))

    def list_objects(self, req: OssRequest) -> Response:
        p = req.params
        page = self.backend.list_objects(
            req.bucket, prefix=p.get("prefix"), delimiter=p.get("delimiter"), marker=p.get("marker"),
            max_keys=p.get("max-keys"), encoding_type=p.get("encoding-type"),
        )
        return _xml(object_list_document(page, v2=False))
