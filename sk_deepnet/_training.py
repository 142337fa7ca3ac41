"""The training loop: one :class:`Trainer` per ``fit`` or ``partial_fit`` call.

``Trainer.run`` -> :meth:`Trainer.epoch` -> :meth:`Trainer.batch`, in the manner
of skorch's ``fit_loop`` -> ``run_single_epoch`` -> ``train_step``: each step
is short and does one thing. Beside them:

* :class:`Snapshot`: the state at the start of an epoch (or of the best
  validation epoch), restored when an epoch diverges or is interrupted;
* the stop rules (:meth:`Trainer.stop_rule`): the loss or validation plateau of
  ``n_iter_no_change`` epochs (:func:`loss_tolerance`: the training loss's
  ``tol`` in the squared error's units), and the callbacks' vote;
* the divergence guard (:meth:`Trainer.finite_state`) and the gradient clipping
  (:func:`clip_by_global_norm`);
* :class:`CallbackDispatcher`: the ONE place that notifies the callbacks, ours
  (``callbacks=``) and scikit-learn's (``set_callbacks``).

The estimator keeps the parameters, the validation and the bookkeeping of what
a fit has done (``n_iter_``, ``loss_curve_``, ...), which this loop updates.
Whatever stops a fit (an exception in a hook, a KeyboardInterrupt, a diverged
epoch) ends it at the last complete epoch: the incomplete epoch is undone.
"""

import inspect
import math

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning

from ._batch_record import BatchRecord
from ._callback_support import SklearnCallbackHooks
from ._gradient_advice import (
    CONSTANT_LOSS_MARGIN,
    constant_output_hint,
    divergence_remedies,
    init_remedies,
    initial_loss_ratio,
    initial_state_remedies,
    initial_weights_evidence,
    worse_than_zeros_hint,
    worse_than_zeros_remedies,
)
from ._losses import SquaredError, constant_output_loss
from ._network import flush_subnormals
from ._scale import scaling_hint, scaling_remedies
from ._warnings import float64_remedy, or_list, warn_user
from .exceptions import DivergenceWarning, FitInterruptedWarning
from .pretraining import pretrained_overflow_message

__all__ = [
    "CallbackDispatcher", "FiniteOutputs", "Snapshot", "Trainer", "TrainingRows", "call_hook",
    "clip_by_global_norm",
]


class Snapshot:
    """A copy of the network's state (parameters, normalization statistics).

    A snapshot that is not finite (something outside the training step, e.g. a
    callback at the end of an epoch, wrote NaN or inf) is never restored: a
    restore would claim to return to the last finite state.
    """

    def __init__(self, network):
        self.params = network.params.copy()
        self.stats = [s.copy() for s in network.running_means + network.running_vars]
        self.finite = network.has_finite_state()

    def save(self, network):
        np.copyto(self.params, network.params)
        for saved, current in zip(self.stats, network.running_means + network.running_vars):
            np.copyto(saved, current)
        self.finite = network.has_finite_state()

    def restore(self, network, optimizer=None, diverged=False):
        """Copy the saved state back; False (and nothing copied) if it is not finite.

        ``optimizer`` is reset after a divergence, or if its state is not
        finite; otherwise it keeps the moments of the steps since the
        snapshot: the snapshot holds no copy of them (that would cost more
        model-sized vectors), and a reset set Adam back to its first,
        largest steps (an interrupted ``partial_fit`` on digits made the next
        epoch's loss many times that of the uninterrupted series).
        """
        if not self.finite:
            return False
        np.copyto(network.params, self.params)
        for saved, current in zip(self.stats, network.running_means + network.running_vars):
            np.copyto(current, saved)
        if optimizer is not None and (diverged or not _finite_optimizer_state(optimizer)):
            optimizer.reset()
        return True


def _finite_optimizer_state(optimizer):
    """Whether every array of the optimizer's state is finite (not its work array)."""
    return all(
        np.isfinite(value).all()
        for name, value in optimizer.state_.items()
        if isinstance(value, np.ndarray) and name != "scratch"
    )


def clip_by_global_norm(grads, max_norm):
    """Rescale ``grads`` in place so that ``||grads||_2 <= max_norm``; return the norm.

    As ``torch.nn.utils.clip_grad_norm_``: the factor is
    ``max_norm / (norm + 1e-6)``, applied when it is below one.
    """
    norm = math.sqrt(float(grads @ grads))
    factor = max_norm / (norm + 1e-6)
    if factor < 1.0:
        grads *= factor
    return norm


