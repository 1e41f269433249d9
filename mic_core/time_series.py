"""Input checks shared by every classifier: data sets of time series of one fixed shape.

X is (n_ts, sz, d): n_ts series of sz steps with d values each. As in tslearn, a 2-D X
(n_ts, sz) holds univariate series (d = 1). Validation goes through scikit-learn's
``validate_data`` (finite values, no sparse input, ``n_features_in_`` = sz kept between fit
and predict), so errors read as everywhere in the ecosystem.
"""
from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data


def check_time_series(estimator, X, y="no_validation", reset: bool = False):
    """``X`` as float32 (n_ts, sz, d), checked; with ``y`` (in ``fit``), ``(X, y)`` with
    ``y`` a 1-D array of class labels (scikit-learn's messages for a missing, continuous or
    misshapen target).

    ``reset=True`` in ``fit`` records ``n_features_in_`` (the series length); later calls
    check that it matches.

    >>> from sklearn.base import BaseEstimator
    >>> check_time_series(BaseEstimator(), np.zeros((3, 5)), reset=True).shape
    (3, 5, 1)
    """
    kwargs = dict(allow_nd=True, dtype=np.float32, reset=reset)
    with_y = not (isinstance(y, str) and y == "no_validation")
    if with_y:
        X, y = validate_data(estimator, X, y, **kwargs)
        check_classification_targets(y)
    else:
        X = validate_data(estimator, X, **kwargs)
    if X.ndim == 2:
        X = X[:, :, None]
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n_ts, sz, d), or (n_ts, sz) for univariate "
                         f"series; got {X.shape}")
    X = np.ascontiguousarray(X)
    return (X, np.asarray(y)) if with_y else X
