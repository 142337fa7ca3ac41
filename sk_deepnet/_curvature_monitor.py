"""The curvature monitor: is training at a saddle point or at a minimum?

:class:`CurvatureMonitor` records, every few epochs and on a fixed probe
batch, the extreme eigenvalues of the training loss's Hessian (Lanczos on
Hessian-vector products, :mod:`sk_deepnet._curvature`) and the gradient norm,
and labels each record ``"descent"``, ``"saddle"``, ``"minimum"`` or
``"flat"`` (with the loss: whether the fit has made progress, has converged,
or falls further later).
:func:`make_curvature_scorer` turns the records into scorers for
``GridSearchCV``.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from ._callback_base import ProbeCallback, atomic_hook, write_report
from ._curvature import LossHessian, dense_float64, lanczos
from ._losses import zero_output_loss
from ._monitor_lookup import MonitorScorer, find_fitted_monitor
from ._sklearn_compat import Interval

#: The phases a record can have (``phase_``) ("flat" came after the first 0.2.0.dev0 builds).
PHASES = ("descent", "saddle", "minimum", "flat")

#: Per-record scalar attributes (``<name>_``), all of shape (n_records,).
_SERIES = ("hessian_max", "hessian_min", "grad_norm", "probe_loss")


class CurvatureMonitor(ProbeCallback):
    """Record the loss Hessian's extreme eigenvalues and tell saddles from minima.

    Pass it as ``DeepMLPClassifier(callbacks=[CurvatureMonitor()])``; after
    ``fit`` the fitted monitor is the estimator's ``curvature_monitor_``.
    On a probe batch of ``probe_size`` training samples, drawn once when the
    fit begins (with ``early_stopping``, from the training rows: never from
    those held out for validation), it records the network at initialization,
    then every ``record_every`` epochs and at the end of the fit (the final
    model: with ``early_stopping``, the weights of the best validation epoch
    that the fit restores, recorded with that epoch's number):

    * the loss and the norm of its gradient on the probe batch;
    * the largest and the smallest eigenvalue of the loss's Hessian with
      respect to all the parameters (and the ``n_eigenvalues`` largest), by
      ``n_iter`` steps of Lanczos on Hessian-vector products. The loss is the
      training loss of a batch: the mean loss of the probe's samples plus the
      L2 penalty ``alpha / (2 B) * ||W||^2`` of a mini-batch of ``B``
      samples (the fit's own batch size for its training rows; all the
      samples with ``optimizer="lbfgs"``). Networks of dense
      layers and activations get exact products (Pearlmutter's R-operator);
      with normalization or residual blocks they are central differences of
      gradients in float64 (see :class:`~sk_deepnet._curvature.LossHessian`).
      Batch normalization normalizes with the probe's statistics, as in
      training; dropout is off.

    Sample weights are honoured, as training honours them: with
    ``fit(X, y, sample_weight=w)`` the probe is drawn from the samples of
    positive weight and keeps their weights, its loss is the weighted mean
    ``sum_i w_i l_i / sum_i w_i`` (batch normalization's statistics weighted
    too), and the penalty is ``alpha / (2 B mean(w)) * ||W||^2`` (the mean
    over the training rows): training divides ``alpha`` by a mini-batch's
    weight sum, ``B mean(w)`` on average.

    The training itself is untouched: the monitor works on a float64 copy of
    the network and draws from its own random generator.

    Parameters
    ----------
    record_every : int, default=20
        Epochs between records (besides the first, at initialization, and
        the last, at the end of the fit).

    probe_size : int, default=32
        Samples of the probe batch (all of them if the data has fewer). The
        probe is not saved with the model (pickle, skops: no training rows in
        the file); a loaded monitor draws it again from the data of its next
        ``fit`` or ``partial_fit`` (the same rows for the same data and an int
        ``random_state``). Copies within the process (``copy.deepcopy``) keep it.
        The probe's sample weights are training data too: they are left out
        and drawn again with it.

    n_eigenvalues : int, default=3
        How many of the largest eigenvalues to keep (``top_eigenvalues_``).

    n_iter : int, default=15
        Lanczos steps per record: one Hessian-vector product each (about the
        cost of two to four forward-backward passes over the probe batch).
        The extreme Ritz values approach the extreme eigenvalues from inside
        the spectrum; more steps, closer estimates.

    gradient_tol : float, default=0.1
        The gradient is *small* at a record when its norm is at most this
        fraction of the largest gradient norm recorded during the fit. (The
        largest, not the first: a network started near a saddle, as from
        small initial weights, has a small gradient from the start).

    negative_tol : float, default=0.01
        The curvature is *clearly negative* when the smallest eigenvalue is
        below ``-negative_tol`` times the largest.

    progress_tol : float, default=0.05
        The fit has made *no progress* at a record when its probe loss is
        above ``1 - progress_tol`` times the loss scale (see
        ``converged_tol``); its loss *falls later* when a later record's is
        lower by more than ``progress_tol`` times the scale (see ``phase_``).

    converged_tol : float, default=0.05
        The fit has *converged* at a record when its probe loss is below
        ``converged_tol`` times the loss scale: the smaller of the first
        record's loss and the probe's loss for an output of zeros (initial
        weights far too large start hundreds of times above it). Such a
        record is not a saddle, whatever its curvature (every loss here is
        non-negative, so no way down from it can lower the loss by more than
        that fraction of the scale). 0 reports every saddle of the
        second-order test.

    random_state : int, RandomState instance or None, default=None
        Draws the probe batch and Lanczos's starting vectors.

    Attributes
    ----------
    epochs_ : ndarray of shape (n_records,)
        Epochs completed at each record (0: at initialization), in the order
        of the records, each once. The last record is of the fitted model:
        when early stopping restored the weights of its best validation epoch,
        its epoch is that one, earlier than the records before it; if that
        epoch was recorded already, this record replaces the earlier one.

    hessian_max_, hessian_min_ : ndarray of shape (n_records,)
        The largest and the smallest eigenvalue estimates. ``hessian_max_``
        is the sharpness: gradient descent with a learning rate above
        ``2 / hessian_max_`` is unstable along the top direction.

    top_eigenvalues_ : ndarray of shape (n_records, n_eigenvalues)
        The largest eigenvalue estimates, descending. Lanczos gives at most
        ``n_iter`` of them (and at most one per parameter): columns beyond
        that are NaN, as is the whole row of a record whose weights or
        gradient are not finite.

    grad_norm_ : ndarray of shape (n_records,)
        Norm of the loss gradient on the probe batch.

    probe_loss_ : ndarray of shape (n_records,)
        The loss on the probe batch.

    negative_curvature_ : ndarray of shape (n_records,)
        ``max(-hessian_min_, 0) / hessian_max_``: how strong the most negative
        direction is against the most positive one (0 at a minimum).

    phase_ : ndarray of str of shape (n_records,)
        ``"descent"`` where the gradient is not small (``gradient_tol``).
        Where it is small: ``"saddle"`` if the curvature is clearly negative
        (``negative_tol``) and the fit has not converged (``converged_tol``);
        else ``"flat"`` if the fit has made no progress or its loss falls
        later, and ``"minimum"`` otherwise. ``"flat"`` is a point that the
        second-order test cannot classify: a plateau, or a degenerate saddle
        whose way down is of higher order (the origin of a deep linear
        network started from tiny weights). Computed again as records
        arrive, since "small" is relative to the largest gradient recorded
        and "falls later" looks at the records after.

    saddle_fraction_ : float
        Fraction of the records in the phase ``"saddle"`` (``"flat"``
        records are not counted).

    n_params_ : int
        Dimension of the Hessian (the number of parameters).

    method_ : {"exact", "finite_difference"}
        How the Hessian-vector products were computed.

    See Also
    --------
    sk_deepnet.callbacks.GradientMonitor : Per-layer gradient statistics.
    sk_deepnet.plotting.CurvatureDisplay : Plots these records.

    Notes
    -----
    Dauphin et al. (2014) argue that the plateaus of high-dimensional
    non-convex training are saddle points rather than local minima: a small
    gradient with directions of negative curvature. Saxe, McClelland & Ganguli
    (2014) solve the learning dynamics of deep linear networks started from
    small weights: they sit on a plateau near the saddle at the origin, then
    escape. From weights too small the network stays there: with three or
    more weight matrices the origin's Hessian vanishes on the weights (the
    loss falls along a cubic path, a higher-order saddle), and only the
    output bias is curved. A small gradient with no negative curvature is
    then no evidence of a minimum, and the Hessian cannot tell: the largest
    eigenvalue is the output bias's (1 for the squared error, whatever the
    weights), and the Hessian of a trained network, at a true minimum, also
    has a few large eigenvalues and a bulk near zero (Sagun et al., 2017).
    The loss can tell: a minimum that training reached lies below where the
    fit started, so such a record is ``"minimum"`` only if its loss fell by
    more than ``progress_tol`` below the loss scale (the first record's loss,
    or the probe's loss for an output of zeros if smaller: a model no better
    than an output of zeros has learned nothing), and ``"flat"`` otherwise.
    A fit whose first record is already at a minimum (a fresh monitor on a
    warm-started model, targets no model can predict better than the
    initial one) reads ``"flat"`` too: undecided, not wrong.
    Likewise a record whose loss falls later by more than ``progress_tol``
    of the loss scale was no minimum: the loss had not stopped falling.

    The loss also bounds what a saddle can hold back. Every loss of the
    package is non-negative, so from a record whose loss is below
    ``converged_tol`` of the loss scale (the first record's loss, or the
    probe's loss for an output of zeros if smaller) no direction, however
    curved, can lower it by more than that: the fit has converged, and the
    record is not a saddle. A weak saddle below it reads ``"minimum"``: a
    deep linear network's weakest mode, at 0.9% to 1.9% of the initial loss
    in ``benchmarks/curvature_phases.py``. Dauphin et al.'s saddle problem
    is one of saddles at high error; a converged network keeps small
    negative eigenvalues (the loss is not convex) that the second-order test
    alone calls saddles. In the
    measurements of ``benchmarks/curvature_phases.py`` (classifiers and
    regressors of 2 to 3 hidden layers on six data sets, deep linear
    networks learning maps of rank 4 and 5), those records of the healthy
    fits lie at most at 2.2% of the initial loss, while every saddle whose
    loss later fell by more than 5% of it lay at 6.6% or above.

    The test reads the probe's gradient, which mini-batch training keeps
    noisy: a mini-batch fit stuck at a degenerate saddle reads
    ``"descent"`` (the probe's gradient stays near its largest), and only
    its loss, which has not moved, tells it from a slow descent.

    The thresholds are conventions: Lanczos estimates are accurate at
    the ends of the spectrum, but ``hessian_min_`` of a large network with
    ``n_iter`` steps is an upper bound of the smallest eigenvalue (an estimate
    from inside the spectrum), so a saddle can be missed, not invented.

    With ``early_stopping=True`` the fitted model is the best validation
    epoch's, and its record comes last, with that epoch's number. When that
    epoch was recorded already (e.g. ``record_every=1``), the record of the
    fitted model replaces the earlier one instead of repeating it, so that
    ``phase_``, ``saddle_fraction_`` and the scorers count each model once;
    :class:`~sk_deepnet.plotting.CurvatureDisplay` draws the records in epoch
    order.

    A record costs ``n_iter`` Hessian-vector products and a gradient on the
    probe batch; at the defaults it adds about a tenth to the time of the
    deep-narrow benchmark's fit (40 epochs of digits; see the
    benchmarks).

    References
    ----------
    Y. Dauphin, R. Pascanu, C. Gulcehre, K. Cho, S. Ganguli and Y. Bengio,
    "Identifying and attacking the saddle point problem in high-dimensional
    non-convex optimization", NeurIPS 2014.

    A. M. Saxe, J. L. McClelland and S. Ganguli, "Exact solutions to the
    nonlinear dynamics of learning in deep linear neural networks", ICLR 2014.

    B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural
    Computation 6(1), 1994.

    L. Sagun, U. Evci, V. U. Guney, Y. Dauphin and L. Bottou, "Empirical
    analysis of the Hessian of over-parametrized neural networks", ICLR
    workshop 2018 (arXiv:1706.04454, 2017).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sk_deepnet import DeepMLPClassifier
    >>> from sk_deepnet.callbacks import CurvatureMonitor
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DeepMLPClassifier(depth=2, width=16, max_iter=4, random_state=0,
    ...                         callbacks=[CurvatureMonitor(record_every=2,
    ...                                                     random_state=0)])
    >>> clf.fit(X / 16, y).curvature_monitor_.epochs_
    array([0, 2, 4])
    """

    estimator_attribute = "curvature_monitor_"

    _parameter_constraints = {
        "record_every": [Interval(Integral, 1, None, closed="left")],
        "probe_size": [Interval(Integral, 1, None, closed="left")],
        "n_eigenvalues": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 2, None, closed="left")],
        "gradient_tol": [Interval(Real, 0, 1, closed="neither")],
        "negative_tol": [Interval(Real, 0, None, closed="left")],
        "progress_tol": [Interval(Real, 0, 1, closed="left")],
        "converged_tol": [Interval(Real, 0, 1, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        record_every=20,
        *,
        probe_size=32,
        n_eigenvalues=3,
        n_iter=15,
        gradient_tol=0.1,
        negative_tol=0.01,
        progress_tol=0.05,
        converged_tol=0.05,
        random_state=None,
    ):
        self.record_every = record_every
        self.probe_size = probe_size
        self.n_eigenvalues = n_eigenvalues
        self.n_iter = n_iter
        self.gradient_tol = gradient_tol
        self.negative_tol = negative_tol
        self.progress_tol = progress_tol
        self.converged_tol = converged_tol
        self.random_state = random_state

    # ------------------------------------------------------------------- hooks
    @atomic_hook
    def on_fit_begin(
        self, estimator, X=None, y=None, sample_weight=None, train_indices=None,
        batch_size=None, **kwargs,
    ):
        """Draw the probe batch (and its weights) and record the network as the fit starts."""
        self._validate_params()
        if X is None or y is None:
            raise ValueError("CurvatureMonitor needs the training data X and y.")
        fresh = not hasattr(self, "epochs_")
        self._random = check_random_state(self.random_state)
        rows = _training_rows(X, sample_weight, train_indices)
        self._draw_probe(estimator, X, y, sample_weight, rows, self._random)
        self._l2 = _probe_l2(estimator, X, sample_weight, train_indices, batch_size)
        if fresh:
            self._records = {name: [] for name in (*_SERIES, "epochs", "top")}
            self._record(estimator._network, epochs=_epochs_done(estimator))
        self._last_recorded = self._records["epochs"][-1]

    def _draw_probe(self, estimator, X, y, sample_weight, candidates, random):
        # Drawn among the training rows ``candidates`` (see _training_rows):
        # the same draw as from the training rows themselves.
        n = len(candidates)
        rows = candidates[np.sort(random.choice(n, min(self.probe_size, n), replace=False))]
        # The targets as the network's loss takes them (class codes, or a matrix).
        Y = estimator._encode_targets(y[rows], first_call=False, incremental=True)
        self._probe_Y = Y if Y.ndim == 1 else np.asarray(Y, dtype=np.float64)
        self._probe_X = dense_float64(X[rows])
        self._probe_weight = (
            None if sample_weight is None
            else np.asarray(sample_weight, dtype=np.float64)[rows]
        )
        # The probe's loss for an output of zeros: the scale of "converged"
        # (see classify_phases). Pickled, unlike the probe, for the phases
        # that a loaded monitor computes again.
        network = estimator._network
        self._reference_loss = zero_output_loss(
            network._loss, self._probe_Y, self._probe_weight, network.layer_sizes[-1]
        )

    def _redraw_probe(self, estimator, X, y, sample_weight=None, train_indices=None):
        """Draw the probe batch again if a loaded monitor has none (a
        ``partial_fit`` series continued after loading: pickles carry no
        training rows, see ``__getstate__``), as ``on_fit_begin`` draws it."""
        if getattr(self, "_probe_X", None) is None and X is not None and y is not None:
            rows = _training_rows(X, sample_weight, train_indices)
            self._draw_probe(
                estimator, X, y, sample_weight, rows, check_random_state(self.random_state)
            )

    @atomic_hook
    def on_epoch_end(self, estimator, epoch, loss, **kwargs):
        """Record after every ``record_every``-th epoch."""
        done = epoch + 1
        if done % self.record_every == 0 and done != self._last_recorded:
            self._record(estimator._network, done)

    @atomic_hook
    def on_fit_end(self, estimator, restored_epochs=None, **kwargs):
        """Record the final model, unless the last record is of it already."""
        # With early stopping the final model may be an earlier epoch's: its
        # record is labelled with that epoch (and replaces an earlier record of it).
        done = _epochs_done(estimator) if restored_epochs is None else restored_epochs
        network = getattr(estimator, "_network", None)
        # No probe: a loaded monitor ended before it trained again (nothing to measure on).
        probed = getattr(self, "_probe_X", None) is not None
        if network is not None and done != self._last_recorded and probed:
            self._record(network, done)

    # --------------------------------------------------------------- recording
    def _record(self, network, epochs):
        hessian = LossHessian(
            network, self._probe_X, self._probe_Y, l2=self._l2,
            sample_weight=getattr(self, "_probe_weight", None),
        )
        if np.isfinite(hessian.loss) and np.isfinite(hessian.gradient).all():
            with np.errstate(all="ignore"):
                ritz = lanczos(
                    hessian, hessian.n_params, self.n_iter, random_state=self._random
                )
        else:  # overflowing weights: no curvature to measure, a record of NaNs
            ritz = np.array([np.nan])
        top = np.full(self.n_eigenvalues, np.nan)
        largest = ritz[::-1][: self.n_eigenvalues]
        top[: len(largest)] = largest
        # New lists, bound once complete: an exception (a MemoryError, a
        # KeyboardInterrupt) half-way leaves the old ones (see atomic_hook).
        records = {name: list(values) for name, values in self._records.items()}
        if epochs in records["epochs"]:
            # The fitted model of an early-stopped fit, restored from a recorded
            # epoch: its record replaces that one, so that each model counts once.
            index = records["epochs"].index(epochs)
            for values in records.values():
                del values[index]
        records["epochs"].append(epochs)
        records["hessian_max"].append(float(ritz[-1]))
        records["hessian_min"].append(float(ritz[0]))
        records["grad_norm"].append(float(np.linalg.norm(hessian.gradient)))
        records["probe_loss"].append(hessian.loss)
        records["top"].append(top)
        self._records = records
        self._last_recorded = epochs
        self.n_params_ = hessian.n_params
        self.method_ = hessian.method
        self._publish()

    def _publish(self):
        records = self._records
        self.epochs_ = np.asarray(records["epochs"], dtype=np.intp)
        for name in _SERIES:
            setattr(self, name + "_", np.asarray(records[name], dtype=float))
        self.top_eigenvalues_ = np.asarray(records["top"], dtype=float).reshape(
            -1, self.n_eigenvalues
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            self.negative_curvature_ = np.maximum(-self.hessian_min_, 0) / self.hessian_max_
        self.phase_ = classify_phases(
            self.grad_norm_, self.hessian_min_, self.hessian_max_,
            self.gradient_tol, self.negative_tol,
            probe_loss=self.probe_loss_, progress_tol=self.progress_tol,
            converged_tol=self.converged_tol,
            reference_loss=getattr(self, "_reference_loss", None),  # None: pickled before
        )
        self.saddle_fraction_ = float(np.mean(self.phase_ == "saddle"))

    # ------------------------------------------------------------------ output
    def report(self, file=None):
        """A table of the records: epoch, loss, gradient norm, eigenvalues, phase.

        Parameters
        ----------
        file : file-like object, str, path-like or None, default=None
            If given, the report is also written to it: to a file-like object
            (for instance ``sys.stdout``), or to the file at a path, which is
            created or replaced (UTF-8).

        Returns
        -------
        report : str
            One row per record, then a summary line.

        Raises
        ------
        ValueError
            If the monitor has no records (it was not fitted).
        TypeError
            If ``file`` is neither None, a path nor an object with a ``write`` method.
        """
        if not hasattr(self, "epochs_"):
            raise ValueError(
                "This CurvatureMonitor has no records: report() needs a fitted "
                "monitor, e.g. estimator.curvature_monitor_ after fit."
            )
        columns = ("epoch", "loss", "grad norm", "lambda max", "lambda min", "|min|/max")
        lines = ["".join(f"{c:>11}" for c in columns) + "  phase"]
        lines.append("-" * len(lines[0]))
        rows = zip(
            self.epochs_, self.probe_loss_, self.grad_norm_, self.hessian_max_,
            self.hessian_min_, self.negative_curvature_, self.phase_,
        )
        for epoch, *values, phase in rows:
            cells = "".join(f"{format(v, '.3g'):>11}" for v in values)
            lines.append(f"{epoch:>11}{cells}  {phase}")
        saddles = self.epochs_[self.phase_ == "saddle"]
        where = f" (epochs {_span(saddles)})" if len(saddles) else ""
        flat = self.epochs_[self.phase_ == "flat"]
        if len(flat):
            where += f", {len(flat)} flat (epochs {_span(flat)})"
        lines.append(
            f"{len(self.epochs_)} records, {len(saddles)} at a saddle{where}; "
            f"Lanczos with {self.n_iter} {self.method_} Hessian-vector products "
            f"over {self.n_params_} parameters"
        )
        if len(flat):
            lines.append(
                "flat: a small gradient and no clearly negative curvature, but the loss "
                f"is within {100 * self.progress_tol:g}% of its scale (the first record's, or "
                "an output of zeros' if smaller) or falls by more later: a plateau or a "
                "degenerate saddle, not evidence of a minimum"
            )
        text = "\n".join(lines)
        write_report(text, file)
        return text

    # ---------------------------------------------------------------- pickling
    #: Training rows (see ProbeCallback); the records are rebuilt from the
    #: published arrays, which hold the same values.
    _probe_attributes = ("_probe_X", "_probe_Y", "_probe_weight")
    _rebuilt_attributes = ("_records",)

    def __setstate__(self, state):
        super().__setstate__(state)
        # Pickled by a build before "flat": its default, and the phases computed
        # again from the records, so that a flat record no longer reads "minimum".
        self.__dict__.setdefault("progress_tol", 0.05)
        # And by a build before "converged_tol" (its phases recomputed with it).
        self.__dict__.setdefault("converged_tol", 0.05)
        if "epochs_" in state:
            self._records = {
                "epochs": list(self.epochs_),
                **{name: list(getattr(self, name + "_")) for name in _SERIES},
                "top": list(self.top_eigenvalues_),
            }
            self._publish()


def classify_phases(
    grad_norm, hessian_min, hessian_max, gradient_tol, negative_tol, *,
    probe_loss=None, progress_tol=0.05, converged_tol=0.05, reference_loss=None,
):
    """``"descent"``, ``"saddle"``, ``"minimum"`` or ``"flat"`` per record (see CurvatureMonitor).

    Parameters
    ----------
    grad_norm, hessian_min, hessian_max : ndarray of shape (n_records,)
    gradient_tol, negative_tol : float
    probe_loss : ndarray of shape (n_records,) or None, default=None
        The loss at each record; None: only the gradient and the curvature
        decide (no record is ``"flat"``, every small gradient with clearly
        negative curvature is a ``"saddle"``).
    progress_tol : float, default=0.05
        The yardstick of progress: a fall of the loss by ``progress_tol``
        times the loss scale, the first record's loss or ``reference_loss``
        if smaller (the curvature has no scale that separates a degenerate
        saddle from a minimum, see CurvatureMonitor's Notes).
    converged_tol : float, default=0.05
        A record whose loss is below ``converged_tol`` times the loss scale
        (see ``reference_loss``) has converged: it is not a saddle.
    reference_loss : float or None, default=None
        The probe's loss for an output of zeros. With it, ``converged_tol``
        and "falls later" measure against the smaller of it and the first
        record's loss: initial weights far too large make that loss hundreds
        of times larger, and every later record "converged".

    Returns
    -------
    phases : ndarray of str of shape (n_records,)
    """
    grad_norm = np.asarray(grad_norm, dtype=float)
    if grad_norm.size == 0:
        return np.empty(0, dtype="<U7")
    with np.errstate(invalid="ignore"):
        small = grad_norm <= gradient_tol * np.nanmax(grad_norm)
        negative = np.asarray(hessian_min) < -negative_tol * np.abs(hessian_max)
    stuck, converged, falls_later = _loss_tests(
        probe_loss, progress_tol, converged_tol, grad_norm.shape, reference_loss
    )
    saddle = small & negative & ~converged
    settled = np.where(stuck | falls_later, "flat", "minimum")
    return np.where(saddle, "saddle", np.where(small, settled, "descent"))


def _loss_tests(probe_loss, progress_tol, converged_tol, shape, reference_loss=None):
    """Per record, from the losses: (no progress yet, converged, falls later).

    The scale is the smaller of the first loss and ``reference_loss`` (an
    output of zeros'). *No progress*: the loss is above the scale less
    ``progress_tol`` of it (a model no better than an output of zeros has
    learned nothing, however large its first loss). *Converged*: below
    ``converged_tol`` of the scale; every loss
    of the package is non-negative (cross-entropies, the squared error,
    Poisson's deviance), so no way down from there, a saddle's included, can
    lower the loss by more than that much of where the fit started. *Falls
    later*: a later record's loss is lower by more than ``progress_tol`` of
    the scale (the loss had not stopped falling).
    """
    nothing = np.zeros(shape, dtype=bool)
    if probe_loss is None:
        return nothing, nothing, nothing
    loss = np.asarray(probe_loss, dtype=float)
    scale = loss[0] if reference_loss is None else min(loss[0], reference_loss)
    with np.errstate(invalid="ignore"):
        stuck = loss > scale - progress_tol * abs(scale)
        converged = (scale > 0) & (loss < converged_tol * scale)
        # The lowest loss recorded after each record (fmin: NaN records skipped).
        later = np.append(np.fmin.accumulate(loss[:0:-1])[::-1], np.inf)
        falls_later = loss - later > progress_tol * abs(scale)
    return stuck, converged, falls_later


def _span(epochs):
    return f"{epochs[0]}-{epochs[-1]}" if len(epochs) > 1 else f"{epochs[0]}"


def _find_curvature_monitor(estimator, purpose="to score its curvature"):
    """The fitted curvature monitor of ``estimator`` (or of the model inside, see
    ``find_fitted_monitor``)."""
    return find_fitted_monitor(
        estimator, "curvature_monitor_", "CurvatureMonitor", "curvature monitor", purpose
    )


#: metric name -> function of a fitted monitor (greater is better for each).
_CURVATURE_METRICS = {
    "never_saddle": lambda m: float(not np.any(m.phase_ == "saddle")),
    "saddle_fraction": lambda m: -m.saddle_fraction_,
    "final_sharpness": lambda m: -float(m.hessian_max_[-1]),
    "final_negative_curvature": lambda m: -float(m.negative_curvature_[-1]),
}


class _CurvatureScorer(MonitorScorer):
    """Scorer ``scorer(estimator, X, y) -> float`` reading the curvature monitor."""

    metrics = _CURVATURE_METRICS
    find = staticmethod(_find_curvature_monitor)

    def __repr__(self):
        return f"make_curvature_scorer(metric={self.metric!r})"


def make_curvature_scorer(metric="never_saddle"):
    """Make a scorer from a fitted estimator's curvature records.

    The scorer ignores ``X`` and ``y``: it reads the ``curvature_monitor_`` of
    the fitted estimator, which needs ``callbacks=[CurvatureMonitor()]``; it
    finds the estimator as
    :func:`~sk_deepnet.callbacks.make_gradient_health_scorer` does (through
    pipelines, a search's ``best_estimator_`` and a single ``estimator_``).
    Greater is better for every metric, so ``GridSearchCV(..., scoring=
    {"accuracy": "accuracy", "never_saddle": make_curvature_scorer()},
    refit="accuracy")`` tabulates it next to a real score.

    Parameters
    ----------
    metric : {"never_saddle", "saddle_fraction", "final_sharpness", \
"final_negative_curvature"}, default="never_saddle"
        ``"never_saddle"``: 1.0 if no record was at a saddle, else 0.0.
        ``"saddle_fraction"``: minus the fraction of records at a saddle.
        (Records in the phase ``"flat"`` are not counted as saddles by
        either: the curvature cannot tell what they are.)
        ``"final_sharpness"``: minus the largest Hessian eigenvalue at the
        last record (flatter final points score higher).
        ``"final_negative_curvature"``: minus ``negative_curvature_`` at the
        last record.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``. It raises a ValueError for an
        estimator without a fitted curvature monitor.
    """
    return _CurvatureScorer(metric)


#: 1.0 for a fitted estimator whose curvature monitor never saw a saddle, else 0.0.
never_saddle_scorer = make_curvature_scorer("never_saddle")


def _training_rows(X, sample_weight, train_indices):
    """The rows of ``X`` the probe is drawn among: the training rows of positive weight.

    ``train_indices`` are those the fit trains on (None: all): the rows that
    early stopping holds out for validation are not training data. Rows of
    zero weight add nothing to the loss. Without weights and validation these
    are all the rows: the same draw as before either was honoured.
    """
    rows = np.arange(X.shape[0]) if train_indices is None else np.asarray(train_indices)
    if sample_weight is not None:
        rows = rows[np.asarray(sample_weight)[rows] > 0]
    return rows


def _probe_l2(estimator, X, sample_weight, train_indices, batch_size):
    """The L2 coefficient of the probe's loss: the one a training step uses.

    A training step on a mini-batch penalizes with ``alpha / sum(w_batch)``
    (``Network.loss_and_gradient``; the estimator only validates the weights
    and casts them, never rescales them): ``alpha / B`` for ``B`` unweighted
    samples, and on average ``alpha / (B * mean(w))`` with weights, since a
    mini-batch of ``B`` rows drawn from the training rows has the weight sum
    ``B * mean(w)`` in expectation. The probe's own weight sum would not do:
    it is that of ``probe_size`` rows, not of a training batch. L-BFGS takes
    one batch of every sample: ``alpha / sum(w)`` exactly. ``B`` is the
    ``batch_size`` the fit passes to the hook; a hook called without it works
    it out from the estimator's parameters, as the fit does.
    """
    n_train = X.shape[0] if train_indices is None else len(train_indices)
    if batch_size is None:
        lbfgs = isinstance(estimator.optimizer, str) and estimator.optimizer == "lbfgs"
        batch_size = n_train if lbfgs else estimator._batch_size(n_train, warn=False)
    if sample_weight is None:
        mean_weight = 1.0
    else:
        weights = sample_weight if train_indices is None else sample_weight[train_indices]
        mean_weight = float(np.mean(weights, dtype=np.float64))
    return float(estimator.alpha) / (batch_size * mean_weight)


def _epochs_done(estimator):
    """Epochs trained over the whole fit, counted as the callbacks' ``epoch`` is.

    Not ``n_iter_``: a warm-started fit counts only its own epochs there, as
    scikit-learn does, while a monitor's record goes on over the fits.
    """
    return len(getattr(estimator, "loss_curve_", None) or [])