class FiniteOutputs:
    """Whether inference on a few rows of a batch stays finite (the divergence guard).

    The last step of an epoch is checked by no loss: huge but finite weights
    would otherwise pass as the last finite state and predict NaN. Calling the
    instance checks the first ``n_rows`` rows of ``X_batch``, as
    ``network.predict_logits`` computes them; its scratch buffers are kept
    from one call to the next (the check runs at every epoch end, and making
    them again was about a quarter of its time, 6.5 us an epoch on iris).

    Parameters
    ----------
    network : Network
        The network to check, whose parameters may change between calls.
    """

    def __init__(self, network):
        self.network = network
        self._workspace = None
        # In chunks of about 2**12 values per layer: the buffers sit on top of
        # the fit's, and a 32-row workspace of the wide network was 0.29 MiB
        # of the peak (issue 15); the deep-narrow network's 32 rows still run
        # in one chunk.
        self.chunk = max(1, 2**12 // max(network.layer_sizes[1:]))

    def __call__(self, X_batch, n_rows=32):
        if X_batch is None:
            return True
        network, chunk = self.network, self.chunk
        rows = X_batch[:n_rows]
        if rows.dtype != network.dtype:  # predict_logits computes in X's precision
            logits = network.predict_logits(rows, chunk_size=chunk)
            return bool(np.isfinite(logits).all())
        n = rows.shape[0]
        ws = self._workspace
        if ws is None or ws["n"] < min(n, chunk):
            ws = self._workspace = network._new_workspace(min(n, chunk), train=False)
        for start in range(0, n, chunk):
            logits = network.forward(rows[start : start + chunk], ws, train=False)
            if not np.isfinite(logits).all():
                return False
        return True


#: The smallest positive float: the weight of an epoch whose batches all weigh nothing.
_TINY = np.finfo(float).tiny

#: Subnormal weights and moments are zeroed at the first epoch end after
#: each multiple of this many optimizer steps (``Trainer.flush_subnormals``).
FLUSH_EVERY_STEPS = 32

#: The stop reasons of a fit whose loss, weights or batch-norm statistics
#: became non-finite (the callbacks' ``on_fit_end`` gets ``diverged=True``).
DIVERGED = frozenset({"diverged", "statistics_overflow", "overflow_at_init"})

#: (callback class, hook) -> (the names of its parameters, whether it takes **kwargs).
_SIGNATURES = {}


def _signature(callback, hook):
    key = (type(callback), hook)
    if key not in _SIGNATURES:
        parameters = inspect.signature(getattr(callback, hook)).parameters.values()
        _SIGNATURES[key] = (
            frozenset(p.name for p in parameters),
            any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters),
        )
    return _SIGNATURES[key]


def _accepted_extras(callback, hook):
    """None if the hook takes ``**kwargs`` (every extra), else the names it takes."""
    names, takes_kwargs = _signature(callback, hook)
    return None if takes_kwargs else names


def call_hook(callback, hook, estimator, *args, **extras):
    """Call a callback's hook with its positional arguments and the extras it accepts.

    The positional arguments are those documented since 0.1, so that callbacks
    written then, without ``**kwargs``, keep working; the keyword extras (e.g.
    ``record``) go to the hooks that name them or take ``**kwargs``.
    """
    if extras:
        accepted = _accepted_extras(callback, hook)
        if accepted is not None:
            extras = {k: v for k, v in extras.items() if k in accepted}
    return getattr(callback, hook)(estimator, *args, **extras)


class TrainingRows:
    """The rows a fit trains on, as the callbacks' ``on_fit_begin`` gets them.

    With ``early_stopping`` the fit trains on the rows ``train_indices`` of
    ``X`` and holds the others out for validation; a callback must not see
    those as training data. A hook that names ``train_indices`` in its
    signature gets the whole data and the indices, and takes the rows it
    needs (no copy of ``X``). Any other hook gets the training rows
    themselves: ``X[train_indices]``, taken once (a copy) for all such hooks,
    when the first one is called. ``train_indices=None``: every row trains.
    """

    def __init__(self, X, y, sample_weight=None, train_indices=None):
        self.data = (X, y, sample_weight)
        self.train_indices = train_indices
        self._subset = None

    def arguments(self, callback, hook):
        """The positional arguments ``(X, y)`` and the keyword ``sample_weight``
        (and ``train_indices``, if it names it) of ``callback``'s ``hook``."""
        X, y, sample_weight = self.data
        if "train_indices" in _signature(callback, hook)[0]:
            extras = {"sample_weight": sample_weight, "train_indices": self.train_indices}
            return (X, y), extras
        if self.train_indices is not None:
            if self._subset is None:
                rows = self.train_indices
                self._subset = (
                    X[rows], y[rows], None if sample_weight is None else sample_weight[rows]
                )
            X, y, sample_weight = self._subset
        return (X, y), {"sample_weight": sample_weight}


class CallbackDispatcher:
    """Notify the callbacks of one training call: ours, then scikit-learn's.

    Our hooks get their documented positional arguments (as in 0.1, so that
    callbacks written then still work) and the newer keyword arguments (e.g.
    ``record``) that their signature accepts: all of them with ``**kwargs``,
    else those it names. Hooks can so gain arguments without breaking anyone.

    Parameters
    ----------
    estimator : BaseDeepMLP
        The estimator being fitted; ``estimator.callbacks_`` are notified.
    max_epochs : int
        Epochs of this call (scikit-learn's callbacks get one task per epoch).
    given : tuple
        ``(X, y)`` as the call was given them, for scikit-learn's callbacks.
    """

    def __init__(self, estimator, max_epochs, given):
        self.estimator = estimator
        self.callbacks = list(estimator.callbacks_)
        self.sklearn = SklearnCallbackHooks(estimator, max_epochs, *given)
        self._bridges = {
            "on_epoch_begin": self.sklearn.epoch_begin,
            "on_epoch_end": self.sklearn.epoch_end,
        }

    def notify(self, hook, *args, **extras):
        """Call ``hook`` on every callback, then scikit-learn's; return their stop vote.

        Parameters
        ----------
        hook : str
            A hook of :class:`~sk_deepnet.callbacks.Callback`, e.g. ``"on_epoch_end"``.
        *args
            Its positional arguments after the estimator.
        **extras
            Keyword arguments, passed to the hooks that accept them.

        Returns
        -------
        stop : bool
            True if a callback asked to stop training.
        """
        stop = False
        for callback in self.callbacks:
            vote = call_hook(callback, hook, self.estimator, *args, **extras)
            stop = _stop_vote(callback, hook, vote) or stop
        bridge = self._bridges.get(hook)
        if bridge is not None:
            stop = bool(bridge()) or stop
        return stop

    def fit_begin(self, X, y, sample_weight=None, *, train_indices=None, batch_size=None):
        """Start our callbacks, unless a ``partial_fit`` series already did.

        The hooks see the training rows only (see :class:`TrainingRows`):
        ``train_indices`` are the rows of ``X`` the fit trains on (None: all).
        ``sample_weight`` (the validated weights, or None) and ``batch_size``
        (the rows of a training mini-batch) go to the hooks that accept them
        as keywords, as every extra does (see ``call_hook``).
        """
        estimator = self.estimator
        rows = TrainingRows(X, y, sample_weight, train_indices)
        if not estimator._callbacks_started:
            for callback in self.callbacks:
                args, extras = rows.arguments(callback, "on_fit_begin")
                call_hook(
                    callback, "on_fit_begin", estimator, *args, batch_size=batch_size, **extras
                )
            estimator._callbacks_started = True
        else:  # a partial_fit series: a loaded monitor draws its probe again
            for callback in self.callbacks:
                if getattr(callback, "_redraw_probe", None) is not None:
                    args, extras = rows.arguments(callback, "_redraw_probe")
                    call_hook(callback, "_redraw_probe", estimator, *args, **extras)

    def fit_end(self, end_ours, record=None, restored_epochs=None, diverged=False):
        """End our callbacks (``end_ours``: not for ``partial_fit``), then scikit-learn's.

        ``record``, ``restored_epochs`` and ``diverged`` are the extras of ``on_fit_end``
        (see :meth:`~sk_deepnet.callbacks.Callback.on_fit_end`). scikit-learn's
        task is ended even if one of our hooks raises.
        """
        try:
            if end_ours:
                self.estimator._callbacks_started = False
                call_every(
                    self.callbacks, "on_fit_end", self.estimator,
                    record=record, restored_epochs=restored_epochs, diverged=diverged,
                )
            elif diverged:
                # partial_fit keeps our callbacks running (no on_fit_end): a
                # monitor that keeps a diagnosis still learns of the divergence.
                for callback in self.callbacks:
                    note = getattr(callback, "_note_divergence", None)
                    if note is not None:
                        note()
        finally:
            self.sklearn.fit_end()


