"""The dead-unit diagnosis of :class:`GradientMonitor` and its unscaled-input remedy.

A tester swapped ``MLPClassifier`` for ``DeepMLPClassifier`` on raw wine: a fold
stopped at a training accuracy of 0.64 with half the relu units dead, and the
monitor said "healthy". Raw wine now gets ``"dead_units"`` with "scaling X"
first among the remedies; the standardized fit stays healthy.
"""

import pickle
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits, load_wine, make_regression
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet._gradient_monitor import DIAGNOSIS_ATTRIBUTES, _input_scale
from sk_deepnet.callbacks import (
    GradientHealthWarning,
    GradientMonitor,
    make_gradient_health_scorer,
)


@pytest.fixture(scope="module")
def wine():
    return load_wine(return_X_y=True)


def _fit(X, y, monitor=None, max_iter=12, **params):
    """A default DeepMLPClassifier (3 x 100 relu, adam) for 12 epochs; its warnings."""
    monitor = GradientMonitor() if monitor is None else monitor
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = DeepMLPClassifier(max_iter=max_iter, random_state=0, callbacks=[monitor],
                                **params).fit(X, y)
    health = [str(w.message) for w in caught if w.category is GradientHealthWarning]
    return clf, health


def test_raw_wine_is_diagnosed_dead_units_with_scaling_first(wine):
    X, y = wine
    clf, health = _fit(X, y)
    monitor = clf.gradient_monitor_
    assert monitor.diagnosis_ == "dead_units"
    dead = monitor._window(monitor.dead_units_)
    # The last two hidden layers have half or more of their units dead.
    assert_array_equal(monitor.dead_layers_, dead >= 0.5)
    assert_array_equal(monitor.dead_layers_, [False, True, True, False])
    assert not monitor.vanishing_layers_.any() and not monitor.exploding_layers_.any()
    # Wine's proline feature has a mean of 747 and a std of 314: far from standardized.
    assert monitor.input_scale_ == pytest.approx(np.abs(X.mean(axis=0)).max(), rel=1e-12)
    assert clf.score(X, y) < 0.6  # the user guide: 0.45
    assert ((0.5 <= dead[1:3]) & (dead[1:3] <= 0.7)).all()  # the user guide: 56%, 63%
    [message] = health
    # Dead from the first record: the inputs' scale, not the steps, kills
    # them; a lower learning rate or leaky_relu leave them dead (a new-user
    # test: the same dead fractions and accuracy), scaling or batch norm train.
    assert message == (
        f"Dead relu units in hidden 2 ({dead[1]:.0%}), hidden 3 ({dead[2]:.0%}): no "
        "positive output on a whole batch, they pass back no gradient. Half or more were "
        "dead at the first record: the inputs' scale, not the steps, holds them below "
        "zero. Try scaling X (StandardScaler; a feature's std is 314) or "
        "normalization='batch'. See gradient_monitor_.report()."
    )
    assert monitor._from_start()
    # The user guide quotes this warning, with the percentages of this run.
    guide = (Path(__file__).parents[1] / "doc" / "user_guide" / "vanishing_gradients.rst")
    quoted = guide.read_text().split("    GradientHealthWarning: Dead relu units", 1)[1]
    quoted = "Dead relu units" + quoted.split("\n\n", 1)[0]
    assert " ".join(quoted.split()) == message
    report = monitor.report()
    assert "dead >= 0.5 -> DEAD" in report
    assert "diagnosis: dead_units;" in report
    assert report.endswith("data far from standardized: try scaling X (StandardScaler; "
                           "a feature's std is 314) first")
    rows = [line for line in report.splitlines() if line.startswith(("hidden", "output"))]
    assert [row.endswith("* DEAD") for row in rows] == [False, True, True, False]
    assert make_gradient_health_scorer("healthy")(clf) == 0.0


def test_standardized_wine_is_healthy_and_unscaled_healthy_fits_do_not_warn(wine):
    X, y = wine
    clf, health = _fit(StandardScaler().fit_transform(X), y)
    monitor = clf.gradient_monitor_
    assert monitor.diagnosis_ == "healthy" and not monitor.dead_layers_.any()
    assert np.nanmax(monitor._window(monitor.dead_units_)) <= 0.07  # the user guide
    assert not health and monitor.input_scale_ == pytest.approx(1.0)
    assert "far from standardized" not in monitor.report()
    # Raw digits (pixel values 0 to 16) train well: unscaled inputs alone do
    # not make the monitor warn.
    X, y = load_digits(return_X_y=True)
    clf, health = _fit(X[:500], y[:500], depth=3, width=32)
    assert clf.gradient_monitor_.input_scale_ > 10  # a pixel's mean is 12.2
    assert clf.gradient_monitor_.diagnosis_ == "healthy" and not health


