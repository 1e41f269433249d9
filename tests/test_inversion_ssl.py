"""Network inversion for semi-supervised learning, against independent references: the
explicit Jacobian (torch.autograd.functional.jacobian), hand-computed losses, finite
differences, and every kind of bad input or file."""
import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.base import clone

from mic_core.inversion_ssl import (InversionSSLClassifier, InversionSSLFileError, PenCNN,
                                    SmallCNN, SSLConfig, reconstruct, ssl_loss, templates)
from mic_core.inversion_ssl.estimator import MAX_SAMPLES
from conftest import synthetic_sequences

torch.set_num_threads(1)  # on a shared, loaded machine two threads run ten times slower


def _tiny_net(seed=0, n_classes=3, n_points=8):
    torch.manual_seed(seed)
    return PenCNN(n_classes=n_classes, n_points=n_points).double()


def test_the_paper_sizes():
    assert sum(p.numel() for p in SmallCNN(10).parameters()) == 130_890  # ≈ 131 K
    assert SmallCNN(10)(torch.zeros(2, 28, 28)).shape == (2, 10)
    assert PenCNN(20)(torch.zeros(2, 100, 2)).shape == (2, 20)


def test_reconstruction_is_the_jacobian_transposed_times_the_logits():
    net = _tiny_net()
    x = torch.randn(3, 8, 2, dtype=torch.float64)
    logits, reconstruction = reconstruct(net, x)
    for i in range(3):
        J = torch.autograd.functional.jacobian(lambda v: net(v[None])[0], x[i])  # (C, 8, 2)
        expected = torch.einsum("c,cij->ij", net(x[i][None])[0].detach(), J)
        torch.testing.assert_close(reconstruction[i], expected)
        torch.testing.assert_close(logits[i], net(x[i][None])[0])


def test_templates_are_the_jacobian_rows_and_the_network_is_locally_affine():
    net = _tiny_net(1)
    x = torch.randn(2, 8, 2, dtype=torch.float64)
    A = templates(net, x)  # (2, C, 8, 2)
    for i in range(2):
        J = torch.autograd.functional.jacobian(lambda v: net(v[None])[0], x[i])
        torch.testing.assert_close(A[i], J)
        # piecewise linear: f(x + εd) = f(x) + A[x] εd while no ReLU changes sign
        d = torch.randn(8, 2, dtype=torch.float64) * 1e-7
        moved = net((x[i] + d)[None])[0] - net(x[i][None])[0]
        torch.testing.assert_close(moved, torch.einsum("cij,ij->c", J, d), rtol=1e-6,
                                   atol=1e-12)
        # f(x) = A[x] x + b[x] with the same A and b on a whole region: at x + εd too
        b = net(x[i][None])[0] - torch.einsum("cij,ij->c", J, x[i])
        J2 = torch.autograd.functional.jacobian(lambda v: net(v[None])[0], x[i] + d)
        torch.testing.assert_close(net((x[i] + d)[None])[0],
                                   torch.einsum("cij,ij->c", J2, x[i] + d) + b)


def test_the_loss_against_a_hand_computation():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [1.0, -1.0, 3.0]])
    y = torch.tensor([0, -1, 2])
    x = torch.tensor([[1.0, 2.0], [0.0, 1.0], [3.0, -1.0]])
    xhat = torch.tensor([[1.5, 2.0], [1.0, 1.0], [3.0, 1.0]])
    alpha, beta = 0.6, 0.3
    L = logits.numpy().astype(np.float64)
    p = np.exp(L) / np.exp(L).sum(1, keepdims=True)
    ce = [-math.log(p[0, 0]), None, -math.log(p[2, 2])]
    r = [(0.25 + 0) / 2, (1 + 0) / 2, (0 + 4) / 2]
    e = [-(p[i] * np.log(p[i])).sum() for i in range(3)]
    per = [alpha * ce[0] + (1 - alpha) * beta * r[0],
           (1 - alpha) * (beta * r[1] + (1 - beta) * e[1]),
           alpha * ce[2] + (1 - alpha) * beta * r[2]]
    loss, terms = ssl_loss(logits, y, x, xhat, alpha, beta)
    assert float(loss) == pytest.approx(np.mean(per), rel=1e-6)
    assert terms.cross_entropy == pytest.approx((ce[0] + ce[2]) / 2, rel=1e-6)
    assert terms.reconstruction == pytest.approx(np.mean(r), rel=1e-6)
    assert terms.entropy == pytest.approx(e[1], rel=1e-6)
    # supervised only: plain cross entropy over the labelled samples, averaged over all
    loss, _ = ssl_loss(logits, y, x, None, 1.0, 0.0)
    assert float(loss) == pytest.approx((ce[0] + ce[2]) / 3, rel=1e-6)
    with pytest.raises(ValueError, match="reconstruction is needed"):
        ssl_loss(logits, y, x, None, 0.5, 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ssl_loss(logits, y, x, xhat, 1.5, 0.5)


def test_training_gradients_match_finite_differences():
    """The double backward: d loss / d weights through x̂ = (∂f/∂x)ᵀ f(x)."""
    net = _tiny_net(2)
    x = torch.randn(4, 8, 2, dtype=torch.float64)
    y = torch.tensor([0, 2, -1, -1])

    def loss_value():
        logits, rec = reconstruct(net, x, create_graph=True)
        return ssl_loss(logits, y, x, rec, 0.4, 0.5)[0]

    net.zero_grad()
    loss_value().backward()
    checked = 0
    rng = np.random.RandomState(0)
    for name, param in net.named_parameters():
        for _ in range(2):
            index = tuple(rng.randint(s) for s in param.shape)
            analytic = float(param.grad[index])
            eps = 1e-6
            with torch.no_grad():
                param[index] += eps
            up = float(loss_value().detach())
            with torch.no_grad():
                param[index] -= 2 * eps
            down = float(loss_value().detach())
            with torch.no_grad():
                param[index] += eps
            assert analytic == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-7), name
            checked += 1
    assert checked == 2 * len(list(net.parameters()))


