"""What one invocation works with: settings, configuration, clients and the ledger.

Built per invocation by the use-case functions (never at import time); clients are created
lazily the first time a path needs one.

Example
-------
>>> from .settings import Settings
>>> from .clients import Credentials
>>> from .config import parse_config
>>> cfg = parse_config("version: 1\\nstorage: {bucket: demo-bucket}\\npipelines: {}\\n")
>>> rt = Runtime(Settings.resolve(environ={}), cfg, Credentials("ak", "sk"), request_id="r-1")
>>> rt.bucket_name, rt.ledger_prefix
('demo-bucket', '.autopilot/')
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from .clients import Clients, Credentials, clients
from .config import AutopilotConfig
from .ledger import Ledger, OssStore
from .settings import Settings


class Runtime:
    """Settings + configuration + lazily built clients and ledger for one invocation."""

    def __init__(
        self,
        settings: Settings,
        config: AutopilotConfig,
        credentials: Credentials,
        *,
        request_id: str | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.config = config
        self.credentials = credentials
        self.request_id = request_id
        self.now = now

    @property
    def bucket_name(self) -> str:
        """``AUTOPILOT_BUCKET`` if set, else the configuration's ``storage.bucket``."""
        return self.settings.bucket or self.config.storage.bucket

    @property
    def ledger_prefix(self) -> str:
        return self.settings.ledger_prefix or self.config.storage.ledger_prefix

    @property
    def workspace_id(self) -> str:
        return self.settings.workspace_id or self.config.workspace.id

    @functools.cached_property
    def clients(self) -> Clients:
        return clients(self.settings, self.credentials)

    @functools.cached_property
    def ledger(self) -> Ledger:
        return Ledger(OssStore(self.clients.bucket(self.bucket_name)), prefix=self.ledger_prefix, now=self.now)

    def describe(self) -> dict[str, Any]:
        return {"bucket": self.bucket_name, "endpoint": self.settings.endpoint, "region": self.settings.region}
