"""XML building and reading for the OSS HTTP layer (shared by every ``responses*`` module).

Example
-------
>>> root = element("Root")
>>> _ = element("Flag", True, root)
>>> xml_document(root).decode().splitlines()[1]
'<Root><Flag>true</Flag></Root>'
>>> text_of(parse_xml(b"<Root><A>1</A></Root>", "Root"), "A")
'1'
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from werkzeug.wrappers import Response

from . import exceptions as err

XML_CONTENT_TYPE = "application/xml"


def element(tag: str, text: Any = None, parent: ET.Element | None = None) -> ET.Element:
    """A new element (under ``parent`` when given); booleans render as ``true``/``false``."""
    node = ET.Element(tag) if parent is None else ET.SubElement(parent, tag)
    if isinstance(text, bool):
        node.text = "true" if text else "false"
    elif text is not None:
        node.text = str(text)
    return node


def xml_document(root: ET.Element) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")).encode("utf-8")


def xml_response(root: ET.Element | bytes, status: int = 200) -> Response:
    """A 200 answer carrying ``root`` (an element, or a finished document)."""
    body = root if isinstance(root, bytes) else xml_document(root)
    return Response(body, status=status, content_type=XML_CONTENT_TYPE)


#: C0 control characters XML 1.0 forbids (OSS accepts them in DeleteObjects keys).
_CONTROLS = bytes(c for c in range(32) if c not in (9, 10, 13))
_PLACEHOLDER = 0xF0000  # a control character c stands in as chr(_PLACEHOLDER + c) while parsing
_HIDE = {c: chr(_PLACEHOLDER + c).encode("utf-8") for c in _CONTROLS}
_SHOW = {_PLACEHOLDER + c: chr(c) for c in _CONTROLS}


def _hide_controls(body: bytes) -> bytes:
    if not any(c in body for c in _CONTROLS):
        return body
    return b"".join(_HIDE.get(byte, bytes((byte,))) for byte in body)


def restore_controls(text: str) -> str:
    """Undo the stand-ins of ``parse_xml(..., tolerate_controls=True)`` in one text.

    >>> restore_controls(parse_xml(b"<K>a\\x0cb</K>", "K", tolerate_controls=True).text)
    'a\\x0cb'
    """
    return text.translate(_SHOW)


def parse_xml(body: bytes, root_tag: str, *, tolerate_controls: bool = False) -> ET.Element:
    """The request document, whose root must be ``root_tag`` (else ``MalformedXML``).

    ``tolerate_controls`` accepts raw control characters in text (as OSS does for DeleteObjects);
    read such text back through :func:`restore_controls`.
    """
    try:
        root = ET.fromstring(_hide_controls(body) if tolerate_controls else body)
    except ET.ParseError:
        raise err.malformed_xml() from None
    if root.tag != root_tag:
        raise err.malformed_xml()
    return root


def text_of(root: ET.Element | None, path: str) -> str | None:
    """The text at ``path`` under ``root`` (``""`` for an empty element), or ``None`` if absent."""
    node = root.find(path) if root is not None else None
    return (node.text or "") if node is not None else None
