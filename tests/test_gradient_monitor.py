"""Tests of :class:`sk_deepnet.callbacks.GradientMonitor` and its scorer.

The three diagnoses are checked on the digits set (standardized, 25% stratified
test split) with the networks that textbooks use to show each failure: a deep
sigmoid net with Glorot init (vanishing), a relu net with He init (healthy) and
a deep relu net with N(0, 1) weights (exploding). The recorded statistics are
checked against norms computed directly from the same batch's gradients.
"""

import copy
import io
import pickle
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_deepnet import (
    DeepMLPClassifier,
    DeepMLPRegressor,
    DivergenceWarning,
    FitInterruptedWarning,
)
from sk_deepnet import optimizers as sk_optimizers
from sk_deepnet._network import Network
from sk_deepnet.callbacks import (
    Callback,
    CurvatureMonitor,
    GradientHealthWarning,
    GradientMonitor,
    make_gradient_health_scorer,
    vanishing_ratio_scorer,
)

STATISTICS = (
    "grad_norms_", "grad_mean_abs_", "grad_max_abs_", "delta_norms_", "layer_gains_",
    "update_ratios_", "saturation_", "dead_units_", "activation_means_",
    "activation_stds_",
)
SETTINGS = dict(width=64, optimizer="sgd", learning_rate=0.1, batch_size=32, max_iter=5)


def _fit(X, y, monitor=None, **params):
    monitor = GradientMonitor() if monitor is None else monitor
    clf = DeepMLPClassifier(callbacks=[monitor], random_state=0, **{**SETTINGS, **params})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    return clf, [w.category for w in caught]


# ------------------------------------------------------------------ diagnoses
def test_deep_sigmoid_net_vanishes(digits):
    X, _, y, _ = digits
    clf, caught = _fit(X, y, depth=10, activation="sigmoid", init="glorot_uniform")
    monitor = clf.gradient_monitor_
    assert monitor.diagnosis_ == "vanishing"
    assert monitor.vanishing_ratio_ < 1e-3
    assert monitor.vanishing_layers_[0] and not monitor.vanishing_layers_[-1]
    assert not monitor.exploding_layers_.any()
    assert GradientHealthWarning in caught
    # The ratio is the window median of first over output gradient norms.
    n = len(monitor.grad_norms_)
    window = monitor.grad_norms_[n - int(np.ceil(n / 4)) :]
    assert_allclose(monitor.vanishing_ratio_, np.median(window[:, 0] / window[:, -1]))


def test_set_params_on_a_fitted_monitor_diagnoses_again(digits):
    # The report's rules and '*' marks followed the new threshold, its flags
    # and diagnosis_ the old one: "relative < 1e-09" beside VANISHING layers.
    X, _, y, _ = digits
    clf, _ = _fit(X, y, depth=10, activation="sigmoid", init="glorot_uniform")
    monitor = clf.gradient_monitor_
    assert monitor.diagnosis_ == "vanishing"
    monitor.set_params(vanishing_threshold=1e-12)
    assert monitor.diagnosis_ == "healthy" and not monitor.vanishing_layers_.any()
    report = monitor.report()
    assert "relative < 1e-12" in report and "VANISHING\n" not in report
    assert "diagnosis: healthy" in report
    with pytest.raises(ValueError, match="vanishing_threshold"):
        monitor.set_params(warn=False, vanishing_threshold=5)
    assert monitor.warn and monitor.vanishing_threshold == 1e-12
    assert monitor.diagnosis_ == "healthy"
    assert GradientMonitor().set_params(vanishing_threshold=5).vanishing_threshold == 5


