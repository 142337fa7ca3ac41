"""Version stamps of pickled estimators.

``BaseDeepMLP.__getstate__`` records the sk_deepnet version in the pickled state
(``_sk_deepnet_version``) and ``__setstate__`` compares it with the running
version: a model pickled by another version still loads, with an
:class:`InconsistentVersionWarning`, as scikit-learn does for its own estimators.
The scikit-learn objects inside a model (e.g. the label binarizer) carry their
own ``_sklearn_version`` stamp and warn with scikit-learn's warning.
"""

import warnings

from sklearn.exceptions import InconsistentVersionWarning as _SklearnVersionWarning

VERSION_KEY = "_sk_deepnet_version"
UNKNOWN_VERSION = "unknown (pickled without a version stamp)"


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


def publish(module_name, *classes):
    """Record ``classes`` under the public module ``module_name`` that exports them.

    Pickle and skops name a class by its ``__module__``: the public path keeps
    saved models loadable when private modules are reorganized, and is the
    type a skops user trusts (``sk_deepnet.DeepMLPClassifier``, not
    ``sk_deepnet._estimators.DeepMLPClassifier``). Models pickled under the
    private path still load: those modules still define the classes.
    """
    for cls in classes:
        cls.__module__ = module_name


def current_version():
    from . import __version__  # read at call time: the package is fully imported

    return __version__


def stamp_version(state):
    """Add the running version to a ``__getstate__`` dict; return it."""
    state[VERSION_KEY] = current_version()
    return state


def check_version(estimator, state):
    """Pop the version stamp from a ``__setstate__`` dict; warn if it differs."""
    original = state.pop(VERSION_KEY, UNKNOWN_VERSION)
    current = current_version()
    if original != current:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=type(estimator).__name__,
                current_version=current,
                original_version=original,
            ),
            stacklevel=3,
        )
