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

The registry of running calls is only a fast filter: a Ctrl-C can land on any
line, also between registering a call and entering its ``try``, or inside the
``finally`` that unregisters it, and leave an entry behind. So an entry counts
only while a guarded call on that very estimator is on some thread's stack
(:func:`_guarded_call_running`); a stale one is dropped. Without that check, an
interrupt at the wrong moment left the estimator refusing every later ``fit``
as "being fitted", and so did any new object that Python gave the same id.
"""

import functools
import sys
import threading

#: The ids of the estimators whose guarded call may be running (a fast filter,
#: see the module docstring: an id counts only if the call is on a stack).
_RUNNING = set()
_LOCK = threading.Lock()


def not_reentrant(method):
    """Decorate an estimator's training method: a nested call raises RuntimeError."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        return _guarded_call(method, self, args, kwargs)

    return wrapper


def _guarded_call(method, estimator, args, kwargs):
    """Run ``method`` unless a guarded call on ``estimator`` is running."""
    key = id(estimator)
    with _LOCK:
        if key in _RUNNING and _guarded_call_running(estimator, sys._getframe()):
            raise RuntimeError(
                f"{method.__name__} cannot be called on the "
                f"{type(estimator).__name__} being fitted, from inside its callback "
                "hook (or from another thread while it trains). To train "
                "another model from a hook, fit a clone (not a copy, which "
                "shares the running callbacks): "
                "sklearn.base.clone(estimator).fit(X, y)."
            )
        _RUNNING.add(key)
    try:
        return method(estimator, *args, **kwargs)
    finally:
        _RUNNING.discard(key)  # one atomic set operation; if skipped, left stale


def _guarded_call_running(estimator, own_frame=None):
    """Whether a :func:`_guarded_call` on ``estimator``, other than the one in
    ``own_frame``, is on the stack of any thread.

    Walked only when the registry has the estimator's id: a nested or
    concurrent call (to refuse) or an entry left behind by an interrupt.
    """
    for frame in sys._current_frames().values():
        while frame is not None:
            if (
                frame.f_code is _guarded_call.__code__
                and frame is not own_frame
                and frame.f_locals.get("estimator") is estimator
            ):
                return True
            frame = frame.f_back
    return False


def is_fitting(estimator):
    """Whether ``estimator``'s ``fit``, ``partial_fit`` or ``pretrain_fit`` is running."""
    key = id(estimator)
    with _LOCK:
        if key not in _RUNNING:
            return False
        if _guarded_call_running(estimator):
            return True
        _RUNNING.discard(key)  # left behind by an interrupt: drop it
        return False
