"""Full-batch L-BFGS over the network's flat parameter vector: the quasi-Newton rung.

``optimizer="lbfgs"`` hands the whole training loss (L2 penalty included) and
its gradient to ``scipy.optimize.minimize(method="L-BFGS-B")``, as
scikit-learn's ``MLPClassifier(solver="lbfgs")`` does, with its options:
``maxiter=max_iter``, ``maxfun=max_fun`` and ``gtol=tol``.

SciPy works in float64, and so does the loss and gradient it is given, whatever
the estimator's ``dtype``: a float32 model is trained through a float64 twin of
its network (:func:`float64_twin`) and gets the accepted iterates cast back.
Evaluated in float32, the loss rounds each trial point to float32 and is
itself rounded: a short step may change neither, which L-BFGS-B reads as "no
relative reduction of f", a *converged* status, and stops far from the optimum
with no warning (on iris, ``depth=2, width=8, tol=1e-8``: 25 iterations and a
loss of 0.46 where float64 goes on to 0.037; ``benchmarks/lbfgs_float32.py``
prints such runs). L-BFGS is meant for small data sets, where the float64 copy
of X and of the network costs little.

The flat parameter vector makes this a thin layer: the network already keeps
every weight, bias and normalization parameter in one contiguous array, which
is exactly the ``x`` SciPy optimizes.

One *iteration* of L-BFGS (an accepted step, after its line search of one or
more evaluations) is what an *epoch* is to the stochastic optimizers: it is
counted in ``n_iter_``, appended to ``loss_curve_`` and reported to the
callbacks. :class:`LBFGSRun` calls its ``hooks.begin()`` just before the
first evaluation of a new iteration (the network then holds the current
iterate and its gradient, as a stochastic fit's callbacks see a batch before
its step), ``hooks.count(loss)`` once the network holds the new iterate and
``hooks.vote(loss)`` once it is accepted (see :class:`_IterationHooks`).

SciPy's line search may accept a point that is not finite (a gradient that
overflows makes the next trial point NaN). Such an iterate is never counted:
the fit goes back to the last accepted one and warns with a
DivergenceWarning, as a diverged epoch of the stochastic optimizers does.
"""

import contextlib
import math

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ._batch_record import BatchRecord
from ._batches import MiniBatches
from . import _gradient_advice as advice
from ._training import (
    NOT_FINITE_MESSAGE,
    CallbackDispatcher,
    FiniteOutputs,
    end_callbacks,
    overflow_at_init_message,
    progress_marks,
    restored_model,
    rollback_progress,
    warn_interrupted,
    warn_trained,
)
from ._scale import scaling_hint, scaling_remedies
from ._warnings import float64_remedy, or_list, warn_user
from .exceptions import DivergenceWarning
from .optimizers import LBFGS  # noqa: F401 (models pickled before 0.2.0 name it here)

#: SciPy's L-BFGS-B status codes, by the reason they stand for.
_STOPPED_BY_LIMIT = 1  # maxiter or maxfun reached
_ABNORMAL = 2  # the line search found no step that lowers the loss


class _NonFiniteIterate(Exception):
    """SciPy accepted an iterate whose loss, weights or outputs are not finite.

    Its line search can: a gradient that overflows gives a NaN trial point,
    whose loss (NaN, passed on as inf) SciPy may still accept.
    """


