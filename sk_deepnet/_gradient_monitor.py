"""The gradient monitor: per-layer gradient health recorded while a net trains.

:class:`GradientMonitor` answers "why does my deep net not learn?". Every
``record_every`` mini-batches (by default the first mini-batch of every epoch)
it records, per weight layer (a few numpy reductions over all the layers):

* the gradient of the loss with respect to each weight matrix, before gradient
  clipping: its L2 norm, mean and max absolute value;
* the norm of the back-propagated error signal ``delta`` (d loss / d dense
  output) of each layer and the gain between neighbouring layers, whose product
  over the layers is what makes gradients vanish or explode;
* the size of the optimizer's real step relative to the weights,
  ``||W_after - W_before|| / ||W_before||``;
* hidden activation statistics: the fraction of saturated sigmoid/tanh
  outputs, the fraction of dead relu-family units, their mean and std.

From the records it diagnoses the net as ``"exploding"``, ``"vanishing"``,
``"dead_units"`` or ``"healthy"``, flags layers, prints a per-layer report and
warns with a
:class:`GradientHealthWarning`. :func:`make_gradient_health_scorer` turns the
diagnosis into a scorer, so that ``GridSearchCV`` tabulates gradient health
next to accuracy.
"""

import math
import re
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ._activations import BOUNDS, canonical_activation
from ._batch_record import BatchRecord
from ._callback_base import ProbeCallback, atomic_hook, write_report
from ._gradient_advice import DEAD_FAMILY, remedies_not_in_use
from ._jacobian_spectra import jacobian_statistics
from ._monitor_lookup import MonitorScorer, find_fitted_monitor
from ._scale import column_scale, scaling_remedies
from ._sklearn_compat import Interval, StrOptions
from ._warnings import or_list, warn_user
from .exceptions import GradientHealthWarning

#: The per-record, per-layer statistics: fitted attribute ``<name>_`` each.
STATISTICS = (
    "grad_norms",
    "grad_mean_abs",
    "grad_max_abs",
    "delta_norms",
    "layer_gains",
    "update_ratios",
    "saturation",
    "dead_units",
    "activation_means",
    "activation_stds",
    # Jacobian spectra (jacobian_spectra=True; NaN otherwise), from _jacobian_spectra.py
    "jacobian_max",
    "jacobian_min",
    "jacobian_mean",
    "jacobian_spread",
    "jacobian_rank",
)

#: The rows on which a record's dead units are counted: a smaller batch's
#: count goes on over the batches after it until there are as many. A unit
#: on for a fraction p of the samples is off for n rows (1 - p)^n of the
#: time: with batch_size=1 a healthy relu net read about 50% dead. A unit on
#: for a tenth of the samples is off for 8 rows 43% of the time, for 32 rows
#: 3%: a regressor's layer counted on 8 one-row batches read 0.48 dead where
#: all its training rows give 0.35; on 32 rows, 0.37 (see the tests).
DEAD_COUNT_ROWS = 32

#: The fewest rows a count may end with when its epoch ends first (tiny data
#: sets): a unit on for half the samples is off for 8 rows 0.4% of the time.
MIN_DEAD_ROWS = 8

#: The fitted attributes of the diagnosis, computed from the records when read.
DIAGNOSIS_ATTRIBUTES = (
    "relative_grad_norms_",
    "vanishing_ratio_",
    "exploding_layers_",
    "vanishing_layers_",
    "dead_layers_",
    "diagnosis_",
)

#: The diagnosis summarizes the most recent quarter of the records.
SUMMARY_FRACTION = 0.25


