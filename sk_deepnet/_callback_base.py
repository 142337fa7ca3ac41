"""The Callback base class (kept apart so that callback modules can subclass it)."""

from sklearn.base import BaseEstimator


class Callback(BaseEstimator):
    """Base class of training callbacks; every hook defaults to doing nothing."""

    #: Name of the fitted estimator attribute that exposes this callback, if any.
    estimator_attribute = None

    def on_fit_begin(self, estimator, X=None, y=None):
        """Called once when ``fit`` (or the first ``partial_fit``) starts training."""

    def on_epoch_begin(self, estimator, epoch):
        """Called before each epoch (``epoch`` counts from 0 over the whole fit)."""

    def on_grad_computed(self, estimator, network, batch):
        """Called when a batch's gradients are computed, before the optimizer step."""

    def on_batch_end(self, estimator, network, batch, loss):
        """Called after the optimizer step of a batch; ``loss`` is the batch loss."""

    def on_epoch_end(self, estimator, epoch, loss):
        """Called after each epoch with its mean training loss; return True to stop."""

    def on_fit_end(self, estimator):
        """Called once when training ends (also after early stopping or divergence)."""
