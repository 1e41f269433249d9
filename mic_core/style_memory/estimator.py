"""``StyleMemoryClassifier``: the style-memory network as a scikit-learn classifier that can
also redraw what it saw (``reconstruct``), read a sample's ``style`` and ``decode`` any
(class, style) pair.

Training: Adam on the paper's loss (cross-entropy + alpha * Euclidean reconstruction
distance) with Gaussian noise on the input only (a denoising autoencoder). When
``validation_fraction`` > 0 a stratified, seeded share of the training data is held out and
the epoch with the best validation accuracy (ties: lower validation loss) is kept, so the
number of epochs is chosen on validation, never on the test set.

Making the decoder use the class (pen trajectories): with the paper's training the 16 style
neurons carry the character's identity, so the decoder draws the same character under every
label. ``class_input="label"`` feeds the decoder the one-hot TRUE label during training
(class-conditional decoding), ``style_noise`` blurs the style it reads (a bottleneck: class
information is cheaper to take from the label), and ``adversary`` trains a style critic to
read the class from the style while the encoder, through a reversed gradient, learns a style
the critic cannot read (a class-free style, as in Fader networks).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from mic_core.data import stratified_split
from mic_core.style_memory.network import (StyleMemoryNet, reverse_gradient,
                                           style_memory_loss)
from mic_core.training import TrainProgress

_EVAL_BATCH = 1024


class StyleMemoryClassifier(ClassifierMixin, BaseEstimator):
    """Classifier with a 16-neuron style memory in its top layer.

    Parameters
    ----------
    n_style : style neurons (logistic) beside the softmax class neurons.
    alpha : weight of the reconstruction distance in the loss (paper: 0.05).
    noise : std of the Gaussian noise added to the input during training.
    epochs : passes over the training data (the best validation epoch is kept).
    learning_rate, batch_size : Adam step size (decayed to a tenth over the epochs by a cosine
        schedule) and minibatch size.
    validation_fraction : stratified share held out to choose the epoch (0: keep the last).
    architecture : "image" (2-D conv, inputs (n, 28, 28)), "pen_trajectory" (1-D conv along
        the path, inputs (n_ts, sz, d)) or "auto" (image when d > 2).
    augment : pen trajectories only: strength of a random rotation, scale and re-timing of
        each training sample before the noise (0: none); the network redraws the
        transformed sample.
    decoder : "mirror" (the paper's mirror image of the encoder) or, for pen trajectories,
        "smooth" (the first ``n_basis`` cosines of each coordinate: a smooth pen path).
    n_basis : cosines per coordinate of the smooth decoder.
    class_input : the class vector the decoder reads during training: "softmax" (the
        paper's unrolled network) or "label" (the one-hot true label). Inference always
        decodes the network's own softmax, or the label asked for.
    style_noise : std of Gaussian noise added to the style the decoder reads in training.
    adversary : weight of the reversed gradient from a style critic that learns to read the
        class from the style (0: no critic).
    seed : initial weights, minibatch order, noise and the validation split.
    """

    def __init__(self, n_style: int = 16, alpha: float = 0.05, noise: float = 0.1,
                 epochs: int = 10, learning_rate: float = 1e-3, batch_size: int = 64,
                 validation_fraction: float = 0.1, architecture: str = "auto",
                 augment: float = 0.0, decoder: str = "mirror", n_basis: int = 24,
                 class_input: str = "softmax", style_noise: float = 0.0,
                 adversary: float = 0.0, seed: int = 42):
        self.n_style = n_style
        self.alpha = alpha
        self.noise = noise
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.architecture = architecture
        self.augment = augment
        self.decoder = decoder
        self.n_basis = n_basis
        self.class_input = class_input
        self.style_noise = style_noise
        self.adversary = adversary
        self.seed = seed

    # --- input checks -------------------------------------------------------------------

    def _architecture(self, X: np.ndarray) -> str:
        if self.architecture != "auto":
            return self.architecture
        return "image" if X.shape[2] > 2 else "pen_trajectory"

    def _check_X(self, X, fitted: bool = True) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if not X.flags.writeable:  # torch wants to own writable memory (shared caches are not)
            X = X.copy()
        if fitted and X.ndim == len(self.input_shape_):
            X = X[None]  # one sample
        if X.ndim != 3:
            raise ValueError(f"expected samples of shape (n, sz, d), got an array of shape "
                             f"{X.shape}")
        if fitted and X.shape[1:] != self.input_shape_:
            raise ValueError(f"this style memory takes samples of shape {self.input_shape_}, "
                             f"got {X.shape[1:]}")
        if len(X) == 0:
            raise ValueError("no samples given")
        if not np.all(np.isfinite(X)):
            raise ValueError("the samples hold NaN or infinite values")
        return X

    def _class_vectors(self, label, n: int) -> torch.Tensor:
        indices = np.broadcast_to(np.asarray(self._class_index(label)), (n,))
        return torch.nn.functional.one_hot(torch.as_tensor(indices.copy()),
                                           len(self.classes_)).float()

    def _class_index(self, label):
        label = np.asarray(label)
        index = np.searchsorted(self.classes_, label)
        if np.any(index >= len(self.classes_)) or np.any(self.classes_[np.minimum(
                index, len(self.classes_) - 1)] != label):
            raise ValueError(f"unknown class {label.tolist()}; the classes are "
                             f"{self.classes_.tolist()}")
        return index

    # --- training -----------------------------------------------------------------------

    def fit(self, X, y, progress: Callable[[TrainProgress], None] | None = None,
            checkpoint: Path | None = None, checkpoint_seconds: float = 60.0):
        """Train on X (n, sz, d), y (n,). ``progress`` receives a ``TrainProgress`` after
        every minibatch group; with ``checkpoint`` the state is saved at the end of an epoch
        once ``checkpoint_seconds`` have passed since the last save (short epochs would spend
        their time writing), and an interrupted fit resumes from it (torch file read with
        ``weights_only=True``)."""
        X = self._check_X(X, fitted=False)
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"{len(X)} samples but {len(y)} labels")
        if self.class_input not in ("softmax", "label"):
            raise ValueError(f"class_input must be 'softmax' or 'label', got "
                             f"{self.class_input!r}")
        self.classes_, y_index = np.unique(y, return_inverse=True)
        self.input_shape_ = X.shape[1:]
        train, valid = self._split(y_index)
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            self.network_ = StyleMemoryNet(self.input_shape_, len(self.classes_), self.n_style,
                                           self._architecture(X), self.decoder, self.n_basis,
                                           critic=self.adversary > 0)
        optimiser = torch.optim.Adam(self.network_.parameters(), lr=self.learning_rate)
        state = {"epoch": 0, "history": [], "best": None}
        if checkpoint is not None and Path(checkpoint).exists():
            state = _resume(Path(checkpoint), self.network_, optimiser)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y_index.astype(np.int64))
        batches = -(-len(train) // self.batch_size)
        start, first = time.perf_counter(), state["epoch"]
        cpu_start, saved = time.process_time(), time.perf_counter()
        for epoch in range(state["epoch"], self.epochs):
            generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            order = torch.from_numpy(train)[torch.randperm(len(train), generator=generator)]
            self.network_.train()
            for b in range(batches):
                # a minibatch with fresh input noise; the target is the clean input
                idx = order[b * self.batch_size:(b + 1) * self.batch_size]
                clean = Xt[idx]
                if self.augment > 0 and self.network_.architecture == "pen_trajectory":
                    clean = _rotate_and_scale(clean, self.augment, generator)
                noisy = clean + self.noise * torch.randn(clean.shape, generator=generator)
                loss = self._training_loss(noisy, clean, yt[idx], generator)
                for group in optimiser.param_groups:  # cosine decay to a tenth
                    group["lr"] = self._learning_rate(epoch + b / batches)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                if progress is not None and (b % 20 == 0 or b == batches - 1):
                    # steps of this run (a resumed fit estimates time left from its own pace)
                    progress(TrainProgress((epoch - first) * batches + b + 1,
                                           (self.epochs - first) * batches, float(loss.detach()),
                                           time.perf_counter() - start))
            # validation: keep the best epoch's weights
            record = self._epoch_record(epoch + 1, Xt, yt, train, valid)
            # this run's wall and CPU seconds so far (the machine is shared: CPU time is the
            # figure that compares across loads)
            record.update(seconds=time.perf_counter() - start,
                          cpu_seconds=time.process_time() - cpu_start)
            state["history"].append(record)
            best = state["best"]
            if best is None or (record["valid_accuracy"], -record["valid_loss"]) > \
                    (best["valid_accuracy"], -best["valid_loss"]) or not len(valid):
                state["best"] = {**record, "weights": {k: v.clone() for k, v in
                                                       self.network_.state_dict().items()}}
            state["epoch"] = epoch + 1
            if checkpoint is not None and (time.perf_counter() - saved >= checkpoint_seconds
                                           or epoch + 1 == self.epochs):
                _save_checkpoint(Path(checkpoint), state, self.network_, optimiser)
                saved = time.perf_counter()
        self.network_.load_state_dict(state["best"]["weights"])
        self.network_.eval()
        self.history_ = state["history"]
        self.best_epoch_ = state["best"]["epoch"]
        return self

    def _training_loss(self, noisy, clean, target, generator) -> torch.Tensor:
        """The paper's loss on one minibatch, with the decoder's class vector, style noise
        and style critic as configured."""
        net = self.network_
        logits, style = net.encode(noisy)
        if self.class_input == "label":
            vectors = torch.nn.functional.one_hot(target, net.n_classes).float()
        else:
            vectors = torch.softmax(logits, dim=1)
        read = style
        if self.style_noise > 0:
            read = style + self.style_noise * torch.randn(style.shape, generator=generator)
        loss = style_memory_loss(logits, net.decode(vectors, read), target, clean, self.alpha)
        if self.adversary > 0:  # the critic learns the class; the encoder learns to hide it
            critic_logits = net.style_critic(reverse_gradient(style, self.adversary))
            loss = loss + torch.nn.functional.cross_entropy(critic_logits, target)
        return loss

    def _learning_rate(self, epoch: float) -> float:
        return self.learning_rate * (0.55 + 0.45 * float(np.cos(np.pi * epoch / self.epochs)))

    def _split(self, y_index: np.ndarray):
        if self.validation_fraction <= 0:
            return np.arange(len(y_index)), np.arange(0)
        train, valid = stratified_split(y_index, self.validation_fraction, self.seed)
        if len(valid) == 0 or len(train) == 0:
            raise ValueError("too few samples to carve a validation split; set "
                             "validation_fraction=0")
        return train, valid

    @torch.no_grad()
    def _epoch_record(self, epoch, Xt, yt, train, valid) -> dict:
        self.network_.eval()
        record = {"epoch": epoch}
        for name, idx in (("train", train[:len(valid) or 2000]), ("valid", valid)):
            if len(idx) == 0:
                record[f"{name}_accuracy"], record[f"{name}_loss"] = float("nan"), float("nan")
                continue
            idx = torch.from_numpy(idx)
            logits, _, reconstruction = self._forward(Xt[idx])
            record[f"{name}_loss"] = float(style_memory_loss(
                logits, reconstruction, yt[idx], Xt[idx], self.alpha))
            record[f"{name}_accuracy"] = float((logits.argmax(1) == yt[idx]).float().mean())
        return record

    def validation_accuracy(self, X, y) -> float:
        """Accuracy on the validation split ``fit`` carved from these X, y (the same seed):
        e.g. to check that the stored float16 weights decide as the float32 ones did."""
        _, y_index = np.unique(np.asarray(y), return_inverse=True)
        _, valid = self._split(y_index)
        if len(valid) == 0:
            return float("nan")
        return float(np.mean(self.predict(np.asarray(X)[valid]) == np.asarray(y)[valid]))

    # --- inference ----------------------------------------------------------------------

    @torch.no_grad()
    def _forward(self, X: torch.Tensor):
        outputs = [self.network_(X[i:i + _EVAL_BATCH]) for i in range(0, len(X), _EVAL_BATCH)]
        return tuple(torch.cat(parts) for parts in zip(*outputs))

    @torch.no_grad()
    def _encode(self, X) -> tuple[torch.Tensor, torch.Tensor]:
        X = torch.from_numpy(self._check_X(X))
        parts = [self.network_.encode(X[i:i + _EVAL_BATCH]) for i in range(0, len(X),
                                                                           _EVAL_BATCH)]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def predict_proba(self, X) -> np.ndarray:
        """(n, n_classes) softmax class probabilities."""
        logits, _ = self._encode(X)
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        """(n,) predicted classes."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def style(self, X) -> np.ndarray:
        """(n, n_style) style memories in (0, 1)."""
        return self._encode(X)[1].numpy()

    @torch.no_grad()
    def decode(self, label, style) -> np.ndarray:
        """Draw class ``label`` (one class or one per style) in ``style`` (n, n_style) or
        (n_style,) -> (n, *input_shape)."""
        style = np.asarray(style, dtype=np.float32)
        style = style[None] if style.ndim == 1 else style
        if style.ndim != 2 or style.shape[1] != self.n_style:
            raise ValueError(f"a style has {self.n_style} values, got shape {style.shape}")
        vectors = self._class_vectors(label, len(style))
        return self.network_.decode(vectors, torch.from_numpy(style)).numpy()

    @torch.no_grad()
    def reconstruct(self, X, label=None) -> np.ndarray:
        """Redraw X (n, sz, d) from its style and its class vector: the network's own softmax
        when ``label`` is None (the unrolled network), else the one-hot vector of ``label``
        (one class, or one per sample) -> (n, *input_shape)."""
        logits, style = self._encode(X)
        vectors = torch.softmax(logits, 1) if label is None else \
            self._class_vectors(label, len(style))
        return self.network_.decode(vectors, style).numpy()

    def reconstruction_error(self, X, label=None) -> np.ndarray:
        """(n,) Euclidean distance between each sample and its reconstruction."""
        X = self._check_X(X)
        return np.linalg.norm((self.reconstruct(X, label) - X).reshape(len(X), -1), axis=1)


def _rotate_and_scale(X: torch.Tensor, strength: float, generator) -> torch.Tensor:
    """Each pen trajectory (B, sz, 2) turned by N(0, strength) radians, scaled by
    exp(N(0, strength)) about the origin (the centroid of a standardised sample), and
    re-timed along its path by a smooth monotone warp t -> t + b sin(pi t), b ~ N(0, strength)
    clipped to +-0.3 (a pen moving faster or slower in places)."""
    B, T, _ = X.shape
    angle = strength * torch.randn(B, generator=generator)
    scale = torch.exp(strength * torch.randn(B, generator=generator))
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    rotation = torch.stack([torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1)], 1)
    X = X[..., :2] @ rotation
    bend = torch.clamp(strength * torch.randn(B, 1, generator=generator), -0.3, 0.3)
    t = torch.linspace(0, 1, T).expand(B, T)
    where = (t + bend * torch.sin(torch.pi * t)).clamp(0, 1) * (T - 1)  # (B, T)
    low = where.floor().long().clamp(max=T - 2)
    frac = (where - low).unsqueeze(-1)
    rows = torch.arange(B)[:, None]
    return X[rows, low] * (1 - frac) + X[rows, low + 1] * frac


def _save_checkpoint(path: Path, state: dict, network, optimiser) -> None:
    from mic_core.persistence import atomic_write
    payload = {"epoch": state["epoch"], "history": state["history"], "best": state["best"],
               "optimiser": optimiser.state_dict(), "last": network.state_dict()}
    atomic_write(path, lambda f: torch.save(payload, f))


def _resume(path: Path, network, optimiser) -> dict:
    try:
        payload = torch.load(path, weights_only=True)
        optimiser.load_state_dict(payload["optimiser"])
        network.load_state_dict(payload["last"])
    except Exception as exc:  # a corrupt checkpoint costs a restart, nothing more
        raise ValueError(f"checkpoint {path.name} is unusable ({exc}); delete it") from None
    return payload
