"""Plots of how a network trained, following scikit-learn's Display API.

A Display is built from a fitted object by a ``from_*`` class method, which
computes what to draw and calls :meth:`plot`; ``plot`` draws on a given (or a
new) matplotlib Axes and stores the artists as ``ax_``, ``figure_`` and
``lines_``. matplotlib is an optional dependency
(``pip install sk-deepnet[plot]``), imported only when a plot is drawn.
"""

import numbers

import numpy as np

from ._curvature_monitor import _find_curvature_monitor
from ._gradient_monitor import _find_monitor

__all__ = ["CurvatureDisplay", "GradientFlowDisplay"]

#: The kinds of plot that draw a monitor statistic of the hidden units (a
#: fraction, one line per hidden layer): the constructor's argument each
#: draws, the y label, the title, and which networks record it.
_UNIT_KINDS = {
    "dead_units": (
        "dead_units", "fraction of dead units", "Dead units",
        "relu-family hidden layers (relu, leaky_relu, elu, selu, gelu), on at "
        "least 8 rows before the epoch ends or the next record comes",
    ),
    "saturation": (
        "saturation", "fraction of saturated outputs", "Saturated units",
        "bounded hidden activations (sigmoid, tanh)",
    ),
}

_KINDS = ("history", "profile", *_UNIT_KINDS)


