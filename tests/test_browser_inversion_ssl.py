"""The Inversion page in a real browser: a held-out sample, a drawn letter, digits; fails on
any page error (the server and Debian's Chromium come from ``tests/conftest.py``)."""
from pathlib import Path

from tests.conftest import draw_letter, letter_path

OUT = Path(__file__).resolve().parent.parent / "screenshots"


def test_sample_drawing_and_digits(app_url, open_page):
    OUT.mkdir(exist_ok=True)
    page = open_page(app_url, 1500, 2600)
    page.goto(app_url)
    page.get_by_role("link", name="Inversion").click()
    page.get_by_text("Semi-supervised (inversion) predicts").wait_for(timeout=180_000)
    page.get_by_text("The network as template matching").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(OUT / "inversion_sample.png"), full_page=True)

    page.get_by_text("drawing", exact=True).click()
    draw_letter(page, letter_path(0, size=240, offset=60)[0], timeout=60_000)
    page.get_by_text("Semi-supervised (inversion) predicts").wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(OUT / "inversion_drawing.png"), full_page=True)

    # the data set is chosen on the page itself
    page.get_by_text("digits (MNIST)").click()
    page.get_by_text("held-out sample", exact=True).click()
    page.get_by_text("predicts").first.wait_for(timeout=180_000)
    page.get_by_text("5 labelled images per class").wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(OUT / "inversion_digits.png"), full_page=True)
    page.watch.check()
