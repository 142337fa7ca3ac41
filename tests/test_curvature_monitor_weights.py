"""CurvatureMonitor on fits with sample weights: the curvature of the weighted loss."""

import copy
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet._curvature import LossHessian
from sk_deepnet.callbacks import Callback, CurvatureMonitor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(n_class=3, return_X_y=True)
    return X[:120, :4] / 16, y[:120]


def _weights(n, seed=0):
    w = np.random.default_rng(seed).integers(0, 4, n).astype(float)
    w[:3] = [0.0, 3.0, 2.0]
    return w


def _probe_rows(monitor, X, sample_weight, seed):
    """The probe's rows: the monitor's draw (among the positive weights), repeated."""
    candidates = np.arange(len(X)) if sample_weight is None else np.flatnonzero(sample_weight)
    size = min(monitor.probe_size, len(candidates))
    draw = np.random.RandomState(seed).choice(len(candidates), size, replace=False)
    rows = candidates[np.sort(draw)]
    assert_array_equal(X[rows], monitor._probe_X)
    return rows


def test_integer_weights_record_as_repeated_rows(digits):
    # Full-batch training: the weighted fit and the fit on repeated rows
    # minimize the same loss (alpha / sum(w) both), so their monitors record
    # the same curvature. n_iter >= n_params: Lanczos gives exact eigenvalues,
    # whatever the start vector (the two probes are drawn from different n).
    X, y = digits[0][:30], digits[1][:30]
    w = _weights(len(X))
    rows = np.repeat(np.arange(len(X)), w.astype(int))

    def fit(X, y, sample_weight=None):
        monitor = CurvatureMonitor(record_every=1, probe_size=500, n_iter=40, random_state=0)
        clf = DeepMLPClassifier(depth=1, width=3, max_iter=3, batch_size=None, alpha=0.3,
                                dtype="float64", random_state=0, callbacks=[monitor])
        return clf.fit(X, y, sample_weight=sample_weight).curvature_monitor_

    weighted, repeated = fit(X, y, w), fit(X[rows], y[rows])
    assert weighted.n_params_ == 27 and len(weighted.epochs_) == 4
    for name in ("probe_loss_", "grad_norm_", "hessian_max_", "hessian_min_"):
        assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-8,
                        atol=1e-12, err_msg=name)
    # The weights matter: the unweighted fit records other values.
    unweighted = fit(X, y)
    assert abs(unweighted.probe_loss_[0] - weighted.probe_loss_[0]) > 1e-3
    assert abs(unweighted.hessian_max_[0] - weighted.hessian_max_[0]) > 1e-4


@pytest.mark.parametrize("normalization", [None, "batch"])
def test_records_are_the_weighted_loss_hessian_of_the_probe(digits, normalization):
    X, y = digits
    w = _weights(len(X))
    monitor = CurvatureMonitor(record_every=100, probe_size=20, n_iter=40, random_state=3)
    clf = DeepMLPClassifier(depth=1, width=3, max_iter=3, batch_size=25, alpha=0.5,
                            normalization=normalization, random_state=0,
                            callbacks=[monitor])
    m = clf.fit(X, y, sample_weight=w).curvature_monitor_
    rows = _probe_rows(m, X, w, 3)
    assert len(rows) == 20 and np.all(w[rows] > 0)  # zero weights add nothing
    assert_array_equal(m._probe_weight, w[rows])
    # Training divides alpha by a batch's weight sum: 25 * mean(w) on average
    # (batch normalization's batches leave the zero-weight rows out).
    batched = w if normalization is None else w[w > 0]
    l2 = 0.5 / (25 * batched.mean())
    hessian = LossHessian(clf._network, X[rows], y[rows], l2=l2, sample_weight=w[rows])
    assert m.method_ == hessian.method == ("exact" if normalization is None
                                           else "finite_difference")
    assert_allclose(m.probe_loss_[-1], hessian.loss, rtol=1e-12)
    assert_allclose(m.grad_norm_[-1], np.linalg.norm(hessian.gradient), rtol=1e-10)
    eigenvalues = np.linalg.eigvalsh(hessian.dense())
    assert m.n_params_ <= 40
    tol = 1e-8 if normalization is None else 1e-6
    assert_allclose(m.hessian_max_[-1], eigenvalues[-1], rtol=tol)
    assert_allclose(m.hessian_min_[-1], eigenvalues[0], rtol=tol, atol=1e-9)
    unweighted = LossHessian(clf._network, X[rows], y[rows], l2=0.5 / 25)
    assert abs(unweighted.loss - m.probe_loss_[-1]) > 1e-3