def _monitor_with(dead, grad_norms=None, activation="relu", scaling=(), first_dead=None,
                  **params):
    """A monitor with four identical records: these dead fractions per hidden layer
    (``first_dead``: other fractions in the first record)."""
    n_layers = len(dead) + 1
    monitor = GradientMonitor(warn=False, **params)
    monitor.on_fit_begin(SimpleNamespace(n_layers_=n_layers + 1, activation=activation))
    for r in range(4):
        monitor._new_record(r)
    buffers = monitor._buffers
    buffers["grad_norms"][:4] = [1.0] * n_layers if grad_norms is None else grad_norms
    buffers["delta_norms"][:4] = buffers["grad_norms"][:4]
    buffers["update_ratios"][:4] = 1e-3
    buffers["dead_units"][:4] = list(dead) + [np.nan]
    if first_dead is not None:
        buffers["dead_units"][0] = list(first_dead) + [np.nan]
    monitor._scaling_remedies = list(scaling)
    monitor._publish()
    return monitor


@pytest.mark.parametrize(
    "dead, params, diagnosis, flagged",
    [
        ([0.2, 0.49], {}, "healthy", [0, 0, 0]),
        ([0.2, 0.5], {}, "dead_units", [0, 1, 0]),  # at the threshold
        ([0.2, 0.5], dict(dead_threshold=0.6), "healthy", [0, 0, 0]),
        ([0.3, 0.3], dict(dead_threshold=0.25), "dead_units", [1, 1, 0]),
        ([1.0, 1.0], dict(dead_threshold=1.0), "dead_units", [1, 1, 0]),
        ([np.nan, np.nan], {}, "healthy", [0, 0, 0]),  # tanh, sigmoid: no dead units
    ],
)
def test_dead_threshold(dead, params, diagnosis, flagged):
    monitor = _monitor_with(dead, **params)
    assert monitor.diagnosis_ == diagnosis
    assert_array_equal(monitor.dead_layers_, np.array(flagged, dtype=bool))


def test_precedence_exploding_then_vanishing_then_dead():
    # A vanishing first layer whose units are also dead: both flags, one diagnosis.
    monitor = _monitor_with([0.9, 0.1], grad_norms=[1e-4, 1.0, 1.0])
    assert monitor.diagnosis_ == "vanishing"
    assert_array_equal(monitor.vanishing_layers_, [True, False, False])
    assert_array_equal(monitor.dead_layers_, [True, False, False])
    message = monitor._warning_message()
    assert message.startswith("Vanishing gradients in hidden 1")
    assert "Dead relu units in hidden 1 (90%)" in message
    assert monitor.report().splitlines()[2].endswith("VANISHING, DEAD")
    monitor = _monitor_with([0.9, 0.1], grad_norms=[1e4, 1.0, 1.0])
    assert monitor.diagnosis_ == "exploding" and monitor.dead_layers_[0]


