"""Tests of the curvature and Jacobian numerics (sk_deepnet._curvature, _jacobian_spectra).

Hessian-vector products, losses, gradients and eigenvalues (of unweighted and
weighted batches) are compared with
PyTorch's autograd through a recorded fixture
(``tests/fixtures/make_curvature_fixtures.py`` writes it; torch is not needed
here), the Lanczos routine with the analytic Hessians of the 2-D surfaces of
``examples/plot_optimizer_trajectories.py``, and the Jacobians with dense
finite differences of the network's own forward pass.
"""

import json
import os
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sk_deepnet import DeepMLPRegressor
from sk_deepnet import _curvature as curvature_module
from sk_deepnet._activations import ACTIVATIONS, DERIVATIVES, SECOND_DERIVATIVES
from sk_deepnet._curvature import LossHessian, float64_copy, lanczos
from sk_deepnet._jacobian_spectra import (
    jacobian_statistics,
    layer_jacobians,
    rank_fraction,
    singular_values,
    spread,
)
from sk_deepnet._network import Network
from sk_deepnet.callbacks import CurvatureMonitor

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "curvature_hessians.npz")


def _fixture():
    data = np.load(FIXTURE)
    return data, json.loads(str(data["configs"]))


_DATA, _CONFIGS = _fixture()


def _fixture_network(config):
    net = Network(
        config["layer_sizes"], config["activation"], config["loss"],
        normalization=config["normalization"], dtype=np.float64,
    )
    params = _DATA[config["name"] + "__params"]
    assert net.n_params == params.size  # the fixture's layout is the network's
    net.params[...] = params
    return net


def _sample_weight(config):
    """The recorded sample weights of a weighted configuration, else None."""
    if not config.get("weighted"):
        return None
    return _DATA[config["name"] + "__sample_weight"]


def test_fixture_has_weighted_configurations():
    """Weighted batches (one zero weight) checked against torch, exact and FD."""
    weighted = [c for c in _CONFIGS if c.get("weighted")]
    assert {c["normalization"] for c in weighted} == {None, "batch"}
    for config in weighted:
        w = _sample_weight(config)
        assert (w == 0).sum() == 1 and len(np.unique(w)) == w.size


@pytest.mark.parametrize("config", _CONFIGS, ids=[c["name"] for c in _CONFIGS])
@pytest.mark.parametrize("method", ["auto", "finite_difference"])
def test_hessian_vector_products_match_torch(config, method):
    name = config["name"]
    net = _fixture_network(config)
    hessian = LossHessian(
        net, _DATA[name + "__X"], _DATA[name + "__Y"], config["l2"], method,
        sample_weight=_sample_weight(config),
    )
    exact = hessian.method == "exact"
    assert exact == (method == "auto" and config["normalization"] is None)
    assert_allclose(hessian.loss, float(_DATA[name + "__loss"]), rtol=1e-12)
    assert_allclose(hessian.gradient, _DATA[name + "__grad"], rtol=1e-10, atol=1e-12)
    expected = _DATA[name + "__HV"]
    products = np.array([hessian.matvec(v) for v in _DATA[name + "__V"]])
    scale = np.abs(expected).max()
    assert np.abs(products - expected).max() <= (1e-11 if exact else 1e-8) * scale


@pytest.mark.parametrize("config", _CONFIGS, ids=[c["name"] for c in _CONFIGS])
def test_lanczos_eigenvalues_match_torch(config):
    name = config["name"]
    net = _fixture_network(config)
    hessian = LossHessian(
        net, _DATA[name + "__X"], _DATA[name + "__Y"], config["l2"],
        sample_weight=_sample_weight(config),
    )
    eigenvalues = _DATA[name + "__eigenvalues"]
    scale = np.abs(eigenvalues).max()
    # A full Krylov space: every eigenvalue (multiplicities collapse).
    ritz = lanczos(hessian, net.n_params, n_iter=net.n_params, random_state=0)
    assert_allclose(ritz[[0, -1]], eigenvalues[[0, -1]], atol=1e-7 * scale)
    # A short run finds the extremes first, from inside the spectrum.
    short = lanczos(hessian, net.n_params, n_iter=40, random_state=0)
    assert len(short) == 40
    assert eigenvalues[0] - 1e-9 * scale <= short[0] <= eigenvalues[0] + 0.05 * scale
    assert eigenvalues[-1] - 0.05 * scale <= short[-1] <= eigenvalues[-1] + 1e-9 * scale


def _rosenbrock_hessian(x, y):
    return np.array([[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200.0]])