class LBFGSRun:
    """One L-BFGS fit of ``network`` on one full batch.

    Parameters
    ----------
    network : Network
        Trained in place (through its float64 twin when it is float32): it
        holds each accepted iterate, and ends at the last one.
    batch : tuple
        ``(X, Y, sample_weight)`` of every training sample, X in float64 (or
        sparse).
    alpha : float
        L2 penalty of the loss.
    settings : LBFGS
        ``max_iter``, ``max_fun`` and ``tol``; its ``n_fun_``, ``status_``
        and ``message_`` are set by :meth:`run`.
    hooks : object
        ``hooks.begin()`` before an iteration's first evaluation;
        ``hooks.count(loss)`` once the network holds a new iterate (it counts
        it, all or nothing), ``hooks.uncount()`` if it cannot be accepted
        after all, and ``hooks.vote(loss)`` once it is: a true vote stops the
        fit.
    """

    def __init__(self, network, batch, alpha, settings, hooks):
        self.target = network  # the estimator's network, in its own dtype
        self.network = float64_twin(network)  # what the loss is computed with
        self.target_outputs = FiniteOutputs(network)  # its guard, checked at every iteration
        self.X, self.Y, self.sample_weight = batch
        self.weight_sum = (
            self.X.shape[0] if self.sample_weight is None else float(self.sample_weight.sum())
        )
        self.alpha = alpha
        self.settings = settings
        self.hooks = hooks
        # The accepted iterate (float64) and its loss: what an interrupted or
        # diverged fit goes back to.
        self.accepted = network.params.astype(np.float64)
        self.accepted_loss = None
        # Whether the loss, an iterate or batch norm's statistics became non-finite.
        self.diverged = False
        # Batch norm's running statistics are those of the full batch at the
        # point last computed (momentum 1): the state of that point alone, so
        # that a NaN trial point does not stay in them (see _compute).
        self._norms = [norm for norm in self.network.norms if hasattr(norm, "running_mean")]
        self._at = None  # the float64 point the network's state was computed at
        self._gradient = np.empty(network.n_params, np.float64)
        self._loss = None
        self._iteration_open = False
        self._stop_requested = False
        # The data losses (without the L2 penalty) at a fresh model's initial
        # weights, at the point computed last and at the accepted iterate.
        self.initial_loss = None
        self._data_loss = None
        self.accepted_data_loss = None

    def evaluate(self, x):
        """Loss and gradient at ``x``, computed in float64 (by the float64 twin)."""
        if self._at is not None and np.array_equal(x, self._at):
            return self._loss, self._gradient.copy()
        if not self._iteration_open and self.accepted_loss is not None:
            self._iteration_open = True
            self.hooks.begin()  # the network holds the accepted iterate still
        return self._compute(x)

    def _compute(self, x):
        """Set the network's parameters to ``x``; its loss and float64 gradient."""
        network = self.network
        # Forget the point first: an interrupt between the copy and the end of
        # the evaluation must not let restore() believe the network is at _at.
        self._at = None
        np.copyto(network.params, x, casting="same_kind")
        with self._full_batch_statistics():
            loss = network.loss_and_gradient(
                self.X, self.Y, self.sample_weight, self.weight_sum, self.alpha
            )
        np.copyto(self._gradient, network.grads)
        # The line search backtracks from an infinite value; a NaN would
        # poison its interpolation.
        self._loss = float(loss) if math.isfinite(loss) else np.inf
        self._data_loss = self._loss - network.last_penalty
        self._at = np.array(x, dtype=np.float64, copy=True)  # last: all is set
        return self._loss, self._gradient.copy()

    @contextlib.contextmanager
    def _full_batch_statistics(self):
        """Batch norm's running statistics become this evaluation's, nothing older.

        With momentum 1 the update is ``0 * running + batch``; the running
        statistics are zeroed first, as ``0 * NaN`` would be NaN.
        """
        for norm in self._norms:
            norm.momentum = 1.0
            norm.running_mean.fill(0)
            norm.running_var.fill(0)
        try:
            yield
        finally:
            for norm in self._norms:
                del norm.momentum  # back to the class default

    def start(self):
        """Evaluate the initial point; return its loss (maybe not finite)."""
        loss, _ = self.evaluate(self.accepted)
        self.accepted_loss, self.accepted_data_loss = loss, self._data_loss
        return loss

    def _iteration_done(self, intermediate_result):
        x = intermediate_result.x
        if not np.array_equal(x, self._at):  # the last trial was not the iterate
            self.evaluate(x)
        if not (math.isfinite(self._loss) and self.network.has_finite_state()):
            raise _NonFiniteIterate
        # The estimator's network holds the iterate its hooks see (restore()
        # puts back the accepted one if the iteration does not complete).
        self.publish()
        if self.target is not self.network and not self._target_finite():
            raise _NonFiniteIterate  # finite in float64, not once cast to float32
        self.hooks.count(self._loss)
        try:
            np.copyto(self.accepted, x)
        except BaseException:
            self.hooks.uncount()
            raise
        self.accepted_loss, self.accepted_data_loss = self._loss, self._data_loss
        self._iteration_open = False
        if self.hooks.vote(self._loss):
            self._stop_requested = True
            raise StopIteration

    def _target_finite(self):
        """Whether the estimator's network (float32) is finite and predicts finite outputs."""
        target = self.target
        rows = self.X[:32].astype(target.dtype)
        return target.has_finite_state() and self.target_outputs(rows)

    def run(self):
        """Minimize; return SciPy's result (``nit`` capped at ``max_iter``)."""
        settings = self.settings
        result = scipy.optimize.minimize(
            self.evaluate,
            self.accepted.copy(),
            method="L-BFGS-B",
            jac=True,
            callback=self._iteration_done,
            options={
                "maxfun": settings.max_fun,
                "maxiter": settings.max_iter,
                "gtol": settings.tol,
            },
        )
        settings.n_fun_ = int(result.nfev)
        settings.status_ = int(result.status)
        settings.message_ = str(result.message)
        self.restore()  # the accepted iterate, not the last line-search trial
        return result

    def restore(self):
        """Put the network back at the last accepted iterate.

        With batch normalization, the running statistics become the full
        batch's at that iterate (every evaluation sets them so: full-batch
        training has no other batch, and exponential averages would mix the
        line search's trial points into what prediction uses).
        """
        if not self._norms:
            # Always: a callback may have written to the network since.
            if self._at is not None and not np.array_equal(self.accepted, self._at):
                self._at = None
            np.copyto(self.network.params, self.accepted, casting="same_kind")
        else:
            self._compute(self.accepted)  # again, even at the same point
        self.publish()

    def publish(self):
        """Cast the float64 twin's parameters and statistics into the estimator's network.

        Its count of computed batches too (``Network.batches_computed``).
        """
        target, source = self.target, self.network
        if target is source:
            return
        np.copyto(target.params, source.params, casting="same_kind")
        target.batches_computed = source.batches_computed  # the twin computed them
        for mine, theirs in zip(
            target.running_means + target.running_vars,
            source.running_means + source.running_vars,
        ):
            np.copyto(mine, theirs, casting="same_kind")

    @property
    def stopped_by_callback(self):
        return self._stop_requested