class Trainer:
    """Train a network for up to ``max_epochs`` epochs of mini-batches.

    Parameters
    ----------
    estimator : BaseDeepMLP
        The estimator: parameters, random generator, bookkeeping attributes.
    network : Network
        The network to train, in place.
    optimizer : Optimizer
        The update rule (its state carries over between calls).
    batches : MiniBatches
        The training samples, in mini-batches.
    validation : tuple or None
        ``(X, y, sample_weight, val_idx)`` with early stopping, else None.
    max_epochs : int
        Epochs of this call.
    incremental : bool
        True for ``partial_fit``.
    dispatcher : CallbackDispatcher
        Notifies the callbacks.
    """

    def __init__(
        self, estimator, network, optimizer, batches, validation, max_epochs, incremental,
        dispatcher,
    ):
        self.estimator = estimator
        self.network = network
        self.optimizer = optimizer
        self.batches = batches
        self.validation = validation
        self.max_epochs = max_epochs
        self.incremental = incremental
        self.dispatcher = dispatcher
        self.schedule = estimator._schedule
        # Epoch-wise schedules count the epochs of this fit (a warm-started fit
        # starts a new period); partial_fit calls count every epoch so far.
        # Callbacks count epochs over the whole fit (warm starts and partial_fit
        # calls go on counting); n_iter_ counts this call's (as scikit-learn).
        self.first_epoch = 0 if incremental else len(estimator.loss_curve_)
        # The gradient is recomputed for every batch, so the optimizer step may
        # use it as its work array instead of a model-sized scratch vector;
        # callbacks read it until the next batch, so with callbacks it stays
        # intact, unless every callback declares that it reads the gradient
        # only before the step (``_reads_gradient_after_step = False``).
        self.overwrite_grad = not any(
            getattr(callback, "_reads_gradient_after_step", True)
            for callback in dispatcher.callbacks
        )
        self.snapshot = Snapshot(network)
        self.finite_outputs = FiniteOutputs(network)
        self.best = None  # the best validation epoch's state, with early stopping
        self.best_epochs = None  # the epochs (over the whole fit) that state had trained
        self.unsaved_best = None  # the best epochs while the network holds that state
        if validation is not None and estimator.best_validation_score_ > -np.inf:
            # A warm start from the best model of an early-stopped fit (its end
            # restored it): kept unless an epoch beats its score, as
            # scikit-learn keeps its best coefficients. Else a call that made
            # the model worse (accuracy 0.55, from 1.0) kept its last epoch
            # while best_validation_score_ still said 1.0.
            self.best, self.best_epochs = Snapshot(network), len(estimator.loss_curve_)
        self.marks = None  # the bookkeeping at the start of an incomplete epoch
        self.record = BatchRecord(network)  # what the hooks may read of a batch
        # The data loss (without the L2 penalty) of a fresh model's first
        # batch, before any step: the warnings' evidence on the initial
        # weights; and of each epoch of this call.
        self.initial_loss = None
        self.data_losses = []
        # The training loss's plateau rule only (with early stopping, the
        # validation score's takes tol as it is): one pass over the targets.
        self.loss_tol = None if validation is not None else loss_tolerance(
            estimator, network, batches, self.training_rows()
        )
        self.last_tol = estimator.tol  # the tolerance of the last plateau test

    # -------------------------------------------------------------- the loop
    def run(self):
        """Train; end at the last complete epoch whatever stops it.

        Returns
        -------
        reason : str or None
            Why training stopped before ``max_epochs``: "converged",
            "callback", "diverged", "interrupted" (or None).

        Raises
        ------
        Exception
            What a hook raised, once the model of the last complete epoch is set
            (a fresh fit that a hook's error stops during training is then set
            back by the estimator to what it was before the call; an error of
            ``on_fit_end``, after the training, keeps the trained model
            fitted); ValueError if the loss overflows before any step.
        """
        reason = error = None
        try:
            for _ in range(self.max_epochs):
                reason = self.epoch()
                if reason is not None:
                    break
        except KeyboardInterrupt:
            if self.undo_incomplete_epoch():  # else finish() raises: nothing finite
                warn_interrupted(self.estimator, "epoch")
            reason = "interrupted"
        except BaseException as exc:  # e.g. a callback's: end as an interrupted fit
            self.undo_incomplete_epoch()
            reason, error = "error", exc
        # The model first: an error of a callback's on_fit_end (e.g. a
        # GradientHealthWarning turned into an error) comes after the training.
        # Setting it makes a few copies; a Ctrl-C among them (it escaped, and
        # a fresh fit of 8 epochs ended unfitted) is answered by setting it
        # again, once: the copies repeat exactly. Here, not in finish(): a
        # Ctrl-C as finish() is called would escape before it.
        try:
            restored_epochs = self.set_final_model()
        except KeyboardInterrupt:
            restored_epochs = self.set_final_model()
            # An interrupt during training has warned already; an error is raised.
            if reason not in ("interrupted", "error"):
                warn_user(
                    "KeyboardInterrupt while the final model was set; it was set "
                    "again, and is kept and usable.",
                    FitInterruptedWarning,
                )
        self.finish(reason, error, restored_epochs)
        return reason

    def epoch(self):
        """One pass over the training batches; return a stop reason or None."""
        estimator = self.estimator
        epoch = len(estimator.loss_curve_)
        steps_before = self.optimizer.t_
        self.begin_epoch(epoch)
        loss, penalty, last_X, reason = self.run_batches()
        if reason is None and not self.finite_state(last_X):
            reason = self.divergence_kind()
        if reason is not None:  # diverged (or overflowed before any step)
            if self.undo_incomplete_epoch(diverged=True) and reason == "diverged":
                self.warn_divergence(epoch)
            return reason
        self.flush_subnormals(steps_before)
        self.end_epoch(loss, loss - penalty)
        return self.stop_rule(epoch)

    def flush_subnormals(self, steps_before):
        """Zero the subnormal parameters and optimizer moments at the end of
        an epoch that took the optimizer's step count past a multiple of
        :data:`FLUSH_EVERY_STEPS` (see :func:`~sk_deepnet._network.flush_subnormals`
        for why); ``steps_before`` is the count at the epoch's start.

        A pass over the parameters and each moment costs about one Adam step:
        at every epoch end it would slow a default iris fit (one mini-batch an
        epoch) by a few percent (11 us for its 63 000 values, against an epoch
        of about 320 us). Every 32 steps it costs about 1/32 of the
        optimizer's time, and a value that turns subnormal slows at most 32
        steps (or the rest of its epoch) before it is zeroed. The step count
        goes on over ``partial_fit`` calls, so their series flushes too.
        """
        steps = self.optimizer.t_
        if steps // FLUSH_EVERY_STEPS == steps_before // FLUSH_EVERY_STEPS:
            return
        flush_subnormals(self.network.params)
        state = self.optimizer.state_
        for name in self.optimizer._buffers:  # the moments, not the scratch
            if state.get(name) is not None:
                flush_subnormals(state[name])

    def run_batches(self):
        """Train on every batch; return the mean loss, its mean L2 penalty, the last
        batch and a stop reason."""
        estimator = self.estimator
        total = weight = penalties = 0.0
        Xb = None
        for batch, (Xb, Yb, wb) in enumerate(self.batches.epoch(estimator._rng, estimator.shuffle)):
            weight_sum = Xb.shape[0] if wb is None else float(wb.sum())
            if weight_sum <= 0:
                continue  # only zero-weight samples: nothing to learn
            loss = self.batch(batch, Xb, Yb, wb, weight_sum)
            if loss is None:
                # t_ == 0: not one step taken, the initial state overflows
                return None, None, Xb, "diverged" if estimator.t_ else "overflow_at_init"
            total += loss * weight_sum
            penalties += self.network.last_penalty * weight_sum
            weight += weight_sum
        weight = max(weight, _TINY)
        return total / weight, penalties / weight, Xb, None

    def batch(self, batch, Xb, Yb, wb, weight_sum):
        """Gradient, hooks, clipping and the optimizer step; the loss (None if not finite)."""
        estimator, network, dispatcher = self.estimator, self.network, self.dispatcher
        # Without callbacks nobody reads the batch's deltas and activations
        # afterwards: the backward pass may overwrite them (less memory).
        loss = network.loss_and_gradient(
            Xb, Yb, wb, weight_sum, estimator.alpha, estimator._rng,
            keep_deltas=bool(dispatcher.callbacks),
        )
        if not math.isfinite(loss):
            return None
        if estimator.t_ == 0:
            self.initial_loss = loss - network.last_penalty
        if dispatcher.callbacks:
            dispatcher.notify("on_grad_computed", network, batch, record=self.record)
        if estimator.clip_grad_norm is not None:
            clip_by_global_norm(network.grads, estimator.clip_grad_norm)
        self.optimizer.step(network.params, network.grads, overwrite_grad=self.overwrite_grad)
        estimator.t_ += Xb.shape[0]
        if dispatcher.callbacks:
            dispatcher.notify("on_batch_end", network, batch, loss, record=self.record)
        return loss

    # ------------------------------------------------------- around an epoch
    def begin_epoch(self, epoch):
        """Save the state to return to, set the epoch's learning rate, notify.

        The rate is set first: ``on_epoch_begin`` sees the rate of the epoch,
        and a callback may change it for the epoch (a warm-up).
        """
        estimator = self.estimator
        # The snapshot first: an interrupt or error while it is copied (or
        # half-copied) then finds no marks, and undoes nothing of a network
        # that has not changed since the last complete epoch. Marks first, it
        # restored the older or half-copied snapshot that was there.
        self.snapshot.save(self.network)
        self.marks = progress_marks(estimator)
        # A fit (warm-started too) starts at the initial rate, then follows the
        # samples seen, as scikit-learn; partial_fit calls carry on.
        restart = not self.incremental and epoch == self.first_epoch
        self.optimizer.learning_rate = self.schedule.rate_for(
            epoch - self.first_epoch, 0 if restart else estimator.t_
        )
        message = self.schedule.stalled_message() if self.incremental else None
        if message is not None:
            warn_user(message, UserWarning)
        self.dispatcher.notify("on_epoch_begin", epoch)

    def end_epoch(self, loss, data_loss):
        """Record the complete epoch: loss (and its part without the L2
        penalty), validation score, best state."""
        estimator = self.estimator
        estimator.n_iter_ += 1
        estimator.loss_ = loss
        estimator.loss_curve_.append(loss)
        self.data_losses.append(data_loss)
        if estimator.verbose:
            print(f"Iteration {estimator.n_iter_}, loss = {loss:.8f}")
        if self.validation is None:
            self.last_tol = track_loss(estimator, self.loss_tol)
            best = None
        else:  # this epoch, if its model is the best so far
            best = len(estimator.loss_curve_) if track_validation(
                estimator, *self.validation) else None
        # The epoch is complete and recorded, and a new best model is the
        # network's until its snapshot is saved: in one statement, so that no
        # interrupt falls between the two.
        self.marks, self.unsaved_best = None, best
        if best is not None:
            self.save_best()
        if self.validation is not None and estimator.verbose:  # as scikit-learn's MLP
            print(f"Validation score: {estimator.validation_scores_[-1]:f}")

    def save_best(self):
        """Copy the network, the best model so far, to the best snapshot.

        An interrupt or error while it is copied leaves ``unsaved_best`` set:
        the network, which the end of the fit keeps, holds that model. Saved
        first, a failed copy left a half-copied snapshot, which the end of the
        fit restored, with the weights of an epoch the bookkeeping had undone.
        """
        self.best = self.best or Snapshot(self.network)
        self.best.save(self.network)  # weights and batch-norm statistics
        self.best_epochs, self.unsaved_best = self.unsaved_best, None

    def stop_rule(self, epoch):
        """The callbacks' vote, then the plateau rule; return a stop reason or None."""
        estimator = self.estimator
        stop = self.dispatcher.notify("on_epoch_end", epoch, estimator.loss_)
        if estimator._no_improvement_count > estimator.n_iter_no_change:
            if estimator.early_stopping or self.schedule.on_plateau():
                if estimator.verbose:
                    # The tolerance of the last test (of the training loss's).
                    tol = estimator.tol if self.validation is not None else self.last_tol
                    print(
                        f"Training stopped: no improvement of more than "
                        f"tol={tol:g} for {estimator.n_iter_no_change} epochs."
                    )
                return "converged"
            estimator._no_improvement_count = 0
            if estimator.verbose:
                print(f"Setting learning rate to {self.schedule.rate:f}")
        return "callback" if stop else None

    def finite_state(self, last_X):
        """The divergence guard: finite weights and batch-norm statistics (which
        can overflow on their own), and finite outputs on the last batch."""
        network = self.network
        return network.has_finite_state() and self.finite_outputs(last_X)

    def divergence_kind(self):
        """ "statistics_overflow" if only batch norm's running statistics are not
        finite (the pre-activations are too large for the dtype: the scale of X,
        not the step size), else "diverged"."""
        network = self.network
        if np.isfinite(network.params).all() and not network.has_finite_state():
            return "statistics_overflow"
        return "diverged"

    def undo_incomplete_epoch(self, diverged=False):
        """Restore the state and bookkeeping of the start of an incomplete epoch.

        Returns False if that state was not finite, so not restored (the
        bookkeeping is: the epoch did not happen); True otherwise. The
        optimizer keeps its moments unless the epoch ``diverged`` (see
        :meth:`Snapshot.restore`).
        """
        if self.marks is None:
            return True
        restored = self.snapshot.restore(self.network, self.optimizer, diverged)
        rollback_progress(self.estimator, self.marks)
        self.marks = None
        return restored

    def warn_divergence(self, epoch):
        estimator, batches = self.estimator, self.batches
        # Suggest only the remedies not already in use, data scaling first
        # when the data is far from standardized (the commonest cause).
        remedies = scaling_remedies(estimator, batches.X, batches.Y)
        ratio = self.initial_loss_ratio(unscaled=bool(remedies))
        remedies += divergence_remedies(estimator, ratio)
        evidence = initial_weights_evidence(ratio, bool(initial_state_remedies(estimator)))
        warn_user(
            f"Training diverged in epoch {epoch + 1}: the loss or the weights became "
            f"infinite or NaN.{evidence} {restored_model(estimator, 'epoch')} Try "
            f"{or_list(remedies)}.",
            DivergenceWarning,
        )

    def initial_loss_ratio(self, unscaled):
        """The evidence on the initial model (see ``_gradient_advice``)."""
        batches = self.batches
        return initial_loss_ratio(
            self.estimator, self.network, self.initial_loss, batches.Y,
            batches.sample_weight, unscaled, self.training_rows(),
        )

    def training_rows(self):
        """The samples trained on, if early stopping (or batch normalization's
        zero weights) left some out; else None: all of them."""
        rows = self.batches.train_idx
        return None if len(rows) == len(self.batches.Y) else rows

    def end_message(self):
        """The ConvergenceWarning of a fit that ran all ``max_iter`` epochs or
        stopped on a plateau (then only if its model is far worse than an
        output of zeros, or no better than a constant), or None."""
        estimator, batches = self.estimator, self.batches
        hint = self.worse_than_zeros_hint() or constant_output_hint(
            estimator, self.network, (batches.Y, batches.sample_weight, self.training_rows()),
            self.final_data_loss(), out_of_iterations=estimator.n_iter_ >= estimator.max_iter,
        )
        if estimator.n_iter_ < estimator.max_iter and not hint:
            return None
        scaling = scaling_hint(estimator, batches.X, batches.Y)
        if estimator.n_iter_ < estimator.max_iter:
            return (
                f"Training stopped after {estimator.n_iter_} epochs without improvement "
                f"(n_iter_no_change={estimator.n_iter_no_change}).{scaling}{hint}"
            )
        return (
            f"Stochastic optimizer: maximum iterations ({estimator.max_iter}) reached "
            f"and the optimization hasn't converged yet.{scaling}{hint}"
        )

    def worse_than_zeros_hint(self):
        """The sentences on a final model far worse than an output of zeros, or ""."""
        estimator, batches = self.estimator, self.batches
        return worse_than_zeros_hint(
            estimator, self.network, (batches.X, batches.Y, batches.sample_weight),
            self.final_data_loss(), self.initial_loss,
            lambda ratio: worse_than_zeros_remedies(estimator, ratio), self.training_rows(),
        )

    def final_data_loss(self):
        """The data loss of the final model's epoch: the best validation
        epoch's with early stopping (its weights are restored), else the
        last's; None if this call trained none."""
        estimator, losses = self.estimator, self.data_losses
        back = 0 if self.best_epochs is None else len(estimator.loss_curve_) - self.best_epochs
        return losses[-1 - back] if back < len(losses) else None

    # ------------------------------------------------------------- the end
    def finish(self, reason, error, restored_epochs):
        """Once the final model is set (``restored_epochs``: see
        :meth:`set_final_model`), end the callbacks, warn, then raise what
        stopped the fit."""
        estimator = self.estimator
        end_callbacks(
            self.dispatcher, estimator, self.network,
            end_ours=not self.incremental,
            record=self.record if self.record.complete else None,
            trained=reason != "error",  # else a hook's error ended the training
            restored_epochs=restored_epochs,
            diverged=reason in DIVERGED,
        )
        if reason in (None, "converged") and not self.incremental:
            warn_trained(estimator, self.end_message, ConvergenceWarning, "epochs")
        self.raise_stop_error(reason, error)

    def set_final_model(self):
        """Put the final model in the network and the estimator's fitted
        attributes; return the epochs of early stopping's best model if it was
        restored (else None: the last epoch's model). Doing it twice does it
        once."""
        estimator = self.estimator
        if self.unsaved_best is not None:  # the network holds the best model
            # Its snapshot may be half-copied: never restore it.
            self.best_epochs, self.unsaved_best, self.best = self.unsaved_best, None, None
        restored_epochs = None
        if self.best is not None:
            self.best.restore(self.network)
            if self.best_epochs != len(estimator.loss_curve_):
                restored_epochs = self.best_epochs
        if not hasattr(estimator, "loss_"):
            estimator.loss_ = np.nan  # interrupted or diverged before the first epoch ended
        if estimator.early_stopping and estimator.best_loss_ == np.inf:
            estimator.best_loss_ = None
        estimator._set_fitted_attributes(self.network)
        return restored_epochs

    def raise_stop_error(self, reason, error):
        """Raise what stopped the fit, once the final model is set (if it did)."""
        estimator = self.estimator
        if not self.network.has_finite_state():
            raise ValueError(NOT_FINITE_MESSAGE) from error
        if reason == "error":
            raise error  # re-raised once the model of the last complete epoch is set
        if reason == "statistics_overflow":
            raise ValueError(
                "Batch normalization's running statistics overflowed "
                f"{self.network.dtype.name} in epoch {estimator.n_iter_ + 1} (the "
                "squares of the pre-activations exceed its range): the scale of X is "
                f"too large. {_scale_x_remedies(self.network.dtype)}. "
                f"The model of the last complete epoch ({estimator.n_iter_}) is kept."
            )
        if reason == "overflow_at_init":
            raise ValueError(
                overflow_at_init_message(estimator, self.network.dtype, self.batches)
            )




