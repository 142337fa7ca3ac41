"""Non-finite state is never trained from, kept as "restored", or missed by the guard;
an interrupt while a fit ends keeps the trained model.

* the divergence guard checks batch norm's running statistics with the weights
  (``Network.has_finite_state``): float32 X near 1e19 made them infinite while
  the weights stayed finite, and every prediction one constant;
* a warm start or ``partial_fit`` refuses a network that is not finite (e.g.
  after ``coefs_[0][0, 0] = nan``) before training;
* a snapshot that is not finite (a callback wrote NaN at the end of an epoch)
  is never restored, and a fit never ends with a non-finite model unnoticed;
* a KeyboardInterrupt in ``on_fit_end`` or in scikit-learn's ScoringMonitor
  scoring the final model keeps the fresh model trained.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet.callbacks import Callback
from sk_deepnet.exceptions import DivergenceWarning, FitInterruptedWarning
from sk_deepnet._network import Network
from sk_deepnet._training import Snapshot

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4)).astype(np.float32)
y = (X[:, 0] + X[:, 1] > 0).astype(int)


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


# ------------------------------------------------------------- the guard
def test_overflowing_running_statistics_are_caught_and_named():
    clf = DeepMLPClassifier(depth=2, width=8, normalization="batch", max_iter=3,
                            random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)  # no false "restored"
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match="running statistics overflowed float32.*"
                                             "Scale X"):
            clf.fit(X * np.float32(1e19), y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_guard_restores_the_last_epoch_when_only_the_statistics_turn_infinite():
    class InfiniteVariance(Callback):
        def on_batch_end(self, estimator, network, batch, loss, **kwargs):
            if len(estimator.loss_curve_) == 3:  # the fourth epoch, the warm start's second
                network.running_vars[0][0] = np.inf

    reg = DeepMLPRegressor(depth=2, width=8, normalization="batch", max_iter=2,
                           random_state=0)
    _quiet(lambda: reg.fit(X, X[:, 0]))
    before = reg.predict(X)
    reg.set_params(warm_start=True, max_iter=3, callbacks=[InfiniteVariance()])
    with pytest.raises(ValueError, match="running statistics overflowed"):
        _quiet(lambda: reg.fit(X, X[:, 0]))
    assert all(np.isfinite(v).all() for v in reg.running_vars_)
    # epoch 3 kept, epoch 4 undone; n_iter_ counts the warm start's own epochs
    assert reg.n_iter_ == 1 and len(reg.loss_curve_) == 3
    assert np.isfinite(reg.predict(X)).all() and not np.allclose(reg.predict(X), before)


# ------------------------------------------- non-finite weights, snapshots
@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_continuing_from_non_finite_weights_is_refused(how):
    clf = _quiet(lambda: DeepMLPClassifier(depth=2, width=8, max_iter=2,
                                           random_state=0).fit(X, y))
    clf.coefs_[0][0, 0] = np.nan
    n_iter = clf.n_iter_
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)  # never "restored"
        with pytest.raises(ValueError, match="not finite.*warm_start=False"):
            if how == "partial_fit":
                clf.partial_fit(X, y)
            else:
                clf.set_params(warm_start=True).fit(X, y)
    assert clf.n_iter_ == n_iter and np.isnan(clf.coefs_[0][0, 0])  # untouched
    _quiet(lambda: clf.set_params(warm_start=False).fit(X, y))  # a new fit works
    assert np.isfinite(clf.predict_proba(X)).all()


def test_running_statistics_count_as_weights_for_the_refusal():
    reg = _quiet(lambda: DeepMLPRegressor(depth=2, width=8, normalization="batch",
                                          max_iter=2, random_state=0).fit(X, X[:, 0]))
    reg.running_means_[1][0] = np.inf
    with pytest.raises(ValueError, match="not finite"):
        reg.partial_fit(X, X[:, 0])


class NaNAtEpochEnd(Callback):
    def __init__(self, epoch=1):
        self.epoch = epoch

    def on_epoch_end(self, estimator, epoch, loss, **kwargs):
        if epoch == self.epoch:
            estimator.coefs_[0][0, 0] = np.nan


@pytest.mark.parametrize("epoch", [1, 3])  # mid-fit (the next epoch diverges), last
def test_a_snapshot_that_is_not_finite_is_never_restored(epoch):
    clf = DeepMLPClassifier(depth=2, width=8, max_iter=4, random_state=0,
                            callbacks=[NaNAtEpochEnd(epoch)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)  # no "were restored"
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match="not finite at the end of training"):
            clf.fit(X, y)
    with pytest.raises(NotFittedError):  # a fresh fit: nothing half-broken is kept
        clf.predict(X)


def test_snapshot_restore_refuses_a_non_finite_state():
    net = Network([3, 4, 2], "relu", "squared_error", normalization="batch")
    net.initialize(np.random.default_rng(0), "he_uniform")
    snapshot = Snapshot(net)
    assert snapshot.finite
    net.params[0] = np.nan
    snapshot.save(net)
    assert not snapshot.finite
    net.params[0] = 1.5
    assert snapshot.restore(net) is False
    assert net.params[0] == 1.5  # nothing was copied
    net.running_vars[0][0] = np.inf
    snapshot.save(net)
    assert not snapshot.finite


# ------------------------------------------------- interrupts as a fit ends
def test_keyboard_interrupt_in_on_fit_end_keeps_the_fresh_model():
    class InterruptAtEnd(Callback):
        def on_fit_end(self, estimator, **kwargs):
            raise KeyboardInterrupt

    clf = DeepMLPClassifier(depth=1, width=8, max_iter=3, random_state=0,
                            callbacks=[InterruptAtEnd()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(FitInterruptedWarning, match="trained model .3 epochs. is kept"):
            clf.fit(X, y)
    assert clf.n_iter_ == 3 and np.isfinite(clf.predict_proba(X)).all()
    _quiet(lambda: clf.partial_fit(X, y))


def test_keyboard_interrupt_while_sklearn_scores_the_final_model_keeps_it():
    callback_module = pytest.importorskip("sklearn.callback")
    if not hasattr(callback_module, "ScoringMonitor"):
        pytest.skip("this scikit-learn has no ScoringMonitor")
    calls = []

    def scorer(estimator, X_, y_):
        calls.append(1)
        if len(calls) > 3:  # the three epochs are scored, then the final model
            raise KeyboardInterrupt
        return 0.0

    clf = DeepMLPClassifier(depth=1, width=8, max_iter=3, random_state=0)
    clf.set_callbacks(callback_module.ScoringMonitor(scoring={"score": scorer}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(FitInterruptedWarning):
            clf.fit(X, y)
    assert len(calls) == 4  # the interrupt came from the final scoring
    assert clf.n_iter_ == 3 and np.isfinite(clf.predict_proba(X)).all()
