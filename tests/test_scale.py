"""The scale checks behind the remedies that say "scale X" or "scale y"."""

import numpy as np
import pytest
import scipy.sparse as sp

from sk_deepnet._scale import is_unscaled, largest_std


@pytest.mark.parametrize("sparse", [False, True])
def test_largest_std_estimates_a_columns_scale(sparse):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((25_000, 3)) * [1.0, 50.0, 0.1]
    data = sp.csr_matrix(X) if sparse else X
    # Estimated on 10000 evenly spaced rows: within 3% of the exact value.
    assert largest_std(data) == pytest.approx(50.0, rel=0.03)
    assert is_unscaled(data) and not is_unscaled(data[:, [0, 2]])
    assert largest_std(X[:0]) == largest_std(X[:, :0]) == 0.0
    assert largest_std(np.arange(5.0)) == pytest.approx(np.std(np.arange(5.0)))
