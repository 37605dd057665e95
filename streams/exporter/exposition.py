"""/metrics over prometheus_client's WSGI server, with KPI families pre-rendered.

prometheus_client's encoders format every sample of every scrape (label-name
validation, escaping, float formatting: ~1 s for the 73k KPI series at the
caps, more with OpenMetrics). `render` writes the lines of plain KpiFamily
objects from their once-per-snapshot body and lets the client's own encoder
write the header lines and every other metric, so the output is byte for byte
what the encoder alone writes. Formats or escapings it does not know, and
`?name[]=` filtering, go to prometheus_client unchanged.

`GET /runbooks/<alertname>.md` serves the runbooks shipped in `alerts/runbooks/`
(text/markdown), so the default `runbook_base_url` of alert links resolves on
any install. Only plain `*.md` files of that directory are served; any other
`/runbooks/...` path is a 404 (no traversal, no listing).
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import exposition
from prometheus_client.core import Metric
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector

from alerts.links import RUNBOOKS_DIR, shipped_runbook
from streams.exporter.kpis import KpiFamily

Encoder = Callable[[Collector], bytes]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# Escapings under which a plain name is written unchanged by both encoders
# ("dots" and "values" rewrite underscores or prefix names).
_KEEPS_PLAIN = (openmetrics.UNDERSCORES, openmetrics.ALLOWUTF8)
_EOF = b"# EOF\n"

# Level 1 compresses the repetitive exposition ~16x in a tenth of the time of
# gzip's default 9 (0.03 s against 0.3 s for 7.7 MB): CPU, not the bytes, is what
# a scrape of this exporter waits on.
GZIP_LEVEL = 1

RUNBOOKS_PATH = "/runbooks/"
MARKDOWN = "text/markdown; charset=utf-8"


class _Fixed:
    """A collector of given metrics, to hand prometheus_client's encoders a few families."""

    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return iter(self._metrics)


def fast_format(encoder: Encoder) -> str | None:
    """The format `render` can pre-render lines for with this encoder; None if none."""
    func = encoder.func if isinstance(encoder, partial) else encoder
    escaping = encoder.keywords.get("escaping") if isinstance(encoder, partial) else None
    if escaping not in (None, *_KEEPS_PLAIN):
        return None
    if func is exposition.generate_latest:
        return "text"
    if func is openmetrics.generate_latest:
        return "openmetrics"
    return None


def render(registry: Collector, encoder: Encoder) -> bytes:
    """What `encoder(registry)` writes, with plain KPI families' lines taken pre-rendered."""
    kind = fast_format(encoder)
    if kind is None:
        return encoder(registry)

    def encode(metrics: list[Metric]) -> bytes:
        out = encoder(_Fixed(metrics))
        return out[: -len(_EOF)] if kind == "openmetrics" else out

    chunks: list[bytes] = []
    pending: list[Metric] = []
    for metric in registry.collect():
        if isinstance(metric, KpiFamily) and metric.plain:
            if pending:
                chunks.append(encode(pending))
                pending = []
            # The header as the encoder writes it for this family, then the lines.
            chunks.append(encode([Metric(metric.name, metric.documentation, metric.type)]))
            chunks.append(metric.body())
        else:
            pending.append(metric)
    if pending or kind == "openmetrics":
        chunks.append(encoder(_Fixed(pending)))  # the rest, and OpenMetrics' "# EOF"
    return b"".join(chunks)


def serve_runbook(
    environ: dict[str, Any], start_response: StartResponse, directory: Path
) -> Iterable[bytes]:
    """GET/HEAD of one shipped runbook; 404 for anything else under /runbooks/."""
    name = str(environ.get("PATH_INFO", ""))[len(RUNBOOKS_PATH) :]
    if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
        start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
        return [b""]
    path = shipped_runbook(name, directory)
    if path is None:
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"no such runbook\n"]
    body = path.read_bytes()
    start_response("200 OK", [("Content-Type", MARKDOWN), ("Content-Length", str(len(body)))])
    return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]


def make_app(registry: Collector, runbooks: Path = RUNBOOKS_DIR) -> WsgiApp:
    """prometheus_client's WSGI app, with GET of the metrics through `render`, and the
    runbooks of `runbooks` under /runbooks/."""
    fallback = exposition.make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith(RUNBOOKS_PATH):
            return serve_runbook(environ, start_response, runbooks)
        params = parse_qs(environ.get("QUERY_STRING", ""))
        if (
            environ["REQUEST_METHOD"] != "GET"
            or environ.get("PATH_INFO") == "/favicon.ico"
            or "name[]" in params
        ):
            return fallback(environ, start_response)  # type: ignore[no-any-return]
        encoder, content_type = exposition.choose_encoder(environ.get("HTTP_ACCEPT", ""))
        output = render(registry, encoder)
        headers = [("Content-Type", content_type)]
        if exposition.gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", "")):
            output = gzip.compress(output, compresslevel=GZIP_LEVEL)
            headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", headers)
        return [output]

    return app


class _SilentHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each (as in prometheus_client)."""


def start_server(addr: str, port: int, registry: Collector) -> tuple[WSGIServer, threading.Thread]:
    """Serve `make_app(registry)` like prometheus_client.start_http_server serves its app."""

    class Server(exposition.ThreadingWSGIServer):
        pass

    family, _, _, _, sockaddr = socket.getaddrinfo(
        addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    Server.address_family = family  # IPv6 binds need the right family
    host = str(sockaddr[0])
    httpd = make_server(host, port, make_app(registry), Server, handler_class=_SilentHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd, thread
