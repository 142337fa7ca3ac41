"""Training computes exactly what it computed before the memory work of issue 15.

The reference (tests/fixtures/training_reference.npz) was recorded by
tests/fixtures/make_training_reference.py on the code before the workspace
buffers were shared across layers, the sample indices made int32, the L2
penalty's scratch block shrunk and the finiteness check made temporary-free.
Those changes move no arithmetic, so the loss curves and the parameters after
four epochs must be bit-identical.
"""

import importlib.util
import os
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
REFERENCE = os.path.join(FIXTURES, "training_reference.npz")
_spec = importlib.util.spec_from_file_location(
    "make_training_reference", os.path.join(FIXTURES, "make_training_reference.py")
)
_maker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_maker)
CASES, fit = _maker.CASES, _maker.fit


@pytest.mark.parametrize("name", sorted(CASES))
def test_training_is_bit_identical_to_the_reference(name):
    kind, params = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = fit(kind, params)
    with np.load(REFERENCE) as ref:
        np.testing.assert_array_equal(np.asarray(est.loss_curve_), ref[f"{name}_loss"])
        np.testing.assert_array_equal(est._network.params, ref[f"{name}_params"])


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("sizes", [[7, 5, 12, 9, 4, 3], [6, 16, 16, 16, 2]])
def test_shared_deltas_give_the_same_gradient(sizes, activation):
    """Deltas written into freed buffers: the same loss and gradient, bit for bit.

    The first widths shrink towards the output, so that consecutive deltas
    take spares: never the one being read (np.dot would then silently copy,
    which costs the memory saved). The second are the benchmark's uniform
    widths, which need a single spare. A smaller last batch runs in row views
    of the same buffers.
    """
    from sk_deepnet._network import Network

    rng = np.random.default_rng(0)
    net = Network(sizes, activation, "softmax_cross_entropy")
    net.initialize(rng, "glorot_uniform")
    X = rng.standard_normal((13, sizes[0])).astype(np.float32)
    y = rng.integers(sizes[-1], size=13).astype(np.int32)
    results = {}
    for keep in (True, False):
        for n in (13, 9):
            loss = net.loss_and_gradient(X[:n], y[:n], None, n, 0.01, keep_deltas=keep)
            results[keep, n] = loss, net.grads.copy()
        assert ("deltas" in net.last_batch) == keep
    for n in (13, 9):
        assert results[True, n][0] == results[False, n][0]
        np.testing.assert_array_equal(results[True, n][1], results[False, n][1])
    ws = net._workspace
    assert ws["shared_deltas"]
    separate = [d for d in ws["grad_z"] if not any(np.shares_memory(d, z) for z in ws["z"])]
    deltas = ws["grad_z"]
    assert not any(np.shares_memory(a, b) for a, b in zip(deltas, deltas[1:]))
    if activation == "relu":
        # Each delta over its own layer's output, once its mask is taken: no
        # spare. The L2 penalty's scratch is a freed buffer when one is large
        # enough (not for these 13 rows).
        assert not separate
        freed = any(np.shares_memory(ws["l2_step"], z) for z in ws["z"])
        assert freed == (max(sizes[1:-1]) * 13 >= net.n_weights)
    elif len(set(sizes[1:-1])) == 1:
        assert len(separate) == 1  # one spare: the last hidden layer's delta
