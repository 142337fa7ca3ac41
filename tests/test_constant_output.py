"""A fit that learned nothing from X says so.

Adam at ``learning_rate=1.0`` kills the relu units of a digits network in its
first epoch; the fit then ran on, or stopped on its plateau, at the loss of
the class frequencies (chance accuracy), and warned at most "maximum
iterations reached". The ConvergenceWarning now compares the final model's
training loss with the least loss of a constant prediction
(``_losses.constant_output_loss``, in closed form).
"""

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet import _losses
from sk_deepnet._losses import LOSSES, constant_output_loss
from sk_deepnet.callbacks import GradientMonitor

NOTHING_LEARNED = "that of the best constant prediction"


def _targets(rng):
    """Per loss: targets as the loss takes them, and the output width."""
    codes = rng.choice(4, 300, p=[0.6, 0.25, 0.1, 0.05])
    return (
        ("softmax_cross_entropy", codes, 4),
        ("softmax_cross_entropy", np.eye(4)[codes], 4),  # the one-hot form
        ("logistic_cross_entropy", (rng.random((300, 3)) < [0.1, 0.5, 0.8]) * 1.0, 3),
        ("poisson", rng.poisson([0.2, 30.0], (300, 2)).astype(float), 2),
        ("squared_error", rng.normal(1e4, [1.0, 5.0], (300, 2)), 2),  # large means
    )


def _loss_of_constant(loss, Y, w, n_outputs, constant):
    logits = np.tile(constant, (len(Y), 1))
    w_sum = len(Y) if w is None else w.sum()
    return loss.loss_and_delta(logits, Y, w, w_sum, np.empty_like(logits))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("row_block", [None, 7])
def test_the_closed_form_is_the_least_loss_of_a_constant_output(weighted, row_block, monkeypatch):
    if row_block is not None:  # the rows read a few at a time, as a large Y is
        monkeypatch.setattr(_losses, "_ROW_BLOCK", row_block)
    rng = np.random.default_rng(0)
    for name, Y, n_outputs in _targets(rng):
        loss = LOSSES[name]
        w = rng.random(len(Y)) if weighted else None
        if w is not None:
            w[::3] = 0.0
        best = constant_output_loss(loss, Y, w, n_outputs)
        # The least loss over every constant output, found numerically from
        # an output of zeros (for the squared error, from the weighted mean:
        # targets near 1e4 leave a plain search's tolerance behind).
        start = np.average(Y, axis=0, weights=w) if name == "squared_error" else np.zeros(n_outputs)
        found = minimize(
            lambda c: _loss_of_constant(loss, Y, w, n_outputs, c), start,
            method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
        )
        assert best == pytest.approx(found.fun, rel=1e-6, abs=1e-9), name
        assert best > 0, name
    assert constant_output_loss(LOSSES["squared_error"], Y, np.zeros(300), 2) is None


def _warnings_of(estimator, X, y):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        estimator.fit(X, y)
    return [str(w.message) for w in record if w.category is ConvergenceWarning]


def test_a_collapsed_fit_says_it_learned_nothing(digits):
    X, _, y, _ = digits
    # Adam's first steps at 1.0 kill the units: chance accuracy, every epoch.
    # (From random_state=0 the same steps leave a model that scores 0.33 after
    # 20 epochs, at a loss of 1.86: not flagged.)
    clf = DeepMLPClassifier(learning_rate=1.0, max_iter=5, random_state=1)
    (message,) = _warnings_of(clf, X, y)
    assert clf.score(X, y) < 0.15
    assert message.startswith("Stochastic optimizer: maximum iterations (5) reached")
    assert NOTHING_LEARNED in message
    assert "the class frequencies (2.302): the model" in message  # balanced: log 10
    assert message.endswith(
        "It needs more iterations, or its gradients do not flow (dead units, vanishing or "
        "exploding gradients): a GradientMonitor (callbacks=[GradientMonitor()]) shows why."
    )
    assert "alpha" not in message  # the default alpha cannot hold a model at a constant
    # The same steps at 0.001 (the default) learn: no such sentence.
    (message,) = _warnings_of(clf.set_params(learning_rate=0.001), X, y)
    assert NOTHING_LEARNED not in message


def test_a_collapsed_fit_that_stops_on_its_plateau_warns(digits):
    X, _, y, _ = digits
    clf = DeepMLPClassifier(learning_rate=1.0, max_iter=200, random_state=1)
    (message,) = _warnings_of(clf, X, y)
    assert clf.n_iter_ < 200 and clf.score(X, y) < 0.15
    assert message.startswith(f"Training stopped after {clf.n_iter_} epochs without improvement")
    assert message.endswith(
        "from X. A GradientMonitor "
        "(callbacks=[GradientMonitor()]) shows why: dead units, vanishing or exploding "
        "gradients."
    )


def test_a_short_fit_may_only_need_more_epochs():
    # Two steps of Adam at 0.001 on standardized wine: nothing learned yet.
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=2, random_state=0)
    (message,) = _warnings_of(clf, X, y)
    assert "learned nothing from X. It needs more iterations" in message
    (message,) = _warnings_of(clf.set_params(max_iter=10), X, y)
    assert NOTHING_LEARNED not in message


