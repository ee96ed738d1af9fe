"""The HTTP layer of AppendObject, PostObject and the bucket lifecycle operations.

AppendObject answers ``x-oss-next-append-position`` and ``x-oss-hash-crc64ecma`` (what
``oss2.models.AppendObjectResult`` reads). PostObject answers 204 by default, 200 or 201 (with a
``PostResponse`` document) when the form's ``success_action_status`` asks. GetBucketLifecycle
returns the stored ``LifecycleConfiguration``.

Example
-------
>>> post_response_status({"success_action_status": "201"}), post_response_status({})
(201, 204)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from .utils import url_encode
from .xmlutil import element, parse_xml, xml_response

if TYPE_CHECKING:
    from .models import OssBackend
    from .responses import OssRequest


def post_response_status(fields: Mapping[str, str]) -> int:
    """The status PostObject answers with: ``success_action_status`` if 200 or 201, else 204."""
    wanted = fields.get("success_action_status", "")
    return int(wanted) if wanted in ("200", "201") else 204


class MoreResponses:
    """AppendObject, PostObject, Put/Get/DeleteBucketLifecycle."""

    backend: OssBackend

    def append_object(self, req: OssRequest) -> Response:
        meta = self.backend.append_object(
            req.bucket, req.key, req.params.get("position"), req.body, content_type=req.header("Content-Type"),
            content_md5=req.header("Content-MD5"), user_meta=req.user_meta(), headers=req.kept_headers(),
            storage_class=req.header("x-oss-storage-class"), object_acl=req.header("x-oss-object-acl"),
            tagging=req.header("x-oss-tagging"), caller=req.caller,
        )
        return Response(b"", status=200, headers={
            "ETag": f'"{meta.etag}"', "x-oss-next-append-position": str(meta.size),
            "x-oss-hash-crc64ecma": str(meta.crc64),
        })

    def post_object(self, req: OssRequest) -> Response:
        fields = req.form_fields()
        filename, data = req.form_file()
        meta = self.backend.post_object(req.bucket, fields, filename, data, caller=req.caller)
        status = post_response_status(fields)
        location = f"http://{req.host_id}/{req.bucket}/{url_encode(meta.key)}"
        headers = {"ETag": f'"{meta.etag}"', "x-oss-hash-crc64ecma": str(meta.crc64), "Location": location}
        if status != 201:
            return Response(b"", status=status, headers=headers)
        root = element("PostResponse")
        element("Bucket", req.bucket, root)
        element("Location", location, root)
        element("Key", meta.key, root)
        element("ETag", f'"{meta.etag}"', root)
        response = xml_response(root, status=201)
        response.headers.update(headers)
        return response

    def put_bucket_lifecycle(self, req: OssRequest) -> Response:
        self.backend.put_bucket_lifecycle(req.bucket, parse_xml(req.body, "LifecycleConfiguration"))
        return Response(b"", status=200)

    def get_bucket_lifecycle(self, req: OssRequest) -> Response:
        return xml_response(self.backend.get_bucket_lifecycle(req.bucket))

    def delete_bucket_lifecycle(self, req: OssRequest) -> Response:
        self.backend.delete_bucket_lifecycle(req.bucket)
        return Response(b"", status=204)

    def put_bucket_versioning(self, req: OssRequest) -> Response:
        root = parse_xml(req.body, "VersioningConfiguration")
        self.backend.put_bucket_versioning(req.bucket, (root.findtext("Status") or "").strip())
        return Response(b"", status=200)

    def get_bucket_versioning(self, req: OssRequest) -> Response:
        root = element("VersioningConfiguration")
        status = self.backend.get_bucket_versioning(req.bucket)
        if status:
            element("Status", status, root)
        return xml_response(root)
