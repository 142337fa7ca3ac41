"""Odd inputs found by an outside check: each once failed inside numpy or
sk_deepnet's own bookkeeping, or trained silently on something else than
what was given; each now works or gets an error that names the problem."""

import numpy as np
import pytest
import scipy.sparse as sp

from sk_deepnet import DeepMLPRegressor

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 3))
Y = X @ np.array([1.0, -2.0, 0.5])
SMALL = dict(depth=1, width=4, max_iter=2, random_state=0)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_refuses_a_sparse_y_by_name(method, n_outputs):
    # It failed with "'DeepMLPRegressor' object has no attribute 'classes_'".
    y = sp.csr_matrix(np.tile(Y[:, None], (1, n_outputs)))
    with pytest.raises(TypeError, match=r"dense y.*sparse.*toarray\(\)"):
        getattr(DeepMLPRegressor(**SMALL), method)(X, y)
