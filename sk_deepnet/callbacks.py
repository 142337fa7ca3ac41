"""Callbacks: objects whose hooks the training loop calls as ``fit`` runs.

A callback is a plain estimator-like object (it has ``get_params``), so ``clone``
and ``GridSearchCV`` copy it like any other parameter, in the manner of skorch.
``fit`` never mutates the callbacks passed as the ``callbacks`` parameter: it
clones them at the start of a fresh fit and calls the hooks of the clones, which
it keeps in the fitted attribute ``callbacks_``. A callback that sets the class
attribute ``estimator_attribute`` (for instance ``"gradient_monitor_"``) is also
exposed as that fitted attribute of the estimator.

The hooks, in the order they fire::

    on_fit_begin(estimator, X, y)
    for each epoch:
        on_epoch_begin(estimator, epoch)
        for each mini-batch:
            on_grad_computed(estimator, network, batch)   # gradients ready, before
                                                          # clipping and the step
            on_batch_end(estimator, network, batch, loss) # after the optimizer step
        on_epoch_end(estimator, epoch, loss)               # return True to stop
    on_fit_end(estimator)

``network`` is the estimator's private network (flat ``params`` and ``grads``,
per-layer views ``coefs``/``coef_grads``, and ``last_batch`` with the inputs,
activations and back-propagated ``deltas`` of the current batch); read it, never
keep references to its buffers, which are reused by the next batch.
"""

from sklearn.base import BaseEstimator

__all__ = [
    "Callback",
    "GradientHealthWarning",
    "GradientMonitor",
    "make_gradient_health_scorer",
    "vanishing_ratio_scorer",
]


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


# Callbacks implemented in their own modules subclass Callback, so they are
# imported on first access (PEP 562): importing either module first then works.
_LAZY = {
    "GradientHealthWarning": "._gradient_monitor",
    "GradientMonitor": "._gradient_monitor",
    "make_gradient_health_scorer": "._gradient_monitor",
    "vanishing_ratio_scorer": "._gradient_monitor",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
