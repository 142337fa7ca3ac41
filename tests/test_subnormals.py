"""Subnormal weights and optimizer moments are flushed to zero (every 32 steps, at an epoch end).

A weight that only the L2 penalty moves (into a dead relu unit) shrinks
geometrically and ends subnormal, where float32 arithmetic takes the
processor's slow path: a make_multilabel_classification fit with ``alpha=1``
took 2.3 times as long before the flush.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from sk_deepnet import DeepMLPClassifier
from sk_deepnet._network import _FLUSH_BLOCK, flush_subnormals
from sk_deepnet._training import FLUSH_EVERY_STEPS

TINY = np.finfo(np.float32).tiny


def _n_subnormal(values):
    return int(np.sum((values != 0) & (np.abs(values) < np.finfo(values.dtype).tiny)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_subnormals_zeroes_only_the_subnormal_values(dtype):
    tiny = np.finfo(dtype).tiny
    values = np.full(2 * _FLUSH_BLOCK + 3, 0.5, dtype=dtype)  # more than one block
    values[[1, _FLUSH_BLOCK + 1, -1]] = [tiny / 4, -tiny / 8, tiny / 2]
    values[[2, 3]] = [tiny, -tiny]  # the smallest normal numbers stay
    expected = values.copy()
    expected[[1, _FLUSH_BLOCK + 1, -1]] = 0
    flush_subnormals(values)
    np.testing.assert_array_equal(values, expected)


def test_a_dead_unit_keeps_no_subnormal_weight_or_moment_past_32_steps():
    # A unit whose bias keeps it dead gets no data gradient; alpha * w / n of
    # a subnormal w underflows to 0, so without the flush its weights and
    # its momentum stay subnormal for good. The flush comes at the first
    # epoch end past a multiple of 32 optimizer steps (10 steps an epoch here).
    X, y = make_classification(100, 5, random_state=0)
    clf = DeepMLPClassifier(
        depth=1, width=4, optimizer="momentum", batch_size=10, max_iter=1, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        clf.coefs_[0][:, 0] = TINY / 1000
        clf.intercepts_[0][0] = -100.0
        clf.optimizer_.state_["velocity"][:] = TINY / 1000
        assert _n_subnormal(clf._network.params) == 5
        for steps in (20, 30):  # no multiple of 32 passed: not flushed yet
            clf.partial_fit(X, y)
            assert clf.optimizer_.t_ == steps
            assert _n_subnormal(clf._network.params) > 0
        clf.partial_fit(X, y)  # steps 31 to 40
    assert clf.optimizer_.t_ == 40 == FLUSH_EVERY_STEPS + 8
    assert _n_subnormal(clf._network.params) == 0
    assert _n_subnormal(clf.optimizer_.state_["velocity"]) == 0
    np.testing.assert_array_equal(clf.coefs_[0][:, 0], 0.0)
