"""Style memory: network shapes, the loss against a hand computation, training, files, bad
input, the analysis against brute force, and the CLI. Tiny budgets: seconds."""
import json

import numpy as np
import pytest
import torch

from conftest import synthetic_sequences
from mic_core.data import DataConfig, Dataset
from mic_core.style_memory import (StyleMemoryClassifier, StyleMemoryConfig,
                                   StyleMemoryFileError, StyleMemoryNet,
                                   evaluate_style_memory, interpolate_styles,
                                   load_or_train_style_memory, load_style_memory,
                                   label_swap, nearest_neighbours, roughness,
                                   save_style_memory, style_memory_loss, style_transfer)

torch.set_num_threads(1)
TINY = dict(epochs=25, batch_size=8, learning_rate=3e-3, noise=0.05, validation_fraction=0.0,
            seed=0)


@pytest.fixture(scope="module")
def tiny_model():
    X, y = synthetic_sequences(n_per_class=8, n_steps=20)
    return StyleMemoryClassifier(**TINY).fit(X, y), X, y


def test_image_network_has_the_papers_shapes():
    net = StyleMemoryNet((28, 28), n_classes=10, n_style=16, architecture="image")
    with torch.no_grad():
        logits, style, reconstruction = net(torch.rand(3, 28, 28))
    assert logits.shape == (3, 10) and style.shape == (3, 16)
    assert reconstruction.shape == (3, 28, 28)
    assert float(style.min()) > 0 and float(style.max()) < 1  # logistic style neurons
    assert float(reconstruction.min()) >= 0 and float(reconstruction.max()) <= 1
    convs = [m for m in net.encoder if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == \
        [(32, (5, 5), (2, 2)), (64, (5, 5), (2, 2))]
    linears = [m.out_features for m in net.encoder if isinstance(m, torch.nn.Linear)]
    assert linears == [256, 128, 26]


@pytest.mark.parametrize("length", [100, 21, 20])
def test_pen_trajectory_network_restores_any_length(length):
    net = StyleMemoryNet((length, 2), n_classes=20, architecture="pen_trajectory")
    _, _, reconstruction = net(torch.randn(4, length, 2))
    assert reconstruction.shape == (4, length, 2)


def test_loss_matches_a_hand_computation():
    rng = np.random.RandomState(0)
    logits, target = rng.randn(5, 4), rng.randint(0, 4, 5)
    x, x_hat = rng.rand(5, 3, 2), rng.rand(5, 3, 2)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    cross_entropy = -log_softmax[np.arange(5), target].mean()
    distance = np.sqrt(((x_hat - x) ** 2).sum(axis=(1, 2))).mean()
    loss = style_memory_loss(torch.tensor(logits), torch.tensor(x_hat), torch.tensor(target),
                             torch.tensor(x), alpha=0.05)
    assert float(loss) == pytest.approx(cross_entropy + 0.05 * distance, rel=1e-10)


def test_fit_learns_and_outputs_have_their_shapes(tiny_model):
    model, X, y = tiny_model
    assert model.score(X, y) >= 0.9  # three easy families of curves
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert model.style(X).shape == (len(X), 16)
    assert model.reconstruct(X).shape == X.shape
    assert model.reconstruct(X, label=2).shape == X.shape
    assert model.decode(1, np.full(16, 0.5)).shape == (1, 20, 2)
    assert len(model.history_) == TINY["epochs"]


def test_reconstruction_depends_on_the_label_and_is_closer_with_the_true_one(tiny_model):
    model, X, y = tiny_model
    true = model.reconstruction_error(X, label=y)
    wrong = model.reconstruction_error(X, label=(y + 1) % 3)
    assert np.mean(true < wrong) > 0.8


def test_validation_keeps_the_best_epoch():
    X, y = synthetic_sequences(n_per_class=10, n_steps=20)
    model = StyleMemoryClassifier(**{**TINY, "epochs": 6, "validation_fraction": 0.3}).fit(X, y)
    best = max(model.history_, key=lambda h: (h["valid_accuracy"], -h["valid_loss"]))
    assert model.best_epoch_ == best["epoch"]


def test_interrupted_fit_resumes_to_the_same_weights(tmp_path):
    X, y = synthetic_sequences(n_per_class=4, n_steps=20)
    params = {**TINY, "epochs": 3}
    whole = StyleMemoryClassifier(**params).fit(X, y)

    class Stop(Exception):
        pass

    def stop_in_second_epoch(p):
        if p.step > 2:  # 12 samples / batch 8 = 2 batches per epoch
            raise Stop
    checkpoint = tmp_path / "run.ckpt.pt"
    with pytest.raises(Stop):
        StyleMemoryClassifier(**params).fit(X, y, progress=stop_in_second_epoch,
                                            checkpoint=checkpoint, checkpoint_seconds=0)
    assert checkpoint.exists()
    resumed = StyleMemoryClassifier(**params).fit(X, y, checkpoint=checkpoint)
    for (name, a), b in zip(whole.network_.state_dict().items(),
                            resumed.network_.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_bad_input_gets_a_clear_message(tiny_model):
    model, X, _ = tiny_model
    with pytest.raises(ValueError, match=r"shape \(20, 2\), got \(28, 28\)"):
        model.predict(np.zeros((1, 28, 28)))
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full((1, 20, 2), np.nan))
    with pytest.raises(ValueError, match="no samples"):
        model.predict(np.zeros((0, 20, 2)))
    with pytest.raises(ValueError, match="unknown class"):
        model.reconstruct(X[:1], label=7)
    with pytest.raises(ValueError, match="16 values"):
        model.decode(0, np.zeros(3))


# --- files ---------------------------------------------------------------------------------

def _tiny_dataset():
    X, y = synthetic_sequences(n_per_class=4, n_steps=20)
    return Dataset(config=DataConfig(dataset="characters", n_points=20),
                   class_names=("a", "b", "c"), X_train=X, y_train=y, X_test=X, y_test=y)


TINY_CONFIG = StyleMemoryConfig(dataset="characters", epochs=2, batch_size=8,
                                validation_fraction=0.0, seed=0)


def test_save_load_round_trip(tmp_path, tiny_model):
    model, X, _ = tiny_model
    data = DataConfig(dataset="characters", n_points=20)
    config = StyleMemoryConfig(**{**TINY, "dataset": "characters"})
    path = save_style_memory(model, tmp_path / "m.npz", data, config)
    loaded = load_style_memory(path, data, config)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.reconstruct(X), model.reconstruct(X), atol=2e-2)
    with pytest.raises(StyleMemoryFileError, match="another configuration"):
        load_style_memory(path, data, StyleMemoryConfig(**{**TINY, "dataset": "characters",
                                                           "seed": 1}))


