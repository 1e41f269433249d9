"""Teach in a real browser (issue 14): draw a star four times with the mouse, teach it, then
draw a fifth star on Compete and the star's expert wins (the server and the browser come
from ``tests/conftest.py``)."""
from pathlib import Path

import numpy as np
import pytest

from test_teaching import star

OUT = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    """The server of this module: its own cache (taught sets land there), short teaching."""
    return {"MIC_CACHE_DIR": str(tmp_path_factory.mktemp("cache")), "MIC_TEACH_STEPS": "2000"}


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


def test_teach_a_star_with_the_mouse_then_it_wins(app_url, open_page):
    OUT.mkdir(exist_ok=True)
    page = open_page(app_url, 1500, 1400)
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
    assert "star" in winner, winner
    page.watch.check()
