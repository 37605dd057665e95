"""A generic JSON webhook, signed with HMAC-SHA256.

Body: `{"version": "1", "transitions": [...]}` (each transition as
`Transition.to_dict()`; receivers de-duplicate on its `id`). Headers:
`X-Kpimon-Timestamp` (Unix seconds) and `X-Kpimon-Signature: sha256=<hex>` over
`timestamp + "." + body`. The secret is held as a SecretStr: it is never
logged and never appears in an exception or a repr.

Failures (`alerts.notifiers.http.check`): a 5xx, 408, 425, 429 and also a
401/403 are retried with the dispatcher's back-off: a refused signature is most
often a receiver clock outside the tolerance or a secret being rotated, both of
which heal, and a page must not be dropped meanwhile. Any other 4xx is permanent
(the same body can never be accepted) and goes to the channel's dead letters.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

import httpx
from pydantic import SecretStr

from alerts.model import Transition
from alerts.notifiers.http import check, redact, transport_error
from alerts.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

CHANNEL = "webhook"
PAYLOAD_VERSION = "1"


def webhook_body(transitions: Sequence[Transition]) -> bytes:
    document = {"version": PAYLOAD_VERSION, "transitions": [t.to_dict() for t in transitions]}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class WebhookNotifier:
    """Delivers transitions to one signed JSON webhook (a `BatchNotifier`)."""

    def __init__(
        self,
        url: str,
        secret: SecretStr,
        client: httpx.AsyncClient | None = None,
        *,
        timeout_seconds: float = 10.0,
        max_batch: int = 100,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret.get_secret_value():
            raise ValueError("the webhook secret must not be empty")
        self._url = url
        self._target = redact(url)
        self._secret = secret
        self._client = client or httpx.AsyncClient(timeout=timeout_seconds)
        self._timeout = timeout_seconds
        self._max_batch = max_batch
        self._clock = clock

    def __repr__(self) -> str:
        return f"WebhookNotifier(url={self._target!r}, secret=**********)"

    @property
    def channel(self) -> str:
        return CHANNEL

    @property
    def max_batch(self) -> int:
        return self._max_batch

    def signed_request(self, body: bytes) -> dict[str, str]:
        """The headers of one delivery of `body` at the current time."""
        timestamp = str(int(self._clock()))
        signature = sign(self._secret.get_secret_value().encode(), timestamp, body)
        return {
            "Content-Type": "application/json",
            "User-Agent": "kpimon-alerts/1",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature,
        }

    async def deliver_batch(self, transitions: Sequence[Transition]) -> None:
        body = webhook_body(transitions)
        headers = self.signed_request(body)
        try:
            response = await self._client.post(
                self._url, content=body, headers=headers, timeout=self._timeout
            )
        except httpx.HTTPError as error:
            raise transport_error(error, CHANNEL, self._target) from None
        check(response, CHANNEL, self._target)

    async def deliver(self, transition: Transition) -> None:
        await self.deliver_batch([transition])

    async def aclose(self) -> None:
        await self._client.aclose()