def test_remedies_name_scaling_only_for_unscaled_data_and_leave_out_those_in_use():
    scale_x = "scaling X (StandardScaler; a feature's std is 50)"
    adam = SimpleNamespace(optimizer="adam", normalization=None, init="auto",
                           learning_rate_=0.001)
    # Dead from the first record: scale X, then change the initial state.
    monitor = _monitor_with([0.6, 0.1], scaling=[scale_x])
    message = monitor._warning_message(adam)
    assert "Half or more were dead at the first record" in message
    assert f"Try {scale_x} or normalization='batch'. See" in message
    # Died during training: smaller steps first (the dead layers' fractions
    # at the first record below half the window's: most died afterwards).
    monitor = _monitor_with([0.6, 0.1], first_dead=[0.29, 0.1], scaling=[scale_x])
    message = monitor._warning_message(adam)
    assert "They died during training (large steps are the usual cause)." in message
    assert (
        f"Try {scale_x}, a learning_rate about 100 times lower (now 0.001), "
        "activation='leaky_relu' or 'elu' (their units keep a gradient on negative "
        "inputs) or normalization='batch'. See"
    ) in message
    assert "Half or more" in _monitor_with(
        [0.6, 0.1], first_dead=[0.3, 0.1], scaling=[scale_x])._warning_message(adam)
    # Dead from the start on standardized inputs: the initial weights of a
    # deep narrow net; skip connections or elu (not batch normalization).
    message = _monitor_with([0.6, 0.1])._warning_message(adam)
    assert "the initial weights, not the steps, holds them below zero" in message
    assert "Try residual=True or activation='elu'. See" in message
    # One hidden layer has no residual block; a y far from standardized is
    # no cause of dead units.
    one_layer = SimpleNamespace(optimizer="adam", normalization=None, init="auto", depth=1)
    assert "Try activation='elu'. See" in _monitor_with([0.6])._warning_message(one_layer)
    message = _monitor_with([0.6, 0.1], scaling=["scaling y (its std is 77)"])._warning_message(
        adam)
    assert "the initial weights, not the steps" in message
    assert "Try scaling y (its std is 77), residual=True or activation='elu'. See" in message
    # Those in use are left out; L-BFGS has no learning rate.
    in_use = SimpleNamespace(optimizer="adam", normalization="batch", init="auto",
                             residual=True)
    message = _monitor_with([0.6, 0.1], scaling=[scale_x])._warning_message(in_use)
    assert message.endswith(f"Try {scale_x}. See gradient_monitor_.report().")
    monitor = _monitor_with([0.6, 0.1], first_dead=[0.0, 0.0], activation="leaky_relu")
    lbfgs = SimpleNamespace(optimizer="lbfgs", normalization="batch", init="he_normal")
    message = monitor._warning_message(lbfgs)
    assert message.endswith(
        "they pass back 1% of the gradient. They died during training (large steps "
        "are the usual cause). See gradient_monitor_.report()."
    )
    message = _monitor_with([0.6, 0.1], activation="leaky_relu")._warning_message(lbfgs)
    assert message.endswith("Try residual=True or init='auto'. See gradient_monitor_.report().")
    # elu's (and gelu's, selu's) negative side keeps a gradient near zero.
    elu = _monitor_with([0.6, 0.1], activation="elu")._warning_message(lbfgs)
    assert "a gradient that shrinks the further below zero their inputs are" in elu
    assert "far from standardized" not in monitor.report()
    # A vanishing or exploding net on unscaled data gets the remedy first too.
    monitor = _monitor_with([0.1, 0.1], grad_norms=[1e4, 1.0, 1.0], scaling=[scale_x])
    assert f"Try {scale_x} or normalization='batch'" in monitor._warning_message(adam)
    assert f"data far from standardized: try {scale_x} first" in monitor.report()
    # A healthy one gets neither warning nor remedy, whatever the scale.
    monitor = _monitor_with([0.1, 0.1], scaling=[scale_x])
    assert monitor.diagnosis_ == "healthy" and "far from" not in monitor.report()


def test_units_that_died_during_training_explain_the_vanishing_below_them():
    # Hidden 2 died after the first record: no error signal reaches hidden 1.
    monitor = _monitor_with([0.1, 1.0], grad_norms=[1e-4, 1e-4, 1.0], first_dead=[0.0, 0.0])
    monitor._buffers["grad_norms"][0] = monitor._buffers["delta_norms"][0] = 1.0
    monitor._publish()
    assert_array_equal(monitor.vanishing_layers_, [True, True, False])
    assert monitor.diagnosis_ == "dead_units"
    message = monitor._warning_message()
    assert message.startswith("Dead relu units in hidden 2 (100%)")
    assert "Vanishing gradients in hidden 1, hidden 2: hidden 1's gradient norm is 0.0001" in (
        message)
    # A layer vanishing above the dead ones is not explained by them.
    monitor = _monitor_with([1.0, 0.1], grad_norms=[1e-4, 1e-4, 1.0], first_dead=[0.0, 0.0])
    monitor._buffers["grad_norms"][0] = monitor._buffers["delta_norms"][0] = 1.0
    monitor._publish()
    assert monitor.diagnosis_ == "vanishing"


@pytest.mark.parametrize("value", [0, -0.1, 1.5, "half"])
def test_dead_threshold_is_validated(wine, value):
    X, y = wine
    clf = DeepMLPClassifier(depth=1, width=4, max_iter=1,
                            callbacks=[GradientMonitor(dead_threshold=value)])
    with pytest.raises(ValueError, match="dead_threshold"):
        clf.fit(X[:50], y[:50])


