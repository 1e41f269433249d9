"""scikit-learn's estimator checks on every classifier, with time series of fixed shape.

Each classifier takes X of shape (n_ts, sz, d) and, as in tslearn, a 2-D X (n_ts, sz) as
univariate series (d = 1), so most of scikit-learn's checks (which build 2-D data) apply
unchanged: the steps of a series play the part of the features. Training budgets are tiny
(a few steps, a few cells) so that the whole file runs in well under a minute or two. Every
check expected to fail is listed below with its reason.
"""
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from mic_core.baselines import ForwardLSTMClassifier, NearestNeighbourDTW, NearestNeighbourMSE
from mic_core.classify import MICClassifier
from mic_core.inversion import InversionConfig
from mic_core.training import TrainConfig

# k-means types (Euclidean: fast) stand for their class better than random ones, so that
# 300 training steps of 4-cell experts reach the checks' accuracy bar (0.83) on blobs
TINY_MIC = MICClassifier(train_config=TrainConfig(selection="clustered",
                                                  cluster_metric="euclidean", seed=0,
                                                  noise_in=0.0, hidden_size=4, steps=300),
                         inversion_config=InversionConfig(iterations=20))
ESTIMATORS = [TINY_MIC, NearestNeighbourMSE(), NearestNeighbourDTW(),
              ForwardLSTMClassifier(hidden_size=8, steps=60, learning_rate=0.05)]

EXPECTED_FAILURES = {
    "MICClassifier": {
        "check_fit2d_1feature": "MIC needs at least four samples of every class (one per "
                                "type); the check's ten samples leave a class with three, and "
                                "the message says so instead of naming the one feature",
        "check_methods_sample_order_invariance":
            "the float32 inversion kernel runs targets in SIMD blocks, so a target's errors "
            "depend on its block mates in the last bits (measured: 2e-6 relative on "
            "predict_proba; the check demands 1e-7); predictions are order invariant "
            "(tests/test_classify.py::test_batches_do_not_change_the_record)",
    },
    "NearestNeighbourMSE": {},
    "NearestNeighbourDTW": {},
    "ForwardLSTMClassifier": {},
}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny LSTMs: threads only add synchronisation (minutes on a loaded 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _expected_failures(estimator) -> dict:
    return EXPECTED_FAILURES[type(estimator).__name__]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