def _stop_vote(callback, hook, vote):
    """A hook's return value as a stop vote: truthy stops, as Keras's and
    skorch's; an array, whose truth is ambiguous, is refused by name."""
    try:
        return bool(vote)
    except (ValueError, TypeError) as exc:  # numpy's arrays, pd.NA: ambiguous
        raise TypeError(
            f"{type(callback).__name__}.{hook} returned {type(vote).__name__} {vote!r}, "
            "whose truth is ambiguous: return True to stop training, or None (or "
            "False) to go on."
        ) from exc


def end_callbacks(
    dispatcher, estimator, network, end_ours, record, trained, unit="epochs",
    restored_epochs=None, diverged=False,
):
    """End the callbacks once the fitted model is set, keeping that model.

    Used by the Trainer and by L-BFGS (``unit="iterations"``). A
    KeyboardInterrupt while the callbacks end (in an ``on_fit_end``, or while
    scikit-learn's ScoringMonitor scores the final model) comes after the
    training: it warns and the trained model is kept, as for an interrupt in
    an epoch. Another error propagates; after a training that ended
    (``trained``), a finite model of at least one complete epoch is kept,
    fitted and usable (the estimator otherwise sets a fresh fit that raises
    back to what it was before the call). ``restored_epochs`` and ``diverged``: see
    ``CallbackDispatcher.fit_end``.
    """
    try:
        dispatcher.fit_end(
            end_ours=end_ours, record=record, restored_epochs=restored_epochs,
            diverged=diverged,
        )
    except KeyboardInterrupt:
        warn_user(
            f"KeyboardInterrupt while the callbacks ended the fit{_ended_model(estimator, unit)}",
            FitInterruptedWarning,
        )
    except BaseException:
        if trained and estimator.n_iter_ > 0 and network.has_finite_state():
            estimator._keep_model_on_error = True
        raise


