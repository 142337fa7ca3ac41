"""Batch normalization with sample weights: statistics that are correct for any weights.

A weight ``k`` counts as ``k`` copies of its sample in the batch statistics (the
running ones too), the statistics depend on the weights' ratios only (fits with
``w`` and ``c * w`` are the same), and a batch with fewer than two positively
weighted samples is refused like a batch of one sample; the estimators leave
zero-weight rows out of the batches, so that only a fit with fewer than two
positive weights in all meets it. (That weights equal
repetition in a whole fit is scikit-learn's check, run on a float64 batch-norm
configuration in test_sklearn_compat.py.)
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet._layers import BatchNorm, batch_weights


def _quiet_fit(estimator, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **fit_params)


def test_zero_weight_rows_are_left_out_of_the_batches(digits):
    # One sample of weight 1 in each batch of 50 gave accuracy 0.10, running
    # variances near 1e-33, and only a ConvergenceWarning; it was then
    # refused, and so were most fits with a tenth of the samples weighted, at
    # random with the shuffle (batches of one positive weight). Zero-weight
    # rows count neither in the loss nor in the weighted statistics: they
    # are left out, and the fit is that of the positively weighted rows.
    X, _, y, _ = digits
    w = np.zeros(len(X))
    w[::10] = 1  # every class keeps samples
    params = dict(depth=3, width=64, normalization="batch", batch_size=10, max_iter=20,
                  random_state=0, dtype="float64")
    weighted = _quiet_fit(DeepMLPClassifier(**params), X, y, sample_weight=w)
    kept = _quiet_fit(DeepMLPClassifier(**params), X[w > 0], y[w > 0])
    np.testing.assert_allclose(weighted.predict_proba(X), kept.predict_proba(X), atol=1e-9)
    assert all((v > 1e-3).all() for v in weighted._network.running_vars)
    rng = np.random.RandomState(1)  # the tester's case: 10% weighted, batches of 32
    w = np.zeros(400)
    w[rng.choice(400, 40, replace=False)] = 1
    for seed in range(4):
        _quiet_fit(DeepMLPClassifier(depth=2, width=8, normalization="batch", batch_size=32,
                                     max_iter=5, random_state=seed), X[:400], y[:400],
                   sample_weight=w)


def test_fewer_than_two_positive_weights_are_refused_and_keep_a_continued_model(digits):
    X, _, y, _ = digits
    reg = DeepMLPRegressor(depth=2, width=8, normalization="batch", batch_size=20,
                           shuffle=False, random_state=0)
    reg.partial_fit(X[:100], y[:100].astype(float))
    before = reg.predict(X[:50])
    w = np.zeros(100)
    w[7] = 1  # one positive weight: its variance is 0
    with pytest.raises(ValueError,
                       match="at least 2 training samples with a positive sample_weight"):
        reg.partial_fit(X[100:200], y[100:200].astype(float), sample_weight=w)
    np.testing.assert_array_equal(reg.predict(X[:50]), before)
    w[:21] = 1  # batches of 20 and 1 positive rows: the last one joins the first
    reg.partial_fit(X[100:200], y[100:200].astype(float), sample_weight=w)
    assert all(np.isfinite(v).all() and (v > 0).all() for v in reg._network.running_vars)


def test_batch_weights_are_normalized_and_scale_free():
    p = batch_weights(np.array([1.0, 1.0, 1.0, 1.0]), np.float32)
    assert p.dtype == np.float32 and p.shape == (4, 1)
    np.testing.assert_allclose(p.ravel(), 0.25)
    w = np.array([3.0, 1.0, 0.0, 2.0])
    for c in (1.0, 1e-3, 1e6, 1e-30):
        np.testing.assert_allclose(batch_weights(c * w, np.float64).ravel(), w / 6, rtol=1e-15)
    assert batch_weights(None, np.float32) is None
    with pytest.raises(ValueError, match="fewer than 2"):
        batch_weights(np.array([0.0, 5.0, 0.0]), np.float32)


def test_weighted_statistics_are_those_of_repeated_samples():
    # One training step of a batch-norm layer with momentum 1 stores the batch's
    # statistics. Integer weights give exactly the statistics of the batch with
    # each sample repeated, and any multiple of the weights gives the same.
    rng = np.random.default_rng(0)
    z = rng.normal(size=(7, 3))
    counts = rng.integers(1, 4, size=7)
    repeated = np.repeat(z, counts, axis=0)
    for c in (1.0, 0.0101, 1e3):
        layer = BatchNorm(np.ones(3), np.zeros(3), np.zeros(3), np.zeros(3),
                          np.zeros(3), np.ones(3))
        layer.momentum = 1.0
        cache = {"normalized": np.empty_like(z),
                 "batch_weights": batch_weights(c * counts, z.dtype)}
        out = layer.forward(z, np.empty_like(z), cache, train=True)
        np.testing.assert_allclose(layer.running_mean, repeated.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(layer.running_var, repeated.var(axis=0), rtol=1e-12)
        # ... and training normalizes with them
        expected = (z - repeated.mean(axis=0)) / np.sqrt(repeated.var(axis=0) + layer.eps)
        np.testing.assert_allclose(out, expected, rtol=1e-12)


@pytest.mark.parametrize("Estimator", [DeepMLPClassifier, DeepMLPRegressor])
def test_fits_with_w_and_c_times_w_are_equal(digits, Estimator):
    # Without the L2 penalty (alpha / sum(w), as in scikit-learn's MLP, which
    # depends on the weights' scale with or without batch norm), the fit is a
    # function of the weights' ratios only.
    X, _, y, _ = digits
    X, y = X[:300], y[:300]
    if Estimator is DeepMLPRegressor:
        y = y.astype(float)
    w = np.random.default_rng(0).uniform(0.05, 2.0, len(X))
    w[::7] = 0
    params = dict(depth=3, width=16, normalization="batch", alpha=0.0, max_iter=4,
                  batch_size=32, random_state=0, dtype="float64")
    fits = [_quiet_fit(Estimator(**params), X, y, sample_weight=c * w)
            for c in (1.0, 0.0101, 1e3)]
    out = [f.predict_proba(X) if hasattr(f, "predict_proba") else f.predict(X) for f in fits]
    for other, fit in zip(out[1:], fits[1:]):
        np.testing.assert_allclose(other, out[0], rtol=1e-8, atol=1e-9)
        for a, b in zip(fit._network.running_vars, fits[0]._network.running_vars):
            np.testing.assert_allclose(a, b, rtol=1e-8)