def float64_twin(network):
    """``network`` itself if it computes in float64, else a float64 copy that trains.

    The copy (:meth:`Network.trainable_copy`) has a gradient vector of its
    own; its parameters and statistics are exact float64 casts of the
    network's, and :meth:`LBFGSRun.publish` casts them back.
    """
    if network.dtype == np.float64:
        return network
    return network.trainable_copy(np.float64)


def convergence_message(settings, n_iter):
    """The ConvergenceWarning text of an L-BFGS fit that did not converge, or None."""
    status = settings.status_
    if status in (0, 99, None):
        return None
    # SciPy >= 1.15 says only "ABNORMAL: " (its detail was dropped).
    reason = settings.message_.strip().rstrip(":").strip()
    message = (
        f"lbfgs failed to converge after {n_iter} iteration(s) "
        f"(status={status}): {reason}."
    )
    if status == _ABNORMAL:
        return message + (
            " The line search found no step that lowers the loss: the loss is "
            "as low as the precision allows, or the data is badly scaled."
        )
    if status == _STOPPED_BY_LIMIT:
        return message + (
            f" Increase max_iter (now {settings.max_iter}) or max_fun (now "
            f"{settings.max_fun}) to improve the convergence."
        )
    return message


# ------------------------------------------------------------ the estimator's fit
def check_lbfgs_options(estimator):
    """Refuse what breaks L-BFGS; warn about what it ignores (as scikit-learn)."""
    if estimator.dropout > 0:
        raise ValueError(
            f"optimizer='lbfgs' needs a deterministic loss, but dropout="
            f"{estimator.dropout} draws new masks at every evaluation, which breaks "
            "its line search. Set dropout=0, or use a stochastic optimizer "
            "(e.g. optimizer='adam') with dropout."
        )
    if estimator.clip_grad_norm is not None:
        raise ValueError(
            "clip_grad_norm rescales a step's gradient, but optimizer='lbfgs' "
            "takes no gradient step of its own (its line search needs the true "
            "gradient). Set clip_grad_norm=None, or use a stochastic optimizer."
        )
    ignored = [
        f"{name}={getattr(estimator, name)!r}"
        for name, default in (("batch_size", "auto"), ("early_stopping", False))
        if getattr(estimator, name) != default
    ]
    if ignored:
        warn_user(
            f"optimizer='lbfgs' trains on every sample at each iteration and "
            f"holds none out: {' and '.join(ignored)} "
            f"{'is' if len(ignored) == 1 else 'are'} ignored (scikit-learn's MLP "
            "ignores them too, without a warning).",
            UserWarning,
        )


