"""Access keys localcloud accepts: static AccessKey pairs and STS tokens.

The defaults are what ``pai-autopilot local env`` prints. The local FC runtime hands each
function an STS triple (like FC does), so the security-token paths are exercised too.

Example
-------
>>> store = CredentialStore()
>>> store.secret_for(LOCAL_ACCESS_KEY_ID, None)
'localcloud-secret'
>>> sts = store.issue_sts()
>>> store.secret_for(sts.access_key_id, sts.security_token) == sts.access_key_secret
True
"""

from __future__ import annotations

import dataclasses
import secrets
import threading

from .errors import ServiceError

LOCAL_ACCOUNT_ID = "1234567890123456"
LOCAL_ACCESS_KEY_ID = "LTAI5tLocalCloudKey"
LOCAL_ACCESS_KEY_SECRET = "localcloud-secret"


@dataclasses.dataclass(frozen=True)
class Credential:
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None


class CredentialStore:
    """Known credentials. Unknown keys and wrong tokens raise the platform's errors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, Credential] = {}
        self.add(Credential(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET))

    def add(self, credential: Credential) -> None:
        with self._lock:
            self._keys[credential.access_key_id] = credential

    def issue_sts(self) -> Credential:
        """Issue a fresh STS triple (``STS.``-prefixed id, secret and token)."""
        cred = Credential(
            access_key_id="STS." + secrets.token_hex(10),
            access_key_secret=secrets.token_urlsafe(24),
            security_token="CAIS" + secrets.token_urlsafe(48),
        )
        self.add(cred)
        return cred

    def secret_for(self, access_key_id: str, security_token: str | None) -> str:
        """The secret to verify a signature with, after checking the key and its token.

        Raises ``InvalidAccessKeyId`` (unknown key) or ``InvalidSecurityToken`` (STS key
        without its token, or with another one). Callers map the code to their protocol.
        """
        with self._lock:
            cred = self._keys.get(access_key_id)
        if cred is None:
            raise ServiceError(
                "InvalidAccessKeyId", f"The Access Key Id you provided does not exist: {access_key_id}",
                status=403,
            )
        if cred.security_token is not None and security_token != cred.security_token:
            raise ServiceError("InvalidSecurityToken", "The security token you provided is invalid.", status=403)
        return cred.access_key_secret
