"""The one SDK client factory: every Alibaba Cloud client the functions use is built here.

* Credentials come from the standard ``ALIBABA_CLOUD_ACCESS_KEY_ID`` /
  ``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` / ``ALIBABA_CLOUD_SECURITY_TOKEN`` variables (FC sets them
  for the function's role; ``context.credentials`` is only a fallback: python3.12 dropped it).
  They are re-read per invocation, since STS tokens expire.
* ``Settings.endpoint`` (``AUTOPILOT_ENDPOINT``) points **every** client at one endpoint —
  localcloud. That is the only difference between cloud and local.
* POP clients retry throttling and 5xx with exponential backoff through
  ``Config.retry_options``, the only place the darabonba core reads retry settings
  (reference/alibaba-api.md §7). OSS calls are retried by :func:`retry_oss`.
* SDKs are imported lazily, inside the functions that build a client.

Example
-------
>>> creds = Credentials.from_env({"ALIBABA_CLOUD_ACCESS_KEY_ID": "ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sk"})
>>> creds.security_token is None
True
>>> from .settings import Settings
>>> oss_endpoint(Settings.resolve(environ={}))
'https://oss-cn-hangzhou.aliyuncs.com'
"""

from __future__ import annotations

import dataclasses
import functools
import os
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import SettingsError, TransientError
from .settings import Settings

if TYPE_CHECKING:
    import oss2
    from alibabacloud_pai_dlc20201203.client import Client as DlcClient

T = TypeVar("T")

#: Error codes retried on top of every 5xx and every response with ``x-acs-retry-after``.
RETRYABLE_CODES = ("Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable", "InternalError")


@dataclasses.dataclass(frozen=True)
class Credentials:
    """An AccessKey pair, with the STS token when the key is temporary."""

    access_key_id: str
    access_key_secret: str = dataclasses.field(repr=False)
    security_token: str | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, context: Any = None) -> Credentials:
        """Read the ``ALIBABA_CLOUD_*`` variables, else ``context.credentials`` (python3.10)."""
        env = os.environ if environ is None else environ
        ak, sk = env.get("ALIBABA_CLOUD_ACCESS_KEY_ID"), env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        if ak and sk:
            return cls(ak, sk, env.get("ALIBABA_CLOUD_SECURITY_TOKEN") or None)
        fc_creds = getattr(context, "credentials", None)
        if fc_creds is not None and getattr(fc_creds, "access_key_id", None):
            return cls(fc_creds.access_key_id, fc_creds.access_key_secret, getattr(fc_creds, "security_token", None))
        raise SettingsError(
            "no credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET "
            "(FC sets them from the function's role; locally run: eval \"$(pai-autopilot local env)\")"
        )


def oss_endpoint(settings: Settings) -> str:
    """The OSS endpoint: the override, else the region's public or internal endpoint."""
    if settings.endpoint:
        return settings.endpoint
    suffix = "-internal" if settings.oss_internal else ""
    return f"https://oss-{settings.region}{suffix}.aliyuncs.com"


def pop_endpoint(settings: Settings, product_host: str) -> tuple[str, str]:
    """(endpoint, protocol) for a POP product such as ``pai-dlc``."""
    if settings.endpoint:
        protocol, _, host = settings.endpoint.partition("://")
        return host, protocol
    return f"{product_host}.{settings.region}.aliyuncs.com", "https"


def pop_config(settings: Settings, credentials: Credentials, product_host: str) -> Any:
    """A tea-openapi ``Config`` with credentials, endpoint, timeouts and bounded retries."""
    from alibabacloud_tea_openapi.models import Config
    from darabonba.policy.retry import RetryCondition, RetryOptions

    endpoint, protocol = pop_endpoint(settings, product_host)
    retry = RetryOptions(
        retryable=True,
        retry_condition=[
            RetryCondition(
                max_attempts=settings.sdk_attempts,
                exception=["ServerException", "ThrottlingException"],
                error_code=list(RETRYABLE_CODES),
                backoff={"policy": "ExponentialWithEqualJitter", "period": 200, "cap": 5000},
                max_delay=10_000,
            )
        ],
    )
    return Config(
        access_key_id=credentials.access_key_id,
        access_key_secret=credentials.access_key_secret,
        security_token=credentials.security_token,
        endpoint=endpoint,
        protocol=protocol,
        region_id=settings.region,
        read_timeout=settings.sdk_timeout_ms,
        connect_timeout=5000,
        retry_options=retry,
    )


