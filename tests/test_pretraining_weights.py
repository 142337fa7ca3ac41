"""Sample weights in the RBMs and in RBM pretraining (``pretrain="rbm"``).

Zero weights are exactly the subset (the rows are dropped before anything
else, random draws included); equal weights are exactly no weights; integer
weights equal repeated rows exactly once the Gibbs sampling is replaced by its
mean field (in stochastic CD they agree in expectation only: each copy of a
row draws its own samples).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet._rbm import _BaseRBM, column_stats, make_generator
from sk_deepnet.pretraining import BernoulliRBM, GaussianBernoulliRBM, pretrain_stack

RNG = np.random.default_rng(0)
X_UNIT = RNG.random((40, 6))
X_REAL = RNG.normal(size=(40, 6))
WEIGHTS = RNG.integers(0, 4, size=40).astype(float)  # zeros included
WEIGHTS[:2] = [0.0, 3.0]
RBMS = [(BernoulliRBM, X_UNIT), (GaussianBernoulliRBM, X_REAL)]


def _rbm(cls, **params):
    settings = dict(n_components=5, batch_size=16, n_iter=4, dtype="float64", random_state=0)
    return cls(**{**settings, **params})


def _fitted(rbm):
    return (rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_,
            rbm.h_samples_, np.array(rbm.reconstruction_errors_))


@pytest.fixture
def mean_field(monkeypatch):
    """Replace the hidden units' Gibbs samples by their mean field: CD becomes deterministic."""

    def sample_hidden(self, z, out, rng):
        self._hidden_activation(z, out=z)
        np.copyto(out, z)
        return out

    monkeypatch.setattr(_BaseRBM, "_sample_hidden", sample_hidden)


# ------------------------------------------------------------- the RBMs
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("persistent", [False, True], ids=["cd", "pcd"])
@pytest.mark.parametrize("cls, X", RBMS, ids=["bernoulli", "gaussian"])
def test_zero_weights_are_exactly_the_subset(cls, X, persistent, sparse):
    weights = (WEIGHTS > 0).astype(float)
    data = sp.csr_matrix(X) if sparse else X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the data are not standardized
        weighted = _rbm(cls, persistent=persistent).fit(data, sample_weight=weights)
        subset = _rbm(cls, persistent=persistent).fit(data[weights > 0])
        weighted.partial_fit(data, sample_weight=weights)
        subset.partial_fit(data[weights > 0])
    for mine, theirs in zip(_fitted(weighted), _fitted(subset)):
        assert_array_equal(mine, theirs)
    assert_array_equal(weighted.gibbs(X[:3]), subset.gibbs(X[:3]))  # the same generator state


