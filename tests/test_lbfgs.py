"""optimizer="lbfgs": full-batch L-BFGS-B over the flat parameter vector."""

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_iris, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_regressor_data_not_an_array

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet._estimators import FitInterruptedWarning
from sk_deepnet._lbfgs import LBFGS, LBFGSRun
from sk_deepnet._network import Network
from sk_deepnet.callbacks import Callback, GradientMonitor

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(X_IRIS)


def _quiet_fit(model, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kw)


def test_full_batch_objective_gradient_matches_finite_differences():
    # The float64 gradient SciPy gets, with sample weights and the L2 penalty.
    rng = np.random.default_rng(0)
    network = Network([4, 5, 3], "tanh", "softmax_cross_entropy", dtype=np.float64)
    network.initialize(rng, "glorot_uniform")
    X = rng.normal(size=(9, 4))
    y = rng.integers(0, 3, 9)
    w = rng.uniform(0.5, 2.0, 9)
    run = LBFGSRun(network, (X, y, w), 0.3, LBFGS(), None)
    x0 = network.params.astype(np.float64)
    _, gradient = run.evaluate(x0)
    numeric = np.empty_like(gradient)
    eps = 1e-6
    for i in range(x0.size):
        step = np.zeros_like(x0)
        step[i] = eps
        numeric[i] = (run.evaluate(x0 + step)[0] - run.evaluate(x0 - step)[0]) / (2 * eps)
    assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_same_iterates_as_scikit_learn_from_the_same_weights(loss):
    # The same objective from the same start: SciPy's L-BFGS-B takes the same
    # steps in scikit-learn's MLP and here.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    y = rng.poisson(np.exp(X[:, 0] * 0.5)).astype(float)
    params = dict(alpha=1e-3, tol=1e-12, random_state=0, warm_start=True, max_iter=1)
    ours = DeepMLPRegressor(
        loss=loss, depth=1, width=5, activation="tanh", optimizer="lbfgs",
        dtype="float64", max_fun=15000, **params,
    )
    theirs = MLPRegressor(
        loss=loss, hidden_layer_sizes=(5,), activation="tanh", solver="lbfgs", **params
    )
    _quiet_fit(ours, X, y)
    _quiet_fit(theirs, X, y)
    start = [rng.normal(0, 0.5, c.shape) for c in theirs.coefs_]
    start_b = [rng.normal(0, 0.5, b.shape) for b in theirs.intercepts_]
    for model in (ours, theirs):
        model.coefs_ = [c.copy() for c in start]
        model.intercepts_ = [b.copy() for b in start_b]
        model.set_params(max_iter=15)
        _quiet_fit(model, X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 15
    assert_allclose(ours.loss_, theirs.loss_, rtol=1e-9)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_lbfgs_wins_on_small_multilabel_and_multioutput_data():
    # The numbers of the optimizer guide: scikit-learn's multilabel and
    # multi-output tests, where full-batch L-BFGS fits what adam does not in
    # the same number of epochs.
    X, Y = make_multilabel_classification(n_samples=50, random_state=0, return_indicator=True)
    scores = {}
    for optimizer in ("lbfgs", "adam"):
        clf = DeepMLPClassifier(
            depth=1, width=50, activation="logistic", alpha=1e-5, max_iter=150,
            optimizer=optimizer, random_state=0, dtype="float64",
        )
        scores[optimizer] = _quiet_fit(clf, X, Y).score(X, Y)
    for solver in ("lbfgs", "adam"):
        theirs = MLPClassifier(hidden_layer_sizes=50, activation="logistic", alpha=1e-5,
                               max_iter=150, solver=solver, random_state=0)
        scores[f"scikit-learn {solver}"] = _quiet_fit(theirs, X, Y).score(X, Y)
    print("multilabel subset accuracy", scores)
    assert scores["lbfgs"] == scores["scikit-learn lbfgs"] == 1.0
    assert scores["adam"] < 0.7

    X, Y = make_regression(n_samples=200, n_targets=5, random_state=11)
    scores = {}
    for optimizer in ("lbfgs", "adam"):
        reg = DeepMLPRegressor(
            depth=1, width=50, max_iter=200, tol=1e-2, optimizer=optimizer,
            random_state=1, dtype="float64",
        )
        scores[optimizer] = _quiet_fit(reg, X, Y).score(X, Y)
    for solver in ("lbfgs", "adam"):
        theirs = MLPRegressor(hidden_layer_sizes=50, max_iter=200, tol=1e-2, solver=solver,
                              random_state=1)
        scores[f"scikit-learn {solver}"] = _quiet_fit(theirs, X, Y).score(X, Y)
    print("multi-output R^2", scores)
    assert scores["lbfgs"] > 0.999 and scores["scikit-learn lbfgs"] > 0.999
    assert scores["adam"] < 0.5


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float32_and_float64_fits_record_each_iteration(dtype):
    clf = _quiet_fit(
        DeepMLPClassifier(depth=2, width=8, optimizer="lbfgs", max_iter=40,
                          random_state=0, dtype=dtype),
        X_IRIS, Y_IRIS,
    )
    assert clf.coefs_[0].dtype == np.dtype(dtype)
    assert clf.score(X_IRIS, Y_IRIS) > 0.95
    assert 0 < clf.n_iter_ <= 40
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.loss_ == clf.loss_curve_[-1]
    assert np.all(np.diff(clf.loss_curve_) <= 1e-6)  # L-BFGS never goes up
    assert clf.optimizer_.n_fun_ >= clf.n_iter_
    assert clf.learning_rate_ is None
    assert clf.t_ == clf.n_iter_ * len(X_IRIS)


def test_max_iter_reached_warns_and_counts_iterations():
    clf = DeepMLPClassifier(depth=1, width=10, optimizer="lbfgs", max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 5 .*max_iter"):
        clf.fit(X_IRIS, Y_IRIS)
    assert clf.n_iter_ == 5


def test_failed_line_search_warns_with_a_reason():
    # y of 1e38 fits float32 but its squares do not: the float64 loss is finite
    # and the line search fails at once. SciPy says only "ABNORMAL: "; the
    # warning used to end in "ABNORMAL: ." with no hint of the cause.
    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 3), rng.randn(40) * 1e38
    reg = DeepMLPRegressor(depth=2, width=4, max_iter=3, optimizer="lbfgs", random_state=0)
    with pytest.warns(ConvergenceWarning) as record:
        reg.fit(X, y)
    message = str(record[0].message)
    assert reg.optimizer_.status_ == 2
    assert "ABNORMAL." in message and ": ." not in message
    assert "badly scaled" in message
    # ... and which: y (std 1e38), not X (standardized)
    assert "try scaling y (TransformedTargetRegressor" in message
    assert "scaling X" not in message


def test_tol_is_the_gradient_tolerance():
    loose = DeepMLPClassifier(depth=1, width=10, optimizer="lbfgs", tol=1e-1,
                              random_state=0, dtype="float64").fit(X_IRIS, Y_IRIS)
    tight = _quiet_fit(
        DeepMLPClassifier(depth=1, width=10, optimizer="lbfgs", tol=1e-6,
                          random_state=0, dtype="float64"),
        X_IRIS, Y_IRIS,
    )
    assert loose.n_iter_ < tight.n_iter_
    assert tight.loss_ < loose.loss_


def test_sample_weight_counts_like_repetition():
    rng = np.random.default_rng(0)
    w = rng.integers(0, 3, len(X_IRIS))
    params = dict(depth=1, width=6, optimizer="lbfgs", max_iter=30, random_state=0,
                  dtype="float64")
    weighted = _quiet_fit(DeepMLPClassifier(**params), X_IRIS, Y_IRIS, sample_weight=w)
    repeated = _quiet_fit(
        DeepMLPClassifier(**params), np.repeat(X_IRIS, w, axis=0), np.repeat(Y_IRIS, w)
    )
    assert_allclose(weighted.predict_proba(X_IRIS), repeated.predict_proba(X_IRIS), rtol=1e-7)


@pytest.mark.parametrize("normalization", [None, "batch"])
def test_callbacks_see_each_iteration_as_an_epoch(normalization):
    monitor = GradientMonitor()
    clf = _quiet_fit(
        DeepMLPClassifier(depth=2, width=8, optimizer="lbfgs", max_iter=12,
                          normalization=normalization, random_state=0,
                          callbacks=[monitor]),
        X_IRIS, Y_IRIS,
    )
    fitted = clf.callbacks_[0]
    assert fitted.record_epochs_.tolist() == list(range(clf.n_iter_))
    # the step of each iteration, relative to the weights, is measured
    assert np.isfinite(fitted.update_ratios_).all()
    assert (fitted.update_ratios_ > 0).all()
    assert not fitted.stopped_mid_epoch_


class _StopAt(Callback):
    def __init__(self, epoch=3, interrupt=False):
        self.epoch = epoch
        self.interrupt = interrupt

    def on_epoch_begin(self, estimator, epoch):
        if self.interrupt and epoch == self.epoch:
            raise KeyboardInterrupt

    def on_epoch_end(self, estimator, epoch, loss):
        return not self.interrupt and epoch + 1 == self.epoch


def test_a_callback_stops_the_fit_without_convergence_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = DeepMLPClassifier(depth=1, width=8, optimizer="lbfgs", random_state=0,
                                callbacks=[_StopAt(3)]).fit(X_IRIS, Y_IRIS)
    assert clf.n_iter_ == 3
    assert clf.optimizer_.status_ == 99


def test_interrupt_keeps_the_last_complete_iteration():
    params = dict(depth=1, width=8, optimizer="lbfgs", random_state=0, dtype="float64")
    with pytest.warns(FitInterruptedWarning, match="iteration 4"):
        clf = DeepMLPClassifier(**params, callbacks=[_StopAt(3, interrupt=True)]).fit(
            X_IRIS, Y_IRIS
        )
    assert clf.n_iter_ == 3
    reference = _quiet_fit(DeepMLPClassifier(**params, max_iter=3), X_IRIS, Y_IRIS)
    assert_allclose(clf.coefs_[0], reference.coefs_[0])
    assert clf.loss_ == pytest.approx(reference.loss_)
    # The optimizer's status is this fit's, not the previous run's.
    assert clf.optimizer_.status_ is None
    assert clf.optimizer_.message_ == "stopped: interrupted by KeyboardInterrupt"
    assert reference.optimizer_.status_ == 1  # the limit of 3 iterations


def test_verbose_prints_every_iteration(capsys):
    _quiet_fit(DeepMLPClassifier(depth=1, width=4, optimizer="lbfgs", max_iter=3,
                                 verbose=True, random_state=0), X_IRIS, Y_IRIS)
    out = capsys.readouterr().out
    assert re.findall(r"Iteration (\d+), loss", out) == ["1", "2", "3"]


def test_warm_start_continues_and_counts_the_iterations_of_the_call():
    clf = DeepMLPClassifier(depth=1, width=8, optimizer="lbfgs", max_iter=5,
                            warm_start=True, random_state=0)
    _quiet_fit(clf, X_IRIS, Y_IRIS)
    first_loss = clf.loss_
    _quiet_fit(clf, X_IRIS, Y_IRIS)
    assert clf.n_iter_ == 5  # as scikit-learn: this call's iterations
    assert len(clf.loss_curve_) == 10
    assert clf.loss_curve_[5] <= first_loss


def test_switching_a_warm_start_to_lbfgs():
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=3, warm_start=True, early_stopping=True,
                            random_state=0)
    _quiet_fit(clf, X_IRIS, Y_IRIS)
    assert clf.best_loss_ is None
    with pytest.warns(UserWarning, match="early_stopping=True is ignored"):
        _quiet_fit(clf.set_params(optimizer="lbfgs"), X_IRIS, Y_IRIS)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 6
    assert clf.best_loss_ == min(clf.loss_curve_[3:])
    assert clf.validation_scores_ is None
    _quiet_fit(clf.set_params(optimizer="adam", early_stopping=False), X_IRIS, Y_IRIS)
    assert len(clf.loss_curve_) == 9 and clf.learning_rate_ == 0.001


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(dropout=0.2), "dropout"),
        (dict(clip_grad_norm=1.0), "clip_grad_norm"),
    ],
)
def test_options_that_break_lbfgs_are_refused(params, match):
    with pytest.raises(ValueError, match=match):
        DeepMLPClassifier(optimizer="lbfgs", **params).fit(X_IRIS, Y_IRIS)