def _require_matplotlib(caller):
    """Import pyplot, or raise an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib; pip install sk-deepnet[plot]"
        ) from exc
    return plt


def _fitted_monitor(estimator):
    """The ``gradient_monitor_`` of an estimator or of the model inside it."""
    return _find_monitor(estimator, purpose="to plot its gradient flow")


class GradientFlowDisplay:
    """Per-layer gradient norms and unit states recorded by a :class:`~sk_deepnet.callbacks.GradientMonitor`.

    Use :meth:`from_estimator` or :meth:`from_monitor` rather than the
    constructor. Four kinds of plot, the first two of the gradient norms on a
    logarithmic y axis, the last two of the hidden units' state:

    * ``"history"``: one line per weight layer, its gradient norm against the
      mini-batch counter. Vanishing gradients show as the lines of the first
      layers lying orders of magnitude below the output layer's; exploding
      gradients as lines shooting up (non-finite values are not drawn).
    * ``"profile"``: one line per record (at most ``max_profiles``, evenly
      spaced, light to dark over training), the gradient norm against the
      layer: the flow of the gradient from the output back to the input.
    * ``"dead_units"``: one line per hidden layer, the fraction of its units
      that output no positive value on the recorded batch (with the batches
      after it for one of fewer than 32 rows), against the
      mini-batch counter, with ``dead_threshold`` as a dashed line: a layer
      whose fraction stays above it is flagged dead (the monitor's
      ``dead_units_``; relu-family layers only).
    * ``"saturation"``: one line per hidden layer, the fraction of its outputs
      near the activation's bounds, where the derivative and so the gradient
      passed back are near zero (the monitor's ``saturation_``; sigmoid and
      tanh layers only).

    Parameters
    ----------
    grad_norms : ndarray of shape (n_records, n_layers)
        Gradient norm of each weight layer at each record.

    record_iterations : ndarray of shape (n_records,)
        Mini-batch counter of each record.

    diagnosis : str or None, default=None
        Shown in the title when given.

    dead_units : ndarray of shape (n_records, n_layers) or None, default=None
        Fraction of dead units of each layer at each record (NaN where not
        recorded, e.g. the output layer), for ``kind="dead_units"``.

    saturation : ndarray of shape (n_records, n_layers) or None, default=None
        Fraction of saturated outputs of each layer at each record (NaN where
        not recorded), for ``kind="saturation"``.

    dead_threshold : float or None, default=None
        Drawn as a dashed line by ``kind="dead_units"`` when given.

    diverged : bool, default=False
        Whether training diverged (the monitor's ``diverged_``): the title
        says so, and every kind but ``"profile"`` draws a red dotted line at
        the last record, at or after which it diverged (the non-finite
        values themselves are not drawn).

    Attributes
    ----------
    ax_ : matplotlib Axes
        The Axes drawn on.

    figure_ : matplotlib Figure
        The Figure of ``ax_``.

    lines_ : list of matplotlib Line2D
        One line per layer (``"history"``), per drawn record (``"profile"``)
        or per hidden layer (``"dead_units"``, ``"saturation"``; the
        threshold line is not among them).

    divergence_line_ : matplotlib Line2D or None
        The line that marks a divergence, or None.

    See Also
    --------
    sk_deepnet.callbacks.GradientMonitor : Records the gradient norms and unit states.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sk_deepnet import DeepMLPClassifier
    >>> from sk_deepnet.callbacks import GradientMonitor
    >>> from sk_deepnet.plotting import GradientFlowDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DeepMLPClassifier(depth=3, width=32, max_iter=5, random_state=0,
    ...                         callbacks=[GradientMonitor()]).fit(X / 16, y)
    >>> display = GradientFlowDisplay.from_estimator(clf)
    >>> len(display.lines_)  # 3 hidden layers and the output layer
    4
    >>> display = GradientFlowDisplay.from_estimator(clf, kind="dead_units")
    >>> len(display.lines_)  # the 3 hidden layers
    3
    """

    def __init__(
        self, grad_norms, record_iterations, *, diagnosis=None, dead_units=None,
        saturation=None, dead_threshold=None, diverged=False,
    ):
        self.grad_norms = grad_norms
        self.record_iterations = record_iterations
        self.diagnosis = diagnosis
        self.dead_units = dead_units
        self.saturation = saturation
        self.dead_threshold = dead_threshold
        self.diverged = diverged

    def plot(self, ax=None, *, kind="history", max_profiles=10, cmap="viridis"):
        """Draw the gradient norms or the state of the hidden units.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure and Axes if None.

        kind : {"history", "profile", "dead_units", "saturation"}, default="history"
            One line per layer over training, one line per record over the
            layers, or one line per hidden layer over training of its dead
            units or saturated outputs (see the class description).

        max_profiles : int, default=10
            Most records drawn by ``kind="profile"``.

        cmap : str or matplotlib Colormap, default="viridis"
            Colours the lines by layer (first layer dark, output layer light)
            or, for ``kind="profile"``, by time (early records light, late
            records dark).

        Returns
        -------
        display : GradientFlowDisplay
            This object, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        plt = _require_matplotlib("GradientFlowDisplay")
        values, names, iterations = self._checked_records(kind, max_profiles)
        # Every argument is checked before a figure is made: an error leaves none open.
        colormap = _colormap(plt, cmap)
        if ax is None:
            # constrained layout keeps the rotated layer names and the legend
            # beside the axes inside the figure.
            _, ax = plt.subplots(layout="constrained")
        if kind == "profile":
            self.lines_ = _draw_profiles(ax, values, names, iterations, max_profiles, colormap)
        else:
            self.lines_ = _draw_histories(ax, values, names, iterations, colormap)
        if kind in _UNIT_KINDS:
            self._label_unit_fractions(ax, kind)
        else:
            ax.set_yscale("log")
            ax.set_ylabel("gradient norm ||dL/dW||")
            ax.set_title(self._title("Gradient flow"))
        self.divergence_line_ = None
        if self.diverged and kind != "profile" and len(iterations):
            # Its non-finite values are not drawn: without the line, a fit
            # that diverged at once is a column of dots like a healthy one.
            self.divergence_line_ = ax.axvline(
                iterations[-1], color="tab:red", linestyle=":", linewidth=1.5,
                label="diverged (at or after)",
            )
        # Beside the axes, not over the lines: in "history" the output
        # layer's line runs along the top, where a legend inside would sit.
        ax.legend(
            fontsize="small", ncol=2 if len(self.lines_) > 12 else 1,
            loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0,
        )
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _title(self, what):
        notes = [] if self.diagnosis is None else [f"diagnosis: {self.diagnosis}"]
        if self.diverged:
            notes.append("diverged")
        return f"{what} ({'; '.join(notes)})" if notes else what

    def _label_unit_fractions(self, ax, kind):
        """Axis labels, fixed [0, 1] limits and, for dead units, the threshold line."""
        _, ylabel, title, _ = _UNIT_KINDS[kind]
        if kind == "dead_units" and self.dead_threshold is not None:
            ax.axhline(
                self.dead_threshold, color="0.4", linestyle="--", linewidth=1,
                label=f"dead_threshold ({self.dead_threshold:g})",
            )
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel(ylabel)
        ax.set_title(self._title(title))

    def _checked_records(self, kind, max_profiles):
        """The values to draw, their layers' names and the iterations, after checking the arguments."""
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {list(_KINDS)}; got {kind!r}.")
        norms, iterations = _checked_norms(self.grad_norms, self.record_iterations)
        if not (
            isinstance(max_profiles, (int, np.integer))
            and not isinstance(max_profiles, bool)
            and max_profiles >= 1
        ):
            raise ValueError(f"max_profiles must be a positive int; got {max_profiles!r}.")
        names = [f"hidden {i + 1}" for i in range(norms.shape[1] - 1)] + ["output"]
        if kind in _UNIT_KINDS:
            # The hidden layers only: the output layer has no such units.
            fractions = self._unit_fractions(kind, norms.shape)
            _check_threshold(self.dead_threshold)
            return fractions[:, :-1], names[:-1], iterations
        # log scale: non-finite and zero norms are not drawn
        shown = np.where(np.isfinite(norms) & (norms > 0), norms, np.nan)
        return shown, names, iterations

    def _unit_fractions(self, kind, shape):
        """The recorded fractions that ``kind`` draws; an error naming what records them."""
        argument, _, _, recorded_for = _UNIT_KINDS[kind]
        fractions = getattr(self, argument)
        if fractions is None:
            raise ValueError(
                f"kind={kind!r} draws {argument}, which this display was not given: "
                f"build it with from_estimator or from_monitor, or pass {argument}=."
            )
        fractions = _float_array(fractions, argument)
        if fractions.shape != shape:
            raise ValueError(
                f"{argument} must have the shape of grad_norms {shape}; got {fractions.shape}."
            )
        if not np.isfinite(fractions[:, :-1]).any():
            raise ValueError(
                f"kind={kind!r}: no {argument} was recorded; the monitor records it "
                f"for {recorded_for} only."
            )
        return fractions

    @classmethod
    def from_monitor(cls, monitor, *, ax=None, kind="history", max_profiles=10, cmap="viridis"):
        """Plot the gradient norms or unit states recorded by a fitted gradient monitor.

        Parameters
        ----------
        monitor : GradientMonitor
            A fitted monitor, e.g. ``estimator.gradient_monitor_``.

        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure and Axes if None.

        kind : {"history", "profile", "dead_units", "saturation"}, default="history"
            See :meth:`plot`.

        max_profiles : int, default=10
            See :meth:`plot`.

        cmap : str or matplotlib Colormap, default="viridis"
            See :meth:`plot`.

        Returns
        -------
        display : GradientFlowDisplay
            The display, drawn (``ax_``, ``figure_`` and ``lines_`` are set).
        """
        if not hasattr(monitor, "grad_norms_"):
            raise ValueError(
                f"{type(monitor).__name__} is not a fitted GradientMonitor: use the "
                "estimator's gradient_monitor_ after fit."
            )
        display = cls(
            monitor.grad_norms_,
            monitor.record_iterations_,
            diagnosis=getattr(monitor, "diagnosis_", None),
            dead_units=monitor.dead_units_,
            saturation=monitor.saturation_,
            dead_threshold=monitor.dead_threshold,
            diverged=getattr(monitor, "diverged_", False),
        )
        return display.plot(ax=ax, kind=kind, max_profiles=max_profiles, cmap=cmap)

    @classmethod
    def from_estimator(
        cls, estimator, *, ax=None, kind="history", max_profiles=10, cmap="viridis"
    ):
        """Plot the gradient norms or unit states of an estimator fitted with a GradientMonitor.

        Parameters
        ----------
        estimator : DeepMLPClassifier, DeepMLPRegressor, Pipeline or search
            Fitted with ``callbacks=[GradientMonitor()]`` (for a pipeline, its
            last step; for a fitted search, its ``best_estimator_``; for a
            wrapper of a single model, its ``estimator_``).

        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure and Axes if None.

        kind : {"history", "profile", "dead_units", "saturation"}, default="history"
            See :meth:`plot`.

        max_profiles : int, default=10
            See :meth:`plot`.

        cmap : str or matplotlib Colormap, default="viridis"
            See :meth:`plot`.

        Returns
        -------
        display : GradientFlowDisplay
            The display, drawn (``ax_``, ``figure_`` and ``lines_`` are set).
        """
        return cls.from_monitor(
            _fitted_monitor(estimator), ax=ax, kind=kind, max_profiles=max_profiles,
            cmap=cmap,
        )


def _checked_norms(grad_norms, record_iterations):
    """``grad_norms`` and ``record_iterations`` as arrays, or a ValueError naming them.

    Parameters
    ----------
    grad_norms : array-like of shape (n_records, n_layers)
        Gradient norm of each weight layer (at least one) at each record.
    record_iterations : array-like of shape (n_records,)
        Mini-batch counter of each record.

    Returns
    -------
    norms : ndarray of shape (n_records, n_layers)
        ``grad_norms`` as floats.
    iterations : ndarray of shape (n_records,)
        ``record_iterations``.
    """
    norms = _float_array(grad_norms, "grad_norms")
    iterations = np.asarray(record_iterations)
    if norms.ndim != 2 or norms.shape[1] < 1 or iterations.shape != norms.shape[:1]:
        raise ValueError(
            "grad_norms must have shape (n_records, n_layers), with at least one "
            "layer, and record_iterations shape (n_records,), one entry per record; "
            f"got shapes {norms.shape} and {iterations.shape}."
        )
    return norms, iterations


def _float_array(values, name):
    """``values`` as a float array; a ValueError naming ``name`` if they are not numbers.

    NumPy's own error ("could not convert string to float: 'a'") does not say
    which argument held them; nor, for rows of different lengths, what is wrong
    ("setting an array element with a sequence").
    """
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        reason = str(exc).rstrip(".")  # numpy's own may end with one
        raise ValueError(
            f"{name} must hold numbers, in rows of equal length; {reason}."
        ) from exc


def _colormap(plt, cmap):
    """The colormap ``cmap`` names; a ValueError naming ``cmap`` if there is none.

    matplotlib's own error calls the argument "name".
    """
    try:
        return plt.get_cmap(cmap)
    except ValueError as exc:
        raise ValueError(
            f"cmap={cmap!r} is not a matplotlib colormap: pass a colormap name such "
            "as 'viridis' (see matplotlib.colormaps) or a Colormap."
        ) from exc


def _check_threshold(dead_threshold):
    """Raise a TypeError unless ``dead_threshold`` is None or a real number.

    Parameters
    ----------
    dead_threshold : object
        The display's ``dead_threshold``.
    """
    if dead_threshold is not None and (
        isinstance(dead_threshold, (bool, np.bool_))
        or not isinstance(dead_threshold, numbers.Real)
    ):
        raise TypeError(
            f"dead_threshold must be a real number or None; got {dead_threshold!r}."
        )


def _draw_histories(ax, values, names, iterations, colormap):
    """One line per layer (a column of ``values``) against the mini-batch counter; the lines."""
    lines = []
    for i, name in enumerate(names):
        color = colormap(0.85 * i / max(len(names) - 1, 1))
        (line,) = ax.plot(iterations, values[:, i], marker=".", color=color, label=name)
        lines.append(line)
    ax.set_xlabel("mini-batch")
    # Mini-batch counters: no fractional ticks (a single record drew -0.04 to 0.04).
    from matplotlib.ticker import MaxNLocator  # optional dependency, as pyplot

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    return lines


def _draw_profiles(ax, values, names, iterations, max_profiles, colormap):
    """One line per picked record (a row of ``values``) against the layers, light to dark."""
    n_records, n_layers = values.shape
    picked = np.unique(np.linspace(0, n_records - 1, min(max_profiles, n_records)).round())
    lines = []
    for k, r in enumerate(picked.astype(int)):
        color = colormap(0.9 - 0.8 * k / max(len(picked) - 1, 1))
        (line,) = ax.plot(
            np.arange(1, n_layers + 1), values[r], marker="o", color=color,
            label=f"batch {iterations[r]}",
        )
        lines.append(line)
    ax.set_xticks(np.arange(1, n_layers + 1), names, rotation=45, ha="right",
                  rotation_mode="anchor")
    ax.set_xlabel("layer")
    return lines


class CurvatureDisplay:
    """Hessian eigenvalues recorded by a :class:`~sk_deepnet.callbacks.CurvatureMonitor`.

    Use :meth:`from_estimator` or :meth:`from_monitor` rather than the
    constructor. Against the epoch: the largest and the smallest Hessian
    eigenvalue estimates and the gradient norm, on a ``symlog`` y axis (linear
    near zero, so that negative curvature shows below the axis); the records
    at a saddle are circled in red, the ``"flat"`` ones (no clearly negative
    curvature, and no progress or a loss that falls further later: a plateau
    or a degenerate saddle that the curvature cannot tell from a minimum)
    squared in orange.

    Parameters
    ----------
    epochs : ndarray of shape (n_records,)
        Epochs completed at each record. The lines join the records in epoch
        order (with early stopping, a monitor's last record is of the restored
        best epoch, earlier than the records before it).

    hessian_max, hessian_min, grad_norm : ndarray of shape (n_records,)
        The records (see :class:`~sk_deepnet.callbacks.CurvatureMonitor`).

    phase : ndarray of str of shape (n_records,), default=None
        The phase of each record; the saddles and the flat records are
        marked when given.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : list of matplotlib Line2D
        The lines of ``hessian_max``, ``hessian_min`` and ``grad_norm``, then
        the saddle markers and the flat markers, each if any.
    """

    def __init__(self, epochs, hessian_max, hessian_min, grad_norm, *, phase=None):
        self.epochs = epochs
        self.hessian_max = hessian_max
        self.hessian_min = hessian_min
        self.grad_norm = grad_norm
        self.phase = phase

    def plot(self, ax=None):
        """Draw the records.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure and Axes if None.

        Returns
        -------
        display : CurvatureDisplay
            This object, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        plt = _require_matplotlib("CurvatureDisplay")
        epochs, series, phase = self._checked_records()
        if ax is None:
            _, ax = plt.subplots(layout="constrained")
        # In epoch order: with early stopping the last record is of the restored
        # best epoch's model, an earlier epoch than the records before it.
        order = np.argsort(epochs, kind="stable")
        styles = [
            ("largest eigenvalue", dict(color="C0")),
            ("smallest eigenvalue", dict(color="C3")),
            ("gradient norm", dict(color="0.4", linestyle="--")),
        ]
        self.lines_ = [
            ax.plot(epochs[order], values[order], marker=".", label=label, **style)[0]
            for values, (label, style) in zip(series, styles)
        ]
        if phase is not None:
            self.lines_ += _mark_phases(ax, epochs, series[1], phase)
        _symlog_axis(ax, np.concatenate(series))
        ax.set_xlabel("epoch")
        ax.set_ylabel("Hessian eigenvalue / gradient norm")
        ax.set_title("Curvature of the training loss")
        # Beside the axes, as GradientFlowDisplay's: inside, it covered the
        # lines that cross the middle (the gradient norm, the band around 0).
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1),
                  borderaxespad=0)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _checked_records(self):
        """``(epochs, [hessian_max, hessian_min, grad_norm], phase)`` as arrays, once checked."""
        epochs = np.asarray(self.epochs)
        series = [
            _float_array(getattr(self, name), name)
            for name in ("hessian_max", "hessian_min", "grad_norm")
        ]
        if any(v.shape != epochs.shape for v in series) or epochs.ndim != 1 or not epochs.size:
            raise ValueError(
                "epochs, hessian_max, hessian_min and grad_norm must be 1-D arrays "
                "of the same length, one entry per record (at least one record); "
                f"got shapes {[epochs.shape] + [v.shape for v in series]}."
            )
        phase = None if self.phase is None else np.asarray(self.phase)
        if phase is not None and phase.shape != epochs.shape:
            raise ValueError(
                "phase must be None or a 1-D array of one phase per record, of "
                f"the shape of epochs {epochs.shape}; got shape {phase.shape}."
            )
        return epochs, series, phase

    @classmethod
    def from_monitor(cls, monitor, *, ax=None):
        """Plot the records of a fitted curvature monitor.

        Parameters
        ----------
        monitor : CurvatureMonitor
            A fitted monitor, e.g. ``estimator.curvature_monitor_``.

        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure and Axes if None.

        Returns
        -------
        display : CurvatureDisplay
            The display, drawn.
        """
        if not hasattr(monitor, "hessian_max_"):
            raise ValueError(
                f"{type(monitor).__name__} is not a fitted CurvatureMonitor: use the "
                "estimator's curvature_monitor_ after fit."
            )
        display = cls(
            monitor.epochs_, monitor.hessian_max_, monitor.hessian_min_,
            monitor.grad_norm_, phase=monitor.phase_,
        )
        return display.plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the curvature records of an estimator fitted with a CurvatureMonitor.

        Parameters
        ----------
        estimator : DeepMLPClassifier, DeepMLPRegressor, Pipeline or search
            Fitted with ``callbacks=[CurvatureMonitor()]`` (for a pipeline, its
            last step; for a fitted search, its ``best_estimator_``; for a
            wrapper of a single model, its ``estimator_``).

        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure and Axes if None.

        Returns
        -------
        display : CurvatureDisplay
            The display, drawn.
        """
        monitor = _find_curvature_monitor(estimator, purpose="to plot its curvature")
        return cls.from_monitor(monitor, ax=ax)


#: How the records of a phase are marked on the smallest eigenvalue's line.
_PHASE_MARKS = {
    "saddle": dict(marker="o", markeredgecolor="red", label="saddle"),
    "flat": dict(marker="s", markeredgecolor="darkorange",
                 label="flat (curvature cannot tell)"),
}


def _mark_phases(ax, epochs, hessian_min, phase):
    """Hollow markers around the records at a saddle and the flat ones; the lines drawn."""
    marks = []
    for name, style in _PHASE_MARKS.items():
        at = phase == name
        if at.any():
            (line,) = ax.plot(epochs[at], hessian_min[at], linestyle="none",
                              markersize=10, markerfacecolor="none", **style)
            marks.append(line)
    return marks


#: Decades of the symlog axis below its largest value: smaller values are
#: drawn in its linear band, as zero is.
_SYMLOG_DECADES = 6


def _symlog_axis(ax, values):
    """A symlog y axis for ``values``, with a line at 0 and ticks that do not collide.

    The linear band is ``[-linthresh, linthresh]``, ``linthresh`` the smallest
    nonzero ``|value|`` but at most ``_SYMLOG_DECADES`` decades below the
    largest (tinier values are zero on this scale; a threshold of 1e-12 made
    two dozen decades of empty axis). The band is one decade tall on screen,
    so labels at 0 and at ``+-linthresh`` were half a decade apart and
    overlapped ("0", "10^-3", "-10^-3"): the ticks at ``+-linthresh`` are
    left out, the nearest labelled ticks are ``+-10 linthresh`` or beyond.
    """
    from matplotlib.ticker import SymmetricalLogLocator  # optional dependency

    size = np.abs(values)
    size = size[np.isfinite(size) & (size > 0)]
    if size.size:
        linthresh = max(float(size.min()), float(size.max()) * 10.0**-_SYMLOG_DECADES, 1e-300)
    else:
        linthresh = 1.0
    ax.set_yscale("symlog", linthresh=linthresh)
    ax.axhline(0, color="black", linewidth=0.5)
    vmin, vmax = ax.get_ylim()
    # A list, not an array, when the axis lies within the linear band (all
    # records 0 or NaN): as an array, the selection below works for both.
    ticks = np.asarray(SymmetricalLogLocator(linthresh=linthresh, base=10).tick_values(vmin, vmax))
    # Decade ticks are powers of 10: keep 0 and those at least a decade out.
    ticks = ticks[(ticks == 0) | (np.abs(ticks) >= 9.99 * linthresh)]
    ax.set_yticks(ticks)
    ax.set_ylim(vmin, vmax)
