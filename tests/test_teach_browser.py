"""Teach in a real browser (issue 14): draw a star four times with the mouse, teach it, then
draw a fifth star on Compete and the star's expert wins. Takes /tmp/browser.lock when run
as ``flock /tmp/browser.lock python -m pytest tests/test_teach_browser.py``."""
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from test_teaching import star

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
OUT = ROOT / "screenshots"

if not Path(CHROMIUM).exists() and os.environ.get("CI") != "true":
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    from test_browser import _free_port
    port = _free_port()
    env = {**os.environ, "MIC_CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
           "MIC_TEACH_STEPS": "2000"}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def _star_path(seed: int, size: float) -> np.ndarray:
    """A star in canvas pixels (y down) fitted into a box of ``size``, a little wobbly."""
    rng = np.random.RandomState(seed)
    path = star() * np.array([1.0, -1.0]) + rng.normal(0, 3, (56, 2))
    path = path - path.min(axis=0)
    return (path / path.max() * size * 0.7 + size * 0.15)[::-1]  # from the lower left


def _draw(page, canvas, path):
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + path[0, 0], box["y"] + path[0, 1])
    page.wait_for_timeout(300)
    page.mouse.down()
    for x, y in path[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
    page.mouse.up()


def test_teach_a_star_with_the_mouse_then_it_wins(app_url):
    OUT.mkdir(exist_ok=True)
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(app_url)
        page.get_by_text("empty").first.wait_for(timeout=120_000)
        page.get_by_role("link", name="Teach").click()
        page.get_by_text("0 of 4 drawings").wait_for(timeout=120_000)
        for i in range(4):
            canvas = page.locator("canvas.upper-canvas").nth(i)
            canvas.wait_for(timeout=60_000)
            _draw(page, canvas, _star_path(i, 200))
            page.get_by_text(f"{i + 1} of 4 drawings" if i < 3 else "Name of the class"
                             ).first.wait_for(timeout=120_000)
        page.get_by_role("textbox", name="Name of the class").fill("star")
        page.get_by_role("textbox", name="Name of the class").press("Enter")
        page.get_by_role("textbox", name="Save into the set").fill("browser-stars")
        page.get_by_role("textbox", name="Save into the set").press("Enter")
        page.get_by_role("button", name="Teach").wait_for(timeout=120_000)
        page.wait_for_timeout(2000)
        page.get_by_role("button", name="Teach").click()
        page.get_by_text("Taught 'star'").wait_for(timeout=300_000)
        page.screenshot(path=str(OUT / "teach_taught.png"), full_page=True)
        page.get_by_role("link", name="Compete").click()
        canvas = page.locator("canvas.upper-canvas").first
        canvas.wait_for(timeout=60_000)
        page.wait_for_timeout(2000)
        _draw(page, canvas, _star_path(9, 320))
        page.get_by_text("The winner:").wait_for(timeout=120_000)
        page.wait_for_timeout(1000)
        winner = page.get_by_text("The winner:").first.inner_text()
        page.screenshot(path=str(OUT / "teach_star_wins.png"), full_page=True)
        browser.close()
    assert "star" in winner, winner
    assert not errors, errors
