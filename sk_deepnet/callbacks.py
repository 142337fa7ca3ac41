"""Callbacks: objects whose hooks the training loop calls as ``fit`` runs.

A callback is a plain estimator-like object (it has ``get_params``), so ``clone``
and ``GridSearchCV`` copy it like any other parameter, in the manner of skorch.
``fit`` never mutates the callbacks passed as the ``callbacks`` parameter: it
clones them at the start of a fresh fit and calls the hooks of the clones, which
it keeps in the fitted attribute ``callbacks_``. A warm-started ``fit`` and
``partial_fit`` keep the clones running, unless ``callbacks`` was changed with
``set_params``: then the running clones are ended and clones of the new
callbacks start. A callback that sets the class
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

from ._callback_base import Callback
from ._curvature_monitor import CurvatureMonitor, make_curvature_scorer, never_saddle_scorer
from ._gradient_monitor import (
    GradientHealthWarning,
    GradientMonitor,
    make_gradient_health_scorer,
    vanishing_ratio_scorer,
)

__all__ = [
    "Callback",
    "CurvatureMonitor",
    "GradientHealthWarning",
    "GradientMonitor",
    "make_curvature_scorer",
    "make_gradient_health_scorer",
    "never_saddle_scorer",
    "vanishing_ratio_scorer",
]