class Clients:
    """Lazily built clients for one (settings, credentials) pair. Get one with :func:`clients`."""

    def __init__(self, settings: Settings, credentials: Credentials) -> None:
        self.settings = settings
        self.credentials = credentials
        self._buckets: dict[str, Any] = {}
        self._dlc: Any = None
        self._pop: dict[str, Any] = {}

    def bucket(self, name: str) -> oss2.Bucket:
        """An ``oss2.Bucket`` (signature v4 with the region, STS token when present)."""
        if name not in self._buckets:
            import oss2

            creds = self.credentials
            if creds.security_token:
                auth: Any = oss2.StsAuth(creds.access_key_id, creds.access_key_secret, creds.security_token, auth_version="v4")
            else:
                auth = oss2.AuthV4(creds.access_key_id, creds.access_key_secret)
            self._buckets[name] = oss2.Bucket(
                auth, oss_endpoint(self.settings), name, region=self.settings.region, connect_timeout=30
            )
        return self._buckets[name]

    @property
    def dlc(self) -> DlcClient:
        """The PAI-DLC 2020-12-03 client."""
        if self._dlc is None:
            from alibabacloud_pai_dlc20201203.client import Client

            self._dlc = Client(pop_config(self.settings, self.credentials, "pai-dlc"))
        return self._dlc

    def _pop_client(self, module: str, product_host: str) -> Any:
        if module not in self._pop:
            import importlib

            client_class = importlib.import_module(f"{module}.client").Client
            self._pop[module] = client_class(pop_config(self.settings, self.credentials, product_host))
        return self._pop[module]

    @property
    def eas(self) -> Any:
        """The PAI-EAS 2021-07-01 client (services, groups, release weights, autoscaler)."""
        return self._pop_client("alibabacloud_eas20210701", "pai-eas")

    @property
    def cms(self) -> Any:
        """The CloudMonitor 2019-01-01 client (metrics, alarm rules)."""
        return self._pop_client("alibabacloud_cms20190101", "metrics")

    @property
    def dsw(self) -> Any:
        """The PAI-DSW 2022-01-01 client (notebook instances, idle cullers)."""
        return self._pop_client("alibabacloud_pai_dsw20220101", "pai-dsw")

    @property
    def fc(self) -> Any:
        """The Function Compute 3.0 (2023-03-30) client: InvokeFunction for the canary kick.

        In the cloud its endpoint is ``<account id>.<region>.fc.aliyuncs.com`` (``account_id``
        setting, which FC sets as ``FC_ACCOUNT_ID``); ``AUTOPILOT_ENDPOINT`` overrides it.
        """
        if "alibabacloud_fc20230330" not in self._pop:
            account = self.settings.account_id
            if not self.settings.endpoint and not account:
                raise SettingsError("the FC 3.0 client needs the account id: set AUTOPILOT_ACCOUNT_ID "
                                    "(FC sets FC_ACCOUNT_ID in every function)")
            from alibabacloud_fc20230330.client import Client

            config = pop_config(self.settings, self.credentials, "fc")
            if not self.settings.endpoint:
                config.endpoint = f"{account}.{self.settings.region}.fc.aliyuncs.com"
            self._pop["alibabacloud_fc20230330"] = Client(config)
        return self._pop["alibabacloud_fc20230330"]


@functools.lru_cache(maxsize=8)
def _cached_clients(settings: Settings, credentials: Credentials) -> Clients:
    return Clients(settings, credentials)


def clients(settings: Settings, credentials: Credentials | None = None, context: Any = None) -> Clients:
    """The :class:`Clients` for these settings and credentials (reused across warm invocations)."""
    return _cached_clients(settings, credentials or Credentials.from_env(context=context))


def retry_oss(operation: Callable[[], T], *, attempts: int = 3, base_delay: float = 0.2) -> T:
    """Run an OSS call, retrying network errors, 5xx and throttling with jittered backoff.

    Exhausted retries raise :class:`TransientError` (FC retries the invocation); other OSS
    errors propagate unchanged for the caller to classify.

    Example
    -------
    >>> retry_oss(lambda: 42)
    42
    """
    import oss2

    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except oss2.exceptions.OssError as exc:
            status = getattr(exc, "status", 0)
            retryable = status in (-2, 429) or status >= 500 or getattr(exc, "code", "") in RETRYABLE_CODES
            if not retryable:
                raise
            if attempt == attempts:
                detail = f"{exc.code}: {exc.message}" if getattr(exc, "code", "") else _request_error(exc)
                raise TransientError(f"OSS call failed after {attempts} attempts", details=detail) from exc
            time.sleep(base_delay * (2 ** (attempt - 1)) * (0.5 + random.random() / 2))
    raise AssertionError("unreachable")


def _request_error(exc: Exception) -> str:
    """What an oss2 ``RequestError`` (no HTTP answer) says: the cause, e.g. ``connection refused``."""
    text = str(getattr(exc, "exception", "") or exc)
    for needle in ("Connection refused", "Name or service not known", "timed out", "Connection reset"):
        if needle in text:
            return needle.lower()
    return text[:200]


def eventbridge_client(settings: Settings, credentials: Credentials) -> Any:
    """The EventBridge 2020-04-01 client (used by ``pai-autopilot wire``, not by functions)."""
    from alibabacloud_eventbridge20200401.client import Client

    return Client(pop_config(settings, credentials, "eventbridge"))
