"""The Style memory page under streamlit's AppTest, on both data sets (shipped models)."""
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mic_core.data import load_dataset
from mic_core.drawing import pen_trajectory_to_drawing

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/style_memory.py"


def _page(dataset="characters", **state):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["dataset"] = dataset
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _predicted(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("## Predicted")]


@pytest.mark.parametrize("dataset", ["characters", "mnist"])
def test_held_out_sample_is_classified_and_redrawn(dataset):
    at = _page(dataset, style_sample=3)
    assert _predicted(at)
    assert any("AUROC" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) >= 6  # pair, transfer, interpolation, 2 x neighbours,
    #   histogram (+ the misclassified pair when there is one)


def test_another_label_redraws_with_that_label():
    at = _page("characters", style_sample=0)
    chooser = [s for s in at.selectbox if s.label == "Redraw as class"][0]
    chooser.set_value(5).run()
    assert not at.exception, at.exception
    assert at.session_state["style_label"] == 5


def test_a_drawn_letter_is_classified():
    data = load_dataset("characters")
    drawing = pen_trajectory_to_drawing(data.test_pen_trajectories[10], np.random.RandomState(0))
    at = _page("characters", style_source="Draw",
               canvas_characters={"drawing": {"raw": drawing, "data": None}})
    assert _predicted(at), [m.value for m in at.markdown]


@pytest.mark.parametrize("dataset", ["characters", "mnist"])
def test_an_empty_drawing_prompts_instead_of_failing(dataset):
    at = _page(dataset, style_source="Draw")
    assert any("empty" in i.value for i in at.info)
    assert not _predicted(at)


def _canvas_png(image: np.ndarray, size: int = 280) -> str:
    """A digit image (28, 28) in [0, 1] as the canvas sends it: dark ink on white, RGBA PNG
    data URL of ``size`` x ``size`` pixels."""
    import base64
    import io

    from PIL import Image
    grey = (255 * (1 - np.kron(image, np.ones((size // 28, size // 28))))).astype(np.uint8)
    rgba = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_drawn_digit_is_classified():
    data = load_dataset("mnist")
    stroke = {"type": "path", "path": [["M", 100, 60], ["L", 110, 220]]}
    at = _page("mnist", style_source="Draw",
               canvas_mnist={"drawing": {"raw": {"objects": [stroke]},
                                         "data": _canvas_png(data.X_test[0])}})
    predicted = _predicted(at)
    assert predicted, [m.value for m in at.markdown]
    assert f"**{data.class_names[data.y_test[0]]}**" in predicted[0]  # the test digit's class
