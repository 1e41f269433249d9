"""An optional torch engine for the single generator's two hot loops (CPU or CUDA).

The numba kernels (``mic_core.kernels``) are the default everywhere and the project never
needs a GPU. This module offers the same maths through torch autograd, on ``device`` "cpu"
or "cuda", for exactly two functions:

- training: the loss of a full batch and its gradient with respect to every weight
  (``TrainingGradients``, used by ``train_single_generator(..., device=...)`` in place of
  the numba kernel; noise draws, clipping, learning rate schedule, Adam, checkpoints stay
  the numpy code they are);
- inversion: each target's reconstruction, error and gradient with respect to its code
  (``code_error_and_grad``), and the class corners' errors (``corner_errors``), batched
  over targets.

The model is the experts' (``mic_core.expert.Expert``): ``torch.nn.LSTM`` (gate order i, f,
g, o; on CUDA, cuDNN) fed the code at the first step and zeros afterwards, a linear read-out
at every step, the MSE as the kernel defines it (the mean over every step and output, of
every sequence). Weights map from the kernel layout exactly: ``weight_ih_l0 = w_ih``,
``weight_hh_l0 = w_hh_t.T``, ``bias_ih_l0 = bias`` (b_ih + b_hh) and ``bias_hh_l0 = 0``.
float32, with TF32 switched off (cuDNN would otherwise round the products to 10-bit
mantissas); ``tests/test_single_torch_engine.py`` checks it against the numba kernels.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

DEVICES = ("cpu", "cuda")
CORNER_CHUNK = 256  # targets per chunk of the corner errors (bounds the (n, Q, T, D) array)


def check_device(device: str) -> torch.device:
    """``device`` ("cpu" or "cuda") as a torch device, or a ValueError that says why not."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose one of {DEVICES} (or none: the "
                         f"numba kernels)")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' asked for, but torch sees no CUDA GPU here (torch "
                             f"{torch.__version__}); leave --device out to use the numba "
                             "kernels on the CPU")
        # full float32 products: TF32 would change the maths, not only its rounding order.
        # The legacy flags only: mixing them with the newer fp32_precision settings makes
        # torch raise (checked with torch 2.13: the legacy setters leave consistent flags)
        try:
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        except RuntimeError as exc:  # a torch that refuses them: say so, run anyway
            import warnings
            warnings.warn(f"could not switch TF32 off ({exc}); the GPU may round products "
                          f"to TF32")
    return torch.device(device)


def engine_name(device: str | None) -> str:
    """How the hot loops run, for logs and the rows' machine descriptions.

    >>> engine_name(None)
    'numba kernels (CPU)'
    """
    if device is None:
        return "numba kernels (CPU)"
    name = f"torch {torch.__version__} {device}"
    if device == "cuda" and torch.cuda.is_available():
        name += f" ({torch.cuda.get_device_name(0)}, cuDNN {torch.backends.cudnn.version()})"
    return name


def _tensor(array, dtype, device) -> torch.Tensor:
    """A copy of ``array`` as a tensor of ``dtype`` on ``device`` (inputs may be read-only)."""
    return torch.tensor(np.asarray(array, dtype=dtype), device=device)


