"""Keeping secrets out of every text that leaves the process (DESIGN.md §2, rule 8).

One place decides what is secret and how it is hidden, used by the logger (on the rendered
line, after tracebacks are rendered), the ``invocation`` decorator (results, error messages,
re-raised exceptions), event errors (echoed values) and settings errors:

* **registered values** — the access key secret and STS token (from the environment or FC's
  ``context.credentials``), every environment variable whose *name* says secret/token/password,
  notification URLs and their tokens: each is replaced wherever it appears, also URL-encoded;
* ``key=value`` / ``"key": "value"`` pairs whose key names a secret (``x-oss-security-token``,
  ``access_token``, ``SignatureProvided``, ``sign``…);
* URL userinfo (``http://user:pass@host`` → ``http://***@host``).

Example
-------
>>> register_secret("sk-Sentinel-0001")
>>> scrub("denied: secret sk-Sentinel-0001 in https://u:p@h/x?access_token=abcdef123456&b=1")
'denied: secret *** in https://***@h/x?access_token=***&b=1'
>>> scrub_value({"AccessKeySecret": "x", "list": ["sk-Sentinel-0001"]})
{'AccessKeySecret': '***', 'list': ['***']}
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***"

#: Key names whose values are secret (log keys, header names, query parameters, JSON fields).
SECRET_KEY = re.compile(r"(secret|token|password|passwd|signature|authorization|access_?key(?!_?id)|credential)", re.I)
_SECRET_ENV = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY)", re.I)
_PAIR = re.compile(
    r"(?P<key>\b[\w.-]*(?:secret|token|password|passwd|signature|authorization|credential)[\w-]*|\bsign)"
    r"(?P<sep>\\?[\"']?\s*[:=]\s*\\?[\"']?)(?P<value>[^\s\"'\\,;&}\])]{8,})",
    re.I,
)
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/@?#]+@")
#: Shortest value registered as a secret (shorter ones would blank ordinary words).
MIN_SECRET = 6

_secrets: set[str] = set()
_ordered: list[str] = []
_lock = threading.Lock()


def is_secret_key(key: Any) -> bool:
    """True when a key's name says its value is secret.

    Example
    -------
    >>> [is_secret_key(k) for k in ("x-oss-security-token", "AccessKeySecret", "sign", "access_key_id", "key")]
    [True, True, True, False, False]
    """
    return isinstance(key, str) and (bool(SECRET_KEY.search(key)) or key.lower() == "sign")


def _percent(value: str, *, plus: bool) -> str:
    out = []
    for ch in value:
        if ch.isascii() and (ch.isalnum() or ch in "-_.~"):
            out.append(ch)
        elif ch == " " and plus:
            out.append("+")
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def register_secret(*values: str | None) -> None:
    """Hide these values (and their URL-encoded spellings) wherever :func:`scrub` runs.

    Example
    -------
    >>> register_secret("a/b+c=Token9")
    >>> scrub("x=a%2Fb%2Bc%3DToken9")
    'x=***'
    """
    new = []
    for value in values:
        if not isinstance(value, str) or len(value) < MIN_SECRET:
            continue
        for form in {value, _percent(value, plus=False), _percent(value, plus=True), value.replace("/", "\\/")}:
            if form not in _secrets:
                new.append(form)
    if not new:
        return
    with _lock:
        _secrets.update(new)
        _ordered[:] = sorted(_secrets, key=len, reverse=True)


def register_url(url: str | None) -> None:
    """Register a webhook URL as secret: the whole URL, its query values and long path segments.

    Example
    -------
    >>> register_url("https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c3d-4e5f-6789")
    >>> scrub("POST failed: /open-apis/bot/v2/hook/0a1b2c3d-4e5f-6789")
    'POST failed: /open-apis/bot/v2/hook/***'
    """
    if not url:
        return
    register_secret(url)
    rest = url.split("://", 1)[-1]
    path, _, query = rest.partition("?")
    parts = [seg for seg in path.split("/")[1:] if len(seg) >= 12]
    parts += [pair.partition("=")[2] for pair in query.split("&")]
    register_secret(*parts)


def register_env_secrets(environ: Mapping[str, str] | None = None) -> None:
    """Register every environment variable whose name says secret, token or password.

    Example
    -------
    >>> register_env_secrets({"AUTOPILOT_WEBHOOK_SECRET": "whsec-0123456789", "HOME": "/root"})
    >>> scrub("whsec-0123456789 /root")
    '*** /root'
    """
    env = os.environ if environ is None else environ
    register_secret(*(value for name, value in env.items() if _SECRET_ENV.search(name)))


def register_context_credentials(context: Any) -> None:
    """Register the secret parts of FC's ``context.credentials`` (python3.10 runtime)."""
    creds = getattr(context, "credentials", None)
    if creds is not None:
        register_secret(getattr(creds, "access_key_secret", None), getattr(creds, "security_token", None))


def strip_userinfo(text: str) -> str:
    """``scheme://user:pass@host`` → ``scheme://***@host``.

    Example
    -------
    >>> strip_userinfo("AUTOPILOT_ENDPOINT=http://admin:hunter2@127.0.0.1:9800")
    'AUTOPILOT_ENDPOINT=http://***@127.0.0.1:9800'
    """
    return _USERINFO.sub(lambda m: m.group("scheme") + REDACTED + "@", text)


def scrub(text: str) -> str:
    """``text`` with every registered secret, secret-named pair and URL userinfo hidden.

    Example
    -------
    >>> scrub("'x-oss-security-token': 'CAISsentinelToken0001'")
    "'x-oss-security-token': '***'"
    """
    if not isinstance(text, str) or not text:
        return text
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _PAIR.sub(lambda m: m.group("key") + m.group("sep") + REDACTED, text)
    return strip_userinfo(text) if "@" in text else text


def scrub_value(value: Any, _depth: int = 0) -> Any:
    """A copy of JSON-like ``value`` with secret-named keys redacted and every string scrubbed.

    Example
    -------
    >>> scrub_value({"error": "https://a:b@h", "n": 1, "token": "abc"})
    {'error': 'https://***@h', 'n': 1, 'token': '***'}
    """
    if isinstance(value, str):
        return scrub(value)
    if _depth > 50:
        return "<too deep>"
    if isinstance(value, dict):
        return {k: (REDACTED if is_secret_key(k) and value[k] not in (None, "") else scrub_value(v, _depth + 1))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_value(v, _depth + 1) for v in value]
    return value


def secret_values() -> Iterable[str]:
    """The registered secret spellings (for tests)."""
    return tuple(_ordered)