@pytest.mark.parametrize(
    "params", [dict(batch_size=16), dict(early_stopping=True), dict(batch_size=None)]
)
def test_ignored_options_warn_when_set(params):
    clf = DeepMLPClassifier(depth=1, width=4, optimizer="lbfgs", max_iter=3, **params)
    with pytest.warns(UserWarning, match=r"=\S+ is ignored") as record:
        _quiet_fit(clf, X_IRIS, Y_IRIS)
    assert record[0].filename == __file__  # stacklevel: the user's line
    assert clf.validation_scores_ is None


def test_ignored_options_warn_together():
    clf = DeepMLPClassifier(depth=1, width=4, optimizer="lbfgs", max_iter=3,
                            batch_size=16, early_stopping=True)
    with pytest.warns(UserWarning, match="batch_size=16 and early_stopping=True are ignored"):
        _quiet_fit(clf, X_IRIS, Y_IRIS)


def test_no_partial_fit_with_lbfgs():
    clf = DeepMLPClassifier(optimizer="lbfgs")
    assert not hasattr(clf, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit"):
        clf.partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])
    assert hasattr(clone(clf).set_params(optimizer="adam"), "partial_fit")


def test_no_partial_fit_with_lbfgs_says_why():
    # The estimator's __getattr__ (the missing-monitor hint) used to replace
    # available_if's explanation with a bare "has no attribute 'partial_fit'".
    with pytest.raises(AttributeError, match="only available for stochastic optimizers"):
        DeepMLPRegressor(optimizer="lbfgs").partial_fit(X_IRIS, Y_IRIS)
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        DeepMLPClassifier().no_such_thing


