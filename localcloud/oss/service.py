"""``OssService``: OSS on localcloud's edge — parse, authenticate, route, answer.

Every answer carries ``x-oss-request-id`` (24 upper-case hex digits, like OSS's); the HTTP
server adds ``Date`` and ``Server``. Once routed and authenticated, a request goes through the
fault injector under its OSS operation name (``faults.check("oss", "PutObject")``); an injected
error is answered as an OSS XML error, with the fault's status, code and headers.

Example
-------
>>> from localcloud.core.clock import Clock
>>> from localcloud.core.credentials import CredentialStore
>>> from localcloud.core.events import EventHub
>>> oss = OssService(clock=Clock(), credentials=CredentialStore(), hub=EventHub(),
...                  region="cn-hangzhou", account_id="1", data_dir=None)
>>> oss.create_bucket("demo"); oss.create_bucket("demo")
>>> list(oss.state()["buckets"])
['demo']
>>> oss.tick(oss.clock.now())   # lifecycle rules: nothing to expire
0
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import traceback
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from ..core.clock import Clock
from ..core.credentials import CredentialStore
from ..core.errors import ServiceError
from ..core.events import EventHub
from ..core.faults import FaultInjector
from .auth import Authenticator, is_anonymous
from .models import MAX_BUCKETS, OssBackend
from .responses import OssRequest, OssResponses, error_response
from .urls import FORM, Route, match_route

log = logging.getLogger("localcloud.oss")
MAX_BUCKETS_ENV = "LOCALCLOUD_OSS_MAX_BUCKETS"


def bucket_cap(explicit: int | None = None) -> int:
    """The bucket cap: ``explicit`` > ``LOCALCLOUD_OSS_MAX_BUCKETS`` > OSS's default (100 per region).

    >>> bucket_cap(3), bucket_cap()
    (3, 100)
    """
    if explicit is not None:
        return explicit
    raw = os.environ.get(MAX_BUCKETS_ENV, "").strip()
    if not raw:
        return MAX_BUCKETS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{MAX_BUCKETS_ENV} must be a positive integer, got {raw!r}")
    return int(raw)


_ID_PREFIX = secrets.token_hex(4).upper()
_ID_COUNTER = itertools.count(int.from_bytes(secrets.token_bytes(6), "big"))


def new_request_id() -> str:
    """An OSS-style request id: 24 upper-case hex digits, unique in this process (a random
    prefix and a counter: no entropy read per request)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFFFFFFFFFF:016X}"


class OssService:
    """The OSS endpoint of one :class:`~localcloud.cloud.LocalCloud` (path-style URLs)."""

    name = "oss"

    def __init__(
        self,
        *,
        clock: Clock,
        credentials: CredentialStore,
        hub: EventHub,
        region: str,
        account_id: str,
        data_dir: Path | None = None,
        faults: FaultInjector | None = None,
        max_buckets: int | None = None,
    ) -> None:
        self.clock = clock
        self.region = region
        self._owns_faults = faults is None
        self.faults = faults if faults is not None else FaultInjector()
        self.backend = OssBackend(
            clock=clock, hub=hub, region=region, account_id=account_id, data_dir=data_dir,
            max_buckets=bucket_cap(max_buckets),
        )
        self.authenticator = Authenticator(credentials, region=region)
        self.responses = OssResponses(self.backend)

    def handle(self, request: Request) -> Response:
        """Answer one OSS request (never raises: errors become OSS error responses)."""
        request_id = new_request_id()
        host_id = request.host or "localhost"
        try:
            req = OssRequest(request, request_id)
            host_id = f"{req.bucket}.{host_id}" if req.bucket else host_id
            route, caller = self._route(req)
            request.environ.update({"localcloud.service": self.name, "localcloud.operation": route.operation,
                                    "localcloud.caller": caller})
            injected = self.faults.check(self.name, route.operation, request.path)
            if injected is not None:
                raise injected
            response: Response = getattr(self.responses, route.action)(req)
        except ServiceError as error:
            response = error_response(error, request_id, host_id=host_id, method=request.method.upper())
        except Exception:  # an emulator bug must reach the client as a 500, and the log
            log.error("unhandled error in OSS request %s %s\n%s", request.method, request.path, traceback.format_exc())
            error = ServiceError("InternalError", "We encountered an internal error. Please try again.", status=500)
            response = error_response(error, request_id, host_id=host_id, method=request.method.upper())
        response.headers["x-oss-request-id"] = request_id
        return response

    def _route(self, req: OssRequest) -> tuple[Route, str]:
        """The request's route and caller (access key id; ``""`` when anonymous), once authenticated
        (a routing error comes after an authentication error, so an unsigned call to anything is
        ``AccessDenied``). An unsigned call is served when the bucket's or object's ACL grants it to anyone."""
        signed = req.signed()
        caller = ""
        try:
            route = match_route(req.method, req.shape, req.params, req.headers)
        except ServiceError as unroutable:
            self.authenticator.authenticate(signed, now=self.clock.now())
            if req.bucket and unroutable.code == "NotImplemented":
                self.backend.bucket(req.bucket)  # OSS answers NoSuchBucket first
            raise unroutable from None
        if route.auth == FORM:
            fields = req.form_fields()
            unsigned = "ossaccesskeyid" not in fields and "x-oss-signature-version" not in fields
            if not (unsigned and self.backend.anonymous_allowed(route.operation, req.bucket, "")):
                caller = self.authenticator.authenticate_form(fields)
        elif not (is_anonymous(signed) and self.backend.anonymous_allowed(route.operation, req.bucket, req.key)):
            caller = self.authenticator.authenticate(signed, now=self.clock.now())
        return route, caller

    def reset(self) -> None:
        """Forget every bucket, object, upload and lifecycle rule (and the faults, unless shared)."""
        self.backend.reset()
        if self._owns_faults:
            self.faults.clear()

    def tick(self, now: float) -> int:
        """Apply the buckets' lifecycle rules at ``now``: delete the expired objects (no events) and
        abort expired multipart uploads. Returns the number of objects deleted."""
        return self.backend.apply_lifecycle(now)

    def state(self) -> dict[str, Any]:
        """Buckets and their objects (key → size, etag) as JSON-able data."""
        return self.backend.state()

    def bucket_names(self) -> list[str]:
        """Every bucket's name, sorted."""
        return self.backend.bucket_names()

    def create_bucket(self, name: str) -> None:
        """Create ``name`` unless it exists (``pai-autopilot local up`` creates the configured buckets)."""
        self.backend.create_bucket(name)