@pytest.mark.parametrize(
    "hessian",
    [
        np.diag([2.0, -2.0]),  # the saddle x^2 - y^2: one eigenvalue of each sign
        np.diag([0.2, 4.0]),  # the ravine 0.1 x^2 + 2 y^2
        _rosenbrock_hessian(1.0, 1.0),  # at its minimum: positive definite
        _rosenbrock_hessian(0.0, 0.5),  # on the slope: indefinite
    ],
    ids=["saddle", "ravine", "rosenbrock-minimum", "rosenbrock-slope"],
)
def test_lanczos_on_the_trajectory_examples_surfaces(hessian):
    calls = []

    def matvec(v):
        calls.append(1)
        return hessian @ v

    ritz = lanczos(matvec, 2, n_iter=10, random_state=1)
    assert len(calls) == 2  # at most n products
    assert_allclose(ritz, np.linalg.eigvalsh(hessian), rtol=1e-12, atol=1e-12)


def test_lanczos_saddle_signs_and_invariant_subspace():
    ritz = lanczos(lambda v: np.diag([2.0, -2.0]) @ v, 2, random_state=0)
    assert ritz[0] == pytest.approx(-2) and ritz[-1] == pytest.approx(2)
    # Started on an eigenvector, Lanczos stops after one product: exact.
    assert_allclose(lanczos(lambda v: np.diag([3.0, 1.0, -1.0]) @ v, 3, v0=[1, 0, 0]), [3.0])
    with pytest.raises(ValueError, match="non-zero"):
        lanczos(lambda v: v, 3, v0=np.zeros(3))


@pytest.mark.parametrize("activation", sorted(SECOND_DERIVATIVES))
def test_second_derivatives_match_finite_differences(activation):
    z = np.linspace(-3, 3, 61) + 0.013  # no point at a kink
    h = 1e-5

    def slope(values):
        a = np.empty_like(values)
        ACTIVATIONS[activation](values, a)
        out = np.ones_like(values)
        DERIVATIVES[activation](values, a, out)
        return out

    a = np.empty_like(z)
    ACTIVATIONS[activation](z, a)
    expected = (slope(z + h) - slope(z - h)) / (2 * h)
    assert_allclose(SECOND_DERIVATIVES[activation](z, a), expected, atol=1e-6)


def _random_network(sizes, activation="tanh", loss="softmax_cross_entropy", seed=0, **kw):
    rng = np.random.default_rng(seed)
    net = Network(sizes, activation, loss, **kw)
    net.initialize(rng, "glorot_uniform")
    net.params[...] += 0.1 * rng.standard_normal(net.n_params).astype(net.dtype)
    for mean, var in zip(net.running_means, net.running_vars):
        mean[...] = rng.standard_normal(mean.shape)
        var[...] = rng.random(var.shape) + 0.5
    return net, rng


def _network_state(net):
    return (
        net.params.copy(), net.grads.copy(), [m.copy() for m in net.running_means],
        [v.copy() for v in net.running_vars], net.batches_computed,
    )


@pytest.mark.parametrize(
    "kw",
    [{}, {"normalization": "batch", "dropout": 0.3}, {"residual": True}],
    ids=["plain", "batchnorm-dropout", "residual"],
)
def test_hessian_and_jacobians_leave_the_network_untouched(kw):
    net, rng = _random_network([4, 6, 6, 6, 3], dtype=np.float32, **kw)
    X = rng.standard_normal((9, 4)).astype(np.float32)
    y = rng.integers(0, 3, 9)
    net.loss_and_gradient(X, y, None, 9, 0.1, np.random.default_rng(0))
    before = _network_state(net)
    workspace, last = net._workspace, net._last_batch
    hessian = LossHessian(net, X, y, l2=0.01)
    lanczos(hessian, hessian.n_params, n_iter=5, random_state=0)
    jacobian_statistics(net, X)
    after = _network_state(net)
    for old, new in zip(before, after):
        if isinstance(old, list):
            for a, b in zip(old, new):
                assert_array_equal(a, b)
        else:
            assert_array_equal(old, new)
    assert net._workspace is workspace and net._last_batch is last
    assert net.dropout == kw.get("dropout", 0.0)


def test_float64_copy_is_independent_and_without_dropout():
    net, _ = _random_network([3, 4, 2], dropout=0.5, dtype=np.float32)
    copy = float64_copy(net)
    assert copy.dtype == np.float64 and copy.dropout == 0 and copy.grads.size == net.n_params
    copy.params[...] = 0
    assert np.any(net.params != 0)