def test_overflow_at_the_initial_point_is_a_clear_error():
    X = np.full((10, 2), 1e200)
    y = np.arange(10.0)
    with pytest.raises(ValueError, match="not finite before any training step"):
        # identity: no relu unit can die and leave the loss finite
        DeepMLPRegressor(depth=1, width=4, optimizer="lbfgs", dtype="float64",
                         activation="identity", random_state=0).fit(X, y)


def test_an_overflowing_line_search_backtracks():
    # Huge targets: trial steps overflow the loss; the fit backtracks, stays finite.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, -2.0, 3.0] * 1e150
    reg = _quiet_fit(DeepMLPRegressor(depth=1, width=4, optimizer="lbfgs", max_iter=20,
                                      dtype="float64", random_state=0), X, y)
    assert np.isfinite(reg.loss_)
    assert np.isfinite(np.concatenate([c.ravel() for c in reg.coefs_])).all()


@pytest.mark.parametrize("normalization", ["batch", "layer"])
def test_normalization_with_lbfgs(normalization):
    clf = _quiet_fit(
        DeepMLPClassifier(depth=2, width=8, optimizer="lbfgs", max_iter=50,
                          normalization=normalization, random_state=0),
        X_IRIS, Y_IRIS,
    )
    assert clf.score(X_IRIS, Y_IRIS) > 0.95
    if normalization == "batch":
        # the running statistics are the full batch's at the final weights
        network = clf._network
        z = X_IRIS @ network.coefs[0] + network.intercepts[0]
        assert_allclose(network.running_means[0], z.mean(axis=0), rtol=1e-4, atol=1e-5)


