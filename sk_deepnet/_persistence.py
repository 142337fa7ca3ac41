"""Version stamps of pickled estimators.

``BaseDeepMLP.__getstate__`` records the sk_deepnet version in the pickled state
(``_sk_deepnet_version``) and ``__setstate__`` compares it with the running
version: a model pickled by another version still loads, with an
:class:`InconsistentVersionWarning`, as scikit-learn does for its own estimators.
The scikit-learn objects inside a model (e.g. the label binarizer) carry their
own ``_sklearn_version`` stamp and warn with scikit-learn's warning.
"""

import inspect

from . import _version
from ._warnings import warn_user
from .exceptions import InconsistentVersionWarning

VERSION_KEY = "_sk_deepnet_version"
UNKNOWN_VERSION = "unknown (pickled without a version stamp)"


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
    """The running sk_deepnet version (read at call time, so that a test may patch it)."""
    return _version.__version__


def stamp_version(state):
    """Add the running version to a ``__getstate__`` dict; return it."""
    state[VERSION_KEY] = current_version()
    return state


def check_version(estimator, state):
    """Pop the version stamp from a ``__setstate__`` dict; warn if it differs."""
    original = state.pop(VERSION_KEY, UNKNOWN_VERSION)
    current = current_version()
    if original != current:
        warn_user(
            InconsistentVersionWarning(
                estimator_name=type(estimator).__name__,
                current_version=current,
                original_version=original,
            ),
            InconsistentVersionWarning,
        )


def add_new_parameters(estimator):
    """Give a model pickled by an earlier version the parameters added since, at their defaults.

    Unpickling restores the attributes the model had; a constructor parameter
    added later is missing, and ``get_params`` (so ``repr``, ``clone``,
    ``GridSearchCV``) and the validation of a continued fit raised
    AttributeError. The defaults of this version fill them (what the model
    does is in its fitted state: these only steer later fits).

    Parameters
    ----------
    estimator : BaseEstimator
        The model being unpickled, after its state is restored.
    """
    for name, parameter in inspect.signature(type(estimator).__init__).parameters.items():
        if name != "self" and parameter.default is not inspect.Parameter.empty:
            estimator.__dict__.setdefault(name, parameter.default)
