"""The Callback base class (kept apart so that callback modules can subclass it)."""

import functools

from sklearn.base import BaseEstimator

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

    def on_fit_begin(self, estimator, X=None, y=None, **kwargs):
        """Called once when ``fit`` (or the first ``partial_fit``) starts training.

        Also when a continued fit starts with callbacks replaced by
        ``set_params(callbacks=...)``: the new copies start then.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The estimator being fitted.
        X : {ndarray, sparse matrix} of shape (n_samples, n_features), default=None
            The validated training data.
        y : ndarray, default=None
            The validated targets.
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

    def on_grad_computed(self, estimator, network, batch, **kwargs):
        """Called when a batch's gradients are computed, before clipping and the step.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The estimator being fitted.
        network : Network
            The private network (read ``record`` instead).
        batch : int
            0-based batch number within the epoch.
        **kwargs : dict
            ``record``: the :class:`~sk_deepnet.callbacks.BatchRecord` of the
            batch, its gradients as computed (before clipping).
        """

    def on_batch_end(self, estimator, network, batch, loss, **kwargs):
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
        **kwargs : dict
            ``record``: the :class:`~sk_deepnet.callbacks.BatchRecord` of the
            batch, with the updated weights; its gradients are those of the
            step (after clipping).
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

    def on_fit_end(self, estimator, **kwargs):
        """Called once when training ends (also after early stopping or divergence).

        ``partial_fit`` calls do not end a fit: their callbacks keep running
        until a fresh ``fit``, or a continued one after
        ``set_params(callbacks=...)``, replaces them.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The fitted estimator.
        **kwargs : dict
            ``record``: the :class:`~sk_deepnet.callbacks.BatchRecord` of the
            last batch whose gradient was computed (None if there is none).
            A fit that stopped on a non-finite loss leaves that batch's
            gradient in it, with no ``on_grad_computed`` call.
        """
