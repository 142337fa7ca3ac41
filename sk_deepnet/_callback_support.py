"""Bridge to scikit-learn's experimental callback API (``sklearn.callback``, >= 1.9).

Where it exists, the estimators inherit ``set_callbacks`` from its
``CallbackSupportMixin`` and report one task per epoch, so that e.g.
``DeepMLPClassifier().set_callbacks(ProgressBar())`` shows training progress.
On older scikit-learn the mixin is empty and the hooks do nothing.
"""

from ._sklearn_compat import HAS_SKLEARN_CALLBACKS, CallbackSupportMixin  # noqa: F401


class SklearnCallbackHooks:
    """Open a root task for the fit and one subtask per epoch, when callbacks are set.

    The hooks get the training data ``X, y`` as the fit was given them (a
    DataFrame keeps its feature names), and a task's end a model ready to
    predict (``fitted_estimator``: a shallow copy of the estimator). The copy
    shares the estimator's network: it predicts with the weights of the end
    of that task while the hook runs (``ScoringMonitor`` scores at once), not
    once training has gone on.
    """

    def __init__(self, estimator, max_epochs, X=None, y=None):
        self.context = None
        self.epoch_context = None
        self.data = dict(estimator=estimator, X=X, y=y)
        if HAS_SKLEARN_CALLBACKS and getattr(estimator, "_skl_callbacks", None):
            self.context = estimator._init_callback_context(max_subtasks=max_epochs)
            self.context.call_on_fit_task_begin(**self.data)

    def epoch_begin(self):
        if self.context is not None:
            self.epoch_context = self.context.subcontext(task_name="epoch")
            self.epoch_context.call_on_fit_task_begin(**self.data)

    def _end(self, context):
        # The estimator is fitted from the first epoch on: nothing to reconstruct.
        return context.call_on_fit_task_end(**self.data, reconstruction_attributes={})

    def epoch_end(self):
        """End the epoch's task; return True if a callback asks to stop."""
        if self.epoch_context is None:
            return False
        stop = self._end(self.epoch_context)
        self.epoch_context = None
        return bool(stop)

    def fit_end(self):
        if self.context is not None:
            if self.epoch_context is not None:  # an epoch cut short
                self._end(self.epoch_context)
            self._end(self.context)
