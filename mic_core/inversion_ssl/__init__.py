"""Network inversion for semi-supervised learning (issue 13): a classifier reconstructs its
input from its own gradient, x̂ = (∂f/∂x)ᵀ f(x), and learns from unlabelled samples through
that reconstruction. See ``model`` (networks, reconstruction, loss), ``estimator`` (the
scikit-learn classifier and its files), ``protocol`` (labelled/unlabelled/validation samples,
configurations, cache) and ``experiments`` (the validation search and the results rows)."""
from mic_core.inversion_ssl.estimator import (CURVE_COLUMNS, InversionSSLClassifier,
                                              InversionSSLFileError, SSLProgress)
from mic_core.inversion_ssl.model import (PenCNN, SmallCNN, build_network, reconstruct,
                                          ssl_loss, templates)
from mic_core.inversion_ssl.protocol import (SSLConfig, SSLData, default_config, fit_small_run,
                                             load_or_fit, ssl_data)

__all__ = ["CURVE_COLUMNS", "InversionSSLClassifier", "InversionSSLFileError", "SSLProgress",
           "PenCNN", "SmallCNN", "build_network", "reconstruct", "ssl_loss", "templates",
           "SSLConfig", "SSLData", "default_config", "fit_small_run", "load_or_fit", "ssl_data"]