class GradientMonitor(ProbeCallback):
    """Record per-layer gradient statistics and diagnose vanishing or exploding.

    Pass it as ``DeepMLPClassifier(callbacks=[GradientMonitor()])``. The
    estimator trains a clone: after ``fit`` the fitted monitor is the
    estimator's ``gradient_monitor_`` (and sits in ``callbacks_``) while the
    monitor passed as a parameter stays untouched. Records accumulate over
    ``partial_fit`` calls and warm-started fits, as ``loss_curve_`` does.

    Layer ``i`` below is the ``i``-th weight layer: the ``depth`` hidden
    layers, then the output layer (``n_layers = depth + 1``).

    Parameters
    ----------
    record_every : "epoch" or int, default="epoch"
        When to record. ``"epoch"`` records the first mini-batch of every
        epoch (so the first record shows the network at initialization and
        each record is a full batch); an int ``n`` records every ``n``-th
        mini-batch, counted over the whole fit from the first one.

    vanishing_threshold : float, default=1e-2
        A layer vanishes when its gradient norm, or the norm of its
        back-propagated error signal, is below this fraction of the output
        layer's (the median over the summary window, see Notes). Glorot &
        Bengio (2010) trace the failure of deep sigmoid nets to
        back-propagated gradients shrinking from the output towards the input;
        two orders of magnitude between the output and a layer is a
        convention, not a value from that paper.

    exploding_threshold : float, default=1e2
        A layer explodes when its gradient norm, or its back-propagated error
        norm, exceeds this multiple of the output layer's (median over the
        summary window): the mirror image of ``vanishing_threshold``.

    max_update_ratio : float, default=1.0
        A layer explodes when the optimizer's step is larger than this
        fraction of its weights, ``||dW|| / ||W||`` (median over the summary
        window). The rule of thumb of Karpathy's CS231n notes puts a healthy
        ratio near 1e-3; at 1 every step replaces the weights.

    growth_threshold : float, default=1e4
        A layer explodes when its gradient norm, at any record, exceeds this
        multiple of the largest gradient norm of the first record (the
        network's initial gradient scale). Pascanu et al. (2013) define
        exploding gradients as a large increase of the gradient norm during
        training; the factor is a convention.

    saturation_margin : float, default=0.01
        A sigmoid (tanh) output within this distance of its bounds counts as
        saturated: its local derivative is then below 4% (2%) of its maximum,
        the saturation Glorot & Bengio (2010) observe in deep sigmoid nets.

    dead_threshold : float, default=0.5
        A hidden layer of the relu family (relu, leaky_relu, elu, selu, gelu)
        is dead when at least this fraction of its units is dead (no positive
        output on a whole recorded batch, see ``dead_units_``; the median over
        the summary window). Half the units: in ``benchmarks/dead_units.py``
        the networks trained on standardized features stay below it (up to
        0.42), those trained on raw wine features all reach it (0.59 to 1.00)
        and most of those on raw breast cancer features (0.49 to 1.00). Layers
        of other activations are never dead.

    warn : bool, default=True
        Emit a :class:`GradientHealthWarning` at the end of ``fit`` when the
        diagnosis is not ``"healthy"``. Its remedies start with scaling ``X``
        (or a regressor's ``y``) when a feature's (a target's) mean or
        standard deviation is above 10 in absolute value, the rule of the
        :class:`~sk_deepnet.exceptions.DivergenceWarning`'s advice; a healthy
        fit on unscaled data gets no warning.

    jacobian_spectra : bool, default=False
        Also record, at each record, the singular values of every layer's
        Jacobian and of the Jacobians from the input to each layer (the
        ``jacobian_*_`` attributes), on a fixed probe batch of
        ``jacobian_probe_size`` training samples (evenly spaced rows of X;
        with ``early_stopping``, of its training rows, not the validation ones),
        exactly, per sample, in float64, in inference mode (dropout off,
        batch normalization with its running statistics), at the first record
        and every ``jacobian_every``-th record after it (NaN at the others).
        Off by default.

    jacobian_probe_size : int, default=4
        Samples of the Jacobian probe batch. The probe is not saved with the
        model (pickle, skops: no training rows in the file); a loaded monitor
        draws it again, the same evenly spaced rows, from the X of its next
        ``fit`` or ``partial_fit``. Copies within the process
        (``copy.deepcopy``) keep it.

    jacobian_every : int, default=10
        Records between two Jacobian records: a Jacobian record costs two
        batched symmetric eigenvalue problems (``jacobian_probe_size``
        matrices of the layer's width) per layer, about an epoch of the
        deep-narrow benchmark, so that every 10th record of
        ``record_every="epoch"`` keeps the overhead under 10%.

    Attributes
    ----------
    grad_norms_ : ndarray of shape (n_records, n_layers)
        L2 norm of the loss gradient with respect to each weight matrix
        (before gradient clipping; the L2 penalty ``alpha`` included).

    grad_mean_abs_, grad_max_abs_ : ndarray of shape (n_records, n_layers)
        Mean and maximum absolute value of those gradients.

    delta_norms_ : ndarray of shape (n_records, n_layers)
        L2 norm (over the batch's samples and the layer's units) of the
        back-propagated error signal, d loss / d (dense output of the layer).

    layer_gains_ : ndarray of shape (n_records, n_layers)
        ``delta_norms_[:, i] / delta_norms_[:, i + 1]``: how much back-propagation
        through layer ``i + 1`` amplifies (> 1) or shrinks (< 1) the error
        signal. NaN for the output layer.

    update_ratios_ : ndarray of shape (n_records, n_layers)
        ``||W_after - W_before|| / ||W_before||`` of the optimizer's actual step
        on the recorded batch (after clipping, momentum, weight decay...).

    saturation_ : ndarray of shape (n_records, n_layers)
        Fraction of (sample, unit) outputs within ``saturation_margin`` of the
        activation's bounds. NaN for unbounded activations and the output layer.

    dead_units_ : ndarray of shape (n_records, n_layers)
        Fraction of a hidden layer's units whose output is ``<= 0`` for every
        sample of the batch (zero for relu). A batch of fewer than 32 rows
        cannot tell (a healthy unit is off for a one-row batch half the
        time): its count goes on over the batches after it until there are
        32 rows, or until the epoch ends or the next record comes, and is NaN
        if it has fewer than 8 rows then. NaN outside the relu family (relu,
        leaky_relu, elu, selu, gelu) and for the output layer.

    activation_means_, activation_stds_ : ndarray of shape (n_records, n_layers)
        Mean and standard deviation of the hidden activations (before dropout);
        NaN for the output layer.

    jacobian_max_, jacobian_min_, jacobian_mean_ : ndarray of shape (n_records, n_layers)
        With ``jacobian_spectra=True`` (else NaN): the largest, smallest and
        mean singular value, over the probe's samples, of each layer's
        per-sample Jacobian ``d h_l / d h_{l-1}`` (for a hidden layer
        ``diag(f'(z)) W.T``, with its normalization's Jacobian; at the end of
        a residual block, of the branch alone; for the output layer ``W.T``).
        Values far from 1 shrink (< 1) or amplify (> 1) signals and gradients
        passing through the layer in some directions.

    jacobian_spread_ : ndarray of shape (n_records, n_layers)
        With ``jacobian_spectra=True`` (else NaN): the spread of the singular
        values of the Jacobian from the network's input to layer ``l``'s
        output (skip connections included; the last column: to the logits),
        ``log10(s_90 / s_10)``, the width in decades of the middle 80% of its
        non-zero singular values, the median over the probe's samples. 0 is
        dynamical isometry (every direction passes alike); 2 means the
        strong directions pass a hundred times more than the weak ones.
        Zero singular values (below ``1e-6`` of the largest: the inactive
        units of a relu layer, a layer narrower than the input) are left
        out: they are the Jacobian's rank, not its spread. Pennington,
        Schoenholz & Ganguli (2017) show that deep tanh networks with
        orthogonal weights can keep the spectrum concentrated and train
        fastest.

    jacobian_rank_ : ndarray of shape (n_records, n_layers)
        With ``jacobian_spectra=True`` (else NaN): the fraction of those
        singular values that are not zero, the median over the probe's
        samples. 1 is full rank; a network whose relu units mostly died
        keeps few directions (a small rank fraction) however small its
        spread: read the two together.

    record_epochs_ : ndarray of shape (n_records,)
        Epoch (from 0) of each record.

    record_iterations_ : ndarray of shape (n_records,)
        Mini-batch counter (from 0, over the whole fit) of each record.

    stopped_mid_epoch_ : bool
        Whether the last ``fit`` stopped in the middle of an epoch, as the
        estimator does when the loss or the weights become non-finite
        (divergence) or on KeyboardInterrupt. When that batch's loss was not
        finite, its gradients are the last record (without an update ratio).

    diverged_ : bool
        Whether the last ``fit`` stopped because the loss, the weights or batch
        normalization's statistics became infinite or NaN (the estimator's
        ``DivergenceWarning``, or its error when nothing finite was trained).
        The diagnosis is then ``"exploding"`` even when the explosion came
        between two records and no layer is flagged (with
        ``record_every="epoch"``, over the batches after an epoch's first).
        A ``partial_fit`` call that diverges sets it too; the next epoch
        trained clears it.

    n_layers_ : int
        Number of weight layers, ``depth + 1``.

    activation_ : str
        The hidden activation (canonical name).

    relative_grad_norms_ : ndarray of shape (n_layers,)
        Gradient norm of each layer over the output layer's, the median over
        the summary window.

    vanishing_ratio_ : float
        ``relative_grad_norms_[0]``: the first layer's gradient norm over the
        output layer's (the median over the summary window). NaN without
        records.

    vanishing_layers_, exploding_layers_ : ndarray of bool of shape (n_layers,)
        The layers flagged by the thresholds above (a layer flagged as
        exploding is not also flagged as vanishing).

    dead_layers_ : ndarray of bool of shape (n_layers,)
        The hidden relu-family layers whose fraction of dead units (the median
        over the summary window) is at least ``dead_threshold``. A dead layer
        may also vanish or explode.

    input_scale_ : float
        The largest absolute mean or standard deviation of a feature of the
        ``X`` the monitor started recording on: that of ``fit``, or of the
        first ``partial_fit`` of a series (estimated on at most 2000 evenly
        spaced rows; with ``early_stopping``, the validation rows included):
        1 for standardized features. Above 10 the inputs count as far from
        standardized. NaN when the monitor got no ``X``.

    diagnosis_ : {"exploding", "vanishing", "dead_units", "healthy"}
        ``"exploding"`` if any layer explodes or the fit diverged (divergence
        is the most urgent problem), else ``"vanishing"`` if any layer
        vanishes (no gradient reaches the first layers: nothing there trains),
        unless units that died during training explain it, else
        ``"dead_units"`` if any layer is dead (the gradient flows through the
        live units: the net trains with fewer units, often to a worse fit),
        else ``"healthy"``. Dead units explain the vanishing when every
        vanishing layer is dead or lies below a dead layer (which passes back
        no error signal), the dead units were alive at the first record and
        the first record showed no vanishing: their cause, large steps, is
        the one to treat. A tiny init, which vanishes from the first record
        and kills units afterwards, stays ``"vanishing"``.

    Notes
    -----
    A weight gradient is the product of the layer's input and its error
    signal, ``inputs.T @ delta``. When the weights are uniformly too small or
    too large (``init="normal"`` with a tiny or huge ``init_scale``) the
    activations shrink or grow layer after layer like the error signal does,
    and the weight gradients of the first and the last layers stay alike while
    the error signal vanishes or explodes: that is why the diagnosis checks
    both. Gradient norms include the L2 penalty's gradient ``alpha / n * W``,
    which sets a floor under vanishing weight gradients.

    The *summary window* is the most recent quarter (rounded up) of the
    records whose gradient norms are all finite; medians over it ignore the
    noise of single batches. Any non-finite norm or update ratio anywhere in
    the records marks its layer as exploding: when the loss becomes non-finite
    the estimator restores the last finite weights and stops, but the monitor
    has recorded the steps that led there and, when that batch's loss was not
    finite, its gradients (see ``stopped_mid_epoch_``). An explosion between
    two records is known from the estimator (``diverged_``).

    The warning's remedies follow the evidence. A problem the first record
    already shows comes from the initial state: an explosion of the initial
    weights gets the init and batch normalization; units dead from the start
    get scaling X and batch normalization when X is far from standardized,
    else (a deep narrow net) skip connections or ``elu``. One that appeared
    during training comes from the steps: a lower learning rate and gradient
    clipping (or another activation for dead units) first.

    A relu unit that outputs zero for every sample of a batch passes back no
    gradient and its weights stop changing: it is dead, and stays so while
    the layer below keeps its pre-activation negative. Unscaled inputs cause
    it: a feature of mean 750 (raw wine) gives the first layer's
    pre-activations a common offset far larger than their spread over the
    samples, so that a unit tends to be on for every sample or for none.
    That is why ``input_scale_`` counts a feature's mean as well as its
    spread.

    A recorded batch costs a few dozen numpy calls whatever the depth (each
    statistic is one reduction over all the layers at once); the other
    batches cost a Python call per hook. The diagnosis is computed at the
    end of ``fit``, and after ``partial_fit`` when one of its attributes is
    first read.

    References
    ----------
    X. Glorot and Y. Bengio, "Understanding the difficulty of training deep
    feedforward neural networks", AISTATS 2010.

    R. Pascanu, T. Mikolov and Y. Bengio, "On the difficulty of training
    recurrent neural networks", ICML 2013.

    A. Karpathy, CS231n notes, "Neural Networks Part 3: Learning and
    Evaluation" (ratio of weights:updates), https://cs231n.github.io/neural-networks-3/

    J. Pennington, S. S. Schoenholz and S. Ganguli, "Resurrecting the sigmoid
    in deep learning through dynamical isometry: theory and practice",
    NeurIPS 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sk_deepnet import DeepMLPClassifier
    >>> from sk_deepnet.callbacks import GradientMonitor
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DeepMLPClassifier(depth=3, width=32, max_iter=5, random_state=0,
    ...                         callbacks=[GradientMonitor()])
    >>> clf.fit(X / 16, y).gradient_monitor_.grad_norms_.shape
    (5, 4)
    """

    estimator_attribute = "gradient_monitor_"

    # The gradients are read in on_grad_computed, before the optimizer's step,
    # and in on_fit_end only for a batch that got no step (a non-finite loss):
    # the trainer may let the step use the gradient as its work array.
    _reads_gradient_after_step = False

    _parameter_constraints = {
        "record_every": [StrOptions({"epoch"}), Interval(Integral, 1, None, closed="left")],
        "vanishing_threshold": [Interval(Real, 0, 1, closed="neither")],
        "exploding_threshold": [Interval(Real, 1, None, closed="neither")],
        "max_update_ratio": [Interval(Real, 0, None, closed="neither")],
        "growth_threshold": [Interval(Real, 1, None, closed="neither")],
        "saturation_margin": [Interval(Real, 0, 0.5, closed="left")],
        "dead_threshold": [Interval(Real, 0, 1, closed="right")],
        "warn": ["boolean"],
        "jacobian_spectra": ["boolean"],
        "jacobian_probe_size": [Interval(Integral, 1, None, closed="left")],
        "jacobian_every": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        record_every="epoch",
        *,
        vanishing_threshold=1e-2,
        exploding_threshold=1e2,
        max_update_ratio=1.0,
        growth_threshold=1e4,
        saturation_margin=0.01,
        dead_threshold=0.5,
        warn=True,
        jacobian_spectra=False,
        jacobian_probe_size=4,
        jacobian_every=10,
    ):
        self.record_every = record_every
        self.vanishing_threshold = vanishing_threshold
        self.exploding_threshold = exploding_threshold
        self.max_update_ratio = max_update_ratio
        self.growth_threshold = growth_threshold
        self.saturation_margin = saturation_margin
        self.dead_threshold = dead_threshold
        self.warn = warn
        self.jacobian_spectra = jacobian_spectra
        self.jacobian_probe_size = jacobian_probe_size
        self.jacobian_every = jacobian_every

    # ------------------------------------------------------------------- hooks
    @atomic_hook
    def on_fit_begin(self, estimator, X=None, y=None, train_indices=None, **kwargs):
        """Validate the parameters; start recording (or continue a warm start)."""
        self._validate_params()
        n_layers = estimator.n_layers_ - 1
        activation = canonical_activation(estimator.activation)
        if getattr(self, "n_layers_", None) != n_layers:  # a fresh monitor
            self.n_layers_ = n_layers
            self.activation_ = activation
            self._buffers = {name: np.empty((0, n_layers)) for name in STATISTICS}
            self._epochs = np.empty(0, dtype=np.intp)
            self._iterations = np.empty(0, dtype=np.intp)
            self._n_records = 0
            self._n_batches = 0
            self._hooked = None  # the network's batch count at the last hook
            self._offsets = None  # the network layout, read on the first record
            self._scratch_buffers = {}  # reusable work arrays (see _scratch)
            # Once a series (not at each partial_fit), of all the rows,
            # validation ones included: no copy of X, and the scale of a
            # feature does not depend on the split.
            self.input_scale_, self._scaling_remedies = _input_scale(estimator, X, y)
            # Whether the first record shows the initial state (the evidence
            # of "from the start"): not for a model that trained before the
            # monitor came (a warm start, a continued partial_fit).
            self._first_record_at_init = getattr(estimator, "t_", 0) == 0
            self._publish()
        self._jacobian_probe = None
        self._redraw_probe(estimator, X, y, train_indices=train_indices)
        self._epoch = getattr(self, "_epoch", 0)
        self._epoch_recorded = False
        self._epoch_open = False
        self._pending = None  # the record whose update ratio is awaited
        self._dead_count = None  # a small batch's dead units, counted on (see _continue_dead_count)
        self._batches_at_begin = self._n_batches  # no hook in this fit: no step taken
        self._stop_recorded = False  # whether the last record is the batch it stopped at
        self.stopped_mid_epoch_ = False
        self.diverged_ = False
        self._diverged_before_a_step = False

    def _redraw_probe(self, estimator, X, y=None, train_indices=None):
        """Draw the Jacobian probe batch if there is none (a fit begins, or a
        ``partial_fit`` series continues after loading: pickles carry no
        training rows, see ``__getstate__``): rows spread evenly over the
        training rows ``train_indices`` of ``X`` (None: all of them)."""
        if self.jacobian_spectra and X is not None and getattr(self, "_jacobian_probe", None) is None:
            n = X.shape[0] if train_indices is None else len(train_indices)
            rows = np.unique(
                np.linspace(0, n - 1, min(self.jacobian_probe_size, n)).round().astype(np.intp)
            )
            if train_indices is not None:  # not the rows held out for validation
                rows = np.asarray(train_indices)[rows]
            self._jacobian_probe = X[rows]

    @atomic_hook
    def on_epoch_begin(self, estimator, epoch, **kwargs):
        """Note the epoch; with ``record_every="epoch"`` its first batch is recorded."""
        self._settle_dead_count()  # left open by an epoch that did not end (an interrupt)
        self.diverged_ = False  # training goes on (a partial_fit series)
        self._epoch = epoch
        self._epoch_recorded = False
        self._epoch_open = True

    @atomic_hook
    def on_grad_computed(self, estimator, network, batch, record=None, **kwargs):
        """On a recorded batch: gradient, error-signal and activation statistics."""
        record = _record_of(network, record)
        iteration = self._n_batches
        self._n_batches += 1
        self._hooked = record.batch_count  # this batch got its hook
        if self.record_every == "epoch":
            if self._epoch_recorded:
                self._continue_dead_count(record)
                return
            self._epoch_recorded = True
        elif iteration % self.record_every:
            self._continue_dead_count(record)
            return
        row = self._new_record(iteration)
        with np.errstate(all="ignore"):  # exploding values are data here
            self._record_gradients(record, row)
            self._record_activations(record, row)
            self._record_jacobians(record, row)
            # The weights before the step, for the update ratio in on_batch_end.
            n_weights = self._offsets[-1]
            before = self._scratch("weights_before", n_weights)
            np.copyto(before, record.coef_block)
            squares = np.square(before, out=self._scratch("weights", n_weights))
            self._weight_norms_sq = np.add.reduceat(squares, self._offsets[:-1])
        self._pending = row

    def on_batch_end(self, estimator, network, batch, loss, record=None, **kwargs):
        """On a recorded batch: the ratio of the optimizer's step to the weights."""
        # Most batches are not recorded: this test changes nothing, so it needs
        # no copy of the attributes (atomic_hook) on every batch.
        if self._pending is not None:
            self._record_update_ratio(network, record)

    @atomic_hook
    def _record_update_ratio(self, network, record):
        record = _record_of(network, record)
        row, self._pending = self._pending, None
        n_weights = self._offsets[-1]
        weight_sq = self._weight_norms_sq
        with np.errstate(all="ignore"):
            step = np.subtract(
                record.coef_block,
                self._scratch("weights_before", n_weights),
                out=self._scratch("weights", n_weights),
            )
            step_sq = np.add.reduceat(np.square(step, out=step), self._offsets[:-1])
            ratio = np.sqrt(step_sq / weight_sq)
        ratio[weight_sq == 0] = np.nan  # no scale to compare the step with
        self._buffers["update_ratios"][row] = ratio

    @atomic_hook
    def on_epoch_end(self, estimator, epoch, loss, **kwargs):
        """Publish the records and the diagnosis (also after ``partial_fit``)."""
        self._epoch_open = False
        self._settle_dead_count()
        self._publish()

    @atomic_hook
    def _note_divergence(self):
        """A ``partial_fit`` call diverged: it does not end the callbacks, so
        this is how the diagnosis learns it (the trainer calls it)."""
        self.diverged_ = True
        self._diverged_before_a_step = False  # the series' batch count cannot tell
        self.stopped_mid_epoch_ = self._epoch_open
        self._epoch_open = False
        self._settle_dead_count()
        self._publish()

    @atomic_hook
    def on_fit_end(self, estimator, record=None, diverged=False, **kwargs):
        """Publish the records and the diagnosis; warn if it is not healthy."""
        self._pending = None
        # The explosion may come between two records (its batches unrecorded):
        # the estimator's divergence guard saw it, so the diagnosis says it.
        self.diverged_ = bool(diverged)
        # A batch that got its hook had a finite loss and then its step.
        self._diverged_before_a_step = self.diverged_ and self._n_batches == self._batches_at_begin
        # An epoch without on_epoch_end stopped mid-way: the estimator stops when
        # the loss or the weights turn non-finite (or on KeyboardInterrupt). A
        # batch whose gradient was computed but got no hook (a non-finite loss)
        # still has its gradients in the network: record them, they are the
        # evidence of the explosion. A batch interrupted after its hook is
        # already recorded (or skipped), one interrupted before its gradient was
        # complete has none.
        self.stopped_mid_epoch_ = self._epoch_open
        complete = record is not None and record.complete
        if self._epoch_open and complete and record.batch_count != self._hooked:
            row = self._new_record(self._n_batches)
            with np.errstate(all="ignore"):
                self._record_gradients(record, row)
                self._record_activations(record, row)
            self._stop_recorded = True
        self._epoch_open = False
        self._settle_dead_count()
        self._publish()
        self._diagnose()  # a fitted monitor lists its diagnosis in vars()
        if self.warn and self.diagnosis_ != "healthy":
            warn_user(self._warning_message(estimator), GradientHealthWarning)

    # --------------------------------------------------------------- recording
    def _new_record(self, iteration):
        """Append an all-NaN record; return its row index."""
        row = self._n_records
        if row == len(self._epochs):  # grow the buffers geometrically
            capacity = max(8, 2 * row)
            grown = {}
            for name, buffer in self._buffers.items():
                grown[name] = np.full((capacity, self.n_layers_), np.nan)
                grown[name][:row] = buffer[:row]
            epochs = np.resize(self._epochs, capacity)
            iterations = np.resize(self._iterations, capacity)
            # Rebound only once every allocation succeeded (see atomic_hook).
            self._buffers, self._epochs, self._iterations = grown, epochs, iterations
        self._epochs[row] = self._epoch
        self._iterations[row] = iteration
        self._n_records += 1
        return row

    def _layout(self, record):
        """Offsets of the weight matrices in the flat vector, and of the units.

        All the statistics of a record are per-layer reductions of one
        concatenated array (``reduceat`` over these offsets): a few numpy calls
        per record whatever the depth.
        """
        if getattr(self, "_offsets", None) is None:
            weights = record.weights
            sizes = [w.size for w in weights]
            widths = [w.shape[1] for w in weights]  # units of each layer
            self._offsets = np.concatenate([[0], np.cumsum(sizes)])
            self._unit_starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
            self._widths = np.asarray(widths)
        return self._offsets

    def _scratch(self, name, shape):
        """A reusable float64 work array: large fresh arrays cost page faults."""
        size = int(np.prod(shape))
        buffers = self._scratch_buffers
        buffer = buffers.get(name)
        if buffer is None or buffer.size < size:
            buffer = buffers[name] = np.empty(size)
        return buffer[:size].reshape(shape)

    def _record_gradients(self, record, row):
        offsets = self._layout(record)
        starts = offsets[:-1]
        buffers = self._buffers
        # float64 so that the norms of huge float32 gradients do not overflow.
        grads = np.abs(record.coef_grad_block, out=self._scratch("weights", offsets[-1]))
        buffers["grad_mean_abs"][row] = np.add.reduceat(grads, starts) / np.diff(offsets)
        buffers["grad_max_abs"][row] = np.maximum.reduceat(grads, starts)
        np.square(grads, out=grads)
        buffers["grad_norms"][row] = np.sqrt(np.add.reduceat(grads, starts))
        batch_deltas = record.error_signals
        deltas = self._scratch("units", (batch_deltas[0].shape[0], self._widths.sum()))
        np.concatenate(batch_deltas, axis=1, out=deltas)
        np.square(deltas, out=deltas)
        norms = np.sqrt(np.add.reduceat(deltas.sum(axis=0), self._unit_starts))
        buffers["delta_norms"][row] = norms
        with np.errstate(divide="ignore", invalid="ignore"):
            buffers["layer_gains"][row, :-1] = norms[:-1] / norms[1:]

    def _record_activations(self, record, row):
        if self.n_layers_ < 2:
            return
        n = record.n_samples
        starts, widths = self._unit_starts[:-1], self._widths[:-1]
        counts = n * widths
        a = self._hidden_activations(record)
        buffers = self._buffers
        bounds = BOUNDS.get(self.activation_)
        if bounds is not None:
            low, high = bounds
            saturated = (a <= low + self.saturation_margin) | (
                a >= high - self.saturation_margin
            )
            per_unit = saturated.sum(axis=0)
            buffers["saturation"][row, :-1] = np.add.reduceat(per_unit, starts) / counts
        if self.activation_ in DEAD_FAMILY:
            self._settle_dead_count()  # the previous record's, if still open
            self._dead_count = (row, _alive(a), n)
            self._finish_dead_count()
        means = np.add.reduceat(a.sum(axis=0), starts) / counts
        a -= np.repeat(means, widths)
        np.square(a, out=a)
        buffers["activation_means"][row, :-1] = means
        buffers["activation_stds"][row, :-1] = np.sqrt(
            np.add.reduceat(a.sum(axis=0), starts) / counts
        )

    def _continue_dead_count(self, record):
        """Count a recorded batch of fewer than ``DEAD_COUNT_ROWS`` rows on with
        this batch: a unit is dead if no row of either had a positive output.

        A healthy unit is off for a whole one-row batch half the time, so a
        small batch alone cannot tell; the batches after it, until the record
        has as many rows, can (a few cheap reductions, only for small batches).
        """
        if self._dead_count is None:
            return
        row, alive, n = self._dead_count
        a = self._hidden_activations(record)
        self._dead_count = (row, alive | _alive(a), n + a.shape[0])
        self._finish_dead_count()

    def _finish_dead_count(self, fewest=DEAD_COUNT_ROWS):
        """Store the record's dead fractions once it has ``fewest`` rows."""
        row, alive, n = self._dead_count
        if n >= fewest:
            starts, widths = self._unit_starts[:-1], self._widths[:-1]
            self._buffers["dead_units"][row, :-1] = (
                np.add.reduceat(~alive, starts, dtype=np.intp) / widths
            )
            self._dead_count = None

    def _settle_dead_count(self):
        """End an open count (its epoch or fit ended, or a new record starts):
        stored if it has at least ``MIN_DEAD_ROWS`` rows, else left NaN."""
        if self._dead_count is not None:
            self._finish_dead_count(fewest=MIN_DEAD_ROWS)
            self._dead_count = None

    def _hidden_activations(self, record):
        """The batch's hidden activations side by side, in a reusable buffer."""
        widths = self._widths[:-1]
        a = self._scratch("units", (record.n_samples, widths.sum()))
        np.concatenate(record.activations, axis=1, out=a)
        return a

    def _record_jacobians(self, record, row):
        probe = getattr(self, "_jacobian_probe", None)
        if probe is None or row % self.jacobian_every:
            return
        # The network behind the record (the hook's ``network`` argument is
        # kept only for callbacks written for 0.1, and may be None): the
        # spectra are computed on the probe batch, not on the recorded batch.
        stats = jacobian_statistics(record._network, probe)
        for name in ("max", "min", "mean", "spread", "rank"):
            self._buffers["jacobian_" + name][row] = stats[name]

    # --------------------------------------------------------------- diagnosis
    def _publish(self):
        """Expose the records as fitted attributes; the diagnosis follows on demand.

        The diagnosis (``diagnosis_`` and the other attributes of
        ``DIAGNOSIS_ATTRIBUTES``) is dropped here and recomputed from the
        published records when first read (``__getattr__``): a fit of many
        epochs diagnoses once, at its end, instead of after every epoch (a
        few dozen small numpy calls, half the monitor's cost per epoch on a
        deep narrow network).
        """
        n = self._n_records
        for name, buffer in self._buffers.items():
            setattr(self, name + "_", buffer[:n])
        self.record_epochs_ = self._epochs[:n]
        self.record_iterations_ = self._iterations[:n]
        for name in DIAGNOSIS_ATTRIBUTES:
            self.__dict__.pop(name, None)

    def __getattr__(self, name):
        # Only called when normal lookup fails: a diagnosis attribute that
        # _publish dropped is computed from the published records.
        if name in DIAGNOSIS_ATTRIBUTES and "grad_norms_" in self.__dict__:
            self._diagnose()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _window_rows(self):
        """Row indices of the summary window: the last quarter of finite records."""
        finite = np.flatnonzero(np.isfinite(self.grad_norms_).all(axis=1))
        return finite[len(finite) - math.ceil(SUMMARY_FRACTION * len(finite)) :]

    def _window(self, values):
        """Per-layer median of ``values`` over the summary window."""
        return _column_nanmedian(values[self._window_rows()])

    def _jacobian_rows(self):
        """Row indices of the last quarter of the records that hold Jacobian spectra.

        Only every ``jacobian_every``-th record has them, so the summary window
        of the other statistics may hold none: the Jacobian columns of the
        report summarize the Jacobian records instead.
        """
        recorded = np.flatnonzero(~np.isnan(self.jacobian_max_).all(axis=1))
        return recorded[len(recorded) - math.ceil(SUMMARY_FRACTION * len(recorded)) :]

    def _criteria(self):
        """Per-layer values the flags are decided on, each with its threshold.

        Returns ``(values, rules)``: ``values`` maps a report column to its
        per-layer array; ``rules`` lists ``(flag, column, comparison,
        threshold)``. :meth:`_diagnose` flags with these rules and
        :meth:`report` shows every column and the rules that fired, so that no
        layer is flagged by a number the report does not print.
        """
        norms = self.grad_norms_
        n_layers = self.n_layers_
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = np.full(n_layers, np.nan)
            if len(norms):
                # Against the network's initial scale, not the layer's own: a
                # vanished layer that recovers is not exploding.
                growth = norms.max(axis=0) / np.max(norms[0])
            # The three windowed columns side by side: one median call, one
            # window look-up (a column's median does not depend on the others).
            rows = self._window_rows()
            window = np.concatenate(
                [
                    norms[rows] / norms[rows, -1:],
                    self.delta_norms_[rows] / self.delta_norms_[rows, -1:],
                    self.update_ratios_[rows],
                ],
                axis=1,
            )
            medians = _column_nanmedian(window)
            values = {
                "relative": medians[:n_layers],
                "err rel": medians[n_layers : 2 * n_layers],
                "update": medians[2 * n_layers :],
                "growth": growth,
                "dead": _column_nanmedian(self.dead_units_[rows]),
            }
        rules = [
            ("EXPLODING", "relative", ">", self.exploding_threshold),
            ("EXPLODING", "err rel", ">", self.exploding_threshold),
            ("EXPLODING", "update", ">", self.max_update_ratio),
            ("EXPLODING", "growth", ">", self.growth_threshold),
            ("VANISHING", "relative", "<", self.vanishing_threshold),
            ("VANISHING", "err rel", "<", self.vanishing_threshold),
            ("DEAD", "dead", ">=", self.dead_threshold),
        ]
        return values, rules

    def _non_finite_layers(self):
        """Layers with a non-finite gradient, error signal or update anywhere."""
        non_finite = ~np.isfinite(self.grad_norms_).all(axis=0)
        non_finite |= ~np.isfinite(self.delta_norms_).all(axis=0)
        # NaN update ratios only mean "no step recorded"; inf means divergence.
        non_finite |= np.isinf(self.update_ratios_).any(axis=0)
        return non_finite

    def _fired(self, criteria=None):
        """``{flag: {column: per-layer bool}}``: which rule flags which layer.

        ``criteria``: the ``(values, rules)`` of :meth:`_criteria` if the
        caller has them already (computed once per published epoch).
        """
        values, rules = self._criteria() if criteria is None else criteria
        compare = {">": np.greater, "<": np.less, ">=": np.greater_equal}
        fired = {"EXPLODING": {}, "VANISHING": {}, "DEAD": {}}
        with np.errstate(invalid="ignore"):  # NaN (no such statistic) never fires
            for flag, column, comparison, threshold in rules:
                fired[flag][column] = compare[comparison](values[column], threshold)
        fired["EXPLODING"]["non-finite"] = self._non_finite_layers()
        return fired

    def _diagnose(self):
        criteria = self._criteria()
        values = criteria[0]
        self.relative_grad_norms_ = values["relative"]
        self.vanishing_ratio_ = float(values["relative"][0])
        fired = self._fired(criteria)
        exploding = np.logical_or.reduce(list(fired["EXPLODING"].values()))
        vanishing = np.logical_or.reduce(list(fired["VANISHING"].values()))
        self.exploding_layers_ = exploding
        self.vanishing_layers_ = vanishing & ~exploding
        # Not exclusive: dead units are a state of the activations, the other
        # flags of the gradients, and dead units are often why a layer vanishes.
        self.dead_layers_ = np.logical_or.reduce(list(fired["DEAD"].values()))
        # The most urgent first: divergence; then no gradient reaching the
        # first layers, unless dead layers above them explain it (a layer of
        # dead units passes back nothing: their cause is the one to treat);
        # then a net that trains on its live units only.
        if exploding.any() or self.diverged_:
            self.diagnosis_ = "exploding"
        elif self.vanishing_layers_.any() and not self._dead_units_explain_vanishing():
            self.diagnosis_ = "vanishing"
        elif self.dead_layers_.any():
            self.diagnosis_ = "dead_units"
        else:
            self.diagnosis_ = "healthy"

    def _dead_units_explain_vanishing(self):
        """Whether units that died during training explain every vanishing layer.

        A layer of dead units passes back (almost) no error signal: the layers
        below it vanish because of them, and their cause (large steps) is the
        one to treat. Not when the first record shows the vanishing already
        (a tiny init: units then die of the vanishing signal), nor when the
        units were dead from the start.
        """
        dead = np.flatnonzero(self.dead_layers_)
        return (
            len(dead) > 0
            and np.flatnonzero(self.vanishing_layers_).max() <= dead.max()
            and not self._dead_from_start()
            and not np.any(self._first_record_ratios()[:, :-1] < self.vanishing_threshold)
        )

    def _from_start(self):
        """Whether the monitor's first record already shows the diagnosed problem
        (the initial state caused it, not the steps)."""
        if self.diagnosis_ == "exploding":
            # The initial weights amplify the signal layer after layer, or
            # their loss was not even finite (no step was taken).
            return self._diverged_before_a_step or bool(
                np.any(self._first_record_ratios() > self.exploding_threshold)
            )
        if self.diagnosis_ == "dead_units":
            return self._dead_from_start()
        return False

    def _has_initial_record(self):
        """Whether the first record shows the initial state: there is one, and
        the monitor did not start on a model trained before it."""
        return bool(len(self.grad_norms_)) and self._first_record_at_init

    def _first_record_ratios(self):
        """The first record's gradient and error-signal norms over the output
        layer's (two rows, as ``relative`` and ``err rel``). NaN without a
        record of the initial state (none yet, or a monitor that started on a
        model trained before it): then nothing counts as "from the start"."""
        if not self._has_initial_record():
            return np.full((2, self.n_layers_), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.array([
                self.grad_norms_[0] / self.grad_norms_[0, -1],
                self.delta_norms_[0] / self.delta_norms_[0, -1],
            ])

    def _dead_from_start(self):
        """Whether half or more of the dead units were dead at the first record
        (over the dead layers, against the summary window's fractions): the
        initial state (the inputs' scale, the initial weights) killed them,
        not the steps. On raw breast cancer the dead layers start at 0.40 and
        0.39 and reach 0.50 (a ratio of 0.79, tested)."""
        if not self._has_initial_record():
            return False
        dead = self.dead_layers_
        first, window = self.dead_units_[0, dead], self._window(self.dead_units_)[dead]
        return bool(np.nansum(first) >= 0.5 * np.nansum(window) > 0)

    # ------------------------------------------------------------------ output
    def _layer_names(self):
        return [f"hidden {i + 1}" for i in range(self.n_layers_ - 1)] + ["output"]

    def _warning_message(self, estimator=None):
        """The GradientHealthWarning's text: flagged layers, remedies not in use."""
        names = self._layer_names()
        from_start = self._from_start()
        remedies = self._standardize_remedy() + remedies_not_in_use(
            estimator, self.diagnosis_, self.activation_, from_start,
            unscaled=self._x_unscaled(),
        )
        if self._diverged_before_a_step and getattr(estimator, "dtype", None) == "float32":
            remedies.append("dtype='float64'")  # the range the loss overflowed
        # The diagnosis first, then the other flags: dead units are often why
        # a layer vanishes, and a dead layer passes back nothing below it.
        summaries = {}
        if self.diagnosis_ == "exploding":
            unit = "iteration" if getattr(estimator, "optimizer", None) == "lbfgs" else (
                "mini-batch")
            summaries["exploding"] = self._exploding_summary(names, from_start, unit)
        elif self.vanishing_layers_.any():
            summaries["vanishing"] = self._vanishing_summary(names)
        if self.dead_layers_.any():
            summaries["dead_units"] = self._dead_summary(names, from_start)
        summaries = [summaries.pop(self.diagnosis_), *summaries.values()]
        advice = f" Try {or_list(remedies)}." if remedies else ""
        return f"{' '.join(summaries)}{advice} See gradient_monitor_.report()."

    def _exploding_summary(self, names, from_start, unit="mini-batch"):
        """The exploding layers and the largest values; or, when no record
        shows the explosion, where the divergence came (``unit``: what a
        record counts, "iteration" for L-BFGS)."""
        flagged = [n for n, f in zip(names, self.exploding_layers_) if f]
        if not flagged:  # only the estimator's divergence guard saw it
            return self._divergence_summary(unit)
        if self._diverged_before_a_step:
            start = (f" The loss was not finite at the first {unit}, before any step: "
                     "the inputs' scale or the initial weights overflow.")
        elif from_start:
            start = (" The first record shows it already: the initial weights amplify "
                     "the error signal layer after layer.")
        else:
            start = ""
        # One L-BFGS iteration is one "epoch" of the hooks.
        mid = "mid-iteration" if unit == "iteration" else "mid-epoch"
        stopped = f" Training stopped {mid}." if self.stopped_mid_epoch_ else ""
        return (
            f"Exploding gradients in {', '.join(flagged)}: "
            f"{_largest_finite(self.grad_norms_, 'gradient norm')}, "
            f"{_largest_finite(self.update_ratios_, 'update ratio ||dW||/||W||')}."
            f"{start}{stopped}"
        )

    def _divergence_summary(self, unit):
        """Where a divergence that no record's values show happened."""
        diverged = "Training diverged: the loss or the weights became infinite or NaN"
        if not self._n_records:
            return f"{diverged} before any record."
        last = self.record_iterations_[-1]
        if self._diverged_before_a_step:
            return f"{diverged} at the first {unit} ({last}), before any step."
        if self._stop_recorded:
            return f"{diverged} at the last record ({unit} {last})."
        hint = (f"; GradientMonitor(record_every=1) records every {unit}"
                if self.record_every != 1 else "")
        return (f"{diverged} after the last record ({unit} {last}), whose gradients "
                f"show no explosion{hint}.")

    def _vanishing_summary(self, names):
        """The vanishing layers, and the smallest ratio that flags one of them."""
        values = self._criteria()[0]
        flagged = np.flatnonzero(self.vanishing_layers_)
        gradient, signal = values["relative"][flagged], values["err rel"][flagged]
        ratios = np.fmin(gradient, signal)
        k = int(np.nanargmin(ratios))
        what = "gradient norm" if gradient[k] <= signal[k] else "error signal"
        evidence = (
            f"{names[flagged[k]]}'s {what} is 0" if ratios[k] == 0 else
            f"{names[flagged[k]]}'s {what} is {ratios[k]:.3g} times the output layer's"
        )
        return (
            f"Vanishing gradients in {', '.join(names[i] for i in flagged)}: {evidence}."
        )

    def _dead_summary(self, names, from_start):
        """``Dead units in hidden 2 (63%), ...``: the dead layers, their fractions, since when."""
        dead = self._window(self.dead_units_)
        flagged = [f"{n} ({dead[i]:.0%})" for i, n in enumerate(names) if self.dead_layers_[i]]
        passed = _NEGATIVE_SIDE_GRADIENT.get(self.activation_, _SHRINKING)
        since = ""
        if self.diagnosis_ == "dead_units":  # else a symptom of the diagnosis
            cause = "the inputs' scale" if self._x_unscaled() else "the initial weights"
            since = (
                f" Half or more were dead at the first record: {cause}, not the steps, "
                "holds them below zero." if from_start else
                " They died during training (large steps are the usual cause)."
            )
        return (
            f"Dead {self.activation_} units in {', '.join(flagged)}: no positive "
            f"output on a whole batch, they pass back {passed}.{since}"
        )

    def _x_unscaled(self):
        """Whether X is far from standardized (a regressor's y plays no part
        in the activations)."""
        return any(r.startswith("scaling X") for r in getattr(self, "_scaling_remedies", []))

    def _standardize_remedy(self):
        """The first remedies of a diagnosis that is not healthy: scale X (or y)
        when they are far from standardized, as the DivergenceWarning says."""
        if self.diagnosis_ == "healthy":
            return []
        return list(getattr(self, "_scaling_remedies", []))

    def set_params(self, **params):
        """Set the parameters; a fitted monitor diagnoses its records again with them.

        The diagnosis (``diagnosis_``, ``vanishing_layers_``...) is computed
        from the records and the thresholds, on demand: after a change of a
        threshold it follows the new one, as :meth:`report` does. A fitted
        monitor validates the values at once, as ``fit`` does (an unfitted one
        in ``fit``, as scikit-learn's estimators); on an error nothing changes.

        Parameters
        ----------
        **params : dict
            Monitor parameters.

        Returns
        -------
        self : GradientMonitor
            The monitor.
        """
        before = self.get_params(deep=False)
        try:
            super().set_params(**params)
            if "grad_norms_" not in self.__dict__:
                return self
            self._validate_params()
        except BaseException:
            super().set_params(**before)
            raise
        for name in DIAGNOSIS_ATTRIBUTES:  # __getattr__ diagnoses again, on demand
            self.__dict__.pop(name, None)
        return self

    def report(self, file=None):
        """A per-layer table of the summary window's statistics and the diagnosis.

        Every value that can flag a layer is a column, and a ``*`` marks the
        values that crossed their threshold, so the table shows why each layer
        is flagged.

        Parameters
        ----------
        file : file-like object, str, path-like or None, default=None
            If given, the report is also written to it: to a file-like object
            (for instance ``sys.stdout``), or to the file at a path, which is
            created or replaced (UTF-8).

        Returns
        -------
        report : str
            One row per weight layer, medians over the summary window: the
            ``gradient`` norm; ``relative``, the gradient norm over the output
            layer's; ``err rel``, the same ratio for the back-propagated error
            signal; ``gain``, the error signal's gain through the layer;
            ``update``, the update ratio ``||dW|| / ||W||``; ``growth``, the
            largest gradient norm over the first record's largest (over all
            the records); the fractions of saturated (``sat.``) and ``dead``
            units; and the layer's flag. Then the rules and the diagnosis.

        Raises
        ------
        ValueError
            If the monitor has no records (it was not fitted).
        TypeError
            If ``file`` is neither None, a path nor an object with a ``write`` method.
        """
        if not hasattr(self, "diagnosis_"):
            raise ValueError(
                "This GradientMonitor has no records: report() needs a fitted "
                "monitor, e.g. estimator.gradient_monitor_ after fit."
            )
        values, rules = criteria = self._criteria()
        fired = self._fired(criteria)
        columns = [  # headers of at most 8 characters: see _cell
            ("gradient", self._window(self.grad_norms_)),
            ("relative", values["relative"]),
            ("err rel", values["err rel"]),
            ("gain", self._window(self.layer_gains_)),
            ("update", values["update"]),
            ("growth", values["growth"]),
            ("sat.", self._window(self.saturation_)),
            ("dead", values["dead"]),
        ]
        jacobian_rows = self._jacobian_rows()
        if len(jacobian_rows):  # jacobian_spectra=True
            columns += [
                (column, _column_nanmedian(values_[jacobian_rows]))
                for column, values_ in (
                    ("jac max", self.jacobian_max_),
                    ("jac min", self.jacobian_min_),
                    ("spread", self.jacobian_spread_),
                    ("rank", self.jacobian_rank_),
                )
            ]
        no_mark = np.zeros(self.n_layers_, dtype=bool)
        marks = {  # report column -> the layers its value flags
            column: np.logical_or.reduce([rules.get(column, no_mark) for rules in fired.values()])
            for column in values
        }
        flags = _flag_column(
            self.exploding_layers_, fired["EXPLODING"]["non-finite"],
            self.vanishing_layers_, self.dead_layers_,
        )
        header = f"{'layer':<10}" + "".join(f"{name:>8} " for name, _ in columns)
        lines = [header + "flag", "-" * (len(header) + 4)]
        for i, name in enumerate(self._layer_names()):
            cells = "".join(
                _cell(column_values[i], marks.get(column, no_mark)[i])
                for column, column_values in columns
            )
            lines.append(f"{name:<10}{cells}{flags[i]}".rstrip())
        lines.extend(self._report_footer(rules))
        text = "\n".join(lines)
        write_report(text, file)
        return text

    def _report_footer(self, rules):
        """The rules that flag a layer (``*`` in the table) and the diagnosis."""
        def said(flag):
            return ", ".join(
                f"{column} {comparison} {threshold:.3g}"
                for rule_flag, column, comparison, threshold in rules
                if rule_flag == flag
            )

        n, k = len(self.record_epochs_), len(self._window_rows())
        jacobian = ""
        n_jacobian = np.count_nonzero(~np.isnan(self.jacobian_max_).all(axis=1))
        if n_jacobian:
            jacobian = (f" (Jacobian columns: the last {len(self._jacobian_rows())} of "
                        f"{n_jacobian} records with spectra)")
        lines = [
            f"* flags the layer: {said('VANISHING')} -> VANISHING; {said('DEAD')} -> DEAD;",
            f"  {said('EXPLODING')},",
            "  or a non-finite value -> EXPLODING",
            f"medians over the last {k} of {n} records{jacobian}; "
            f"activation {self.activation_!r}",
            f"diagnosis: {self.diagnosis_}; first/output layer gradient-norm ratio "
            f"{self.vanishing_ratio_:.3g} (vanishing_ratio_)",
        ]
        if self.diverged_ and not self.exploding_layers_.any():
            lines.append("exploding: training diverged (diverged_), after the values above")
        if self.diagnosis_ == "dead_units" and self.vanishing_layers_.any():
            lines.append("dead_units, not vanishing: the VANISHING layers lie at or below "
                         "units that died during training")
        scaling = self._standardize_remedy()
        if scaling:
            lines.append(f"data far from standardized: try {or_list(scaling)} first")
        return lines

    # ---------------------------------------------------------------- pickling
    # The published attributes are views of the growable buffers: pickles
    # carry the data once, trimmed to the records, and __setstate__ rebuilds
    # the buffers from it; the work arrays are scratch space, rebuilt empty.
    # Every other attribute travels as it is, so that a copy (deepcopy,
    # pickle) has exactly the attributes and values of the original (issue
    # 20: scikit-learn's checks compare a parameter with its deep copy). The
    # Jacobian probe holds training rows (see ProbeCallback).
    _probe_attributes = ("_jacobian_probe",)
    _rebuilt_attributes = ("_buffers", "_epochs", "_iterations", "_scratch_buffers")

    def __getstate__(self):
        # Pickles and copies carry the diagnosis, as the original now reads it
        # (and as versions before the on-demand diagnosis expect).
        if "grad_norms_" in self.__dict__:
            self.diagnosis_  # noqa: B018 (computes the diagnosis if dropped)
        return super().__getstate__()

    def __setstate__(self, state):
        super().__setstate__(state)
        # Pickled before the dead-unit diagnosis: its default threshold, and
        # the diagnosis computed again from the records when read, so that
        # dead_layers_ and diagnosis_ agree.
        self.__dict__.setdefault("dead_threshold", 0.5)
        if "diagnosis_" in state and "dead_layers_" not in state:
            for name in DIAGNOSIS_ATTRIBUTES:
                self.__dict__.pop(name, None)
        if "n_layers_" in state:  # a monitor that has started recording
            self.__dict__.setdefault("input_scale_", math.nan)
            self.__dict__.setdefault("diverged_", False)
            # Pickled before the evidence of "from the start" was kept: none.
            self.__dict__.setdefault("_first_record_at_init", False)
            self.__dict__.setdefault("_diverged_before_a_step", False)
            self.__dict__.setdefault("_stop_recorded", False)
            # An open dead count's row may not be among the published ones.
            self._dead_count = None
            self.__dict__.setdefault("_scaling_remedies", [])
            for name in STATISTICS:  # pickled before the Jacobian statistics
                if not hasattr(self, name + "_"):
                    setattr(self, name + "_", np.full(self.grad_norms_.shape, np.nan))
            self._buffers = {name: getattr(self, name + "_") for name in STATISTICS}
            self._epochs = self.record_epochs_
            self._iterations = self.record_iterations_
            self._scratch_buffers = {}
            # Pickled before 0.2.0, which did not keep these.
            self.__dict__.setdefault("_hooked", None)
            self.__dict__.setdefault("_pending", None)
            # The published records only: one made after them (in an epoch that
            # an exception cut short, and the estimator undid) has no buffer row.
            if self._n_records > len(self.record_epochs_):
                self._n_records = len(self.record_epochs_)
                self._pending = None


def _record_of(network, record):
    """The hook's record, or one made for a direct call that passed the network only."""
    return record if record is not None else BatchRecord(network)


class _FeaturesOnly(ClassifierMixin, BaseEstimator):
    """What :func:`scaling_remedies` gets for an estimator it cannot read:
    a classifier, so that it checks the features only."""


def _alive(activations):
    """Per unit (column): whether some row's output is not ``<= 0``. A NaN
    output (a batch whose loss overflowed) is not evidence of a dead unit."""
    return np.any(~(activations <= 0), axis=0)


def _input_scale(estimator, X, y):
    """``(input_scale_, remedies)``: X's largest absolute mean or standard
    deviation of a feature, and the remedies "scale X" and "scale y" for data
    far from standardized (:func:`scaling_remedies`, as the DivergenceWarning
    says). ``(NaN, [])`` without X.
    """
    if X is None:
        return math.nan, []
    if y is None or not hasattr(estimator, "__sklearn_tags__"):
        # A direct call of the hook (no y, or a stand-in for the estimator):
        # the features only, as for a classifier, whose y is never scaled.
        estimator, y = _FeaturesOnly(), None
    try:
        scale = column_scale(X)
        remedies = scaling_remedies(estimator, X, y, x_scale=scale)
    except MemoryError:  # a diagnosis must not fail for want of its hint
        return math.nan, []
    return max(scale), remedies


def _flag_column(exploding, non_finite, vanishing, dead):
    """The report's flag of each layer: EXPLODING or VANISHING, and DEAD."""
    flags = np.where(exploding, "EXPLODING", np.where(vanishing, "VANISHING", "")).astype(object)
    flags[non_finite] = "EXPLODING (non-finite)"
    for i in np.flatnonzero(dead):
        flags[i] = f"{flags[i]}, DEAD" if flags[i] else "DEAD"
    return flags


#: What a unit of the relu family passes back on its negative side, for the
#: dead-unit warning (elu, selu, gelu and softplus: ``_SHRINKING``).
_NEGATIVE_SIDE_GRADIENT = {
    "relu": "no gradient",
    "leaky_relu": "1% of the gradient",
}
_SHRINKING = "a gradient that shrinks the further below zero their inputs are"


def _short(value):
    """``value`` in at most 7 characters, to 3 significant digits if they fit."""
    mantissa, _, exponent = format(value, ".2e").partition("e")
    candidates = (
        format(value, ".3g"),  # 0.00127, 3.71e-05
        f"{mantissa.rstrip('0').rstrip('.')}e{exponent}",  # 2.96e-04, not 0.000296
        format(value, ".1e"),  # 1.2e-10
    )
    for text in candidates:
        text = re.sub(r"e([+-])0*(\d)", r"e\1\2", text)  # 3.71e-5
        if len(text) <= 7:
            return text
    return text


def _cell(value, marked):
    """A report cell of 9 characters: the value, ``*`` if it flags the layer, a space."""
    text = "-" if np.isnan(value) else _short(value)
    return f"{text:>7}{'*' if marked else ' '} "


def _largest_finite(values, what):
    """``"largest finite <what> 2.3"``, or ``"no finite <what>"``."""
    finite = values[np.isfinite(values)]
    return f"largest finite {what} {finite.max():.3g}" if finite.size else f"no finite {what}"


def _column_nanmedian(values):
    """Median of each column ignoring NaNs (NaN for an all-NaN or empty column).

    ``np.nanmedian`` loops over the columns of small arrays in Python; sorting
    once (NaNs sort last) keeps the per-epoch diagnosis cheap.
    """
    ordered = np.sort(values, axis=0)
    count = np.count_nonzero(~np.isnan(values), axis=0)
    if len(values) == 0:
        return np.full(values.shape[1], np.nan)
    low = np.maximum((count - 1) // 2, 0)[None]
    high = np.maximum(count // 2, 0)[None]
    median = 0.5 * (
        np.take_along_axis(ordered, low, 0)[0] + np.take_along_axis(ordered, high, 0)[0]
    )
    median[count == 0] = np.nan
    return median


def _find_monitor(estimator, purpose="to score its gradient health"):
    """The fitted gradient monitor of ``estimator`` (or of the model inside, see
    ``find_fitted_monitor``)."""
    return find_fitted_monitor(
        estimator, "gradient_monitor_", "GradientMonitor", "gradient monitor", purpose
    )


def _log10(value):
    return math.log10(value) if value > 0 else (-math.inf if value == 0 else math.nan)


#: metric name -> function of a fitted monitor.
_HEALTH_METRICS = {
    "vanishing_ratio": lambda m: _log10(m.vanishing_ratio_),
    "update_ratio": lambda m: _log10(float(np.nanmedian(m._window(m.update_ratios_)))),
    "healthy": lambda m: float(m.diagnosis_ == "healthy"),
    "initial_spread": lambda m: -_initial_spread(m),
}


def _initial_spread(monitor):
    """The input-output Jacobian spread of the first record (jacobian_spectra=True)."""
    spread = monitor.jacobian_spread_
    if not len(spread) or np.isnan(spread[0]).all():
        raise ValueError(
            "The gradient monitor recorded no Jacobian spectra: pass "
            "GradientMonitor(jacobian_spectra=True) to score 'initial_spread'."
        )
    return float(spread[0, max(spread.shape[1] - 2, 0)])  # the last hidden layer


class _GradientHealthScorer(MonitorScorer):
    """Scorer ``scorer(estimator, X, y) -> float`` reading the gradient monitor."""

    metrics = _HEALTH_METRICS
    find = staticmethod(_find_monitor)

    def __repr__(self):
        return f"make_gradient_health_scorer(metric={self.metric!r})"


def make_gradient_health_scorer(metric="vanishing_ratio"):
    """Make a scorer that reports a fitted estimator's gradient health.

    The scorer ignores ``X`` and ``y``: it reads the ``gradient_monitor_`` of the
    fitted estimator, so the estimator needs ``callbacks=[GradientMonitor()]``.
    It finds the estimator as the last step of a pipeline, as a fitted
    search's ``best_estimator_`` (nested cross-validation) and as the single
    ``estimator_`` of a wrapper such as ``FixedThresholdClassifier``; a wrapper
    of several fitted models (``CalibratedClassifierCV``, ``BaggingClassifier``,
    ``OneVsRestClassifier``...) gets a ValueError that names it. Use it next
    to a real score to tabulate gradient health in ``cv_results_``::

        scoring = {"accuracy": "accuracy",
                   "vanishing_ratio": vanishing_ratio_scorer}
        GridSearchCV(clf, grid, scoring=scoring, refit="accuracy")

    The values are diagnostics, not objectives: refit on a real score.

    Parameters
    ----------
    metric : {"vanishing_ratio", "update_ratio", "healthy", "initial_spread"}, \
default="vanishing_ratio"
        ``"vanishing_ratio"``: ``log10`` of the monitor's ``vanishing_ratio_``
        (0 when the first and the output layers get gradients of the same norm,
        -3 when the first layer's is a thousand times smaller).
        ``"update_ratio"``: ``log10`` of the median over layers of the summary
        window's update ratio (about -3 by the CS231n rule of thumb).
        ``"healthy"``: 1.0 if the diagnosis is ``"healthy"``, else 0.0.
        ``"initial_spread"``: minus ``jacobian_spread_`` of the last hidden
        layer at the first record, the network at initialization (needs
        ``jacobian_spectra=True``): higher is closer to dynamical isometry.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``. It raises a ValueError for an
        estimator without a fitted gradient monitor.
    """
    return _GradientHealthScorer(metric)  # validates metric


#: ``log10`` of the first-layer over output-layer gradient norm of a fitted estimator.
vanishing_ratio_scorer = make_gradient_health_scorer("vanishing_ratio")
