"""The Callback base class (kept apart so that callback modules can subclass it)."""

import copy
import functools
import inspect
import os

from sklearn.base import BaseEstimator

from ._docstrings import inherited_doc
from ._sklearn_compat import StrictIntegerMixin


def atomic_hook(method):
    """Make a callback hook all-or-nothing: on any exception, its attributes are as before.

    A hook interrupted half-way (a MemoryError while a buffer grows, a
    KeyboardInterrupt) would otherwise leave the callback with some attributes
    of the new state and some of the old: a pickle that cannot be loaded and a
    next ``fit`` or ``partial_fit`` that crashes. The attributes are restored
    from a shallow copy, so a hook must rebind (not mutate in place) the
    containers whose consistency matters; filling a preallocated row in place
    is fine. Copying the attribute dictionary costs about a microsecond.
    """

    @functools.wraps(method)
    def hook(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return hook


def write_report(text, file):
    """Write a monitor's ``report()`` text to ``file``: a file-like object, a path or None.

    A path (``str`` or ``os.PathLike``) is written (replaced) in UTF-8, as
    ``open(file, "w")`` would; anything else that has no ``write`` method is
    refused before anything is written, naming what it got.
    """
    if file is None:
        return
    if isinstance(file, (str, os.PathLike)):
        with open(file, "w", encoding="utf-8") as stream:
            print(text, file=stream)
    elif callable(getattr(file, "write", None)):
        print(text, file=file)
    else:
        raise TypeError(
            "report(file=...) takes a file-like object with a write method (for "
            f"instance sys.stdout), a path, or None; got {type(file).__name__}."
        )


#: The hooks of :class:`Callback`, in the order a fit calls them.
HOOKS = (
    "on_fit_begin", "on_epoch_begin", "on_grad_computed", "on_batch_end",
    "on_epoch_end", "on_fit_end",
)


class Callback(StrictIntegerMixin, BaseEstimator):
    """Base class of training callbacks; every hook defaults to doing nothing.

    Subclass it and override the hooks you need. ``__init__`` must only store
    its parameters (scikit-learn rules), because ``fit`` clones the callback
    and calls the hooks of the clone. The arguments shared by the hooks:

    * ``estimator``: the DeepMLPClassifier or DeepMLPRegressor being fitted;
    * ``record``: a :class:`~sk_deepnet.callbacks.BatchRecord`, the documented
      read-only view of the current batch (inputs, pre-activations,
      activations, error signals, weights and gradients by layer); read it
      during the hook, copy what you keep: the next batch reuses its buffers;
    * ``network``: the estimator's private network, passed for callbacks
      written before the record existed; read the record instead;
    * ``epoch``: 0-based epoch, counted over the whole fit (and over
      warm-started fits and successive ``partial_fit`` calls, whereas the
      estimator's ``n_iter_`` counts the epochs of the last ``fit``); with
      ``optimizer="lbfgs"`` one epoch is one L-BFGS iteration; ``batch``:
      0-based batch within the epoch.

    Every hook takes ``**kwargs``: the training loop passes new keyword
    arguments to hooks that accept them, so that hooks can gain arguments
    without breaking callbacks. Hooks written without ``**kwargs`` (as in
    0.1) still work; they get the keyword arguments they name.
    """

    #: Name of the fitted estimator attribute that exposes this callback, if any.
    estimator_attribute = None

    def __init_subclass__(cls, **kwargs):
        """Give the subclass's hooks the base hooks' parameter documentation."""
        super().__init_subclass__(**kwargs)
        for name in HOOKS:
            override = cls.__dict__.get(name)
            if inspect.isfunction(override):
                override.__doc__ = inherited_doc(override, getattr(Callback, name))

    def on_fit_begin(
        self, estimator, X=None, y=None, sample_weight=None, train_indices=None,
        batch_size=None, **kwargs,
    ):
        """Called once when ``fit`` (or the first ``partial_fit``) starts training.

        Also when a continued fit starts with callbacks replaced by
        ``set_params(callbacks=...)``: the new copies start then.

        With ``early_stopping=True`` the fit holds out ``validation_fraction``
        of the rows; ``X``, ``y`` and ``sample_weight`` are then the training
        rows only (a copy of them, taken once for all the hooks that need it),
        unless the hook names ``train_indices`` in its signature: it gets the
        whole data and the indices of the training rows, and no copy is made.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The estimator being fitted.
        X : {ndarray, sparse matrix} of shape (n_samples, n_features), default=None
            The validated training data: the rows the fit trains on (all the
            rows of the call for a hook that names ``train_indices``).
        y : ndarray, default=None
            The validated targets of those rows.
        sample_weight : ndarray of shape (n_samples,) or None, default=None
            The validated sample weights of those rows (in the training
            dtype), None without weights. Passed as a keyword: hooks written
            without this parameter or ``**kwargs`` do not get it.
        train_indices : ndarray of int or None, default=None
            The rows of ``X`` the fit trains on, sorted; None if it trains on
            all of them (no ``early_stopping``). Passed only to hooks that name
            it in their signature (``**kwargs`` is not enough, as such a hook
            may have been written before this argument existed): they get
            all the rows in ``X``, ``y`` and ``sample_weight``.
        batch_size : int or None, default=None
            The rows of a training mini-batch: the ``batch_size`` parameter
            resolved for the training rows (all of them with
            ``batch_size=None`` and with ``optimizer="lbfgs"``). Passed as a
            keyword, as ``sample_weight``.
        **kwargs : dict
            Reserved for arguments later versions may add.
        """

    def on_epoch_begin(self, estimator, epoch, **kwargs):
        """Called before each epoch.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The estimator being fitted.
        epoch : int
            0-based epoch number.
        **kwargs : dict
            Reserved for arguments later versions may add.
        """

    def on_grad_computed(self, estimator, network, batch, record=None, **kwargs):
        """Called when a batch's gradients are computed, before clipping and the step.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The estimator being fitted.
        network : Network
            The private network (read ``record`` instead).
        batch : int
            0-based batch number within the epoch.
        record : BatchRecord, default=None
            The :class:`~sk_deepnet.callbacks.BatchRecord` of the batch, its
            gradients as computed (before clipping).
        **kwargs : dict
            Reserved for arguments later versions may add.
        """

    def on_batch_end(self, estimator, network, batch, loss, record=None, **kwargs):
        """Called after the optimizer step of a batch.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The estimator being fitted.
        network : Network
            The private network (read ``record`` instead).
        batch : int
            0-based batch number within the epoch.
        loss : float
            The batch's loss (before the step).
        record : BatchRecord, default=None
            The :class:`~sk_deepnet.callbacks.BatchRecord` of the batch, with
            the updated weights; its gradients are those of the step (after
            clipping).
        **kwargs : dict
            Reserved for arguments later versions may add.
        """

    def on_epoch_end(self, estimator, epoch, loss, **kwargs):
        """Called after each epoch.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The estimator being fitted.
        epoch : int
            0-based epoch number.
        loss : float
            The epoch's mean training loss.
        **kwargs : dict
            Reserved for arguments later versions may add.

        Returns
        -------
        stop : bool or None
            True to stop training after this epoch.
        """

    def on_fit_end(self, estimator, record=None, restored_epochs=None, diverged=False, **kwargs):
        """Called once when training ends (also after early stopping or divergence).

        ``partial_fit`` calls do not end a fit: their callbacks keep running
        until a fresh ``fit``, or a continued one after
        ``set_params(callbacks=...)``, replaces them.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The fitted estimator.
        record : BatchRecord, default=None
            The :class:`~sk_deepnet.callbacks.BatchRecord` of the last batch
            whose gradient was computed (None if there is none). A fit that
            stopped on a non-finite loss leaves that batch's gradient in it,
            with no ``on_grad_computed`` call.
        restored_epochs : int or None, default=None
            None if the fitted model is the one of the last epoch trained.
            With ``early_stopping=True``, when the fit restored the weights of
            an earlier epoch (the best validation score), the number of
            epochs those weights had trained, counted as the hooks' ``epoch``
            is (over the whole fit: ``len(estimator.loss_curve_)`` then).
            Passed as a keyword: hooks written without this parameter or
            ``**kwargs`` do not get it.
        diverged : bool, default=False
            Whether training stopped because the loss, the weights or batch
            normalization's running statistics became infinite or NaN. The
            estimator then keeps the last finite model with a
            ``DivergenceWarning``, or raises a ValueError (statistics that
            overflow, a loss not finite before any step). Passed as a
            keyword, as ``restored_epochs``.
        **kwargs : dict
            Reserved for arguments later versions may add.
        """


class ProbeCallback(Callback):
    """A callback that keeps rows of the training data (a probe batch).

    Training rows stay out of saved models (privacy, size): pickles carry
    the attributes named in ``_probe_attributes`` as None, and the next
    ``fit`` or ``partial_fit`` draws the probe again. A copy within the
    process (``clone`` of a fitted estimator, ``GridSearchCV``) keeps a copy
    of them. Attributes named in ``_rebuilt_attributes`` are not pickled at
    all: ``__setstate__`` rebuilds them from the published ones.
    """

    #: Attributes that hold training rows.
    _probe_attributes = ()
    #: Attributes that ``__setstate__`` rebuilds (work buffers, private copies).
    _rebuilt_attributes = ()

    def __getstate__(self):
        # A copy: on Python >= 3.11 the inherited __getstate__ returns the live
        # __dict__ itself, which must keep its buffers.
        state = dict(super().__getstate__())
        for name in self._rebuilt_attributes:
            state.pop(name, None)
        for name in self._probe_attributes:
            if name in state:
                state[name] = None
        return state

    def __deepcopy__(self, memo):
        # The pickled state without the probe, plus copies of the probe.
        duplicate = memo[id(self)] = type(self).__new__(type(self))
        duplicate.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        for name in self._probe_attributes:
            probe = self.__dict__.get(name)
            if probe is not None:
                setattr(duplicate, name, probe.copy())
        return duplicate
