"""The training-loss plateau rule's tolerance: ``tol`` in the squared error's units.

For the squared error the rule compares an epoch's improvement with ``tol``
times the total variance of the training targets when that is above 1 (and
once the model has learned something from X): scikit-learn's rule on the
standardized target. A fixed ``tol`` made fits on targets of large variance
(diabetes, ``make_regression``) run ``max_iter`` epochs.
"""

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor

STOP = re.compile(r"Training stopped: no improvement of more than tol=(\S+) for")


def _linear_data(n_outputs=1, n=300):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 4))
    W = rng.standard_normal((4, n_outputs))
    y = X @ W + 0.3 * rng.standard_normal((n, n_outputs))
    return X, (y[:, 0] if n_outputs == 1 else y)


def _weighted_total_variance(y, sample_weight=None):
    y = y.reshape(len(y), -1)
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    mean = w @ y / w.sum()
    return float(w @ np.square(y - mean).sum(axis=1) / w.sum())


def _stop_tol(capsys, model, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.set_params(verbose=True).fit(X, y, **fit_params)
    found = STOP.findall(capsys.readouterr().out)
    assert found, "the fit did not stop on its plateau"
    return float(found[-1])


def _plateau_stop(losses, tol, learned, patience):
    """The epoch at which the rule stops on ``losses`` (None: it never does)."""
    best, count = np.inf, 0
    for epoch, loss in enumerate(losses, 1):
        count = count + 1 if loss > best - (tol if best < learned else 1e-4) else 0
        best = min(best, loss)
        if count > patience:
            return epoch
    return None


@pytest.mark.parametrize("scale", [50.0, 1000.0])
def test_a_large_target_stops_where_the_variance_relative_rule_says(scale):
    X, y = _linear_data()
    y = scale * y
    model = DeepMLPRegressor(random_state=0, max_iter=300).fit(X, y)
    variance = _weighted_total_variance(y)
    expected = _plateau_stop(
        model.loss_curve_, 1e-4 * variance, 0.99 * variance / 2, model.n_iter_no_change
    )
    # With tol=1e-4 itself the loss never stalls in 300 epochs of these fits.
    assert expected is not None and expected < 300
    assert model.n_iter_ == expected


def test_the_tolerance_is_tol_times_the_target_variance(capsys):
    X, y = _linear_data()
    y = 50.0 * y
    tol = _stop_tol(capsys, DeepMLPRegressor(random_state=0), X, y)
    assert tol == pytest.approx(1e-4 * _weighted_total_variance(y), rel=1e-5)


def test_the_variance_is_weighted_and_summed_over_outputs(capsys):
    X, y = _linear_data(n_outputs=2)
    y = 30.0 * y
    weights = np.linspace(0.2, 3.0, len(y))
    tol = _stop_tol(capsys, DeepMLPRegressor(random_state=0), X, y, sample_weight=weights)
    assert tol == pytest.approx(1e-4 * _weighted_total_variance(y, weights), rel=1e-5)


def test_a_target_of_small_variance_keeps_tol(capsys):
    X, y = _linear_data()
    tol = _stop_tol(capsys, DeepMLPRegressor(random_state=0, max_iter=400), X, 0.05 * y)
    assert tol == 1e-4


def test_a_classifier_keeps_tol(capsys):
    X, y = _linear_data()
    tol = _stop_tol(capsys, DeepMLPClassifier(random_state=0), X, y > 0)
    assert tol == 1e-4


def test_a_slow_start_on_a_large_target_is_no_plateau():
    # A small network on a target of standard deviation ~2500 lowers the loss
    # by ~1e-5 of the variance an epoch, still about the best constant's: at
    # tol * variance it stopped after 19 epochs, no better than the constant.
    X, y = _linear_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = DeepMLPRegressor(depth=2, width=32, random_state=0, max_iter=60)
        model.fit(X, 1000.0 * y)
    assert model.n_iter_ == 60


def test_track_loss_returns_the_tolerance_its_test_used():
    # The verbose stop message prints it: computed after best_loss_ fell
    # below the bound, it printed tol * variance for a test made with tol.
    from types import SimpleNamespace

    from sk_deepnet._training import track_loss

    estimator = SimpleNamespace(tol=1e-4, loss_=0.98989, best_loss_=0.99, _no_improvement_count=0)
    used = track_loss(estimator, (0.5, 0.9899))  # 0.5 once best_loss_ < 0.9899
    assert used == 1e-4 and estimator.best_loss_ < 0.9899
    assert track_loss(estimator, (0.5, 0.9899)) == 0.5
