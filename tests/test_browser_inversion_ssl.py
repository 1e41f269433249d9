"""The Inversion page in a real browser: a held-out sample, a drawn letter, digits; fails on
any page error. Debian's Chromium through Playwright (never a downloaded browser); run it
under ``flock /tmp/browser.lock`` on a shared machine."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
OUT = ROOT / "screenshots"

if not Path(CHROMIUM).exists() and os.environ.get("CI") != "true":
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the app did not start within 120 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


def _letter_path(index: int) -> np.ndarray:
    from mic_core.data import load_dataset
    data = load_dataset("characters")
    pen = data.test_pen_trajectories[index] * np.array([1.0, -1.0])
    pen = pen - pen.min(axis=0)
    pen = pen / pen.max() * 240 + 60
    return pen[:: max(1, len(pen) // 60)]


def test_sample_drawing_and_digits(app_url):
    OUT.mkdir(exist_ok=True)
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 2600})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(app_url)
        page.get_by_role("link", name="Inversion").click()
        page.get_by_text("Semi-supervised (inversion) predicts").wait_for(timeout=180_000)
        page.get_by_text("The network as template matching").wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(OUT / "inversion_sample.png"), full_page=True)

        page.get_by_text("drawing", exact=True).click()
        canvas = page.locator("canvas.upper-canvas").first
        canvas.wait_for(timeout=60_000)
        box = canvas.bounding_box()
        path = _letter_path(0)
        page.mouse.move(box["x"] + path[0, 0], box["y"] + path[0, 1])
        page.mouse.down()
        for x, y in path[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
        page.mouse.up()
        page.get_by_text("Semi-supervised (inversion) predicts").wait_for(timeout=120_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(OUT / "inversion_drawing.png"), full_page=True)

        # the data set is chosen in the sidebar, which the app opens collapsed: a visitor
        # opens it first (when it is still collapsed)
        expand = page.get_by_test_id("stExpandSidebarButton")
        if expand.count() and expand.first.is_visible():
            expand.first.click()
        digits = page.get_by_text("digits (MNIST)")
        try:
            digits.click(timeout=10_000)
        except sync_api.TimeoutError:  # the sidebar slid out of the viewport: click the label
            digits.dispatch_event("click")
        page.get_by_text("held-out sample", exact=True).click()
        page.get_by_text("predicts").first.wait_for(timeout=180_000)
        page.get_by_text("5 labelled images per class").wait_for(timeout=120_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(OUT / "inversion_digits.png"), full_page=True)
        browser.close()
    assert not errors, errors