def test_load_or_train_caches_by_configuration(tmp_path):
    dataset, seen = _tiny_dataset(), []
    first = load_or_train_style_memory(dataset, TINY_CONFIG, tmp_path, progress=seen.append)
    assert seen and seen[-1].step == seen[-1].steps and seen[-1].seconds_left == 0
    files = list(tmp_path.glob("style-characters-full-seed0-*.npz"))
    assert len(files) == 1 and not list(tmp_path.glob("*.ckpt.pt"))
    again = load_or_train_style_memory(dataset, TINY_CONFIG, tmp_path,
                                       progress=lambda p: pytest.fail("trained twice"))
    np.testing.assert_array_equal(again.style(dataset.X_test), first.style(dataset.X_test))


def test_corrupt_and_foreign_files_are_refused(tmp_path):
    truncated = tmp_path / "truncated.npz"
    dataset = _tiny_dataset()
    load_or_train_style_memory(dataset, TINY_CONFIG, tmp_path)
    good = next(tmp_path.glob("style-*.npz"))
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(StyleMemoryFileError, match="not a readable"):
        load_style_memory(truncated)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    with pytest.raises(StyleMemoryFileError, match="no header"):
        load_style_memory(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, header=np.array([{"a": 1}], dtype=object))
    with pytest.raises(StyleMemoryFileError, match="needing pickle"):
        load_style_memory(pickled)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(StyleMemoryFileError):
        load_style_memory(text)
    # right header, wrong weights
    with np.load(good, allow_pickle=False) as f:
        header = f["header"]
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, header=header, **{"weight:encoder.0.weight": np.zeros((2, 2))})
    with pytest.raises(StyleMemoryFileError, match="do not fit"):
        load_style_memory(wrong)
    # a corrupt cached file is retrained, not trusted
    good.write_bytes(b"garbage")
    messages = []
    load_or_train_style_memory(dataset, TINY_CONFIG, tmp_path, log=messages.append)
    assert messages and "retraining" in messages[0]


# --- analysis ------------------------------------------------------------------------------

def test_auroc_matches_a_pairwise_count(tiny_model):
    model, X, y = tiny_model
    y_noisy = y.copy()
    y_noisy[:5] = (y_noisy[:5] + 1) % 3  # some "misclassified" samples
    result = evaluate_style_memory(model, X, y_noisy)
    wrong = result.predicted != y_noisy
    e = model.reconstruction_error(X)
    pairs = [(a > b) + 0.5 * (a == b) for a in e[wrong] for b in e[~wrong]]
    assert result.misclassification_auroc == pytest.approx(np.mean(pairs))
    assert result.reconstruction_error == pytest.approx(e.mean())
    assert result.accuracy == pytest.approx(np.mean(~wrong))


