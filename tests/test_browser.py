"""The app in a real browser: draw letters with the mouse, wait for the winner, play.

Starts ``streamlit run app.py`` on a free localhost port and drives Debian's Chromium with
Playwright (never a downloaded browser). Measures the time from pen release to the first
view and the playback frame rate, and saves screenshots and the figures to ``screenshots/``.
"""
import json
import os
import socket
import statistics
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
        for _ in range(120):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the app did not start within 60 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


def _letter_path(index: int) -> np.ndarray:
    """A held-out letter in canvas pixels (y down), fitted into 60-300 px."""
    from mic_core.data import load_dataset
    data = load_dataset("characters")
    pen = data.test_pen_trajectories[index] * np.array([1.0, -1.0])
    pen = pen - pen.min(axis=0)
    pen = pen / pen.max() * 240 + 60
    return pen[:: max(1, len(pen) // 60)], data.class_names[data.y_test[index]]


def test_draw_wait_for_the_winner_and_play(app_url):
    OUT.mkdir(exist_ok=True)
    errors, latencies = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        for run, index in enumerate([0, 120, 300]):
            page.goto(app_url)
            canvas = page.locator("canvas.upper-canvas").first
            canvas.wait_for(timeout=60_000)
            box = canvas.bounding_box()
            path, letter = _letter_path(index)
            page.mouse.move(box["x"] + path[0, 0], box["y"] + path[0, 1])
            page.mouse.down()
            for x, y in path[1:]:
                page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
            released = time.perf_counter()
            page.mouse.up()
            page.get_by_text("The winner:").wait_for(timeout=60_000)
            latencies.append(time.perf_counter() - released)
            page.locator(".js-plotly-plot .slider-container").first.wait_for(timeout=30_000)
            page.screenshot(path=str(OUT / f"compete_{run}_{letter}.png"), full_page=True)

        # playback: the figure of a new drawing starts at iteration 0; press play and count
        # the frames drawn in 3 seconds
        page.evaluate("""() => {
            const gd = document.querySelector('.slider-container').closest('.js-plotly-plot');
            window.__frames = [];
            gd.on('plotly_animatingframe', (e) => window.__frames.push([performance.now(),
                                                                           e.name]));
        }""")
        page.locator(".updatemenu-button", has_text="play").first.click()
        page.wait_for_timeout(3000)
        page.screenshot(path=str(OUT / "compete_playing.png"))
        frames = page.evaluate("window.__frames")
        browser.close()
    played = [int(name) for _, name in frames]
    seconds = (frames[-1][0] - frames[0][0]) / 1000 if len(frames) > 1 else float("nan")
    fps = (len(frames) - 1) / seconds if len(frames) > 1 else 0.0
    metrics = {"first_view_seconds": latencies,
               "first_view_median_seconds": statistics.median(latencies),
               "playback_fps": fps, "frames_played": len(frames),
               "first_frames": played[:5]}
    (OUT / "browser_metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics))
    assert not errors, errors
    assert len(frames) >= 10 and played == sorted(played)  # playback advanced in order


def test_experiments_page_shows_the_stored_results(app_url):
    OUT.mkdir(exist_ok=True)
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 4200})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(app_url)
        page.get_by_text("The winner:").or_(page.get_by_text("empty")).first.wait_for(
            timeout=60_000)
        started = time.perf_counter()
        page.get_by_role("link", name="Experiments").click()
        page.get_by_text("The paper's summary table, with our numbers").wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").nth(3).wait_for(timeout=60_000)  # heat maps drawn
        seconds = time.perf_counter() - started
        page.wait_for_timeout(1500)
        page.screenshot(path=str(OUT / "experiments.png"))
        browser.close()
    print(json.dumps({"experiments_page_seconds": seconds}))
    assert not errors, errors
