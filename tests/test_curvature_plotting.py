"""Tests of :class:`sk_deepnet.plotting.CurvatureDisplay` (Agg backend)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier
from sk_deepnet.callbacks import CurvatureMonitor
from sk_deepnet.plotting import CurvatureDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_from_estimator_draws_the_records():
    X, y = load_digits(n_class=3, return_X_y=True)
    clf = make_pipeline(
        StandardScaler(),
        DeepMLPClassifier(depth=2, width=8, max_iter=3, batch_size=32, random_state=0,
                          callbacks=[CurvatureMonitor(record_every=1, random_state=0)]),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[:150], y[:150])
    display = CurvatureDisplay.from_estimator(clf)
    m = clf[-1].curvature_monitor_
    assert_array_equal(display.lines_[0].get_ydata(), m.hessian_max_)
    assert_array_equal(display.lines_[1].get_ydata(), m.hessian_min_)
    assert_array_equal(display.lines_[2].get_xdata(), m.epochs_)
    assert display.ax_.get_yscale() == "symlog"


def test_saddles_are_marked_and_bad_input():
    display = CurvatureDisplay(
        [0, 1, 2], [1.0, 2.0, 2.0], [-1.0, -0.5, 0.0], [0.01, 1.0, 0.01],
        phase=np.array(["saddle", "descent", "minimum"]),
    ).plot()
    assert len(display.lines_) == 4
    assert_array_equal(display.lines_[3].get_xdata(), [0])
    with pytest.raises(ValueError, match="same length"):
        CurvatureDisplay([0, 1], [1.0], [0.0], [1.0]).plot()
    with pytest.raises(ValueError, match="not a fitted CurvatureMonitor"):
        CurvatureDisplay.from_monitor(CurvatureMonitor())


def test_the_lines_join_the_records_in_epoch_order():
    # As a monitor records when early stopping restored epoch 5 after 8.
    display = CurvatureDisplay(
        [0, 2, 4, 6, 8, 5], [1.0, 2.0, 3.0, 4.0, 5.0, 3.5], [0.0] * 6, [1.0] * 6,
    ).plot()
    assert_array_equal(display.lines_[0].get_xdata(), [0, 2, 4, 5, 6, 8])
    assert_array_equal(display.lines_[0].get_ydata(), [1.0, 2.0, 3.0, 3.5, 4.0, 5.0])
