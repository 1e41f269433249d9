"""Where one visitor's browser spends its CPU on Compete, phase by phase (issue 16).

    python -m benchmarks.browser_phases --letters 4

One server, one headless Chromium (as in ``benchmarks.load_test``), one visitor drawing held-out
letters at a pen's pace; for each letter the CPU seconds of the Chromium processes while it
clears the canvas, draws the stroke, waits for the verdict, waits for the race to be drawn,
watches the race for 8 s and idles 4 s after; and the server's CPU for the whole letter. Prints
one JSON object per letter. Not timed in CI.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

from benchmarks import load_test as L


async def _phases(letters: int, seed: int, timeout_ms: int = 120_000) -> None:
    from playwright.async_api import async_playwright
    server = L.Server()
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=L.CHROMIUM, args=L.ARGS)
            page = await (await browser.new_context(
                viewport={"width": 1400, "height": 1000})).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(server.url)
            canvas = page.locator("canvas.upper-canvas").first
            await canvas.wait_for(timeout=timeout_ms)
            await asyncio.sleep(3)
            drawn = [None, 0]
            for index, (path, letter) in enumerate(L._letters(letters, seed)):
                cpu, server_before, phases = L._browsers_cpu_seconds(), server.cpu_seconds(), {}

                def mark(name):
                    nonlocal cpu
                    now = L._browsers_cpu_seconds()
                    phases[name] = round(now - cpu, 3)
                    cpu = now
                if index:
                    await page.get_by_title(L.CLEAR_TITLE).first.click()
                    await page.get_by_text(L.VERDICT).first.wait_for(state="detached")
                mark("clear")
                box = await canvas.bounding_box()
                pause = 1.5 / max(len(path) - 1, 1)
                await page.mouse.move(box["x"] + path[0, 0], box["y"] + path[0, 1])
                await page.mouse.down()
                for x, y in path[1:]:
                    await page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
                    await asyncio.sleep(pause)
                mark("stroke")
                released = time.perf_counter()
                await page.mouse.up()
                await page.get_by_text(L.VERDICT).first.wait_for(timeout=timeout_ms)
                to_verdict = time.perf_counter() - released
                mark("verdict")
                _, drawn[:] = await L._new_figure(page, tuple(drawn), timeout_ms)
                mark("race_drawn")
                await asyncio.sleep(8)
                mark("watch_8s")
                await asyncio.sleep(4)
                mark("idle_4s")
                print(json.dumps({"letter": letter, "browser_cpu_s": phases,
                                  "to_verdict_s": round(to_verdict, 3),
                                  "server_cpu_s": round(server.cpu_seconds() - server_before, 3),
                                  "page_errors": errors}), flush=True)
            await browser.close()
    finally:
        server.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=4)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    asyncio.run(_phases(args.letters, args.seed))


if __name__ == "__main__":
    main()
