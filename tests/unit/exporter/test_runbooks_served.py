"""The exporter serves the shipped runbooks, so every default alert link resolves."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from prometheus_client import CollectorRegistry, Counter

from alerts.links import RUNBOOKS_DIR, Links, shipped_runbook
from alerts.rules import load_rules
from alerts.runtime import links_from
from streams.exporter.exposition import start_server
from streams.settings import AlertSettings, ExporterSettings


def _serve(runbooks: Path = RUNBOOKS_DIR) -> Iterator[int]:
    registry = CollectorRegistry()
    Counter("kpimon_test_scrapes", "a metric to see /metrics unchanged", registry=registry).inc()
    httpd, thread = start_server("127.0.0.1", 0, registry)
    if runbooks != RUNBOOKS_DIR:  # the server's app, rebuilt on another directory
        from streams.exporter.exposition import make_app

        httpd.set_app(make_app(registry, runbooks))
    try:
        yield httpd.server_port
    finally:
        httpd.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def exporter_port() -> Iterator[int]:
    yield from _serve()


def get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """A raw request (http.client sends the path as given: no dot-segment clean-up)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_default_runbook_base_url_is_the_exporters_default_address() -> None:
    """The default base points at the exporter's default host and port, path /runbooks."""
    exporter = ExporterSettings()
    assert AlertSettings().runbook_base_url == (f"http://{exporter.host}:{exporter.port}/runbooks")
    assert Links().runbook_base_url == AlertSettings().runbook_base_url


def test_every_shipped_alert_links_to_a_served_runbook(exporter_port: int) -> None:
    """Each shipped rule's default runbook_url names a file in alerts/runbooks that is served."""
    links = links_from(AlertSettings())
    rules = load_rules(None).rules
    assert rules
    for rule in rules:
        url = urlsplit(links.runbook_url(rule.alertname, rule.runbook))
        assert (url.scheme, url.netloc) == ("http", "127.0.0.1:9464"), rule.alertname
        name = url.path.removeprefix("/runbooks/")
        assert (RUNBOOKS_DIR / name).is_file(), f"{rule.alertname}: no runbook {name}"
        status, headers, body = get(exporter_port, url.path)
        assert status == 200, rule.alertname
        assert headers["Content-Type"] == "text/markdown; charset=utf-8"
        assert body == (RUNBOOKS_DIR / name).read_bytes()


@pytest.mark.parametrize(
    ("base", "alertname", "runbook", "url"),
    [
        ("http://127.0.0.1:9464/runbooks", "InventoryStockout", None,
         "http://127.0.0.1:9464/runbooks/InventoryStockout.md"),
        ("https://github.com/acme/kpimon/blob/main/alerts/runbooks/", "InventoryOtifLow", None,
         "https://github.com/acme/kpimon/blob/main/alerts/runbooks/InventoryOtifLow.md"),
        ("https://wiki.example.com/ops", "InventoryStockout", "/stock outs.md",
         "https://wiki.example.com/ops/stock%20outs.md"),
    ],
)  # fmt: skip
def test_runbook_url_is_base_directory_plus_file(
    base: str, alertname: str, runbook: str | None, url: str
) -> None:
    """runbook_url is `{base}/<alertname>.md`, or the rule's own path under the base."""
    assert Links(runbook_base_url=base).runbook_url(alertname, runbook) == url


@pytest.mark.parametrize(
    "path",
    [
        "/runbooks/",
        "/runbooks/InventoryStockout",
        "/runbooks/InventoryStockout.md/",
        "/runbooks/NoSuchAlert.md",
        "/runbooks/../default_rules.yaml",
        "/runbooks/../../pyproject.toml",
        "/runbooks/..%2F..%2Fpyproject.toml",
        "/runbooks/%2e%2e/README.md",
        "/runbooks/..",
        "/runbooks/.hidden.md",
        "/runbooks//etc/passwd",
        "/runbooks/%2Fetc%2Fpasswd",
        "/runbooks/sub/InventoryStockout.md",
        "/runbooks/InventoryStockout.md%00.txt",
        "/runbooks/..%5CREADME.md",
        "/runbooks/" + "A" * 300 + ".md",
    ],
)
def test_nothing_but_shipped_runbooks_is_served(exporter_port: int, path: str) -> None:
    """Paths that are not a plain shipped runbook name get a 404, never a file from elsewhere."""
    status, _headers, body = get(exporter_port, path)
    assert status == 404
    assert body == b"no such runbook\n"


def test_symlink_out_of_the_directory_is_not_followed(tmp_path: Path) -> None:
    """A runbook name that is a symlink to a file outside the directory is a 404."""
    outside = tmp_path / "secret.md"
    outside.write_text("not a runbook")
    books = tmp_path / "books"
    books.mkdir()
    (books / "Real.md").write_text("# Real\n")
    (books / "Leak.md").symlink_to(outside)
    assert shipped_runbook("Real.md", books) == (books / "Real.md").resolve()
    assert shipped_runbook("Leak.md", books) is None
    for port in _serve(books):
        assert get(port, "/runbooks/Real.md")[0] == 200
        assert get(port, "/runbooks/Leak.md")[0] == 404


def test_head_and_other_methods(exporter_port: int) -> None:
    """HEAD answers headers only; a POST to a runbook is 405."""
    status, headers, body = get(exporter_port, "/runbooks/InventoryStockout.md", "HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) == (RUNBOOKS_DIR / "InventoryStockout.md").stat().st_size
    assert get(exporter_port, "/runbooks/InventoryStockout.md", "POST")[0] == 405


@pytest.mark.parametrize("path", ["/metrics", "/", "/runbooks", "/anything"])
def test_metrics_paths_are_unchanged(exporter_port: int, path: str) -> None:
    """Every path outside /runbooks/ still answers the metrics, as before."""
    status, headers, body = get(exporter_port, path)
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert b"kpimon_test_scrapes_total 1.0" in body
