"""A reference receiver for the signed kpimon webhook (and Alertmanager's webhooks).

`POST /webhook` verifies `X-Kpimon-Signature` over `X-Kpimon-Timestamp + "." +
body` with the shared secret and rejects timestamps more than 5 minutes off
(401), then records each transition once (de-duplicated on its `id`).
`POST /alerts[/...]` accepts Alertmanager's own webhook payloads (the routes of
`alerts/alertmanager.yml`); Alertmanager does not sign them, so keep that
route on loopback or behind your proxy's authentication.

Run: `KPIMON_ALERTS__WEBHOOK_SECRET=... python -m alerts.receiver --port 9099`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from alerts.signing import (
    DEFAULT_TOLERANCE_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    verify,
)

Middleware = Callable[..., Any]


@dataclass
class Inbox:
    """What the receiver accepted, in arrival order."""

    transitions: list[dict[str, Any]] = field(default_factory=list)
    alertmanager: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def accept(self, transitions: Iterable[dict[str, Any]]) -> tuple[int, int]:
        """Record new transitions; returns (accepted, duplicates)."""
        accepted = duplicates = 0
        for item in transitions:
            ident = str(item.get("id", ""))
            if ident in self._seen:
                duplicates += 1
                continue
            self._seen.add(ident)
            self.transitions.append(item)
            accepted += 1
        self.changed.set()
        return accepted, duplicates


INBOX = web.AppKey("inbox", Inbox)


def build_app(
    secret: bytes,
    inbox: Inbox | None = None,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    clock: Callable[[], float] = time.time,
    path: str = "/webhook",
    middlewares: Sequence[Middleware] = (),
    echo: bool = False,
) -> web.Application:
    """The receiver as an aiohttp application; `app[INBOX]` holds what it accepted."""
    box = inbox if inbox is not None else Inbox()
    app = web.Application(middlewares=list(middlewares))
    app[INBOX] = box

    async def kpimon(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify(
                secret,
                request.headers.get(TIMESTAMP_HEADER),
                body,
                request.headers.get(SIGNATURE_HEADER),
                now=clock(),
                tolerance_seconds=tolerance_seconds,
            )
        except SignatureError as error:
            box.rejected.append(str(error))
            return web.json_response({"error": str(error)}, status=401)
        try:
            document = json.loads(body)
            transitions = document["transitions"]
            if not isinstance(transitions, list):
                raise TypeError("transitions is not a list")
        except (ValueError, KeyError, TypeError) as error:
            return web.json_response({"error": f"bad payload: {error}"}, status=400)
        accepted, duplicates = box.accept(transitions)
        if echo:
            for item in transitions:
                summary = item.get("annotations", {}).get("summary", "")
                print(f"{item.get('status', '?'):8} {item.get('alertname', '?')}: {summary}")
        return web.json_response({"accepted": accepted, "duplicates": duplicates})

    async def alertmanager(request: web.Request) -> web.Response:
        try:
            document = await request.json()
        except ValueError:
            return web.json_response({"error": "bad payload"}, status=400)
        box.alertmanager.append({"path": request.path, "at": time.time(), **document})
        box.changed.set()
        if echo:
            count = len(document.get("alerts", []))
            print(f"alertmanager {request.path}: {document.get('status')} ({count} alerts)")
        return web.json_response({"ok": True})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_post(path, kpimon)
    app.router.add_post("/alerts", alertmanager)
    app.router.add_post("/alerts/{route}", alertmanager)
    app.router.add_get("/healthz", health)
    return app


async def serve(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> web.AppRunner:
    """Start the app; the bound port is `runner.addresses[0][1]`."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Reference receiver of kpimon alert webhooks")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9099)
    parser.add_argument("--path", default="/webhook", help="path of the signed kpimon webhook")
    args = parser.parse_args(argv)
    secret = os.environ.get("KPIMON_ALERTS__WEBHOOK_SECRET", "")
    if not secret:
        print("set KPIMON_ALERTS__WEBHOOK_SECRET to the webhook secret", file=sys.stderr)
        return 2
    app = build_app(secret.encode(), path=args.path, echo=True)
    print(f"listening on http://{args.host}:{args.port}{args.path} (and /alerts/*)")
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
