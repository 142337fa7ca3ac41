"""The GradientMonitor's Jacobian spectra (``jacobian_spectra=True``)."""

import copy
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits

from sk_deepnet import DeepMLPClassifier
from sk_deepnet._jacobian_spectra import jacobian_statistics
from sk_deepnet.callbacks import GradientMonitor

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    "ignore::sk_deepnet.callbacks.GradientHealthWarning",
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(n_class=4, return_X_y=True)
    return X[:120] / 16, y[:120]


def _fit(X, y, max_iter, callbacks=None, **kw):
    params = dict(depth=3, width=10, activation="tanh", batch_size=None, random_state=0)
    params.update(kw)
    clf = DeepMLPClassifier(max_iter=max_iter, callbacks=callbacks, **params)
    return clf.fit(X, y)


@pytest.mark.parametrize("kw", [{}, {"normalization": "layer", "residual": True}])
def test_records_are_the_spectra_of_the_recorded_weights(digits, kw):
    X, y = digits
    monitor = GradientMonitor(jacobian_spectra=True, jacobian_probe_size=5, jacobian_every=1)
    fitted = _fit(X, y, 3, [monitor], **kw)
    m = fitted.gradient_monitor_
    names = ("jacobian_max_", "jacobian_min_", "jacobian_mean_", "jacobian_spread_",
             "jacobian_rank_")
    for name in names:
        assert getattr(m, name).shape == (3, 4)
        assert np.isfinite(getattr(m, name)).all()
    # Full batches: epoch 2's record sees the weights after two epochs.
    earlier = _fit(X, y, 2, **kw)
    probe = X[np.linspace(0, len(X) - 1, 5).round().astype(int)]
    stats = jacobian_statistics(earlier._network, probe)
    assert_allclose(m.jacobian_max_[2], stats["max"], rtol=1e-5)
    assert_allclose(m.jacobian_min_[2], stats["min"], rtol=1e-4, atol=1e-6)
    assert_allclose(m.jacobian_mean_[2], stats["mean"], rtol=1e-5)
    assert_allclose(m.jacobian_spread_[2], stats["spread"], rtol=1e-4)
    assert_allclose(m.jacobian_rank_[2], stats["rank"])
    assert "spread" in m.report()
    loaded = pickle.loads(pickle.dumps(m))
    for name in names:
        assert_array_equal(getattr(loaded, name), getattr(m, name))


def test_jacobian_every(digits):
    X, y = digits
    m = _fit(X, y, 5, [GradientMonitor(jacobian_spectra=True, jacobian_every=2)]).gradient_monitor_
    recorded = ~np.isnan(m.jacobian_max_).any(axis=1)
    assert_array_equal(recorded, [True, False, True, False, True])
    assert "spread" in m.report()


def test_off_by_default_and_nan(digits):
    X, y = digits
    m = _fit(X, y, 2, [GradientMonitor()]).gradient_monitor_
    assert np.isnan(m.jacobian_max_).all() and m.jacobian_spread_.shape == (2, 4)
    assert "spread" not in m.report()


def test_spread_grows_with_depth_for_a_non_isometric_network(digits):
    X, y = digits
    m = _fit(
        X, y, 1, [GradientMonitor(jacobian_spectra=True)], depth=6, activation="relu",
        init="normal", init_scale=0.3,
    ).gradient_monitor_
    spread = m.jacobian_spread_[0, :-1]
    assert spread[-1] > spread[0]


def test_copies_are_faithful(digits):
    X, y = digits
    m = _fit(X, y, 2, [GradientMonitor(jacobian_spectra=True)]).gradient_monitor_
    for clone_ in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert_array_equal(clone_._jacobian_probe, m._jacobian_probe)
        assert_array_equal(clone_.jacobian_spread_, m.jacobian_spread_)


def test_initial_spread_scorer_in_grid_search(digits):
    from sklearn.model_selection import GridSearchCV

    from sk_deepnet.callbacks import make_gradient_health_scorer

    X, y = digits
    scorer = make_gradient_health_scorer("initial_spread")
    clf = DeepMLPClassifier(depth=3, width=10, max_iter=1, batch_size=None, random_state=0,
                            activation="tanh", callbacks=[GradientMonitor(jacobian_spectra=True, warn=False)])
    search = GridSearchCV(clf, {"init": ["glorot_uniform", "orthogonal"]}, cv=2,
                          scoring={"accuracy": "accuracy", "spread": scorer},
                          refit="accuracy").fit(X, y)
    spreads = search.cv_results_["mean_test_spread"]
    assert np.all(np.isfinite(spreads)) and np.all(spreads <= 0)
    fitted = search.best_estimator_
    m = fitted.gradient_monitor_
    assert scorer(fitted, X, y) == -m.jacobian_spread_[0, -2]
    plain = _fit(X, y, 1, [GradientMonitor(warn=False)])
    with pytest.raises(ValueError, match="jacobian_spectra=True"):
        scorer(plain, X, y)


def test_report_shows_the_jacobian_records_outside_the_summary_window(digits):
    # 20 records, spectra at records 0 and 10 only: the summary window of the
    # other columns (records 15-19) holds none, yet the report must show them.
    X, y = digits
    m = _fit(X, y, 20, [GradientMonitor(jacobian_spectra=True, warn=False)]).gradient_monitor_
    rows = m.report().splitlines()
    # Fixed width: a 10-character layer name, then 9-character cells.
    cells = {rows[0][10 + 9 * i : 19 + 9 * i].strip(): rows[2][10 + 9 * i : 19 + 9 * i]
             for i in range(12)}
    assert rows[2].startswith("hidden 1")
    assert float(cells["spread"]) == pytest.approx(m.jacobian_spread_[10, 0], rel=1e-2)
    assert float(cells["jac max"]) == pytest.approx(m.jacobian_max_[10, 0], rel=1e-2)
    assert "Jacobian columns: the last 1 of 2 records with spectra" in m.report()
