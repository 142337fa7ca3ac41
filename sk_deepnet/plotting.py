"""Plots of how a network trained, following scikit-learn's Display API.

A Display is built from a fitted object by a ``from_*`` class method, which
computes what to draw and calls :meth:`plot`; ``plot`` draws on a given (or a
new) matplotlib Axes and stores the artists as ``ax_``, ``figure_`` and
``lines_``. matplotlib is an optional dependency
(``pip install sk-deepnet[plot]``), imported only when a plot is drawn.
"""

import numpy as np

from ._gradient_monitor import _find_monitor

__all__ = ["GradientFlowDisplay"]

_KINDS = ("history", "profile")


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
    """The ``gradient_monitor_`` of an estimator or of a pipeline's last step."""
    return _find_monitor(estimator, purpose="to plot its gradient flow")


class GradientFlowDisplay:
    """Per-layer gradient norms recorded by a :class:`~sk_deepnet.callbacks.GradientMonitor`.

    Use :meth:`from_estimator` or :meth:`from_monitor` rather than the
    constructor. Two kinds of plot:

    * ``"history"``: one line per weight layer, its gradient norm against the
      mini-batch counter. Vanishing gradients show as the lines of the first
      layers lying orders of magnitude below the output layer's; exploding
      gradients as lines shooting up (non-finite values are not drawn).
    * ``"profile"``: one line per record (at most ``max_profiles``, evenly
      spaced, light to dark over training), the gradient norm against the
      layer: the flow of the gradient from the output back to the input.

    The y axis is logarithmic.

    Parameters
    ----------
    grad_norms : ndarray of shape (n_records, n_layers)
        Gradient norm of each weight layer at each record.

    record_iterations : ndarray of shape (n_records,)
        Mini-batch counter of each record.

    diagnosis : str or None, default=None
        Shown in the title when given.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The Axes drawn on.

    figure_ : matplotlib Figure
        The Figure of ``ax_``.

    lines_ : list of matplotlib Line2D
        One line per layer (``"history"``) or per drawn record (``"profile"``).

    See Also
    --------
    sk_deepnet.callbacks.GradientMonitor : Records the gradient norms.

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
    """

    def __init__(self, grad_norms, record_iterations, *, diagnosis=None):
        self.grad_norms = grad_norms
        self.record_iterations = record_iterations
        self.diagnosis = diagnosis

    def plot(self, ax=None, *, kind="history", max_profiles=10, cmap="viridis"):
        """Draw the gradient norms.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure and Axes if None.

        kind : {"history", "profile"}, default="history"
            One line per layer over training, or one line per record over the
            layers (see the class description).

        max_profiles : int, default=10
            Most records drawn by ``kind="profile"``.

        cmap : str or matplotlib Colormap, default="viridis"
            Colours the lines by layer (``"history"``: first layer dark,
            output layer light) or by time (``"profile"``: early records
            light, late records dark).

        Returns
        -------
        display : GradientFlowDisplay
            This object, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        plt = _require_matplotlib("GradientFlowDisplay")
        norms, iterations = self._checked_records(kind, max_profiles)
        if ax is None:
            _, ax = plt.subplots()
        colormap = plt.get_cmap(cmap)
        n_records, n_layers = norms.shape
        names = [f"hidden {i + 1}" for i in range(n_layers - 1)] + ["output"]
        # log scale: non-finite and zero norms are not drawn
        shown = np.where(np.isfinite(norms) & (norms > 0), norms, np.nan)
        self.lines_ = []
        if kind == "history":
            for i in range(n_layers):
                color = colormap(0.85 * i / max(n_layers - 1, 1))
                (line,) = ax.plot(
                    iterations, shown[:, i], marker=".", color=color, label=names[i]
                )
                self.lines_.append(line)
            ax.set_xlabel("mini-batch")
        else:
            picked = np.unique(np.linspace(0, n_records - 1, min(max_profiles, n_records)).round())
            for k, r in enumerate(picked.astype(int)):
                color = colormap(0.9 - 0.8 * k / max(len(picked) - 1, 1))
                (line,) = ax.plot(
                    np.arange(1, n_layers + 1), shown[r], marker="o", color=color,
                    label=f"batch {iterations[r]}",
                )
                self.lines_.append(line)
            ax.set_xticks(np.arange(1, n_layers + 1), names, rotation=45, ha="right")
            ax.set_xlabel("layer")
        ax.set_yscale("log")
        ax.set_ylabel("gradient norm ||dL/dW||")
        title = "Gradient flow"
        if self.diagnosis is not None:
            title += f" ({self.diagnosis})"
        ax.set_title(title)
        ax.legend(fontsize="small", ncol=2 if len(self.lines_) > 6 else 1)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _checked_records(self, kind, max_profiles):
        """The norms and iterations to draw, after checking the plot's arguments."""
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {list(_KINDS)}; got {kind!r}.")
        norms = np.asarray(self.grad_norms, dtype=float)
        iterations = np.asarray(self.record_iterations)
        if norms.ndim != 2 or len(iterations) != len(norms):
            raise ValueError(
                "grad_norms must have shape (n_records, n_layers) and "
                "record_iterations one entry per record; got shapes "
                f"{norms.shape} and {iterations.shape}."
            )
        if not (isinstance(max_profiles, (int, np.integer)) and max_profiles >= 1):
            raise ValueError(f"max_profiles must be a positive int; got {max_profiles!r}.")
        return norms, iterations

    @classmethod
    def from_monitor(cls, monitor, *, ax=None, kind="history", max_profiles=10, cmap="viridis"):
        """Plot the gradient norms recorded by a fitted gradient monitor.

        Parameters
        ----------
        monitor : GradientMonitor
            A fitted monitor, e.g. ``estimator.gradient_monitor_``.

        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure and Axes if None.

        kind : {"history", "profile"}, default="history"
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
        )
        return display.plot(ax=ax, kind=kind, max_profiles=max_profiles, cmap=cmap)

    @classmethod
    def from_estimator(
        cls, estimator, *, ax=None, kind="history", max_profiles=10, cmap="viridis"
    ):
        """Plot the gradient norms of an estimator fitted with a GradientMonitor.

        Parameters
        ----------
        estimator : DeepMLPClassifier, DeepMLPRegressor or Pipeline
            Fitted with ``callbacks=[GradientMonitor()]`` (for a pipeline, its
            last step).

        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure and Axes if None.

        kind : {"history", "profile"}, default="history"
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
