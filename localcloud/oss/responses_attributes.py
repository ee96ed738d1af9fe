"""The HTTP layer of ACLs, object tagging, symlinks and ListLiveChannel.

Documents carry what ``oss2.xml_utils`` reads: ``AccessControlPolicy/AccessControlList/Grant``
for both ACLs, ``Tagging/TagSet/Tag`` for tags, the ``x-oss-symlink-target`` header (URL-encoded)
for GetSymlink, and an empty ``ListLiveChannelResult`` (live channels are not emulated, and
having none is a correct answer).

Example
-------
>>> acl_document("1", "public-read").decode().count("<Grant>public-read</Grant>")
1
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from werkzeug.wrappers import Response

from .tagging import parse_tagging_document
from .utils import http_date
from .xmlutil import element, parse_xml, xml_document, xml_response

if TYPE_CHECKING:
    from .models import OssBackend
    from .responses import OssRequest


def acl_document(owner_id: str, grant: str) -> bytes:
    root = element("AccessControlPolicy")
    owner = element("Owner", parent=root)
    element("ID", owner_id, owner)
    element("DisplayName", owner_id, owner)
    element("Grant", grant, element("AccessControlList", parent=root))
    return xml_document(root)


class AttributesResponses:
    """Put/GetBucketAcl, Put/GetObjectACL, Put/Get/DeleteObjectTagging, Put/GetSymlink, ListLiveChannel."""

    backend: OssBackend

    def put_bucket_acl(self, req: OssRequest) -> Response:
        self.backend.put_bucket_acl(req.bucket, req.header("x-oss-acl"))
        return Response(b"", status=200)

    def get_bucket_acl(self, req: OssRequest) -> Response:
        return xml_response(acl_document(self.backend.account_id, self.backend.get_bucket_acl(req.bucket)))

    def put_object_acl(self, req: OssRequest) -> Response:
        self.backend.put_object_acl(req.bucket, req.key, req.header("x-oss-object-acl"))
        return Response(b"", status=200)

    def get_object_acl(self, req: OssRequest) -> Response:
        return xml_response(acl_document(self.backend.account_id, self.backend.get_object_acl(req.bucket, req.key)))

    def put_object_tagging(self, req: OssRequest) -> Response:
        tags = parse_tagging_document(parse_xml(req.body, "Tagging"))
        self.backend.put_object_tagging(req.bucket, req.key, tags)
        return Response(b"", status=200)

    def get_object_tagging(self, req: OssRequest) -> Response:
        root = element("Tagging")
        tag_set = element("TagSet", parent=root)
        for key, value in self.backend.get_object_tagging(req.bucket, req.key).items():
            tag = element("Tag", parent=tag_set)
            element("Key", key, tag)
            element("Value", value, tag)
        return xml_response(root)

    def delete_object_tagging(self, req: OssRequest) -> Response:
        self.backend.delete_object_tagging(req.bucket, req.key)
        return Response(b"", status=204)

    def put_symlink(self, req: OssRequest) -> Response:
        meta = self.backend.put_symlink(
            req.bucket, req.key, unquote(req.header("x-oss-symlink-target") or ""),
            content_type=req.header("Content-Type"), user_meta=req.user_meta(),
            forbid_overwrite=req.header("x-oss-forbid-overwrite"), storage_class=req.header("x-oss-storage-class"),
            object_acl=req.header("x-oss-object-acl"), tagging=req.header("x-oss-tagging"), caller=req.caller,
        )
        return Response(b"", status=200, headers={"ETag": f'"{meta.etag}"'})

    def get_symlink(self, req: OssRequest) -> Response:
        meta = self.backend.get_symlink(req.bucket, req.key)
        return Response(b"", status=200, headers={
            "x-oss-symlink-target": quote(meta.symlink_target, safe=""), "ETag": f'"{meta.etag}"',
            "Last-Modified": http_date(meta.last_modified),
        })

    def list_live_channels(self, req: OssRequest) -> Response:
        self.backend.bucket(req.bucket)
        root = element("ListLiveChannelResult")
        element("Prefix", req.params.get("prefix", ""), root)
        element("Marker", req.params.get("marker", ""), root)
        element("MaxKeys", req.params.get("max-keys") or "100", root)
        element("IsTruncated", False, root)
        element("NextMarker", "", root)
        return xml_response(root)