def test_loss_hessian_errors():
    net, rng = _random_network([3, 4, 2], normalization="layer")
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    with pytest.raises(ValueError, match="dense layers and activations only"):
        LossHessian(net, X, y, method="exact")
    with pytest.raises(ValueError, match="method must be"):
        LossHessian(net, X, y, method="newton")
    with pytest.raises(ValueError, match="values"):
        LossHessian(net, X, y).matvec(np.ones(3))


# ------------------------------------------------------------------ Jacobians
def _hidden(net, X):
    """The network's last hidden output (inference mode), by its own forward pass."""
    ws = net._new_workspace(X.shape[0], train=False)
    net.forward(X, ws, train=False)
    return ws["inputs"][-1].copy(), [h.copy() for h in ws["inputs"]]


def _layer_map(net, i, h):
    """Hidden layer i's own map (inference mode), scaled at a residual block's end."""
    z = h @ net.coefs[i] + net.intercepts[i]
    if net.norms:
        z = net.norms[i].forward(z, np.empty_like(z), None, False)
    a = np.empty_like(z)
    ACTIVATIONS[net.activation](z, a)
    if i in net._block_ending_at:
        a *= net.residual_scale
    return a


def _fd_jacobian(fn, x, h=1e-6):
    """Per-sample dense Jacobian of a row-wise map by central differences."""
    n, d = x.shape
    columns = []
    for j in range(d):
        step = np.zeros_like(x)
        step[:, j] = h
        columns.append((fn(x + step) - fn(x - step)) / (2 * h))
    return np.stack(columns, axis=2)  # (n, out, d)


@pytest.mark.parametrize(
    "activation, kw",
    [
        ("tanh", {}),
        ("elu", {}),
        ("gelu", {"normalization": "batch"}),
        ("tanh", {"normalization": "layer"}),
        ("softplus", {"residual": True}),
        ("tanh", {"residual": True, "residual_block_size": 1, "normalization": "layer"}),
        ("sigmoid", {"dropout": 0.5}),
    ],
    ids=["tanh", "elu", "gelu-batchnorm", "tanh-layernorm", "softplus-residual",
         "tanh-residual1-layernorm", "sigmoid-dropout"],
)
def test_jacobians_match_finite_differences(activation, kw):
    sizes = [5, 6, 6, 4, 4, 3] if kw.get("residual") else [5, 6, 4, 3]
    net, rng = _random_network(sizes, activation, dtype=np.float64, **kw)
    X = rng.standard_normal((4, 5))
    layers, end_to_end = layer_jacobians(net, X)
    _, hidden = _hidden(net, X)
    assert len(layers) == net.depth + 1
    for i in range(net.depth):
        expected = _fd_jacobian(lambda h, i=i: _layer_map(net, i, h), hidden[i])
        assert_allclose(layers[i], expected, atol=1e-7)
    assert_array_equal(layers[-1][0], net.coefs[-1].T)
    expected = _fd_jacobian(lambda x: _hidden(net, x)[0], X)
    assert_allclose(end_to_end, expected, atol=1e-7)
    _, cumulative = layer_jacobians(net, X, cumulative=True)
    assert len(cumulative) == net.depth + 1
    assert_allclose(cumulative[-2], end_to_end)
    logits = _fd_jacobian(lambda x: net.predict_logits(x), X)
    assert_allclose(cumulative[-1], logits, atol=1e-7)
    stats = jacobian_statistics(net, X)
    assert stats["spread"].shape == (net.depth + 1,)
    assert stats["io_spread"] == stats["spread"][-2]
    values = singular_values(layers[1])
    assert stats["max"][1] == pytest.approx(values.max())
    assert stats["min"][1] == pytest.approx(values.min())
    assert stats["mean"][1] == pytest.approx(values.mean())
    io = spread(singular_values(expected))
    assert stats["io_spread"] == pytest.approx(np.median(io), rel=1e-5)


def test_orthogonal_linear_network_is_an_isometry():
    net = Network([8, 8, 8, 8, 2], "identity", "squared_error", dtype=np.float64)
    net.initialize(np.random.default_rng(0), "orthogonal")
    stats = jacobian_statistics(net, np.random.default_rng(1).standard_normal((3, 8)))
    assert_allclose(stats["max"][:-1], 1.0)
    assert_allclose(stats["min"][:-1], 1.0)
    assert stats["io_spread"] == pytest.approx(0.0, abs=1e-12)


