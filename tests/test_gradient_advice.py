"""What a GradientMonitor says and suggests follows the evidence of its records.

A new-user test built the classic failures on purpose and applied each
suggested remedy. Four answers were wrong: a fit that diverged between two
records was "healthy"; relu units that Adam killed at ``learning_rate=1.0``
were "vanishing", with remedies that did not revive them; an explosion of the
initial weights was told to lower the learning rate and clip; units dead
from the first record were told to change the learning rate. These fits,
on standardized digits, check the answers now given, and the remedies that
the module docstring of ``sk_deepnet._gradient_advice`` cites.
"""

import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor, DivergenceWarning
from sk_deepnet._gradient_advice import INITIAL_LOSS_FACTOR, initial_loss_ratio
from sk_deepnet._gradient_monitor import _alive
from sk_deepnet.callbacks import Callback, GradientHealthWarning, GradientMonitor


def _fit(X, y, monitor=None, **params):
    """Fit with a GradientMonitor (no warning); the estimator and its monitor."""
    monitor = GradientMonitor(warn=False) if monitor is None else monitor
    clf = DeepMLPClassifier(random_state=0, callbacks=[monitor], **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DivergenceWarning)
        clf.fit(X, y)
    return clf, clf.gradient_monitor_


def test_a_fit_that_diverged_between_two_records_is_exploding(digits):
    # The loss blows up over the last batches of epoch 7; the monitor records
    # each epoch's first batch, whose gradients are all moderate.
    X, _, y, _ = digits
    params = dict(depth=5, width=64, init="he_uniform", optimizer="sgd",
                  learning_rate=0.5, batch_size=32, max_iter=20)
    with pytest.warns(DivergenceWarning, match="epoch 7") as record:
        DeepMLPClassifier(random_state=0, **params).fit(X, y)
    # The estimator's own warning: the initial model was fine, the steps first.
    message = str(record[0].message)
    assert "Before the first step" not in message
    assert message.endswith(
        "Try a lower learning_rate (now 0.5), clip_grad_norm or normalization='batch'."
    )
    clf, monitor = _fit(X, y, **params)
    assert monitor.diverged_ and monitor.stopped_mid_epoch_
    assert monitor.diagnosis_ == "exploding"
    assert not monitor.exploding_layers_.any()  # no record shows it
    message = monitor._warning_message(clf)
    assert message.startswith(
        "Training diverged: the loss or the weights became infinite or NaN after the "
        f"last record (mini-batch {monitor.record_iterations_[-1]}), whose gradients "
        "show no explosion; GradientMonitor(record_every=1) records every mini-batch. "
        "Try a learning_rate at least 10 times lower (now 0.5), clip_grad_norm or normalization='batch'."
    )
    assert "init=" not in message  # He init: the steps are too large, not the weights
    # Ten times lower trains it.
    _, lower = _fit(X, y, **{**params, "learning_rate": 0.05})
    assert not lower.diverged_ and lower.diagnosis_ == "healthy"
    report = monitor.report()
    assert "diagnosis: exploding" in report
    assert "exploding: training diverged (diverged_), after the values above" in report
    # Recording every batch shows where.
    _, every = _fit(X, y, GradientMonitor(record_every=1, warn=False), **params)
    assert every.diagnosis_ == "exploding" and every.exploding_layers_.any()


def test_an_explosion_of_the_initial_weights_is_told_to_change_them(digits):
    X, X_test, y, y_test = digits
    params = dict(depth=10, width=64, init="normal", init_scale=1.0, optimizer="sgd",
                  batch_size=32, max_iter=2)
    for rate in (0.1, 1e-6):  # smaller steps do not help
        clf, monitor = _fit(X, y, learning_rate=rate, **params)
        assert monitor.diagnosis_ == "exploding" and monitor._from_start()
    message = monitor._warning_message(clf)
    assert "The first record shows it already: the initial weights amplify" in message
    assert "Try init='auto' or normalization='batch'. See" in message
    assert "learning_rate" not in message and "clip_grad_norm" not in message
    clf, monitor = _fit(X, y, learning_rate=0.1, **{**params, "init": "auto", "max_iter": 10})
    assert monitor.diagnosis_ == "healthy" and clf.score(X_test, y_test) > 0.85


