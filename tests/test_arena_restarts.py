"""The Compete player's restarts view (figures.arena): every start's path of the selected
expert, checked against each start inverted on its own."""
import numpy as np
import pytest

from figures import arena_spec
from figures.arena import start_corners
from mic_core.classify import PLAIN, classify
from mic_core.inversion import InversionConfig, invert

CORNERS = InversionConfig(iterations=8, starts="uniform+corners")


@pytest.fixture(scope="module")
def restarts(tiny_experts, tiny_dataset):
    target = tiny_dataset.X_test[4:5]
    return target, classify(tiny_experts, target, CORNERS, PLAIN, record="full")


def test_the_spec_holds_every_start_as_if_run_alone(tiny_experts, restarts):
    target, record = restarts
    spec = arena_spec(record, 0)
    starts = spec["starts"]
    assert starts["S"] == 5 and starts["names"] == ["uniform", "type 1", "type 2", "type 3",
                                                    "type 4"]
    alone = InversionConfig(iterations=8)
    finals = []
    for s, start in enumerate([None] + list(np.eye(4))):
        one = invert(tiny_experts, target, alone, start=start)  # the one-start code path
        np.testing.assert_allclose(np.array(starts["errors"])[:, s], one.errors[0],
                                   rtol=1e-4, atol=2e-6)
        # each start's point on the simplex picture: its weights on the types' corners
        xy = np.array(starts["xy"])[:, s]
        np.testing.assert_allclose(xy, one.mixture_weights[0] @ start_corners(4), atol=2e-4)
        finals.append(one.errors[0, :, -1])
    # the kept start of each expert: the one with the lowest final error
    assert starts["kept"] == np.argmin(np.stack(finals, axis=1), axis=1).tolist()
    # by hand: the uniform start at the centre, corner k at the k-th vertex of the square
    # (type 1 top left, then clockwise)
    xy0 = np.array(starts["xy"])[0, :, 0]
    h = np.sqrt(0.5)
    np.testing.assert_allclose(xy0, [[0, 0], [-h, h], [h, h], [h, -h], [-h, -h]], atol=1e-4)


def test_the_layout_gets_the_restarts_panels_only_with_several_starts(tiny_experts,
                                                                     tiny_dataset, restarts):
    _, record = restarts
    spec = arena_spec(record, 0)
    layout = spec["layout"]
    assert "xaxis6" in layout and layout["yaxis6"]["type"] == "log"
    lo, hi = layout["yaxis6"]["range"]  # log10 units: every start's error is inside
    errors = np.log10(np.maximum(np.array(spec["starts"]["errors"]), 1e-6))
    assert lo < errors.min() and errors.max() < hi
    assert spec["panel_titles"]["starts"]
    plain = classify(tiny_experts, tiny_dataset.X_test[4:5], InversionConfig(iterations=8),
                     PLAIN, record="full")
    spec = arena_spec(plain, 0)
    assert spec["starts"] is None and "xaxis6" not in spec["layout"]
    assert "starts" not in spec["panel_titles"]
    # presentation mode keeps the race and the selected expert only
    assert arena_spec(record, 0, presentation=True)["starts"] is None