def test_health_warnings_as_errors_keep_the_trained_model(digits):
    # sk_deepnet.exceptions recommends simplefilter("error", GradientHealthWarning):
    # the warning, raised in on_fit_end, comes after the training, which is kept.
    X, X_test, y, _ = digits
    params = dict(SETTINGS, depth=10, activation="sigmoid", init="glorot_uniform",
                  max_iter=2, random_state=0)
    reference = DeepMLPClassifier(**params, callbacks=[GradientMonitor(warn=False)])
    clf = DeepMLPClassifier(**params, callbacks=[GradientMonitor()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, y)
        warnings.simplefilter("error", GradientHealthWarning)
        with pytest.raises(GradientHealthWarning, match="Vanishing"):
            clf.fit(X, y)
    assert clf.n_iter_ == 2
    assert_array_equal(clf.predict_proba(X_test), reference.predict_proba(X_test))
    assert clf.gradient_monitor_.diagnosis_ == "vanishing"


def test_relu_net_with_he_init_is_healthy(digits):
    X, _, y, _ = digits
    clf, caught = _fit(X, y, depth=5, activation="relu", init="he_uniform")
    monitor = clf.gradient_monitor_
    assert monitor.diagnosis_ == "healthy"
    assert not monitor.vanishing_layers_.any() and not monitor.exploding_layers_.any()
    assert 0.1 < monitor.vanishing_ratio_ < 10
    assert GradientHealthWarning not in caught


def test_deep_relu_net_with_unit_normal_init_explodes(digits):
    X, _, y, _ = digits
    clf, caught = _fit(X, y, depth=10, activation="relu", init="normal", init_scale=1.0)
    monitor = clf.gradient_monitor_
    assert monitor.diagnosis_ == "exploding"
    assert monitor.exploding_layers_.all()
    assert GradientHealthWarning in caught
    # The estimator diverged and restored its weights, but the monitor kept the
    # evidence: a first step far larger than the weights, then the batch where
    # the loss became non-finite.
    assert monitor.stopped_mid_epoch_
    assert np.all(monitor.update_ratios_[0] > 1e2)
    assert not np.isfinite(monitor.grad_norms_[-1]).all()
    # The error signal grows layer after layer on the way back to the input.
    assert np.all(monitor.layer_gains_[0, :-1] > 2)


class _InterruptAfterStep(Callback):
    """Raise KeyboardInterrupt after the optimizer step of batch ``at``."""

    def __init__(self, at=3):
        self.at = at

    def on_batch_end(self, estimator, network, batch, loss):
        if batch == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "nadam"])
def test_a_batch_interrupted_after_its_hook_is_recorded_once(digits, optimizer):
    # Batch 3 got on_grad_computed, then the interrupt came after its step:
    # on_fit_end must not record it a second time (under the next batch's number).
    X, _, y, _ = digits
    monitor = GradientMonitor(record_every=1, warn=False)
    clf = DeepMLPClassifier(
        depth=2, width=16, optimizer=optimizer, callbacks=[monitor, _InterruptAfterStep()],
        random_state=0,
    )
    with pytest.warns(FitInterruptedWarning):
        clf.fit(X, y)
    monitor = clf.gradient_monitor_
    assert monitor.stopped_mid_epoch_
    assert_array_equal(monitor.record_iterations_, [0, 1, 2, 3])
    assert np.isfinite(monitor.grad_norms_).all()


@pytest.mark.parametrize("copier", [lambda est: pickle.loads(pickle.dumps(est)), copy.deepcopy],
                         ids=["pickle", "deepcopy"])
