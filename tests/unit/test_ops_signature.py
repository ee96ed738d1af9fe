"""Webhook signatures, the replay guard and the route table (pure, no I/O)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pai_autopilot.ledger import MemoryStore
from pai_autopilot.ops.nonces import record_nonce, sweep
from pai_autopilot.ops.routes import NoRoute, RouteMatch, WrongMethod, match
from pai_autopilot.ops.signature import Secret, SignatureRejected, SignedRequest, signed_headers, verify

KEYS = {"ci": Secret("c" * 32)}
NOW = 1_767_225_600

parts = st.fixed_dictionaries({
    "method": st.sampled_from(["GET", "POST"]),
    "path": st.text(min_size=1, max_size=40).map(lambda s: "/" + s),
    "query": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    "body": st.binary(max_size=200),
})


def request(p: dict, headers: dict[str, str]) -> SignedRequest:
    return SignedRequest.from_headers(headers, method=p["method"], path=p["path"], body=p["body"], query=p["query"])


@settings(max_examples=60, deadline=None)
@given(original=parts, changed=parts, field=st.sampled_from(["method", "path", "query", "body"]))
def test_a_signed_request_verifies_and_any_change_breaks_it(original, changed, field):
    headers = signed_headers(KEYS["ci"], "ci", original["method"], original["path"], original["body"],
                             query=original["query"], now=NOW)
    assert verify(request(original, headers), KEYS, now=NOW).key_id == "ci"
    tampered = {**original, field: changed[field]}
    if tampered[field] == original[field]:
        return
    with pytest.raises(SignatureRejected) as rejected:
        verify(request(tampered, headers), KEYS, now=NOW)
    assert rejected.value.reason == "bad_signature"


@pytest.mark.parametrize(("offset", "reason"), [(300, None), (-300, None), (301, "stale"), (-301, "stale")])
def test_the_clock_skew_is_300_seconds_either_way(offset, reason):
    p = {"method": "GET", "path": "/v1/status", "query": {}, "body": b""}
    headers = signed_headers(KEYS["ci"], "ci", "GET", "/v1/status", now=NOW)
    if reason is None:
        assert verify(request(p, headers), KEYS, now=NOW + offset).timestamp == NOW
        return
    with pytest.raises(SignatureRejected) as rejected:
        verify(request(p, headers), KEYS, now=NOW + offset)
    assert rejected.value.reason == reason


def test_malformed_headers_are_bad_signatures_and_never_echo_the_secret():
    p = {"method": "GET", "path": "/v1/status", "query": {}, "body": b""}
    good = signed_headers(KEYS["ci"], "ci", "GET", "/v1/status", now=NOW)
    for change in ({"X-Autopilot-Timestamp": "12e3"}, {"X-Autopilot-Nonce": "short"}, {"X-Autopilot-Signature": good["X-Autopilot-Signature"][3:]},
                   {"X-Autopilot-Key-Id": "nope"}, {"X-Autopilot-Signature": "v2=" + "0" * 64}):
        with pytest.raises(SignatureRejected) as rejected:
            verify(request(p, {**good, **change}), KEYS, now=NOW)
        assert rejected.value.reason == "bad_signature" and "c" * 16 not in str(rejected.value)
    wrong = signed_headers(Secret("w" * 32), "ci", "GET", "/v1/status", now=NOW)
    with pytest.raises(SignatureRejected, match="does not match"):
        verify(request(p, wrong), KEYS, now=NOW)
    assert repr(KEYS) == "{'ci': Secret('***')}" and "c" * 16 not in f"{KEYS['ci']}"


def test_a_nonce_is_accepted_once_and_the_listing_stays_bounded():
    store = MemoryStore()
    assert record_nonce(store, "p/", key_id="ci", nonce="n" * 16, timestamp=NOW, now=NOW)
    assert not record_nonce(store, "p/", key_id="ci", nonce="n" * 16, timestamp=NOW, now=NOW + 1)  # replay
    assert record_nonce(store, "p/", key_id="other", nonce="n" * 16, timestamp=NOW, now=NOW)  # another key's
    # one request a minute for a day, each sweeping: never more than ~3 windows (15 min) of nonces kept
    sizes = []
    for minute in range(1, 24 * 60):
        now = NOW + minute * 60
        assert record_nonce(store, "p/", key_id="ci", nonce=f"{minute:016d}", timestamp=now, now=now)
        sweep(store, "p/", now=now)
        sizes.append(len(store.list_keys("p/")))
    assert max(sizes) <= 15
    # a nonce is never swept while its timestamp could still be accepted
    assert not record_nonce(store, "p/", key_id="ci", nonce=f"{24 * 60 - 1:016d}", timestamp=NOW + (24 * 60 - 1) * 60, now=NOW + 24 * 3600 + 299)


def test_routes():
    assert match("GET", "/v1/timeline/demo/v 1") == RouteMatch("timeline", {"pipeline": "demo", "version": "v 1"})
    assert match("GET", "/v1/notebooks/dsw-1/snooze").link_auth and not match("POST", "/v1/notebooks/dsw-1/snooze").link_auth
    assert match("PUT", "/v1/rollouts/demo/abort") == WrongMethod(("POST",))
    assert isinstance(match("GET", "/"), NoRoute) and isinstance(match("GET", "/v1/runs/"), NoRoute)


def test_the_signed_sample_event_verifies_under_the_demo_secret():
    import json

    from pai_autopilot.events import parse_event

    from ..conftest import load_event
    from .test_events_http_timer import assert_request_matches

    req = parse_event(load_event("httpWebhookSigned.json"))
    assert_request_matches(req, json.loads(load_event("httpWebhookSigned.json")))  # field by field
    signed = SignedRequest.from_headers(req.headers, method=req.method, path=req.path, body=req.body, query=req.query)
    assert verify(signed, {"ci": Secret("demo-webhook-secret-0123456789")}, now=1714557600 + 10).key_id == "ci"
    with pytest.raises(SignatureRejected):
        verify(SignedRequest.from_headers(req.headers, method="POST", path=req.path, body=req.body + b" ", query=req.query),
               {"ci": Secret("demo-webhook-secret-0123456789")}, now=1714557600)


@pytest.mark.parametrize(("size", "b64", "status"), [((1 << 20), False, 401), ((1 << 20), True, 401),
                                                     ((1 << 20) + 1, False, 413), ((1 << 20) + 1, True, 413)])
def test_the_body_limit_is_one_mib_however_the_body_travels(size, b64, status):
    import base64
    import json

    from pai_autopilot.ops.webhook import handle

    body = b"x" * size
    event = {"version": "v1", "rawPath": "/v1/retrain", "isBase64Encoded": b64, "headers": {},
             "body": base64.b64encode(body).decode() if b64 else body.decode(),
             "requestContext": {"http": {"method": "POST", "path": "/v1/retrain"}}}
    response = handle(json.dumps(event).encode(), None, environ={"AUTOPILOT_WEBHOOK_SECRET": "s" * 32},
                      runtime_factory=lambda: pytest.fail("an unsigned request needs no runtime"))
    assert response["statusCode"] == status  # 401: under the limit, refused for its (missing) signature
