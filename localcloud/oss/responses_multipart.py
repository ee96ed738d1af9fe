"""The HTTP layer of multipart upload: parse each request, serialize each answer as OSS does.

The XML carries what ``oss2.xml_utils`` requires: ``UploadId`` (initiate); ``IsTruncated``,
``NextPartNumberMarker`` and per part ``PartNumber``, ``ETag``, ``Size``, ``LastModified``
(ListParts); ``IsTruncated``, ``NextKeyMarker``, ``NextUploadIdMarker`` and per upload ``Key``,
``UploadId``, ``Initiated`` (ListMultipartUploads). UploadPart and CompleteMultipartUpload
answer ``ETag`` and ``x-oss-hash-crc64ecma`` headers, which oss2 checks against its own CRC.

Example
-------
>>> from .parts import PartMeta
>>> root = element("ListPartsResult")
>>> part_element(root, PartMeta(1, 3, "ABC", 7, 0.0))
>>> [child.tag for child in root.find("Part")]
['PartNumber', 'LastModified', 'ETag', 'HashCrc64ecma', 'Size']
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from .parts import PartMeta
from .utils import iso8601, split_copy_source, url_encode
from .xmlutil import element, parse_xml, text_of, xml_response

if TYPE_CHECKING:
    from .models import OssBackend
    from .responses import OssRequest


def part_element(parent: ET.Element, part: PartMeta) -> None:
    node = element("Part", parent=parent)
    element("PartNumber", part.number, node)
    element("LastModified", iso8601(part.last_modified), node)
    element("ETag", f'"{part.etag}"', node)
    element("HashCrc64ecma", part.crc64, node)
    element("Size", part.size, node)


def _part_headers(part: PartMeta) -> dict[str, str]:
    return {"ETag": f'"{part.etag}"', "x-oss-hash-crc64ecma": str(part.crc64)}


class MultipartResponses:
    """InitiateMultipartUpload, UploadPart(Copy), Complete/AbortMultipartUpload, ListParts, ListMultipartUploads."""

    backend: OssBackend

    def initiate_multipart_upload(self, req: OssRequest) -> Response:
        upload = self.backend.initiate_multipart_upload(
            req.bucket, req.key, content_type=req.header("Content-Type"), user_meta=req.user_meta(),
            headers=req.kept_headers(), forbid_overwrite=req.header("x-oss-forbid-overwrite"),
            storage_class=req.header("x-oss-storage-class"), object_acl=req.header("x-oss-object-acl"),
            tagging=req.header("x-oss-tagging"),
        )
        root = element("InitiateMultipartUploadResult")
        element("Bucket", req.bucket, root)
        element("Key", url_encode(upload.key) if req.encode_keys() else upload.key, root)
        element("UploadId", upload.upload_id, root)
        if req.encode_keys():
            element("EncodingType", "url", root)
        return xml_response(root)

    def upload_part(self, req: OssRequest) -> Response:
        part = self.backend.upload_part(
            req.bucket, req.key, req.params.get("uploadId"), req.params.get("partNumber"), req.body,
            content_md5=req.header("Content-MD5"),
        )
        headers = _part_headers(part)
        if req.header("Content-MD5"):
            headers["Content-MD5"] = req.header("Content-MD5") or ""
        return Response(b"", status=200, headers=headers)

    def upload_part_copy(self, req: OssRequest) -> Response:
        source_bucket, source_key = split_copy_source(req.header("x-oss-copy-source"))
        part = self.backend.upload_part_copy(
            req.bucket, req.key, req.params.get("uploadId"), req.params.get("partNumber"), source_bucket, source_key,
            source_range=req.header("x-oss-copy-source-range"),
        )
        root = element("CopyPartResult")
        element("LastModified", iso8601(part.last_modified), root)
        element("ETag", f'"{part.etag}"', root)
        response = xml_response(root)
        response.headers.update(_part_headers(part))
        return response

    def complete_multipart_upload(self, req: OssRequest) -> Response:
        listed = None
        if req.body.strip():
            document = parse_xml(req.body, "CompleteMultipartUpload")
            listed = [(text_of(p, "PartNumber") or "", text_of(p, "ETag") or "") for p in document.findall("Part")]
        meta = self.backend.complete_multipart_upload(
            req.bucket, req.key, req.params.get("uploadId"), listed, complete_all=req.header("x-oss-complete-all"),
            forbid_overwrite=req.header("x-oss-forbid-overwrite"), caller=req.caller,
        )
        key = url_encode(meta.key) if req.encode_keys() else meta.key
        root = element("CompleteMultipartUploadResult")
        if req.encode_keys():
            element("EncodingType", "url", root)
        element("Location", f"http://{req.host_id}/{req.bucket}/{url_encode(meta.key)}", root)
        element("Bucket", req.bucket, root)
        element("Key", key, root)
        element("ETag", f'"{meta.etag}"', root)
        response = xml_response(root)
        response.headers.update({"ETag": f'"{meta.etag}"', "x-oss-hash-crc64ecma": str(meta.crc64)})
        return response

    def abort_multipart_upload(self, req: OssRequest) -> Response:
        self.backend.abort_multipart_upload(req.bucket, req.key, req.params.get("uploadId"))
        return Response(b"", status=204)

    def list_parts(self, req: OssRequest) -> Response:
        page = self.backend.list_parts(
            req.bucket, req.key, req.params.get("uploadId"), max_parts=req.params.get("max-parts"),
            part_number_marker=req.params.get("part-number-marker"),
        )
        root = element("ListPartsResult")
        if req.encode_keys():
            element("EncodingType", "url", root)
        element("Bucket", req.bucket, root)
        element("Key", url_encode(page.upload.key) if req.encode_keys() else page.upload.key, root)
        element("UploadId", page.upload.upload_id, root)
        element("StorageClass", page.upload.template.storage_class, root)
        element("PartNumberMarker", page.marker, root)
        element("NextPartNumberMarker", page.next_marker, root)
        element("MaxParts", page.max_parts, root)
        element("IsTruncated", page.is_truncated, root)
        for part in page.parts:
            part_element(root, part)
        return xml_response(root)

    def list_multipart_uploads(self, req: OssRequest) -> Response:
        p = req.params
        page = self.backend.list_multipart_uploads(
            req.bucket, prefix=p.get("prefix"), delimiter=p.get("delimiter"), key_marker=p.get("key-marker"),
            upload_id_marker=p.get("upload-id-marker"), max_uploads=p.get("max-uploads"),
            encoding_type=p.get("encoding-type"),
        )
        encode = page.encoding_type == "url"

        def enc(value: str) -> str:
            return url_encode(value) if encode else value

        root = element("ListMultipartUploadsResult")
        element("Bucket", req.bucket, root)
        if encode:
            element("EncodingType", "url", root)
        element("KeyMarker", enc(page.key_marker), root)
        element("UploadIdMarker", page.upload_id_marker, root)
        element("NextKeyMarker", enc(page.next_key_marker), root)
        element("NextUploadIdMarker", page.next_upload_id_marker, root)
        element("Delimiter", enc(page.delimiter), root)
        element("Prefix", enc(page.prefix), root)
        element("MaxUploads", page.max_uploads, root)
        element("IsTruncated", page.is_truncated, root)
        for upload in page.uploads:
            node = element("Upload", parent=root)
            element("Key", enc(upload.key), node)
            element("UploadId", upload.upload_id, node)
            element("StorageClass", upload.template.storage_class, node)
            element("Initiated", iso8601(upload.initiated), node)
        for prefix in page.common_prefixes:
            element("Prefix", enc(prefix), element("CommonPrefixes", parent=root))
        return xml_response(root)