def test_spread_leaves_out_zeros_and_no_hidden_layers():
    values = np.array([[4.0, 2.0, 1e-12, 0.0], [3.0, 3.0, 3.0, 3.0], [5.0, 0, 0, 0]])
    # Row 1: the quantiles of [2, 4] are 2.2 and 3.8; 1e-12 and 0 are zeros.
    assert_allclose(spread(values), [np.log10(3.8 / 2.2), 0.0, 0.0])
    ramp = np.linspace(1, 100, 101)[None]  # quantiles 10.9 and 90.1
    assert_allclose(spread(ramp), [np.log10(90.1 / 10.9)])
    assert np.isnan(spread(np.zeros((1, 3))))[0]
    assert_allclose(rank_fraction(values), [0.5, 1.0, 0.25])
    net = Network([3, 2], "tanh", "squared_error", dtype=np.float64)
    stats = jacobian_statistics(net, np.ones((2, 3)))
    assert np.isnan(stats["io_spread"]) and stats["max"].shape == (1,)


def _relu_batchnorm_extremes(random_state):
    """The recorded Hessian extremes of a small relu + batch-norm fit whose
    probe directions (random_state 80 and 99) straddle a relu kink at the
    default finite-difference step."""
    rng = np.random.RandomState(0)
    X, w = rng.randn(60, 3), rng.rand(60)
    monitor = CurvatureMonitor(record_every=1, random_state=random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = DeepMLPRegressor(
            loss="poisson", depth=2, width=5, max_iter=1, normalization="batch",
            random_state=0, callbacks=[monitor],
        ).fit(X, np.abs(X[:, 0]), sample_weight=w)
    fitted = est.curvature_monitor_
    return np.concatenate([fitted.hessian_min_, fitted.hessian_max_])


@pytest.mark.parametrize("random_state", [80, 99])
def test_finite_differences_do_not_straddle_a_relu_kink(random_state):
    # Straddling a kink gave 1681 (80) and -3803 (99); a step 100 or 10^4
    # times smaller, which straddles nothing, gives values within 6 of zero.
    extremes = _relu_batchnorm_extremes(random_state)
    assert np.all(np.abs(extremes) < 10), extremes


def test_the_kink_check_is_what_keeps_the_products_right(monkeypatch):
    # Without the retries the same fits record the jump (the check above can fail).
    monkeypatch.setattr(curvature_module, "FD_KINK_RETRIES", 0)
    extremes = np.concatenate([_relu_batchnorm_extremes(80), _relu_batchnorm_extremes(99)])
    assert np.max(np.abs(extremes)) > 100


@pytest.mark.parametrize("loss", ["poisson", "squared_error", "logistic_cross_entropy"])
def test_exact_hessian_of_each_loss_matches_finite_differences(loss):
    # The exact R-operator takes each loss's output curvature; central
    # differences of the gradient (the other method) do not. poisson had
    # squared error's (1 instead of exp(z)): its eigenvalues were off 3-fold.
    net, rng = _random_network([3, 5, 5, 2], activation="tanh", loss=loss, dtype=np.float64)
    X = rng.standard_normal((12, 3))
    Y = rng.poisson(1.0, (12, 2)).astype(float) if loss == "poisson" else (
        rng.integers(0, 2, (12, 2)).astype(float)
    )
    w = rng.random(12) + 0.5
    exact = LossHessian(net, X, Y, l2=0.1, method="exact", sample_weight=w).dense()
    fd = LossHessian(net, X, Y, l2=0.1, method="finite_difference", sample_weight=w).dense()
    assert_allclose(exact, fd, rtol=1e-5, atol=1e-7)


def test_exact_poisson_hessian_of_a_linear_model_is_the_glm_one():
    # depth 0, one output: H = X1' diag(w exp(z)) X1 / sum(w) (+ l2 on the weights),
    # X1 = [X, 1] in the network's order (the weights, then the bias).
    net, rng = _random_network([3, 1], loss="poisson", dtype=np.float64)
    X, w = rng.standard_normal((10, 3)), rng.random(10) + 0.5
    Y = rng.poisson(2.0, (10, 1)).astype(float)
    z = X @ net.coefs[0][:, 0] + net.intercepts[0][0]
    X1 = np.column_stack([X, np.ones(10)])
    expected = X1.T @ (X1 * (w * np.exp(z))[:, None]) / w.sum()
    expected[:3, :3] += 0.1 * np.eye(3)
    hessian = LossHessian(net, X, Y, l2=0.1, method="exact", sample_weight=w).dense()
    assert_allclose(hessian, expected, rtol=1e-12)