def test_a_diverged_batch_is_recorded_after_the_estimator_was_copied(digits, copier):
    # The network's count of computed batches travels with it, so the monitor
    # still tells a diverged batch (no hook) from the last hooked one.
    X, _, y, _ = digits
    clf = DeepMLPClassifier(depth=2, width=8, batch_size=len(X), max_iter=1, warm_start=True,
                            random_state=0, callbacks=[GradientMonitor(record_every=1, warn=False)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    clf = copier(clf)
    for weights in clf.coefs_:
        weights *= np.float32(1e30)  # the next batch's loss overflows
    with pytest.warns(DivergenceWarning):
        clf.fit(X, y)
    monitor = clf.gradient_monitor_
    assert_array_equal(monitor.record_iterations_, [0, 1])
    assert monitor.stopped_mid_epoch_


class _GradientChecker(Callback):
    """Checks that the gradient a callback saw is still there after the step."""

    def on_fit_begin(self, estimator, X=None, y=None):
        self.checked_ = 0

    def on_grad_computed(self, estimator, network, batch):
        self.seen_ = network.grads.copy()

    def on_batch_end(self, estimator, network, batch, loss):
        assert_array_equal(network.grads, self.seen_)
        self.checked_ += 1


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "nadam", "rmsprop"])
def test_callbacks_read_the_gradient_after_the_step(digits, optimizer):
    # Without callbacks the step may use the gradient as its work array; with
    # them it must not: a callback reads the gradient until the next batch.
    X, _, y, _ = digits
    clf = DeepMLPClassifier(depth=2, width=8, optimizer=optimizer, max_iter=1,
                            callbacks=[_GradientChecker()], random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.callbacks_[0].checked_ == -(-len(X) // 200)  # every batch of "auto" size 200


class _Passive(Callback):
    """A callback that may read the gradient after the step (the default)."""


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_monitor_lets_the_step_overwrite_the_gradient(digits, optimizer, monkeypatch):
    # The monitor reads the gradient before the step only, so with it alone the
    # step may use the gradient as its work array (no model-sized copy per
    # batch); its records and the trained model are the same as when another
    # callback keeps the gradient intact.
    X, _, y, _ = digits
    seen = []
    step = sk_optimizers.Optimizer.step

    def spy(self, params, grad, overwrite_grad=False):
        seen.append(overwrite_grad)
        return step(self, params, grad, overwrite_grad=overwrite_grad)

    monkeypatch.setattr(sk_optimizers.Optimizer, "step", spy)
    fits = []
    for extra in ([], [_Passive()]):
        seen.clear()
        clf = DeepMLPClassifier(depth=2, width=8, optimizer=optimizer, max_iter=2,
                                batch_size=64, random_state=0,
                                callbacks=[GradientMonitor(record_every=1, warn=False)] + extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        assert set(seen) == {not extra}
        fits.append(clf)
    for name in ("grad_norms_", "delta_norms_", "update_ratios_", "activation_stds_"):
        assert_array_equal(getattr(fits[0].gradient_monitor_, name),
                           getattr(fits[1].gradient_monitor_, name))
    for a, b in zip(fits[0].coefs_, fits[1].coefs_):
        assert_array_equal(a, b)


def test_tiny_init_vanishes_through_the_error_signal(digits):
    # N(0, 0.01^2) weights shrink activations and errors alike, so the weight
    # gradients of the first and last layers are both tiny and similar: only the
    # back-propagated error signal shows the vanishing.
    X, _, y, _ = digits
    clf, _ = _fit(X, y, depth=10, init="normal", init_scale=0.01, max_iter=2)
    monitor = clf.gradient_monitor_
    assert monitor.diagnosis_ == "vanishing"
    assert monitor.vanishing_layers_[0]
    assert monitor.delta_norms_[-1, 0] < 1e-6 * monitor.delta_norms_[-1, -1]


# ------------------------------------------------- the records are the truth
def test_records_match_norms_computed_from_the_batch(digits):
    X, _, y, _ = digits

    class WeightsAtFirstGradient(Callback):
        def on_grad_computed(self, estimator, network, batch):
            if not hasattr(self, "params_"):
                self.params_ = network.params.copy()

    clf = DeepMLPClassifier(
        depth=3, width=[16, 12, 8], activation="tanh", optimizer="sgd", learning_rate=0.05,
        batch_size=None, max_iter=1, dtype="float64", random_state=0, alpha=1e-3,
        callbacks=[WeightsAtFirstGradient(), GradientMonitor(warn=False)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    monitor = clf.gradient_monitor_
    before = clf.callbacks_[0].params_
    assert len(monitor.grad_norms_) == 1  # one full batch, one record

    network = copy.deepcopy(clf._network)
    network.params[...] = before
    Y = clf._label_binarizer.transform(y).astype(float)
    network.loss_and_gradient(X, Y, None, float(len(X)), clf.alpha)
    grads = network.coef_grads
    assert_allclose(monitor.grad_norms_[0], [np.linalg.norm(g) for g in grads], rtol=1e-10)
    assert_allclose(monitor.grad_mean_abs_[0], [np.abs(g).mean() for g in grads], rtol=1e-10)
    assert_allclose(monitor.grad_max_abs_[0], [np.abs(g).max() for g in grads], rtol=1e-10)
    deltas = [np.linalg.norm(d) for d in network.last_batch["deltas"]]
    assert_allclose(monitor.delta_norms_[0], deltas, rtol=1e-10)
    assert_allclose(monitor.layer_gains_[0, :-1], np.divide(deltas[:-1], deltas[1:]))
    activations = network.last_batch["a"]
    assert_allclose(monitor.activation_means_[0, :-1], [a.mean() for a in activations])
    assert_allclose(monitor.activation_stds_[0, :-1], [a.std() for a in activations])
    # The update ratio is the real step: one plain SGD step from ``before``.
    weights_before = Network.__new__(Network)
    weights_before.__setstate__({**network.__getstate__(), "params": before})
    steps = [np.linalg.norm(a - b) / np.linalg.norm(b)
             for a, b in zip(clf.coefs_, weights_before.coefs)]
    assert_allclose(monitor.update_ratios_[0], steps, rtol=1e-8)
    sgd_steps = [0.05 * np.linalg.norm(g) / np.linalg.norm(w)
                 for g, w in zip(grads, weights_before.coefs)]
    assert_allclose(monitor.update_ratios_[0], sgd_steps, rtol=1e-8)


def test_gradients_are_recorded_before_clipping_and_steps_after(digits):
    X, _, y, _ = digits
    lr, clip = 0.1, 1e-3
    clf, _ = _fit(X, y, depth=2, width=16, batch_size=None, max_iter=1, clip_grad_norm=clip,
                  learning_rate=lr, dtype="float64", monitor=GradientMonitor(warn=False))
    monitor = clf.gradient_monitor_
    total = np.sqrt(np.sum(monitor.grad_norms_[0] ** 2))
    assert total > 100 * clip  # the recorded gradient is the unclipped one
    weight_norms = np.array([np.linalg.norm(w) for w in clf.coefs_])
    steps = monitor.update_ratios_[0] * weight_norms  # ~ ||W_before||, steps are tiny
    # The clipped step has norm lr * clip over all parameters, so at most that
    # over the weight matrices, and close to it since weights dominate.
    assert np.sqrt(np.sum(steps**2)) <= lr * clip * (1 + 1e-3)
    assert np.sqrt(np.sum(steps**2)) > 0.5 * lr * clip


def test_record_frequency_and_layout(digits):
    X, _, y, _ = digits
    n_batches = int(np.ceil(len(X) / 32))
    clf, _ = _fit(X, y, depth=3, width=16, max_iter=3, optimizer="adam", learning_rate=1e-3)
    monitor = clf.gradient_monitor_
    # "epoch": the first batch of each epoch.
    assert_array_equal(monitor.record_epochs_, [0, 1, 2])
    assert_array_equal(monitor.record_iterations_, [0, n_batches, 2 * n_batches])
    for name in STATISTICS:
        assert getattr(monitor, name).shape == (3, 4), name
    assert monitor.n_layers_ == 4 and monitor.activation_ == "relu"
    # Values that have no meaning are NaN: the output layer's activations and
    # gain, relu saturation; the others are finite.
    assert np.isnan(monitor.layer_gains_[:, -1]).all()
    assert np.isnan(monitor.saturation_).all()
    for name in ("dead_units_", "activation_means_", "activation_stds_"):
        values = getattr(monitor, name)
        assert np.isnan(values[:, -1]).all() and np.isfinite(values[:, :-1]).all()
    for name in ("grad_norms_", "delta_norms_", "update_ratios_"):
        assert (getattr(monitor, name) > 0).all()

    clf, _ = _fit(X, y, depth=2, width=16, max_iter=2, activation="sigmoid",
                  monitor=GradientMonitor(record_every=7, warn=False))
    monitor = clf.gradient_monitor_
    assert_array_equal(monitor.record_iterations_, np.arange(0, 2 * n_batches, 7))
    assert_array_equal(monitor.record_epochs_, monitor.record_iterations_ // n_batches)
    assert np.isnan(monitor.dead_units_).all()
    assert np.isfinite(monitor.saturation_[:, :-1]).all()


def _hand_made_record(activation, hidden_values, margin=0.01):
    """Record one batch whose hidden activations are ``hidden_values``."""
    rng = np.random.default_rng(0)
    n, width = hidden_values.shape
    network = Network([3, width, 2], activation, "softmax_cross_entropy", dtype=np.float64)
    network.initialize(rng, "glorot_uniform")
    X = rng.normal(size=(n, 3))
    network.loss_and_gradient(X, np.eye(2)[np.arange(n) % 2], None, float(n))
    network.last_batch["a"][0][:n] = hidden_values
    monitor = GradientMonitor(saturation_margin=margin, warn=False)
    estimator = SimpleNamespace(n_layers_=3, activation=activation)
    monitor.on_fit_begin(estimator)
    monitor.on_epoch_begin(estimator, 0)
    monitor.on_grad_computed(estimator, network, 0)
    monitor.on_batch_end(estimator, network, 0, 1.0)
    monitor.on_epoch_end(estimator, 0, 1.0)
    return monitor


def test_saturation_counts_outputs_within_the_margin_of_the_bounds():
    values = np.array([[0.001, 0.5, 0.995, 0.98], [0.02, 0.009, 0.3, 0.999]])
    monitor = _hand_made_record("sigmoid", values, margin=0.01)
    assert monitor.saturation_[0, 0] == pytest.approx(4 / 8)
    monitor = _hand_made_record("sigmoid", values, margin=0.025)
    assert monitor.saturation_[0, 0] == pytest.approx(6 / 8)
    tanh = np.array([[-0.995, 0.0, 0.999, 0.5]])
    assert _hand_made_record("tanh", tanh).saturation_[0, 0] == pytest.approx(2 / 4)
    assert np.isnan(_hand_made_record("tanh", tanh).dead_units_[0, 0])


def test_dead_units_are_non_positive_for_every_sample():
    # Batches of 9 and 8 rows (the rows repeated): fewer than 8 count no dead units.
    values = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    assert _hand_made_record("relu", np.tile(values, (3, 1))).dead_units_[0, 0] == (
        pytest.approx(2 / 4)
    )
    leaky = np.array([[-0.01, 1.0, -0.02], [-0.03, -0.01, 0.5]])
    assert _hand_made_record("leaky_relu", np.tile(leaky, (4, 1))).dead_units_[0, 0] == (
        pytest.approx(1 / 3)
    )
    assert np.isnan(_hand_made_record("relu", values).dead_units_[0, 0])


def _monitor_with_records(grad_norms, delta_norms=None, update_ratios=None, **params):
    """A monitor whose records are the given per-layer values (one row each)."""
    grad_norms = np.asarray(grad_norms, dtype=float)
    n_records, n_layers = grad_norms.shape
    monitor = GradientMonitor(warn=False, **params)
    monitor.on_fit_begin(SimpleNamespace(n_layers_=n_layers + 1, activation="relu"))
    for r in range(n_records):
        monitor._new_record(r)
    buffers = monitor._buffers
    buffers["grad_norms"][:n_records] = grad_norms
    buffers["delta_norms"][:n_records] = grad_norms if delta_norms is None else delta_norms
    buffers["update_ratios"][:n_records] = 1e-3 if update_ratios is None else update_ratios
    monitor._publish()
    return monitor


FLAT = [[1.0, 1.0, 1.0]] * 4  # four records of three layers, all alike
CALM = [[1e-3] * 3] * 4  # update ratios by the CS231n rule of thumb


@pytest.mark.parametrize(
    "records, params, diagnosis, flagged",
    [
        (dict(grad_norms=[[1.0, 2.0, 1.0]] * 4), {}, "healthy", [0, 0, 0]),
        (dict(grad_norms=[[1e-3, 0.5, 1.0]] * 4), {}, "vanishing", [1, 0, 0]),
        (dict(grad_norms=[[1e-3, 0.5, 1.0]] * 4), dict(vanishing_threshold=1e-4),
         "healthy", [0, 0, 0]),
        # the error signal vanishes although the weight gradients do not
        (dict(grad_norms=FLAT, delta_norms=[[1e-5, 1e-3, 1.0]] * 4), {}, "vanishing",
         [1, 1, 0]),
        (dict(grad_norms=[[1e3, 1.0, 1.0]] * 4), {}, "exploding", [1, 0, 0]),
        (dict(grad_norms=FLAT, delta_norms=[[1e4, 30.0, 1.0]] * 4), {}, "exploding",
         [1, 0, 0]),
        (dict(grad_norms=FLAT, update_ratios=[[2.0, 1e-3, 1e-3]] * 4), {}, "exploding",
         [1, 0, 0]),
        (dict(grad_norms=FLAT, update_ratios=[[2.0, 1e-3, 1e-3]] * 4),
         dict(max_update_ratio=3.0), "healthy", [0, 0, 0]),
        # growth of every layer alike: only the growth criterion sees it
        (dict(grad_norms=[[1.0] * 3, [1e5] * 3, [1e5] * 3]), {}, "exploding", [1, 1, 1]),
        (dict(grad_norms=[[1.0] * 3, [1e5] * 3, [1e5] * 3]), dict(growth_threshold=1e6),
         "healthy", [0, 0, 0]),
        # a vanished layer that recovers does not count as growth
        (dict(grad_norms=[[1e-6, 1.0, 1.0]] + FLAT[:3]), {}, "healthy", [0, 0, 0]),
        # a non-finite record anywhere marks its layers, outside the window too
        (dict(grad_norms=[[np.nan, 1.0, 1.0]] + FLAT * 2), {}, "exploding", [1, 0, 0]),
        (dict(grad_norms=FLAT, update_ratios=[[np.inf, 1e-3, 1e-3]] + CALM[:3]), {},
         "exploding", [1, 0, 0]),
        # only the last quarter of the records is summarized: early vanishing is forgiven
        (dict(grad_norms=[[1e-4, 1.0, 1.0]] * 6 + FLAT[:2]), {}, "healthy", [0, 0, 0]),
        (dict(grad_norms=FLAT + [[1.0] * 3, [1e-4, 1.0, 1.0], [1e-4, 1.0, 1.0]]), {},
         "vanishing", [1, 0, 0]),
    ],
)
def test_diagnosis_criteria(records, params, diagnosis, flagged):
    monitor = _monitor_with_records(**records, **params)
    assert monitor.diagnosis_ == diagnosis
    flags = monitor.exploding_layers_ if diagnosis == "exploding" else monitor.vanishing_layers_
    assert_array_equal(flags, np.array(flagged, dtype=bool))
    assert not (monitor.exploding_layers_ & monitor.vanishing_layers_).any()
    # The report shows why: a flagged layer's row has a value marked "*" (or
    # says non-finite), and a row with a marked value is flagged.
    rows = [line for line in monitor.report().splitlines()
            if line.startswith(("hidden", "output"))]
    for row, flag in zip(rows, monitor.exploding_layers_ | monitor.vanishing_layers_):
        shown = "*" in row or "(non-finite)" in row
        assert shown == bool(flag), row


def test_report_shows_the_error_signal_criterion():
    """A layer whose weight gradient is fine but whose error signal vanishes is
    flagged by a value the report prints and marks."""
    monitor = _monitor_with_records(grad_norms=FLAT, delta_norms=[[1e-5, 1e-3, 1.0]] * 4)
    text = monitor.report()
    header, _, first, second, output = text.splitlines()[:5]
    assert header.split() == ["layer", "gradient", "relative", "err", "rel", "gain",
                              "update", "growth", "sat.", "dead", "flag"]
    assert first.endswith("VANISHING") and "1e-5*" in first
    assert "0.001*" in second and "*" not in output
    assert "err rel < 0.01" in text and "growth > 1e+04" in text


# ----------------------------------------------------- sklearn conventions
def test_the_monitor_passed_as_a_parameter_is_untouched(digits):
    X, _, y, _ = digits
    monitor = GradientMonitor(record_every=3, vanishing_threshold=1e-3, warn=False)
    params, state = monitor.get_params(), dict(vars(monitor))
    clf, _ = _fit(X[:300], y[:300], depth=2, width=8, max_iter=2, monitor=monitor)
    assert monitor.get_params() == params and vars(monitor) == state
    assert not [k for k in vars(monitor) if k.endswith("_")]
    assert clf.callbacks[0] is monitor
    assert clf.gradient_monitor_ is clf.callbacks_[0] and clf.gradient_monitor_ is not monitor
    assert clf.gradient_monitor_.get_params() == params
    cloned = clone(clf)
    assert cloned.callbacks[0].get_params() == params
    assert not hasattr(cloned, "gradient_monitor_")


def test_pickle_keeps_every_attribute_and_recording_continues(digits):
    X, _, y, _ = digits
    clf = DeepMLPClassifier(depth=2, width=8, batch_size=64, random_state=0,
                            callbacks=[GradientMonitor(warn=False)])
    classes = np.unique(y)
    clf.partial_fit(X, y, classes=classes)
    clf.partial_fit(X, y)
    monitor = clf.gradient_monitor_
    assert len(monitor.grad_norms_) == 2 and monitor.diagnosis_ == "healthy"
    restored = pickle.loads(pickle.dumps(clf))
    again = restored.gradient_monitor_
    for name in (*STATISTICS, "record_epochs_", "record_iterations_", "relative_grad_norms_",
                 "vanishing_layers_", "exploding_layers_"):
        assert_array_equal(getattr(again, name), getattr(monitor, name), err_msg=name)
    for name in ("vanishing_ratio_", "diagnosis_", "n_layers_", "activation_"):
        assert getattr(again, name) == getattr(monitor, name)
    assert again.report() == monitor.report()
    restored.partial_fit(X, y)
    assert_array_equal(restored.gradient_monitor_.record_epochs_, [0, 1, 2])
    assert_array_equal(restored.gradient_monitor_.grad_norms_[:2], monitor.grad_norms_)
    # Pickling (a checkpoint) and deep copies leave the running monitor intact.
    copy.deepcopy(clf).partial_fit(X, y)
    clf.partial_fit(X, y)
    assert_array_equal(clf.gradient_monitor_.record_epochs_, [0, 1, 2])
    assert_array_equal(clf.gradient_monitor_.grad_norms_, restored.gradient_monitor_.grad_norms_)


def test_diagnosis_is_computed_once_per_fit_and_on_demand_after_partial_fit(
    digits, monkeypatch
):
    X, _, y, _ = digits
    calls = []
    diagnose = GradientMonitor._diagnose
    monkeypatch.setattr(
        GradientMonitor, "_diagnose", lambda self: (calls.append(1), diagnose(self))[1]
    )
    clf, _ = _fit(X[:300], y[:300], depth=2, width=8, max_iter=4,
                  monitor=GradientMonitor(warn=False))
    monitor = clf.gradient_monitor_
    # Once at the end of the fit, not after each of its 4 epochs; listed in vars().
    assert len(calls) == 1 and "diagnosis_" in vars(monitor)
    # partial_fit publishes the new record; the diagnosis of the grown records
    # is computed when read, and equals a fresh computation.
    clf.partial_fit(X[:300], y[:300])
    assert "diagnosis_" not in vars(monitor) and len(calls) == 1
    ratio = monitor.vanishing_ratio_
    assert len(calls) == 2 and len(monitor.grad_norms_) == 5
    # Of the 5 records, not of the 4 of the last diagnosis: the median over the
    # summary window (the last quarter, rounded up: 2 records) of the first
    # layer's gradient norm over the output layer's.
    norms = monitor.grad_norms_
    assert ratio == pytest.approx(np.median(norms[-2:, 0] / norms[-2:, -1]), rel=1e-12)
    assert ratio != pytest.approx(np.median(norms[-2:-1, 0] / norms[-2:-1, -1]), rel=1e-9)
    # A pickle made before the diagnosis was read carries it.
    clf.partial_fit(X[:300], y[:300])
    state = monitor.__getstate__()
    assert state["diagnosis_"] == monitor.diagnosis_ and "diagnosis_" in vars(monitor)
    with pytest.raises(AttributeError, match="no attribute 'not_an_attribute_'"):
        monitor.not_an_attribute_  # noqa: B018
    with pytest.raises(AttributeError, match="diagnosis_"):
        GradientMonitor().diagnosis_  # noqa: B018 (unfitted)


def test_warm_start_continues_the_records(digits):
    X, _, y, _ = digits
    clf, _ = _fit(X[:300], y[:300], depth=2, width=8, max_iter=2, warm_start=True,
                  monitor=GradientMonitor(warn=False))
    first = clf.gradient_monitor_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[:300], y[:300])
    assert clf.gradient_monitor_ is first
    assert_array_equal(first.record_epochs_, [0, 1, 2, 3])


def test_regressor_with_several_outputs():
    X, Y = make_regression(200, 6, n_targets=3, random_state=0)
    reg = DeepMLPRegressor(depth=3, width=16, max_iter=3, random_state=0,
                           callbacks=[GradientMonitor(record_every=2, warn=False)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, Y / Y.std(axis=0))
    monitor = reg.gradient_monitor_
    assert monitor.grad_norms_.shape[1] == 4 and np.isfinite(monitor.grad_norms_).all()


@pytest.mark.parametrize(
    "params",
    [dict(record_every=0), dict(record_every="batch"), dict(vanishing_threshold=2.0),
     dict(exploding_threshold=0.5), dict(saturation_margin=-0.1), dict(warn="yes")],
)
def test_invalid_parameters_are_rejected_at_fit(digits, params):
    X, _, y, _ = digits
    clf = DeepMLPClassifier(depth=1, width=4, max_iter=1, callbacks=[GradientMonitor(**params)])
    name = next(iter(params))
    with pytest.raises(ValueError, match=name):
        clf.fit(X[:50], y[:50])


# ------------------------------------------------------- warnings and report
def test_health_warning_can_be_an_error_or_switched_off(digits):
    X, _, y, _ = digits
    params = dict(depth=10, activation="sigmoid", init="glorot_uniform", max_iter=2)
    clf = DeepMLPClassifier(callbacks=[GradientMonitor()], random_state=0,
                            **{**SETTINGS, **params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("error", GradientHealthWarning)
        with pytest.raises(GradientHealthWarning, match="Vanishing gradients in hidden 1"):
            clf.fit(X, y)
    _, caught = _fit(X, y, monitor=GradientMonitor(warn=False), **params)
    assert GradientHealthWarning not in caught
    assert issubclass(GradientHealthWarning, UserWarning)


@pytest.mark.parametrize("clip", [None, 1.0])
def test_exploding_warning_suggests_only_remedies_not_in_use(digits, clip):
    X, _, y, _ = digits
    clf, _ = _fit(X, y, depth=10, activation="relu", init="normal", init_scale=1.0,
                  max_iter=2, clip_grad_norm=clip, monitor=GradientMonitor(warn=False))
    monitor = clf.gradient_monitor_
    assert monitor.diagnosis_ == "exploding"
    message = monitor._warning_message(clf)
    assert "init='auto'" in message and "normalization='batch'" in message
    # The initial weights explode from the first record: clipping (set or
    # not) and smaller steps leave them as they are (tests/test_gradient_advice.py).
    assert "clip_grad_norm" not in message and "learning_rate" not in message
    # With the init and the normalization in use, nothing is left to change
    # in the initial state, and the steps are not the cause: no remedy.
    in_use = SimpleNamespace(init="auto", normalization="batch", clip_grad_norm=clip,
                             optimizer="sgd", learning_rate_=0.1)
    assert "Try" not in monitor._warning_message(in_use)
    # An explosion that grew during training (the first record calm): the
    # step size first, clipping or a smaller clip, then batch normalization.
    grown = _monitor_with_records(FLAT, update_ratios=[[1e-3] * 3] * 3 + [[5.0] * 3])
    assert grown.diagnosis_ == "exploding" and not grown._from_start()
    message = grown._warning_message(SimpleNamespace(
        init="normal", normalization=None, clip_grad_norm=clip, optimizer="sgd",
        learning_rate_=np.float32(0.1)))
    clipping = "clip_grad_norm" if clip is None else "a smaller clip_grad_norm than 1"
    assert message.endswith(
        f"Try a learning_rate at least 10 times lower (now 0.1), {clipping} or normalization='batch'. "
        "See gradient_monitor_.report()."
    )


def test_exploding_warning_with_lbfgs_suggests_no_learning_rate_or_clipping():
    # L-BFGS has no learning rate and refuses clip_grad_norm: the warning used
    # to suggest both. Two iterations of a linear model from small weights:
    # the line search's first steps are larger than the weights.
    rng = np.random.RandomState(0)
    X = rng.randn(50, 3)
    clf = DeepMLPClassifier(depth=0, max_iter=2, optimizer="lbfgs", random_state=0,
                            callbacks=[GradientMonitor(warn=False)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, (X[:, 0] > 0).astype(int))
    monitor = clf.gradient_monitor_
    assert monitor.diagnosis_ == "exploding"
    message = monitor._warning_message(clf)
    assert "learning_rate" not in message and "clip_grad_norm" not in message


def test_vanishing_warning_does_not_suggest_relu_to_a_relu_net():
    monitor = _monitor_with_records(grad_norms=[[1e-3, 0.5, 1.0]] * 4)  # a relu net
    estimator = SimpleNamespace(normalization="batch", residual=False)
    message = monitor._warning_message(estimator)
    assert "activation='relu'" not in message and "normalization" not in message
    assert "residual=True" in message


def test_report_is_a_per_layer_table(digits):
    X, _, y, _ = digits
    clf, _ = _fit(X, y, depth=10, activation="sigmoid", init="glorot_uniform", max_iter=2,
                  monitor=GradientMonitor(warn=False))
    stream = io.StringIO()
    text = clf.gradient_monitor_.report(file=stream)
    assert stream.getvalue() == text + "\n"
    lines = text.splitlines()
    rows = [line for line in lines if line.startswith(("hidden", "output"))]
    assert len(rows) == 11
    assert rows[0].endswith("VANISHING") and not rows[-1].endswith("VANISHING")
    assert "diagnosis: vanishing" in lines[-1]
    with pytest.raises(ValueError, match="no records"):
        GradientMonitor().report()

@pytest.mark.parametrize("attribute", ["gradient_monitor_", "curvature_monitor_"])
def test_report_writes_to_a_stream_or_a_path_and_refuses_the_rest(attribute, tmp_path):
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    clf = DeepMLPClassifier(
        depth=2, width=8, max_iter=2, random_state=0,
        callbacks=[GradientMonitor(warn=False), CurvatureMonitor(random_state=0)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        monitor = getattr(clf.fit(X, y), attribute)
    text = monitor.report()
    stream = io.StringIO()
    assert monitor.report(file=stream) == text and stream.getvalue() == text + "\n"
    for path in (str(tmp_path / "report.txt"), tmp_path / "report2.txt"):
        monitor.report(file=path)  # was: AttributeError 'str' object has no 'write'
        assert Path(path).read_text(encoding="utf-8") == text + "\n"
    for bad in (3, ["a"], b"report.txt"):
        with pytest.raises(TypeError, match=r"report\(file=\.\.\.\) takes a file-like"):
            monitor.report(file=bad)


# ------------------------------------------------------------------- scorer
def test_scorer_reads_the_monitor_through_pipelines(digits):
    X, _, y, _ = digits
    pipe = make_pipeline(
        StandardScaler(),
        DeepMLPClassifier(depth=2, width=8, max_iter=1, random_state=0,
                          callbacks=[GradientMonitor(warn=False)]),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y)
    ratio = pipe[-1].gradient_monitor_.vanishing_ratio_
    assert vanishing_ratio_scorer(pipe, X, y) == pytest.approx(np.log10(ratio))
    assert make_gradient_health_scorer("healthy")(pipe, X, y) == 1.0
    update = make_gradient_health_scorer("update_ratio")(pipe, X, y)
    assert -6 < update < 0
    with pytest.warns(ConvergenceWarning):  # one epoch on purpose
        bare = DeepMLPClassifier(depth=1, width=4, max_iter=1).fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="no fitted gradient monitor.*to score its gradient"):
        vanishing_ratio_scorer(make_pipeline(StandardScaler(), bare), X, y)
    passthrough = make_pipeline(StandardScaler(), "passthrough").fit(X, y)
    with pytest.raises(ValueError, match="no fitted gradient monitor"):
        vanishing_ratio_scorer(passthrough, X, y)
    with pytest.raises(ValueError, match="metric must be one of"):
        make_gradient_health_scorer("accuracy")


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_tabulates_accuracy_and_vanishing_ratio(digits, n_jobs):
    X, _, y, _ = digits
    clf = DeepMLPClassifier(width=16, activation="sigmoid", max_iter=2, batch_size=32,
                            random_state=0, callbacks=[GradientMonitor(warn=False)])
    search = GridSearchCV(
        clf,
        {"depth": [1, 8], "optimizer": ["sgd", "adam"]},
        scoring={"accuracy": "accuracy", "vanishing_ratio": vanishing_ratio_scorer},
        refit="accuracy", cv=2, n_jobs=n_jobs, error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X[:600], y[:600])
    results = search.cv_results_
    ratios = np.asarray(results["mean_test_vanishing_ratio"])
    assert np.isfinite(ratios).all()
    depths = np.asarray(results["param_depth"], dtype=int)
    # Deeper sigmoid nets: the first layer gets relatively smaller gradients.
    assert ratios[depths == 8].max() < ratios[depths == 1].min()
    assert "mean_test_accuracy" in results


def test_set_params_with_an_unknown_key_changes_nothing():
    # scikit-learn's set_params sets the keys in turn: the valid one before
    # the unknown one stayed set.
    monitor = GradientMonitor(vanishing_threshold=0.01)
    with pytest.raises(ValueError, match="not_a_parameter"):
        monitor.set_params(vanishing_threshold=1.0, not_a_parameter=1)
    assert monitor.vanishing_threshold == 0.01