def test_nearest_neighbours_match_brute_force(tiny_model):
    model, X, y = tiny_model
    by_input, by_style = nearest_neighbours(model, X[0], X, y, k=5, exclude=0)
    d_input = [np.sqrt(((X[i] - X[0]) ** 2).sum()) for i in range(len(X))]
    styles = model.style(X)
    d_style = [np.sqrt(((styles[i] - styles[0]) ** 2).sum()) for i in range(len(X))]
    assert list(by_input.indices) == list(np.argsort(d_input)[1:6])  # itself excluded
    assert list(by_style.indices) == list(np.argsort(d_style)[1:6])
    assert by_style.mean_style_distance == pytest.approx(np.sort(d_style)[1:6].mean(),
                                                         rel=1e-5)
    assert sum(by_input.class_counts.values()) == 5


def test_style_transfer_and_interpolation_end_points(tiny_model):
    model, X, y = tiny_model
    grid = style_transfer(model, X[0])
    assert grid.shape == (3, 20, 2)
    np.testing.assert_allclose(grid[2], model.reconstruct(X[:1], label=2)[0], atol=1e-5)
    path = interpolate_styles(model, X[0], X[1], 0, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(path[0], model.reconstruct(X[:1], label=0)[0], atol=1e-5)
    np.testing.assert_allclose(path[2], model.reconstruct(X[1:2], label=0)[0], atol=1e-5)


# --- the command line (the shipped letters model) ------------------------------------------

def _cli(*args, cwd=None):
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "-m", "mic_core", *args], cwd=root,
                          capture_output=True, text=True, timeout=300)