class _IterationHooks:
    """The bookkeeping and callbacks of each L-BFGS iteration, counted as an epoch.

    An iteration counts (``n_iter_``, ``loss_curve_``, ...) all at once or not
    at all: :meth:`count` undoes its part-made bookkeeping when interrupted,
    and :meth:`uncount` the whole of it when the run cannot accept the iterate.
    """

    def __init__(self, estimator, network, dispatcher, n_samples):
        self.estimator, self.network = estimator, network
        self.dispatcher, self.n_samples = dispatcher, n_samples
        self.record = BatchRecord(network)
        self.epoch = len(estimator.loss_curve_)  # callbacks count over warm starts
        self.marks = None

    def begin(self):
        """The network holds the current iterate and its gradient, before the step."""
        notify = self.dispatcher.notify
        notify("on_epoch_begin", self.epoch)
        notify("on_grad_computed", self.network, 0, record=self.record)

    def count(self, loss):
        """The network holds the new iterate: notify, then count the iteration."""
        estimator = self.estimator
        self.dispatcher.notify("on_batch_end", self.network, 0, loss, record=self.record)
        self.marks = progress_marks(estimator)
        try:
            estimator.n_iter_ += 1
            estimator.t_ += self.n_samples
            estimator.loss_ = loss
            estimator.loss_curve_.append(loss)
            estimator.best_loss_ = min(estimator.best_loss_, loss)
            if estimator.verbose:
                print(f"Iteration {estimator.n_iter_}, loss = {loss:.8f}")
        except BaseException:
            self.uncount()
            raise
        self.epoch += 1

    def uncount(self):
        """Undo the bookkeeping of the last :meth:`count`."""
        rollback_progress(self.estimator, self.marks)
        self.epoch = len(self.estimator.loss_curve_)

    def vote(self, loss):
        """The iteration is complete: the callbacks' stop vote."""
        return self.dispatcher.notify("on_epoch_end", self.epoch - 1, loss)


def _reset_tracking(estimator):
    """This call's iterations; no validation (early_stopping is ignored)."""
    estimator.n_iter_ = 0
    if estimator.validation_scores_ is not None:
        estimator.validation_scores_ = estimator.best_validation_score_ = None
    if estimator.best_loss_ is None:  # a warm start after an early-stopping fit
        estimator.best_loss_ = np.inf


def _end_callbacks(estimator, network, dispatcher, record, trained, diverged):
    """Set the fitted model, then end the callbacks (as ``Trainer.finish``)."""
    estimator._set_fitted_attributes(network)
    end_callbacks(
        dispatcher, estimator, network, end_ours=True, record=record, trained=trained,
        unit="iterations", diverged=diverged,
    )


def _minimize(run, estimator, network, batches):
    """Run L-BFGS; the error that stopped it (None: finished or interrupted).

    Whatever stops it, the network ends at the last accepted iterate.
    ``status_`` and ``message_`` are this run's: SciPy's when it ends its
    run, None and a reason when something else stops it.
    """
    run.settings.status_ = None
    run.settings.message_ = "stopped before SciPy's run ended"
    try:
        fresh = not estimator.loss_curve_  # not a warm start from a trained model
        initial_loss = run.start()
        run.initial_loss = run.accepted_data_loss if fresh else None
        if not math.isfinite(initial_loss):
            run.diverged = True
            return ValueError(overflow_at_init_message(estimator, network.dtype, batches))
        if not run.network.has_finite_state():  # batch norm's statistics overflow
            run.diverged = True
            return ValueError(
                "Batch normalization's running statistics overflow float64 at the "
                "initial weights (the squares of the pre-activations exceed its "
                "range): the scale of X is too large. Scale X (e.g. with StandardScaler)."
            )
        run.run()
    except KeyboardInterrupt:
        run.restore()
        run.settings.message_ = "stopped: interrupted by KeyboardInterrupt"
        warn_interrupted(estimator, "iteration")
    except _NonFiniteIterate:
        run.restore()
        run.settings.status_ = None  # SciPy's run did not end: no status of its own
        run.settings.message_ = "stopped: an iterate was not finite"
        run.diverged = True
        warn_divergence(estimator, network, run)
    except BaseException as exc:  # e.g. a callback's: keep the last iterate
        run.restore()
        return exc
    return None


def warn_divergence(estimator, network, run):
    """Warn that an iterate was not finite (a DivergenceWarning, as a stochastic fit's)."""
    remedies = scaling_remedies(estimator, run.X, run.Y)
    ratio = _initial_loss_ratio(estimator, run, unscaled=bool(remedies))
    initial = advice.initial_state_remedies(estimator)
    if advice.blames_initial_model(ratio):  # as the stochastic optimizers' warning
        remedies += initial
    remedies += float64_remedy(network.dtype)
    if ratio is None:  # no evidence on the initial weights
        remedies += advice.init_remedies(estimator)
    suggestion = f" Try {or_list(remedies)}." if remedies else ""
    evidence = advice.initial_weights_evidence(ratio, bool(initial))
    warn_user(
        f"Training diverged in iteration {estimator.n_iter_ + 1}: the loss or the "
        "weights became infinite or NaN (the line search stepped out of the "
        f"{network.dtype.name} range).{evidence} "
        f"{restored_model(estimator, 'iteration')}{suggestion}",
        DivergenceWarning,
    )


