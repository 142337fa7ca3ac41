"""Tests of :mod:`sk_deepnet.plotting` (matplotlib's non-interactive Agg backend)."""

import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier
from sk_deepnet.callbacks import GradientMonitor
from sk_deepnet.plotting import CurvatureDisplay, GradientFlowDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    X, y = load_digits(return_X_y=True)
    clf = make_pipeline(
        StandardScaler(),
        DeepMLPClassifier(depth=4, width=16, max_iter=4, batch_size=32, random_state=0,
                          callbacks=[GradientMonitor(record_every=10, warn=False)]),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[:600], y[:600])
    return clf


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_history_draws_one_line_per_layer(fitted):
    monitor = fitted[-1].gradient_monitor_
    display = GradientFlowDisplay.from_estimator(fitted)
    assert isinstance(display.ax_, matplotlib.axes.Axes)
    assert display.figure_ is display.ax_.figure
    assert len(display.lines_) == monitor.n_layers_ == 5
    assert display.ax_.get_yscale() == "log"
    for i, line in enumerate(display.lines_):
        assert_array_equal(line.get_xdata(), monitor.record_iterations_)
        assert_allclose(line.get_ydata(), monitor.grad_norms_[:, i])
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert labels == ["hidden 1", "hidden 2", "hidden 3", "hidden 4", "output"]
    assert monitor.diagnosis_ in display.ax_.get_title()


