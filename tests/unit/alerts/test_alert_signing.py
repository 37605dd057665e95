"""Webhook HMAC signatures verify, refuse tampering and stale timestamps, never leak the secret."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import httpx
import pytest
from pydantic import SecretStr

from alerts.model import Transition
from alerts.notifiers import DeliveryError
from alerts.notifiers.webhook import WebhookNotifier
from alerts.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, sign, verify

SECRET = b"s3cr3t-value-for-tests"
BODY = b'{"version":"1","transitions":[]}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    """The header value is `sha256=` + hex HMAC-SHA256 over `timestamp + "." + body`."""
    expected = hmac.new(SECRET, b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1700000000", BODY) == f"sha256={expected}"


@pytest.mark.parametrize(
    ("timestamp", "body", "signature", "now", "reason"),
    [
        ("1700000000", BODY + b" ", None, 1700000000, "does not match"),
        ("1700000001", BODY, None, 1700000000, "does not match"),
        ("1700000000", BODY, "sha256=" + "0" * 64, 1700000000, "does not match"),
        ("1700000000", BODY, "md5=abc", 1700000000, "unsupported signature scheme"),
        ("1700000000", BODY, None, 1700000301, "outside the 300 s tolerance"),
        ("1700000000", BODY, None, 1699999699, "outside the 300 s tolerance"),
        ("", BODY, None, 1700000000, "missing"),
        ("yesterday", BODY, None, 1700000000, "not Unix seconds"),
    ],
)
def test_verify_rejects(
    timestamp: str, body: bytes, signature: str | None, now: float, reason: str
) -> None:
    """Tampered bodies or timestamps, bad signatures and stale or future timestamps are refused."""
    good = sign(SECRET, "1700000000", BODY)
    with pytest.raises(SignatureError, match=reason):
        verify(SECRET, timestamp, body, signature or good, now=now)


def test_verify_accepts_within_tolerance() -> None:
    """A correct signature 299 s old verifies."""
    verify(SECRET, "1700000000", BODY, sign(SECRET, "1700000000", BODY), now=1700000299)


def _transition() -> Transition:
    return Transition(
        id="t1", key="k1", fingerprint="f1", status="firing",
        labels={"alertname": "InventoryStockout", "severity": "critical", "location": "DC1"},
        annotations={"summary": "out"}, starts_at=0.0, ends_at=None, at=0.0,
    )  # fmt: skip


def test_webhook_notifier_signs_what_the_receiver_verifies() -> None:
    """The notifier's request verifies with the shared secret and carries the transition."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    notifier = WebhookNotifier(
        "http://hook.test/x", SecretStr(SECRET.decode()), client, clock=lambda: 1700000000.0
    )
    asyncio.run(notifier.deliver(_transition()))
    [request] = seen
    assert request.headers[TIMESTAMP_HEADER] == "1700000000"
    verify(SECRET, "1700000000", request.content, request.headers[SIGNATURE_HEADER], 1700000000)
    payload = json.loads(request.content)
    assert payload["version"] == "1"
    assert payload["transitions"][0]["id"] == "t1"
    assert payload["transitions"][0]["labels"]["location"] == "DC1"


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (429, False), (400, True)])
def test_webhook_failures_never_contain_the_secret(status: int, permanent: bool) -> None:
    """A failed delivery raises DeliveryError without the secret, credentials or query string."""
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(status, text="nope"))
    )
    url = "http://user:pw@hook.test/x?token=abc"
    notifier = WebhookNotifier(url, SecretStr(SECRET.decode()), client)
    with pytest.raises(DeliveryError) as error:
        asyncio.run(notifier.deliver(_transition()))
    text = f"{error.value!s} {error.value!r} {notifier!r}"
    assert SECRET.decode() not in text and "pw" not in text and "token" not in text
    assert error.value.permanent is permanent
    assert f"HTTP {status}" in str(error.value)


def test_webhook_unreachable_is_retryable_and_redacted() -> None:
    """A connection failure is a retryable DeliveryError that names the redacted target."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    notifier = WebhookNotifier("http://u:pw@hook.test/x", SecretStr("k"), client)
    with pytest.raises(DeliveryError) as error:
        asyncio.run(notifier.deliver(_transition()))
    assert not error.value.permanent
    assert str(error.value) == "webhook: http://hook.test/x unreachable (ConnectError)"


def test_empty_secret_is_refused() -> None:
    """A webhook cannot be configured with an empty secret."""
    with pytest.raises(ValueError, match="must not be empty"):
        WebhookNotifier("http://hook.test", SecretStr(""))
