"""/metrics answers as prometheus_client's own app does, with KPI lines pre-rendered."""

from __future__ import annotations

import gzip
import urllib.request
from collections.abc import Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder, make_wsgi_app

from streams.exporter.exposition import WsgiApp, fast_format, make_app, start_server
from streams.exporter.kpis import build_view
from tests.unit.exporter.snapshots import ODD, Fixed, snapshot, typical

PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def registry() -> CollectorRegistry:
    """KPI families between two ordinary metrics, as the collector yields them."""
    up = Metric("kpimon_exporter_redis_up", "1 when Redis answered.", "gauge")
    up.add_sample("kpimon_exporter_redis_up", {}, 1.0)
    events = Metric("kpimon_events", "Valid events.", "counter")
    events.add_sample("kpimon_events_total", {"topic": "orders"}, 3.0)
    view = build_view(snapshot(typical(3) + ODD), 200, {"location": 200})
    reg = CollectorRegistry()
    reg.register(Fixed([up, *view.families, events]))
    return reg


def call(app: WsgiApp, method: str = "GET", path: str = "/metrics", **headers: str) -> tuple:
    """Status, headers and (gunzipped) body of one request to a WSGI app."""
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path}
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    setup_testing_defaults(environ)
    started: list[Any] = []
    body = b"".join(app(environ, lambda status, hdrs: started.extend([status, hdrs])))
    status, hdrs = started
    if ("Content-Encoding", "gzip") in hdrs:
        body = gzip.decompress(body)
        hdrs = [h for h in hdrs if h[0] != "Content-Encoding"]
    return status, hdrs, body


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        ("", "text"),
        ("*/*", "text"),
        ("text/plain;version=0.0.4", "text"),
        ("text/plain;version=1.0.0;escaping=allow-utf-8", "text"),
        ("text/plain;version=1.0.0;escaping=dots", None),
        ("text/plain;version=1.0.0;escaping=values", None),
        (PROMETHEUS_ACCEPT, "openmetrics"),
        ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8", "openmetrics"),
        ("application/openmetrics-text;version=2.0.0", "openmetrics"),
        ("application/openmetrics-text;version=1.0.0;escaping=values", None),
    ],
)
def test_fast_format_of_negotiated_encoder(accept: str, kind: str | None) -> None:
    """Only encoders and escapings that keep plain names unchanged are pre-rendered."""
    encoder, _ = choose_encoder(accept)
    assert fast_format(encoder) == kind


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/metrics", {}),
        ("GET", "/", {"accept": "text/plain;version=1.0.0;escaping=allow-utf-8"}),
        ("GET", "/metrics", {"accept": PROMETHEUS_ACCEPT, "accept_encoding": "gzip"}),
        ("GET", "/metrics", {"accept": "application/openmetrics-text;version=2.0.0"}),
        ("GET", "/metrics", {"accept": "text/plain;version=1.0.0;escaping=dots"}),
        ("GET", "/metrics", {"accept_encoding": "gzip, deflate"}),
        ("GET", "/favicon.ico", {}),
        ("OPTIONS", "/metrics", {}),
        ("POST", "/metrics", {}),
    ],
)
def test_app_answers_as_prometheus_client(method: str, path: str, headers: dict) -> None:
    """Status, headers and body equal prometheus_client's app's (gzip level aside)."""
    reg = registry()
    assert call(make_app(reg), method, path, **headers) == call(
        make_wsgi_app(reg), method, path, **headers
    )


def test_server_serves_the_app() -> None:
    """start_server binds like start_http_server and serves the metrics over HTTP."""
    reg = registry()
    server, thread = start_server("127.0.0.1", 0, reg)
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read()
        assert body == call(make_wsgi_app(reg))[2]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Exploding:
    """A collector that fails mid-scrape."""

    def collect(self) -> Iterator[Metric]:
        raise RuntimeError("boom")


def test_collector_errors_propagate() -> None:
    """A failing collector fails the scrape as it does with prometheus_client's app."""
    reg = CollectorRegistry()
    reg.register(Exploding())
    with pytest.raises(RuntimeError, match="boom"):
        call(make_app(reg))