def test_the_estimators_warnings_blame_the_initial_weights_on_the_evidence(digits):
    # Without a monitor: the first batch's loss, before any step, is 1e8
    # times that of an output of zeros (benchmarks/initial_loss.py).
    X, X_test, y, y_test = digits
    params = dict(depth=10, width=64, init="normal", init_scale=1.0, max_iter=2)
    for rate in (0.1, 1e-6):  # smaller steps do not help
        with pytest.warns(DivergenceWarning) as record:
            DeepMLPClassifier(random_state=0, optimizer="sgd", learning_rate=rate,
                              batch_size=32, **params).fit(X, y)
        message = str(record[0].message)
        assert "Before the first step the loss was already" in message
        assert "times that of an output of zeros: the initial model amplifies its inputs" in message
        assert message.endswith(
            f"Try init='auto', normalization='batch', a lower learning_rate (now {rate:g}) "
            "or clip_grad_norm."
        )
    # Adam and L-BFGS do not diverge from it: they stay near it, and their
    # ConvergenceWarning says why.
    for optimizer in ("adam", "lbfgs"):
        with pytest.warns(ConvergenceWarning) as record:
            clf = DeepMLPClassifier(random_state=0, optimizer=optimizer, **params).fit(X, y)
        message = str(record[0].message)
        assert "The training loss is still" in message and "(it began at" in message
        assert message.endswith(
            "the initial model amplifies its inputs. Try init='auto' or normalization='batch'."
        )
        assert clf.score(X_test, y_test) < 0.7 and clf.loss_ > 1e4
    # The remedy trains it (the fit of test_an_explosion_of_the_initial_weights...).
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        clf = DeepMLPClassifier(
            random_state=0, optimizer="sgd", learning_rate=0.1, batch_size=32,
            **{**params, "init": "auto", "max_iter": 10},
        ).fit(X, y)
    assert not any("output of zeros" in str(w.message) for w in record)
    assert clf.score(X_test, y_test) > 0.85


def test_a_fit_that_blew_up_without_overflowing_says_so():
    # Adam at learning_rate=30 takes a regressor to 1e22 times the loss of
    # an output of zeros, finite: the warning was "maximum iterations", and
    # a longer fit stopped on its plateau without any warning.
    X, _ = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:300]
    y = X[:, 10] * 3 + X[:, 20]
    params = dict(depth=4, width=32, learning_rate=30.0, batch_size=32, random_state=0)
    for max_iter, start in ((8, "Stochastic optimizer: maximum iterations (8) reached"),
                            (100, "Training stopped after 40 epochs without improvement "
                                  "(n_iter_no_change=10).")):
        with pytest.warns(ConvergenceWarning) as record:
            reg = DeepMLPRegressor(max_iter=max_iter, **params).fit(X, y)
        message = str(record[0].message)
        assert message.startswith(start)
        assert re.search(r"The training loss ended at 1\.\d+e\+22 times that of an output of "
                         r"zeros \(it began at 0\.\d+ times it\): the steps made the model", message)
        assert message.endswith(
            "Try a lower learning_rate (now 30), clip_grad_norm or normalization='batch'."
        )
        assert reg.score(X, y) < -1e20
    # The remedy: the default rate trains it, without the sentence.
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        reg = DeepMLPRegressor(max_iter=30, **{**params, "learning_rate": 0.001}).fit(X, y)
    assert not any("output of zeros" in str(w.message) for w in record)
    assert reg.score(X, y) > 0.9


def _messages(estimator, X, y):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        estimator.fit(X, y)
    return [str(w.message) for w in record]


