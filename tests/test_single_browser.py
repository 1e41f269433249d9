"""The Single generator page in a real browser (Debian's Chromium through Playwright):
open it from the navigation, wait for the verdicts, draw a letter on its canvas, play the
code inversion; any page error fails the test."""
import json
import time

import pytest

from mic_core.data import DataConfig
from mic_core.single import default_single_config, find_generator
from tests.conftest import draw_letter, letter_path
from tests.test_browser import OUT

if find_generator(DataConfig("characters"), default_single_config("characters")) is None:
    pytest.skip("the shipped single generator is missing", allow_module_level=True)


def test_single_generator_page_classifies_a_drawing_and_plays(app_url, open_page):
    OUT.mkdir(exist_ok=True)
    page = open_page(app_url, 1500, 2600)
    page.goto(app_url)
    page.get_by_role("link", name="Single generator").click()
    started = time.perf_counter()
    page.get_by_text("Single generator: largest mass").wait_for(timeout=120_000)
    page.get_by_text("Local minima: single generator").wait_for(timeout=120_000)
    held_out_seconds = time.perf_counter() - started
    page.screenshot(path=str(OUT / "single_generator.png"), full_page=True)
    # draw: switch the input, trace a held-out letter with the mouse
    page.get_by_text("Draw", exact=True).first.click()
    path, letter = letter_path(0)
    draw_letter(page, path, timeout=60_000)
    page.get_by_text("Single generator: largest mass").wait_for(timeout=120_000)
    page.locator(".js-plotly-plot .slider-container").first.wait_for(timeout=60_000)
    page.evaluate("""() => {
        const gd = document.querySelector('.slider-container').closest('.js-plotly-plot');
        window.__frames = [];
        gd.on('plotly_animatingframe', (e) => window.__frames.push(e.name));
    }""")
    page.locator(".updatemenu-button", has_text="play").first.click()
    page.wait_for_timeout(3000)
    frames = page.evaluate("window.__frames")
    page.screenshot(path=str(OUT / f"single_generator_drawn_{letter}.png"), full_page=True)
    print(json.dumps({"single_page_seconds": held_out_seconds, "frames_played": len(frames)}))
    page.watch.check()
    assert len(frames) >= 5 and [int(f) for f in frames] == sorted(int(f) for f in frames)


def test_compete_classifies_a_drawing_by_either_system(app_url, open_page):
    """Compete's contestants: draw a letter, see the experts' verdict, switch to the single
    generator and to both; every switch shows its verdicts and no page error."""
    page = open_page(app_url, 1400, 2400)
    page.goto(app_url)
    path, letter = letter_path(1)  # not the first test's letter: its inversion is not cached
    draw_letter(page, path, timeout=120_000)
    page.get_by_text("The winner:").wait_for(timeout=120_000)
    page.get_by_text("Selected expert", exact=True).wait_for(timeout=60_000)
    contestants = page.locator('[data-testid="stButtonGroup"]').filter(has_text="Both")
    contestants.get_by_text("Single generator", exact=True).click()
    # from the moment the single generator's heading is there, while it computes (seconds
    # for a new drawing), the experts' controls are gone, not left greyed out under it
    heading = page.get_by_role("heading", name="Single generator", exact=True)
    verdict = page.get_by_text("Single generator: largest mass")
    stale, polls = [], 0
    deadline = time.perf_counter() + 120
    while verdict.count() == 0 and time.perf_counter() < deadline:
        if heading.count():
            polls += 1
            stale += [name for name in ("Selected expert", "Record (JSON)")
                      if page.get_by_text(name, exact=True).count()]
        page.wait_for_timeout(100)
    assert polls >= 3, polls  # the single generator computed while we looked
    assert not stale, stale
    page.get_by_text("Single generator: largest mass").wait_for(timeout=120_000)
    page.get_by_text("Single generator: class corners").wait_for(timeout=60_000)
    assert page.get_by_text("The winner:").count() == 0  # the experts stepped aside
    # the animation's "iteration 50" is readable: not behind the play / pause buttons
    label = page.locator(".slider-container text", has_text="iteration").first
    label.wait_for(timeout=60_000)
    box = label.bounding_box()
    assert "iteration 50" in label.text_content()
    for button in page.locator(".updatemenu-button").all():
        b = button.bounding_box()
        assert (box["x"] >= b["x"] + b["width"] or b["x"] >= box["x"] + box["width"]
                or box["y"] >= b["y"] + b["height"] or b["y"] >= box["y"] + box["height"]), \
            (box, b)
    contestants.get_by_text("Both", exact=True).click()
    page.get_by_text("Experts (MIC)").wait_for(timeout=120_000)
    page.get_by_text("The winner:").wait_for(timeout=60_000)
    page.get_by_text("Single generator: largest mass").wait_for(timeout=60_000)
    page.screenshot(path=str(OUT / f"compete_both_drawn_{letter}.png"), full_page=True)
    assert page.get_by_text("This app has encountered an error").count() == 0
    page.watch.check()
