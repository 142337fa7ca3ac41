"""With early_stopping the callbacks see the training rows, never the validation rows.

``fit`` holds ``validation_fraction`` of the rows out; ``on_fit_begin`` gets the
others (a copy), or the whole data and ``train_indices`` if the hook names it.
The monitors draw their probes among the training rows, and CurvatureMonitor's
L2 coefficient uses the fit's own batch size for them.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits

from sk_deepnet import DeepMLPClassifier
from sk_deepnet._curvature import LossHessian
from sk_deepnet.callbacks import Callback, CurvatureMonitor, GradientMonitor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N, N_TRAIN = 50, 40  # validation_fraction=0.2 holds out 10 rows


@pytest.fixture(scope="module")
def data():
    """Column 0 is the row's index / N, so that a row of X tells where it comes from."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 3))
    X[:, 0] = np.arange(N) / N
    y = np.arange(N) % 2
    return X, y


def _ids(rows):
    return np.rint(np.asarray(rows)[:, 0] * N).astype(int)


def _classifier(callbacks, **params):
    params = {"depth": 1, "width": 3, "max_iter": 2, "random_state": 0,
              "early_stopping": True, "validation_fraction": 0.2, **params}
    return DeepMLPClassifier(callbacks=callbacks, **params)


class IndexSpy(Callback):
    """Names ``train_indices``: gets the whole data and the training rows' indices."""

    def on_fit_begin(self, estimator, X=None, y=None, sample_weight=None,
                     train_indices=None, **kwargs):
        self.X, self.y, self.w, self.train_indices = X, y, sample_weight, train_indices
        self.kwargs = kwargs

    def _redraw_probe(self, estimator, X, y, train_indices=None):
        self.redrawn = train_indices


class KwargsSpy(Callback):
    """Takes ``**kwargs`` but does not name ``train_indices``: gets the training rows."""

    def on_fit_begin(self, estimator, X=None, y=None, **kwargs):
        self.X, self.y, self.kwargs = X, y, kwargs


class OldStyle(Callback):
    """A hook written for 0.1: no keywords at all."""

    def on_fit_begin(self, estimator, X=None, y=None):
        self.X, self.y = X, y


def test_hooks_get_the_training_rows(data):
    X, y = data
    w = np.linspace(0.5, 2.0, N)
    clf = _classifier([IndexSpy(), KwargsSpy(), OldStyle()]).fit(X, y, sample_weight=w)
    spy, kwargs_spy, old = clf.callbacks_
    train = spy.train_indices
    assert len(train) == N_TRAIN and np.all(np.diff(train) > 0)
    # The hook that names train_indices gets every row, not a copy.
    assert spy.X.shape[0] == N and spy.y.shape[0] == N and spy.w.shape[0] == N
    assert spy.kwargs["batch_size"] == min(200, N_TRAIN)
    # The others get the training rows (the same copy), without the indices.
    for callback in (kwargs_spy, old):
        assert_array_equal(callback.X, X[train])
        assert_array_equal(callback.y, y[train])
    assert kwargs_spy.X is old.X
    assert "train_indices" not in kwargs_spy.kwargs
    assert_array_equal(kwargs_spy.kwargs["sample_weight"], spy.w[train])
    assert_allclose(spy.w, w, rtol=1e-7)  # validated: in the training dtype
    assert kwargs_spy.kwargs["batch_size"] == N_TRAIN
    # No split, no copy: every hook gets all the rows; the indices are None.
    spy, kwargs_spy, old = clf.set_params(early_stopping=False).fit(X, y).callbacks_
    assert spy.train_indices is None
    assert spy.X is kwargs_spy.X is old.X and old.X.shape[0] == N


def test_curvature_probe_is_drawn_from_the_training_rows(data):
    X, y = data
    # probe_size above the sample count: the probe is every row it may take.
    monitor = CurvatureMonitor(record_every=1, probe_size=N, random_state=0)
    clf = _classifier([monitor, IndexSpy()]).fit(X, y)
    m, spy = clf.curvature_monitor_, clf.callbacks_[1]
    assert len(m._probe_X) == N_TRAIN  # not the 10 validation rows
    assert_array_equal(_ids(m._probe_X), spy.train_indices)
    assert_array_equal(m._probe_Y.ravel(), y[spy.train_indices])
    # A smaller probe: the draw a monitor makes on the training rows themselves.
    monitor = CurvatureMonitor(record_every=1, probe_size=8, random_state=3)
    m = _classifier([monitor, IndexSpy()]).fit(X, y).curvature_monitor_
    draw = np.random.RandomState(3).choice(N_TRAIN, 8, replace=False)
    assert_array_equal(_ids(m._probe_X), spy.train_indices[np.sort(draw)])


class CopiedRows(CurvatureMonitor):
    """A subclass whose hook does not name train_indices: it gets the training rows."""

    def on_fit_begin(self, estimator, X=None, y=None, **kwargs):
        super().on_fit_begin(estimator, X, y, **kwargs)


def test_curvature_records_the_same_from_the_indices_as_from_the_rows(data):
    X, y = data
    w = np.linspace(0.0, 2.0, N)  # row 0 has no weight: never in the probe
    fits = [
        _classifier([cls(record_every=1, probe_size=12, random_state=0)], alpha=0.3)
        .fit(X, y, sample_weight=w).curvature_monitor_
        for cls in (CurvatureMonitor, CopiedRows)
    ]
    indices, copied = fits
    assert_array_equal(indices._probe_X, copied._probe_X)
    assert_array_equal(indices._probe_weight, copied._probe_weight)
    assert indices._l2 == copied._l2
    assert_array_equal(indices.hessian_max_, copied.hessian_max_)
    assert_array_equal(indices.probe_loss_, copied.probe_loss_)