def test_the_reconstruction_term_changes_the_gradient_through_the_jacobian():
    """Without create_graph the reconstruction would carry no gradient to the weights."""
    net = _tiny_net(3)
    x = torch.randn(2, 8, 2, dtype=torch.float64)
    logits, rec = reconstruct(net, x, create_graph=True)
    (g,) = torch.autograd.grad(((rec - x) ** 2).mean(), net.features[0].weight)
    assert float(g.abs().sum()) > 0


def _fit(**params):
    X, y = synthetic_sequences(n_per_class=6, n_steps=16, seed=0)
    Xu, _ = synthetic_sequences(n_per_class=6, n_steps=16, seed=3)
    model = InversionSSLClassifier(steps=10, learning_rate=0.01, batch_unlabelled=8,
                                   eval_every=5, **params)
    return model.fit(X, y, Xu, X[:6], y[:6]), X, y


@pytest.fixture(scope="module")
def fitted():
    return _fit(alpha=0.5, beta=0.5)


def test_the_estimator_learns_and_reports_progress():
    seen = []
    X, y = synthetic_sequences(n_per_class=6, n_steps=16, seed=0)
    Xu, _ = synthetic_sequences(n_per_class=6, n_steps=16, seed=3)
    Xt, yt = synthetic_sequences(n_per_class=6, n_steps=16, seed=4)
    model = InversionSSLClassifier(steps=25, learning_rate=0.01, batch_unlabelled=8,
                                   eval_every=5, alpha=0.7, beta=0.5)
    model.fit(X, y, Xu, Xt, yt, progress=seen.append)
    assert model.score(Xt, yt) >= 0.9
    assert [p.step for p in seen] == list(range(1, 26))
    assert seen[-1].fraction == 1.0 and seen[-1].seconds_left == 0.0
    assert seen[9].seconds_left > 0
    assert model.curve_.shape == (5, 6) and np.all(np.isfinite(model.curve_[:, 1:]))
    proba = model.predict_proba(Xt)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    assert model.reconstruct(Xt[:2]).shape == (2, 16, 2)
    assert model.templates(Xt[:2]).shape == (2, 3, 16, 2)
    # a fresh clone with the same seed trains to the same weights
    again = clone(model).fit(X, y, Xu, Xt, yt)
    np.testing.assert_array_equal(again.decision_function(Xt), model.decision_function(Xt))


def test_supervised_only_ignores_the_unlabelled_samples():
    model, X, y = _fit(alpha=1.0, beta=0.0)
    assert np.all(np.isnan(model.curve_[:, 3])) and np.all(np.isnan(model.curve_[:, 4]))


def test_save_and_load(tmp_path, fitted):
    model, X, y = fitted
    path = model.save(tmp_path / "net.npz", {"config": {"a": 1}})
    loaded = InversionSSLClassifier.load(path, {"config": {"a": 1}})
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.reconstruct(X[:3]), model.reconstruct(X[:3]))
    assert loaded.get_params() == model.get_params()
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]
    with pytest.raises(InversionSSLFileError, match="another config"):
        InversionSSLClassifier.load(path, {"config": {"a": 2}})