def test_lbfgs_probe_penalty_is_alpha_over_the_weight_sum(digits):
    # L-BFGS takes one batch of every sample: alpha / sum(w), not alpha over a
    # mini-batch of batch_size="auto" (200) rows.
    X, y = digits
    X, y = np.tile(X, (3, 1)), np.tile(y, 3)  # 360 rows, more than 200
    w = _weights(len(X))
    for sample_weight, weight_sum in ((None, len(X)), (w, w.sum())):
        monitor = CurvatureMonitor(record_every=100, probe_size=10, n_iter=5, random_state=0)
        clf = DeepMLPClassifier(depth=1, width=3, max_iter=2, optimizer="lbfgs", alpha=2.0,
                                random_state=0, callbacks=[monitor])
        m = clf.fit(X, y, sample_weight=sample_weight).curvature_monitor_
        rows = _probe_rows(m, X, sample_weight, 0)
        hessian = LossHessian(
            clf._network, X[rows], y[rows], l2=2.0 / weight_sum,
            sample_weight=None if sample_weight is None else w[rows],
        )
        assert_allclose(m.probe_loss_[-1], hessian.loss, rtol=1e-12)


def test_probe_weights_stay_out_of_pickles_and_are_drawn_again(digits):
    X, y = digits
    w = _weights(len(X)) + np.linspace(0.01, 0.02, len(X))  # distinct values to find
    monitor = CurvatureMonitor(record_every=1, probe_size=8, n_iter=5, random_state=0)
    reg = DeepMLPRegressor(depth=1, width=4, batch_size=50, random_state=0,
                           callbacks=[monitor])
    reg.partial_fit(X, y.astype(float), sample_weight=w)
    m = reg.curvature_monitor_
    assert m._probe_weight is not None and np.all(m._probe_weight > 0)
    blob = pickle.dumps(reg)
    assert m._probe_weight.tobytes() not in blob
    assert pickle.loads(blob).curvature_monitor_._probe_weight is None
    assert_array_equal(copy.deepcopy(m)._probe_weight, m._probe_weight)
    # A partial_fit series continued after loading draws the probe and its
    # weights again: its records are those of the series never saved.
    loaded = pickle.loads(blob)
    loaded.partial_fit(X, y.astype(float), sample_weight=w)
    reg.partial_fit(X, y.astype(float), sample_weight=w)
    assert_array_equal(loaded.curvature_monitor_._probe_weight, m._probe_weight)
    assert_array_equal(loaded.curvature_monitor_.probe_loss_, m.probe_loss_)
    assert_array_equal(loaded.curvature_monitor_.hessian_max_, m.hessian_max_)


class _Spy(Callback):
    """Keeps what on_fit_begin got."""

    def on_fit_begin(self, estimator, X=None, y=None, sample_weight=None):
        self.got = sample_weight


class _OldStyle(Callback):
    """A hook written before sample_weight existed (no **kwargs)."""

    def on_fit_begin(self, estimator, X=None, y=None):
        self.called = True


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_on_fit_begin_gets_the_sample_weights(digits, optimizer):
    X, y = digits
    w = _weights(len(X))
    clf = DeepMLPClassifier(depth=1, width=3, max_iter=1, optimizer=optimizer,
                            random_state=0, callbacks=[_Spy(), _OldStyle()])
    spy, old = clf.fit(X, y, sample_weight=w).callbacks_
    assert_array_equal(spy.got, w)
    assert old.called
    spy, _ = clf.fit(X, y).callbacks_
    assert spy.got is None
