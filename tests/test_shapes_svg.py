"""The static small multiples of Compete (``figures.shapes_svg``), against hand-computed
positions: a trajectory keeps its proportions, centred in its panel with y up; digits are
PNGs with dark ink; titles are escaped."""
import base64
import io
import re

import numpy as np
from PIL import Image

from figures import shapes_svg


def test_a_trajectory_keeps_its_proportions_centred_with_y_up():
    # one panel 100 x 60: title 20, padding 6 -> the box x 6..94, y 26..54 (88 x 28); the
    # trajectory spans 2 x 1, so one unit is min(88 / 2, 28 / 1) = 28 px, centred at (50, 40)
    svg = shapes_svg([np.array([[0.0, 0.0], [2.0, 1.0]])], ["a: type 1"], height=60, width=100)
    points = re.search(r'<polyline points="([^"]+)"', svg).group(1)
    assert points == "22.0,54.0 78.0,26.0"
    assert 'viewBox="0 0 100 60"' in svg and ">a: type 1</text>" in svg


def test_true_proportions_and_one_panel_each():
    # scale (2, 1): x doubled, so a square trajectory becomes twice as wide as high
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    svg = shapes_svg([square, square], ["one", "two"], height=60, width=200, scale=(2.0, 1.0))
    panels = re.findall(r'<polyline points="([^"]+)"', svg)
    assert len(panels) == 2
    xy = np.array([[float(v) for v in p.split(",")] for p in panels[1].split()])
    width, height = np.ptp(xy, axis=0)
    assert np.isclose(width / height, 2.0, atol=0.01)
    assert xy[:, 0].min() >= 100  # the second panel's half of the width


def test_a_digit_is_a_png_with_dark_ink_and_titles_are_escaped():
    digit = np.zeros((28, 28))
    digit[3, 5] = 1.0  # one pixel of ink
    svg = shapes_svg([digit], ["<script>x</script>"], height=60, width=100)
    assert "<script>" not in svg and "&lt;script&gt;x&lt;/script&gt;" in svg
    href = re.search(r'href="data:image/png;base64,([^"]+)"', svg).group(1)
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(href))))
    assert pixels.shape == (28, 28) and pixels[3, 5] == 0 and pixels[0, 0] == 255
