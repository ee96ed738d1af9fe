"""The HTTP layer of object reads and writes: Put/Copy/Get/Head/Delete object, DeleteObjects.

GET and HEAD answer the object's metadata in headers (``x-oss-tagging-count`` when it has
tags). ``Accept-Encoding: gzip`` is honoured as OSS does: for objects of at least 1 KiB whose
``Content-Type`` is a compressible text type (:data:`GZIP_TYPES`), the body is gzipped and sent
chunked, with ``Content-Encoding: gzip`` and ``Vary: Accept-Encoding`` and without ``ETag``,
``Content-Length`` and ``Accept-Ranges`` (help/en/oss/…/how-do-i-compress-objects…).

Example
-------
>>> wants_gzip("gzip, deflate", "text/plain; charset=utf-8", 2048), wants_gzip("gzip", "image/png", 2048)
(True, False)
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from .storage import ObjectMeta
from .utils import http_date, iso8601, split_copy_source, url_encode
from .xmlutil import element, parse_xml, restore_controls, text_of, xml_response

if TYPE_CHECKING:
    from .models import OssBackend
    from .responses import OssRequest

#: ``response-*`` query parameters of GetObject and the header each one overrides.
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type", "response-content-language": "Content-Language",
    "response-expires": "Expires", "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
}
GZIP_TYPES = frozenset({
    "text/cache-manifest", "text/xml", "text/css", "text/html", "text/plain", "application/javascript",
    "application/x-javascript", "application/rss+xml", "application/json", "text/json",
})
GZIP_MIN_SIZE = 1024
_CHUNK = 64 * 1024


def wants_gzip(accept_encoding: str | None, content_type: str, size: int) -> bool:
    """Whether OSS would gzip this object for this ``Accept-Encoding``."""
    if not accept_encoding or size < GZIP_MIN_SIZE:
        return False
    codings = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
    return "gzip" in codings and content_type.split(";")[0].strip().lower() in GZIP_TYPES


def gzip_chunks(data: bytes) -> Iterator[bytes]:
    """``data`` as a gzip stream, in chunks (so the answer goes out chunked)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    for start in range(0, len(data), _CHUNK):
        out = compressor.compress(data[start : start + _CHUNK])
        if out:
            yield out
    yield compressor.flush()