def test_input_scale_and_the_scaling_remedies(wine):
    X, y = wine
    expected = np.abs(X.mean(axis=0)).max()  # proline's mean, above its std
    classifier = DeepMLPClassifier()
    scale, remedies = _input_scale(classifier, X, y)
    assert scale == pytest.approx(expected, rel=1e-12)
    assert remedies == ["scaling X (StandardScaler; a feature's std is 314)"]
    scale, remedies = _input_scale(classifier, sp.csr_matrix(X), y)
    assert scale == pytest.approx(expected, rel=1e-12)
    assert remedies == ["scaling X (MaxAbsScaler or StandardScaler(with_mean=False); "
                        "a feature's std is 314)"]
    # A regressor's target too; none for standardized data.
    Xs = StandardScaler().fit_transform(X)
    scale, remedies = _input_scale(DeepMLPRegressor(), Xs, 100 * y)
    assert scale == pytest.approx(1.0)
    assert remedies == ["scaling y (TransformedTargetRegressor with StandardScaler; "
                        "its std is 77.3)"]
    assert _input_scale(classifier, Xs, None) == (pytest.approx(1.0), [])
    scale, remedies = _input_scale(classifier, None, None)
    assert np.isnan(scale) and remedies == []
    # A direct call of the hook with a stand-in estimator or without y: X only.
    stand_in = SimpleNamespace(n_layers_=3, activation="relu")
    for estimator, target in [(stand_in, 100 * y), (DeepMLPRegressor(), None)]:
        scale, remedies = _input_scale(estimator, X, target)
        assert remedies == ["scaling X (StandardScaler; a feature's std is 314)"]
    # With early stopping: every row of X, the validation rows included (no copy).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = DeepMLPClassifier(depth=1, width=4, max_iter=2, early_stopping=True,
                                callbacks=[GradientMonitor(warn=False)]).fit(X, y)
    assert clf.gradient_monitor_.input_scale_ == pytest.approx(expected, rel=1e-12)


def test_dead_layers_are_computed_on_demand_and_pickled(wine):
    X, y = wine
    clf, _ = _fit(X, y, GradientMonitor(warn=False), max_iter=4)
    monitor = clf.gradient_monitor_
    assert "dead_layers_" in DIAGNOSIS_ATTRIBUTES and "dead_layers_" in vars(monitor)
    clf.partial_fit(X, y)
    assert "dead_layers_" not in vars(monitor)
    assert monitor.dead_layers_.shape == (4,) and "diagnosis_" in vars(monitor)
    again = pickle.loads(pickle.dumps(clf)).gradient_monitor_
    assert_array_equal(again.dead_layers_, monitor.dead_layers_)
    assert again.input_scale_ == monitor.input_scale_
    assert again.get_params() == monitor.get_params()
    assert again.report() == monitor.report()


def test_a_pickle_from_before_the_dead_unit_diagnosis_loads(wine):
    X, y = wine
    clf, _ = _fit(X, y, GradientMonitor(warn=False))
    state = clf.gradient_monitor_.__getstate__()
    for name in ("dead_threshold", "dead_layers_", "input_scale_", "_scaling_remedies"):
        del state[name]
    state["diagnosis_"] = "healthy"  # what the older version said
    old = GradientMonitor.__new__(GradientMonitor)
    old.__setstate__(state)
    assert old.get_params()["dead_threshold"] == 0.5
    assert np.isnan(old.input_scale_)
    # The diagnosis is computed again from the records, with dead_layers_.
    assert old.diagnosis_ == "dead_units" and old.dead_layers_.any()
    assert "diagnosis: dead_units" in old.report()
    # An unfitted monitor of that version too.
    state = GradientMonitor().__getstate__()
    del state["dead_threshold"]
    fresh = GradientMonitor.__new__(GradientMonitor)
    fresh.__setstate__(state)
    assert fresh.get_params() == GradientMonitor().get_params()


