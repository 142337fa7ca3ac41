"""Every private or experimental scikit-learn name sk_deepnet uses, in one place.

scikit-learn may move or change its private helpers (``_fit_context``,
``_param_validation``, ``_check_sample_weight``, ``_num_samples``,
``_num_features``, ``_get_feature_names``), its experimental callback
API (``sklearn.callback``, >= 1.9) and the private method of the HTML
parameter table (``BaseEstimator._get_params_html``, see
:class:`NestedDefaultsHTMLMixin`) between releases; the rest of the package
imports them from here, so that a change is mended in this module alone.
"""

import inspect
from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
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


class NestedDefaultsHTMLMixin:
    """The HTML parameter table marks a nested object's parameter user-set only if changed.

    scikit-learn's ``BaseEstimator._get_params_html`` (a private method, read
    by the HTML repr in Jupyter) lists the parameters of a nested object, such
    as ``optimizer=Adam(learning_rate=0.1)``, as ``optimizer__*`` rows and marks
    them all user-set, being no keywords of the estimator's ``__init__``; the
    rows are compared here with the defaults of the nested object's own
    ``__init__`` instead. A scikit-learn whose table has no ``non_default``
    keeps its table as it is.
    """

    def _get_params_html(self, *args, **kwargs):
        # Whatever arguments scikit-learn passes, and its table unchanged
        # whenever its form is not the one known here.
        table = super()._get_params_html(*args, **kwargs)
        non_default = getattr(table, "non_default", None)
        if not non_default or not isinstance(getattr(table, "data", None), dict):
            return table
        try:
            return _mark_nested_defaults(table, non_default, self.get_params(deep=True))
        except (AttributeError, KeyError, TypeError, ValueError):
            return table


def _mark_nested_defaults(table, non_default, params):
    """``table`` with its rows at their nested object's default no longer user-set."""
    kept = tuple(name for name in non_default if not _nested_default(params, name))
    if kept != tuple(non_default):
        rows = dict(table.data)  # user-set rows first, as scikit-learn orders them
        table.data = {name: rows[name] for name in kept}
        table.data.update((name, value) for name, value in rows.items() if name not in kept)
        table.non_default = kept
    return table


def _nested_default(params, name):
    """Whether the row ``name`` (``"<param>__<key>"``) holds its nested object's default."""
    owner, nested, key = name.rpartition("__")
    if not nested or owner not in params:
        return False
    parameter = inspect.signature(type(params[owner])).parameters.get(key)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return False
    value, default = params[name], parameter.default
    if hasattr(value, "get_params"):  # an object: its own rows say what changed
        return type(value) is type(default)
    try:  # as scikit-learn compares a parameter with its default
        return bool(np.array_equal(value, default)) or (value != value and default != default)
    except Exception:  # noqa: BLE001 - values that cannot be compared: user-set
        return False


__all__ = [
    "HAS_SKLEARN_CALLBACKS",
    "CallbackSupportMixin",
    "InvalidParameterError",
    "NestedDefaultsHTMLMixin",
    "StrictIntegerMixin",
    "Interval",
    "Options",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "_get_feature_names",
    "_num_features",
    "_num_samples",
    "validate_parameter_constraints",
]
