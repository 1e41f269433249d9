"""The app in a real browser: draw with the mouse, click experts, play, step with the keys.

The app server and Debian's Chromium (through Playwright, never a downloaded browser) come
from ``tests/conftest.py``. Every test fails on any page error, on any console error, and on
any request that leaves localhost (the app loads nothing from the network). Screenshots
(1400x1000, 1280x720, 800x1000, presentation mode) and the measured figures (time to the
first view, playback frames per second) go to ``screenshots/``.
"""
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import PLAYER, draw_letter, letter_path, player_frame

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"


def _in_view(page, locator) -> bool:
    box = locator.bounding_box()
    view = page.viewport_size
    return (box is not None and box["x"] >= 0 and box["y"] >= 0 and
            box["x"] + box["width"] <= view["width"] + 1 and
            box["y"] + box["height"] <= view["height"] + 1)


POINT_OF = """([kind, expert]) => {
  // pixels (inside the player) of a point of expert `expert` in a view
  if (kind === 'heat') {  // a cell of the heat map, drawn by plotly
    const L = document.getElementById('figure')._fullLayout, xa = L.xaxis2, ya = L.yaxis2;
    return [xa._offset + xa.c2p(0), ya._offset + ya.c2p(expert)];
  }
  const node = document.querySelector(`#layer .${kind}[data-expert="${expert}"]`);
  if (kind === 'race-bar') { const b = node.getBBox(); return [b.x + 4, b.y + b.height / 2]; }
  const q = node.getPointAtLength(node.getTotalLength() * 0.3);
  return [q.x, q.y];
}"""

TOP_OF_THE_RACE = """() => {
  const bars = [...document.querySelectorAll('#layer .race-bar')];
  bars.sort((a, b) => a.getBBox().y - b.getBBox().y);
  return [window.__arena.spec.names[Number(bars[0].dataset.expert)], bars[0].getAttribute('fill')];
}"""


CUT_SHORT = """() => [...document.querySelectorAll('[data-testid="stMain"] *')].filter(e =>
  e.offsetParent && getComputedStyle(e).textOverflow === 'ellipsis' &&
  e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)"""
SELECTED_IMAGE_INSIDE = """() => {
  // the selected expert's digit (the layer's first image) lies inside the x3/y3 panel
  const L = document.getElementById('figure')._fullLayout, xa = L.xaxis3, ya = L.yaxis3;
  const b = document.querySelector('#layer image').getBBox();
  return b.width > 40 && b.x >= xa._offset - 2 && b.x + b.width <= xa._offset + xa._length + 2
    && b.y >= ya._offset - 2 && b.y + b.height <= ya._offset + ya._length + 2;
}"""


