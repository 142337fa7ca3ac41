"""Sample weights in the loss Hessian (sk_deepnet._curvature.LossHessian).

The weighted loss is ``sum_i w_i l_i / sum_i w_i + l2 / 2 * ||W||^2``, the loss
a training step minimizes on a weighted batch. Its Hessian is checked against
the three facts that pin it down: an integer weight counts as that many copies
of a row, a zero weight as a row left out, unit weights as no weights; and
the exact products against finite differences of the weighted gradient.
PyTorch's weighted Hessians are compared in ``tests/test_curvature.py``.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sk_deepnet._curvature import LossHessian
from sk_deepnet._network import Network

#: (layer sizes, activation, loss, network keywords): plain networks get the
#: exact R-operator products, the normalized and residual ones finite differences.
NETWORKS = {
    "tanh-softmax": ([4, 5, 4, 3], "tanh", "softmax_cross_entropy", {}),
    "gelu-squared": ([4, 5, 2], "gelu", "squared_error", {}),
    "sigmoid-logistic": ([4, 5, 3], "sigmoid", "logistic_cross_entropy", {}),
    "tanh-batchnorm": ([4, 5, 4, 3], "tanh", "softmax_cross_entropy",
                       {"normalization": "batch"}),
    "softplus-layernorm-residual": ([4, 5, 5, 2], "softplus", "squared_error",
                                    {"normalization": "layer", "residual": True,
                                     "residual_block_size": 1}),
}


def _problem(name, n=7, seed=0):
    sizes, activation, loss, kw = NETWORKS[name]
    rng = np.random.default_rng(seed)
    net = Network(sizes, activation, loss, dtype=np.float64, **kw)
    net.initialize(rng, "glorot_uniform")
    net.params[...] += 0.1 * rng.standard_normal(net.n_params)
    X = rng.standard_normal((n, sizes[0]))
    if loss == "softmax_cross_entropy":
        Y = rng.integers(0, sizes[-1], n)
    elif loss == "logistic_cross_entropy":
        Y = (rng.random((n, sizes[-1])) > 0.5).astype(float)
    else:
        Y = rng.standard_normal((n, sizes[-1]))
    return net, X, Y, rng


def _tolerance(hessian):
    """Relative to the largest entry: rounding (exact) or the documented FD error."""
    return 1e-10 if hessian.method == "exact" else 5e-8


def _assert_same_hessian(a, b):
    assert a.method == b.method
    assert_allclose(a.loss, b.loss, rtol=1e-12)
    assert_allclose(a.gradient, b.gradient, rtol=1e-10, atol=1e-13)
    Ha, Hb = a.dense(), b.dense()
    assert np.abs(Ha - Hb).max() <= _tolerance(a) * np.abs(Hb).max()


@pytest.mark.parametrize("name", NETWORKS)
def test_integer_weights_equal_repeated_rows(name):
    net, X, Y, rng = _problem(name)
    w = np.array([1, 3, 2, 1, 4, 1, 2])
    weighted = LossHessian(net, X, Y, l2=0.03, sample_weight=w)
    # The same batch with row i repeated w_i times (l2: alpha / sum(w) both).
    rows = np.repeat(np.arange(len(w)), w)
    repeated = LossHessian(net, X[rows], Y[rows], l2=0.03)
    assert weighted.method == ("finite_difference" if net.norms else "exact")
    _assert_same_hessian(weighted, repeated)
    # and it is not the unweighted Hessian
    plain = LossHessian(net, X, Y, l2=0.03)
    assert abs(plain.loss - weighted.loss) > 1e-3


@pytest.mark.parametrize("name", NETWORKS)
def test_zero_weight_equals_dropping_the_row(name):
    net, X, Y, rng = _problem(name)
    w = rng.random(len(X)) + 0.5
    w[2] = 0.0
    kept = np.flatnonzero(w)
    weighted = LossHessian(net, X, Y, l2=0.02, sample_weight=w)
    dropped = LossHessian(net, X[kept], Y[kept], l2=0.02, sample_weight=w[kept])
    _assert_same_hessian(weighted, dropped)


@pytest.mark.parametrize("name", NETWORKS)
def test_unit_weights_equal_no_weights(name):
    net, X, Y, _ = _problem(name)
    ones = LossHessian(net, X, Y, l2=0.02, sample_weight=np.ones(len(X)))
    none = LossHessian(net, X, Y, l2=0.02)
    _assert_same_hessian(ones, none)
    # Only the ratios matter: any constant weight is no weight.
    scaled = LossHessian(net, X, Y, l2=0.02, sample_weight=np.full(len(X), 2.5))
    _assert_same_hessian(scaled, none)


@pytest.mark.parametrize("name", ["tanh-softmax", "gelu-squared", "sigmoid-logistic"])
def test_exact_weighted_products_match_finite_differences(name):
    net, X, Y, rng = _problem(name)
    w = rng.random(len(X)) * 3
    exact = LossHessian(net, X, Y, l2=0.05, method="exact", sample_weight=w)
    fd = LossHessian(net, X, Y, l2=0.05, method="finite_difference", sample_weight=w)
    # The two gradients are computed independently (R-operator pass, the
    # network's own training pass): the same weighted loss.
    assert_allclose(exact.loss, fd.loss, rtol=1e-12)
    assert_allclose(exact.gradient, fd.gradient, rtol=1e-10, atol=1e-13)
    for v in rng.standard_normal((3, exact.n_params)):
        expected = fd.matvec(v)
        assert np.abs(exact.matvec(v) - expected).max() <= 1e-7 * np.abs(expected).max()


def test_weighted_gradient_matches_finite_differences_of_the_loss():
    net, X, Y, rng = _problem("tanh-softmax")
    w = rng.random(len(X)) * 3
    hessian = LossHessian(net, X, Y, l2=0.05, method="exact", sample_weight=w)
    theta = net.params.copy()
    step = 1e-6
    for j in rng.choice(net.n_params, 6, replace=False):
        losses = []
        for sign in (1, -1):
            net.params[...] = theta
            net.params[j] += sign * step
            losses.append(LossHessian(net, X, Y, l2=0.05, sample_weight=w).loss)
        assert_allclose((losses[0] - losses[1]) / (2 * step), hessian.gradient[j],
                        rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (np.ones(6), r"shape \(7,\)"),
        (np.ones((7, 1)), r"shape \(7,\)"),
        (np.array([1, 1, np.nan, 1, 1, 1, 1.0]), "finite"),
        (np.array([1, 1, np.inf, 1, 1, 1, 1.0]), "finite"),
        (np.array([1, 1, -1, 1, 1, 1, 1.0]), "non-negative"),
        (np.zeros(7), "positive, finite sum"),
        (np.full(7, 1e308), "positive, finite sum"),
        (np.array(list("abcdefg")), "numbers"),
    ],
    ids=["short", "column", "nan", "inf", "negative", "zero-sum", "overflowing-sum",
         "strings"],
)
def test_bad_weights_get_clear_errors(sample_weight, match):
    net, X, Y, _ = _problem("tanh-softmax")
    with pytest.raises(ValueError, match=match):
        LossHessian(net, X, Y, sample_weight=sample_weight)
