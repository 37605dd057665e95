"""HTTP helpers shared by the HTTP notifiers: redacted targets and error classification."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from alerts.notifiers import DeliveryError

# 4xx statuses worth retrying (every 5xx is): timeouts and rate limits, and refused
# authentication. A 401/403 is usually transient on our side of the wire: the
# receiver's clock drifted past the signature tolerance, or a key is being rotated
# and one end has the new secret before the other. Dropping the page then would
# lose it for good; retrying with the normal back-off delivers it once the clocks
# or keys agree (the failures are counted and logged meanwhile).
RETRYABLE = frozenset({401, 403, 408, 425, 429})
AUTH_REFUSED = frozenset({401, 403})


def redact(url: str) -> str:
    """`scheme://host:port/path` without credentials, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check(response: httpx.Response, channel: str, target: str) -> None:
    """Raise DeliveryError unless the response is a success (2xx)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    permanent = 400 <= status < 500 and status not in RETRYABLE
    detail = response.text[:200].replace("\n", " ") if permanent else ""
    if status in AUTH_REFUSED:
        detail = "authentication refused (check the shared secret and both clocks)"
    message = f"{channel}: {target} answered HTTP {status}" + (f": {detail}" if detail else "")
    raise DeliveryError(message, permanent=permanent)


def transport_error(error: httpx.HTTPError, channel: str, target: str) -> DeliveryError:
    """A retryable DeliveryError for a connection failure or timeout (no URL details)."""
    return DeliveryError(f"{channel}: {target} unreachable ({type(error).__name__})")