def test_the_evidence_is_not_fooled_by_sorted_rows_tiny_targets_or_the_l2_penalty():
    # Three false alarms of a first version: the reference read the first
    # 256 rows (rows sorted by a growing target), a target of std 0.014 made
    # a default init "amplify its inputs", and so did the L2 penalty.
    rng = np.random.RandomState(0)
    t = np.linspace(0, 1, 2000)
    X = np.c_[(t - t.mean()) / t.std(), rng.randn(2000, 3)]
    y = 3 * t**3 + 0.002 * rng.randn(2000)
    messages = _messages(DeepMLPRegressor(depth=2, width=32, max_iter=10, random_state=0), X, y)
    assert not any("output of zeros" in m for m in messages)
    X = rng.randn(1000, 10)
    y = 0.01 * (X[:, 0] + rng.randn(1000))  # daily returns: scaling y is the remedy
    [message] = _messages(DeepMLPRegressor(optimizer="sgd", max_iter=200, random_state=0), X, y)
    assert "try scaling y (TransformedTargetRegressor with StandardScaler; its std is 0.0" in message
    assert "amplifies its inputs" not in message
    X, y = load_breast_cancer(return_X_y=True)
    clf = DeepMLPClassifier(batch_size=8, optimizer="sgd", max_iter=20, random_state=0,
                            alpha=10.0, learning_rate=3.0)
    [message] = _messages(clf, StandardScaler().fit_transform(X), y)
    assert message.startswith("Training diverged") and "Before the first step" not in message


def test_the_final_loss_leaves_the_l2_penalty_out():
    # alpha=100: the loss with the penalty ends at 480 times an output of
    # zeros' (0.5 on a standardized target), the data loss near 1.
    X, y = make_friedman1(300, random_state=0)
    X, y = StandardScaler().fit_transform(X), (y - y.mean()) / y.std()
    reg = DeepMLPRegressor(alpha=100.0, max_iter=3, batch_size=32, random_state=0)
    [message] = _messages(reg, X, y)
    assert reg.loss_ > 100 and "output of zeros" not in message


