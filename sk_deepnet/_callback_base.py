"""The Callback base class (kept apart so that callback modules can subclass it)."""

import functools

from sklearn.base import BaseEstimator


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


class Callback(BaseEstimator):
    """Base class of training callbacks; every hook defaults to doing nothing.

    Subclass it and override the hooks you need. ``__init__`` must only store
    its parameters (scikit-learn rules), because ``fit`` clones the callback
    and calls the hooks of the clone. The arguments shared by the hooks:

    * ``estimator``: the DeepMLPClassifier or DeepMLPRegressor being fitted;
    * ``network``: its private network (flat ``params`` and ``grads``, per-layer
      views ``coefs``/``coef_grads``, and ``last_batch``, the current batch's
      inputs, activations and back-propagated ``deltas``); read it, never keep
      references to its buffers, which the next batch reuses;
    * ``epoch``: 0-based epoch, counted over the whole fit (and over successive
      ``partial_fit`` calls); ``batch``: 0-based batch within the epoch.
    """

    #: Name of the fitted estimator attribute that exposes this callback, if any.
    estimator_attribute = None

    def on_fit_begin(self, estimator, X=None, y=None):
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
        """

    def on_epoch_begin(self, estimator, epoch):
        """Called before each epoch.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The estimator being fitted.
        epoch : int
            0-based epoch number.
        """

    def on_grad_computed(self, estimator, network, batch):
        """Called when a batch's gradients are computed, before clipping and the step.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The estimator being fitted.
        network : Network
            The network, with ``network.grads`` holding the batch's gradient.
        batch : int
            0-based batch number within the epoch.
        """

    def on_batch_end(self, estimator, network, batch, loss):
        """Called after the optimizer step of a batch.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The estimator being fitted.
        network : Network
            The network, with its updated ``params``; ``network.grads`` still
            holds the batch's gradient (after clipping).
        batch : int
            0-based batch number within the epoch.
        loss : float
            The batch's loss (before the step).
        """

    def on_epoch_end(self, estimator, epoch, loss):
        """Called after each epoch.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The estimator being fitted.
        epoch : int
            0-based epoch number.
        loss : float
            The epoch's mean training loss.

        Returns
        -------
        stop : bool or None
            True to stop training after this epoch.
        """

    def on_fit_end(self, estimator):
        """Called once when training ends (also after early stopping or divergence).

        ``partial_fit`` calls do not end a fit: their callbacks keep running
        until a fresh ``fit``, or a continued one after
        ``set_params(callbacks=...)``, replaces them.

        Parameters
        ----------
        estimator : DeepMLPClassifier or DeepMLPRegressor
            The fitted estimator.
        """