def test_sklearn_lbfgs_and_ours_agree_on_iris():
    ours = _quiet_fit(DeepMLPClassifier(depth=1, width=20, optimizer="lbfgs",
                                        random_state=0), X_IRIS, Y_IRIS)
    theirs = _quiet_fit(MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs",
                                      random_state=0), X_IRIS, Y_IRIS)
    assert ours.score(X_IRIS, Y_IRIS) >= theirs.score(X_IRIS, Y_IRIS) - 0.02


def test_float32_fits_compute_the_loss_in_float64_and_do_not_stop_early():
    # Evaluated in float32, a short step rounds away: L-BFGS-B read it as a
    # converged "relative reduction of f" after 25 iterations at a loss of 0.46
    # (float64: 0.037). The float64 twin reaches the float64 fit's loss.
    X, y = load_iris(return_X_y=True)  # unscaled, as benchmarks/lbfgs_float32.py
    params = dict(depth=2, width=8, optimizer="lbfgs", tol=1e-8, max_iter=3000,
                  random_state=0)
    fits = {dtype: _quiet_fit(DeepMLPClassifier(**params, dtype=dtype), X, y)
            for dtype in ("float32", "float64")}
    print({dtype: (clf.n_iter_, clf.loss_) for dtype, clf in fits.items()})
    single = fits["float32"]
    assert single.loss_ < 0.1 and single.loss_ < 1.5 * fits["float64"].loss_
    assert single.coefs_[0].dtype == np.float32 and single._network.dtype == np.float32
    # The fitted float32 weights are the float64 optimum's, cast.
    assert single.score(X, y) >= fits["float64"].score(X, y) - 0.02


