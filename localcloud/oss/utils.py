"""Small pure helpers of the OSS model: digests, CRC-64, time formats, byte ranges, URL encoding.

Example
-------
>>> crc64(b"hello")
11177612005948864433
>>> etag_of(b"hello")
'5D41402ABC4B2A76B9719D911017C592'
>>> parse_range("bytes=1-3", 10)
(1, 3)
>>> iso8601(0.0)
'1970-01-01T00:00:00.000Z'
>>> crc64_combine(crc64(b"hello "), crc64(b"world"), 5) == crc64(b"hello world")
True
"""

from __future__ import annotations

import base64
import binascii
import calendar
import email.utils
import functools
import hashlib
import re
import time
from collections.abc import Iterable
from urllib.parse import quote, unquote

import crcmod

from . import exceptions as err

STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
BUCKET_ACLS = ("private", "public-read", "public-read-write")
OBJECT_ACLS = ("default", *BUCKET_ACLS)
REDUNDANCY_TYPES = ("LRS", "ZRS")
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")

#: CRC-64/ECMA-182 as OSS computes it (``x-oss-hash-crc64ecma``); same parameters as ``oss2.utils.Crc64``.
crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
_CRC64_REFLECTED_POLY = 0xC96C5795D7870F42


def _gf2_times(matrix: tuple[int, ...], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(_gf2_times(matrix, column) for column in matrix)


@functools.lru_cache(maxsize=64)
def _crc64_shift(length: int) -> tuple[int, ...]:
    """The GF(2) operator that carries a CRC-64 register across ``length`` zero bytes (zlib's method)."""
    odd = (_CRC64_REFLECTED_POLY, *(1 << n for n in range(63)))  # one zero bit
    operator = tuple(1 << n for n in range(64))
    odd = _gf2_square(_gf2_square(odd))  # four zero bits
    while length:
        even = _gf2_square(odd)
        if length & 1:
            operator = tuple(_gf2_times(even, column) for column in operator)
        length >>= 1
        if not length:
            break
        odd = _gf2_square(even)
        if length & 1:
            operator = tuple(_gf2_times(odd, column) for column in operator)
        length >>= 1
    return operator


def crc64_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-64 of ``A + B`` from ``crc64(A)``, ``crc64(B)`` and ``len(B)`` (no bytes re-read)."""
    if length2 <= 0:
        return crc1
    return _gf2_times(_crc64_shift(length2), crc1) ^ crc2


def check_bucket_name(name: str) -> None:
    """3-63 characters of ``a-z0-9-``, starting and ending with a letter or digit."""
    if not _BUCKET_NAME.match(name):
        raise err.invalid_bucket_name(name)


def check_object_key(key: str) -> None:
    """1-1023 bytes of UTF-8, not starting with ``/`` or ``\\``."""
    if not key:
        raise err.invalid_object_name(key, "The Object name can not be empty")
    if len(key.encode("utf-8")) > 1023:
        raise err.invalid_object_name(key, "The Length of Object name must be less than 1024")
    if key[0] in "/\\":
        raise err.invalid_object_name(key)


def choice(name: str, value: str | None, allowed: Iterable[str], message: str) -> str | None:
    """``value`` spelled as in ``allowed`` (case-insensitively), ``None`` when absent, else InvalidArgument."""
    if value is None or value == "":
        return None
    for candidate in allowed:
        if value.lower() == candidate.lower():
            return candidate
    raise err.invalid_argument(message, name, value)


def storage_class_of(value: str | None) -> str:
    """``x-oss-storage-class`` of an upload (``Standard`` by default)."""
    return choice("x-oss-storage-class", value, STORAGE_CLASSES, "Invalid storage class.") or "Standard"


def object_acl_of(value: str | None) -> str:
    """``x-oss-object-acl`` of an upload (``default`` by default)."""
    return choice("x-oss-object-acl", value, OBJECT_ACLS, "no such object access control exists") or "default"


def etag_of(data: bytes) -> str:
    """The ETag OSS gives a simple upload: the upper-case hex MD5 (without quotes)."""
    return hashlib.md5(data).hexdigest().upper()


def content_md5_of(data: bytes) -> str:
    """The ``Content-MD5`` value for ``data``: base64 of the binary MD5."""
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def decode_content_md5(value: str) -> bytes | None:
    """The 16-byte digest a ``Content-MD5`` header declares, or ``None`` if it is malformed."""
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == 16 else None


def http_date(ts: float) -> str:
    """Epoch seconds → ``Sat, 05 Dec 2015 11:10:29 GMT``."""
    return email.utils.formatdate(ts, usegmt=True)


def parse_http_date(value: str) -> float | None:
    """``Sat, 05 Dec 2015 11:10:29 GMT`` → epoch seconds; ``None`` when unparsable."""
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.timestamp() if parsed is not None else None


def iso8601(ts: float) -> str:
    """Epoch seconds → ``2012-02-24T08:43:07.000Z`` (the format oss2's list parsers require)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def parse_iso8601(value: str) -> float | None:
    """``2024-05-01T00:00:00.000Z`` (milliseconds optional) → epoch seconds, or ``None``.

    >>> parse_iso8601("1970-01-02T00:00:00.000Z"), parse_iso8601("1970-01-02T00:00:00Z"), parse_iso8601("x")
    (86400.0, 86400.0, None)
    """
    text = value.strip()
    head, dot, tail = text.partition(".")
    if dot:
        if not (tail.endswith("Z") and tail[:-1].isdigit()):
            return None
        text = head + "Z"
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


def next_midnight(ts: float) -> float:
    """``ts`` rounded up to a UTC midnight (OSS's lifecycle day counting).

    >>> next_midnight(1.0), next_midnight(86400.0)
    (86400.0, 86400.0)
    """
    days, rest = divmod(ts, 86400)
    return (days + (1 if rest else 0)) * 86400.0


def parse_v4_datetime(value: str) -> float | None:
    """``20240501T080000Z`` (``x-oss-date`` of signature v4) → epoch seconds, or ``None``."""
    try:
        return float(calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        return None


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Resolve a ``Range`` header against an object of ``size`` bytes.

    Returns the inclusive ``(first, last)`` byte positions, or ``None`` when the header is
    malformed, names several ranges or cannot be satisfied — in which case OSS (by default)
    ignores it and returns the whole object. An end past the object is clamped to its last byte.

    >>> parse_range("bytes=5-", 10), parse_range("bytes=-3", 10), parse_range("bytes=8-20", 10)
    ((5, 9), (7, 9), (8, 9))
    >>> parse_range("bytes=10-12", 10) is None, parse_range("bytes=0-1,4-5", 10) is None
    (True, True)
    """
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_s, sep, last_s = spec.strip().partition("-")
    if not sep:
        return None
    try:
        if first_s == "":
            suffix = int(last_s)
            if suffix <= 0 or size == 0:
                return None
            return max(size - suffix, 0), size - 1
        first = int(first_s)
        last = int(last_s) if last_s != "" else size - 1
    except ValueError:
        return None
    if first < 0 or first >= size or last < first:
        return None
    return first, min(last, size - 1)


def url_encode(value: str) -> str:
    """The ``encoding-type=url`` form of a key or prefix (``/`` kept, everything else escaped)."""
    return quote(value, safe="/")


def split_copy_source(value: str | None) -> tuple[str, str]:
    """``x-oss-copy-source`` (``/<bucket>/<url-encoded key>[?versionId=…]``) → (bucket, key).

    >>> split_copy_source("/bkt/a%2Fb%20c.txt")
    ('bkt', 'a/b c.txt')
    """
    source = (value or "").split("?", 1)[0]
    bucket, _, key = source.lstrip("/").partition("/")
    return unquote(bucket), unquote(key)


def _etag_matches(header: str, etag: str) -> bool:
    wanted = {part.strip().strip('"').upper() for part in header.split(",")}
    return "*" in wanted or etag.upper() in wanted


def check_preconditions(
    etag: str,
    last_modified: float,
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    if_unmodified_since: str | None = None,
) -> None:
    """The HTTP preconditions of GET/HEAD: 412 ``PreconditionFailed`` or 304 ``NotModified``.

    >>> check_preconditions("ABC", 0.0, if_match='"ABC"')
    >>> check_preconditions("ABC", 0.0, if_none_match='"abc"')
    Traceback (most recent call last):
    ...
    localcloud.oss.exceptions.OssError: NotModified: Not Modified
    """
    if if_match is not None and not _etag_matches(if_match, etag):
        raise err.precondition_failed("If-Match")
    since = parse_http_date(if_unmodified_since) if if_unmodified_since else None
    if since is not None and int(last_modified) > since:
        raise err.precondition_failed("If-Unmodified-Since")
    if if_none_match is not None and _etag_matches(if_none_match, etag):
        raise err.not_modified()
    since = parse_http_date(if_modified_since) if if_modified_since else None
    if since is not None and int(last_modified) <= since:
        raise err.not_modified()
