"""A class at once: N real browser sessions draw letters on Compete against one server.

    python -m benchmarks.load_test --sessions 1 8 30 --drawings 3 --out results/load/
    python -m benchmarks.load_test --sessions 30 --drawings 10          # memory after 300
    python -m benchmarks.load_test --soak-minutes 30 --soak-sessions 3   # memory over time

Starts ``streamlit run app.py`` on a free localhost port (the settings of the environment,
e.g. ``MIC_MAX_TRAININGS_PER_HOUR``, pass through), then for each N opens N pages in Debian's
Chromium (one context per visitor: separate sessions; one Chromium process per
``--visitors-per-browser`` visitors, since one Chromium with 30 contexts drops its connection;
never a downloaded browser). One visitor draws one letter first, unmeasured (a teacher opens the app before
class: the experts load and the engine compiles once per server; its time is reported). Then
the class arrives: the N visitors open the page over ``--arrival-seconds`` and, once all are
in, each starts within ``--spread-seconds`` and draws held-out letters with the mouse, one
after another, at a pen's pace: clear the canvas, draw (``--stroke-seconds``), release, wait
for the winner, wait for the arena player to draw the race (it plays by itself) and watch it
(``--watch-seconds``). ``--burst`` drops every pause (all at once: a stress test, reported
apart). Measured:

- pen release -> the winner on the page, and -> the arena figure drawn (p50, p95, max), on
  the page's own clock (``PAGE_CLOCK``); the driver's polled figures beside them. The pen is
  driven through the browser's input (``Pen``: not ``page.mouse``, whose drag detection cost
  more CPU than the page it measures);
- failures (a step that timed out) and page exceptions (``pageerror``) per visitor;
- the server's CPU seconds per drawing (``/proc/<pid>/stat``) and its resident memory
  (peak and after), sampled every half second;
- how much of the machine's CPU the server and everything else (the browsers, this driver)
  took while the class drew (``/proc/stat``; they share the two cores).

Each N writes one JSON object (also printed); the soak writes its memory curve as JSON and a
PNG. Nothing here is timed in CI.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
        "--disable-dev-shm-usage"]
# what the Compete page says once it has decided: a winner, or that no expert fits the drawing
VERDICT = re.compile(r"^(The winner|No expert fits)")
# The page's own clock (run in every visitor's page before the app): the pen's release is the
# pointerup's time stamp (the moment the driver let go: ``Pen.stroke`` stamps it); the winner's
# time is the start of the second frame after the verdict entered the page (a MutationObserver,
# only while a drawing waits for it; two requestAnimationFrames: the frame that drew it has
# gone to the screen); the race's time is the player's first frame of the new drawing
# (``window.__raceDrawn``). All in milliseconds since the epoch (``performance.timeOrigin``:
# the player is another document). Playwright's own wait for the text polls every 500 ms after
# its first few tries (its waitForSelector), and its driver is one more process on the busy
# machine, so the driver's figures are later; they are reported beside (``*_polled_*``).
PAGE_CLOCK = r"""
(() => {
  if (window.top !== window) return;
  const VERDICT = /^(The winner|No expert fits)/;
  const now = () => performance.timeOrigin + performance.now();
  window.__pen = {released: null, verdict: null, looking: false};
  window.addEventListener("pointerup", ev => {
    window.__pen = {released: performance.timeOrigin + ev.timeStamp, verdict: null, looking: false};
  }, true);
  const decided = () => Array.from(document.querySelectorAll(
      '[data-testid="stMarkdownContainer"] h2, [data-testid="stMarkdownContainer"] h3'))
    .some(h => VERDICT.test(h.textContent.trim()));
  new MutationObserver(() => {
    const pen = window.__pen;
    if (pen.released === null || pen.verdict !== null || pen.looking || !decided()) return;
    pen.looking = true;
    requestAnimationFrame(() => requestAnimationFrame(() => { pen.verdict = now(); }));
  }).observe(document, {childList: true, subtree: true, characterData: true});
})();
"""
CLEAR_TITLE = "Reset canvas & history"  # the canvas toolbar's clear button
TICKS = os.sysconf("SC_CLK_TCK")


# --- the server and its process figures -----------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _descendants(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid:
            child = int(stat.parent.name)
            children += [child, *_descendants(child)]
    return children


def _browsers_cpu_seconds() -> float:
    """CPU seconds of this process's Chromium processes (they are its descendants)."""
    total = 0.0
    for pid in _descendants(os.getpid()):
        try:
            if "chrom" in Path(f"/proc/{pid}/comm").read_text():
                total += _cpu_seconds(pid)
        except OSError:
            continue
    return total


