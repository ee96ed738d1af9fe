"""The one CloudMonitor callback token, accepted by both endpoints that take CloudMonitor's callback.

CloudMonitor cannot sign a request, so its callback URL carries a static token: ``?kid=<key id>&token=<t>``
where ``t`` is :func:`~.signature.callback_token` of the webhook's signing secret
(``AUTOPILOT_WEBHOOK_SECRET``) over ``POST /v1/alerts/cms``. The webhook's ``/v1/alerts/cms`` and the
``alarm`` function's HTTP trigger accept the same token; nothing else to manage, and rotating the
secret revokes it. ``wire`` puts it into the alarm rules; ``pai-autopilot webhook callback-url`` prints
the URL for either endpoint.

``AUTOPILOT_ALARM_TOKEN`` (the old ``?token=`` of the alarm function) still works for one release as a
deprecated override: when set, ``wire`` uses it and the alarm function accepts it (a warning, once per
process, names the variable to drop; ``validate`` warns too). The token itself is never in a log line.

Example
-------
>>> from .signature import Secret
>>> url = callback_url("https://x.fcapp.run/", "ci", Secret("s" * 32))
>>> url.startswith("https://x.fcapp.run/v1/alerts/cms?kid=ci&token=1535c58efe98")
True
>>> callback_url("http://127.0.0.1:9800/_fc/alarm?a=1", "ci", Secret("s" * 32), path="")[:50]
'http://127.0.0.1:9800/_fc/alarm?a=1&kid=ci&token=1'
>>> check_callback({"kid": "ci", "token": callback_token(Secret("s" * 32), "POST", CMS_CALLBACK_PATH)},
...                webhook_secret="s" * 32, key_id="ci", legacy_token=None)
'callback:ci'
>>> check_callback({}, webhook_secret=None, key_id="default", legacy_token=None)
Traceback (most recent call last):
...
pai_autopilot.ops.callback.CallbackDisabled: the alarm callback is off: set AUTOPILOT_WEBHOOK_SECRET (its token is derived from it) and run `pai-autopilot wire`
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import urlencode

from ..errors import SettingsError
from .signature import Secret, SignatureRejected, callback_token, verify_callback

#: The route the token is bound to, on the webhook and (whatever its trigger's path) the alarm function.
CMS_CALLBACK_METHOD, CMS_CALLBACK_PATH = "POST", "/v1/alerts/cms"
LEGACY_TOKEN_ENV = "AUTOPILOT_ALARM_TOKEN"
DEPRECATION = (f"{LEGACY_TOKEN_ENV} is deprecated and will be removed in the next release: unset it, keep "
               "AUTOPILOT_WEBHOOK_SECRET on the alarm function and run `pai-autopilot wire` (the alarm rules then "
               "carry the token derived from the webhook secret)")
_warned: list[bool] = []


class CallbackDisabled(SettingsError):
    """Neither the webhook secret nor the deprecated alarm token is set: no callback can be authenticated."""

    code = "CallbackDisabled"


def callback_url(base: str, key_id: str, secret: Secret, *, path: str = CMS_CALLBACK_PATH) -> str:
    """``base`` + ``path`` with ``?kid=…&token=…`` (``path=""`` for the alarm function's trigger URL)."""
    url = base.rstrip("/") + path if path else base
    query = urlencode({"kid": key_id, "token": callback_token(secret, CMS_CALLBACK_METHOD, CMS_CALLBACK_PATH)})
    return url + ("&" if "?" in url else "?") + query


def legacy_url(base: str, token: str) -> str:
    """The deprecated form: ``base?token=<AUTOPILOT_ALARM_TOKEN>``."""
    return base + ("&" if "?" in base else "?") + urlencode({"token": token})


def check_callback(
    query: Mapping[str, str], *, webhook_secret: str | None, key_id: str, legacy_token: str | None,
) -> str:
    """Who sent the callback (``callback:<key id>``, or ``callback:alarm-token``); raises
    :class:`~.signature.SignatureRejected` (401 ``bad_signature``) for a wrong or absent token and
    :class:`CallbackDisabled` (403 ``not_configured``) when nothing is configured to check it with."""
    from .keys import KEY_ID_ENV, SECRET_ENV, webhook_keys

    token = str(query.get("token", ""))
    if legacy_token and "kid" not in query and token:
        if not hmac.compare_digest(token.encode("utf-8", "replace"), legacy_token.encode()):
            raise SignatureRejected("bad_signature", "the callback token does not match; print the URL again with "
                                    "`pai-autopilot webhook callback-url --alarm-url URL`")
        warn_deprecated()
        return "callback:alarm-token"
    if not webhook_secret:
        if legacy_token:  # only the old scheme is configured, and the request does not use it
            raise SignatureRejected("bad_signature", "missing token: the callback URL needs ?token=")
        raise CallbackDisabled(f"the alarm callback is off: set {SECRET_ENV} (its token is derived from it) and run "
                               "`pai-autopilot wire`")
    keys = webhook_keys({SECRET_ENV: webhook_secret, KEY_ID_ENV: key_id})
    if not token:
        raise SignatureRejected("bad_signature", "missing kid and token: give CloudMonitor the URL "
                                "`pai-autopilot webhook callback-url` prints")
    return "callback:" + verify_callback(query, keys, method=CMS_CALLBACK_METHOD, path=CMS_CALLBACK_PATH)


def warn_deprecated() -> None:
    """Log :data:`DEPRECATION` once per process (the variable's name only, never its value)."""
    if _warned:
        return
    _warned.append(True)
    from ..log import get_logger

    get_logger().warning("deprecated setting", setting=LEGACY_TOKEN_ENV, detail=DEPRECATION)
