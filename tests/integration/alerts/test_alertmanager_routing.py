"""alerts/alertmanager.yml in a real Alertmanager: routes, inhibition and grouped storm pages.

A private Alertmanager runs the shipped config (webhook URLs pointed at a loopback
receiver, group timers shortened to seconds, still longer than it takes to post
1000 alerts) so its notifications can be counted.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from alerts.model import Transition
from alerts.notifiers.alertmanager import AlertmanagerNotifier
from alerts.receiver import Inbox, build_app, serve

REPO = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(receiver_port: int) -> str:
    config = yaml.safe_load((REPO / "alerts" / "alertmanager.yml").read_text())
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = hook["url"].replace("127.0.0.1:9099", f"127.0.0.1:{receiver_port}")
    routes = [config["route"], *config["route"].get("routes", [])]
    for route in routes:
        route.update({"group_wait": "4s", "group_interval": "6s"})
    return yaml.safe_dump(config)


@pytest.fixture(scope="module")
def private_alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(URL of a private Alertmanager on the shipped config, port its webhooks go to)."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.fail("prometheus-alertmanager is not installed", pytrace=False)
    workdir = tmp_path_factory.mktemp("alertmanager")
    receiver_port, port = _free_port(), _free_port()
    config = workdir / "alertmanager.yml"
    config.write_text(_config(receiver_port))
    log = (workdir / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [
            binary, f"--config.file={config}", f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
        ],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail(
                f"private Alertmanager did not start:\n{(workdir / 'alertmanager.log').read_text()}"
            )
        yield url, receiver_port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _transition(
    alertname: str, location: str, sku: str, severity: str = "warning", status: str = "firing"
) -> Transition:
    now = time.time()
    labels = {"alertname": alertname, "severity": severity, "location": location, "sku": sku}
    return Transition(
        id=f"{alertname}-{location}-{sku}-{status}", key=f"{location}/{sku}",
        fingerprint=f"{location}/{sku}", status=status,  # type: ignore[arg-type]
        labels=labels, annotations={"summary": f"{alertname} {sku}"}, starts_at=now - 5,
        ends_at=now if status == "resolved" else None, at=now,
    )  # fmt: skip


async def _until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_routes_and_inhibition(private_alertmanager: tuple[str, int], run_id: str) -> None:
    """Critical pages, warnings chat; a stockout mutes the projected stockout of the same SKU."""
    url, _ = private_alertmanager
    location = f"{run_id}-DC1"
    notifier = AlertmanagerNotifier(url)
    asyncio.run(
        notifier.deliver_batch(
            [
                _transition("InventoryStockout", location, "SKU-1", "critical"),
                _transition("InventoryProjectedStockout", location, "SKU-1"),
                _transition("InventoryProjectedStockout", location, "SKU-2"),
            ]
        )
    )

    def alerts() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = httpx.get(f"{url}/api/v2/alerts", timeout=5).json()
        return [a for a in found if a["labels"].get("location") == location]

    deadline = time.monotonic() + 20
    states: dict[tuple[str, str], dict[str, Any]] = {}
    while time.monotonic() < deadline:
        states = {(a["labels"]["alertname"], a["labels"]["sku"]): a for a in alerts()}
        projected = states.get(("InventoryProjectedStockout", "SKU-1"))
        if len(states) == 3 and projected and projected["status"]["state"] == "suppressed":
            break
        time.sleep(0.2)
    stockout = states[("InventoryStockout", "SKU-1")]
    assert [r["name"] for r in stockout["receivers"]] == ["pager"]
    muted = states[("InventoryProjectedStockout", "SKU-1")]
    assert muted["status"]["state"] == "suppressed"
    assert muted["status"]["inhibitedBy"] == [stockout["fingerprint"]]
    other = states[("InventoryProjectedStockout", "SKU-2")]
    assert other["status"]["state"] == "active"
    assert [r["name"] for r in other["receivers"]] == ["chat"]


def test_a_storm_pages_a_bounded_number_of_times(
    private_alertmanager: tuple[str, int], run_id: str
) -> None:
    """1000 stockouts at 5 locations give at most 2 grouped pages per location, then resolve.

    Alertmanager can flush a group's first page while it is still taking in a
    burst; the next group interval completes it. Either way: no page per SKU.
    """
    url, receiver_port = private_alertmanager
    locations = [f"{run_id}-L{n}" for n in range(5)]
    firing = [
        _transition("InventoryStockout", loc, f"SKU-{n:04d}")
        for loc in locations
        for n in range(200)
    ]

    def pages(inbox: Inbox, status: str) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for note in inbox.alertmanager:
            location = note.get("groupLabels", {}).get("location")
            if location in locations and note.get("status") == status:
                found.setdefault(location, []).append(note)
        return found

    def complete(inbox: Inbox, status: str) -> bool:
        found = pages(inbox, status)
        return len(found) == 5 and all(
            len(n[-1]["alerts"]) + n[-1]["truncatedAlerts"] == 200 for n in found.values()
        )

    async def scenario() -> None:
        inbox = Inbox()
        runner = await serve(build_app(b"unused", inbox), port=receiver_port)
        try:
            notifier = AlertmanagerNotifier(url)
            await notifier.deliver_batch(firing[:500])
            await notifier.deliver_batch(firing[500:])
            await _until(lambda: complete(inbox, "firing"), "complete grouped pages")
            await asyncio.sleep(7)  # a further group interval: nothing new, no new page
            firing_pages = pages(inbox, "firing")
            assert all(1 <= len(notes) <= 2 for notes in firing_pages.values())
            assert {n["path"] for notes in firing_pages.values() for n in notes} == {"/alerts/chat"}

            resolved = [
                _transition("InventoryStockout", t.labels["location"], t.labels["sku"],
                            status="resolved")
                for t in firing
            ]  # fmt: skip
            await notifier.deliver_batch(resolved[:500])
            await notifier.deliver_batch(resolved[500:])
            await _until(lambda: complete(inbox, "resolved"), "complete grouped resolutions")
            assert all(1 <= len(notes) <= 2 for notes in pages(inbox, "resolved").values())
        finally:
            await runner.cleanup()

    asyncio.run(scenario())
