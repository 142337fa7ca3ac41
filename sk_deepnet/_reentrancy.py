"""Refuse a ``fit`` or ``partial_fit`` of an estimator that is being fitted.

A callback's hook gets the estimator being fitted; a hook that calls its
``fit`` (e.g. a naive "restart on plateau" callback) would train a new network
under the running loop, which then goes on with bookkeeping and callbacks that
no longer exist. The inner call is refused before it changes anything (the
guard runs outside scikit-learn's ``_fit_context``, whose exit would end the
outer fit's scikit-learn callbacks); its error stops the outer fit as any
hook's error does. ``pretrain_fit`` is guarded too. A shallow copy of the
estimator shares its running callbacks but not its id: fit a clone instead.
``set_params`` asks :func:`is_fitting` to refuse a change from a hook as well:
the running fit has read its parameters already.
"""

import functools
import threading

#: The ids of the estimators whose fit is running (an id is unique while it runs).
_RUNNING = set()
_LOCK = threading.Lock()


def not_reentrant(method):
    """Decorate an estimator's training method: a nested call raises RuntimeError."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        key = id(self)
        added = False
        try:
            with _LOCK:
                if key in _RUNNING:
                    raise RuntimeError(
                        f"{method.__name__} cannot be called on the "
                        f"{type(self).__name__} being fitted, from inside its callback "
                        "hook (or from another thread while it trains). To train "
                        "another model from a hook, fit a clone (not a copy, which "
                        "shares the running callbacks): "
                        "sklearn.base.clone(estimator).fit(X, y)."
                    )
                _RUNNING.add(key)
                added = True
            return method(self, *args, **kwargs)
        finally:
            # Only this call's own key: an interrupt anywhere above leaves none behind.
            if added:
                with _LOCK:
                    _RUNNING.discard(key)

    return wrapper


def is_fitting(estimator):
    """Whether ``estimator``'s ``fit``, ``partial_fit`` or ``pretrain_fit`` is running."""
    with _LOCK:
        return id(estimator) in _RUNNING