def _ended_model(estimator, unit):
    """The end of :func:`end_callbacks`'s interrupt warning: the model kept.

    With no ``unit`` (plural) of the call complete, that is not a trained
    model of the call: :func:`kept_model` says which (the previous model a
    refit puts back, a warm start's, or the untrained initialization).
    """
    if estimator.n_iter_:
        return f"; the trained model ({estimator.n_iter_} {unit}) is kept and usable."
    return f". {kept_model(estimator, unit.removesuffix('s'))}"


def warn_trained(estimator, make_message, category, unit):
    """Warn about a training that ended, once its model is set; keep the model.

    ``make_message()`` gives the text (or None: no warning). A warning turned
    into an error (``warnings.simplefilter("error", ConvergenceWarning)``)
    propagates with the trained model kept, as scikit-learn's MLP keeps its
    ``coefs_``; a KeyboardInterrupt while the text is made (it reads the
    data's scale) warns, as after any training.
    """
    try:
        message = make_message()
        if message is not None:
            warn_user(message, category)
    except KeyboardInterrupt:
        warn_user(
            f"KeyboardInterrupt after the training; the trained model "
            f"({estimator.n_iter_} {unit}) is kept and usable.",
            FitInterruptedWarning,
        )
    except BaseException:
        estimator._keep_model_on_error = True
        raise