@pytest.mark.parametrize("weighted", [False, True])
def test_curvature_l2_uses_the_fits_batch_size(data, weighted):
    X, y = data
    w = np.linspace(0.5, 2.0, N) if weighted else None
    # batch_size=None: a training batch is the N_TRAIN training rows, not N.
    monitor = CurvatureMonitor(record_every=1, probe_size=N, n_iter=10, random_state=0)
    # One epoch: the model is that of the last record (no better epoch to restore).
    clf = _classifier([monitor, IndexSpy()], batch_size=None, alpha=0.5, max_iter=1)
    clf.fit(X, y, sample_weight=w)
    m, spy = clf.curvature_monitor_, clf.callbacks_[1]
    if w is None:
        assert m._l2 == 0.5 / N_TRAIN
    train = spy.train_indices
    # The weights as training uses them (in its dtype), of the training rows.
    probe_weight = None if w is None else spy.w[train].astype(np.float64)
    mean_weight = 1.0 if w is None else probe_weight.mean()
    assert m._l2 == pytest.approx(0.5 / (N_TRAIN * mean_weight), rel=1e-12)
    # The recorded loss is the probe's training loss with that penalty.
    hessian = LossHessian(clf._network, X[train], m._probe_Y, l2=m._l2,
                          sample_weight=probe_weight)
    assert_allclose(m.probe_loss_[-1], hessian.loss, rtol=1e-10)


def test_lbfgs_trains_on_every_row(data):
    # L-BFGS holds no rows out (early_stopping is ignored): the hooks get them all.
    X, y = data
    monitor = CurvatureMonitor(record_every=1, probe_size=N, random_state=0)
    with pytest.warns(UserWarning, match="early_stopping=True is ignored"):
        clf = _classifier([monitor, IndexSpy()], optimizer="lbfgs", alpha=0.5).fit(X, y)
    spy = clf.callbacks_[1]
    assert spy.train_indices is None and spy.kwargs["batch_size"] == N
    assert_array_equal(_ids(clf.curvature_monitor_._probe_X), np.arange(N))
    assert clf.curvature_monitor_._l2 == 0.5 / N


def test_jacobian_probe_is_drawn_from_the_training_rows(data):
    X, y = data
    monitor = GradientMonitor(jacobian_spectra=True, jacobian_probe_size=N, warn=False)
    clf = _classifier([monitor, IndexSpy()]).fit(X, y)
    train = clf.callbacks_[1].train_indices
    assert len(clf.gradient_monitor_._jacobian_probe) == N_TRAIN
    assert_array_equal(_ids(clf.gradient_monitor_._jacobian_probe), train)
    # Four rows spread over the training rows, as over X[train] itself.
    monitor = GradientMonitor(jacobian_spectra=True, jacobian_probe_size=4, warn=False)
    probe = _classifier([monitor]).fit(X, y).gradient_monitor_._jacobian_probe
    assert_array_equal(probe, X[train][[0, 13, 26, 39]])


def test_a_loaded_monitor_redraws_its_probe_from_the_training_rows(data):
    # A partial_fit series, saved, then continued by a warm-started fit with
    # early stopping: the running monitor draws its probe again (pickles carry
    # none), from the rows that fit trains on.
    X, y = data
    monitor = CurvatureMonitor(record_every=1, probe_size=N, random_state=0)
    clf = _classifier([monitor, IndexSpy()], early_stopping=False)
    clf.partial_fit(X, y, classes=[0, 1])
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.curvature_monitor_._probe_X is None
    loaded.set_params(early_stopping=True, warm_start=True).fit(X, y)
    train = loaded.callbacks_[1].redrawn
    assert len(train) == N_TRAIN
    assert_array_equal(_ids(loaded.curvature_monitor_._probe_X), train)


class EndSpy(Callback):
    def on_fit_end(self, estimator, restored_epochs=None, **kwargs):
        self.restored_epochs = restored_epochs


def test_the_last_curvature_record_is_of_the_restored_best_epoch():
    # Digits, lr 0.05: the validation score peaks before the last of 12 epochs.
    X, y = load_digits(return_X_y=True)
    spy, monitor = EndSpy(), CurvatureMonitor(record_every=100, random_state=0)
    clf = _classifier([spy, monitor], depth=2, width=16, max_iter=12,
                      validation_fraction=0.1, n_iter_no_change=3, learning_rate=0.05)
    clf.fit(X / 16, y)
    best = int(np.argmax(clf.validation_scores_)) + 1
    assert best < len(clf.loss_curve_)  # the fit restored an earlier epoch
    spy = clf.callbacks_[0]
    assert spy.restored_epochs == best
    m = clf.curvature_monitor_
    # Recorded with that epoch's number, on the final (restored) model.
    assert_array_equal(m.epochs_, [0, best])
    hessian = LossHessian(clf._network, m._probe_X, m._probe_Y, l2=m._l2)
    assert_allclose(m.probe_loss_[-1], hessian.loss, rtol=1e-12)
    # Without early stopping the model is the last epoch's: None.
    clf.set_params(early_stopping=False, max_iter=2).fit(X / 16, y)
    assert clf.callbacks_[0].restored_epochs is None
    assert_array_equal(clf.curvature_monitor_.epochs_, [0, 2])