def test_cli_evaluate_json_has_accuracy_and_reconstruction_error(tmp_path):
    done = _cli("evaluate", "--system", "style", "--limit", "40", "--json",
                "--cache-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["n_test"] == 40 and 0 <= result["accuracy"] <= 1
    assert result["reconstruction_error"] > 0
    assert not list(tmp_path.glob("style-*.npz"))  # the shipped model, nothing trained


def test_cli_refuses_bad_input_clearly(tmp_path):
    image = tmp_path / "digit.npy"
    np.save(image, np.zeros((28, 28), dtype=np.float32))
    done = _cli("classify", "--system", "style", "--image", str(image),
                "--cache-dir", str(tmp_path))
    assert done.returncode != 0 and "shape (100, 2), got (28, 28)" in done.stderr
    empty = tmp_path / "empty.json"
    empty.write_text('{"objects": []}')
    done = _cli("classify", "--system", "style", "--drawing", str(empty),
                "--cache-dir", str(tmp_path))
    assert done.returncode != 0 and "empty" in done.stderr
    done = _cli("classify", "--system", "style", "--sample", "3", "--json",
                "--cache-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["true_class"]


# --- a decoder that uses the class, smooth pen paths (issue 12, second round) ---------------

def test_cosine_basis_is_scipys_orthonormal_dct():
    from scipy.fft import idct
    from mic_core.style_memory.network import cosine_basis
    basis = cosine_basis(12, 5).double().numpy()
    np.testing.assert_allclose(basis @ basis.T, np.eye(5), atol=1e-6)  # float32
    coefficients = np.random.RandomState(0).randn(5)
    padded = np.concatenate([coefficients, np.zeros(7)])
    np.testing.assert_allclose(coefficients @ basis, idct(padded, type=2, norm="ortho"),
                               atol=1e-6)


@pytest.mark.parametrize("length", [100, 21])
def test_smooth_decoder_draws_only_low_frequencies(length):
    from scipy.fft import dct
    net = StyleMemoryNet((length, 2), n_classes=5, architecture="pen_trajectory",
                         decoder="smooth", n_basis=8)
    with torch.no_grad():
        _, _, drawing = net(torch.randn(3, length, 2))
    assert drawing.shape == (3, length, 2)
    spectrum = dct(drawing.double().numpy(), type=2, norm="ortho", axis=1)
    assert np.abs(spectrum[:, 8:]).max() < 1e-5 * np.abs(spectrum[:, :8]).max()
    with pytest.raises(ValueError, match="pen trajectories"):
        StyleMemoryNet((28, 28), 10, decoder="smooth")


def test_reversed_gradient_is_the_negative_weighted_gradient():
    from mic_core.style_memory.network import reverse_gradient
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    out = reverse_gradient(x, 0.5)
    assert torch.equal(out, x.detach())
    (out ** 2).sum().backward()
    torch.testing.assert_close(x.grad, -0.5 * 2 * x.detach())


def test_label_swap_counts_by_hand():
    class Model:  # a style is the sample's class; the drawing "is" the label or the style
        classes_ = np.array([0, 1, 2])

        def __init__(self, follows_label):
            self.follows_label = follows_label

        def style(self, X):
            return X[:, :1, 0].astype(np.float32)

        def decode(self, label, styles):
            value = np.full(len(styles), float(label)) if self.follows_label else styles[:, 0]
            return value[:, None, None]

    class Reader:
        def predict(self, X):
            return np.rint(X[:, 0, 0]).astype(int)

    y = np.array([0, 1, 2, 2])
    X = y[:, None, None].repeat(2, axis=2).astype(float)
    follows = label_swap(Model(True), X, y, Reader())
    assert follows == {"read_as_label": 1.0, "read_as_source": 0.0,
                       "own_label_read_back": 1.0, "n_samples": 4, "n_swapped_drawings": 8}
    ignores = label_swap(Model(False), X, y, Reader())
    assert ignores["read_as_label"] == 0.0 and ignores["read_as_source"] == 1.0


def test_roughness_by_hand():
    zigzag = np.array([[[0, 0], [1, 1], [2, 0], [3, 1]]], dtype=float)
    # second differences (0, -2), (0, 2): squared lengths 4 and 4
    assert roughness(zigzag) == pytest.approx(4.0)
    assert roughness(np.cumsum(np.ones((1, 5, 2)), axis=1)) == pytest.approx(0.0)


def test_class_conditional_training_redraws_under_another_label():
    from mic_core.baselines import NearestNeighbourMSE
    X, y = synthetic_sequences(n_per_class=8, n_steps=20)
    model = StyleMemoryClassifier(**{**TINY, "epochs": 40}, decoder="smooth", n_basis=8,
                                  class_input="label", adversary=0.3, style_noise=0.1)
    model.fit(X, y)
    assert model.score(X, y) >= 0.9
    swap = label_swap(model, X, y, NearestNeighbourMSE().fit(X, y))
    assert swap["read_as_label"] >= 0.8 and swap["own_label_read_back"] >= 0.9


def test_a_smooth_adversarial_model_round_trips_without_its_critic(tmp_path):
    X, y = synthetic_sequences(n_per_class=4, n_steps=20)
    params = {**TINY, "epochs": 2, "decoder": "smooth", "n_basis": 6, "class_input": "label",
              "adversary": 0.5}
    model = StyleMemoryClassifier(**params).fit(X, y)
    data = DataConfig(dataset="characters", n_points=20)
    config = StyleMemoryConfig(**{**params, "dataset": "characters"})
    path = save_style_memory(model, tmp_path / "m.npz", data, config)
    with np.load(path, allow_pickle=False) as f:
        assert not [k for k in f.files if "critic" in k]
    loaded = load_style_memory(path, data, config)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.reconstruct(X), model.reconstruct(X), atol=3e-2)


def test_files_trained_before_the_new_fields_keep_their_names():
    from mic_core.style_memory.store import SHIPPED_STYLE_MEMORIES, default_style_config, \
        file_name
    # the shipped digits were trained with the paper's decoder, before these fields existed
    config = default_style_config("mnist")
    assert (config.decoder, config.class_input, config.adversary) == ("mirror", "softmax", 0)
    assert (SHIPPED_STYLE_MEMORIES / file_name(DataConfig(dataset="mnist"), config)).exists()
    assert file_name(DataConfig(dataset="mnist"), config).endswith("-e49b8897fac865e3.npz")


def test_error_histogram_bars_stand_side_by_side_on_shared_bins():
    from figures.style_memory import error_histogram_figure
    errors = np.random.RandomState(0).gamma(2.0, 1.0, 200)
    wrong = np.arange(200) % 7 == 0
    fig = error_histogram_figure(errors, wrong)
    assert fig.layout.barmode == "group"  # not overlaid: neither group hides the other
    right_bins, wrong_bins = (trace.xbins for trace in fig.data)
    assert right_bins == wrong_bins
    assert right_bins.start <= errors.min() and right_bins.end > errors.max()
    assert sorted(len(trace.x) for trace in fig.data) == [int(wrong.sum()),
                                                          int((~wrong).sum())]


def test_merge_adds_rows_and_predictions_written_elsewhere(tmp_path):
    from mic_core.experiments.store import append_results, read_predictions, read_results
    from mic_core.style_memory.experiments import merge_results
    row = {"protocol": "paper", "dataset": "mnist", "selection": None, "noise_in": None,
           "noise_out": None, "seed": 142, "method": "style_memory_full", "accuracy": 0.99,
           "n_test": 4, "predictions": "0071"}
    elsewhere, here = tmp_path / "device.csv", tmp_path / "results.csv"
    append_results([row], elsewhere)
    append_results([{**row, "seed": 42, "accuracy": 0.5, "predictions": "0000"}], here)
    assert merge_results(elsewhere, here) == 1
    table = read_results(here).sort_values("seed")
    assert table["seed"].tolist() == [42, 142] and table["accuracy"].tolist() == [0.5, 0.99]
    predictions = read_predictions(here).sort_values("seed")["predictions"].tolist()
    assert predictions == ["0000", "0071"]