#: Which model an interrupted ("kept") or diverged ("restored") call ends
#: with: after a complete ``unit`` of this call; with none, the model a warm
#: start or partial_fit started from; with none of a fresh fit, the untrained
#: initialization (random, or pretrained, weights), or, interrupted, the model
#: fitted before it (put back: see warn_interrupted).
_MODEL_SENTENCES = {
    "kept": (
        "The model of the last complete {unit} ({done}) is kept and usable.",
        "No {unit} of this call completed: the model it started from ({before} "
        "{unit}s trained before) is kept, unchanged.",
        "No {unit} completed: the model is the untrained initialization (n_iter_=0), "
        "not a trained model.",
        "No {unit} completed: the model fitted before this call is kept, unchanged, "
        "with its fitted attributes (n_iter_={previous}).",
    ),
    "restored": (
        "The weights of the last finite {unit} were restored ({unit} {done}).",
        "The weights this call started from were restored: no {unit} of it completed "
        "({before} {unit}s trained before).",
        "The initial weights were restored: no {unit} completed, the model is the "
        "untrained initialization (n_iter_=0), not a trained model.",
    ),
}


def kept_model(estimator, unit, how="kept"):
    """The sentence saying which model an interrupted (``how="kept"``) or
    diverged (``"restored"``) call ends with.

    ``unit`` is "epoch" (or "iteration" for L-BFGS); see
    :data:`_MODEL_SENTENCES`.
    """
    done, before = estimator.n_iter_, len(estimator.loss_curve_)
    previous = getattr(estimator, "_replaced_model_n_iter", None)
    put_back = how == "kept" and getattr(estimator, "_put_back_replaced_model", False)
    case = 0 if done > 0 else 1 if before else 3 if put_back else 2
    return _MODEL_SENTENCES[how][case].format(
        unit=unit, done=done, before=before, previous=previous
    )


