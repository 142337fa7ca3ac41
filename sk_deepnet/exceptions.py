"""Warnings raised by sk_deepnet (as :mod:`sklearn.exceptions` for scikit-learn).

Every warning class of the package lives here, so that any module can raise
one without importing another (no import cycles), and a user can filter them
from one place, e.g.
``warnings.simplefilter("error", sk_deepnet.exceptions.DivergenceWarning)``.
They stay importable from where they were first published
(``sk_deepnet``, ``sk_deepnet.callbacks``, ``sk_deepnet.pretraining``).
"""

from sklearn.exceptions import InconsistentVersionWarning as _SklearnVersionWarning

__all__ = [
    "DivergenceWarning",
    "FitInterruptedWarning",
    "GradientHealthWarning",
    "InconsistentVersionWarning",
    "PretrainingWarning",
]


class DivergenceWarning(RuntimeWarning):
    """Training diverged (non-finite loss or weights); the last finite state was kept."""


class FitInterruptedWarning(UserWarning):
    """``fit`` was interrupted (KeyboardInterrupt); the last complete epoch was kept.

    If no epoch of the call completed, the model is the one the call started
    from: the untrained initialization of a fresh fit.
    """


class GradientHealthWarning(UserWarning):
    """Gradients vanish or explode (emitted by :class:`~sk_deepnet.callbacks.GradientMonitor`).

    Turn it into an error with
    ``warnings.simplefilter("error", GradientHealthWarning)``: ``fit`` then
    raises it at the end of the training, and the estimator keeps the trained
    model (fitted, it predicts; ``gradient_monitor_`` holds the records).
    After ``partial_fit`` calls the monitor diagnoses when the call that
    replaces it (a fresh ``fit``, or any call after
    ``set_params(callbacks=...)``) ends it: that call raises before it trains,
    once, and the model of the ``partial_fit`` calls is kept.
    """


class PretrainingWarning(UserWarning):
    """The pretrained RBM features are not carried over exactly into the network."""


class InconsistentVersionWarning(_SklearnVersionWarning):
    """An estimator is unpickled with another sk_deepnet version than pickled it.

    A subclass of :class:`sklearn.exceptions.InconsistentVersionWarning`, so that
    ``warnings.filterwarnings("error", category=InconsistentVersionWarning)``
    with either class refuses such pickles.

    Parameters
    ----------
    estimator_name : str
        Class name of the unpickled estimator.
    current_version : str
        The running sk_deepnet version.
    original_version : str
        The sk_deepnet version that pickled the estimator.
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        UserWarning.__init__(self)
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from sk_deepnet "
            f"version {self.original_version} when using version "
            f"{self.current_version}. This might lead to breaking code or invalid "
            "results. Use at your own risk; better, refit the model with this "
            "version (or load it with the version that saved it)."
        )
