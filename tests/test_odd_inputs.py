"""Odd inputs found by an outside check: each once failed inside numpy or
sk_deepnet's own bookkeeping, or trained silently on something else than
what was given; each now works or gets an error that names the problem."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sk_deepnet import DeepMLPRegressor
from sk_deepnet.pretraining import BernoulliRBM

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 3))
Y = X @ np.array([1.0, -2.0, 0.5])
SMALL = dict(depth=1, width=4, max_iter=2, random_state=0)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_refuses_a_sparse_y_by_name(method, n_outputs):
    # It failed with "'DeepMLPRegressor' object has no attribute 'classes_'".
    y = sp.csr_matrix(np.tile(Y[:, None], (1, n_outputs)))
    with pytest.raises(TypeError, match=r"dense y.*sparse.*toarray\(\)"):
        getattr(DeepMLPRegressor(**SMALL), method)(X, y)


@pytest.mark.parametrize("sparse", [False, True])
def test_x_that_underflows_the_training_dtype_is_named(sparse):
    # In float32 every value of X * 1e-300 is 0: the fit trained on zeros and
    # predicted a constant, without a word.
    tiny = X * 1e-300
    largest = f"{np.abs(tiny).max():.3g}"
    with pytest.raises(ValueError, match=f"X underflows .*float32.*{largest}.*MaxAbsScaler"):
        DeepMLPRegressor(**SMALL).fit(sp.csr_matrix(tiny) if sparse else tiny, Y)
    with pytest.raises(ValueError, match="X underflows"):
        BernoulliRBM(n_components=2, n_iter=1).fit(tiny)
    DeepMLPRegressor(**SMALL, dtype="float64").fit(tiny, Y)  # representable there


def test_y_that_underflows_the_training_dtype_is_named():
    with pytest.raises(ValueError, match=r"y underflows .*float32"):
        DeepMLPRegressor(**SMALL).fit(X, Y * 1e-300)
    with pytest.raises(ValueError, match="y underflows"):
        DeepMLPRegressor(**SMALL).partial_fit(X, Y).partial_fit(X, Y * 1e-300)


def test_zeros_and_a_few_tiny_values_are_not_refused():
    # Only data whose every nonzero value underflows is refused: zeros are
    # exact, and a few subnormals among normal values change little.
    DeepMLPRegressor(**SMALL).fit(np.zeros_like(X), Y)
    X_some = X.copy()
    X_some[0, 0] = 1e-300
    DeepMLPRegressor(**SMALL).fit(X_some, Y)


FLOAT64_FAILURES = {
    # case: (estimator parameters, X) making a float64 fit fail
    "loss_overflows_at_init": (dict(), X * 1e300),
    "running_statistics_overflow": (dict(normalization="batch"), X * 1e160),
    "epsilon_below_float64": (dict(epsilon=1e-320), X),
    "pretrained_weights_overflow": (
        dict(pretrain="rbm", pretrain_epochs=2, pretrain_learning_rate=1e5), X * 1e100
    ),
}


@pytest.mark.parametrize("case", sorted(FLOAT64_FAILURES))
def test_errors_of_a_float64_fit_do_not_suggest_float64(case):
    # Each suggested "dtype='float64'" to a fit that already had it.
    params, X_case = FLOAT64_FAILURES[case]
    reg = DeepMLPRegressor(**{**SMALL, "depth": 2}, dtype="float64", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the divergence of the RBM
        with pytest.raises(ValueError) as raised:
            reg.fit(X_case, Y)
    assert "float64" in str(raised.value)  # the precision that overflowed
    assert "dtype='float64'" not in str(raised.value)


@pytest.mark.parametrize("params, scale", [(dict(), 1e30), (dict(normalization="batch"), 1e20)])
def test_errors_of_a_float32_fit_still_suggest_float64(params, scale):
    reg = DeepMLPRegressor(**{**SMALL, "depth": 2}, **params)
    with pytest.raises(ValueError, match="overflow.*float32.*dtype='float64'"):
        reg.fit(X * scale, Y)


def test_pretrain_fit_names_x_and_the_estimator_in_its_input_errors():
    # It said "Input contains NaN." where fit says "Input X contains NaN.".
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="(?s)Input X contains NaN.*DeepMLPRegressor"):
        DeepMLPRegressor(**SMALL).pretrain_fit(X_nan)
    with pytest.raises(ValueError, match="DeepMLPRegressor"):
        DeepMLPRegressor(**SMALL).pretrain_fit(X[:0])


@pytest.mark.parametrize("warm_start", [False, True])
def test_lbfgs_refuses_batch_normalization_of_a_single_sample(warm_start):
    # The stochastic optimizers refuse it; L-BFGS trained with a variance of 0
    # and predicted -27820 for the next rows of X (targets of about 1).
    reg = DeepMLPRegressor(
        **SMALL, optimizer="lbfgs", normalization="batch", warm_start=warm_start
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few iterations only
        reg.fit(X, Y)
    before = reg.predict(X)
    with pytest.raises(ValueError, match=r"normalization='batch'.*lbfgs.*1 sample"):
        reg.fit(X[:1], Y[:1])
    np.testing.assert_array_equal(reg.predict(X), before)  # the previous model
    with pytest.raises(ValueError, match="normalization='batch'"):
        DeepMLPRegressor(**SMALL, optimizer="lbfgs", normalization="batch").fit(X[:1], Y[:1])


def test_lbfgs_refuses_batch_normalization_of_a_single_positive_weight():
    # Its error came from the mini-batch check and told to use a larger
    # batch_size or shuffle=True, which L-BFGS (one batch of all of X) ignores.
    reg = DeepMLPRegressor(**SMALL, optimizer="lbfgs", normalization="batch")
    weights = np.zeros(len(X))
    weights[3] = 2.0
    with pytest.raises(ValueError, match=r"lbfgs.*1 sample with a positive sample_weight") as info:
        reg.fit(X, Y, sample_weight=weights)
    assert "batch_size" not in str(info.value) and "shuffle" not in str(info.value)
    weights[5] = 1.0  # two are enough, as for the stochastic optimizers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X, Y, sample_weight=weights)