def _click(page, frame, kind: str, expert: int) -> None:
    x, y = frame.evaluate(POINT_OF, [kind, expert])
    box = page.locator(PLAYER).first.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_draw_click_play_and_step_with_the_keys(app_url, open_page):
    OUT.mkdir(exist_ok=True)
    page = open_page(app_url, 1280, 720)
    watch = page.watch
    sent = []  # what the page sends the server (each a rerun request, say)
    page.on("websocket", lambda socket: socket.on("framesent", lambda m: sent.append(m)))
    latencies = []
    for run, index in enumerate([0, 120]):
        page.goto(app_url)
        path, letter = letter_path(index)
        released = draw_letter(page, path)
        page.get_by_text("The winner:").wait_for(timeout=90_000)
        latencies.append(time.perf_counter() - released)
        frame = player_frame(page)
        page.wait_for_timeout(300)
    # issue 16: a race that plays to the decision by itself tells the page nothing (each report
    # is a rerun of the page, for every drawing of a class)
    frame.evaluate("window.__arena.pause(true); window.__arena.setPosition(45, true)")
    page.wait_for_timeout(800)  # anything the page had to send has gone
    sent.clear()
    frame.evaluate("window.__arena.play()")
    frame.wait_for_function("!window.__arena.playing && "
                            "window.__arena.position === window.__arena.spec.I", timeout=10_000)
    page.wait_for_timeout(800)  # the player's delayed reports would have gone by now
    assert sent == []

    # item 8: canvas, race and play button on one 1280x720 screen
    assert _in_view(page, page.locator("canvas.upper-canvas").first)
    assert _in_view(page, page.frame_locator(PLAYER).locator("#play"))
    assert _in_view(page, page.locator(PLAYER).first)
    # after a race that ended by itself (above), into presentation mode, the page hears it from
    # the player: the class has seen the decision, and the verdict shows (not "Who will win?")
    page.get_by_text("Presentation mode").click()
    page.wait_for_function("() => location.search.includes('present=1')", timeout=30_000)
    page.get_by_text("The winner:").wait_for(timeout=30_000)
    page.get_by_text("Presentation mode").click()
    page.wait_for_function("() => location.search.includes('present=0')", timeout=30_000)
    frame = player_frame(page)

    # items 6 and 10: a new drawing plays at once in the browser; at 10 fps asked, count the
    # positions drawn per second
    frame.evaluate("window.__arena.pause()")
    frame.select_option("#fps", "10")
    frame.evaluate("window.__frames = []; window.__arena.setPosition(0, true); "
                   "window.__arena.play()")
    page.wait_for_timeout(3000)
    frames = frame.evaluate("window.__frames")
    frame.evaluate("window.__arena.pause()")  # item 9: pausing while playing raises nothing
    seconds = (frames[-1][0] - frames[0][0]) / 1000
    fps = (len(frames) - 1) / seconds
    played = [p for _, p in frames]
    assert played == sorted(played) and len(frames) >= 10

    # item 6: one clock: keys on the page, the player's buttons and its slider move the same
    # position, and the URL keeps it
    frame.evaluate("window.__arena.setPosition(20, true)")
    page.mouse.click(30, 400)  # focus on the page itself, outside the player
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    assert frame.evaluate("window.__arena.position") == 21
    page.frame_locator(PLAYER).locator("#forward").click()
    assert frame.evaluate("window.__arena.position") == 22
    assert frame.locator("#position").input_value() == "22"
    assert "iteration 22" in frame.locator("#label").inner_text()
    page.wait_for_function("() => location.search.includes('iteration=22')", timeout=30_000)
    page.keyboard.press(" ")
    page.wait_for_timeout(400)
    assert frame.evaluate("window.__arena.playing")
    page.keyboard.press(" ")
    assert not frame.evaluate("window.__arena.playing")

    # item 2: at the end the race puts the page's winner on top, in the leader colour
    frame.evaluate("window.__arena.setPosition(1000)")
    page.wait_for_timeout(300)
    winner = page.get_by_text("The winner:").inner_text().split(":")[-1].strip()
    top = frame.evaluate(TOP_OF_THE_RACE)
    assert top == [winner, "#e4572e"], (top, winner)
    assert "the decision" in frame.locator("#label").inner_text()
    page.screenshot(path=str(OUT / "compete_1280x720.png"))

    # item 1: clicking an expert in any view selects it, and the page follows
    for kind, expert in [("race-bar", 3), ("heat", 5), ("small", 7)]:
        _click(page, frame, kind, expert)
        frame.wait_for_function(f"() => window.__arena.selected === {expert}", timeout=5_000)
        page.wait_for_function(f"() => location.search.includes('expert={expert}')",
                               timeout=30_000)  # the server heard it (it used to crash)
        assert page.get_by_text("This app has encountered an error").count() == 0
    # item 3: a new drawing (canvas cleared, another letter) selects its own winner again
    page.get_by_role("button", name="Reset canvas & history").click()
    page.get_by_text("draw a letter first").wait_for(timeout=60_000)
    draw_letter(page, letter_path(300)[0])
    page.wait_for_function("() => location.search.includes('expert=-1')", timeout=90_000)
    page.wait_for_timeout(1500)
    frame = player_frame(page)
    assert frame.evaluate("window.__arena.selected === window.__arena.spec.winner")
    watch.check()
    metrics = {"viewport": "1280x720", "first_view_seconds": latencies,
               "first_view_median_seconds": statistics.median(latencies),
               "playback_fps_at_10_asked": fps, "positions_drawn": len(frames),
               "load_average_1min": os.getloadavg()[0]}
    (OUT / "browser_metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics))
    assert fps >= 6, metrics


def test_bad_drawings_say_so(app_url, open_page):
    """Item 5: a dot and a straight line get a message, not a winner."""
    page = open_page(app_url, 1400, 1000)
    watch = page.watch
    page.goto(app_url)
    draw_letter(page, [[150, 150], [151, 151], [152, 150]])
    page.get_by_text("too small to read").wait_for(timeout=90_000)
    page.goto(app_url)
    draw_letter(page, [[30 + 8 * i, 150 + 0.2 * i] for i in range(30)])
    page.get_by_text("straight line").wait_for(timeout=90_000)
    assert page.get_by_text("The winner:").count() == 0
    watch.check()


@pytest.mark.parametrize("width, height, query, name", [
    (1400, 1000, "", "compete_1400x1000.png"),
    (800, 1000, "?sample=40", "compete_800x1000.png"),
    (1280, 720, "?present=1", "compete_presentation_1280x720.png"),
    (1400, 1000, "?dataset=mnist&sample=3", "compete_digits_1400x1000.png"),
])
def test_layout_at_each_size(app_url, open_page, width, height, query, name):
    """Item 8 and presentation mode: the canvas (or sample), the verdict, the race and the
    play button fit on the screen; screenshots for a person to look at."""
    OUT.mkdir(exist_ok=True)
    page = open_page(app_url, width, height)
    watch = page.watch
    page.goto(app_url + query)
    if "sample" not in query:
        draw_letter(page, letter_path(40)[0])
    if "present" in query:  # the class sees the race first, the verdict at the decision
        page.get_by_text("Who will win?").wait_for(timeout=90_000)
        assert page.get_by_text("The winner:").count() == 0
    page.get_by_text("The winner:").wait_for(timeout=90_000)
    frame = player_frame(page)
    if "mnist" in query:  # the selected digit is drawn inside its panel during the race
        frame.evaluate("window.__arena.pause(); window.__arena.setPosition(10)")
        page.wait_for_timeout(300)
        inside = frame.evaluate(SELECTED_IMAGE_INSIDE)
        assert inside, inside
    frame.evaluate("window.__arena.pause(); window.__arena.setPosition(1000)")
    page.wait_for_timeout(800)
    page.screenshot(path=str(OUT / name))
    assert _in_view(page, page.get_by_text("The winner:"))
    if width >= 1280:  # narrower screens stack the columns: the player comes below
        assert _in_view(page, page.frame_locator(PLAYER).locator("#play"))
    else:  # the sidebar stays out of the way
        assert page.locator("section[data-testid='stSidebar']").evaluate(
            "e => e.getBoundingClientRect().right <= 1")
    if "sample" not in query:
        assert _in_view(page, page.locator("canvas.upper-canvas").first)
    if "present" in query:
        font = frame.evaluate("document.getElementById('figure')._fullLayout.font.size")
        assert font >= 16
        assert page.locator("section[data-testid='stSidebar']").is_hidden()
    # no label cut short: the player's controls keep their width, and nothing on the page
    # ends in an ellipsis ("Rand…", "How the data set writes each le…")
    widths = frame.evaluate("[...document.querySelectorAll('#controls > *')].map("
                            "e => e.scrollWidth <= e.clientWidth + 1)")
    assert all(widths), widths
    assert page.evaluate(CUT_SHORT) == []
    watch.check()


def _column_of(page, locator):
    """The bounding box of the Streamlit column holding ``locator``."""
    return locator.evaluate("e => { const c = e.closest('[data-testid=\"stColumn\"]');"
                            " const r = (c || document.body).getBoundingClientRect();"
                            " return {x: r.x, width: r.width}; }")


@pytest.mark.parametrize("width, sidebar", [(800, False), (1400, True)])
def test_the_canvas_is_whole_in_narrow_windows(app_url, open_page, width, sidebar):
    """Teacher test: at 800 px, or with the sidebar open, the column cut the 300 px canvas
    off and a stroke begun in the hidden part was lost. The canvas lies whole inside its
    column and on the screen, a letter drawn across all of it is read, and the arena keeps
    a usable width (it goes below the canvas where both do not fit)."""
    page = open_page(app_url, width, 1000)
    page.goto(app_url)
    canvas_frame = page.get_by_test_id("stBidiComponentIsolated").first
    canvas_frame.wait_for(timeout=90_000)
    if sidebar:
        page.get_by_test_id("stExpandSidebarButton").click()
        page.locator("section[data-testid='stSidebar']").get_by_text("Data set").wait_for()
        page.wait_for_timeout(800)
    canvas = page.locator("canvas.upper-canvas").first
    box, column = canvas.bounding_box(), _column_of(page, canvas_frame)
    assert box["width"] >= 300 and box["x"] >= column["x"] - 1, (box, column)
    assert box["x"] + box["width"] <= column["x"] + column["width"] + 1, (box, column)
    assert _in_view(page, canvas)
    # the canvas toolbar (shown on hover, above the canvas) leaves the instructions readable
    canvas.hover()
    page.wait_for_timeout(600)
    toolbar = page.locator(".dc-toolbar-card").first.bounding_box()
    words = page.get_by_text("Draw one lowercase letter").bounding_box()
    assert toolbar["y"] >= words["y"] + words["height"] - 1 or \
        toolbar["x"] >= words["x"] + words["width"], (toolbar, words)
    path = np.array(letter_path(40, size=250)[0])  # from 40 to 290 px: all of the canvas
    draw_letter(page, path)
    page.get_by_text("The winner:").wait_for(timeout=90_000)
    player = page.locator(PLAYER).first
    player.wait_for(timeout=90_000)
    assert player.bounding_box()["width"] >= 540
    page.screenshot(path=str(OUT / f"compete_canvas_{width}{'_sidebar' if sidebar else ''}"
                                   f".png"))
    page.watch.check()


@pytest.mark.parametrize("address", ["experiments", "compete"])
def test_a_page_opened_by_its_own_address_runs_inside_the_app(fresh_app_url, open_page,
                                                              address):
    """A page's own address as the FIRST visit to a fresh server (Streamlit then runs a
    ``pages/`` file in its legacy directory mode, without app.py): the app's top navigation,
    its wide layout and no file list in the sidebar; no page error (the two 404s of
    Streamlit's own probe excepted, see ``tests/conftest.py``)."""
    page = open_page(fresh_app_url, 1400, 1000)
    page.goto(f"{fresh_app_url}/{address}")
    # the page's own content, then app.py's navigation (titles as app.py spells them; the
    # legacy file list says "single generator")
    content = ".js-plotly-plot" if address == "experiments" else "canvas.upper-canvas"
    page.locator(content).first.wait_for(timeout=180_000)
    page.get_by_role("link", name="Single generator", exact=True).wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert page.get_by_test_id("stSidebarNav").count() == 0  # the legacy file list
    assert page.get_by_role("link", name="app", exact=True).count() == 0
    width = page.get_by_test_id("stMainBlockContainer").bounding_box()["width"]
    assert width > 1000, width  # app.py's wide layout (the legacy run is centred, ~730 px)
    assert page.get_by_text("This app has encountered an error").count() == 0
    assert address in page.url or address == "compete"  # the default page lives at "/"
    page.screenshot(path=str(OUT / f"direct_{address}.png"))
    page.watch.check()
