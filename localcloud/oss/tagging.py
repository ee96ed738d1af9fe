"""Object tags as OSS checks them: from the ``x-oss-tagging`` header or a ``Tagging`` document.

OSS's rules (help/en/oss/developer-reference/putobjecttagging; error pages 0010-00000209,
-214, -217, -219): at most 10 tags per object with unique keys; a key is 1-128 characters, a
value 0-256; both may hold only letters, digits, spaces and ``+ - = . _ : /``; in the header,
keys and values are URL-encoded and the form is ``k1=v1&k2`` (a key alone has an empty
value; ``=v`` and ``a=b=c`` are refused).

Example
-------
>>> parse_tagging_header("project=demo&stage=raw%20data&flag")
{'project': 'demo', 'stage': 'raw data', 'flag': ''}
>>> parse_tagging_header("=a&b=a")
Traceback (most recent call last):
...
localcloud.oss.exceptions.OssError: InvalidTag: The TagKey you have provided is invalid.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote

from .exceptions import OssError

MAX_TAGS = 10
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
_ALLOWED = re.compile(r"^[A-Za-z0-9 +\-=._:/]*$")


def invalid_tag(message: str, ec: str) -> OssError:
    """400 ``InvalidTag`` with OSS's error-center code (``EC``)."""
    return OssError("InvalidTag", message, status=400, extra={"EC": ec})


def check_tags(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Validate ``(key, value)`` pairs in order; the tag set as a dict."""
    if len(pairs) > MAX_TAGS:
        raise invalid_tag(f"Object tags cannot be greater than {MAX_TAGS}.", "0010-00000217")
    tags: dict[str, str] = {}
    for key, value in pairs:
        if not key or not _ALLOWED.match(key):
            raise invalid_tag("The TagKey you have provided is invalid.", "0010-00000217")
        if len(key) > MAX_KEY_LENGTH:
            raise invalid_tag("The TagKey you have provided is too long, max length is 128.", "0010-00000209")
        if not _ALLOWED.match(value):
            raise invalid_tag("The TagValue you have provided is invalid.", "0010-00000217")
        if len(value) > MAX_VALUE_LENGTH:
            raise invalid_tag("The TagValue you have provided is too long, max length is 256.", "0010-00000214")
        if key in tags:
            raise invalid_tag("Cannot provide multiple Tags with the same key.", "0010-00000217")
        tags[key] = value
    return tags


def parse_tagging_header(value: str | None) -> dict[str, str]:
    """The tags of an ``x-oss-tagging`` header (``{}`` when absent or empty)."""
    if not value:
        return {}
    pairs: list[tuple[str, str]] = []
    for item in value.split("&"):
        if item.count("=") > 1:
            raise invalid_tag("The x-oss-tagging header is not in key or key=value format.", "0010-00000219")
        key, _, val = item.partition("=")
        try:
            pairs.append((unquote(key, errors="strict"), unquote(val, errors="strict")))
        except UnicodeDecodeError:
            raise invalid_tag("The tag is not UTF-8 encoded.", "0010-00000216") from None
    return check_tags(pairs)


def parse_tagging_document(root: ET.Element) -> dict[str, str]:
    """The tags of a ``<Tagging><TagSet><Tag><Key/><Value/></Tag>…`` document."""
    pairs = [
        ((tag.findtext("Key") or ""), (tag.findtext("Value") or ""))
        for tag in root.findall("TagSet/Tag")
    ]
    return check_tags(pairs)
