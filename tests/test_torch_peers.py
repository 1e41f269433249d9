"""The bench's PyTorch peers compute the engine's inversion: in float64 the batched peer
(torch.nn.LSTM, autograd on the input vectors) and the engine agree to rounding, so the
speed ratio that ``bench`` reports compares the same work."""
import numpy as np
import pytest
import torch

from mic_core.bench import flops_per_classification
from mic_core.expert import ExpertConfig
from mic_core.inversion import InversionConfig, invert, project_to_simplex
from mic_core.torch_peers import batched_torch_invert, project_to_simplex_torch


def test_batched_peer_agrees_with_the_engine_in_float64(tiny_experts, tiny_dataset):
    targets = tiny_dataset.X_test[::4]
    for config, start in [(InversionConfig(iterations=10), None),
                          (InversionConfig(projection="clip", step_size=0.1, iterations=8),
                           np.array([0.7, 0.1, 0.1, 0.1]))]:
        record = invert(tiny_experts, targets, config, start=start, record="final",
                        dtype=np.float64)
        errors, weights = batched_torch_invert(tiny_experts, targets, config, start=start,
                                               dtype=torch.float64)
        np.testing.assert_allclose(record.final_errors, errors, rtol=1e-8)
        np.testing.assert_allclose(record.final_mixture_weights, weights, atol=1e-8)


@pytest.mark.parametrize("n_targets", [1, 2, 5])
def test_few_targets_agree_with_the_batched_peer_in_float64(tiny_experts, tiny_dataset,
                                                             n_targets):
    """One drawing and a few: the engine runs the pairs layout there (each SIMD lane a
    (target, expert) pair); full record, both projections, against the peer (torch.nn.LSTM,
    autograd) in float64, to 1e-8 (rounding over the iterations)."""
    from mic_core import kernels
    assert kernels.choose_layout(n_targets, tiny_experts.n_experts) == "pairs"
    targets = tiny_dataset.X_test[:n_targets]
    for config in (InversionConfig(iterations=10),
                   InversionConfig(projection="clip", step_size=0.1, iterations=8)):
        record = invert(tiny_experts, targets, config, record="full", dtype=np.float64)
        errors, weights = batched_torch_invert(tiny_experts, targets, config,
                                               dtype=torch.float64)
        np.testing.assert_allclose(record.final_errors, errors, rtol=1e-8)
        np.testing.assert_allclose(record.final_mixture_weights, weights, atol=1e-8)


def test_torch_projection_matches_numpy():
    v = np.random.RandomState(0).randn(50, 4) * 2
    np.testing.assert_allclose(project_to_simplex_torch(torch.tensor(v)).numpy(),
                               project_to_simplex(v), atol=1e-12)


def test_flop_count_by_hand():
    # H 1, K 1, D 1, T 2, one expert, no step: forward 2*1*4 + 2*1*4*1 + 2*(4+9+2+5) = 56,
    # backward 2*4*1 + 2*4*1*1 + 2*(2+17) = 54
    assert flops_per_classification(ExpertConfig(1, 1, 1), 2, 1, 0) == 110
