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
