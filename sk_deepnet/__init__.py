"""sk_deepnet: deep multilayer-perceptron estimators for scikit-learn.

The public estimators are :class:`DeepMLPClassifier` and :class:`DeepMLPRegressor`;
:mod:`sk_deepnet.optimizers`, :mod:`sk_deepnet.schedules`,
:mod:`sk_deepnet.callbacks`, :mod:`sk_deepnet.pretraining`,
:mod:`sk_deepnet.exceptions` and
:mod:`sk_deepnet.plotting` are the public modules.
"""

from ._estimators import DeepMLPClassifier, DeepMLPRegressor
from ._version import __version__
from .exceptions import (
    DivergenceWarning,
    FitInterruptedWarning,
    InconsistentVersionWarning,
)

__all__ = [
    "DeepMLPClassifier",
    "DeepMLPRegressor",
    "DivergenceWarning",
    "FitInterruptedWarning",
    "InconsistentVersionWarning",
    "__version__",
]
