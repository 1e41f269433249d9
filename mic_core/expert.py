"""The generative expert: one small LSTM per class, and the set of all experts of a data set.

``Expert`` is the readable PyTorch definition (the method's model, METHOD §2). ``ExpertSet``
holds the weights of all experts stacked along a leading expert axis, plus each expert's four
types; it is what training produces, persistence stores and the inversion engine runs (through
``mic_core.kernels``, whose maths is tested against ``Expert``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from mic_core import kernels


@dataclass(frozen=True)
class ExpertConfig:
    """Sizes of one expert."""

    n_types: int = 4  # input size: one one-hot slot per type
    hidden_size: int = 10  # LSTM cells (METHOD: 10 for characters, 20 for MNIST)
    output_size: int = 2  # values per time step (2 pen coordinates, or 28 pixels)


class Expert(nn.Module):
    """One generative expert: LSTM(n_types -> hidden) + linear read-out at every step."""

    def __init__(self, config: ExpertConfig):
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(config.n_types, config.hidden_size, batch_first=True)
        self.readout = nn.Linear(config.hidden_size, config.output_size)

    def forward(self, input_vector: torch.Tensor, n_steps: int) -> torch.Tensor:
        """Reconstruction of ``input_vector`` (B, n_types): returns (B, n_steps, output_size).

        The vector is the input at the first step only; all later inputs are zero.
        """
        B, K = input_vector.shape
        x = input_vector.new_zeros(B, n_steps, K)
        x[:, 0] = input_vector
        h, _ = self.lstm(x)  # zero initial state
        return self.readout(h)


@dataclass(frozen=True, eq=False)
class ExpertSet:
    """All experts of one data set: stacked weights (PyTorch layout) and their types.

    Shapes, with E experts, H hidden cells, K = n_types, D outputs, T steps:
    ``w_ih`` (E, 4H, K), ``w_hh`` (E, 4H, H), ``bias`` (E, 4H) (= b_ih + b_hh),
    ``w_out`` (E, D, H), ``b_out`` (E, D), ``types`` (E, K, T, D).
    """

    config: ExpertConfig
    class_names: tuple[str, ...]
    w_ih: np.ndarray
    w_hh: np.ndarray
    bias: np.ndarray
    w_out: np.ndarray
    b_out: np.ndarray
    types: np.ndarray
    training_curve: np.ndarray | None = None  # (n_records, E) training loss, if trained here
    origin: dict | None = field(default=None, compare=False)  # {"data": DataConfig fields,
    #   "train": TrainConfig fields} where known (set by mic_core.persistence): the record of
    #   a classification names the experts' data set, selection, seed and noise from it
    _kernel_cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        E, K, H, D = len(self.class_names), self.config.n_types, self.config.hidden_size, \
            self.config.output_size
        expected = {"w_ih": (E, 4 * H, K), "w_hh": (E, 4 * H, H), "bias": (E, 4 * H),
                    "w_out": (E, D, H), "b_out": (E, D)}
        for name, shape in expected.items():
            got = getattr(self, name).shape
            if got != shape:
                raise ValueError(f"ExpertSet.{name} has shape {got}, expected {shape}")
        if self.types.ndim != 4 or self.types.shape[:2] != (E, K) or self.types.shape[3] != D:
            raise ValueError(f"ExpertSet.types has shape {self.types.shape}, expected "
                             f"({E}, {K}, T, {D})")
        for name in ("w_ih", "w_hh", "bias", "w_out", "b_out", "types"):
            array = getattr(self, name)
            if not np.all(np.isfinite(array)):
                raise ValueError(f"ExpertSet.{name} holds NaN or infinite values")
            array.setflags(write=False)  # shared between app sessions: never mutated

    @property
    def n_experts(self) -> int:
        return len(self.class_names)

    @property
    def n_steps(self) -> int:
        """Length of the sequences the experts were trained to generate."""
        return self.types.shape[2]

    def kernel_weights(self, dtype=np.float32) -> tuple[np.ndarray, ...]:
        """Weights in the layout of ``mic_core.kernels``, converted once and cached."""
        key = np.dtype(dtype).name
        if key not in self._kernel_cache:
            arrays = (self.w_ih, np.swapaxes(self.w_hh, 1, 2), self.bias, self.w_out,
                      self.b_out)
            self._kernel_cache[key] = tuple(np.ascontiguousarray(a, dtype=dtype)
                                            for a in arrays)
        return self._kernel_cache[key]

    def generate(self, inputs: np.ndarray, n_steps: int | None = None) -> np.ndarray:
        """Reconstructions for input vectors ``inputs`` (N, E, K): returns (N, E, T, D)."""
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        if inputs.ndim != 3 or inputs.shape[1:] != (self.n_experts, self.config.n_types):
            raise ValueError(f"inputs must have shape (N, {self.n_experts}, "
                             f"{self.config.n_types}), got {inputs.shape}")
        return kernels.generate(*self.kernel_weights(), inputs, n_steps or self.n_steps)

    def generate_types(self) -> np.ndarray:
        """What every expert generates from each exact one-hot input (its types as it learnt
        them): (E, K, T, D), ``[e, k]`` from one-hot ``k`` in expert ``e``."""
        K = self.config.n_types
        one_hot = np.broadcast_to(np.eye(K, dtype=np.float32)[:, None, :],
                                  (K, self.n_experts, K))
        return self.generate(one_hot).transpose(1, 0, 2, 3)

    def generate_mixture(self, expert: int, weights) -> np.ndarray:
        """Expert ``expert``'s reconstruction (T, D) of the mixture ``weights`` (K,) of its
        types (given as they are: project them onto the simplex first, as the inversion
        does, with ``mic_core.inversion.project_to_simplex``)."""
        weights = np.asarray(weights, dtype=np.float32)
        if weights.shape != (self.config.n_types,) or not np.all(np.isfinite(weights)):
            raise ValueError(f"mixture weights must be {self.config.n_types} finite numbers, "
                             f"got shape {weights.shape}")
        if not 0 <= expert < self.n_experts:
            raise ValueError(f"expert {expert} out of range (0..{self.n_experts - 1})")
        inputs = np.zeros((1, self.n_experts, self.config.n_types), dtype=np.float32)
        inputs[0, expert] = weights
        return self.generate(inputs)[0, expert]

    def module(self, index: int) -> Expert:
        """Expert ``index`` as a float64 PyTorch module (reference and inspection)."""
        expert = Expert(self.config).double()
        state = {
            "lstm.weight_ih_l0": self.w_ih[index],
            "lstm.weight_hh_l0": self.w_hh[index],
            "lstm.bias_ih_l0": self.bias[index],
            "lstm.bias_hh_l0": np.zeros_like(self.bias[index]),
            "readout.weight": self.w_out[index],
            "readout.bias": self.b_out[index],
        }
        expert.load_state_dict({k: torch.tensor(np.array(v), dtype=torch.float64)
                                for k, v in state.items()})
        return expert.eval()

    @classmethod
    def from_modules(cls, experts: list[Expert], class_names, types: np.ndarray) -> "ExpertSet":
        """Stack PyTorch experts into an ExpertSet (the inverse of ``module``)."""
        def stack(fn):
            return np.stack([fn(e).detach().double().numpy() for e in experts])
        return cls(
            config=experts[0].config,
            class_names=tuple(class_names),
            w_ih=stack(lambda e: e.lstm.weight_ih_l0),
            w_hh=stack(lambda e: e.lstm.weight_hh_l0),
            bias=stack(lambda e: e.lstm.bias_ih_l0 + e.lstm.bias_hh_l0),
            w_out=stack(lambda e: e.readout.weight),
            b_out=stack(lambda e: e.readout.bias),
            types=np.asarray(types, dtype=np.float64),
        )