class ObjectResponses:
    """PutObject, CopyObject, GetObject, HeadObject, GetObjectMeta, DeleteObject, DeleteMultipleObjects."""

    backend: OssBackend

    def put_object(self, req: OssRequest) -> Response:
        meta = self.backend.put_object(
            req.bucket, req.key, req.body, content_type=req.header("Content-Type"),
            content_md5=req.header("Content-MD5"), user_meta=req.user_meta(), headers=req.kept_headers(),
            forbid_overwrite=req.header("x-oss-forbid-overwrite"), storage_class=req.header("x-oss-storage-class"),
            object_acl=req.header("x-oss-object-acl"), tagging=req.header("x-oss-tagging"), caller=req.caller,
        )
        headers = {"ETag": f'"{meta.etag}"', "x-oss-hash-crc64ecma": str(meta.crc64)}
        if meta.content_md5:
            headers["Content-MD5"] = meta.content_md5
        return Response(b"", status=200, headers=headers)

    def copy_object(self, req: OssRequest) -> Response:
        source_bucket, source_key = split_copy_source(req.header("x-oss-copy-source"))
        meta = self.backend.copy_object(
            source_bucket, source_key, req.bucket, req.key,
            metadata_directive=req.header("x-oss-metadata-directive"), content_type=req.header("Content-Type"),
            user_meta=req.user_meta(), headers=req.kept_headers(),
            forbid_overwrite=req.header("x-oss-forbid-overwrite"),
            tagging_directive=req.header("x-oss-tagging-directive"), tagging=req.header("x-oss-tagging"),
            caller=req.caller,
        )
        root = element("CopyObjectResult")
        element("ETag", f'"{meta.etag}"', root)
        element("LastModified", iso8601(meta.last_modified), root)
        response = xml_response(root)
        response.headers["ETag"] = f'"{meta.etag}"'
        response.headers["x-oss-hash-crc64ecma"] = str(meta.crc64)
        return response

    def get_object(self, req: OssRequest) -> Response:
        read = self.backend.get_object(
            req.bucket, req.key, range_header=req.header("Range"),
            range_behavior=req.header("x-oss-range-behavior"), **_conditions(req),
        )
        gzipped = read.range is None and wants_gzip(req.header("Accept-Encoding"), read.meta.content_type,
                                                    read.meta.size)
        response = Response(gzip_chunks(read.data) if gzipped else read.data, status=206 if read.range else 200)
        object_headers(response, read.meta, gzipped=gzipped)
        if read.range is not None:
            response.headers["Content-Range"] = f"bytes {read.range[0]}-{read.range[1]}/{read.meta.size}"
        for param, header in RESPONSE_OVERRIDES.items():
            if req.params.get(param):
                response.headers[header] = req.params[param]
        return response

    def head_object(self, req: OssRequest) -> Response:
        meta = self.backend.head_object(req.bucket, req.key, **_conditions(req))
        gzipped = wants_gzip(req.header("Accept-Encoding"), meta.content_type, meta.size)
        response = Response(b"", status=200)
        object_headers(response, meta, gzipped=gzipped)
        if not gzipped:
            response.headers["Content-Length"] = str(meta.size)
        return response

    def get_object_meta(self, req: OssRequest) -> Response:
        meta = self.backend.get_object_meta(req.bucket, req.key)
        response = Response(b"", status=200)
        response.headers.update({"ETag": f'"{meta.etag}"', "Last-Modified": http_date(meta.last_modified)})
        response.headers["Content-Length"] = str(meta.size)
        return response

    def delete_object(self, req: OssRequest) -> Response:
        self.backend.delete_object(req.bucket, req.key, caller=req.caller)
        return Response(b"", status=204)

    def delete_objects(self, req: OssRequest) -> Response:
        root_in = parse_xml(req.body, "Delete", tolerate_controls=True)
        keys = [restore_controls(node.text or "") for node in root_in.findall("Object/Key")]
        quiet = (text_of(root_in, "Quiet") or "false").lower() == "true"
        deleted = self.backend.delete_objects(
            req.bucket, keys, content_md5=req.header("Content-MD5"), body=req.body, caller=req.caller
        )
        encode = (req.params.get("encoding-type") or "").lower() == "url"
        root = element("DeleteResult")
        if encode:
            element("EncodingType", "url", root)
        for key in [] if quiet else deleted:
            element("Key", url_encode(key) if encode else key, element("Deleted", parent=root))
        return xml_response(root)


def _conditions(req: OssRequest) -> dict[str, str | None]:
    return {
        "if_match": req.header("If-Match"), "if_none_match": req.header("If-None-Match"),
        "if_modified_since": req.header("If-Modified-Since"),
        "if_unmodified_since": req.header("If-Unmodified-Since"),
    }


def object_headers(response: Response, meta: ObjectMeta, *, gzipped: bool = False) -> None:
    """The object's metadata as GET/HEAD headers (gzipped: without ETag and Accept-Ranges)."""
    response.headers["Content-Type"] = meta.content_type
    headers: list[tuple[str, str]] = [
        ("Last-Modified", http_date(meta.last_modified)),
        ("x-oss-object-type", meta.object_type), ("x-oss-storage-class", meta.storage_class),
        ("x-oss-hash-crc64ecma", str(meta.crc64)),
    ]
    if gzipped:
        headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
    else:
        headers += [("ETag", f'"{meta.etag}"'), ("Accept-Ranges", "bytes")]
    extra: Iterable[tuple[str, str]] = [*meta.headers.items(), *meta.user_meta.items()]
    headers += [(k, v) for k, v in extra if not (gzipped and k.lower() == "content-encoding")]
    if meta.content_md5:
        headers.append(("Content-MD5", meta.content_md5))
    if meta.object_type == "Appendable":
        headers.append(("x-oss-next-append-position", str(meta.size)))
    if meta.tags:
        headers.append(("x-oss-tagging-count", str(len(meta.tags))))
    response.headers.extend(headers)  # all new names: no search for an old value of each
