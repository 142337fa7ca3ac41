"""Every private or experimental scikit-learn name sk_deepnet uses, in one place.

scikit-learn may move or change its private helpers (``_fit_context``,
``_param_validation``, ``_check_sample_weight``, ``_num_samples``,
``_num_features``, ``_get_feature_names``) and its experimental callback
API (``sklearn.callback``, >= 1.9) between releases; the rest of the package
imports them from here, so that a change is mended in this module alone.
"""

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, InvalidParameterError, Options, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    _get_feature_names,
    _num_features,
    _num_samples,
)

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin

    HAS_SKLEARN_CALLBACKS = True
except ImportError:  # pragma: no cover - depends on the installed scikit-learn
    HAS_SKLEARN_CALLBACKS = False

    class CallbackSupportMixin:
        """Placeholder: this scikit-learn has no ``sklearn.callback`` API."""


class StrictIntegerMixin:
    """Refuse a bool where an int parameter is expected (``depth=True``).

    ``bool`` is an ``Integral``, so scikit-learn's ``Interval(Integral, ...)``
    accepts ``True`` as 1 and ``False`` as 0, silently; so would a sequence
    parameter such as ``width=[64, True]``. A parameter whose constraints also
    allow ``"boolean"`` keeps accepting bools.
    """

    def _validate_params(self):
        super()._validate_params()
        params = self.get_params(deep=False)
        for name, constraints in self._parameter_constraints.items():
            wants_int = any(
                isinstance(c, Interval) and c.type is Integral for c in constraints
            )
            if not wants_int or "boolean" in constraints:
                continue
            value = params.get(name)
            items = value if isinstance(value, (list, tuple, np.ndarray)) else [value]
            if any(isinstance(item, (bool, np.bool_)) for item in items):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must not be a "
                    f"bool: True and False would silently mean 1 and 0. Got {value!r} "
                    "instead."
                )


__all__ = [
    "HAS_SKLEARN_CALLBACKS",
    "CallbackSupportMixin",
    "InvalidParameterError",
    "StrictIntegerMixin",
    "Interval",
    "Options",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "_get_feature_names",
    "_num_features",
    "_num_samples",
]
