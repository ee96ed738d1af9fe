"""localcloud's OSS signature checks agree with oss2's own signing (v1, v4, STS, presigned URLs)."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, unquote, urlsplit

import oss2
import pytest

from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID as AK
from localcloud.core.credentials import LOCAL_ACCESS_KEY_SECRET as SK
from localcloud.core.credentials import CredentialStore
from localcloud.core.errors import ServiceError
from localcloud.oss.auth import Authenticator, SignedRequest, v1_signature, v1_string_to_sign

REGION = "cn-hangzhou"
KEY = "datasets/demo/v 1+x/数据.csv"
PARAMS = {"acl": "", "continuation-token": "tok/en", "prefix": "a b+c", "max-keys": "10"}
HEADERS = {
    "Content-Type": "text/csv", "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
    "x-oss-meta-Zeta": "z", "x-oss-meta-alpha": "a b", "x-oss-forbid-overwrite": "true",
}


def signed_by_oss2(auth: object, method: str = "PUT", bucket: str = "bkt", key: str = KEY) -> oss2.http.Request:
    """A request as oss2 would send it, after oss2's auth object signed it."""
    req = oss2.http.Request(method, "http://127.0.0.1/", params=dict(PARAMS), headers=dict(HEADERS),
                            region=REGION, product="oss")
    auth._sign_request(req, bucket, key)  # type: ignore[attr-defined]
    return req


def as_received(req: oss2.http.Request, bucket: str = "bkt", key: str = KEY) -> SignedRequest:
    headers = [(k, v) for k, v in req.headers.items() if v is not None]
    return SignedRequest(req.method, bucket, key, list(req.params.items()), headers)


@pytest.fixture
def authenticator() -> Authenticator:
    return Authenticator(CredentialStore(), region=REGION)


def test_v1_string_to_sign_matches_oss2(authenticator: Authenticator) -> None:
    # given a request signed by oss2.Auth (subresources, plain params, x-oss headers, odd key)
    req = signed_by_oss2(oss2.Auth(AK, SK))

    # when localcloud rebuilds the string to sign, then it yields oss2's very signature
    ours = as_received(req)
    string_to_sign = v1_string_to_sign(ours)
    assert req.headers["authorization"] == f"OSS {AK}:{v1_signature(SK, string_to_sign)}"
    # (subresources are signed, plain parameters are not; the key is signed unencoded)
    assert string_to_sign.endswith(f"/bkt/{KEY}?acl&continuation-token=tok/en".encode())
    assert b"x-oss-meta-alpha:a b\nx-oss-meta-zeta:z\n" in string_to_sign

    # and the authenticator accepts it
    assert authenticator.authenticate(ours, now=time.time()) == AK


@pytest.mark.parametrize("bucket,key", [("bkt", KEY), ("bkt", ""), ("", "")])
def test_v4_matches_oss2_for_object_bucket_and_service(authenticator: Authenticator, bucket: str, key: str) -> None:
    # given a request signed by oss2.AuthV4
    req = signed_by_oss2(oss2.AuthV4(AK, SK), bucket=bucket, key=key)
    assert req.headers["authorization"].startswith(f"OSS4-HMAC-SHA256 Credential={AK}/")

    # when localcloud verifies it, then it accepts it
    assert authenticator.authenticate(as_received(req, bucket, key), now=time.time()) == AK


@pytest.mark.parametrize("auth_class", [oss2.Auth, oss2.AuthV4])
def test_a_tampered_request_is_refused(authenticator: Authenticator, auth_class: type) -> None:
    # given a signed request whose signed header then changes
    req = signed_by_oss2(auth_class(AK, SK))
    req.headers["x-oss-meta-alpha"] = "changed"

    # when verified, then SignatureDoesNotMatch (403) with the server's string to sign
    with pytest.raises(ServiceError) as exc:
        authenticator.authenticate(as_received(req), now=time.time())
    assert (exc.value.status, exc.value.code) == (403, "SignatureDoesNotMatch")
    assert exc.value.extra["OSSAccessKeyId"] == AK
    assert exc.value.extra["StringToSign"]


@pytest.mark.parametrize("auth_version", ["v1", "v4"])
def test_sts_signatures_need_their_token(auth_version: str) -> None:
    # given an STS triple and a request oss2.StsAuth signed with it
    store = CredentialStore()
    sts = store.issue_sts()
    assert sts.security_token is not None
    authenticator = Authenticator(store, region=REGION)
    req = signed_by_oss2(oss2.StsAuth(sts.access_key_id, sts.access_key_secret, sts.security_token, auth_version))

    # when verified as sent, then accepted
    assert authenticator.authenticate(as_received(req), now=time.time()) == sts.access_key_id

    # when the token is dropped, then InvalidSecurityToken
    req.headers.pop("x-oss-security-token")
    with pytest.raises(ServiceError) as exc:
        authenticator.authenticate(as_received(req), now=time.time())
    assert (exc.value.status, exc.value.code) == (403, "InvalidSecurityToken")


@pytest.mark.parametrize("auth_class", [oss2.Auth, oss2.AuthV4])
def test_presigned_urls_match_oss2_and_expire(authenticator: Authenticator, auth_class: type) -> None:
    # given a URL oss2 presigned for 60 s
    client = oss2.Bucket(auth_class(AK, SK), "http://127.0.0.1:9", "bkt", region=REGION)
    url = urlsplit(client.sign_url("GET", KEY, 60))
    bucket, _, raw_key = url.path.lstrip("/").partition("/")
    received = SignedRequest("GET", bucket, unquote(raw_key), parse_qsl(url.query, keep_blank_values=True), [])

    # when verified now, then accepted; an hour later, then AccessDenied "Request has expired."
    assert authenticator.authenticate(received, now=time.time()) == AK
    with pytest.raises(ServiceError) as exc:
        authenticator.authenticate(received, now=time.time() + 3600)
    assert (exc.value.status, exc.value.code, exc.value.message) == (403, "AccessDenied", "Request has expired.")
