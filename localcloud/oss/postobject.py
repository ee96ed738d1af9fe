"""PostObject: a browser form upload (``POST /<bucket>/``, ``multipart/form-data``).

The policy's signature is checked by :meth:`Authenticator.authenticate_form
<localcloud.oss.auth.Authenticator.authenticate_form>`; here the policy itself is: its
``expiration`` against localcloud's clock (``AccessDenied`` "Policy expired."), and each of its
``conditions``: ``{"field": value}`` and ``["eq", "$field", value]``, ``["starts-with", "$field",
prefix]``, ``["in" | "not-in", "$field", [values]]``, ``["content-length-range", min, max]``
(``EntityTooSmall`` / ``EntityTooLarge``). ``$bucket`` is the bucket; other fields are the form's.
The object is stored like a PutObject (``key``'s ``${filename}`` replaced by the file's name,
``Content-Type``, ``x-oss-meta-*`` and standard headers from the form) and publishes
``ObjectCreated:PostObject``.

Example
-------
>>> policy = {"expiration": "2100-01-01T00:00:00.000Z", "conditions": [{"bucket": "demo"},
...           ["starts-with", "$key", "up/"], ["content-length-range", 1, 10]]}
>>> check_policy(encode_policy(policy), bucket="demo", fields={"key": "up/a"}, size=3, now=0.0)
>>> try:
...     check_policy(encode_policy(policy), bucket="demo", fields={"key": "other/a"}, size=3, now=0.0)
... except Exception as exc:
...     print(exc.code, exc.message)
AccessDenied Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "up/"]
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..core.clock import Clock
from . import exceptions as err
from .storage import ObjectMeta
from .utils import parse_iso8601

if TYPE_CHECKING:
    from .models import Caller

#: Standard headers a form may set on the object, by their lower-case field name.
FORM_HEADERS = {name.lower(): name for name in (
    "Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires")}


def encode_policy(policy: Mapping[str, Any]) -> str:
    """The ``policy`` form field for a policy document (base64 of its JSON)."""
    return base64.b64encode(json.dumps(policy).encode()).decode("ascii")


def _failed(condition: Any) -> err.OssError:
    return err.access_denied(f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}")


def _field(values: Mapping[str, str], name: Any, condition: Any) -> str:
    if not isinstance(name, str) or not name.startswith("$"):
        raise err.invalid_policy_document(f"Invalid Condition: field name must start with '$': {json.dumps(condition)}")
    return values.get(name[1:].lower(), "")


def _check_condition(condition: Any, values: Mapping[str, str], size: int) -> None:
    if isinstance(condition, dict):
        if len(condition) != 1:
            raise err.invalid_policy_document(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
        (name, wanted), = condition.items()
        if values.get(str(name).lower(), "") != wanted:
            raise _failed(condition)
        return
    if not isinstance(condition, list) or len(condition) != 3 or not isinstance(condition[0], str):
        raise err.invalid_policy_document(f"Invalid Condition: {json.dumps(condition)}")
    operator, name, wanted = condition[0].lower(), condition[1], condition[2]
    if operator == "content-length-range":
        bounds = (name, wanted)
        if not all(isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in bounds) or name > wanted:
            raise err.invalid_policy_document(f"Invalid content-length-range: {json.dumps(condition)}")
        if size < name:
            raise err.entity_too_small({"MinSizeAllowed": str(name), "ProposedSize": str(size)})
        if size > wanted:
            raise err.entity_too_large({"MaxSizeAllowed": str(wanted), "ProposedSize": str(size)})
        return
    value = _field(values, name, condition)
    if operator in ("eq", "starts-with") and isinstance(wanted, str):
        if (value != wanted) if operator == "eq" else not value.startswith(wanted):
            raise _failed(condition)
    elif operator in ("in", "not-in") and isinstance(wanted, list):
        if (value in wanted) != (operator == "in"):
            raise _failed(condition)
    else:
        raise err.invalid_policy_document(f"Invalid Condition: {json.dumps(condition)}")


def check_policy(policy: str, *, bucket: str, fields: Mapping[str, str], size: int, now: float) -> None:
    """Validate a base64 policy against the request (``fields`` lower-cased, the key resolved)."""
    try:
        document = json.loads(base64.b64decode(policy, validate=True))
    except (binascii.Error, ValueError):
        raise err.invalid_policy_document("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise err.invalid_policy_document("Invalid JSON.")
    if "expiration" not in document:
        raise err.invalid_policy_document("Policy missing expiration.")
    expires = parse_iso8601(str(document["expiration"]))
    if expires is None:
        raise err.invalid_policy_document(f"Invalid 'expiration' value: '{document['expiration']}'")
    if expires < now:
        raise err.access_denied("Invalid according to Policy: Policy expired.")
    conditions = document.get("conditions")
    if not isinstance(conditions, list):
        raise err.invalid_policy_document("Policy missing conditions.")
    values = {**fields, "bucket": bucket}
    for condition in conditions:
        _check_condition(condition, values, size)


class PostObjectMixin:
    """PostObject on :class:`~localcloud.oss.models.OssBackend`."""

    clock: Clock

    def put_object(self, bucket: str, key: str, data: bytes, **kwargs: Any) -> ObjectMeta:
        raise NotImplementedError

    def post_object(
        self, bucket: str, fields: Mapping[str, str], filename: str, data: bytes, *, caller: Caller | None = None
    ) -> ObjectMeta:
        """PostObject with the form's ``fields`` (names lower-cased) and its ``file``."""
        if "key" not in fields:
            raise err.invalid_argument("Bucket POST must contain a field named 'key'.", "key", "")
        key = fields["key"].replace("${filename}", filename)
        fields = {**fields, "key": key}
        if "policy" in fields:
            check_policy(fields["policy"], bucket=bucket, fields=fields, size=len(data), now=self.clock.now())
        return self.put_object(
            bucket, key, data, content_type=fields.get("content-type"), content_md5=fields.get("content-md5"),
            user_meta={k: v for k, v in fields.items() if k.startswith("x-oss-meta-")},
            headers={FORM_HEADERS[k]: v for k, v in fields.items() if k in FORM_HEADERS and v},
            forbid_overwrite=fields.get("x-oss-forbid-overwrite"), storage_class=fields.get("x-oss-storage-class"),
            object_acl=fields.get("x-oss-object-acl"), caller=caller, event="ObjectCreated:PostObject",
        )
