"""Shared fixtures: small synthetic data and tiny experts, so most tests run in seconds; the
app served on a free port and Debian's Chromium for the browser tests."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from mic_core.data import DataConfig, Dataset
from mic_core.training import TrainConfig, train_experts


def synthetic_sequences(n_per_class=8, n_classes=3, n_steps=20, seed=0):
    """Three easily told apart families of 2-D curves, with noise: X (n, T, 2), y (n,)."""
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 1, n_steps)
    X, y = [], []
    for c in range(n_classes):
        for _ in range(n_per_class):
            phase = rng.uniform(-0.2, 0.2)
            curve = np.stack([np.cos(2 * np.pi * (c + 1) * t / 2 + phase),
                              np.sin(2 * np.pi * (c + 1) * t / 2 + phase) * (1 + c / 2)], 1)
            X.append(curve + rng.normal(0, 0.03, curve.shape))
            y.append(c)
    return np.asarray(X, dtype=np.float32), np.asarray(y)


TINY_TRAIN = TrainConfig(selection="random", seed=0, noise_in=0.0, hidden_size=6, steps=300,
                         learning_rate=0.02)


@pytest.fixture(scope="session")
def tiny_dataset():
    X, y = synthetic_sequences()
    Xt, yt = synthetic_sequences(seed=1)
    return Dataset(config=DataConfig(dataset="characters", n_points=20), class_names=("a", "b", "c"),
                   X_train=X, y_train=y, X_test=Xt, y_test=yt)


@pytest.fixture(scope="session")
def tiny_experts(tiny_dataset):
    return train_experts(tiny_dataset.X_train, tiny_dataset.y_train, tiny_dataset.class_names,
                         TINY_TRAIN)


# --- the app in a real browser (shared by the tests/test_*browser*.py files) ----------------
# Debian's Chromium driven by Playwright through ``executable_path`` (never a downloaded
# browser); the app runs with ``streamlit run app.py`` on a free localhost port.

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
# Streamlit's frontend, opened on a page's own address, first asks for
# ``<page>/_stcore/health`` and ``<page>/_stcore/host-config`` (it tries the path as the
# server's base URL, then the root): an open upstream bug,
# https://github.com/streamlit/streamlit/issues/7074, not configurable from the server.
# These 404s, and only these, are excused.
PROBE_ENDINGS = ("/_stcore/health", "/_stcore/host-config")


def scribble_canvas(seed: int = 3, n_points: int = 60) -> dict:
    """The canvas component's state for one stroke zigzagging all over the 300-px canvas
    (a drawing no expert fits), to put into ``session_state["canvas_characters"]``."""
    points = np.random.RandomState(seed).uniform(5, 295, size=(n_points, 2)).round(1).tolist()
    commands = [["M", *points[0]]] + [["L", *p] for p in points[1:]]
    return {"drawing": {"raw": {"objects": [{"type": "path", "path": commands}]}, "data": None}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(env: dict | None = None, start_seconds: float = 120):
    """``streamlit run app.py`` on a free port (``env`` added to the environment); yields
    its URL once ``/_stcore/health`` answers, stops it afterwards."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the app did not start within {start_seconds:.0f} s")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture(scope="module")
def app_env() -> dict:
    """Extra environment of the module's app server (a test module may override it)."""
    return {}


@pytest.fixture(scope="module")
def app_url(app_env):
    """One app server for the test module."""
    with serve_app(app_env) as url:
        yield url


@pytest.fixture
def fresh_app_url():
    """An app server that no session has visited yet (for what only a first visit shows)."""
    with serve_app() as url:
        yield url


@pytest.fixture
def browser():
    """Debian's Chromium (skipped where it is missing, outside CI)."""
    if not Path(CHROMIUM).exists() and os.environ.get("CI") != "true":
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watch:
    """Collects a page's errors: page errors, console errors, failed requests and any
    request that leaves the app's server (the app loads nothing from the network)."""

    def __init__(self, page, url: str):
        self.problems, self.probes, self.checked = [], 0, False
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        page.on("console", lambda m: self.problems.append(f"console: {m.text}")
                if m.type == "error" else None)
        page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:",
                                                               "about:"))
                else self.problems.append(f"network: {r.url}"))
        page.on("response", self._response)

    def _response(self, response):
        if response.status < 400:
            return
        path = urllib.parse.urlsplit(response.url).path
        if response.status == 404 and path.endswith(PROBE_ENDINGS) and \
                not path.startswith("/_stcore/"):
            self.probes += 1  # <page>/_stcore/...: see PROBE_ENDINGS
        else:
            self.problems.append(f"http {response.status}: {response.url}")

    def check(self):
        """Fail on every problem (the console lines of excused probes aside)."""
        self.checked = True
        console_404 = [p for p in self.problems if "status of 404" in p]
        rest = [p for p in self.problems if "status of 404" not in p]
        assert not rest, rest
        assert len(console_404) <= self.probes, (console_404, self.probes)


@pytest.fixture
def open_page(browser):
    """``open_page(url, width, height)``: a new page whose errors fail the test (checked
    at the end of the test, or earlier with ``page.watch.check()``)."""
    watches = []

    def _open(url: str, width: int = 1400, height: int = 1000):
        page = browser.new_page(viewport={"width": width, "height": height})
        page.watch = Watch(page, url)
        watches.append(page.watch)
        return page

    yield _open
    for watch in watches:
        if not watch.checked:
            watch.check()


# --- drawing on the canvas with the mouse (shared by the browser tests) --------------------

def letter_path(index: int, size: float = 220, offset: float = 40) -> tuple[np.ndarray, str]:
    """Held-out letter ``index`` in canvas pixels (y down), fitted into
    ``offset``..``offset + size`` px, about 60 points; and its class name."""
    from mic_core.data import load_dataset
    data = load_dataset("characters")
    pen = data.test_pen_trajectories[index] * np.array([1.0, -1.0])
    pen = pen - pen.min(axis=0)
    pen = pen / pen.max() * size + offset
    return pen[:: max(1, len(pen) // 60)], data.class_names[data.y_test[index]]


def draw_letter(page, path, canvas=None, timeout: float = 90_000) -> float:
    """Draw ``path`` (canvas pixels, (n, 2)) with the mouse in one stroke on ``canvas`` (a
    locator; default the page's first drawing canvas, once it is there). Returns the time
    (``time.perf_counter``) of the pen's release."""
    canvas = canvas or page.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=timeout)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + path[0][0], box["y"] + path[0][1])
    page.mouse.down()
    for x, y in path[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
    released = time.perf_counter()
    page.mouse.up()
    return released


PLAYER = "iframe[src*='arena_player']"  # the arena player, an iframe of the Compete page


def player_frame(page):
    """The arena player's frame, once it has drawn its figure."""
    page.locator(PLAYER).first.wait_for(timeout=90_000)
    for _ in range(300):
        frames = [f for f in page.frames if "arena_player" in f.url]
        if frames and frames[0].evaluate("window.__frames ? window.__frames.length : 0") > 0:
            return frames[0]
        page.wait_for_timeout(100)
    raise AssertionError("the player drew nothing")