def test_with_a_monitor_the_warning_points_at_its_report(digits):
    X, _, y, _ = digits
    clf = DeepMLPClassifier(
        depth=10, width=64, activation="sigmoid", optimizer="sgd", learning_rate=0.1,
        batch_size=32, max_iter=5, callbacks=[GradientMonitor(warn=False)], random_state=0,
    )
    (message,) = _warnings_of(clf, X, y)
    assert clf.gradient_monitor_.diagnosis_ == "vanishing"
    assert message.endswith(
        "from X. It needs more iterations, or its gradients do not flow (dead units, "
        "vanishing or exploding gradients): its gradient_monitor_.report() shows how the "
        "gradients flowed."
    )


def test_a_strong_alpha_is_named(digits):
    X, _, y, _ = digits
    clf = DeepMLPClassifier(alpha=100.0, max_iter=20, random_state=0)
    (message,) = _warnings_of(clf, X, y)
    assert NOTHING_LEARNED in message
    assert message.endswith("With alpha=100, the L2 penalty may also hold the weights near zero.")


def test_a_regressor_is_compared_with_the_mean_of_y():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = X[:, 0] + 0.1 * rng.normal(size=400) + 5.0
    # Adam at 0.1 leaves a model far worse than the mean (R^2 = -11.6), but
    # not 10 times worse than an output of zeros (the other sentence's bound).
    reg = DeepMLPRegressor(learning_rate=0.1, max_iter=5, random_state=0)
    (message,) = _warnings_of(reg, X, y)
    assert reg.score(X, y) < 0
    assert "is above that of the best constant prediction, the mean of y (0.494)" in message
    assert "the model does worse than that constant; it has learned nothing from X" in message
    (message,) = _warnings_of(reg.set_params(learning_rate=0.01, max_iter=30), X, y)
    assert NOTHING_LEARNED not in message


def test_lbfgs_that_stops_at_a_constant_says_so(digits):
    X, _, y, _ = digits
    clf = DeepMLPClassifier(
        optimizer="lbfgs", depth=10, width=64, activation="sigmoid", max_iter=3, random_state=0
    )
    (message,) = _warnings_of(clf, X, y)
    assert message.startswith("lbfgs failed to converge after 3 iteration(s)")
    assert NOTHING_LEARNED in message


@pytest.mark.parametrize("Estimator", [DeepMLPClassifier, DeepMLPRegressor])
def test_a_constant_target_leaves_nothing_to_learn(Estimator):
    # One class, one value of y: the best constant's loss is 0, and no model
    # learns more (scikit-learn's test_preserve_feature_names fits such a y).
    X = np.random.default_rng(0).normal(size=(20, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        Estimator(max_iter=200, random_state=0).fit(X, np.ones(20))



def test_early_stopping_compares_the_training_rows():
    # The constant's loss over every row, validation rows included, is not
    # the training loss's measure: a heavy-tailed y put it at 3.47 where the
    # training rows' is 1.48, and a model of R^2 = -0.0004 went unflagged.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 5)), rng.standard_t(2, 300)
    rows = np.sort(rng.choice(300, 270, replace=False))
    w = rng.random(300)
    for weights in (None, w):
        subset = None if weights is None else weights[rows]
        assert constant_output_loss(LOSSES["squared_error"], y, weights, 1, rows) == (
            pytest.approx(constant_output_loss(LOSSES["squared_error"], y[rows], subset, 1)))
    reg = DeepMLPRegressor(early_stopping=True, alpha=100, random_state=11)
    (message,) = _warnings_of(reg, X, y)
    assert abs(reg.score(X, y)) < 0.001
    assert "within 1% of that of the best constant prediction, the mean of y (1.477)" in message


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("value", [1 / 3, 1000.1])
def test_a_target_constant_up_to_rounding_leaves_nothing_to_learn(dtype, value):
    # The constant's loss is then 1e-33 to 1e-11, not 0 (float32 weights
    # summed in float32 left a class frequency of 1 - 6e-8).
    rng = np.random.default_rng(0)
    X, w = rng.normal(size=(50, 2)), rng.random(50).astype(np.float32)
    for weights in (None, w):
        for estimator, y in ((DeepMLPRegressor, np.full(50, value)),
                             (DeepMLPClassifier, np.full(50, 7))):
            model = estimator(dtype=dtype, max_iter=20, random_state=0)
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                model.fit(X, y, sample_weight=weights)
            assert not any(NOTHING_LEARNED in str(w.message) for w in record)


def test_lbfgs_that_converges_at_a_constant_says_so():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = X[:, 0] + 0.1 * rng.normal(size=300)
    reg = DeepMLPRegressor(optimizer="lbfgs", alpha=1000.0, random_state=0)
    (message,) = _warnings_of(reg, X, y)
    assert abs(reg.score(X, y)) < 0.01
    assert message.startswith(f"lbfgs converged after {reg.n_iter_} iteration(s). The training")
    assert message.endswith("With alpha=1000, the L2 penalty may also hold the weights near zero.")
    assert not _warnings_of(reg.set_params(alpha=1e-4), X, y)  # it learns: no warning


def test_a_loss_taken_with_dropout_is_not_judged(digits):
    # Units dropped during training raise its loss above the model's.
    X, _, y, _ = digits
    clf = DeepMLPClassifier(learning_rate=1.0, dropout=0.2, max_iter=5, random_state=1)
    (message,) = _warnings_of(clf, X, y)
    assert NOTHING_LEARNED not in message