def test_foreign_and_corrupt_files_are_refused(tmp_path, fitted):
    model, X, y = fitted
    good = model.save(tmp_path / "net.npz").read_bytes()
    cases = {"truncated.npz": good[: len(good) // 2], "text.npz": b"hello",
             "empty.npz": b""}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(InversionSSLFileError, match="not a readable"):
            InversionSSLClassifier.load(tmp_path / name)
    np.savez(tmp_path / "foreign.npz", header=np.array(json.dumps({"kind": "other"})))
    with pytest.raises(InversionSSLFileError, match="not an inversion network"):
        InversionSSLClassifier.load(tmp_path / "foreign.npz")
    np.savez(tmp_path / "pickled.npz", header=np.array([{"kind": 1}], dtype=object))
    with pytest.raises(InversionSSLFileError):
        InversionSSLClassifier.load(tmp_path / "pickled.npz")
    with np.load(tmp_path / "net.npz") as f:  # right header, wrong weights
        arrays = {k: f[k] for k in f.files}
    first = next(k for k in arrays if k.startswith("w:"))
    arrays[first] = np.zeros((1, 1), dtype=np.float32)
    np.savez(tmp_path / "shapes.npz", **arrays)
    with pytest.raises(InversionSSLFileError, match="inconsistent"):
        InversionSSLClassifier.load(tmp_path / "shapes.npz")


def test_bad_input_gets_a_specific_message(fitted):
    model, X, y = fitted
    with pytest.raises(ValueError, match=r"shape \(n_samples, a, b\)"):
        model.predict(X[0])
    with pytest.raises(ValueError, match="network takes"):
        model.predict(np.zeros((1, 30, 2)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.predict(np.full((1, 16, 2), np.nan))
    with pytest.raises(ValueError, match="no samples"):
        model.predict(np.zeros((0, 16, 2)))
    with pytest.raises(ValueError, match="array of numbers"):
        model.predict([[["a", "b"]]])
    with pytest.raises(ValueError, match="at most"):
        model.templates(np.zeros((1001, 16, 2)))
    big = np.broadcast_to(np.float32(0), (MAX_SAMPLES + 1, 16, 2))
    with pytest.raises(ValueError, match="per call"):
        model.predict(big)
    with pytest.raises(ValueError, match="two classes"):
        InversionSSLClassifier(steps=1).fit(X[:2], [0, 0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        InversionSSLClassifier(alpha=2.0).fit(X, y)
    with pytest.raises(ValueError, match="shape"):
        InversionSSLClassifier(steps=1).fit(X, y[:-1])
    with pytest.raises(ValueError, match="X_unlabelled samples have shape"):
        InversionSSLClassifier(steps=1).fit(X, y, np.zeros((3, 5, 2)))
    with pytest.raises(ValueError, match="types are four per class"):
        SSLConfig(labels_per_class=5, selection="clustered")
    with pytest.raises(ValueError, match="unknown selection"):
        SSLConfig(selection="best")


# --- the protocol: which samples are labelled, unlabelled, validation ----------------------

@pytest.fixture(scope="module")
def letters():
    from mic_core.data import load_dataset
    return load_dataset("characters")


def test_letters_are_labelled_by_mics_types_and_the_rest_is_unlabelled(letters, tmp_path):
    from mic_core.inversion_ssl import ssl_data
    from mic_core.type_selection import select_types
    config = SSLConfig(dataset="characters", selection="random", seed=142)
    data = ssl_data(letters, config, cache_dir=tmp_path)
    # the experts' "random" types: same selection function, same seed
    types = select_types(letters.X_train, letters.y_train, 20, "random", 142)
    np.testing.assert_array_equal(data.X_labelled, types.reshape(80, 100, 2))
    np.testing.assert_array_equal(data.y_labelled, np.repeat(np.arange(20), 4))
    # unlabelled: the pool without the 80 types, plus the 1429 unlabelled trajectories
    assert len(data.X_unlabelled) == len(letters.X_train) - 80 + 1429
    pool = {row.tobytes() for row in data.X_unlabelled}
    assert not any(t.tobytes() in pool for t in data.X_labelled)
    assert not any(x.tobytes() in pool for x in letters.X_test)  # never the test set
    # while choosing, the validation third is left out of the unlabelled data too
    choosing = ssl_data(letters, config, choosing=True, cache_dir=tmp_path)
    assert len(choosing.X_unlabelled) == len(data.X_unlabelled) - len(data.y_validation)
    assert 200 < len(data.y_validation) < 260 and len(np.unique(data.y_validation)) == 20
    assert not any(v.tobytes() in {r.tobytes() for r in choosing.X_unlabelled}
                   for v in choosing.X_validation)


def test_drawn_labels_are_balanced_seeded_and_outside_validation(letters):
    from mic_core.inversion_ssl import ssl_data
    config = SSLConfig(dataset="characters", selection="drawn", labels_per_class=2, seed=7)
    a, b = ssl_data(letters, config), ssl_data(letters, config)
    np.testing.assert_array_equal(a.X_labelled, b.X_labelled)
    assert np.bincount(a.y_labelled).tolist() == [2] * 20
    validation = {v.tobytes() for v in a.X_validation}
    assert not any(x.tobytes() in validation for x in a.X_labelled)
    other = ssl_data(letters, SSLConfig(dataset="characters", selection="drawn",
                                        labels_per_class=2, seed=8))
    assert not np.array_equal(other.X_labelled, a.X_labelled)


# --- longer training: R as eq. 8's squared norm, the step chosen on validation -------------

def test_the_squared_norm_reconstruction_against_a_hand_computation():
    logits = torch.tensor([[2.0, 0.0], [0.5, -0.5]])
    y = torch.tensor([1, -1])
    x = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]])
    xhat = torch.tensor([[1.5, 2.0, 1.0], [2.0, 1.0, -1.0]])
    alpha, beta = 0.7, 0.2
    p = np.exp(logits.numpy().astype(np.float64))
    p /= p.sum(1, keepdims=True)
    r = [0.25 + 0 + 1, 4 + 0 + 0]  # ‖x̂ − x‖², not divided by the 3 elements
    e1 = -(p[1] * np.log(p[1])).sum()
    per = [alpha * -math.log(p[0, 1]) + (1 - alpha) * beta * r[0],
           (1 - alpha) * (beta * r[1] + (1 - beta) * e1)]
    loss, terms = ssl_loss(logits, y, x, xhat, alpha, beta, reduction="sum")
    assert float(loss) == pytest.approx(np.mean(per), rel=1e-6)
    assert terms.reconstruction == pytest.approx(np.mean(r), rel=1e-6)
    with pytest.raises(ValueError, match="unknown reduction"):
        ssl_loss(logits, y, x, xhat, alpha, beta, reduction="max")
    with pytest.raises(ValueError, match="unknown reduction"):
        SSLConfig(reduction="max")


def test_keep_best_ends_at_the_best_validation_step():
    X, y = synthetic_sequences(n_per_class=4, n_steps=16, seed=0)
    Xu, _ = synthetic_sequences(n_per_class=6, n_steps=16, seed=3)
    Xv, yv = synthetic_sequences(n_per_class=3, n_steps=16, seed=5)
    params = dict(steps=30, learning_rate=0.05, batch_unlabelled=8, eval_every=3, alpha=0.6,
                  beta=0.5, reduction="sum", lr_schedule="cosine")
    model = InversionSSLClassifier(keep_best=True, **params).fit(X, y, Xu, Xv, yv)
    last = InversionSSLClassifier(**params).fit(X, y, Xu, Xv, yv)
    accuracies = model.curve_[:, -1]
    np.testing.assert_array_equal(accuracies, last.curve_[:, -1])  # same training
    best = int(np.argmax(accuracies))  # the first of the best points
    assert model.best_step_ == model.curve_[best, 0]
    # the kept weights give the curve's best validation accuracy, measured afresh here
    assert model.score(Xv, yv) == pytest.approx(accuracies[best])
    assert last.score(Xv, yv) == pytest.approx(accuracies[-1])
    if model.best_step_ != 30:
        assert not np.array_equal(model.decision_function(Xv), last.decision_function(Xv))
    with pytest.raises(ValueError, match="unknown lr_schedule"):
        InversionSSLClassifier(lr_schedule="step").fit(X, y)


def test_files_made_before_the_later_settings_keep_their_names():
    """The fields added for longer training are left out of a file's key at their
    defaults: every shipped network is still found under its configuration."""
    from mic_core.data import load_dataset
    from mic_core.inversion_ssl.protocol import (SHIPPED, config_key, default_config,
                                                 file_header, find_network)
    assert "keep_best" not in config_key(SSLConfig())
    assert config_key(SSLConfig(keep_best=True))["keep_best"] is True
    for name in ("characters", "mnist"):
        data = load_dataset(name)
        for method in ("inversion_ssl", "supervised_small"):
            config = default_config(name, method)
            path = find_network(data, config)
            assert path is not None and path.parent == SHIPPED, (name, method)
            InversionSSLClassifier.load(path, file_header(data, config))


def test_keep_best_leaves_the_validation_images_out_of_the_unlabelled_data():
    from mic_core.data import load_dataset
    from mic_core.inversion_ssl import ssl_data
    digits = load_dataset("mnist")
    config = SSLConfig(dataset="mnist", selection="drawn", labels_per_class=5)
    plain, kept = ssl_data(digits, config), ssl_data(digits, replace(config, keep_best=True))
    assert len(plain.X_unlabelled) == 60_000 - 50
    assert len(kept.X_unlabelled) == 60_000 - 50 - 2000
    np.testing.assert_array_equal(kept.X_validation, plain.X_validation)
    validation = {v.tobytes() for v in kept.X_validation}
    assert not any(u.tobytes() in validation for u in kept.X_unlabelled)
