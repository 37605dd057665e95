"""HTTP helpers shared by the HTTP notifiers: redacted targets and error classification."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from alerts.notifiers import DeliveryError

# Statuses worth retrying: timeouts, rate limits and server errors.
RETRYABLE = frozenset({408, 425, 429})


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
    message = f"{channel}: {target} answered HTTP {status}" + (f": {detail}" if detail else "")
    raise DeliveryError(message, permanent=permanent)


def transport_error(error: httpx.HTTPError, channel: str, target: str) -> DeliveryError:
    """A retryable DeliveryError for a connection failure or timeout (no URL details)."""
    return DeliveryError(f"{channel}: {target} unreachable ({type(error).__name__})")
