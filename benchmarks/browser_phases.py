"""Where one visitor's browser spends its CPU on Compete, phase by phase (issue 16).

    python -m benchmarks.browser_phases --letters 4
    python -m benchmarks.browser_phases --letters 4 --variants "" "starts_view=1" \
        --out results/load/phases.json

One server, one headless Chromium (as in ``benchmarks.load_test``), one visitor drawing held-out
letters at a pen's pace; for each letter the CPU seconds of the Chromium processes while it
clears the canvas, draws the stroke, waits for the verdict, waits for the race to be drawn,
watches the race for 8 s and idles 4 s after; and the server's CPU for the whole letter. Prints
one JSON object per letter. Not timed in CI.

``--variants``: URL query strings (Compete's state keys, e.g. ``starts=uniform``), each one
visitor (its own session) in the same browser and server; the visitors take turns letter by
letter (the others idle, their races long over), so that the variants are compared in one run
on one machine: the summary gives each variant's mean CPU per phase and its ratio to the first.
A variant ``DIR|query`` runs the app of another checkout ``DIR`` (its own server, e.g. an older
commit in a ``git worktree``) against this one in the same run. A variant ending in
``#page.mouse`` draws with Playwright's ``page.mouse`` instead of ``load_test.Pen`` (what the
load test drew with before: it costs the browser and the driver more than the page does).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import load_test as L


async def _visitor(browser, url: str, timeout_ms: int, errors: list, mouse: bool = False):
    page = await (await browser.new_context(
        viewport={"width": 1400, "height": 1000})).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)
    canvas = page.locator("canvas.upper-canvas").first
    await canvas.wait_for(timeout=timeout_ms)
    return page, canvas, (PlaywrightPen(page) if mouse else await L.Pen.of(page))


class PlaywrightPen:
    """``load_test.Pen``'s stroke with Playwright's ``page.mouse`` (two moves per segment)."""

    def __init__(self, page):
        self.page = page

    async def stroke(self, box: dict, path, seconds: float) -> float:
        mouse, pause = self.page.mouse, seconds / max(len(path) - 1, 1)
        await mouse.move(box["x"] + path[0, 0], box["y"] + path[0, 1])
        await mouse.down()
        for x, y in path[1:]:
            await mouse.move(box["x"] + x, box["y"] + y, steps=2)
            await asyncio.sleep(pause)
        released = time.perf_counter()
        await mouse.up()
        return released


def _parts(variant: str) -> tuple[str, str, bool]:
    """A variant ``[DIR|]query[#page.mouse]`` -> (DIR or "", query, whether page.mouse)."""
    mouse = variant.endswith("#page.mouse")
    variant = variant.removesuffix("#page.mouse")
    root, query = variant.split("|", 1) if "|" in variant else ("", variant)
    return root, query, mouse


async def _letter(page, canvas, pen, path, first: bool, drawn: list, server, timeout_ms: int):
    """One letter on one visitor's page: (CPU seconds per phase, seconds to the verdict,
    server CPU seconds)."""
    cpu, server_before, phases = L._browsers_cpu_seconds(), server.cpu_seconds(), {}
    server_cpu, server_phases = server_before, {}

    def mark(name):
        nonlocal cpu, server_cpu
        now, server_now = L._browsers_cpu_seconds(), server.cpu_seconds()
        phases[name] = round(now - cpu, 3)
        server_phases[name] = round(server_now - server_cpu, 3)
        cpu, server_cpu = now, server_now
    if not first:
        await page.get_by_title(L.CLEAR_TITLE).first.click()
        await page.get_by_text(L.VERDICT).first.wait_for(state="detached")
    mark("clear")
    released = await pen.stroke(await canvas.bounding_box(), path, 1.5)
    mark("stroke")
    await page.get_by_text(L.VERDICT).first.wait_for(timeout=timeout_ms)
    to_verdict = time.perf_counter() - released
    mark("verdict")
    _, drawn[:] = await L._new_figure(page, tuple(drawn), timeout_ms)
    mark("race_drawn")
    await asyncio.sleep(8)
    mark("watch_8s")
    await asyncio.sleep(4)
    mark("idle_4s")
    return phases, to_verdict, server.cpu_seconds() - server_before, server_phases


async def _phases(letters: int, seed: int, variants: list[str], out: Path | None,
                  timeout_ms: int = 120_000) -> None:
    from playwright.async_api import async_playwright
    roots = {v: _parts(v)[0] for v in variants}
    # one cache folder per server: the player's page is written into the cache folder
    # (widgets._player_directory), and servers of other commits must not serve each other's
    scratch = tempfile.TemporaryDirectory(prefix="browser_phases_")
    servers = {root: L.Server(Path(root) if root else L.ROOT,
                              env={"MIC_CACHE_DIR": str(Path(scratch.name) / str(i))})
               for i, root in enumerate(dict.fromkeys(roots.values()))}
    rows = []
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=L.CHROMIUM, args=L.ARGS)
            errors: list[str] = []
            pages = []
            for variant in variants:
                _, query, mouse = _parts(variant)
                pages.append(await _visitor(browser, servers[roots[variant]].url +
                                            ("/?" + query if query else ""), timeout_ms, errors,
                                            mouse))
            await asyncio.sleep(3)
            drawn = [[None, 0] for _ in variants]
            for index, (path, letter) in enumerate(L._letters(letters, seed)):
                for v, query in enumerate(variants):
                    page, canvas, pen = pages[v]
                    phases, to_verdict, server_cpu, server_phases = await _letter(
                        page, canvas, pen, path, index == 0, drawn[v], servers[roots[query]],
                        timeout_ms)
                    row = {"variant": query, "letter": letter, "warm_up": index == 0,
                           "browser_cpu_s": phases,
                           "to_verdict_s": round(to_verdict, 3),
                           "server_cpu_s": round(server_cpu, 3),
                           "server_cpu_by_phase_s": server_phases,
                           "page_errors": list(errors)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            await browser.close()
    finally:
        for server in servers.values():
            server.close()
        scratch.cleanup()
    summary = _summary(rows, variants)
    print(json.dumps(summary), flush=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({**summary, "rows": rows}, indent=1) + "\n")


def _summary(rows: list[dict], variants: list[str]) -> dict:
    """Each variant's mean CPU seconds per phase (and in all), its mean seconds to the verdict
    and server CPU, and its ratios to the first variant (same run, same machine). The first
    letter of each visitor is left out (a warm-up: the engine compiles, the page loads its
    scripts), as in the load test."""
    means = {}
    for query in variants:
        mine = [r for r in rows if r["variant"] == query and not r.get("warm_up")] or \
            [r for r in rows if r["variant"] == query]
        phases = {k: float(np.mean([r["browser_cpu_s"][k] for r in mine]))
                  for k in mine[0]["browser_cpu_s"]}
        phases["total"] = float(np.mean([sum(r["browser_cpu_s"].values()) for r in mine]))
        means[query] = {"browser_cpu_s": {k: round(v, 3) for k, v in phases.items()},
                        "to_verdict_s": round(float(np.mean([r["to_verdict_s"] for r in mine])), 3),
                        "server_cpu_s": round(float(np.mean([r["server_cpu_s"] for r in mine])), 3),
                        "server_cpu_by_phase_s": {
                            k: round(float(np.mean([r["server_cpu_by_phase_s"][k] for r in mine])), 3)
                            for k in mine[0]["server_cpu_by_phase_s"]},
                        "letters": len(mine)}
    first = means[variants[0]]
    ratios = {q: {"browser_cpu_total": round(m["browser_cpu_s"]["total"] /
                                             first["browser_cpu_s"]["total"], 3),
                  "browser_cpu_watch_8s": round(m["browser_cpu_s"]["watch_8s"] /
                                                max(first["browser_cpu_s"]["watch_8s"], 1e-9), 3),
                  "server_cpu": round(m["server_cpu_s"] / max(first["server_cpu_s"], 1e-9), 3)}
              for q, m in means.items()}
    def commit(root):
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                              capture_output=True, text=True).stdout.strip()
    roots = {v: _parts(v)[0] or str(L.ROOT) for v in variants}
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "commit": commit(L.ROOT), "commits": {v: commit(r) for v, r in roots.items()},
            "machine": _machine(),
            "load_average_after": [round(x, 2) for x in __import__("os").getloadavg()],
            "variants": variants, "means": means, "ratios_to_first": ratios}


def _machine() -> str:
    """The CPU's model name and whether it has AVX-512 (``/proc/cpuinfo``)."""
    text = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                  if line.startswith("model name")), platform.machine())
    return f"{model}, {__import__('os').cpu_count()} cores, " + \
        ("AVX-512" if "avx512f" in text else "AVX2" if "avx2" in text else "no AVX2")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=4)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=[""],
                        help="URL query strings, one visitor each (\"\": the defaults)")
    parser.add_argument("--out", type=Path, default=None, help="a JSON file for the summary")
    args = parser.parse_args(argv)
    asyncio.run(_phases(args.letters, args.seed, args.variants, args.out))


if __name__ == "__main__":
    main()
