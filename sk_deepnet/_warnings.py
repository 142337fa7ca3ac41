"""``warn_user``: ``warnings.warn`` with the stack level of the user's call.

Also ``or_list`` and ``describe_changes``, which word lists in the package's
messages.

A warning raised deep in a fit (the training loop, a callback hook, the RBM
pretraining) should point at the line of user code that called ``fit``,
``partial_fit``, ``clone`` or ``pickle.load``, whatever the depth of the
package's own frames. ``warn_user`` counts those frames, and scikit-learn's
and joblib's, which stand between the user and the package (``_fit_context``
around every ``fit``; ``cross_val_score`` or ``GridSearchCV`` calling
``clone`` and ``fit``), and passes the result as ``stacklevel``. In a
joblib worker process (``n_jobs=2``) no frame is the user's: the warning
then points at the worker's entry point.
"""

import os
import sys
import warnings

import joblib
import sklearn


def _directory(module):
    return os.path.dirname(os.path.abspath(module.__file__)) + os.sep


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# The packages whose frames stand between a user's call and the package's
# code: the user's line is the one that called into scikit-learn (a search,
# cross-validation, a pipeline), or into joblib.
_INTERNAL_DIRS = (_PACKAGE_DIR, _directory(sklearn), _directory(joblib))


def _internal(filename):
    return filename.startswith(_INTERNAL_DIRS)


def user_stacklevel():
    """The ``stacklevel`` of the first frame outside sk_deepnet, seen from the caller
    of :func:`warn_user` (1 is that caller's frame)."""
    frame = sys._getframe(2)  # the caller of warn_user()
    level = 1
    while frame is not None and _internal(os.path.abspath(frame.f_code.co_filename)):
        frame = frame.f_back
        level += 1
    return level


def warn_user(message, category=UserWarning):
    """``warnings.warn(message, category)`` pointing at the user's code."""
    warnings.warn(message, category, stacklevel=user_stacklevel() + 1)


def or_list(items):
    """``"a, b or c"``: the items of a message's list of remedies, in order."""
    items = list(items)
    return " or ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def float64_remedy(dtype):
    """``["dtype='float64'"]`` where training runs in a narrower ``dtype``, else [].

    A remedy for values beyond the range of the training precision; a fit
    already in float64 has no wider one to move to.
    """
    return [] if dtype == "float64" else ["dtype='float64'"]


def describe_changes(changes):
    """``(changed, back)``: a refused parameter change, worded for a message.

    ``changes`` holds ``(parameter, fitted value, new value)`` triples;
    ``changed`` reads "depth changed from 1 to 2; ..." and ``back`` "depth
    back to 1 and ...", the advice that undoes them.
    """
    changed = "; ".join(f"{name} changed from {old!r} to {new!r}" for name, old, new in changes)
    back = " and ".join(f"{name} back to {old!r}" for name, old, _ in changes)
    return changed, back