def _final_state_error(network, error):
    """``error``, or a ValueError if there is none and the final network is not finite."""
    if error is None and not network.has_finite_state():
        return ValueError(NOT_FINITE_MESSAGE)
    return error


def run_lbfgs(estimator, network, optimizer, X, Y, y, sample_weight, given):
    """Fit ``network`` by full-batch L-BFGS for ``estimator`` (``optimizer="lbfgs"``).

    Sets the fitted attributes as a stochastic fit does; one iteration counts
    as an epoch (``n_iter_`` counts this call's, as scikit-learn). Whatever
    stops the fit (convergence, a limit, a callback, an exception, Ctrl-C, an
    iterate that is not finite), the network ends at the last accepted
    iterate, and the bookkeeping at that iteration. The loss and gradient are
    computed in float64 (see the module).
    """
    check_lbfgs_options(estimator)
    n_samples = X.shape[0]
    if np.issubdtype(Y.dtype, np.floating):
        Y = Y.astype(np.float64, copy=False)
    batches = MiniBatches(
        X, Y, sample_weight, np.arange(n_samples), n_samples, np.float64,
        merge_small_last=False,
    )
    # No learning rate: the line search chooses each step.
    estimator._start_fitted_state(network, optimizer, X, Y, learning_rate=None)
    _reset_tracking(estimator)
    dispatcher = CallbackDispatcher(estimator, estimator.max_iter, given)
    # Every sample trains (no early stopping), in one batch.
    dispatcher.fit_begin(X, y, sample_weight, batch_size=n_samples)
    batch = next(batches.epoch(estimator._rng, shuffle=False))
    run = LBFGSRun(network, batch, estimator.alpha, optimizer, None)
    hooks = run.hooks = _IterationHooks(estimator, run.network, dispatcher, n_samples)
    error = _final_state_error(network, _minimize(run, estimator, network, batches))
    estimator.loss_ = np.nan if run.accepted_loss is None else run.accepted_loss
    record = hooks.record if hooks.record.complete else None
    _end_callbacks(
        estimator, network, dispatcher, record, trained=error is None, diverged=run.diverged,
    )
    if error is not None:
        raise error
    if not run.stopped_by_callback:
        warn_trained(estimator, lambda: _not_converged(estimator, optimizer, run),
                     ConvergenceWarning, "iterations")


def _not_converged(estimator, optimizer, run):
    """The ConvergenceWarning of an L-BFGS fit, or None.

    A fit that did not converge gets one, with what to scale; one that
    converged only if its model learned next to nothing from X (``alpha=1000``
    converged at the mean of y, R^2 = 0.00, without a word:
    ``tests/test_constant_output.py``).
    """
    message = convergence_message(optimizer, estimator.n_iter_)
    if message is None:
        if run.diverged or estimator.n_iter_ == 0:  # a divergence has warned already
            return None
        nothing = _constant_output_hint(estimator, optimizer, run)
        return f"lbfgs converged after {estimator.n_iter_} iteration(s).{nothing}" if (
            nothing) else None
    return (
        message
        + scaling_hint(estimator, run.X, run.Y)
        + (_worse_than_zeros_hint(estimator, run)
           or _constant_output_hint(estimator, optimizer, run))
    )


def _constant_output_hint(estimator, optimizer, run):
    """A model no better than a constant: stopped by max_iter, it may only need more."""
    return advice.constant_output_hint(
        estimator, run.network, (run.Y, run.sample_weight, None), run.accepted_data_loss,
        out_of_iterations=optimizer.status_ == _STOPPED_BY_LIMIT,
    )


def _worse_than_zeros_hint(estimator, run):
    """Initial weights that amplify the inputs: L-BFGS's line search stays near them."""

    def remedies_for(ratio):  # only the initial model's: no steps to change
        blamed = advice.blames_initial_model(ratio)
        return advice.initial_state_remedies(estimator) if blamed else []

    return advice.worse_than_zeros_hint(
        estimator, run.network, (run.X, run.Y, run.sample_weight), run.accepted_data_loss,
        run.initial_loss, remedies_for,
    )


def _initial_loss_ratio(estimator, run, unscaled):
    """The evidence on the initial model (see ``_gradient_advice``)."""
    return advice.initial_loss_ratio(
        estimator, run.network, run.initial_loss, run.Y, run.sample_weight, unscaled
    )
