"""Network inversion for semi-supervised learning: the networks, the reconstruction and the loss.

A piecewise-linear network (ReLU, mean pooling, linear layers, no batch normalisation) is,
around any input x, an affine map f(x) = A[x] x + b[x] with A[x] = ∂f/∂x. Its inverse is the
*reconstruction* x̂ = A[x]ᵀ f(x) = (∂f/∂x)ᵀ f(x), one backward pass with the logits as the
output gradient. Row c of A[x] is the network's *template* for class c: the logit of class c is
the template's inner product with the input, plus a bias ("the network as template matching").

Training (Balestriero et al., "Semi-supervised learning via new deep network inversion")::

    L = 1{labelled}·α·CE(y, ŷ) + (1 − α)·[β·R(x) + (1 − β)·E(ŷ)·1{unlabelled}]

with R(x) the reconstruction error and E(ŷ) the entropy of the predicted class
probabilities; R is differentiated through the backward pass that made x̂ (double backward,
``create_graph=True``). R is by default the *mean* squared error over the input's elements
(the paper's experiments "use the mean squared error"), so its scale does not grow with the
input size; ``reduction="sum"`` gives eq. 8 literally, the squared norm ‖x̂ − x‖² (784 times
larger on a digit, so that R outweighs the entropy at the paper's β).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

NETWORKS = ("small_cnn", "pen_cnn")
REDUCTIONS = ("mean", "sum")  # R over the input's elements: mean squared error, or ‖x̂ − x‖²


class SmallCNN(nn.Module):
    """The paper's SmallCNN for 28×28 digits (≈131 K parameters, mean pooling, ReLU, no batch
    normalisation): conv 3×3 32 → pool → conv 3×3 64 → pool → conv 3×3 64 → pool →
    dense 128 → dense C. Input (n, 28, 28); output the C logits."""

    input_shape = (28, 28)

    def __init__(self, n_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),  # 14×14
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),  # 7×7
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),  # 3×3
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * 3 * 3, 128), nn.ReLU(),
                                        nn.Linear(128, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x.unsqueeze(1)))


class PenCNN(nn.Module):
    """A piecewise-linear network for pen trajectories in the character representation
    (n, 100, 2): 1-D convolutions along the path (16, 32, 32 channels) with ReLU and mean
    pooling, then two dense layers (≈32 K parameters for 100 points and 20 classes; small,
    because the double backward runs on a shared CPU)."""

    def __init__(self, n_classes: int = 20, n_points: int = 100, n_channels: int = 2):
        super().__init__()
        self.input_shape = (n_points, n_channels)
        self.features = nn.Sequential(
            nn.Conv1d(n_channels, 16, 5, padding=2), nn.ReLU(), nn.AvgPool1d(2),
            nn.Conv1d(16, 32, 5, padding=2), nn.ReLU(), nn.AvgPool1d(2),
            nn.Conv1d(32, 32, 3, padding=1), nn.ReLU(), nn.AvgPool1d(2),
        )
        length = n_points // 8
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * length, 64), nn.ReLU(),
                                        nn.Linear(64, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x.transpose(1, 2)))


def build_network(name: str, n_classes: int, input_shape: tuple[int, ...]) -> nn.Module:
    """``name`` "small_cnn" (input (28, 28)) or "pen_cnn" (input (n_points, d))."""
    if name == "small_cnn":
        if tuple(input_shape) != (28, 28):
            raise ValueError(f"small_cnn takes 28×28 images, not {tuple(input_shape)}")
        return SmallCNN(n_classes)
    if name == "pen_cnn":
        if len(input_shape) != 2 or input_shape[0] < 8:
            raise ValueError(f"pen_cnn takes (n_points ≥ 8, d) sequences, not "
                             f"{tuple(input_shape)}")
        return PenCNN(n_classes, *input_shape)
    raise ValueError(f"unknown network {name!r}; choose one of {NETWORKS}")


def reconstruct(network: nn.Module, x: torch.Tensor, create_graph: bool = False):
    """The logits f(x) and the reconstruction x̂ = (∂f/∂x)ᵀ f(x), one backward pass.

    Parameters
    ----------
    network : the classifier f; x : (n, *input_shape) inputs.
    create_graph : keep the graph of the backward pass, so that a loss on x̂ can be
        differentiated with respect to the weights (double backward, for training).

    Returns
    -------
    logits : (n, C); reconstruction : (n, *input_shape)
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = network(x)
        (reconstruction,) = torch.autograd.grad(logits, x, grad_outputs=logits,
                                                create_graph=create_graph)
    return logits, reconstruction


def templates(network: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The per-class templates A[x]_c = ∂f_c/∂x: (n, C, *input_shape). Samples do not mix
    (no batch statistics), so one backward pass per class serves the whole batch."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = network(x)
        rows = [torch.autograd.grad(logits[:, c].sum(), x, retain_graph=True)[0]
                for c in range(logits.shape[1])]
    return torch.stack(rows, dim=1)


@dataclass(frozen=True)
class LossTerms:
    """The batch means of the loss and its three terms (floats, for curves)."""

    total: float
    cross_entropy: float  # over the labelled samples (NaN if none)
    reconstruction: float  # over all samples (NaN when not computed)
    entropy: float  # over the unlabelled samples (NaN if none)


def ssl_loss(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor,
             reconstruction: torch.Tensor | None, alpha: float, beta: float,
             reduction: str = "mean"):
    """The paper's loss (eq. 10), averaged over the batch.

    Parameters
    ----------
    logits : (n, C); y : (n,) class indices, −1 for an unlabelled sample; x : (n, ...)
    reconstruction : (n, ...) x̂, or None when ``alpha == 1`` (supervised only: the
        reconstruction and entropy terms have weight 0 and are not computed).
    alpha, beta : the weights in [0, 1].
    reduction : R(x) over the input's elements: "mean" (squared error per element) or
        "sum" (the squared norm of eq. 8).

    Returns
    -------
    loss : scalar tensor; terms : LossTerms
    """
    if not (0.0 <= alpha <= 1.0 and 0.0 <= beta <= 1.0):
        raise ValueError(f"alpha and beta must lie in [0, 1], got {alpha}, {beta}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; choose one of {REDUCTIONS}")
    labelled = y >= 0
    unlabelled = ~labelled
    cross_entropy = F.cross_entropy(logits, y.clamp(min=0), reduction="none") * labelled
    log_p = F.log_softmax(logits, dim=1)
    entropy = -(log_p.exp() * log_p).sum(dim=1)
    per_sample = alpha * cross_entropy
    r = None
    if reconstruction is not None:
        squared = ((reconstruction - x) ** 2).flatten(1)
        r = squared.mean(dim=1) if reduction == "mean" else squared.sum(dim=1)
        per_sample = per_sample + (1 - alpha) * (beta * r + (1 - beta) * entropy * unlabelled)
    elif alpha != 1.0:
        raise ValueError("the reconstruction is needed unless alpha == 1")
    loss = per_sample.mean()

    def mean(values, mask):
        return float(values[mask].mean()) if bool(mask.any()) else float("nan")
    terms = LossTerms(total=float(loss.detach()),
                      cross_entropy=mean(cross_entropy.detach(), labelled),
                      reconstruction=float(r.detach().mean()) if r is not None else float("nan"),
                      entropy=mean(entropy.detach(), unlabelled))
    return loss, terms
