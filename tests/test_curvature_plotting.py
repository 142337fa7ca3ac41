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


def test_no_records_is_a_clear_error():
    # It failed inside matplotlib: "only integer scalar arrays can be
    # converted to a scalar index" (GradientFlowDisplay([], []) names its
    # arguments).
    with pytest.raises(ValueError, match=r"one entry per record \(at least one record\)"):
        CurvatureDisplay([], [], [], []).plot()


@pytest.mark.parametrize("value", [0.0, np.nan])
def test_records_all_zero_or_nan_are_drawn(value):
    # All inside the symlog axis's linear band (a network whose gradient and
    # curvature vanish, or a diverged one): the same TypeError from matplotlib.
    records = [value, value]
    display = CurvatureDisplay([0, 1], records, records, records).plot()
    assert len(display.lines_) == 3
    assert display.ax_.get_yscale() == "symlog"


def test_the_lines_join_the_records_in_epoch_order():
    # As a monitor records when early stopping restored epoch 5 after 8.
    display = CurvatureDisplay(
        [0, 2, 4, 6, 8, 5], [1.0, 2.0, 3.0, 4.0, 5.0, 3.5], [0.0] * 6, [1.0] * 6,
    ).plot()
    assert_array_equal(display.lines_[0].get_xdata(), [0, 2, 4, 5, 6, 8])
    assert_array_equal(display.lines_[0].get_ydata(), [1.0, 2.0, 3.0, 3.5, 4.0, 5.0])


def test_flat_records_are_marked():
    display = CurvatureDisplay(
        [0, 1, 2, 3], [1.0, 1.0, 1.0, 1.0], [-0.5, -0.3, -1e-3, -1e-3], [1.0, 0.05, 1e-3, 1e-4],
        phase=np.array(["descent", "saddle", "flat", "flat"]),
    ).plot()
    assert len(display.lines_) == 5
    assert display.lines_[3].get_label() == "saddle"
    assert_array_equal(display.lines_[4].get_xdata(), [2, 3])
    assert display.lines_[4].get_label().startswith("flat")
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend[-2:] == ["saddle", "flat (curvature cannot tell)"]


@pytest.mark.parametrize("smallest", [1e-3, 2.4e-3, 1e-12, 0.0])
def test_tick_labels_and_legend_do_not_overlap(smallest):
    """The symlog axis's labels "0" and "+-10^-3" sat on one another in the
    linear band, and the legend covered the middle of the axes."""
    epochs = np.arange(0, 201, 10)
    decay = np.logspace(0, -4, len(epochs))
    display = CurvatureDisplay(
        epochs, np.ones(len(epochs)), -np.maximum(decay, smallest) * 0.4,
        0.4 * decay, phase=np.array(["descent"] + ["saddle"] * 5 + ["flat"] * 15),
    ).plot()
    fig = display.figure_
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes_box = display.ax_.get_window_extent(renderer)
    legend_box = display.ax_.get_legend().get_window_extent(renderer)
    assert not legend_box.overlaps(axes_box)
    assert fig.bbox.x0 - 1 <= legend_box.x0 and legend_box.x1 <= fig.bbox.x1 + 1
    labels = [t for t in display.ax_.get_yticklabels() if t.get_text()
              and axes_box.y0 - 1 <= t.get_window_extent(renderer).y0 <= axes_box.y1]
    texts = [t.get_text() for t in labels]
    assert "$\\mathdefault{0}$" in texts and len(labels) >= 3, texts
    boxes = [t.get_window_extent(renderer) for t in labels]
    for i, box in enumerate(boxes):
        for other in boxes[i + 1:]:
            assert not box.overlaps(other), texts


@pytest.mark.parametrize(
    "phase", [["saddle", "descent"], [["saddle"] * 3], "saddle"],
    ids=["short", "2-D", "a string"],
)
def test_a_phase_of_another_shape_is_a_clear_error_and_leaves_no_figure(phase):
    # IndexError (or "too many values to unpack") inside the marking, once a
    # figure was made.
    display = CurvatureDisplay([0, 1, 2], [1, 1, 1], [-1, -1, -1], [1, 1, 1], phase=phase)
    with pytest.raises(ValueError, match="phase must be None or a 1-D array"):
        display.plot()
    assert plt.get_fignums() == []