def test_batches_too_small_to_tell_count_on_over_the_next_batches(wine):
    # With batch_size=1 a healthy unit is off for the whole one-row batch half
    # the time: standardized wine read about 50% dead and "dead_units" while it
    # fitted its training set exactly. A batch of fewer than 32 rows now counts
    # on over the batches after it until there are 32 rows.
    X, y = StandardScaler().fit_transform(wine[0]), wine[1]
    clf, health = _fit(X, y, batch_size=1, max_iter=3)
    monitor = clf.gradient_monitor_
    assert np.isfinite(monitor.dead_units_[:, :-1]).all()
    assert monitor.dead_units_[:, :-1].max() < 0.3 and not monitor.dead_layers_.any()
    assert monitor.diagnosis_ == "healthy" and not health
    # Raw wine with batches of 4 rows: dead, as with batches of 200 (it read
    # "healthy" when batches under 8 rows counted none).
    clf, health = _fit(wine[0], y, batch_size=4, max_iter=12)
    monitor = clf.gradient_monitor_
    assert monitor.diagnosis_ == "dead_units" and health
    assert np.isfinite(monitor.dead_units_[:, :-1]).all()
    # With a record every mini-batch the next record comes first: NaN.
    clf, _ = _fit(X, y, batch_size=4, max_iter=1, monitor=GradientMonitor(record_every=1))
    assert np.isnan(clf.gradient_monitor_.dead_units_).all()
    clf, _ = _fit(X, y, batch_size=8, max_iter=3)
    assert np.isfinite(clf.gradient_monitor_.dead_units_[:, :-1]).all()


def test_the_count_of_a_small_batch_goes_on_over_the_next_rows():
    # A hand-made net: hidden unit k outputs relu(x - k). The record's batch
    # has 4 rows of x = 0 (every unit off), the next batch 4 rows of x = 1.5
    # (units 0 and 1 on), then 24 rows of x = 0: 2 of 4 units dead over the
    # 32 rows.
    monitor = GradientMonitor(warn=False)
    monitor.on_fit_begin(SimpleNamespace(n_layers_=3, activation="relu"))
    monitor._layout(SimpleNamespace(weights=[np.ones((1, 4)), np.ones((4, 1))]))

    def batch(x, rows):
        outputs = np.maximum(x - np.arange(4.0), 0) * np.ones((rows, 1))
        return SimpleNamespace(activations=[outputs], n_samples=rows)

    row = monitor._new_record(0)
    monitor._record_activations(batch(0.0, 4), row)
    monitor._continue_dead_count(batch(1.5, 4))
    assert np.isnan(monitor._buffers["dead_units"][row, 0])  # 8 rows: counting on
    monitor._continue_dead_count(batch(0.0, 24))
    assert monitor._buffers["dead_units"][row, 0] == 0.5
    assert monitor._dead_count is None
    # An epoch that ends first: the count ends with at least 8 rows, else NaN.
    for rows, expected in ((4, 0.5), (3, np.nan)):
        row = monitor._new_record(1)
        monitor._record_activations(batch(0.0, 4), row)
        monitor._continue_dead_count(batch(1.5, rows))
        monitor.on_epoch_end(None, 0, 0.0)
        assert_array_equal(monitor._buffers["dead_units"][row, 0], expected)
    # An epoch that did not end (an interrupted partial_fit): the next one
    # ends the count before its own batches.
    row = monitor._new_record(2)
    monitor._record_activations(batch(0.0, 4), row)
    monitor._continue_dead_count(batch(1.5, 4))
    monitor.on_epoch_begin(None, 1)
    assert monitor._dead_count is None and monitor._buffers["dead_units"][row, 0] == 0.5
    # A copy made mid-count (pickled between partial_fit calls) drops it:
    # its row may not be among the published records the copy rebuilds.
    row = monitor._new_record(3)
    monitor._record_activations(batch(0.0, 4), row)
    assert monitor._dead_count is not None
    assert pickle.loads(pickle.dumps(monitor))._dead_count is None


def test_one_row_batches_count_dead_units_close_to_all_the_rows():
    # A regressor's units are on for a small part of the samples: counted on
    # 8 one-row batches, its second hidden layer read 0.48 dead where all the
    # training rows give 0.35. Counted on 32 rows, the last record is within
    # 0.1 of the count on every row (at the final weights, a few steps on).
    X, y = make_regression(n_samples=1000, n_features=10, n_informative=8, noise=5,
                           random_state=0)
    X, y = StandardScaler().fit_transform(X), (y - y.mean()) / y.std()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = DeepMLPRegressor(random_state=2, batch_size=1, max_iter=10,
                               callbacks=[GradientMonitor(warn=False)]).fit(X, y)
    h, every_row = X, []
    for weights, bias in zip(reg.coefs_[:-1], reg.intercepts_[:-1]):
        h = np.maximum(h @ weights + bias, 0)
        every_row.append(np.mean((h <= 0).all(axis=0)))
    recorded = reg.gradient_monitor_.dead_units_[-1, :-1]
    assert np.abs(recorded - every_row).max() < 0.1, (recorded, every_row)