def test_pretrained_weights_give_no_evidence_on_the_init(digits):
    X, _, y, _ = digits
    clf = DeepMLPClassifier(depth=2, width=16, max_iter=1, pretrain_epochs=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.pretrain_fit(X).fit(X, y)  # fit loads the pretrained weights
    Y = clf._encode_targets(y, first_call=False)
    assert clf.pretrain_curves_ is not None
    assert initial_loss_ratio(clf, clf._network, 1e9, Y, None, False) is None


class _FirstBatchLoss(Callback):
    """Keeps the loss of the fit's first batch (computed before the step)."""

    def on_batch_end(self, estimator, network, batch, loss, **kwargs):
        if not hasattr(self, "loss_"):
            self.loss_ = loss - network.last_penalty


@pytest.mark.parametrize("activation, depth", [("relu", 10), ("elu", 20), ("sigmoid", 3)])
def test_the_default_init_starts_near_the_loss_of_an_output_of_zeros(digits, activation, depth):
    # benchmarks/initial_loss.py: 0.70 to 2.80 times it over 80 fits.
    X, _, y, _ = digits
    clf = DeepMLPClassifier(depth=depth, activation=activation, batch_size=len(X),
                            max_iter=1, random_state=0, callbacks=[_FirstBatchLoss()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    Y = clf._encode_targets(y, first_call=False)
    ratio = initial_loss_ratio(clf, clf._network, clf.callbacks_[0].loss_, Y, None, False)
    assert 0.5 < ratio < INITIAL_LOSS_FACTOR / 3


def test_units_killed_by_large_steps_are_dead_units_not_vanishing(digits):
    # At learning_rate=1.0 Adam kills every unit of the last hidden layer: no
    # error signal passes below it, so every layer "vanishes" too.
    X, X_test, y, y_test = digits
    params = dict(depth=5, width=64, optimizer="adam", batch_size=32, max_iter=5)
    clf, monitor = _fit(X, y, learning_rate=1.0, **params)
    assert monitor.vanishing_layers_[:-1].all() and monitor.dead_layers_[-2]
    assert monitor.diagnosis_ == "dead_units"
    assert not monitor._from_start()  # alive at the first record
    message = monitor._warning_message(clf)
    assert "They died during training (large steps are the usual cause)." in message
    assert "Vanishing gradients in hidden 1" in message
    assert "hidden 1's error signal is 0." in message
    assert "Try a learning_rate about 100 times lower (now 1), activation='leaky_relu'" in message
    assert ("dead_units, not vanishing: the VANISHING layers lie at or below units that "
            "died during training") in monitor.report()
    for rate in (0.1, 0.03):  # 10 and 33 times lower: still dead
        assert _fit(X, y, learning_rate=rate, **params)[1].diagnosis_ == "dead_units"
    clf, monitor = _fit(X, y, learning_rate=0.01, **params)  # 100 times lower
    assert monitor.diagnosis_ == "healthy" and clf.score(X_test, y_test) > 0.9


def test_a_tiny_init_stays_vanishing_though_its_units_die(digits):
    # The first record shows the vanishing already: units that die afterwards
    # die of the vanishing signal, and the init is what to change.
    X, _, y, _ = digits
    clf, monitor = _fit(X, y, depth=10, width=32, init="normal", init_scale=0.01,
                        optimizer="sgd", learning_rate=0.1, batch_size=32, max_iter=2)
    assert monitor.dead_layers_.any() and monitor.diagnosis_ == "vanishing"
    message = monitor._warning_message(clf)
    assert message.startswith("Vanishing gradients in hidden 1")
    assert "Try init='auto', normalization='batch' or residual=True." in message
    assert "died during training" not in message


def test_a_monitor_that_starts_on_a_trained_model_claims_nothing_from_the_start(digits):
    # Its first record is not the initial state: units Adam killed before the
    # monitor came were still killed by the steps.
    X, _, y, _ = digits
    params = dict(depth=5, width=64, optimizer="adam", learning_rate=1.0, batch_size=32,
                  random_state=0)
    clf = DeepMLPClassifier(max_iter=5, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        clf.set_params(callbacks=[GradientMonitor(warn=False)], warm_start=True, max_iter=3)
        clf.fit(X, y)
    monitor = clf.gradient_monitor_
    assert not monitor._first_record_at_init
    assert monitor.diagnosis_ == "dead_units" and not monitor._from_start()
    assert "a learning_rate about 100 times lower (now 1)" in monitor._warning_message(clf)


def test_a_loss_that_overflows_before_any_step_is_blamed_on_the_initial_state():
    # Wine times 1e35 in float32: the first batch's loss overflows, so no step
    # was taken; the estimator raises, the monitor warns first.
    X, y = load_wine(return_X_y=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="before any training step"):
            DeepMLPClassifier(random_state=0, callbacks=[GradientMonitor()]).fit(X * 1e35, y)
    [message] = [str(w.message) for w in caught if w.category is GradientHealthWarning]
    assert message.startswith(
        "Training diverged: the loss or the weights became infinite or NaN at the first "
        "mini-batch (0), before any step."
    )
    assert "learning_rate" not in message and "clip_grad_norm" not in message
    assert message.endswith("normalization='batch' or dtype='float64'. "
                            "See gradient_monitor_.report().")


def test_a_nan_output_is_not_a_dead_unit():
    # The record of a batch whose loss overflowed may hold NaN activations.
    assert_array_equal(_alive(np.array([[np.nan, -1.0, 0.0], [np.nan, -2.0, 3.0]])),
                       [True, False, True])


def test_units_dead_from_the_start_of_a_deep_narrow_net_get_skips_or_elu_first():
    # 20 relu layers of 32 on standardized breast cancer lose half the units
    # of some layers at initialization. Skip connections or elu train it
    # healthy; batch normalization, the remedy for unscaled inputs, costs
    # accuracy on these 426 rows (0.65 to 0.71 over three seeds).
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    params = dict(depth=20, width=32, max_iter=30)
    clf, monitor = _fit(X_train, y_train, **params)
    assert monitor.diagnosis_ == "dead_units" and monitor._from_start()
    message = monitor._warning_message(clf)
    assert "the initial weights, not the steps, holds them below zero" in message
    # 40% or more of a layer's units dead at initialization.
    assert np.nanmax(monitor.dead_units_[0]) >= 0.4
    # Not batch normalization, which costs accuracy here.
    assert message.endswith("Try residual=True or activation='elu'. "
                            "See gradient_monitor_.report().")
    scores = {}
    for name, remedy in (("residual", dict(residual=True)), ("elu", dict(activation="elu")),
                         ("batch", dict(normalization="batch"))):
        fitted, remedied = _fit(X_train, y_train, **params, **remedy)
        scores[name] = fitted.score(X_test, y_test)
        assert remedied.diagnosis_ == "healthy"
    baseline = clf.score(X_test, y_test)
    assert baseline > 0.9
    assert min(scores["residual"], scores["elu"]) >= baseline - 0.03
    assert scores["batch"] < 0.8


def test_raw_breast_cancer_units_are_dead_from_the_start():
    # The dead layers start at 0.40 and 0.39 dead and reach 0.50: most of the
    # dead units were dead at initialization (the inputs' scale), so scaling
    # comes first and no step-size remedy is offered.
    X, y = load_breast_cancer(return_X_y=True)
    clf, monitor = _fit(X, y, max_iter=12)
    assert monitor.diagnosis_ == "dead_units" and monitor._from_start()
    assert monitor._warning_message(clf).endswith(
        "Try scaling X (StandardScaler; a feature's std is 569) or normalization='batch'. "
        "See gradient_monitor_.report()."
    )


def test_a_partial_fit_that_diverges_reaches_the_diagnosis(digits):
    # partial_fit does not end the callbacks: the trainer still tells the
    # monitor, and the next epoch trained clears it.
    X, _, y, _ = digits
    clf = DeepMLPClassifier(depth=5, width=64, init="he_uniform", optimizer="sgd",
                            learning_rate=5.0, batch_size=32, random_state=0,
                            callbacks=[GradientMonitor(warn=False)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.partial_fit(X, y, classes=np.unique(y))
    assert any(w.category is DivergenceWarning for w in caught)
    monitor = clf.gradient_monitor_
    assert monitor.diverged_ and monitor.diagnosis_ == "exploding"
    clf.set_params(learning_rate=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X, y)
    assert not clf.gradient_monitor_.diverged_


def test_the_loss_of_an_output_of_zeros():
    # In closed form on every row: computing logits of zeros on a sample of
    # rows read every 8th row of data whose rows alternate two scales.
    from sk_deepnet._losses import LOSSES, zero_output_loss

    rng = np.random.default_rng(0)
    for name, Y, n_outputs in (
        ("softmax_cross_entropy", rng.integers(0, 5, 300), 5),
        ("logistic_cross_entropy", rng.integers(0, 2, (300, 3)).astype(float), 3),
        ("poisson", rng.poisson(3.0, (300, 2)).astype(float), 2),
        ("squared_error", np.repeat([[0.01], [3.0]], 150, axis=0), 1),
    ):
        loss = LOSSES[name]
        weights = rng.random(300)
        weights[::2] = 0.0  # only the odd rows
        for w in (None, weights):
            logits = np.zeros((300, n_outputs))
            w_sum = 300 if w is None else w.sum()
            expected = loss.loss_and_delta(logits, Y, w, w_sum, np.empty_like(logits))
            assert zero_output_loss(loss, Y, w, n_outputs) == pytest.approx(expected), name
    assert zero_output_loss(LOSSES["squared_error"], Y, np.zeros(300), 1) is None


def test_the_final_model_of_an_early_stopped_fit_is_its_best_epoch():
    from types import SimpleNamespace

    from sk_deepnet._training import Trainer

    def final(loss_curve, data_losses, best_epochs):
        trainer = SimpleNamespace(estimator=SimpleNamespace(loss_curve_=loss_curve),
                                  data_losses=data_losses, best_epochs=best_epochs)
        return Trainer.final_data_loss(trainer)

    assert final([5, 4, 3], [4.9, 3.9, 2.9], None) == 2.9
    assert final([5, 4, 3], [4.9, 3.9, 2.9], 2) == 3.9
    # A warm start: this call's epochs are the last of loss_curve_.
    assert final([9, 8, 5, 4, 3], [4.9, 3.9, 2.9], 4) == 3.9
