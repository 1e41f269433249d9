"""The style-memory network: a classifier whose top layer also holds a style, unrolled into a
deep autoencoder (Wiebe et al., "Style Memory: Making a Classifier Network Generative").

Encoder: conv 32 5x5 stride 2 ReLU -> conv 64 5x5 stride 2 ReLU -> FC 256 ReLU -> FC 128 ReLU
-> top layer = class logits (softmax) + style (logistic). Decoder: the mirror image, from
(class vector, style) back to the input. Images (28x28) use 2-D convolutions; pen
trajectories (sz, d) use the same stack with 1-D convolutions along the pen's path.

Pen trajectories may instead be decoded "smooth": the decoder's fully connected stack gives
the coefficients of the first ``n_basis`` cosines (DCT-II) of each coordinate, so every
reconstruction is a smooth pen path (the mirrored transposed convolutions draw zig-zags: they
add a stride-2 checkerboard to the path). A style critic (a small classifier reading the
style) can be attached for adversarial training of a class-free style.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ARCHITECTURES = ("image", "pen_trajectory")
DECODERS = ("mirror", "smooth")


def cosine_basis(length: int, n_basis: int) -> torch.Tensor:
    """(n_basis, length) orthonormal DCT-II rows: row k is cos(pi k (t + 1/2) / length)."""
    t = torch.arange(length, dtype=torch.float64) + 0.5
    k = torch.arange(n_basis, dtype=torch.float64)[:, None]
    basis = torch.cos(torch.pi * k * t / length) * (2.0 / length) ** 0.5
    basis[0] /= 2 ** 0.5
    return basis.float()


class _GradientReversal(torch.autograd.Function):
    """Identity forward; the gradient times -weight backward (Ganin & Lempitsky, 2015)."""

    @staticmethod
    def forward(ctx, x, weight):
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.weight * grad, None


def reverse_gradient(x: torch.Tensor, weight: float) -> torch.Tensor:
    """x unchanged, its gradient multiplied by -weight on the way back."""
    return _GradientReversal.apply(x, weight)


def _halved(length: int) -> int:
    """Length after a 5-wide convolution with stride 2 and padding 2."""
    return (length - 1) // 2 + 1


class StyleMemoryNet(nn.Module):
    """Encoder x -> (class logits, style); decoder (class vector, style) -> reconstruction.

    ``input_shape`` is (28, 28) for "image" (one channel) or (sz, d) for "pen_trajectory"
    (d channels along sz steps). ``decoder`` "mirror" is the paper's mirror image of the
    encoder; "smooth" (pen trajectories only) ends its fully connected stack in ``n_basis``
    cosine coefficients per coordinate. ``critic`` adds ``style_critic``, a small classifier
    of the style (for adversarial training; not used by inference).
    """

    def __init__(self, input_shape: tuple[int, int], n_classes: int, n_style: int = 16,
                 architecture: str = "image", decoder: str = "mirror", n_basis: int = 24,
                 critic: bool = False):
        super().__init__()
        assert architecture in ARCHITECTURES, architecture
        assert decoder in DECODERS, decoder
        if decoder == "smooth" and architecture != "pen_trajectory":
            raise ValueError("the smooth decoder draws pen trajectories, not images")
        self.input_shape, self.n_classes, self.n_style = tuple(input_shape), n_classes, n_style
        self.architecture, self.decoder_kind = architecture, decoder
        if architecture == "image":
            conv, deconv, channels, lengths = nn.Conv2d, nn.ConvTranspose2d, 1, input_shape
        else:
            conv, deconv, channels, lengths = nn.Conv1d, nn.ConvTranspose1d, input_shape[1], \
                input_shape[:1]
        half = [_halved(n) for n in lengths]
        quarter = [_halved(n) for n in half]
        self._code_shape = (64, *quarter)
        flat = 64 * int(torch.tensor(quarter).prod())
        self.encoder = nn.Sequential(
            conv(channels, 32, 5, stride=2, padding=2), nn.ReLU(),
            conv(32, 64, 5, stride=2, padding=2), nn.ReLU(), nn.Flatten(),
            nn.Linear(flat, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
            nn.Linear(128, n_classes + n_style))
        # output_padding restores odd or even lengths exactly: 7 -> 14 -> 28, 25 -> 50 -> 100
        pad_1 = tuple(n - 2 * q + 1 for n, q in zip(half, quarter))
        pad_2 = tuple(n - 2 * h + 1 for n, h in zip(lengths, half))
        if decoder == "smooth":
            n_basis = min(n_basis, lengths[0])
            self.decoder = nn.Sequential(
                nn.Linear(n_classes + n_style, 128), nn.ReLU(), nn.Linear(128, 256), nn.ReLU(),
                nn.Linear(256, channels * n_basis), nn.Unflatten(1, (channels, n_basis)))
            # fixed, rebuilt from the shape: not part of the stored weights
            self.register_buffer("basis", cosine_basis(lengths[0], n_basis), persistent=False)
        else:
            self.decoder = nn.Sequential(
                nn.Linear(n_classes + n_style, 128), nn.ReLU(), nn.Linear(128, 256), nn.ReLU(),
                nn.Linear(256, flat), nn.ReLU(), nn.Unflatten(1, self._code_shape),
                deconv(64, 32, 5, stride=2, padding=2, output_padding=pad_1), nn.ReLU(),
                deconv(32, channels, 5, stride=2, padding=2, output_padding=pad_2))
        if critic:
            self.style_critic = nn.Sequential(nn.Linear(n_style, 64), nn.ReLU(),
                                              nn.Linear(64, n_classes))

    def _to_channels(self, x: torch.Tensor) -> torch.Tensor:
        # image (B, 28, 28) -> (B, 1, 28, 28); pen trajectory (B, sz, d) -> (B, d, sz)
        return x.unsqueeze(1) if self.architecture == "image" else x.transpose(1, 2)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, *input_shape) -> class logits (B, n_classes), style (B, n_style) in (0, 1)."""
        top = self.encoder(self._to_channels(x))
        return top[:, :self.n_classes], torch.sigmoid(top[:, self.n_classes:])

    def decode(self, class_vector: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """(B, n_classes) class vector (softmax or one-hot), (B, n_style) -> (B, *input_shape).

        Images come out through a logistic (pixels in [0, 1]); pen trajectories are linear
        (standardised coordinates)."""
        out = self.decoder(torch.cat([class_vector, style], dim=1))
        if self.decoder_kind == "smooth":
            out = out @ self.basis  # (B, d, n_basis) -> (B, d, sz)
        if self.architecture == "image":
            return torch.sigmoid(out[:, 0])
        return out.transpose(1, 2)

    def forward(self, x: torch.Tensor):
        """The unrolled network: (logits, style, reconstruction from (softmax, style))."""
        logits, style = self.encode(x)
        return logits, style, self.decode(torch.softmax(logits, dim=1), style)


def style_memory_loss(logits: torch.Tensor, reconstruction: torch.Tensor,
                      target_class: torch.Tensor, clean_input: torch.Tensor,
                      alpha: float) -> torch.Tensor:
    """The paper's eq. (3), averaged over the batch: cross-entropy + alpha * ||x_hat - x||_2
    (the Euclidean distance of each sample's reconstruction from its clean input)."""
    distance = torch.linalg.vector_norm((reconstruction - clean_input).flatten(1), dim=1)
    return F.cross_entropy(logits, target_class) + alpha * distance.mean()
