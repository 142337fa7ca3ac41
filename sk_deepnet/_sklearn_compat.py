"""Every private or experimental scikit-learn name sk_deepnet uses, in one place.

scikit-learn may move or change its private helpers (``_fit_context``,
``_param_validation``, ``_check_sample_weight``) and its experimental callback
API (``sklearn.callback``, >= 1.9) between releases; the rest of the package
imports them from here, so that a change is mended in this module alone.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import InvalidParameterError, Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin

    HAS_SKLEARN_CALLBACKS = True
except ImportError:  # pragma: no cover - depends on the installed scikit-learn
    HAS_SKLEARN_CALLBACKS = False

    class CallbackSupportMixin:
        """Placeholder: this scikit-learn has no ``sklearn.callback`` API."""


__all__ = [
    "HAS_SKLEARN_CALLBACKS",
    "CallbackSupportMixin",
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
]