class _Network(nn.Module):
    """LSTM(code -> hidden), sequence first, with a read-out at every step."""

    def __init__(self, code_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.lstm = nn.LSTM(code_size, hidden_size)
        self.readout = nn.Linear(hidden_size, output_size)
        with torch.no_grad():  # the kernels' one bias is bias_ih_l0: bias_hh_l0 stays 0
            self.lstm.bias_hh_l0.zero_()  # (nothing writes it later: set once, here)
        self.lstm.bias_hh_l0.requires_grad_(False)

    def load_kernel_weights(self, w_ih, w_hh_t, bias, w_out, b_out) -> None:
        """Copy one expert's weights in ``mic_core.kernels``' layout into the network."""
        with torch.no_grad():
            for target, source in ((self.lstm.weight_ih_l0, w_ih),
                                   (self.lstm.weight_hh_l0, np.ascontiguousarray(w_hh_t.T)),
                                   (self.lstm.bias_ih_l0, bias), (self.readout.weight, w_out),
                                   (self.readout.bias, b_out)):
                target.copy_(_tensor(source, np.float32, target.device))

    def forward(self, codes: torch.Tensor, n_steps: int) -> torch.Tensor:
        """Reconstructions (T, N, D) of ``codes`` (N, Q), the code at the first step only."""
        x = torch.cat([codes[None], codes.new_zeros(n_steps - 1, *codes.shape)])
        h, _ = self.lstm(x)  # zero initial state
        return self.readout(h)


class TrainingGradients:
    """The training batch's loss and weight gradients by torch autograd on ``device``: a
    drop-in for ``generator._batch_loss_and_grads`` (the same (1, ...) parameter and
    gradient buffers in the kernel layout). The network stays on the device; each call
    uploads the current weights (numpy's Adam updated them) and brings the gradients back.
    """

    def __init__(self, code_size: int, hidden_size: int, output_size: int,
                 device: str = "cpu"):
        self.device = check_device(device)
        self.network = _Network(code_size, hidden_size, output_size).to(self.device)
        self.network.train()  # cuDNN's LSTM backward runs in training mode only (no dropout)
        self._weights = [self.network.lstm.weight_ih_l0, self.network.lstm.weight_hh_l0,
                         self.network.lstm.bias_ih_l0, self.network.readout.weight,
                         self.network.readout.bias]

    def __call__(self, params, inputs: np.ndarray, targets: np.ndarray, grads) -> float:
        """Loss of ``inputs`` (B, Q) against ``targets`` (B, T, D) (the mean over all
        entries) with weights ``params``; its gradients go into ``grads`` (in place).
        One upload (weights, codes, targets in one array) and one download (gradients and
        loss) per call: each transfer to or from a GPU waits on it."""
        sizes = [p[0].size for p in params] + [inputs.size, targets.size]
        flat = np.concatenate([p[0].ravel() for p in params] +
                              [inputs.ravel(), targets.ravel()]).astype(np.float32, copy=False)
        parts = torch.split(_tensor(flat, np.float32, self.device), sizes)
        lstm, readout = self.network.lstm, self.network.readout
        H = lstm.hidden_size
        with torch.no_grad():
            lstm.weight_ih_l0.copy_(parts[0].view(lstm.weight_ih_l0.shape))
            lstm.weight_hh_l0.copy_(parts[1].view(H, 4 * H).T)  # the kernels' w_hh_t
            lstm.bias_ih_l0.copy_(parts[2])
            readout.weight.copy_(parts[3].view(readout.weight.shape))
            readout.bias.copy_(parts[4])
        for w in self._weights:
            w.grad = None
        codes = parts[5].view(inputs.shape)
        want = parts[6].view(targets.shape).transpose(0, 1)  # (T, B, D)
        y = self.network(codes, want.shape[0])
        loss = ((y - want) ** 2).mean()
        loss.backward()
        found = [w.grad for w in self._weights]
        found[1] = found[1].T  # the kernels keep w_hh transposed
        back = torch.cat([g.reshape(-1) for g in found] + [loss.detach()[None]]).cpu().numpy()
        offset = 0
        for buffer in grads:
            buffer[0] = back[offset:offset + buffer[0].size].reshape(buffer.shape[1:])
            offset += buffer[0].size
        return float(back[-1])


def _network(generator, device: str, dtype=np.float32) -> _Network:
    """The generator's network on ``device`` (built once per generator, device and dtype;
    kept in the generator's cache, never changed after)."""
    key = ("torch", device, np.dtype(dtype).name)
    cache = generator._kernel_cache
    if key not in cache:
        torch_device = check_device(device)
        network = _Network(generator.code_size, generator.hidden_size, generator.output_size)
        network.load_kernel_weights(*(w[0] for w in generator.kernel_weights(np.float32)))
        network = network.to(device=torch_device,
                             dtype=torch.float64 if np.dtype(dtype) == np.float64
                             else torch.float32)
        for p in network.parameters():
            p.requires_grad_(False)
        cache[key] = network.train()  # training mode: cuDNN's backward needs it (no dropout)
    return cache[key]


def code_error_and_grad(generator, codes: np.ndarray, targets: np.ndarray, device: str,
                        dtype=np.float32):
    """As ``mic_core.single.inversion.code_error_and_grad`` on ``device``: reconstructions
    (N, T, D), MSE (N,) and dMSE/dcode (N, Q) of ``codes`` (N, Q) against ``targets``."""
    network = _network(generator, device, dtype)
    at = next(network.parameters())
    code = _tensor(codes, dtype, at.device).requires_grad_(True)
    want = _tensor(targets, dtype, at.device)
    with torch.enable_grad():
        y = network(code, want.shape[1]).transpose(0, 1)  # (N, T, D)
        errors = ((y - want) ** 2).mean(dim=(1, 2))
        # targets are independent: the gradient of the sum is each target's own gradient
        (grad,) = torch.autograd.grad(errors.sum(), code)
    return (y.detach().cpu().numpy(), errors.detach().cpu().numpy(),
            grad.detach().cpu().numpy())


def corner_errors(generator, targets: np.ndarray, device: str) -> np.ndarray:
    """(N, C) as ``mic_core.single.inversion.corner_errors`` on ``device``: for every class,
    the lowest reconstruction error among its corner codes."""
    network = _network(generator, device)
    at = next(network.parameters())
    classes = torch.from_numpy(generator.code_classes()).to(at.device)
    with torch.no_grad():
        corners = network(torch.eye(generator.code_size, device=at.device),
                          generator.n_steps).transpose(0, 1)  # (Q, T, D)
        out = []
        for i in range(0, len(targets), CORNER_CHUNK):
            want = _tensor(targets[i:i + CORNER_CHUNK], np.float32, at.device)
            errors = ((want[:, None] - corners[None]) ** 2).mean(dim=(2, 3))  # (n, Q)
            out.append(torch.stack([errors[:, classes == c].min(dim=1).values
                                    for c in range(generator.n_classes)], dim=1).cpu())
    if not out:
        return np.zeros((0, generator.n_classes), dtype=np.float32)
    return torch.cat(out).numpy()