def _interrupting_evaluation(k, exc=KeyboardInterrupt):
    """``Network.loss_and_gradient``, whose k-th call raises ``exc``."""
    original, calls = Network.loss_and_gradient, []

    def loss_and_gradient(network, *args, **kwargs):
        calls.append(None)
        if len(calls) == k:
            raise exc
        return original(network, *args, **kwargs)

    return loss_and_gradient


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("normalization", [None, "batch"])
def test_an_interrupt_inside_the_line_search_keeps_the_last_iteration(
    monkeypatch, dtype, normalization
):
    # The interrupt lands inside SciPy's iterations, once the evaluation has
    # moved the network to a trial point: the network must go back to the
    # accepted iterate, consistent with n_iter_, loss_ and loss_curve_.
    params = dict(depth=1, width=8, optimizer="lbfgs", random_state=0, dtype=dtype,
                  normalization=normalization)
    for k in (1, 2, 5, 9):
        monkeypatch.setattr(Network, "loss_and_gradient", _interrupting_evaluation(k))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf = DeepMLPClassifier(**params).fit(X_IRIS, Y_IRIS)
        monkeypatch.undo()
        assert any(issubclass(w.category, FitInterruptedWarning) for w in caught)
        n_iter = clf.n_iter_
        assert len(clf.loss_curve_) == n_iter
        if n_iter == 0:
            continue
        reference = _quiet_fit(DeepMLPClassifier(**params, max_iter=n_iter), X_IRIS, Y_IRIS)
        assert_allclose(clf.coefs_[0], reference.coefs_[0])
        assert clf.loss_ == pytest.approx(reference.loss_)
        assert clf.loss_curve_ == pytest.approx(reference.loss_curve_)


class _InterruptAtFitEnd(Callback):
    def __init__(self, exc=KeyboardInterrupt):
        self.exc = exc

    def on_fit_end(self, estimator, **kwargs):
        raise self.exc


def test_an_interrupt_in_on_fit_end_keeps_the_trained_model_as_the_trainer():
    for optimizer in ("lbfgs", "adam"):
        clf = DeepMLPClassifier(depth=1, width=8, optimizer=optimizer, max_iter=5,
                                random_state=0, callbacks=[_InterruptAtFitEnd()])
        with pytest.warns(FitInterruptedWarning, match="callbacks ended the fit"):
            _quiet_fit(clf, X_IRIS, Y_IRIS)
        assert clf.n_iter_ == 5
        assert np.isfinite(clf.predict_proba(X_IRIS)).all()


