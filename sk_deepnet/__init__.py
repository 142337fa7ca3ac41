"""sk_deepnet: deep multilayer-perceptron estimators for scikit-learn.

The public estimators are :class:`DeepMLPClassifier` and :class:`DeepMLPRegressor`;
:mod:`sk_deepnet.optimizers`, :mod:`sk_deepnet.schedules`,
:mod:`sk_deepnet.callbacks`, :mod:`sk_deepnet.pretraining`,
:mod:`sk_deepnet.exceptions` and
:mod:`sk_deepnet.plotting` are the public modules. :func:`set_config` and
:func:`config_context` set how many BLAS threads they use.
"""

from ._config import config_context, get_config, set_config
from ._estimators import DeepMLPClassifier, DeepMLPRegressor
from ._version import __version__
from .exceptions import (
    DivergenceWarning,
    FitInterruptedWarning,
    InconsistentVersionWarning,
)
from ._persistence import publish

publish(__name__, DeepMLPClassifier, DeepMLPRegressor)

__all__ = [
    "DeepMLPClassifier",
    "DeepMLPRegressor",
    "DivergenceWarning",
    "FitInterruptedWarning",
    "InconsistentVersionWarning",
    "config_context",
    "get_config",
    "set_config",
    "__version__",
]
