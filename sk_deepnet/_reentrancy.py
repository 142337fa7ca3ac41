"""Refuse a ``fit`` or ``partial_fit`` of an estimator that is being fitted.

A callback's hook gets the estimator being fitted; a hook that calls its
``fit`` (e.g. a naive "restart on plateau" callback) would train a new network
under the running loop, which then goes on with bookkeeping and callbacks that
no longer exist. The inner call is refused before it changes anything; its
error stops the outer fit as any hook's error does.
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
        with _LOCK:
            if key in _RUNNING:
                raise RuntimeError(
                    f"fit/partial_fit cannot be called on the {type(self).__name__} "
                    "being fitted, from inside its callback hook (or from another "
                    "thread while it trains). To train another model from a hook, "
                    "fit a clone: sklearn.base.clone(estimator).fit(X, y)."
                )
            _RUNNING.add(key)
        try:
            return method(self, *args, **kwargs)
        finally:
            with _LOCK:
                _RUNNING.discard(key)

    return wrapper
