"""The Style memory page in a real browser (Debian's Chromium via Playwright): a held-out
sample, a letter drawn with the mouse, the interpolation played, a digit drawn with the
mouse and a held-out digit; any page error fails the test (the server and the browser come
from ``tests/conftest.py``)."""
from pathlib import Path

import numpy as np

from tests.conftest import draw_letter, letter_path

OUT = Path(__file__).resolve().parent.parent / "screenshots"


def test_style_memory_page_in_a_browser(app_url, open_page):
    OUT.mkdir(exist_ok=True)
    page = open_page(app_url, 1500, 1400)
    page.goto(app_url)
    page.get_by_role("link", name="Style memory").click()
    page.get_by_text("Predicted:").wait_for(timeout=120_000)
    page.get_by_text("AUROC").first.wait_for(timeout=60_000)

    # the interpolation plays in the browser
    page.evaluate("""() => {
        const plots = [...document.querySelectorAll('.js-plotly-plot')];
        const gd = plots.find(g => g.querySelector('.slider-container'));
        window.__frames = [];
        gd.on('plotly_animatingframe', (e) => window.__frames.push(e.name));
    }""")
    page.locator(".updatemenu-button", has_text="play").first.click()
    page.wait_for_timeout(3500)
    frames = page.evaluate("window.__frames")
    page.screenshot(path=str(OUT / "style_memory_sample.png"), full_page=True)

    # draw a letter with the mouse
    page.get_by_text("Draw", exact=True).first.click()
    draw_letter(page, letter_path(0, size=240, offset=60)[0], timeout=60_000)
    page.get_by_text("Predicted:").wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(OUT / "style_memory_drawn.png"), full_page=True)

    # the digits
    page.get_by_text("digits (MNIST)").click()
    page.get_by_text("Draw one digit, large.").wait_for(timeout=120_000)  # the digits' page
    # draw a zero with the mouse
    angles = np.linspace(0, 2 * np.pi, 40)
    ring = np.stack([140 + 60 * np.sin(angles), 140 - 90 * np.cos(angles)], axis=1)
    draw_letter(page, ring, timeout=60_000)
    page.get_by_text("Predicted:").wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(OUT / "style_memory_drawn_digit.png"), full_page=True)
    page.get_by_text("Held-out sample", exact=True).first.click()
    page.get_by_text("AUROC").first.wait_for(timeout=120_000)
    page.wait_for_timeout(5000)
    page.screenshot(path=str(OUT / "style_memory_digits.png"), full_page=True)
    page.watch.check()
    assert len(frames) >= 5 and frames == sorted(frames, key=float)