def test_an_error_in_on_fit_end_keeps_the_lbfgs_model():
    clf = DeepMLPClassifier(depth=1, width=8, optimizer="lbfgs", max_iter=5,
                            random_state=0, callbacks=[_InterruptAtFitEnd(RuntimeError)])
    with pytest.raises(RuntimeError):
        _quiet_fit(clf, X_IRIS, Y_IRIS)
    assert clf.n_iter_ == 5
    assert np.isfinite(clf.predict_proba(X_IRIS)).all()


class _InterruptIn(Callback):
    """Raise KeyboardInterrupt in ``hook`` during epoch (iteration) ``epoch``."""

    def __init__(self, hook, epoch=3):
        self.hook, self.epoch, self.current = hook, epoch, None

    def on_epoch_begin(self, estimator, epoch):
        self.current = epoch
        if self.hook == "on_epoch_begin" and epoch == self.epoch:
            raise KeyboardInterrupt

    def on_grad_computed(self, estimator, network, batch, **kwargs):
        if self.hook == "on_grad_computed" and self.current == self.epoch:
            raise KeyboardInterrupt

    def on_batch_end(self, estimator, network, batch, loss, **kwargs):
        if self.hook == "on_batch_end" and self.current == self.epoch:
            raise KeyboardInterrupt

    def on_epoch_end(self, estimator, epoch, loss):
        if self.hook == "on_epoch_end" and epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("hook, kept", [
    ("on_epoch_begin", 3), ("on_grad_computed", 3), ("on_batch_end", 3),
    ("on_epoch_end", 4),  # the iteration is complete when its epoch ends, as the Trainer
])
def test_an_interrupt_in_any_hook_keeps_a_consistent_iteration(hook, kept):
    params = dict(depth=1, width=8, optimizer="lbfgs", random_state=0)
    with pytest.warns(FitInterruptedWarning):
        clf = DeepMLPClassifier(**params, callbacks=[_InterruptIn(hook)]).fit(X_IRIS, Y_IRIS)
    assert clf.n_iter_ == len(clf.loss_curve_) == kept
    reference = _quiet_fit(DeepMLPClassifier(**params, max_iter=kept), X_IRIS, Y_IRIS)
    assert_allclose(clf.coefs_[0], reference.coefs_[0])
    assert clf.loss_ == pytest.approx(reference.loss_)


def test_the_float32_benchmark_runs_and_reports_every_fit():
    # benchmarks/lbfgs_float32.py backs the float32 numbers of the optimizer
    # guide; it must run (it times nothing that a test checks).
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "lbfgs_float32.py"
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(script.parents[1])}, check=True,
    )
    rows = [line for line in result.stdout.splitlines()[1:] if line.strip()]
    assert len(rows) == 24, result.stdout
    iris_tight = [row.split() for row in rows if row.startswith("iris") and " 1e-08 " in row]
    losses = {row[3]: float(row[6]) for row in iris_tight}
    assert losses["float32"] < 0.1 and losses["float64"] < 0.1, result.stdout
    # The float32 evaluation of before (the optimizer guide's 25 iterations
    # at 0.46): SciPy's "converged" status (0), far from the optimum.
    old = next(row for row in iris_tight if row[3] == "f32-eval")
    assert losses["f32-eval"] > 0.3 and old[7] == "0" and int(old[4]) < 100, result.stdout


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_fitted_network_counts_the_evaluations_of_its_float64_twin(dtype):
    # Network.batches_computed counts the batches whose gradient was computed
    # since the network was built; a float32 fit computes them on its float64
    # twin, whose count must come back with the weights (as with float64).
    clf = _quiet_fit(DeepMLPClassifier(depth=1, width=8, optimizer="lbfgs", max_iter=5,
                                       random_state=0, dtype=dtype), X_IRIS, Y_IRIS)
    first = clf._network.batches_computed
    assert first >= clf.n_iter_ == 5
    _quiet_fit(clf.set_params(warm_start=True), X_IRIS, Y_IRIS)
    assert clf._network.batches_computed >= first + 5


