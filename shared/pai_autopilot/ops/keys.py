"""The webhook's signing key, from the environment (the one place it is read).

``AUTOPILOT_WEBHOOK_SECRET`` holds the shared secret (at least 16 characters; generate one with
``python -c 'import secrets; print(secrets.token_urlsafe(32))'``) and ``AUTOPILOT_WEBHOOK_KEY_ID``
names it (default ``default``). The key id is what the audit trail records as *who* acted
(``webhook:<key id>``); the secret itself is only ever held in a :class:`~.signature.Secret`.

Example
-------
>>> keys = webhook_keys({"AUTOPILOT_WEBHOOK_SECRET": "x" * 32, "AUTOPILOT_WEBHOOK_KEY_ID": "ci"})
>>> keys
{'ci': Secret('***')}
>>> webhook_keys({"AUTOPILOT_WEBHOOK_SECRET": "short"})
Traceback (most recent call last):
...
pai_autopilot.ops.keys.WebhookNotConfigured: AUTOPILOT_WEBHOOK_SECRET is 5 characters; use at least 16 (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from ..errors import SettingsError
from .signature import MIN_SECRET_LENGTH, Secret

SECRET_ENV = "AUTOPILOT_WEBHOOK_SECRET"
KEY_ID_ENV = "AUTOPILOT_WEBHOOK_KEY_ID"
DEFAULT_KEY_ID = "default"
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_HOW = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class WebhookNotConfigured(SettingsError):
    """The webhook has no usable secret (the message names the variable, never its value)."""

    code = "WebhookNotConfigured"


def webhook_keys(environ: Mapping[str, str] | None = None) -> dict[str, Secret]:
    """``{key id: secret}`` from the environment; :class:`WebhookNotConfigured` when unusable."""
    env = os.environ if environ is None else environ
    raw = env.get(SECRET_ENV, "")
    if not raw:
        raise WebhookNotConfigured(f"{SECRET_ENV} is not set; set it to a shared secret of at least "
                                   f"{MIN_SECRET_LENGTH} characters (e.g. {_HOW})")
    if len(raw) < MIN_SECRET_LENGTH:
        raise WebhookNotConfigured(f"{SECRET_ENV} is {len(raw)} characters; use at least {MIN_SECRET_LENGTH} (e.g. {_HOW})")
    key_id = env.get(KEY_ID_ENV) or DEFAULT_KEY_ID
    if not _KEY_ID.match(key_id):
        raise WebhookNotConfigured(f"{KEY_ID_ENV} must be 1-64 characters of A-Z a-z 0-9 _ . -, got {key_id[:70]!r}")
    return {key_id: Secret(raw)}


def actor_of(key_id: str) -> str:
    """Who a signed request acted as, in the ledger's ``by`` and ``requested_by``.

    >>> actor_of("ci")
    'webhook:ci'
    """
    return f"webhook:{key_id}"