def warn_interrupted(estimator, unit):
    """Warn of a KeyboardInterrupt in a training ``unit`` (FitInterruptedWarning).

    A fresh fit of a fitted estimator that completed no ``unit`` is then a fit
    that did not happen: the estimator puts its previous model back once the
    fit has ended (``BaseDeepMLP._fit``), rather than losing a trained model
    to an untrained initialization. The interrupt of an unfitted estimator's
    first epoch keeps that initialization, as scikit-learn's MLP keeps its
    weights.
    """
    if estimator.n_iter_ == 0 and getattr(estimator, "_replaced_model_n_iter", None) is not None:
        estimator._put_back_replaced_model = True
    warn_user(
        f"Training interrupted by KeyboardInterrupt during {unit} "
        f"{estimator.n_iter_ + 1}. {kept_model(estimator, unit)}",
        FitInterruptedWarning,
    )


def restored_model(estimator, unit):
    """The DivergenceWarning sentence on the state a diverged ``unit`` went back to."""
    return kept_model(estimator, unit, how="restored")


def call_every(callbacks, hook, estimator, *args, **extras):
    """Call ``hook`` of every callback, even after one raised; then raise the first error.

    Ending callbacks (``on_fit_end``) must end each of them: one callback's
    error must not leave another unended. The first error that is not a
    KeyboardInterrupt is raised (the callers turn an interrupt into a
    warning, which must not hide an error), else the first interrupt; the
    others are added to its notes (Python >= 3.11).
    """
    errors = []
    for callback in callbacks:
        try:
            call_hook(callback, hook, estimator, *args, **extras)
        except BaseException as exc:  # KeyboardInterrupt too: end the others first
            errors.append((callback, exc))
    if errors:
        errors.sort(key=lambda error: isinstance(error[1], KeyboardInterrupt))  # stable
        first = errors[0][1]
        add_note = getattr(first, "add_note", None)  # Python >= 3.11
        for callback, exc in errors[1:]:
            if add_note is not None:
                add_note(
                    f"{type(callback).__name__}.{hook} raised too: "
                    f"{type(exc).__name__}: {exc}"
                )
        raise first


NOT_FINITE_MESSAGE = (
    "The network's weights or batch-norm statistics are not finite at the end of "
    "training, and no finite state of this fit can be restored: they were made "
    "non-finite outside the training steps (by a callback, or by code that wrote "
    "to coefs_, intercepts_ or the network). A fresh fit leaves the estimator "
    "as it was before the fit; find what writes the NaN or inf values and fit again."
)