@pytest.mark.parametrize("cls, X", RBMS, ids=["bernoulli", "gaussian"])
def test_equal_weights_are_exactly_no_weights(cls, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        weighted = _rbm(cls).fit(X, sample_weight=np.full(len(X), 2.5))
        plain = _rbm(cls).fit(X)
    for mine, theirs in zip(_fitted(weighted), _fitted(plain)):
        assert_array_equal(mine, theirs)


@pytest.mark.parametrize("hidden_units", ["sigmoid", "rectified"])
@pytest.mark.parametrize("cls, X", RBMS, ids=["bernoulli", "gaussian"])
def test_integer_weights_equal_repeated_rows_with_mean_field(mean_field, cls, X, hidden_units):
    # One mini-batch per epoch (batch_size >= the repeated rows), so the two
    # fits see the same statistics, summed in another order.
    repeated = np.repeat(X, WEIGHTS.astype(int), axis=0)
    params = dict(batch_size=len(repeated), hidden_units=hidden_units, learning_rate=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        weighted = _rbm(cls, **params).fit(X, sample_weight=WEIGHTS)
        copies = _rbm(cls, **params).fit(repeated)
        unweighted = _rbm(cls, **params).fit(X)
    for mine, theirs in zip(_fitted(weighted), _fitted(copies)):
        assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12)
    # the weights matter: without them the model differs
    assert np.abs(weighted.components_ - unweighted.components_).max() > 1e-4


def test_persistent_chains_are_unweighted(mean_field):
    # PCD: the data phase is weighted, the chains' phase is not (it samples the
    # model): weights and repeated rows differ only in the data phase and
    # agree after a first step from the same chains.
    X = X_UNIT[:6]
    weights = np.array([1.0, 2.0, 1.0, 3.0, 1.0, 2.0])
    repeated = np.repeat(X, weights.astype(int), axis=0)
    params = dict(persistent=True, batch_size=len(repeated), n_iter=1, shuffle=False,
                  momentum=0.0, initial_momentum=0.0)
    weighted = _rbm(BernoulliRBM, **params).fit(X, sample_weight=weights)
    copies = _rbm(BernoulliRBM, **params).fit(repeated)
    # the chains' visible units are sampled from the generator, drawn in the
    # same amount (batch_size chains): the same samples, the same update
    assert_allclose(weighted.components_, copies.components_, rtol=1e-9, atol=1e-12)
    assert_allclose(weighted.intercept_visible_, copies.intercept_visible_, rtol=1e-9)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_weighted_visible_bias_initialization(sparse):
    weights = WEIGHTS[WEIGHTS > 0]
    X_unit, X_real = X_UNIT[WEIGHTS > 0], X_REAL[WEIGHTS > 0]
    mean = np.average(X_unit, axis=0, weights=weights)
    rbm = _rbm(BernoulliRBM)
    data = sp.csr_matrix(X_unit) if sparse else X_unit
    bias = rbm._initial_state(data, make_generator(0), weights)["intercept_visible_"]
    assert_allclose(bias, np.log(mean / (1 - mean)), rtol=1e-12)
    assert np.abs(bias - rbm._initial_state(data, make_generator(0))["intercept_visible_"]).max() > 0.01
    gaussian = _rbm(GaussianBernoulliRBM)
    data = sp.csr_matrix(X_real) if sparse else X_real
    bias = gaussian._initial_state(data, make_generator(0), weights)["intercept_visible_"]
    assert_allclose(bias, np.average(X_real, axis=0, weights=weights), rtol=1e-12)
    # and the weighted variance behind the Gaussian RBM's warning
    _, _, mean, var = column_stats(data, weights)
    expected = np.average((X_real - mean) ** 2, axis=0, weights=weights)
    assert_allclose(var, expected, rtol=1e-10)


def test_sample_weight_is_validated():
    rbm = _rbm(BernoulliRBM)
    with pytest.raises(ValueError, match="(?i)negative"):
        rbm.fit(X_UNIT, sample_weight=-WEIGHTS)
    with pytest.raises(ValueError, match="at least one non-zero"):
        rbm.fit(X_UNIT, sample_weight=np.zeros(len(X_UNIT)))
    with pytest.raises(ValueError, match="shape|samples"):
        rbm.fit(X_UNIT, sample_weight=WEIGHTS[:5])
    assert not hasattr(rbm, "components_")  # nothing was set


# ------------------------------------------------------------- pretraining
@pytest.mark.parametrize("hidden_units", ["sigmoid", "rectified"])
def test_pretraining_with_integer_weights_equals_repeated_rows(mean_field, hidden_units):
    # The whole stack: visible-bias init, CD statistics, the pre-activation
    # statistics (batch norm) and the [0, 1] scaling of rectified features.
    repeated = np.repeat(X_UNIT, WEIGHTS.astype(int), axis=0)
    # shuffle=False: a permutation's draws depend on the number of rows, and
    # the next layer's initial weights come from the same generator.
    settings = dict(n_iter=3, learning_rate=0.05, batch_size=len(repeated), shuffle=False,
                    hidden_units=hidden_units, dtype=np.float64)
    weighted = pretrain_stack(X_UNIT, [5, 4], np.random.default_rng(0),
                              sample_weight=WEIGHTS, **settings)
    copies = pretrain_stack(repeated, [5, 4], np.random.default_rng(0), **settings)
    assert len(weighted.layers) == 2
    for mine, theirs in zip(weighted.layers, copies.layers):
        for a, b in zip(mine, theirs):
            assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    assert_allclose(weighted.curves, copies.curves, rtol=1e-9)


@pytest.mark.parametrize(
    "params",
    [dict(activation="sigmoid"), dict(activation="relu", normalization="batch"),
     dict(activation="tanh")],
    ids=["sigmoid", "relu_batchnorm", "tanh"],
)
def test_zero_weights_in_pretrain_rbm_are_exactly_the_subset(params):
    # The tester's case: the zero-weighted rows are far from the others.
    X = X_REAL.copy()
    X[WEIGHTS == 0] += 5.0
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    weights = (WEIGHTS > 0).astype(float)
    kw = dict(depth=2, width=8, max_iter=5, dtype="float64", random_state=0,
              pretrain="rbm", pretrain_epochs=3, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = DeepMLPClassifier(**kw).fit(X, y, sample_weight=weights)
        subset = DeepMLPClassifier(**kw).fit(X[weights > 0], y[weights > 0])
    assert weighted.pretrain_curves_ == subset.pretrain_curves_  # exactly
    # The fine-tuning with batch norm sums in another order with zero-weighted
    # rows in its batches (about 1e-12 apart without pretraining too); the
    # pretraining ignoring the weights made a difference of 0.057.
    assert_allclose(weighted.predict_proba(X), subset.predict_proba(X), rtol=0, atol=1e-9)


def test_pretrain_rbm_uses_the_weights():
    # Weights that are not all 0 or 1 change the pretraining (which ignored them).
    y = X_REAL[:, 0] + X_REAL[:, 1]
    kw = dict(depth=1, width=8, max_iter=1, dtype="float64", random_state=0,
              pretrain="rbm", pretrain_epochs=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = DeepMLPRegressor(**kw).fit(X_REAL, y, sample_weight=WEIGHTS + 1)
        plain = DeepMLPRegressor(**kw).fit(X_REAL, y)
    assert weighted.pretrain_curves_ != plain.pretrain_curves_


def test_pretrain_fit_takes_sample_weight():
    weights = (WEIGHTS > 0).astype(float)
    kw = dict(depth=2, width=6, random_state=0, pretrain_epochs=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = DeepMLPClassifier(**kw).pretrain_fit(X_UNIT, sample_weight=weights)
        subset = DeepMLPClassifier(**kw).pretrain_fit(X_UNIT[weights > 0])
    assert weighted.pretrain_curves_ == subset.pretrain_curves_
    for mine, theirs in zip(weighted._pretrained_stack.layers, subset._pretrained_stack.layers):
        for a, b in zip(mine, theirs):
            assert_array_equal(a, b)
    with pytest.raises(ValueError, match="at least one non-zero"):
        DeepMLPClassifier(**kw).pretrain_fit(X_UNIT, sample_weight=np.zeros(len(X_UNIT)))
