"""The experiment runner: the grid, one job's rows against direct computation, the results
table (atomic, resumable, keyed by protocol), local processes and Ray giving the same rows."""
import json

import numpy as np
import pandas as pd
import pytest

from mic_core.baselines import NearestNeighbourMSE
from mic_core.classify import FREE_ENDS
from mic_core.data import DataConfig, load_dataset
from mic_core.evaluation import evaluate, seeded_subset
from mic_core.experiments import (COLUMNS, METHODS, Protocol, append_results,
                                  decode_predictions, grid, read_predictions, read_results,
                                  run_grid)
from mic_core.inversion import InversionConfig
from mic_core.persistence import load_or_select_types, load_or_train
from mic_core.training import default_train_config

TINY = Protocol(train_steps=60, limit=24, forward_lstm_steps=5, forward_lstm_full_steps=3)
ONE_CELL = dict(datasets=["characters"], selections=["random"], seeds=[42], noise_in=[0.0],
                noise_out=["0"])


def test_the_full_grid():
    jobs = grid()
    mic = [j for j in jobs if j.kind == "mic"]
    assert len(mic) == 2 * 2 * 3 * 2 * 5  # datasets x selections x noise in x out x seeds
    assert len([j for j in jobs if j.kind == "types"]) == 2 * 2 * 5
    assert len([j for j in jobs if j.kind == "full"]) == 2 * 5
    assert {j.noise_out for j in mic} == {0.0, 0.1}
    assert len(set(jobs)) == len(jobs)
    assert [j.kind for j in grid(methods=["nn_dtw"])] == ["types"] * 20
    assert {j.methods for j in mic} == {("mic", "mic_0", "mic_free_ends"), ("mic", "mic_0")}
    assert all("mic_free_ends" not in j.methods for j in mic if j.dataset == "mnist")
    with pytest.raises(ValueError, match="unknown methods"):
        grid(methods=["svm"])
    with pytest.raises(ValueError, match="unknown selection"):
        grid(selections=["best"])


def test_protocol_names_keep_results_apart():
    assert Protocol().name == "paper"
    assert TINY.name.startswith("custom-") and TINY.name != Protocol(limit=25).name
    assert Protocol().test_limit("mnist") == 2000 and Protocol().test_limit("characters") is None


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("experiments")
    results, cache = folder / "experiments.csv", folder / "cache"
    seen = []
    ran = run_grid(grid(**ONE_CELL), TINY, results=results, cache_dir=cache, workers=1,
                   progress=lambda done, total, what: seen.append((done, total)))
    return results, cache, ran, seen


def test_one_cell_gives_a_row_per_method(tiny_run):
    results, _, ran, seen = tiny_run
    assert ran == 3 and seen[-1] == (3, 3)
    table = pd.read_csv(results)
    assert list(table.columns) == list(COLUMNS)
    assert sorted(table["method"]) == sorted(METHODS)
    assert (table["n_test"] == 24).all() and (table["protocol"] == TINY.name).all()
    assert table["accuracy"].between(0, 1).all()
    mic = table.set_index("method").loc["mic"]
    assert mic["noise_in"] == 0 and mic["noise_out"] == 0 and mic["selection"] == "random"
    baselines = table[table["method"].isin(["nn_mse", "nn_dtw", "forward_lstm"])]
    assert baselines["noise_in"].isna().all()  # they never see the training noise
    full = table.set_index("method").loc["forward_lstm_full"]
    assert pd.isna(full["selection"])
    per_class = json.loads(mic["per_class_accuracy"])
    assert len(per_class) == 20 and len(json.loads(mic["error_matrix"])) == 20
    assert np.sum(json.loads(mic["confusion"])) == 24