# ------------------------------------------------------------ the bookkeeping
def progress_marks(estimator):
    """The training bookkeeping at the start of an epoch, to undo that epoch."""
    scores = estimator.validation_scores_
    return dict(
        n_iter_=estimator.n_iter_,
        t_=estimator.t_,
        loss_=getattr(estimator, "loss_", None),
        best_loss_=estimator.best_loss_,
        best_validation_score_=estimator.best_validation_score_,
        _no_improvement_count=estimator._no_improvement_count,
        n_losses=len(estimator.loss_curve_),
        n_scores=None if scores is None else len(scores),
    )


def rollback_progress(estimator, marks):
    """Undo the bookkeeping of an incomplete epoch (diverged or interrupted)."""
    marks = dict(marks)
    del estimator.loss_curve_[marks.pop("n_losses") :]
    n_scores = marks.pop("n_scores")
    if n_scores is not None:
        del estimator.validation_scores_[n_scores:]
    if marks["loss_"] is None:
        marks.pop("loss_")
        estimator.__dict__.pop("loss_", None)
    for name, value in marks.items():
        setattr(estimator, name, value)


def loss_tolerance(estimator, network, batches, rows):
    """The plateau rule's tolerance on the training loss: ``(tol, below)``,
    ``tol`` in force once the best loss is below ``below`` (``estimator.tol``
    before).

    ``estimator.tol``, as scikit-learn's MLP; for the squared error, once the
    model has learned something from ``X`` (its loss is
    :data:`~sk_deepnet._gradient_advice.CONSTANT_LOSS_MARGIN` below the best
    constant prediction's, half the total weighted variance of the training
    targets, the ``rows`` of ``batches``), ``tol`` times that variance when
    it is above 1. The squared error is in the units
    of ``y`` squared: a fixed ``tol`` on a target of standard deviation 77
    (diabetes) asks for an improvement 6000 times finer than on a
    standardized one, and such fits ran ``max_iter`` epochs while their loss
    fell by a few hundredths of a percent of the variance an epoch. Relative
    to the variance, the rule is scikit-learn's on the standardized target,
    whatever the unit of ``y``; never below ``tol``, it never asks for a finer
    improvement than scikit-learn's rule does (a target of small variance,
    e.g. ``make_friedman3``'s, keeps ``tol``). Until then the model is still
    learning the mean and scale of ``y``, slowly for a target far larger
    than the network's first outputs: that slow start is no plateau (at
    ``tol * variance`` a 2 x 32 network stopped after 19 epochs on a target of
    standard deviation 2000, no better than the constant), and ``tol``
    applies.
    """
    if network._loss is not SquaredError:  # deviances: no unit of y squared
        return estimator.tol, np.inf
    half_variance = constant_output_loss(
        SquaredError, batches.Y, batches.sample_weight, network.layer_sizes[-1], rows
    )
    if half_variance is None:  # the samples weigh nothing
        return estimator.tol, np.inf
    learned = (1.0 - CONSTANT_LOSS_MARGIN) * half_variance
    return estimator.tol * max(2.0 * half_variance, 1.0), learned


def tol_in_force(estimator, tolerance):
    """The tolerance of the next epoch's plateau test (see :func:`loss_tolerance`)."""
    tol, below = tolerance
    return tol if estimator.best_loss_ < below else estimator.tol


def track_loss(estimator, tolerance):
    """The training-loss plateau rule: count the epochs without an
    improvement of more than the tolerance (see :func:`loss_tolerance`);
    return the tolerance the test used (before it updates ``best_loss_``)."""
    tol = tol_in_force(estimator, tolerance)
    if estimator.loss_ > estimator.best_loss_ - tol:
        estimator._no_improvement_count += 1
    else:
        estimator._no_improvement_count = 0
    estimator.best_loss_ = min(estimator.best_loss_, estimator.loss_)
    return tol


def track_validation(estimator, X, y, sample_weight, val_idx):
    """The validation plateau rule: score the held-out samples; True if the best epoch."""
    X_val = X[val_idx]
    w_val = None if sample_weight is None else sample_weight[val_idx]
    score = estimator._validation_score(X_val, y[val_idx], w_val)
    estimator.validation_scores_.append(score)
    if score < estimator.best_validation_score_ + estimator.tol:
        estimator._no_improvement_count += 1
    else:
        estimator._no_improvement_count = 0
    if score > estimator.best_validation_score_:
        estimator.best_validation_score_ = score
        return True
    return False


def _scale_x_remedies(dtype):
    """"Scale X ..., or use dtype='float64'" where that is wider than ``dtype``."""
    use = [f"use {remedy}" for remedy in float64_remedy(dtype)]
    return or_list(["Scale X (e.g. with StandardScaler)", *use])


def overflow_at_init_message(estimator, dtype, batches):
    """What can make the loss overflow before any step, and what to do."""
    pretrained = pretrained_overflow_message(estimator, dtype)
    if pretrained is not None:  # the pretrained weights, not init, are the cause
        return pretrained
    regressor = not is_classifier(estimator)
    init, weighted = estimator.init, batches.sample_weight is not None
    scale = f", init_scale={estimator.init_scale:g}" if init == "normal" else ""
    causes = [
        f"the initial weights (init={init!r}{scale})",
        "the scale of X" + (" or y" if regressor else ""),
    ]
    remedies = scaling_remedies(estimator, batches.X, batches.Y)
    if weighted:
        causes.append("the size of sample_weight")
        remedies.append("rescaling sample_weight (e.g. dividing it by its mean)")
    remedies += init_remedies(estimator) + float64_remedy(dtype)
    return (
        f"The loss is not finite before any training step: {or_list(causes)} "
        f"make it overflow {dtype.name}. Try "
        f"{or_list(remedies)}."
    )
