"""Canvas drawings: parsing, rendering, and every kind of bad drawing."""
import json

import numpy as np
import pytest

from mic_core.data import character_sequence
from mic_core.drawing import (MAX_POINTS, DrawingError, drawing_to_pen_trajectory,
                              pen_trajectory_to_drawing)


def _stroke(points):
    """A fabric.js freedraw path through ``points`` (canvas pixels, y down)."""
    points = np.asarray(points, dtype=float)
    path = [["M", *points[0]]]
    for a, b in zip(points[:-1], points[1:]):
        path.append(["Q", *a, *((a + b) / 2)])
    path.append(["L", *points[-1]])
    return {"type": "path", "path": [[c[0], *map(float, c[1:])] for c in path]}


def _letter_points(n=60):
    t = np.linspace(0, 2 * np.pi, n)
    return np.stack([100 + 50 * np.cos(t) + t * 10, 100 + 40 * np.sin(t)], axis=1)


def test_pointer_positions_come_back_with_y_up():
    points = _letter_points()
    pen = drawing_to_pen_trajectory({"objects": [_stroke(points)]})
    expected = np.concatenate([points[:1], points]) * [1, -1]  # M, Q per point, L
    np.testing.assert_allclose(pen, expected)


def test_json_text_and_type_spelling_are_accepted():
    drawing = {"objects": [{**_stroke(_letter_points()), "type": "Path"}]}
    pen = drawing_to_pen_trajectory(json.dumps(drawing))
    assert pen.shape[1] == 2


def test_rendered_drawing_reads_back_as_the_sample():
    rng = np.random.RandomState(0)
    t = np.linspace(0, 3 * np.pi, 200)
    pen = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
    drawing = pen_trajectory_to_drawing(pen, rng, jitter=0.0)
    back = drawing_to_pen_trajectory(json.loads(json.dumps(drawing)))
    xs = np.array([c[1] for c in drawing["objects"][0]["path"]])
    assert 0 <= xs.min() and xs.max() <= 400  # screen coordinates
    diff = character_sequence(back, 64) - character_sequence(pen, 64)
    assert np.abs(diff).max() < 0.05


@pytest.mark.parametrize("drawing, message", [
    ({"objects": []}, "empty"),
    ({"objects": [{"type": "rect"}]}, "empty"),
    ({"objects": [_stroke([[5, 5]])]}, "single point"),
    ({"objects": [_stroke([[5, 5], [5, 5], [5, 5]])]}, "single point"),
    ({"objects": [_stroke([[0, 0], [10, 10]]), _stroke([[20, 0], [30, 5]])]}, "2 strokes"),
    ({"objects": [_stroke([[0, 0], [float("nan"), 1], [3, 3]])]}, "NaN or infinite"),
    ({"objects": [_stroke([[0, 0], [float("inf"), 1], [3, 3]])]}, "NaN or infinite"),
    ({"objects": [{"type": "path", "path": [["Z"]]}]}, "unsupported command"),
    ({"objects": [{"type": "path", "path": [["M", "a", 1]]}]}, "non-numeric"),
    ({"objects": [{"type": "path", "path": "M 0 0"}]}, "'path' list"),
    ({"shapes": []}, "'objects' list"),
    ([1, 2, 3], "'objects' list"),
    ("{not json", "not valid JSON"),
])
def test_bad_drawings_get_a_specific_message(drawing, message):
    with pytest.raises(DrawingError, match=message):
        drawing_to_pen_trajectory(drawing)


def test_a_huge_drawing_is_refused_quickly():
    t = np.linspace(0, 1, 100_000)
    huge = {"objects": [_stroke(np.stack([t * 300, np.sin(t * 50) * 100], axis=1))]}
    with pytest.raises(DrawingError, match=f"more than {MAX_POINTS} points"):
        drawing_to_pen_trajectory(huge)
    with pytest.raises(DrawingError, match="larger than"):
        drawing_to_pen_trajectory(json.dumps(huge))


def test_several_strokes_join_in_drawing_order_when_asked():
    first, second = [[0, 0], [10, 10]], [[20, 0], [30, 5]]
    drawing = {"objects": [_stroke(first), _stroke([[50, 50]]), _stroke(second)]}  # a tap
    pen = drawing_to_pen_trajectory(drawing, join_strokes=True)
    np.testing.assert_allclose(pen[0], [0, 0])
    np.testing.assert_allclose(pen[-1], [30, -5])
    assert not np.any(np.all(pen == [50, -50], axis=1))  # the tap is ignored


def test_raster_to_mnist_centres_and_scales_a_digit():
    from mic_core.drawing import raster_to_mnist
    ink = np.zeros((280, 280))
    ink[20:120, 200:210] = 1.0  # a "1" in the top-right corner
    digit = raster_to_mnist(ink)
    assert digit.shape == (28, 28) and 0 <= digit.min() and digit.max() <= 1
    rows, cols = np.nonzero(digit > 0.5)
    assert rows.max() - rows.min() + 1 == 20  # the long side fills 20 pixels
    assert abs(rows.mean() - 13.5) <= 1 and abs(cols.mean() - 13.5) <= 1  # centred
    with pytest.raises(DrawingError, match="empty"):
        raster_to_mnist(np.zeros((280, 280)))