def test_rows_match_direct_computation(tiny_run):
    results, cache, _, _ = tiny_run
    table = read_results(results).set_index("method")
    data = load_dataset(DataConfig("characters"))
    chosen = seeded_subset(len(data.X_test), 24, seed=0)
    X, y = data.X_test[chosen], data.y_test[chosen]
    train = default_train_config("characters", selection="random", seed=42, noise_in=0.0,
                                 noise_out=0.0, steps=60)
    experts = load_or_train(data, train, cache)
    for method, iterations in (("mic", 50), ("mic_0", 0)):
        direct = evaluate(experts, X, y, InversionConfig(iterations=iterations),
                          data.standardiser, FREE_ENDS)
        plain = direct.reconstruction_errors
        assert table.loc[method, "accuracy"] == pytest.approx(np.mean(plain.argmin(1) == y))
        assert table.loc[method, "mean_error"] == pytest.approx(plain.min(axis=1).mean(),
                                                                rel=1e-5)
        if method == "mic":  # the app's rule, from the same inversion
            assert table.loc["mic_free_ends", "accuracy"] == pytest.approx(direct.accuracy)
        kept = read_predictions(results).set_index("method")
        assert decode_predictions(kept.loc[method, "predictions"]).tolist() == \
            plain.argmin(1).tolist()
    types = load_or_select_types(data, train, cache)
    nn = NearestNeighbourMSE().fit(types.reshape(-1, 100, 2), np.repeat(np.arange(20), 4))
    assert table.loc["nn_mse", "accuracy"] == pytest.approx(nn.score(X, y))
    nn_kept = decode_predictions(read_predictions(results).set_index("method")
                                 .loc["nn_mse", "predictions"])
    np.testing.assert_array_equal(nn_kept, nn.predict(X))


def test_a_rerun_skips_what_is_done_and_redoes_what_is_missing(tiny_run, tmp_path):
    results, cache, _, _ = tiny_run
    copy = tmp_path / "experiments.csv"
    table = pd.read_csv(results)
    table[table["method"] != "nn_dtw"].to_csv(copy, index=False)
    assert run_grid(grid(**ONE_CELL), TINY, results=copy, cache_dir=cache, workers=1) == 1
    again = pd.read_csv(copy)
    assert sorted(again["method"]) == sorted(METHODS)  # nn_dtw back, nothing doubled
    assert run_grid(grid(**ONE_CELL), TINY, results=copy, cache_dir=cache, workers=1) == 0
    # another protocol is another set of rows
    other = Protocol(train_steps=60, limit=12, forward_lstm_steps=5, forward_lstm_full_steps=3)
    assert run_grid(grid(**ONE_CELL, methods=["nn_mse"]), other, methods=["nn_mse"],
                    results=copy, cache_dir=cache, workers=1) == 1
    assert len(pd.read_csv(copy)) == len(METHODS) + 1


def test_append_replaces_a_row_with_the_same_key(tmp_path):
    path = tmp_path / "r.csv"
    row = dict(protocol="p", dataset="characters", selection="random", noise_in=0.0,
               noise_out=0.0, seed=42, method="mic", accuracy=0.5)
    append_results([row], path)
    append_results([{**row, "accuracy": 0.75}, {**row, "seed": 142}], path)
    table = read_results(path)
    assert len(table) == 2 and set(table["accuracy"]) == {0.75, 0.5}
    assert not list(tmp_path.glob("*.tmp"))


def test_an_unreadable_table_is_named(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="lacks the columns"):
        read_results(path)
    with pytest.raises(ValueError, match="unknown executor"):
        run_grid(grid(**ONE_CELL), TINY, results=tmp_path / "new.csv", executor="slurm")


def _accuracies(path):
    table = pd.read_csv(path)
    return dict(zip(table["method"], table["accuracy"]))


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_executors_give_the_same_rows(tiny_run, tmp_path, executor):
    if executor == "ray":
        pytest.importorskip("ray")
    results, cache, _, _ = tiny_run
    path = tmp_path / "experiments.csv"
    jobs = grid(**{**ONE_CELL, "seeds": [42]})
    assert run_grid(jobs, TINY, results=path, cache_dir=tmp_path / "cache", workers=2,
                    executor=executor) == 3
    assert _accuracies(path) == pytest.approx(_accuracies(results))
