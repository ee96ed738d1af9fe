"""Runtime settings, resolved once per cold start: explicit argument > environment > default.

Environment variables
---------------------
========================== ================================================= =====================
variable                   meaning                                           default
========================== ================================================= =====================
AUTOPILOT_ENDPOINT         one endpoint for every client (localcloud edge    unset (real cloud)
                           URL such as ``http://127.0.0.1:9800``)
ALIBABA_CLOUD_REGION_ID    region of every client (FC sets ``FC_REGION``)    ``cn-hangzhou``
AUTOPILOT_CONFIG           path of ``autopilot.yaml``                        ``$FC_FUNC_CODE_PATH/
                                                                             autopilot.yaml``
AUTOPILOT_BUCKET           bucket of datasets, models and the ledger         config ``storage.bucket``
                           (overrides the configuration)
AUTOPILOT_LEDGER_PREFIX    key prefix of the ledger                          config, else ``.autopilot/``
PAI_WORKSPACE_ID           PAI workspace (overrides the configuration)       config ``workspace.id``
AUTOPILOT_OSS_INTERNAL     use the ``-internal`` OSS endpoint (inside FC)    ``false``
AUTOPILOT_LOG_LEVEL        DEBUG, INFO, WARNING or ERROR                     ``INFO``
AUTOPILOT_SDK_ATTEMPTS     requests per SDK call, retries included (1-10)    ``3``
AUTOPILOT_SDK_TIMEOUT_MS   read timeout of SDK calls, milliseconds           ``10000``
AUTOPILOT_LEASE_SECONDS    how long a claim blocks others before a retry     ``360``
                           may take it over (a crashed invocation); keep
                           it above every function's timeout (300 s)
AUTOPILOT_NOTIFY_PER_MINUTE notifications per target per minute (per FC       ``20``
                           instance); a burst beyond is dropped
AUTOPILOT_WEBHOOK_URL      base URL of the webhook (signed snooze links in     unset (no links)
                           notebook warnings), e.g. ``https://x.fcapp.run``
AUTOPILOT_WEBHOOK_SECRET   HMAC key of the webhook, its signed links and the   unset
                           CloudMonitor callback token (never logged)
AUTOPILOT_WEBHOOK_KEY_ID   which key signed a link (``kid``), for rotation     ``default``
AUTOPILOT_ACCOUNT_ID       account id: the FC 3.0 endpoint of the canary     ``FC_ACCOUNT_ID``
                           kick (``<id>.<region>.fc.aliyuncs.com``)
AUTOPILOT_CANARY_FUNCTION  FC function name of the canary controller         ``pai-autopilot-canary``
AUTOPILOT_ALARM_TOKEN      deprecated (one release): a ``?token=`` for the   unset (derived token)
                           alarm function's callback URL, used by ``wire``
                           instead of the one derived from the webhook secret
AUTOPILOT_KICK_WAIT_SECONDS a kicked canary tick polls this long for the     ``90``
                           new canary to be Running
========================== ================================================= =====================

Example
-------
>>> s = Settings.resolve(environ={"AUTOPILOT_ENDPOINT": "http://127.0.0.1:9800"})
>>> s.endpoint, s.region, s.is_local
('http://127.0.0.1:9800', 'cn-hangzhou', True)
>>> Settings.resolve(region="cn-shanghai", environ={"ALIBABA_CLOUD_REGION_ID": "cn-beijing"}).region
'cn-shanghai'
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import SettingsError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_REGION = re.compile(r"^[a-z]{2,}-[a-z0-9-]+$")


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def _parse_int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(f"expected an integer, got {value!r}") from None
        if not lo <= number <= hi:
            raise ValueError(f"expected {lo}..{hi}, got {number}")
        return number

    return parse


def _parse_endpoint(value: str) -> str | None:
    value = value.strip().rstrip("/")
    if not value:
        return None
    if not re.match(r"^https?://[^/\s]+$", value):
        raise ValueError(f"expected http(s)://host[:port] with no path, got {value!r}")
    return value


def _parse_region(value: str) -> str:
    value = value.strip()
    if not _REGION.match(value):
        raise ValueError(f"expected a region id such as cn-hangzhou, got {value!r}")
    return value


def _parse_level(value: str) -> str:
    upper = value.strip().upper()
    if upper not in _LEVELS:
        raise ValueError(f"expected one of {', '.join(_LEVELS)}, got {value!r}")
    return upper


def _parse_prefix(value: str) -> str:
    value = value.strip().lstrip("/")
    if not value:
        raise ValueError("expected a non-empty key prefix")
    return value if value.endswith("/") else value + "/"


def _parse_url(value: str) -> str | None:
    value = value.strip().rstrip("/")
    if not value:
        return None
    if not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", value):
        raise ValueError(f"expected an http(s):// URL without query, got {value!r}")
    return value
def _safe_text(text: str, limit: int = 300) -> str:
    """An error text fit to print: URL userinfo and secrets removed, at most ``limit`` characters.

    Example
    -------
    >>> _safe_text("invalid AUTOPILOT_ENDPOINT: got 'http://user:pw@h/x'")
    "invalid AUTOPILOT_ENDPOINT: got 'http://***@h/x'"
    """
    from .redact import scrub

    text = scrub(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _default_config_path(environ: Mapping[str, str]) -> str:
    code_path = environ.get("FC_FUNC_CODE_PATH")
    return os.path.join(code_path, "autopilot.yaml") if code_path else "autopilot.yaml"


@dataclasses.dataclass(frozen=True)
class _Spec:
    env: tuple[str, ...]
    parse: Callable[[str], Any]
    default: Any = None


_SPECS: dict[str, _Spec] = {
    "endpoint": _Spec(("AUTOPILOT_ENDPOINT",), _parse_endpoint),
    "region": _Spec(("ALIBABA_CLOUD_REGION_ID", "FC_REGION"), _parse_region, "cn-hangzhou"),
    "config_path": _Spec(("AUTOPILOT_CONFIG",), str),
    "bucket": _Spec(("AUTOPILOT_BUCKET",), str),
    "ledger_prefix": _Spec(("AUTOPILOT_LEDGER_PREFIX",), _parse_prefix),
    "workspace_id": _Spec(("PAI_WORKSPACE_ID",), str),
    "oss_internal": _Spec(("AUTOPILOT_OSS_INTERNAL",), _parse_bool, False),
    "log_level": _Spec(("AUTOPILOT_LOG_LEVEL",), _parse_level, "INFO"),
    "sdk_attempts": _Spec(("AUTOPILOT_SDK_ATTEMPTS",), _parse_int(1, 10), 3),
    "sdk_timeout_ms": _Spec(("AUTOPILOT_SDK_TIMEOUT_MS",), _parse_int(100, 600_000), 10_000),
    "lease_seconds": _Spec(("AUTOPILOT_LEASE_SECONDS",), _parse_int(1, 86_400), 360),
    "notify_per_minute": _Spec(("AUTOPILOT_NOTIFY_PER_MINUTE",), _parse_int(1, 100_000), 20),
    # -- webhook links (notebook snooze links, issue 10; the webhook itself reads the same names)
    "webhook_url": _Spec(("AUTOPILOT_WEBHOOK_URL",), _parse_url),
    "webhook_secret": _Spec(("AUTOPILOT_WEBHOOK_SECRET",), str),
    "webhook_key_id": _Spec(("AUTOPILOT_WEBHOOK_KEY_ID",), str, "default"),
    # -- rollout (issue 12) --
    "account_id": _Spec(("AUTOPILOT_ACCOUNT_ID", "FC_ACCOUNT_ID"), str),
    "canary_function": _Spec(("AUTOPILOT_CANARY_FUNCTION",), str, "pai-autopilot-canary"),
    "alarm_token": _Spec(("AUTOPILOT_ALARM_TOKEN",), str),
    "kick_wait_seconds": _Spec(("AUTOPILOT_KICK_WAIT_SECONDS",), _parse_int(0, 900), 90),
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Validated runtime settings. Build with :meth:`resolve`, never by hand in handlers."""

    endpoint: str | None = None
    region: str = "cn-hangzhou"
    config_path: str = "autopilot.yaml"
    bucket: str | None = None
    ledger_prefix: str | None = None
    workspace_id: str | None = None
    oss_internal: bool = False
    log_level: str = "INFO"
    sdk_attempts: int = 3
    sdk_timeout_ms: int = 10_000
    lease_seconds: int = 360
    notify_per_minute: int = 20
    # -- webhook links (issue 10)
    webhook_url: str | None = None
    webhook_secret: str | None = dataclasses.field(default=None, repr=False)
    webhook_key_id: str = "default"
    #: The account id (FC sets FC_ACCOUNT_ID): the FC 3.0 endpoint is <account id>.<region>.fc.aliyuncs.com.
    account_id: str | None = None
    #: FC function name of the canary controller (what model_landed kicks).
    canary_function: str = "pai-autopilot-canary"
    #: Deprecated: a static ``?token=`` of the alarm callback URL, overriding the token derived from the webhook
    #: secret (:mod:`~pai_autopilot.ops.callback`) for one release; unset: only the derived token is accepted.
    alarm_token: str | None = dataclasses.field(default=None, repr=False)
    #: A kick waits up to this long (polling) for the new canary to be Running, so the first step
    #: follows readiness at once instead of the next timer (keep it below the canary function's timeout).
    kick_wait_seconds: int = 90

    @property
    def is_local(self) -> bool:
        """True when every client points at one endpoint override (localcloud)."""
        return self.endpoint is not None

    @classmethod
    def resolve(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Resolve every setting: explicit argument > environment variable > default.

        Raises :class:`~pai_autopilot.errors.SettingsError` naming the variable and the
        offending value.

        Example
        -------
        >>> Settings.resolve(environ={"AUTOPILOT_SDK_ATTEMPTS": "5"}).sdk_attempts
        5
        """
        env = os.environ if environ is None else environ
        unknown = set(overrides) - set(_SPECS)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, spec in _SPECS.items():
            if name in overrides and overrides[name] is not None:
                raw, source = overrides[name], f"argument {name}"
                if not isinstance(raw, str):
                    values[name] = raw
                    continue
            else:
                source, raw = next(((var, env[var]) for var in spec.env if env.get(var)), ("", None))
                if raw is None:
                    values[name] = spec.default
                    continue
            try:
                values[name] = spec.parse(raw)
            except ValueError as exc:
                raise SettingsError(_safe_text(f"invalid {source}: {exc}")) from None
        if values["config_path"] is None:
            values["config_path"] = _default_config_path(env)
        return cls(**values)


_current: list[Settings] = []


def current_settings() -> Settings:
    """The process's settings from the environment, resolved on first use (cold start)."""
    if not _current:
        _current.append(Settings.resolve())
    return _current[0]
