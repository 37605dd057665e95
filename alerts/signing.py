"""HMAC-SHA256 signatures of webhook bodies: `sha256=hex(HMAC(secret, timestamp + "." + body))`.

The timestamp (Unix seconds, wall clock) is signed with the body and sent in
`X-Kpimon-Timestamp`, so a captured request cannot be replayed later than the
receiver's tolerance (5 minutes by default).
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Kpimon-Timestamp"
SIGNATURE_HEADER = "X-Kpimon-Signature"
SCHEME = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300.0


class SignatureError(ValueError):
    """A request whose signature or timestamp does not verify (the reason, no secret)."""


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The `X-Kpimon-Signature` header value for this timestamp and body."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return SCHEME + digest.hexdigest()


def verify(
    secret: bytes,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Raise SignatureError unless the signature matches and the timestamp is fresh."""
    if not timestamp or not signature:
        raise SignatureError("missing signature or timestamp header")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError("timestamp is not Unix seconds") from None
    if not signature.startswith(SCHEME):
        raise SignatureError("unsupported signature scheme")
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("signature does not match")
    if abs(now - sent) > tolerance_seconds:
        raise SignatureError(f"timestamp outside the {tolerance_seconds:.0f} s tolerance")