class Server:
    """``streamlit run app.py`` on a free port, with a sampler of its memory; ``root``: the
    checkout whose app it runs (default this one)."""

    def __init__(self, root: Path = ROOT, env: dict | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port",
             str(self.port), "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=None if env is None else {**os.environ, **env})
        self.memory: list[tuple[float, float]] = []  # (seconds since start, RSS MB)
        self._started = time.perf_counter()
        self._stop = threading.Event()
        for _ in range(240):
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            self.close()
            raise RuntimeError("the app did not start within two minutes")
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        while not self._stop.wait(0.5):
            try:
                self.memory.append((time.perf_counter() - self._started,
                                    _rss_mb(self.process.pid)))
            except OSError:
                return

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.process.pid)

    def rss_mb(self) -> float:
        return _rss_mb(self.process.pid)

    def close(self):
        self._stop.set()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


# --- one visitor ------------------------------------------------------------------------------
def _letters(count: int, seed: int) -> list[tuple[np.ndarray, str]]:
    """Held-out letters in canvas pixels (y down), fitted into 40-280 px, ~60 points each."""
    from mic_core.data import load_dataset
    data = load_dataset("characters")
    rng = np.random.RandomState(seed)
    letters = []
    for index in rng.choice(len(data.y_test), count, replace=False):
        pen = data.test_pen_trajectories[index] * np.array([1.0, -1.0])
        pen = pen - pen.min(axis=0)
        pen = pen / pen.max() * 240 + 40
        letters.append((pen[:: max(1, len(pen) // 60)], data.class_names[data.y_test[index]]))
    return letters


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message ("" for one without, e.g. asyncio's timeout)."""
    return (str(exc).splitlines() or [""])[0]


@dataclass(frozen=True)
class Pace:
    """How a class uses the page: the visitors arrive over ``arrival_seconds`` (a class opens
    the link over half a minute), start drawing within ``spread_seconds`` of each other once
    every page is open, draw each letter at a pen's speed (``stroke_seconds``) and watch the
    race (``watch_seconds``, about 50 iterations at 6 frames/s) before clearing the canvas.
    ``Pace.burst()`` is the worst case: everyone at once, no pause (a stress test)."""

    arrival_seconds: float = 30.0
    spread_seconds: float = 10.0
    stroke_seconds: float = 1.5
    watch_seconds: float = 8.0

    @classmethod
    def burst(cls) -> "Pace":
        return cls(arrival_seconds=0.0, spread_seconds=0.0, stroke_seconds=0.0,
                   watch_seconds=0.0)


async def _open(browser, url: str, delay: float, timeout_ms: int, errors: list):
    """One visitor opens Compete after ``delay`` seconds; returns (context, page, canvas,
    seconds to a drawable canvas)."""
    await asyncio.sleep(delay)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    await context.add_init_script(script=PAGE_CLOCK)
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    opened = time.perf_counter()
    await page.goto(url, timeout=timeout_ms)
    canvas = page.locator("canvas.upper-canvas").first
    await canvas.wait_for(timeout=timeout_ms)
    return context, page, canvas, time.perf_counter() - opened


class Pen:
    """The mouse of one page, through the browser's input (CDP ``Input.dispatchMouseEvent``,
    what Playwright's ``page.mouse`` sends too). Not ``page.mouse`` itself: while a button is
    held, Playwright evaluates a drag-and-drop detection script in every frame of the page at
    every move: the browser's CPU for a letter's stroke on Compete was 2.45 s with it, 1.42 s
    with this pen (``benchmarks.browser_phases``, ``#page.mouse``; results/load/phases_*), a
    cost a person's mouse does not add."""

    def __init__(self, session):
        self.session = session

    @classmethod
    async def of(cls, page) -> "Pen":
        return cls(await page.context.new_cdp_session(page))

    async def _send(self, kind: str, x: float, y: float, held: bool, **extra):
        await self.session.send("Input.dispatchMouseEvent", {
            "type": kind, "x": float(x), "y": float(y), "button": "left",
            "buttons": 1 if held else 0, **extra})

    async def stroke(self, box: dict, path: np.ndarray, seconds: float) -> float:
        """Press at the first point of ``path`` (pixels in the canvas ``box``), move through
        the others in ``seconds`` (each segment in two moves, as ``page.mouse.move(steps=2)``),
        release; returns the time of the release (``time.perf_counter``), taken just before
        it, as with a person lifting the pen."""
        points = np.asarray(path, dtype=float) + np.array([box["x"], box["y"]])
        pause = seconds / max(len(points) - 1, 1)
        await self._send("mouseMoved", *points[0], held=False)
        await self._send("mousePressed", *points[0], held=True, clickCount=1)
        for before, point in zip(points[:-1], points[1:]):
            await self._send("mouseMoved", *(before + point) / 2, held=True)
            await self._send("mouseMoved", *point, held=True)
            if pause:
                await asyncio.sleep(pause)
        released = time.perf_counter()
        # stamped with the time the driver lets go (not when a busy browser gets to it): the
        #   page's clock counts from here
        await self._send("mouseReleased", *points[-1], held=False, clickCount=1,
                         timestamp=time.time())
        return released


async def _visitor(browser, url: str, letters, timeout_ms: int, pace: Pace, number: int,
                   sessions: int, everyone_open: asyncio.Barrier, rng,
                   shots: Path | None = None) -> dict:
    errors: list[str] = []
    out = {"to_winner": [], "to_figure": [], "to_winner_polled": [], "to_figure_polled": [],
           "played": 0, "failures": [], "page_errors": errors, "open_seconds": None}
    context = None
    try:
        context, page, canvas, out["open_seconds"] = await _open(
            browser, url, pace.arrival_seconds * number / max(sessions, 1), timeout_ms, errors)
    except Exception as exc:
        out["failures"].append(f"page: {type(exc).__name__}: {_first_line(exc)[:200]}")
    await everyone_open.wait()  # the measured part starts when the whole class is in
    if context is None:
        return out
    try:
        await asyncio.sleep(rng.uniform(0, pace.spread_seconds))
        pen = await Pen.of(page)
        drawn = [None, 0]  # the player's (drawing token, frames drawn) so far

        step = ["start"]  # the step under way, named in a failure

        async def one_letter(index, path):
            if index:  # a fresh canvas for the next letter
                step[0] = "clear the canvas"
                await page.get_by_title(CLEAR_TITLE).first.click(timeout=timeout_ms)
                step[0] = "the last verdict to go after clearing"
                await page.get_by_text(VERDICT).first.wait_for(state="detached",
                                                                   timeout=timeout_ms)
            step[0] = "draw"
            released = await pen.stroke(await canvas.bounding_box(), path, pace.stroke_seconds)
            step[0] = "the winner after pen release"
            await page.get_by_text(VERDICT).first.wait_for(timeout=timeout_ms)
            out["to_winner_polled"].append(time.perf_counter() - released)
            step[0] = "the race drawn"
            frame, drawn[:] = await _new_figure(page, tuple(drawn), timeout_ms)
            out["to_figure_polled"].append(time.perf_counter() - released)
            step[0] = "the page's clock"
            await page.wait_for_function("window.__pen.verdict !== null", timeout=timeout_ms)
            pen_clock = await page.evaluate("window.__pen")
            race_drawn = await frame.evaluate("window.__raceDrawn")
            if race_drawn["token"] != drawn[0]:
                raise RuntimeError("the player's first frame is of another drawing")
            out["to_winner"].append((pen_clock["verdict"] - pen_clock["released"]) / 1000)
            out["to_figure"].append((race_drawn["at"] - pen_clock["released"]) / 1000)
            step[0] = "watch the race"
            await asyncio.sleep(pace.watch_seconds)  # the race plays by itself
            if await asyncio.wait_for(frame.evaluate(
                    "window.__arena.playing || window.__arena.position > 0"), 10):
                out["played"] += 1

        for index, (path, letter) in enumerate(letters):
            try:  # every step has its own timeout; the whole letter one more (a hung call)
                await asyncio.wait_for(one_letter(index, path), 4 * timeout_ms / 1000)
            except Exception as exc:  # a timed-out step is a failure, counted, not fatal
                out["failures"].append(f"letter {index} ({letter}), waiting for {step[0]}: "
                                       f"{type(exc).__name__}: {_first_line(exc)[:160]}")
                if shots is not None:  # what the visitor saw when it gave up
                    try:
                        shots.mkdir(parents=True, exist_ok=True)
                        await asyncio.wait_for(page.screenshot(
                            path=str(shots / f"failure_v{number}_l{index}.png")), 30)
                    except Exception:
                        pass
    finally:
        try:
            await asyncio.wait_for(context.close(), 30)
        except Exception:
            pass
    return out


async def _new_figure(page, before: tuple, timeout_ms: int):
    """Wait until the arena player (an iframe) has drawn a new drawing's race: its spec's token
    changed and it drew a frame since. Returns (frame, (token, frames drawn))."""
    deadline = time.perf_counter() + timeout_ms / 1000
    while time.perf_counter() < deadline:
        frame = next((f for f in page.frames if "arena_player" in f.url), None)
        if frame is not None:
            try:
                token, count = await asyncio.wait_for(frame.evaluate(
                    "[window.__arena && window.__arena.spec ? window.__arena.spec.token : null,"
                    " (window.__frames || []).length]"), 10)
            except Exception:  # the frame is being replaced (or did not answer in 10 s)
                token, count = None, 0
            if token is not None and token != before[0] and count > before[1]:
                return frame, (token, count)
        await asyncio.sleep(0.1)
    raise TimeoutError("the arena player did not draw the new race")


def _percentile(values, q):
    return float(np.percentile(values, q)) if values else None


def _machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far (every process, all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICKS


async def _run_sessions(server: Server, sessions: int, drawings: int, seed: int,
                        timeout_ms: int, pace: Pace, per_browser: int = 5,
                        shots: Path | None = None) -> dict:
    from playwright.async_api import async_playwright
    letters = _letters(sessions * drawings, seed)
    rng = np.random.RandomState(seed)
    async with async_playwright() as p:
        browsers = [await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                    for _ in range(-(-sessions // per_browser))]
        everyone_open = asyncio.Barrier(sessions + 1)
        visitors = [asyncio.create_task(_visitor(
            browsers[i // per_browser], server.url, letters[i * drawings:(i + 1) * drawings],
            timeout_ms, pace, i, sessions, everyone_open, rng, shots)) for i in range(sessions)]
        await everyone_open.wait()
        cpu_before, machine_before = server.cpu_seconds(), _machine_cpu_seconds()
        rss_before = server.rss_mb()
        started = time.perf_counter()
        results = await asyncio.gather(*visitors)
        wall = time.perf_counter() - started
        server_cpu = server.cpu_seconds() - cpu_before
        machine_cpu = _machine_cpu_seconds() - machine_before
        for browser in browsers:
            await browser.close()
    to_winner = [t for r in results for t in r["to_winner"]]
    to_figure = [t for r in results for t in r["to_figure"]]
    polled = [t for r in results for t in r["to_winner_polled"]]
    figure_polled = [t for r in results for t in r["to_figure_polled"]]
    opened = [r["open_seconds"] for r in results if r["open_seconds"] is not None]
    peak = max((m for _, m in server.memory), default=float("nan"))
    cores = os.cpu_count()
    return {
        "sessions": sessions, "drawings_per_session": drawings, "pace": asdict(pace),
        "browser_processes": len(browsers), "visitors_per_browser": per_browser,
        "drawings_done": len(to_winner), "failures": sum(len(r["failures"]) for r in results),
        "failure_messages": [f for r in results for f in r["failures"]][:10],
        "page_exceptions": sum(len(r["page_errors"]) for r in results),
        "page_exception_messages": [e for r in results for e in r["page_errors"]][:10],
        "played": sum(r["played"] for r in results),
        "open_p50_s": _percentile(opened, 50), "open_max_s": max(opened, default=None),
        "to_winner_p50_s": _percentile(to_winner, 50), "to_winner_p95_s": _percentile(to_winner, 95),
        "to_winner_max_s": max(to_winner, default=None),
        "to_figure_p50_s": _percentile(to_figure, 50), "to_figure_p95_s": _percentile(to_figure, 95),
        "to_winner_polled_p50_s": _percentile(polled, 50),
        "to_winner_polled_p95_s": _percentile(polled, 95),
        "to_figure_polled_p50_s": _percentile(figure_polled, 50),
        "to_figure_polled_p95_s": _percentile(figure_polled, 95),
        "to_winner_s": [round(t, 3) for t in to_winner],
        "server_cpu_seconds": server_cpu,
        "server_cpu_seconds_per_drawing": server_cpu / max(len(to_winner), 1),
        # everything else that ran meanwhile: the browsers, this driver, the system
        "others_cpu_seconds": machine_cpu - server_cpu,
        "others_cpu_seconds_per_drawing": (machine_cpu - server_cpu) / max(len(to_winner), 1),
        "server_cpu_share": server_cpu / (wall * cores),
        "others_cpu_share": (machine_cpu - server_cpu) / (wall * cores),
        "wall_seconds": wall,
        "server_rss_before_mb": rss_before,
        "server_rss_after_mb": server.rss_mb(), "server_rss_peak_mb": peak,
    }


async def _warm_up(server: Server, seed: int, timeout_ms: int) -> dict:
    """One visitor, one letter, before anything is measured: a teacher opens the app before
    class. Its time includes loading the experts and compiling the engine once per server."""
    started = time.perf_counter()
    result = await _run_sessions(server, 1, 1, seed + 99, timeout_ms, Pace.burst())
    return {"warm_up_seconds": time.perf_counter() - started,
            "warm_up_to_winner_s": result["to_winner_max_s"],
            "warm_up_failures": result["failure_messages"]}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
                 platform.processor())
    flags = Path("/proc/cpuinfo").read_text()
    return {"cpu": model, "cores": os.cpu_count(), "avx512": "avx512f" in flags,
            "avx2": "avx2" in flags}


def soak(server: Server, sessions: int, minutes: float, seed: int, timeout_ms: int,
         out: Path, pace: Pace, per_browser: int = 5) -> dict:
    """A few visitors drawing without pause for ``minutes``; the server's memory curve."""
    deadline = time.perf_counter() + minutes * 60
    rounds, drawn, failures, exceptions = 0, 0, 0, 0
    messages: list[str] = []
    load = []  # the machine's 1-minute load average after each round (others' work shows)
    while time.perf_counter() < deadline:
        result = asyncio.run(_run_sessions(server, sessions, 5, seed + rounds, timeout_ms,
                                           pace, per_browser, out / "failures_soak"))
        rounds += 1
        drawn += result["drawings_done"]
        failures += result["failures"]
        exceptions += result["page_exceptions"]
        messages += result["failure_messages"] + result["page_exception_messages"]
        load.append(round(os.getloadavg()[0], 2))
        print(f"soak round {rounds}: {drawn} drawings, RSS {server.rss_mb():.0f} MB",
              file=sys.stderr, flush=True)
    curve = server.memory[::20]  # every ten seconds
    summary = {"soak_minutes": minutes, "sessions": sessions, "drawings": drawn,
               "failures": failures, "page_exceptions": exceptions,
               "messages": sorted(set(messages))[:20], "load_average_per_round": load,
               "rss_mb_first_5_min_max": max((m for t, m in curve if t < 300), default=None),
               "rss_mb_last_5_min_max": max((m for t, m in curve if t > curve[-1][0] - 300),
                                            default=None),
               "memory_curve": [[round(t, 1), round(m, 1)] for t, m in curve]}
    _plot_memory(summary["memory_curve"], out / "soak_memory.png",
                 f"Server memory, {sessions} visitors drawing for {minutes:g} min")
    return summary


def _plot_memory(curve, path: Path, title: str) -> None:
    """A small line chart of (seconds, MB) with Pillow (no plotting dependency)."""
    from PIL import Image, ImageDraw
    width, height, pad = 800, 400, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    t = np.array([c[0] for c in curve]) / 60
    m = np.array([c[1] for c in curve])
    top = max(float(m.max()) * 1.1, 1.0)
    x = pad + (t - t.min()) / max(float(np.ptp(t)), 1e-9) * (width - 2 * pad)
    y = height - pad - m / top * (height - 2 * pad)
    draw.line([(pad, height - pad), (width - pad, height - pad)], fill="black")
    draw.line([(pad, pad), (pad, height - pad)], fill="black")
    for mb in np.linspace(0, top, 5):
        yy = height - pad - mb / top * (height - 2 * pad)
        draw.text((5, yy - 6), f"{mb:.0f} MB", fill="black")
    for minute in np.linspace(t.min(), t.max(), 6):
        xx = pad + (minute - t.min()) / max(float(np.ptp(t)), 1e-9) * (width - 2 * pad)
        draw.text((xx - 10, height - pad + 8), f"{minute:.0f} min", fill="black")
    draw.line(list(zip(x.tolist(), y.tolist())), fill="#e4572e", width=2)
    draw.text((pad, 20), title, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", nargs="*", type=int, default=[1, 8, 30])
    parser.add_argument("--drawings", type=int, default=3, help="letters per visitor")
    parser.add_argument("--soak-minutes", type=float, default=0.0)
    parser.add_argument("--soak-sessions", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per step")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "load")
    parser.add_argument("--burst", action="store_true",
                        help="stress test: everyone opens, draws and redraws at once, no pauses")
    parser.add_argument("--arrival-seconds", type=float, default=Pace.arrival_seconds)
    parser.add_argument("--spread-seconds", type=float, default=Pace.spread_seconds)
    parser.add_argument("--stroke-seconds", type=float, default=Pace.stroke_seconds)
    parser.add_argument("--watch-seconds", type=float, default=Pace.watch_seconds)
    parser.add_argument("--visitors-per-browser", type=int, default=5,
                        help="visitors (contexts) per Chromium process")
    parser.add_argument("--browsers-nice", type=int, default=10,
                        help="niceness of the browsers (and this driver); the server keeps 0. "
                             "In a class the browsers run on the students' machines, so here "
                             "they yield the two cores to the server; 0 = equal footing")
    args = parser.parse_args(argv)
    pace = Pace.burst() if args.burst else Pace(args.arrival_seconds, args.spread_seconds,
                                                  args.stroke_seconds, args.watch_seconds)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"error: {CHROMIUM} is missing (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    server = Server()
    os.nice(args.browsers_nice)  # after the server started: Chromium inherits it, the server not
    stamp = time.strftime("%Y-%m-%d")
    timeout_ms = int(args.timeout * 1000)
    try:
        warm_up = asyncio.run(_warm_up(server, args.seed, timeout_ms))
        print(json.dumps(warm_up), file=sys.stderr, flush=True)
        for sessions in args.sessions:
            result = {"machine": _machine(), "date": stamp, "commit": _commit(),
                      "browsers_nice": args.browsers_nice,
                      **warm_up,
                      **asyncio.run(_run_sessions(server, sessions, args.drawings, args.seed,
                                                  timeout_ms, pace,
                                                  args.visitors_per_browser,
                                                  args.out / f"failures_{sessions}"))}
            print(json.dumps(result), flush=True)
            name = f"load_{sessions}x{args.drawings}{'_burst' if args.burst else ''}.json"
            (args.out / name).write_text(json.dumps(result, indent=1))
        if args.soak_minutes > 0:
            result = {"machine": _machine(), "date": stamp, "commit": _commit(),
                      **soak(server, args.soak_sessions, args.soak_minutes, args.seed + 1000,
                             timeout_ms, args.out, pace, args.visitors_per_browser)}
            (args.out / "soak.json").write_text(json.dumps(result, indent=1))
            print(json.dumps({k: v for k, v in result.items() if k != "memory_curve"}))
    finally:
        server.close()


if __name__ == "__main__":
    main()
