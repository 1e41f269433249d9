"""The Experiments page in a real browser at 1280x720 (the teacher-tester's size): the
low-data league's tables wrap instead of cutting cells off, and the learning curve's modebar
does not cover a panel title. Server and Debian's Chromium from ``tests/conftest.py``; any
page error fails the test. Screenshot: ``screenshots/experiments_1280x720.png``."""
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "screenshots"

# every visible element of the page whose text is cut off with an ellipsis
CUT_SHORT = """() => [...document.querySelectorAll('[data-testid="stMain"] *')].filter(e =>
  e.offsetParent && getComputedStyle(e).textOverflow === 'ellipsis' &&
  e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)"""
# the learning curve's modebar and its panel titles (annotations), as page rectangles
MODEBAR_AND_TITLES = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p =>
      [...p.querySelectorAll('.annotation-text')].some(t => t.textContent.includes(', ')));
  const box = e => { const r = e.getBoundingClientRect();
                     return [r.left, r.top, r.right, r.bottom]; };
  return [box(plot.querySelector('.modebar')),
          [...plot.querySelectorAll('.annotation-text')].map(box)];
}"""


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_league_and_learning_curve_readable_at_1280(app_url, open_page):
    OUT.mkdir(exist_ok=True)
    page = open_page(app_url, 1280, 720)
    page.goto(f"{app_url}/experiments")
    page.get_by_text("Strongest baseline here").first.wait_for(timeout=180_000)
    title = page.get_by_text("Learning curve: 4, 8 and 16 types per class").first
    title.wait_for(timeout=180_000)
    page.locator(".js-plotly-plot .modebar").first.wait_for(state="attached", timeout=60_000)
    assert page.evaluate(CUT_SHORT) == []
    assert page.get_by_text("inversion SSL (also uses unlabelled samples)").first.is_visible()
    title.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1000)
    page.mouse.move(900, 320)  # over the chart: plotly shows its modebar
    page.wait_for_timeout(500)
    modebar, titles = page.evaluate(MODEBAR_AND_TITLES)
    assert titles and not any(_overlap(modebar, t) for t in titles), (modebar, titles)
    page.screenshot(path=str(OUT / "experiments_1280x720.png"))
    page.watch.check()
