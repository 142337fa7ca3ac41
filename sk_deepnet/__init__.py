"""sk_deepnet: deep multilayer-perceptron estimators for scikit-learn.

The public estimators are :class:`DeepMLPClassifier` and :class:`DeepMLPRegressor`;
:mod:`sk_deepnet.optimizers`, :mod:`sk_deepnet.schedules`,
:mod:`sk_deepnet.callbacks`, :mod:`sk_deepnet.pretraining` and
:mod:`sk_deepnet.plotting` are the public modules.
"""

from ._estimators import (
    DeepMLPClassifier,
    DeepMLPRegressor,
    DivergenceWarning,
    FitInterruptedWarning,
)
from ._persistence import InconsistentVersionWarning, publish

__version__ = "0.2.0.dev0"

publish(__name__, DeepMLPClassifier, DeepMLPRegressor)

__all__ = [
    "DeepMLPClassifier",
    "DeepMLPRegressor",
    "DivergenceWarning",
    "FitInterruptedWarning",
    "InconsistentVersionWarning",
    "__version__",
]
