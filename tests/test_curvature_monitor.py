"""Tests of the CurvatureMonitor callback and its scorers."""

import copy
import pickle
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet._curvature import LossHessian
from sk_deepnet._curvature_monitor import PHASES, classify_phases
from sk_deepnet.callbacks import (
    CurvatureMonitor,
    GradientMonitor,
    make_curvature_scorer,
    never_saddle_scorer,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(n_class=3, return_X_y=True)
    return X[:150] / 16, y[:150]


def _classifier(callbacks, **kw):
    params = dict(depth=2, width=8, max_iter=4, random_state=0, batch_size=32)
    params.update(kw)
    return DeepMLPClassifier(callbacks=callbacks, **params)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_records_and_attributes(digits):
    X, y = digits
    clf = _classifier([CurvatureMonitor(record_every=2, n_eigenvalues=4, random_state=0)])
    m = clf.fit(X, y).curvature_monitor_
    assert m is clf.callbacks_[0]
    assert_array_equal(m.epochs_, [0, 2, 4])
    for name in ("hessian_max_", "hessian_min_", "grad_norm_", "probe_loss_",
                 "negative_curvature_", "phase_"):
        assert getattr(m, name).shape == (3,)
    assert m.top_eigenvalues_.shape == (3, 4)
    assert np.all(np.diff(m.top_eigenvalues_, axis=1) <= 0)  # descending
    assert_allclose(m.top_eigenvalues_[:, 0], m.hessian_max_)
    assert np.all(m.hessian_min_ <= m.hessian_max_)
    assert set(m.phase_) <= set(PHASES)
    assert m.method_ == "exact" and m.n_params_ == clf._network.n_params
    expected = np.maximum(-m.hessian_min_, 0) / m.hessian_max_
    assert_allclose(m.negative_curvature_, expected)
    text = m.report()
    assert "lambda max" in text and "3 records" in text


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_monitor_does_not_change_training(digits):
    X, y = digits
    for kw in ({}, {"normalization": "batch", "dropout": 0.2}):
        plain = _classifier(None, **kw).fit(X, y)
        monitored = _classifier([CurvatureMonitor(record_every=1, random_state=0)], **kw)
        monitored.fit(X, y)
        for a, b in zip(plain.coefs_, monitored.coefs_):
            assert_array_equal(a, b)
        assert plain.loss_curve_ == monitored.loss_curve_
        expected = "exact" if not kw else "finite_difference"
        assert monitored.curvature_monitor_.method_ == expected


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_last_record_is_the_exact_spectrum_of_a_small_network(digits):
    X, y = digits
    X = X[:, :4]
    # 4 -> 3 -> 3 classes: 4*3 + 3*3 + 3 + 3 = 27 parameters <= n_iter.
    monitor = CurvatureMonitor(record_every=100, n_iter=40, probe_size=20, random_state=3)
    clf = _classifier([monitor], depth=1, width=3, alpha=0.5, batch_size=25).fit(X, y)
    m = clf.curvature_monitor_
    assert_array_equal(m.epochs_, [0, 4])
    # The same probe: the monitor's draw, repeated.
    rows = np.sort(np.random.RandomState(3).choice(len(X), 20, replace=False))
    hessian = LossHessian(clf._network, X[rows], y[rows], l2=0.5 / 25)
    eigenvalues = np.linalg.eigvalsh(hessian.dense())
    assert_allclose(m.hessian_max_[-1], eigenvalues[-1], rtol=1e-8)
    assert_allclose(m.hessian_min_[-1], eigenvalues[0], rtol=1e-8, atol=1e-10)
    assert_allclose(m.top_eigenvalues_[-1], eigenvalues[::-1][:3], rtol=1e-7, atol=1e-10)
    assert_allclose(m.grad_norm_[-1], np.linalg.norm(hessian.gradient), rtol=1e-10)


def test_classify_phases():
    grad = np.array([10.0, 0.5, 0.5, 5.0, 0.2])
    hmin = np.array([-1.0, -1.0, -0.001, -1.0, 0.3])
    hmax = np.ones(5) * 10
    phases = classify_phases(grad, hmin, hmax, gradient_tol=0.1, negative_tol=0.01)
    assert list(phases) == ["descent", "saddle", "minimum", "descent", "minimum"]
    assert classify_phases([], [], [], 0.1, 0.01).shape == (0,)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_partial_fit_and_regressor_continue_records():
    X, y = make_regression(n_samples=60, n_features=5, random_state=0)
    y = y / y.std()
    reg = DeepMLPRegressor(depth=1, width=6, random_state=0,
                           callbacks=[CurvatureMonitor(record_every=2, random_state=0)])
    for _ in range(4):
        reg.partial_fit(X, y)
    assert_array_equal(reg.curvature_monitor_.epochs_, [0, 2, 4])


def test_early_stopping_records_the_restored_model_once(digits):
    # Recorded at every epoch, the best validation epoch has a record when the
    # fit restores it: the record of the fitted model replaces that one, so
    # that the records (the phases, saddle_fraction_) count each model once.
    X, y = digits
    monitor = CurvatureMonitor(record_every=1, random_state=0)
    clf = _classifier([monitor], max_iter=20, early_stopping=True, validation_fraction=0.2,
                      n_iter_no_change=3, learning_rate=0.05).fit(X, y)
    best, trained = int(np.argmax(clf.validation_scores_)) + 1, len(clf.loss_curve_)
    assert best < trained  # the fit restored an earlier epoch (3 of 7)
    m = clf.curvature_monitor_
    assert_array_equal(m.epochs_, [*range(best), *range(best + 1, trained + 1), best])
    assert len(m.phase_) == len(m.hessian_max_) == len(m.top_eigenvalues_) == trained + 1
    assert m.report().splitlines()[-1].startswith(f"{trained + 1} records")
    # The last record is still the fitted model's.
    hessian = LossHessian(clf._network, m._probe_X, m._probe_Y, l2=m._l2)
    assert_allclose(m.probe_loss_[-1], hessian.loss, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_clone_pickle_deepcopy(digits):
    X, y = digits
    monitor = CurvatureMonitor(record_every=2, random_state=0)
    clf = _classifier([monitor]).fit(X, y)
    assert not hasattr(monitor, "epochs_")  # fit trains a clone
    assert clone(monitor).get_params() == monitor.get_params()
    m = clf.curvature_monitor_
    loaded = pickle.loads(pickle.dumps(clf)).curvature_monitor_
    for name in ("epochs_", "hessian_max_", "hessian_min_", "top_eigenvalues_", "phase_"):
        assert_array_equal(getattr(loaded, name), getattr(m, name))
    assert loaded.report() == m.report()
    assert joblib.hash(copy.deepcopy(m)) == joblib.hash(m)
    assert joblib.hash(loaded) == joblib.hash(pickle.loads(pickle.dumps(loaded)))
    # A loaded monitor continues to record.
    restored = pickle.loads(pickle.dumps(clf))
    restored.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert_array_equal(restored.curvature_monitor_.epochs_, [0, 2, 4, 6])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_with_curvature_scorers(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), _classifier([CurvatureMonitor(random_state=0)]))
    search = GridSearchCV(
        pipe, {"deepmlpclassifier__depth": [1, 2]}, cv=2, refit="accuracy",
        scoring={
            "accuracy": "accuracy",
            "never_saddle": never_saddle_scorer,
            "sharpness": make_curvature_scorer("final_sharpness"),
        },
    ).fit(X, y)
    scores = search.cv_results_["mean_test_never_saddle"]
    assert np.all((scores >= 0) & (scores <= 1))
    assert np.all(search.cv_results_["mean_test_sharpness"] < 0)
    fitted = search.best_estimator_
    m = fitted[-1].curvature_monitor_
    assert never_saddle_scorer(fitted, X, y) == float(not np.any(m.phase_ == "saddle"))
    assert make_curvature_scorer("saddle_fraction")(fitted) == -m.saddle_fraction_


def test_errors(digits):
    X, y = digits
    with pytest.raises(ValueError, match="metric must be one of"):
        make_curvature_scorer("flatness")
    with pytest.raises(ValueError, match="no records"):
        CurvatureMonitor().report()
    clf = _classifier(None, max_iter=1)
    with pytest.warns(Warning):
        clf.fit(X, y)
    with pytest.raises(ValueError, match="no fitted curvature monitor"):
        never_saddle_scorer(clf, X, y)
    with pytest.raises(ValueError, match="record_every"):
        _classifier([CurvatureMonitor(record_every=0)]).fit(X, y)


# scikit-learn's checks with the monitor attached (deep-copy comparison, clone,
# pickle, refit): tests/test_sklearn_compat.py runs them with both monitors.


@pytest.mark.parametrize("exc", [MemoryError, KeyboardInterrupt])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::sk_deepnet.FitInterruptedWarning")
def test_a_record_cut_short_leaves_the_monitor_as_before(digits, monkeypatch, exc):
    # As the gradient monitor's hooks (issue 17): a MemoryError or a
    # KeyboardInterrupt half-way through a record (here: after the records
    # grew, while they are published) leaves the attributes of before the
    # hook, all of one length; the model pickles and trains on.
    from sk_deepnet import _curvature_monitor

    X, y = digits
    clf = _classifier([CurvatureMonitor(record_every=1, n_iter=4, probe_size=8,
                                        random_state=0)], max_iter=1)
    clf.partial_fit(X, y, classes=np.unique(y))
    before = {k: v.copy() for k, v in vars(clf.curvature_monitor_).items()
              if k.endswith("_") and isinstance(v, np.ndarray)}

    def fail(*args, **kwargs):
        raise exc()

    monkeypatch.setattr(_curvature_monitor, "classify_phases", fail)
    try:
        clf.partial_fit(X, y)
    except exc:
        pass
    monkeypatch.undo()
    m = clf.curvature_monitor_
    for name, value in before.items():
        assert_array_equal(getattr(m, name), value, err_msg=name)
    assert len(m._records["epochs"]) == len(m.epochs_)
    loaded = pickle.loads(pickle.dumps(clf))
    loaded.partial_fit(X, y)
    n = len(loaded.curvature_monitor_.epochs_)
    assert n == len(before["epochs_"]) + 1
    assert len(loaded.curvature_monitor_.phase_) == n


def test_saved_models_carry_no_probe_rows_and_continue_alike(digits):
    # Privacy and size: the probes of both monitors (training rows) stay out of
    # pickles; a partial_fit series continued after loading draws them again,
    # the same rows, so its records are those of the series never saved.
    X, y = digits

    def monitors():
        return [CurvatureMonitor(record_every=1, probe_size=8, n_iter=5, random_state=0),
                GradientMonitor(jacobian_spectra=True, jacobian_every=1, warn=False)]

    clf = DeepMLPClassifier(depth=1, width=4, batch_size=50, random_state=0,
                            callbacks=monitors())
    clf.partial_fit(X, y, classes=np.unique(y))
    curvature, gradient = clf.callbacks_
    blob = pickle.dumps(clf)
    for probe in (curvature._probe_X, gradient._jacobian_probe, X[:1]):
        assert probe.tobytes() not in blob
    assert copy.deepcopy(clf).callbacks_[0]._probe_X is not None  # in-process copies keep it
    assert joblib.hash(curvature) == joblib.hash(copy.deepcopy(curvature))
    assert joblib.hash(gradient) == joblib.hash(copy.deepcopy(gradient))
    loaded = pickle.loads(blob)
    loaded.partial_fit(X, y)
    clf.partial_fit(X, y)
    assert_array_equal(loaded.callbacks_[0]._probe_X, curvature._probe_X)
    assert_array_equal(loaded.curvature_monitor_.hessian_max_, clf.curvature_monitor_.hessian_max_)
    assert_array_equal(loaded.gradient_monitor_.jacobian_spread_,
                       clf.gradient_monitor_.jacobian_spread_)
    # A loaded series ended by a fresh fit before it trained again does not fail.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pickle.loads(blob).set_params(max_iter=1).fit(X, y)


def _deep_linear(init_scale, max_iter, record_every, learning_rate=0.05, batch_size=64,
                 probe_size=64):
    # A rank-3 linear map of 8 inputs to 8 outputs, which linear regression
    # fits exactly, learned by a deep linear network (three weight matrices).
    rng = np.random.RandomState(0)
    X = rng.standard_normal((64, 8))
    U, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    V, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    Y = X @ (U[:, :3] @ np.diag([3.0, 2.0, 1.0]) @ V[:3])
    monitor = CurvatureMonitor(record_every=record_every, probe_size=probe_size, n_iter=20,
                               random_state=0)
    reg = DeepMLPRegressor(
        depth=2, width=8, activation="identity", init="normal", init_scale=init_scale,
        optimizer="sgd", learning_rate=learning_rate, batch_size=batch_size, alpha=0.0,
        max_iter=max_iter,
        tol=0.0, n_iter_no_change=10**9, random_state=0, dtype="float64",
        callbacks=[monitor],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return reg.fit(X, Y), X, Y


def test_a_degenerate_saddle_is_flat_not_a_minimum():
    # From weights of 1e-4 the network stays at the origin, a third-order
    # saddle: the gradient vanishes, the weights' curvature too (the only
    # curved direction is the output bias, lambda_max = 1), and the loss stays
    # at its initial value while linear regression reaches 0. The second-order
    # test read "minimum" there; it cannot tell, and the loss says no progress.
    reg, X, Y = _deep_linear(1e-4, max_iter=120, record_every=60)
    m = reg.curvature_monitor_
    assert reg.score(X, Y) < 0.01
    assert m.probe_loss_[-1] > 0.95 * m.probe_loss_[0]
    assert m.grad_norm_[-1] < 0.01 * m.grad_norm_.max()
    assert m.negative_curvature_[-1] < m.negative_tol  # no clear negative curvature
    assert_allclose(m.hessian_max_[-1], 1.0, rtol=1e-6)  # the output bias's
    assert m.phase_[-1] == "flat" and "minimum" not in m.phase_
    report = m.report()
    assert "1 flat (epochs 120)" in report and "degenerate saddle" in report
    assert m.saddle_fraction_ == np.mean(m.phase_ == "saddle")
    # From weights of 1e-2 the same fit sits at a (second-order) saddle, then
    # leaves it, its loss down from 7 to 1.9 (one mode learned): those labels stay.
    escaped, _, _ = _deep_linear(1e-2, max_iter=200, record_every=20, learning_rate=0.1)
    m = escaped.curvature_monitor_
    assert list(m.phase_[1:7]) == ["saddle"] * 6
    assert m.phase_[-1] == "minimum" and "flat" not in m.phase_
    assert m.probe_loss_[-1] < 0.3 * m.probe_loss_[0]


def test_classify_phases_flat():
    grad = np.array([1.0, 0.01, 0.01, 0.01, 0.01])
    hmin = np.array([-1.0, -0.5, 0.0, 0.0, -0.001])
    hmax = np.ones(5)
    loss = np.array([10.0, 9.9, 9.6, 9.0, 9.7])
    phases = classify_phases(grad, hmin, hmax, 0.1, 0.01, probe_loss=loss, progress_tol=0.05)
    assert list(phases) == ["descent", "saddle", "flat", "minimum", "flat"]
    # A negative loss (Poisson's without its constant) is scaled by its size.
    phases = classify_phases(grad, hmin, hmax, 0.1, 0.01, probe_loss=loss - 20,
                             progress_tol=0.05)
    assert list(phases) == ["descent", "saddle", "flat", "minimum", "flat"]
    # A flat first record: small gradient at initialization, no curvature.
    phases = classify_phases([0.01, 1.0], [0.0, 0.0], [1.0, 1.0], 0.1, 0.01,
                             probe_loss=[3.0, 2.0])
    assert list(phases) == ["flat", "descent"]


def test_a_monitor_pickled_before_flat_loads_with_its_phases_recomputed():
    reg, _, _ = _deep_linear(1e-4, max_iter=120, record_every=60)
    state = reg.curvature_monitor_.__getstate__()
    del state["progress_tol"]
    state["phase_"] = np.array(["descent", "saddle", "minimum"])  # the older rule's
    old = CurvatureMonitor.__new__(CurvatureMonitor)
    old.__setstate__(state)
    assert old.get_params()["progress_tol"] == 0.05
    assert_array_equal(old.phase_, reg.curvature_monitor_.phase_)
    assert old.phase_[-1] == "flat"
    # An unfitted monitor of that version too.
    state = CurvatureMonitor().__getstate__()
    del state["progress_tol"]
    fresh = CurvatureMonitor.__new__(CurvatureMonitor)
    fresh.__setstate__(state)
    assert fresh.get_params() == CurvatureMonitor().get_params()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_converged_classifier_is_at_a_minimum_not_a_saddle():
    # Cross-entropy on separable data: the loss falls to 0.04% of its initial
    # value with small negative eigenvalues left (|min|/max about 2%, beyond
    # negative_tol). The second-order test alone read "saddle" from epoch 8 on;
    # escaping could lower the loss by at most what is left of it (losses are
    # >= 0), under converged_tol of the initial loss: converged, "minimum".
    X, y = load_digits(n_class=5, return_X_y=True)
    X, y = StandardScaler().fit_transform(X[:400]), y[:400]
    monitor = CurvatureMonitor(record_every=4, random_state=0)
    clf = DeepMLPClassifier(depth=2, width=16, max_iter=40, learning_rate=0.003, batch_size=32,
                            random_state=0, callbacks=[monitor]).fit(X, y)
    m = clf.curvature_monitor_
    assert "saddle" not in m.phase_ and never_saddle_scorer(clf, X, y) == 1.0
    small = m.grad_norm_ <= m.gradient_tol * m.grad_norm_.max()
    negative = m.negative_curvature_ > m.negative_tol
    converged = m.probe_loss_ < m.converged_tol * m.probe_loss_[0]
    assert (small & negative & converged).sum() >= 5  # what the second-order test calls saddles
    assert m.probe_loss_[-1] < 0.001 * m.probe_loss_[0]
    assert np.all(m.phase_[small] == "minimum") and np.all(m.phase_[~small] == "descent")
    # converged_tol=0: every saddle of the second-order test, as before.
    m.set_params(converged_tol=0.0)
    m._publish()
    assert_array_equal(m.phase_ == "saddle", small & negative)


def test_a_slow_descent_is_descent_not_a_saddle(digits):
    # A first version called every record whose loss had fallen by less than
    # progress_tol a critical point, whatever its gradient: SGD at a small
    # rate, its loss falling steadily (0.995 to 0.964 of the first) with the
    # gradient at its largest, read "saddle" at 8 of 9 records, and
    # never_saddle_scorer penalized small learning rates.
    X, y = digits
    clf = DeepMLPClassifier(depth=2, width=16, optimizer="sgd", learning_rate=2e-4,
                            max_iter=8, batch_size=64, random_state=0,
                            callbacks=[CurvatureMonitor(record_every=1, random_state=0)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = clf.fit(X, y).curvature_monitor_
    assert np.all(np.diff(m.probe_loss_) < 0) and m.probe_loss_[-1] > 0.9 * m.probe_loss_[0]
    assert set(m.phase_) == {"descent"} and m.saddle_fraction_ == 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_monitor_measures_against_its_probes_loss_of_an_output_of_zeros(digits):
    X, y = digits
    clf = _classifier([CurvatureMonitor(random_state=0)], init="normal", init_scale=1.0)
    m = clf.fit(X, y).curvature_monitor_
    assert m._reference_loss == pytest.approx(np.log(3))  # three classes: uniform
    assert m.probe_loss_[0] > 10 * m._reference_loss  # N(0, 1) weights start far above
    state = m.__getstate__()  # kept in pickles: the phases are computed again on load
    assert state["_reference_loss"] == m._reference_loss


def test_classify_phases_converged_and_still_falling():
    grad = np.array([1.0, 0.05, 0.05, 0.05, 0.05, 0.05])
    hmin = np.array([-1.0, -0.5, 0.0, -0.5, 0.0, -0.5])
    hmax = np.ones(6)
    # 3: a saddle below 5% of the initial loss (converged); 2: no negative
    # curvature, but the loss falls later by more than progress_tol of the first
    # record's (from 0.6 to 0.03): a plateau that training left, not a minimum.
    loss = np.array([10.0, 6.0, 6.0, 0.4, 0.3, 0.35])
    phases = classify_phases(grad, hmin, hmax, 0.1, 0.01, probe_loss=loss)
    assert list(phases) == ["descent", "saddle", "flat", "minimum", "minimum", "minimum"]
    phases = classify_phases(grad, hmin, hmax, 0.1, 0.01, probe_loss=loss, converged_tol=0.0)
    assert list(phases) == ["descent", "saddle", "flat", "saddle", "minimum", "saddle"]
    # Initial weights far too large: the first loss is 100 times an output of
    # zeros' (2.3), and every later record was "converged" against it.
    loss = np.array([285.0, 20.0, 6.3, 6.0])
    small_gradients = [1.0, 0.05, 0.05, 0.05]
    phases = classify_phases(small_gradients, [-1.0] * 4, [1.0] * 4, 0.1, 0.01, probe_loss=loss)
    assert list(phases) == ["descent", "saddle", "minimum", "minimum"]
    phases = classify_phases(small_gradients, [-1.0] * 4, [1.0] * 4, 0.1, 0.01,
                             probe_loss=loss, reference_loss=2.3)
    assert list(phases) == ["descent", "saddle", "saddle", "saddle"]
    # A model no better than an output of zeros learned nothing: SGD at 5
    # left digits at chance, at 2.33 against log(10) = 2.30, and read "minimum".
    phases = classify_phases([1.0, 0.05, 0.05], [0.0] * 3, [1.0] * 3, 0.1, 0.01,
                             probe_loss=np.array([2.48, 2.33, 2.35]), reference_loss=np.log(10))
    assert list(phases) == ["descent", "flat", "flat"]
    # A large gradient is descent, however little the loss has fallen yet.
    phases = classify_phases([0.5, 1.0, 1.0], [-1.0, -0.5, 0.0], [1.0, 1.0, 1.0], 0.1, 0.01,
                             probe_loss=np.array([10.0, 9.9, 9.8]))
    assert list(phases) == ["descent", "descent", "descent"]
    # Without losses only the gradient and the curvature decide.
    phases = classify_phases(grad, hmin, hmax, 0.1, 0.01)
    assert list(phases) == ["descent", "saddle", "minimum", "saddle", "minimum", "saddle"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_monitor_pickled_before_converged_tol_loads_with_its_phases_recomputed():
    X, y = load_digits(n_class=5, return_X_y=True)
    X, y = StandardScaler().fit_transform(X[:400]), y[:400]
    clf = DeepMLPClassifier(depth=2, width=16, max_iter=20, learning_rate=0.003, batch_size=32,
                            random_state=0,
                            callbacks=[CurvatureMonitor(record_every=4, random_state=0)]).fit(X, y)
    state = clf.curvature_monitor_.__getstate__()
    del state["converged_tol"]
    state["phase_"] = np.where(state["phase_"] == "minimum", "saddle", state["phase_"])
    old = CurvatureMonitor.__new__(CurvatureMonitor)
    old.__setstate__(state)
    assert old.get_params() == clf.curvature_monitor_.get_params()
    assert_array_equal(old.phase_, clf.curvature_monitor_.phase_)
    assert "minimum" in old.phase_ and "saddle" not in old.phase_


def test_top_eigenvalues_beyond_the_lanczos_steps_are_nan():
    # Lanczos gives n_iter Ritz values: the columns asked for beyond them are
    # NaN, as the attribute's documentation says.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), rng.integers(0, 3, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = DeepMLPClassifier(
            depth=1, width=4, max_iter=2, random_state=0,
            callbacks=[CurvatureMonitor(n_eigenvalues=8, n_iter=5, random_state=0)],
        ).fit(X, y)
    top = clf.callbacks_[0].top_eigenvalues_
    assert top.shape == (len(clf.callbacks_[0].hessian_max_), 8)
    assert np.isfinite(top[:, :5]).all() and np.isnan(top[:, 5:]).all()
    assert_array_equal(top[:, 0], clf.callbacks_[0].hessian_max_)
