"""A continued fit whose architecture changed names what changed, and advice that works.

``partial_fit`` always continues (``warm_start`` does not matter), so its advice
is ``fit``; a warm-started ``fit``'s is ``warm_start=False``.
"""

import re

import numpy as np
import pytest
from sklearn.datasets import make_classification

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, y = make_classification(60, 5, random_state=0)


def _error(call):
    with pytest.raises(ValueError, match="same architecture") as info:
        call()
    return str(info.value)


def test_partial_fit_names_the_change_and_advises_fit():
    clf = DeepMLPClassifier(depth=1, width=8, random_state=0).partial_fit(X, y, classes=[0, 1])
    message = _error(lambda: clf.set_params(depth=2).partial_fit(X, y))
    assert "depth changed from 1 to 2" in message
    assert "call fit to train a new network, or set depth back to 1" in message
    assert "warm_start" not in message  # partial_fit ignores it
    for name in ("width", "activation", "dropout", "dtype"):  # no list of candidates
        assert name not in message
    # Each piece of advice works.
    clf.set_params(depth=1).partial_fit(X, y)
    assert clf.set_params(depth=2).fit(X, y).n_layers_ == 4


def test_warm_start_fit_names_every_change_and_advises_warm_start_false():
    clf = DeepMLPClassifier(depth=2, width=[8, 6], max_iter=2, warm_start=True, random_state=0)
    clf.fit(X, y).set_params(width=7, activation="tanh", dropout=0.5)
    message = _error(lambda: clf.fit(X, y))
    assert "width changed from [8, 6] to 7" in message
    assert "activation changed from 'relu' to 'tanh'" in message
    assert "dropout changed from 0.0 to 0.5" in message
    assert re.search(
        r"set warm_start=False to train a new network, or set width back to \[8, 6\] "
        r"and activation back to 'relu' and dropout back to 0.0\.$",
        message,
    )
    clf.set_params(warm_start=False).fit(X, y)  # the advice works
    assert clf.coefs_[1].shape == (7, 7)


def test_a_changed_loss_dtype_or_residual_is_named():
    Y = np.abs(y) + 1.0
    reg = DeepMLPRegressor(depth=2, width=4, random_state=0).partial_fit(X, Y)
    message = _error(lambda: reg.set_params(loss="poisson", dtype="float64").partial_fit(X, Y))
    assert "loss changed from 'squared_error' to 'poisson'" in message
    assert "dtype changed from 'float32' to 'float64'" in message
    reg.set_params(loss="squared_error", dtype="float32", residual=True)
    assert "residual changed from False to True" in _error(lambda: reg.partial_fit(X, Y))