# ------------------------------------------------------- non-finite iterates
class _InitialParams(Callback):
    def on_fit_begin(self, estimator, X=None, y=None, **kwargs):
        self.params_ = estimator._network.params.copy()


def _fit_recording(model, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    return caught


@pytest.mark.parametrize("estimator, scale", [(DeepMLPRegressor, 1e150),
                                              (DeepMLPClassifier, 1e160)])
def test_a_non_finite_first_iterate_keeps_the_initialization_and_warns(estimator, scale):
    # A gradient that overflows makes SciPy's next trial point NaN, which its
    # line search accepted: the fit returned NaN weights, loss_curve_ == [inf],
    # and no warning. It must go back to the last finite state, as adam does.
    from sk_deepnet import DivergenceWarning

    rng = np.random.RandomState(0)
    X = rng.randn(30, 4) * scale
    y = rng.randn(30) if estimator is DeepMLPRegressor else (X[:, 0] > 0).astype(int)
    model = estimator(depth=3, width=8, max_iter=5, optimizer="lbfgs", dtype="float64",
                      random_state=0, callbacks=[_InitialParams()])
    caught = _fit_recording(model, X, y)
    categories = [w.category for w in caught]
    assert DivergenceWarning in categories and ConvergenceWarning not in categories
    message = str(caught[categories.index(DivergenceWarning)].message)
    assert "diverged in iteration 1" in message
    assert "initial weights were restored: no iteration completed" in message
    assert "the model is the untrained initialization" in message
    assert "init='auto'" not in message  # the init in use
    # As the stochastic optimizers' warning: another init than 'auto' is named.
    other = estimator(depth=3, width=8, max_iter=5, optimizer="lbfgs", dtype="float64",
                      init="normal", random_state=0)
    [message] = [str(w.message) for w in _fit_recording(other, X, y)
                 if w.category is DivergenceWarning]
    assert message.endswith("init='auto'.")
    assert model.n_iter_ == 0 and model.loss_curve_ == [] and model.best_loss_ == np.inf
    np.testing.assert_array_equal(model._network.params, model.callbacks_[0].params_)
    outputs = getattr(model, "predict_proba", model.predict)(X / scale)
    assert np.isfinite(outputs).all()


def _overflowing_gradient_at(k):
    """Network.loss_and_gradient whose k-th call returns a gradient of 1e300s."""
    original = Network.loss_and_gradient
    calls = []

    def loss_and_gradient(self, *args, **kwargs):
        loss = original(self, *args, **kwargs)
        calls.append(loss)
        if len(calls) == k:
            self.grads[:] = 1e300  # the next trial point overflows to NaN
        return loss

    return loss_and_gradient


def test_a_non_finite_iterate_after_some_iterations_keeps_the_last_finite_one(monkeypatch):
    from sk_deepnet import DivergenceWarning

    params = dict(depth=1, width=8, optimizer="lbfgs", max_iter=20, random_state=0)
    monkeypatch.setattr(Network, "loss_and_gradient", _overflowing_gradient_at(6))
    clf = DeepMLPClassifier(**params)
    caught = _fit_recording(clf, X_IRIS, Y_IRIS)
    monkeypatch.undo()
    n_iter = clf.n_iter_
    messages = [str(w.message) for w in caught if w.category is DivergenceWarning]
    assert len(messages) == 1 and 0 < n_iter < 20
    assert f"The weights of the last finite iteration were restored (iteration {n_iter})" in (
        messages[0]
    )
    assert np.isfinite(clf.loss_curve_).all() and len(clf.loss_curve_) == n_iter
    reference = _quiet_fit(DeepMLPClassifier(**{**params, "max_iter": n_iter}), X_IRIS, Y_IRIS)
    assert_allclose(clf._network.params, reference._network.params)
    assert clf.loss_ == pytest.approx(reference.loss_)


def test_an_iterate_that_is_not_finite_in_float32_is_not_accepted(monkeypatch):
    # The float64 twin is finite, its cast into the float32 model is not (a
    # weight beyond 3.4e38): the float32 model keeps the last finite iterate.
    from sk_deepnet import DivergenceWarning

    published = []
    original = LBFGSRun.publish

    def publish(self):
        original(self)
        published.append(1)
        if len(published) == 3:
            self.target.params[0] = np.inf  # as a cast that overflows
    monkeypatch.setattr(LBFGSRun, "publish", publish)
    params = dict(depth=1, width=8, optimizer="lbfgs", max_iter=10, random_state=0,
                  dtype="float32")
    clf = DeepMLPClassifier(**params)
    with pytest.warns(DivergenceWarning, match="iteration 3.*restored .iteration 2."):
        clf.fit(X_IRIS, Y_IRIS)
    monkeypatch.undo()
    assert clf.n_iter_ == 2 and np.isfinite(clf._network.params).all()
    reference = _quiet_fit(DeepMLPClassifier(**{**params, "max_iter": 2}), X_IRIS, Y_IRIS)
    np.testing.assert_array_equal(clf._network.params, reference._network.params)


def test_batchnorm_statistics_that_overflow_at_the_start_are_a_clear_error():
    # The pre-activations' squares overflow float64 while the loss is finite:
    # the fit went on and ended with infinite running variances.
    rng = np.random.RandomState(0)
    X = rng.randn(30, 4) * 1e160
    reg = DeepMLPRegressor(depth=3, width=8, max_iter=5, optimizer="lbfgs", dtype="float64",
                           normalization="batch", random_state=0)
    with pytest.raises(ValueError, match="running statistics overflow float64"):
        reg.fit(X, rng.randn(30))
    assert not hasattr(reg, "coefs_")


def test_a_callback_writing_nan_into_the_last_iterate_does_not_reach_the_model():
    class WritesNaN(Callback):
        def on_epoch_end(self, estimator, epoch, loss, **kwargs):
            if epoch == 2:
                estimator._network.params[:] = np.nan

    params = dict(depth=1, width=8, optimizer="lbfgs", max_iter=3, random_state=0,
                  dtype="float64")
    clf = _quiet_fit(DeepMLPClassifier(**params, callbacks=[WritesNaN()]), X_IRIS, Y_IRIS)
    reference = _quiet_fit(DeepMLPClassifier(**params), X_IRIS, Y_IRIS)
    np.testing.assert_array_equal(clf._network.params, reference._network.params)


@pytest.mark.parametrize("k", [3, 6, 11])
def test_batchnorm_running_statistics_recover_from_a_nan_trial_point(monkeypatch, k):
    # A NaN trial point stayed in the running statistics (momentum 1 still
    # multiplies them by 0, and 0 * NaN is NaN), whatever iterate was restored.
    monkeypatch.setattr(Network, "loss_and_gradient", _overflowing_gradient_at(k))
    clf = DeepMLPClassifier(depth=1, width=8, optimizer="lbfgs", max_iter=20,
                            normalization="batch", random_state=0)
    caught = _fit_recording(clf, X_IRIS, Y_IRIS)
    monkeypatch.undo()
    assert clf._network.has_finite_state(), [str(w.message) for w in caught]
    assert np.isfinite(clf.predict_proba(X_IRIS)).all()


@pytest.mark.parametrize("normalization", [None, "batch"])
def test_lbfgs_trains_the_same_model_on_a_list_as_on_a_float64_array(normalization):
    # L-BFGS computes in float64; a list was first rounded to float32, the
    # array was not: predictions differed by up to 2.5 (target std 42), and
    # scikit-learn's check_regressor_data_not_an_array failed.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4)) * np.array([1.0, 3.0, 0.1, 10.0])
    y = X @ np.array([1.3, -0.7, 5.0, 0.11]) + rng.normal(size=60)
    model = DeepMLPRegressor(optimizer="lbfgs", normalization=normalization, depth=2,
                             width=16, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        from_array = clone(model).fit(X, y).predict(X)
        from_list = clone(model).fit(X.tolist(), y.tolist()).predict(X)
    assert_array_equal(from_list, from_array)
    check_regressor_data_not_an_array("DeepMLPRegressor", clone(model))
