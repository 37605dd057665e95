"""A reference receiver for the signed kpimon webhook (and Alertmanager's webhooks).

`POST /webhook` verifies `X-Kpimon-Signature` over `X-Kpimon-Timestamp + "." +
body` with the shared secret and rejects timestamps more than 5 minutes off
(401), then records each transition once (de-duplicated on its `id`).

Whatever arrives, the answer is 200, 400 or 401, never a 500: a missing or
malformed timestamp or signature header, or a signature that does not verify,
is 401 (checked before the body is looked at); a signed body that is not UTF-8,
not strict JSON (no NaN, no duplicate keys, bounded nesting), not an object
with `"version": "1"` and a `transitions` list of objects with a non-empty
string `id` (and, when present, string `status`/`alertname`/`severity` and
string-valued `labels`/`annotations`) is 400, and nothing of it is recorded.

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
import re
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

# Header shapes checked before `verify` (which expects them): Unix seconds in ASCII
# digits (no sign, no "_", no other script's digits) and one hex SHA-256 digest.
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}", re.ASCII)
_STRING_FIELDS = ("status", "alertname", "severity", "fingerprint")
_MAPPING_FIELDS = ("labels", "annotations")


class BadPayload(ValueError):
    """A body that is not a webhook document this receiver understands (a 400)."""


def _no_constant(name: str) -> Any:
    raise BadPayload(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise BadPayload("duplicate key in a JSON object")
    return document


def parse_json(body: bytes) -> Any:
    """Strict JSON from UTF-8 bytes; BadPayload for anything else (never another error)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadPayload("body is not UTF-8") from None
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except BadPayload:
        raise
    except RecursionError:
        raise BadPayload("JSON nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, and over-long integers
        raise BadPayload(f"not JSON: {error}") from None


def webhook_transitions(document: Any) -> list[dict[str, Any]]:
    """The transitions of a kpimon webhook document, checked; BadPayload otherwise."""
    if not isinstance(document, dict):
        raise BadPayload("the body is not a JSON object")
    if document.get("version") != "1":
        raise BadPayload('"version" is not "1"')
    transitions = document.get("transitions")
    if not isinstance(transitions, list):
        raise BadPayload('"transitions" is not a list')
    for index, item in enumerate(transitions):
        where = f"transitions[{index}]"
        if not isinstance(item, dict):
            raise BadPayload(f"{where} is not an object")
        if not isinstance(item.get("id"), str) or not item["id"]:
            raise BadPayload(f"{where}.id is not a non-empty string")
        for name in _STRING_FIELDS:
            if name in item and not isinstance(item[name], str):
                raise BadPayload(f"{where}.{name} is not a string")
        for name in _MAPPING_FIELDS:
            value = item.get(name, {})
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise BadPayload(f"{where}.{name} is not an object of strings")
    return transitions


def _echo(line: str) -> None:
    """Print one line of what arrived; text from the wire cannot make the handler fail."""
    safe = line.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    try:
        try:
            print(safe, flush=True)
        except UnicodeEncodeError:  # a terminal that is not UTF-8
            print(safe.encode("ascii", "backslashreplace").decode("ascii"), flush=True)
    except (OSError, ValueError):  # stdout closed or gone: echoing is best effort
        pass


def check_headers(timestamp: str | None, signature: str | None) -> None:
    """SignatureError unless both headers are present and well-formed (before `verify`)."""
    if not timestamp or not signature:
        raise SignatureError("missing signature or timestamp header")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("timestamp is not Unix seconds")
    if not _SIGNATURE.fullmatch(signature):
        raise SignatureError("signature header is not sha256=<64 hex digits>")


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
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        signature = request.headers.get(SIGNATURE_HEADER)
        try:
            check_headers(timestamp, signature)
            verify(
                secret, timestamp, body, signature, now=clock(), tolerance_seconds=tolerance_seconds
            )
        except SignatureError as error:
            box.rejected.append(str(error))
            return web.json_response({"error": str(error)}, status=401)
        try:
            transitions = webhook_transitions(parse_json(body))
        except BadPayload as error:
            box.rejected.append(f"bad payload: {error}")
            return web.json_response({"error": f"bad payload: {error}"}, status=400)
        accepted, duplicates = box.accept(transitions)
        if echo:
            for item in transitions:
                summary = item.get("annotations", {}).get("summary", "")
                _echo(f"{item.get('status', '?'):8} {item.get('alertname', '?')}: {summary}")
        return web.json_response({"accepted": accepted, "duplicates": duplicates})

    async def alertmanager(request: web.Request) -> web.Response:
        try:
            document = parse_json(await request.read())
            if not isinstance(document, dict) or not isinstance(document.get("alerts", []), list):
                raise BadPayload("not an Alertmanager webhook object")
        except BadPayload as error:
            return web.json_response({"error": f"bad payload: {error}"}, status=400)
        box.alertmanager.append({"path": request.path, "at": time.time(), **document})
        box.changed.set()
        if echo:
            count = len(document.get("alerts", []))
            _echo(f"alertmanager {request.path}: {document.get('status')} ({count} alerts)")
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