def test_a_divergence_is_marked(fitted):
    # 10 relu layers of N(0, 1) weights diverge at the first step: the one
    # record's non-finite norms are not drawn, and without a mark the plot
    # looked like a healthy fit's first record.
    X, y = load_digits(return_X_y=True)
    clf = DeepMLPClassifier(depth=10, width=64, init="normal", init_scale=1.0,
                            optimizer="sgd", learning_rate=0.1, max_iter=2, random_state=0,
                            callbacks=[GradientMonitor(warn=False)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(StandardScaler().fit_transform(X), y)
    monitor = clf.gradient_monitor_
    assert monitor.diverged_
    for kind in ("history", "dead_units"):
        display = GradientFlowDisplay.from_estimator(clf, kind=kind)
        line = display.divergence_line_
        assert_array_equal(line.get_xdata(), [monitor.record_iterations_[-1]] * 2)
        assert line not in display.lines_
        assert display.ax_.get_title().endswith("(diagnosis: exploding; diverged)")
        labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
        assert "diverged (at or after)" in labels
    assert GradientFlowDisplay.from_estimator(clf, kind="profile").divergence_line_ is None
    healthy = GradientFlowDisplay.from_estimator(fitted)
    assert healthy.divergence_line_ is None and "diverged" not in healthy.ax_.get_title()


def test_profile_draws_at_most_max_profiles_records(fitted):
    monitor = fitted[-1].gradient_monitor_
    n_records = len(monitor.grad_norms_)
    assert n_records > 3
    display = GradientFlowDisplay.from_monitor(monitor, kind="profile", max_profiles=3)
    assert len(display.lines_) == 3
    assert_allclose(display.lines_[0].get_ydata(), monitor.grad_norms_[0])
    assert_allclose(display.lines_[-1].get_ydata(), monitor.grad_norms_[-1])
    assert_array_equal(display.lines_[0].get_xdata(), np.arange(1, 6))


def test_dead_units_draws_one_line_per_hidden_layer_and_the_threshold(fitted):
    monitor = fitted[-1].gradient_monitor_
    assert np.isfinite(monitor.dead_units_[:, :-1]).all()
    display = GradientFlowDisplay.from_estimator(fitted, kind="dead_units")
    assert len(display.lines_) == monitor.n_layers_ - 1 == 4
    for i, line in enumerate(display.lines_):
        assert_array_equal(line.get_xdata(), monitor.record_iterations_)
        assert_allclose(line.get_ydata(), monitor.dead_units_[:, i])
    ax = display.ax_
    assert ax.get_yscale() == "linear" and ax.get_ylim() == (-0.02, 1.02)
    threshold = [line for line in ax.get_lines() if line not in display.lines_]
    assert len(threshold) == 1
    assert_allclose(threshold[0].get_ydata(), [monitor.dead_threshold] * 2)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["hidden 1", "hidden 2", "hidden 3", "hidden 4", "dead_threshold (0.5)"]
    assert ax.get_title() == f"Dead units (diagnosis: {monitor.diagnosis_})"
    assert ax.get_ylabel() == "fraction of dead units"


def test_saturation_draws_the_saturated_fraction_of_bounded_units():
    X, y = load_digits(return_X_y=True)
    clf = DeepMLPClassifier(depth=3, width=16, activation="tanh", max_iter=2, random_state=0,
                            callbacks=[GradientMonitor(warn=False)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[:300] / 4, y[:300])  # large inputs: many units saturate
    monitor = clf.gradient_monitor_
    display = GradientFlowDisplay.from_estimator(clf, kind="saturation")
    assert len(display.lines_) == 3
    for i, line in enumerate(display.lines_):
        assert_allclose(line.get_ydata(), monitor.saturation_[:, i])
    assert monitor.saturation_[:, :-1].max() > 0.1  # the lines show something
    assert display.ax_.get_title().startswith("Saturated units")
    assert len(display.ax_.get_lines()) == 3  # no threshold line
    # A tanh net has no dead units, a relu net no saturation: say which nets do.
    with pytest.raises(ValueError, match=r"no dead_units was recorded.*relu-family"):
        GradientFlowDisplay.from_estimator(clf, kind="dead_units")


def test_unit_kinds_need_their_records(fitted):
    with pytest.raises(ValueError, match=r"no saturation was recorded.*sigmoid, tanh"):
        GradientFlowDisplay.from_estimator(fitted, kind="saturation")
    norms = np.ones((3, 2))
    with pytest.raises(ValueError, match="not given: build it with from_estimator"):
        GradientFlowDisplay(norms, np.arange(3)).plot(kind="dead_units")
    with pytest.raises(ValueError, match=r"dead_units must have the shape of grad_norms"):
        GradientFlowDisplay(norms, np.arange(3), dead_units=np.ones((3, 3))).plot(
            kind="dead_units"
        )
    # Without a threshold, no threshold line.
    display = GradientFlowDisplay(norms, np.arange(3), dead_units=[[0.1, np.nan]] * 3)
    display.plot(kind="dead_units")
    assert display.ax_.get_lines() == display.lines_


@pytest.mark.parametrize("kind", ["history", "profile", "dead_units", "saturation"])
def test_legend_and_tick_labels_stay_in_the_figure_off_the_lines(kind):
    """The legend sits beside the axes (not over the output layer's line along
    the top) and nothing, e.g. the rotated names "hidden 1", is cut off."""
    norms = np.logspace(-5, 0, 11)[None, :] * np.ones((8, 1))  # 10 hidden layers
    fractions = np.linspace(0, 1, 11)[None, :] * np.ones((8, 1))
    display = GradientFlowDisplay(
        norms, np.arange(8) * 10, dead_units=fractions, saturation=fractions,
        dead_threshold=0.5,
    ).plot(kind=kind)
    fig = display.figure_
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    figure_box = fig.bbox
    legend_box = display.ax_.get_legend().get_window_extent(renderer)
    axes_box = display.ax_.get_window_extent(renderer)
    assert not legend_box.overlaps(axes_box)
    texts = display.ax_.get_xticklabels() + [display.ax_.get_legend()]
    for artist in texts:
        box = artist.get_window_extent(renderer)
        assert box.x0 >= figure_box.x0 - 1 and box.x1 <= figure_box.x1 + 1, artist
        assert box.y0 >= figure_box.y0 - 1 and box.y1 <= figure_box.y1 + 1, artist


def test_plot_uses_the_given_axes_and_hides_non_finite_norms():
    norms = np.array([[1.0, 2.0], [np.inf, 0.0], [np.nan, 3.0]])
    fig, ax = plt.subplots()
    display = GradientFlowDisplay(norms, np.array([0, 5, 10])).plot(ax=ax)
    assert display.ax_ is ax and display.figure_ is fig
    assert_allclose(display.lines_[0].get_ydata(), [1.0, np.nan, np.nan])
    assert_allclose(display.lines_[1].get_ydata(), [2.0, np.nan, 3.0])
    assert display.ax_.get_title() == "Gradient flow"
    # One record: an integer tick at its mini-batch, not -0.04 to 0.04.
    display = GradientFlowDisplay(norms[:1], np.array([0])).plot()
    display.figure_.canvas.draw()
    ticks = display.ax_.get_xticks()
    assert_array_equal(ticks, np.round(ticks))
    assert 0 in ticks


def test_bad_arguments(fitted):
    monitor = fitted[-1].gradient_monitor_
    with pytest.raises(ValueError, match="kind must be one of"):
        GradientFlowDisplay.from_monitor(monitor, kind="heatmap")
    with pytest.raises(ValueError, match="max_profiles"):
        GradientFlowDisplay.from_monitor(monitor, kind="profile", max_profiles=0)
    with pytest.raises(ValueError, match="shape"):
        GradientFlowDisplay(np.ones(3), np.arange(3)).plot()
    with pytest.raises(ValueError, match="not a fitted GradientMonitor"):
        GradientFlowDisplay.from_monitor(GradientMonitor())
    with pytest.raises(ValueError, match="no fitted gradient monitor.*to plot its gradient flow"):
        GradientFlowDisplay.from_estimator(fitted[0])
    unfitted = DeepMLPClassifier(callbacks=[GradientMonitor()])
    with pytest.raises(NotFittedError):
        GradientFlowDisplay.from_estimator(unfitted)


def test_clear_import_error_without_matplotlib(fitted, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"requires matplotlib; pip install sk-deepnet\[plot\]"):
        GradientFlowDisplay.from_estimator(fitted)


@pytest.mark.parametrize(
    "norms, iterations",
    [
        (np.empty((3, 0)), np.arange(3)),  # IndexError inside the drawing
        (np.ones((3, 2)), np.ones((3, 2))),  # "too many values to unpack"
        (np.ones((3, 2)), None),  # "len() of unsized object"
    ],
)
def test_bad_records_are_a_clear_error_and_leave_no_figure(norms, iterations):
    with pytest.raises(ValueError, match="grad_norms must have shape .* record_iterations"):
        GradientFlowDisplay(norms, iterations).plot()
    assert plt.get_fignums() == []


def test_bad_plot_arguments_leave_no_figure():
    display = GradientFlowDisplay(
        np.ones((3, 2)), np.arange(3), dead_units=np.full((3, 2), 0.2), dead_threshold="x"
    )
    with pytest.raises(TypeError, match="dead_threshold must be a real number"):
        display.plot(kind="dead_units")
    with pytest.raises(ValueError, match="nope"):
        display.plot(cmap="nope")
    with pytest.raises(ValueError, match="max_profiles"):
        display.plot(kind="profile", max_profiles=True)
    assert plt.get_fignums() == []


@pytest.mark.parametrize("build", [
    lambda: GradientFlowDisplay([["a", "b"]] * 3, [0, 1, 2]).plot(),
    lambda: GradientFlowDisplay(
        np.ones((3, 2)), [0, 1, 2], dead_units=[["x", 0.1]] * 3
    ).plot(kind="dead_units"),
    lambda: CurvatureDisplay([1, 2], ["x", 1.0], [0.5, 0.1], [1.0, 2.0]).plot(),
])
def test_displays_name_the_argument_that_is_not_numbers(build):
    # They failed inside numpy: "could not convert string to float: 'a'".
    with pytest.raises(ValueError, match=r"(grad_norms|dead_units|hessian_max) must hold numbers"):
        build()


def test_displays_name_ragged_records_in_one_sentence():
    # numpy's message ends with a period: it read "... inhomogeneous part.."
    with pytest.raises(ValueError, match="grad_norms must hold numbers, in rows of equal") as info:
        GradientFlowDisplay([[1.0, 2.0], [1.0]], [0, 1]).plot()
    assert not str(info.value).endswith("..")


@pytest.mark.parametrize("cmap", ["no_such_map", 5])
def test_gradient_flow_display_names_a_bad_cmap(cmap):
    # matplotlib's error called it "name": "'no_such_map' is not a valid value for name".
    display = GradientFlowDisplay(np.ones((3, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match="cmap="):
        display.plot(cmap=cmap)
