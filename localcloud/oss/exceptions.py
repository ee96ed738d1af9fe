"""OSS errors: factories for :class:`~localcloud.core.errors.ServiceError` with the real codes.

Codes, statuses and messages are those OSS returns (help/en/oss/user-guide/http-status-code-4xx);
``extra`` carries the additional ``<Error>`` elements OSS adds (``BucketName``, ``Key``,
``ArgumentName``, ``StringToSign``…), which oss2 exposes in ``e.details``.

Example
-------
>>> err = no_such_key("a/b.txt")
>>> err.status, err.code, err.extra["Key"]
(404, 'NoSuchKey', 'a/b.txt')
"""

from __future__ import annotations

from ..core.errors import ServiceError


class OssError(ServiceError):
    """An OSS error. ``extra`` becomes additional child elements of ``<Error>``."""


def no_such_bucket(bucket: str) -> OssError:
    return OssError("NoSuchBucket", "The specified bucket does not exist.", status=404, extra={"BucketName": bucket})


def no_such_key(key: str) -> OssError:
    return OssError("NoSuchKey", "The specified key does not exist.", status=404, extra={"Key": key})


def bucket_already_exists(bucket: str, message: str = "The requested bucket name is not available.") -> OssError:
    return OssError("BucketAlreadyExists", message, status=409, extra={"BucketName": bucket})


def too_many_buckets(cap: int) -> OssError:
    """OSS's message, plus where localcloud's cap comes from and how to clear leftovers."""
    return OssError(
        "TooManyBuckets",
        f"You have attempted to create more buckets than allowed. (localcloud: at most {cap}, "
        "LOCALCLOUD_OSS_MAX_BUCKETS; `pai-autopilot local reset --all` removes leftover buckets)",
        status=400,
    )


def bucket_not_empty(bucket: str) -> OssError:
    return OssError(
        "BucketNotEmpty", "The bucket you tried to delete is not empty.", status=409, extra={"BucketName": bucket}
    )


def file_already_exists(key: str) -> OssError:
    return OssError(
        "FileAlreadyExists",
        "The object you specified already exists and can not be overwritten.",
        status=409,
        extra={"Key": key},
    )


def access_denied(message: str = "You have no right to access this object because of bucket acl.") -> OssError:
    return OssError("AccessDenied", message, status=403)


def signature_does_not_match(access_key_id: str, provided: str, string_to_sign: str) -> OssError:
    """The signature is wrong; like OSS, tell the caller what the server signed."""
    return OssError(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        status=403,
        extra={"OSSAccessKeyId": access_key_id, "SignatureProvided": provided, "StringToSign": string_to_sign},
    )


def invalid_access_key_id(access_key_id: str) -> OssError:
    return OssError(
        "InvalidAccessKeyId",
        "The OSS Access Key Id you provided does not exist in our records.",
        status=403,
        extra={"OSSAccessKeyId": access_key_id},
    )


def invalid_security_token() -> OssError:
    return OssError("InvalidSecurityToken", "The security token you provided is invalid.", status=403)


def invalid_argument(message: str, name: str | None = None, value: str | None = None) -> OssError:
    extra = {}
    if name is not None:
        extra["ArgumentName"] = name
        extra["ArgumentValue"] = "" if value is None else value
    return OssError("InvalidArgument", message, status=400, extra=extra)


def invalid_digest(content_md5: str) -> OssError:
    """Content-MD5 malformed or not the body's MD5 (OSS answers both with ``InvalidDigest``)."""
    return OssError(
        "InvalidDigest", "The Content-MD5 you specified was invalid.", status=400, extra={"Content-MD5": content_md5}
    )


def invalid_bucket_name(bucket: str) -> OssError:
    return OssError("InvalidBucketName", "The specified bucket is not valid.", status=400, extra={"BucketName": bucket})


def invalid_object_name(key: str, message: str = "The specified object is not valid.") -> OssError:
    return OssError("InvalidObjectName", message, status=400, extra={"Key": key})


def invalid_range(size: int) -> OssError:
    return OssError(
        "InvalidRange", "The requested range cannot be satisfied", status=416, extra={"ActualObjectSize": str(size)}
    )


def precondition_failed(condition: str) -> OssError:
    return OssError(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold.",
        status=412,
        extra={"Condition": condition},
    )


def not_modified() -> OssError:
    """304: rendered without a body."""
    return OssError("NotModified", "Not Modified", status=304)


def malformed_xml() -> OssError:
    return OssError(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema.",
        status=400,
    )


def method_not_allowed(method: str, resource_type: str) -> OssError:
    return OssError(
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        status=405,
        extra={"Method": method, "ResourceType": resource_type},
    )


def not_implemented(what: str) -> OssError:
    """501 with OSS's message, naming what localcloud does not emulate (an operation's name first)."""
    return OssError(
        "NotImplemented",
        f"A header you provided implies functionality that is not implemented (localcloud does not implement {what}).",
        status=501,
    )


def request_expired(expires: str, server_time: str) -> OssError:
    return access_denied_with("Request has expired.", {"Expires": expires, "ServerTime": server_time})


def access_denied_with(message: str, extra: dict[str, str]) -> OssError:
    return OssError("AccessDenied", message, status=403, extra=extra)


# -- multipart, append, lifecycle, PostObject ---------------------------------------------------
def no_such_upload(upload_id: str) -> OssError:
    return OssError(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed.",
        status=404,
        extra={"UploadId": upload_id},
    )


def invalid_part(upload_id: str, part_number: str, etag: str) -> OssError:
    return OssError(
        "InvalidPart",
        "One or more of the specified parts could not be found or the specified entity tag might not have "
        "matched the part's entity tag.",
        status=400,
        extra={"UploadId": upload_id, "PartNumber": part_number, "ETag": etag},
    )


def invalid_part_order(upload_id: str) -> OssError:
    return OssError(
        "InvalidPartOrder",
        "The list of parts was not in ascending order. Parts must be ordered by part number.",
        status=400,
        extra={"UploadId": upload_id},
    )


def entity_too_small(extra: dict[str, str] | None = None) -> OssError:
    return OssError(
        "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.", status=400, extra=extra
    )


def entity_too_large(extra: dict[str, str] | None = None) -> OssError:
    return OssError(
        "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.", status=400, extra=extra
    )


def position_not_equal_to_length(next_position: int) -> OssError:
    """409 for an append at the wrong offset; ``x-oss-next-append-position`` tells the right one."""
    return OssError(
        "PositionNotEqualToLength", "Position is not equal to file length", status=409,
        headers={"x-oss-next-append-position": str(next_position)},
    )


def object_not_appendable() -> OssError:
    return OssError("ObjectNotAppendable", "The object is not appendable", status=409)


def no_such_lifecycle(bucket: str) -> OssError:
    return OssError("NoSuchLifecycle", "No Row found in Lifecycle Table.", status=404, extra={"BucketName": bucket})


def invalid_policy_document(message: str) -> OssError:
    return OssError("InvalidPolicyDocument", f"Invalid Policy: {message}", status=400)


def malformed_post_request() -> OssError:
    return OssError(
        "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.", status=400
    )
