"""Inputs out of the training dtype's range get errors that name them and the fix.

X beyond the range of the training dtype gets the same error from the
estimators, ``pretrain_fit`` and the standalone RBMs (one shared check);
sample weights that underflow the dtype are called so; a diverging RBM
pretraining is named as the cause of a loss that overflows at initialization.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet.pretraining import BernoulliRBM, GaussianBernoulliRBM

RANGE_ERROR = "X has values beyond the float32 range"


@pytest.mark.parametrize("RBM", [GaussianBernoulliRBM, BernoulliRBM])
@pytest.mark.parametrize("sparse", [False, True])
def test_rbm_fit_and_partial_fit_refuse_x_beyond_the_training_dtype(digits, RBM, sparse):
    X = digits[0][:50] * 1e300  # float64, finite, beyond float32
    if sparse:
        X = sp.csr_matrix(X)
    for method in ("fit", "partial_fit"):
        rbm = RBM(n_components=4, n_iter=2)
        with pytest.raises(ValueError, match=RANGE_ERROR):
            getattr(rbm, method)(X)
        assert not hasattr(rbm, "components_")
    # the estimators' pretrain_fit says the same
    with pytest.raises(ValueError, match=RANGE_ERROR):
        DeepMLPClassifier(depth=1, width=4, pretrain="rbm").pretrain_fit(X)


def test_rbm_refuses_x_whose_statistics_overflow_float64():
    X = np.random.default_rng(0).random((20, 3)) * 1e300
    with pytest.raises(ValueError, match="mean or variance of a feature overflows"):
        GaussianBernoulliRBM(n_components=2, dtype="float64").fit(X)


def test_rbm_partial_fit_continues_to_check(digits):
    X = digits[0][:50]
    rbm = GaussianBernoulliRBM(n_components=4).partial_fit(X)
    before = rbm.components_.copy()
    with pytest.raises(ValueError, match=RANGE_ERROR):
        rbm.partial_fit(X * 1e300)
    np.testing.assert_array_equal(rbm.components_, before)


@pytest.mark.parametrize("Estimator", [DeepMLPClassifier, DeepMLPRegressor])
def test_sample_weight_that_underflows_float32_is_named(digits, Estimator):
    X, _, y, _ = digits
    X, y = X[:60], y[:60]
    w = np.full(len(X), 1e-50)
    with pytest.raises(ValueError, match="sample_weight underflows the training dtype "
                                         "float32.*Rescale sample_weight"):
        Estimator(depth=1, width=4, max_iter=1).fit(X, y, sample_weight=w)
    # float64 training represents them: only the ratios matter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Estimator(depth=1, width=4, max_iter=1, dtype="float64").fit(X, y, sample_weight=w)
    # all-zero weights keep their own message
    with pytest.raises(ValueError, match="at least one non-zero"):
        Estimator(depth=1, width=4).fit(X, y, sample_weight=np.zeros(len(X)))


def test_diverging_pretraining_is_named_when_the_loss_overflows(digits):
    X, _, y, _ = digits
    clf = DeepMLPClassifier(depth=3, width=32, activation="sigmoid", pretrain="rbm",
                            pretrain_learning_rate=1e6, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="pretraining.*pretrain_learning_rate") as info:
            clf.fit(X[:500], y[:500])
    assert "init=" not in str(info.value)
