"""HMAC-signed snooze links for the idle warning: ``<base>/v1/notebooks/<instance>/snooze?…``.

The query carries ``hours``, ``exp`` (expiry, epoch seconds), ``kid`` (which key signed it) and
``sig`` = hex HMAC-SHA256 over ``"snooze\\n<instance>\\n<hours>\\n<exp>\\n<kid>"`` with the webhook
secret (``AUTOPILOT_WEBHOOK_SECRET``). The webhook (another function) routes the link to
:func:`verify_snooze_query` then :func:`~pai_autopilot.notebooks.snooze.snooze_instance`. Errors
never contain the secret or a signature; the comparison is constant-time.

Example
-------
>>> url = snooze_url("https://hook.example", "dsw-1", 4, secret="k" * 32, key_id="default", expires_at=2000)
>>> url.split("?")[0]
'https://hook.example/v1/notebooks/dsw-1/snooze'
>>> from urllib.parse import parse_qsl, urlsplit
>>> query = dict(parse_qsl(urlsplit(url).query))
>>> verify_snooze_query("dsw-1", query, secret="k" * 32, now=1000)
4.0
>>> verify_snooze_query("dsw-2", query, secret="k" * 32, now=1000)
Traceback (most recent call last):
...
pai_autopilot.errors.InvalidInputError: the snooze link's signature does not match (a link for another instance, altered, or signed with another key)
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping
from urllib.parse import quote, urlencode

from ..errors import InvalidInputError

ROUTE = "/v1/notebooks/{instance}/snooze"


def _hours_text(hours: float) -> str:
    return format(float(hours), "g")


def _message(instance_id: str, hours: str, exp: str, kid: str) -> bytes:
    return f"snooze\n{instance_id}\n{hours}\n{exp}\n{kid}".encode()


def _sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def snooze_url(base_url: str, instance_id: str, hours: float, *, secret: str, key_id: str, expires_at: float) -> str:
    """The signed link that snoozes ``instance_id`` for ``hours``, valid until ``expires_at``."""
    if not secret:
        raise InvalidInputError("no webhook secret: set AUTOPILOT_WEBHOOK_SECRET to sign snooze links")
    if not (isinstance(hours, (int, float)) and math.isfinite(hours) and hours > 0):
        raise InvalidInputError(f"hours must be a positive number, got {hours!r}")
    hours_text, exp = _hours_text(hours), str(int(expires_at))
    sig = _sign(secret, _message(instance_id, hours_text, exp, key_id))
    path = ROUTE.format(instance=quote(instance_id, safe=""))
    return f"{base_url.rstrip('/')}{path}?{urlencode({'hours': hours_text, 'exp': exp, 'kid': key_id, 'sig': sig})}"


def verify_snooze_query(instance_id: str, query: Mapping[str, str], *, secret: str, now: float) -> float:
    """The hours a signed snooze query asks for; :class:`InvalidInputError` when missing, expired or forged."""
    missing = [name for name in ("hours", "exp", "kid", "sig") if not query.get(name)]
    if missing:
        raise InvalidInputError(f"the snooze link lacks {', '.join(missing)}: use the link from the warning as sent")
    hours_text, exp, kid, sig = str(query["hours"]), str(query["exp"]), str(query["kid"]), str(query["sig"])
    expected = _sign(secret, _message(instance_id, hours_text, exp, kid))
    if not hmac.compare_digest(expected.encode(), sig.strip().lower().encode()):
        raise InvalidInputError("the snooze link's signature does not match "
                                "(a link for another instance, altered, or signed with another key)")
    try:
        expires_at = int(exp)
        hours = float(hours_text)
    except ValueError:
        raise InvalidInputError("the snooze link's hours or exp is not a number") from None
    if now > expires_at:
        raise InvalidInputError(f"the snooze link expired at {expires_at} (epoch seconds): "
                                f"snooze with `pai-autopilot notebooks snooze {instance_id} --hours N` instead")
    if not (math.isfinite(hours) and hours > 0):
        raise InvalidInputError(f"the snooze link's hours must be positive, got {hours_text!r}")
    return hours
