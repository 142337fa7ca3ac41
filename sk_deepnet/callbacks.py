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

    on_fit_begin(estimator, X, y, sample_weight=..., batch_size=..., **kwargs)
    for each epoch:
        on_epoch_begin(estimator, epoch, **kwargs)
        for each mini-batch:
            on_grad_computed(estimator, network, batch, record=..., **kwargs)
                # gradients ready, before clipping and the step
            on_batch_end(estimator, network, batch, loss, record=..., **kwargs)
                # after the optimizer step
        on_epoch_end(estimator, epoch, loss, **kwargs)   # return True to stop
    on_fit_end(estimator, record=..., restored_epochs=..., diverged=..., **kwargs)

``on_fit_begin`` gets the training rows: with ``early_stopping=True`` not those
held out for validation (a copy of the others), unless the hook names
``train_indices``: then it gets all the rows and the indices of the training
ones, with no copy. ``batch_size`` is the rows of a training mini-batch.
``on_fit_end`` sees the final model; ``restored_epochs`` is None, or the epoch
count of the earlier weights that early stopping restored; ``diverged`` says
whether training stopped on a non-finite loss, weights or statistics.

``record`` is a :class:`BatchRecord`: the documented, read-only view of the
current batch (inputs, pre-activations, activations, error signals, weights and
gradients by layer). Read it during the hook and copy what you keep: the next
batch reuses its buffers. ``network``, the estimator's private network, is
still passed for callbacks written for 0.1; new callbacks read the record.
Hooks take ``**kwargs`` so that later versions can pass more; a hook written
without it gets only the keyword arguments it names. See the user guide,
"Writing a callback".
"""

from ._batch_record import BatchRecord
from ._callback_base import Callback
from ._curvature_monitor import CurvatureMonitor, make_curvature_scorer, never_saddle_scorer
from ._gradient_monitor import (
    GradientHealthWarning,
    GradientMonitor,
    make_gradient_health_scorer,
    vanishing_ratio_scorer,
)

from ._persistence import publish

publish(__name__, BatchRecord, Callback, CurvatureMonitor, GradientMonitor)

__all__ = [
    "BatchRecord",
    "Callback",
    "CurvatureMonitor",
    "GradientHealthWarning",
    "GradientMonitor",
    "make_curvature_scorer",
    "make_gradient_health_scorer",
    "never_saddle_scorer",
    "vanishing_ratio_scorer",
]
