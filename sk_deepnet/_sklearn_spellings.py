"""Helpful errors for scikit-learn's MLP spellings.

A user coming from ``MLPClassifier`` writes ``hidden_layer_sizes=(64, 32)`` or
``solver="sgd"`` out of habit. Python's own error ("__init__() got an
unexpected keyword argument") names neither our parameter nor the migration
guide; these checks do. The keyword check has to run when the estimator is
made (``__new__``: ``__init__`` only stores, as scikit-learn requires, and
``clone``, ``get_params`` and pickling never pass these names); the value
checks run in ``fit``, with the rest of the parameter validation.
"""

from numbers import Integral

import numpy as np

from ._sklearn_compat import InvalidParameterError
from ._warnings import warn_user

GUIDE = (
    "See 'Coming from MLPClassifier' in the user guide "
    "(doc/user_guide/coming_from_mlp.rst) for the whole translation."
)

#: scikit-learn's learning-rate schedule names, which it passes as ``learning_rate``.
SCHEDULE_NAMES = ("constant", "invscaling", "adaptive")


def _positive_int(size):
    return isinstance(size, Integral) and not isinstance(size, bool) and size > 0


def _hidden_layer_sizes(value):
    sizes = [value] if isinstance(value, Integral) else list(np.ravel(value))
    if not sizes:
        return "depth=0 (a linear model)"
    if not all(map(_positive_int, sizes)):
        raise ValueError("not a size of positive ints: no translation")
    sizes = [int(s) for s in sizes]
    if len(set(sizes)) == 1:
        return f"depth={len(sizes)}, width={sizes[0]}"
    return f"depth={len(sizes)}, width={sizes}"


def _solver(value):
    if value not in SKLEARN_SOLVERS:
        raise ValueError("not one of scikit-learn's solvers: no translation")
    if value == "sgd":
        return (
            "optimizer='nesterov' (scikit-learn's sgd with its default "
            "nesterovs_momentum=True), optimizer='momentum' "
            "(nesterovs_momentum=False) or optimizer='sgd' (momentum=0); "
            "their learning_rate='auto' is 0.01 (PyTorch's default), ten times "
            "scikit-learn's learning_rate_init=0.001: pass learning_rate=0.001 "
            "for scikit-learn's step"
        )
    return f"optimizer={value!r}"


def _nesterovs_momentum(value):
    name = "nesterov" if value else "momentum"
    return f"optimizer={name!r} (the momentum variant is chosen by the optimizer's name)"


#: The values of scikit-learn's ``solver``.
SKLEARN_SOLVERS = ("lbfgs", "sgd", "adam")

#: scikit-learn keyword -> what replaces it, for a value that has no translation.
REPLACEMENTS = {
    "hidden_layer_sizes": (
        "depth (the number of hidden layers) and width (their sizes, positive "
        "ints, or one int for all)"
    ),
    "solver": (
        "optimizer (scikit-learn's solvers 'lbfgs', 'sgd' and 'adam' are "
        "optimizer='lbfgs', 'nesterov' and 'adam'; the parameter's "
        "documentation lists the others)"
    ),
}

#: scikit-learn keyword -> the translation of its value into our parameters.
TRANSLATIONS = {
    "hidden_layer_sizes": _hidden_layer_sizes,
    "solver": _solver,
    "learning_rate_init": lambda value: f"learning_rate={value!r}",
    "nesterovs_momentum": _nesterovs_momentum,
}


def check_sklearn_keywords(estimator_name, params, method):
    """Raise a TypeError naming our parameter for a scikit-learn-only keyword.

    Parameters
    ----------
    estimator_name : str
        The class whose ``method`` was called.
    params : dict
        The keyword arguments given.
    method : str
        ``"__init__"`` or ``"set_params"``, for the message.
    """
    for name, translate in TRANSLATIONS.items():
        if name in params:
            try:
                suggestion = translate(params[name])
            except (TypeError, ValueError):  # a value we cannot translate
                suggestion = REPLACEMENTS.get(name, f"the parameter that replaces {name}")
            raise TypeError(
                f"{estimator_name}.{method}() got scikit-learn's MLP keyword "
                f"{name}={params[name]!r}, which sk_deepnet spells differently: "
                f"use {suggestion}. {GUIDE}"
            )


def check_sklearn_values(estimator):
    """Raise for scikit-learn's schedule names given as ``learning_rate``.

    Called before scikit-learn's parameter validation, whose generic message
    would not say what to write instead.
    """
    rate = estimator.learning_rate
    if isinstance(rate, str) and rate in SCHEDULE_NAMES:
        raise InvalidParameterError(
            f"learning_rate={rate!r} is scikit-learn's name of a learning-rate "
            f"schedule; here the schedule is lr_schedule={rate!r}, and "
            "learning_rate is the initial step size (scikit-learn's "
            f"learning_rate_init, a float or 'auto'). {GUIDE}"
        )


def warn_sgd_momentum(estimator):
    """Warn that ``optimizer="sgd"`` ignores a momentum set above 0.

    scikit-learn's ``solver="sgd"`` uses ``momentum`` (0.9 by default), so
    ``optimizer="sgd", momentum=0.9`` is the rename a user tries; here plain
    SGD takes no momentum, and would train without it, silently.
    """
    momentum = estimator.momentum
    if not (isinstance(estimator.optimizer, str) and estimator.optimizer == "sgd"):
        return
    if isinstance(momentum, str) or momentum == 0:
        return
    warn_user(
        f"optimizer='sgd' is plain gradient descent: momentum={momentum!r} is "
        "ignored. scikit-learn's solver='sgd' with momentum is "
        "optimizer='nesterov' here (its default nesterovs_momentum=True), or "
        f"optimizer='momentum' (nesterovs_momentum=False). {GUIDE}",
        UserWarning,
    )
