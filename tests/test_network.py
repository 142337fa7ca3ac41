"""Tests of the network's numerics: gradients, initializers, activations, layers.

The gradient checks compare :meth:`Network.loss_and_gradient` with central finite
differences of the loss in float64, for every activation, loss, normalization,
dropout (a fixed mask: the same rng seed in every call) and residual layout.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy import integrate, stats
from scipy.special import expit

from sk_deepnet._activations import (
    ACTIVATIONS,
    DERIVATIVES,
    GAINS,
    LEAKY_RELU_SLOPE,
    OUTPUT_DERIVATIVES,
    USES_ZEROS,
    SELU_ALPHA,
    SELU_SCALE,
    canonical_activation,
)
from sk_deepnet._training import clip_by_global_norm as _clip_by_global_norm
from sk_deepnet._initializers import GLOROT_RELU_LAYERS, INITIALIZERS, auto_plan, resolve_init
from sk_deepnet._layers import BatchNorm, LayerNorm, dropout_mask
from sk_deepnet._losses import LOSSES
from sk_deepnet._network import Network

N_SAMPLES = 7
DROPOUT_SEED = 5


# ------------------------------------------------------------ gradient checks
def _make_network(
    sizes, activation="tanh", loss="softmax_cross_entropy", seed=0, dtype=np.float64, **kw
):
    """A network (float64 by default) whose biases and norm scales/shifts are not trivial."""
    net = Network(sizes, activation, loss, dtype=dtype, **kw)
    rng = np.random.default_rng(seed)
    net.initialize(rng, resolve_init("auto", activation))
    for b in net.intercepts:
        b[...] = rng.normal(0, 0.3, b.shape)
    for norm in net.norms:
        norm.gamma[...] = rng.uniform(0.5, 1.5, norm.gamma.shape)
        norm.beta[...] = rng.normal(0, 0.3, norm.beta.shape)
    return net


def _data(net, seed=1, weighted=False):
    rng = np.random.default_rng(seed)
    n_in, n_out = net.layer_sizes[0], net.layer_sizes[-1]
    X = rng.normal(size=(N_SAMPLES, n_in))
    if net.loss == "softmax_cross_entropy":
        Y = np.eye(n_out)[rng.integers(0, n_out, N_SAMPLES)]
    elif net.loss == "logistic_cross_entropy":
        Y = (rng.random((N_SAMPLES, n_out)) < 0.5).astype(float)
    elif net.loss == "poisson":  # counts, zeros included
        Y = rng.poisson(1.5, size=(N_SAMPLES, n_out)).astype(float)
    else:
        Y = rng.normal(size=(N_SAMPLES, n_out))
    sample_weight = rng.uniform(0.2, 3.0, N_SAMPLES) if weighted else None
    weight_sum = N_SAMPLES if sample_weight is None else float(sample_weight.sum())
    return X, Y, sample_weight, weight_sum


def _check_gradient(net, weighted=False, alpha=0.0, eps=1e-6):
    X, Y, sw, weight_sum = _data(net, weighted=weighted)

    def loss():
        # A fresh generator with a fixed seed: the same dropout mask in every call.
        rng = np.random.default_rng(DROPOUT_SEED)
        return net.loss_and_gradient(X, Y, sw, weight_sum, alpha, rng)

    loss()
    analytic = net.grads.copy()
    numeric = np.empty_like(analytic)
    params = net.params
    for i in range(params.size):
        old = params[i]
        params[i] = old + eps
        plus = loss()
        params[i] = old - eps
        minus = loss()
        params[i] = old
        numeric[i] = (plus - minus) / (2 * eps)
    # Most parameters must matter, or the check would be vacuous. (Not all: a
    # relu unit can be dead on the whole batch, and a bias before batch norm has
    # zero gradient since the batch mean is subtracted.)
    assert np.count_nonzero(numeric) > 0.75 * numeric.size
    scale = max(1.0, np.abs(numeric).max())
    assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7 * scale)
    return analytic


ALL_ACTIVATIONS = sorted(ACTIVATIONS)
ALL_LOSSES = sorted(LOSSES)


@pytest.mark.parametrize("loss", ALL_LOSSES)
@pytest.mark.parametrize("activation", ALL_ACTIVATIONS)
def test_gradient_every_activation_and_loss(activation, loss):
    _check_gradient(_make_network([4, 6, 5, 3], activation, loss))


@pytest.mark.parametrize("weighted", [False, True])
def test_softmax_loss_of_class_codes_is_the_loss_of_one_hot_targets(weighted):
    # fit passes the class codes; the one-hot form is the textbook definition.
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(13, 5)) * 4
    codes = rng.integers(0, 5, 13)
    sample_weight = rng.uniform(0.2, 3.0, 13) if weighted else None
    weight_sum = 13.0 if sample_weight is None else float(sample_weight.sum())
    loss = LOSSES["softmax_cross_entropy"]
    delta_codes, delta_one_hot = np.empty_like(logits), np.empty_like(logits)
    from_codes = loss.loss_and_delta(logits, codes, sample_weight, weight_sum, delta_codes)
    from_one_hot = loss.loss_and_delta(
        logits, np.eye(5)[codes], sample_weight, weight_sum, delta_one_hot
    )
    assert from_codes == from_one_hot
    assert_array_equal(delta_codes, delta_one_hot)
    # and the loss is the definition: the weighted mean of -log softmax(z)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = np.average(-np.log(proba[np.arange(13), codes]), weights=sample_weight)
    assert_allclose(from_codes, expected, rtol=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_gradient_sample_weight_and_l2(loss, weighted, alpha):
    _check_gradient(_make_network([4, 6, 5, 3], "sigmoid", loss), weighted, alpha)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("normalization", ["batch", "layer"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "selu"])
def test_gradient_normalization_training_mode(activation, normalization, weighted):
    net = _make_network([4, 6, 5, 5, 3], activation, normalization=normalization)
    _check_gradient(net, weighted=weighted, alpha=0.1)
    hidden_bias_grads = net._views(net.grads)["b"][:-1]
    if normalization == "batch":  # shifted out by the (weighted) batch mean
        for grad in hidden_bias_grads:
            assert_allclose(grad, 0, atol=1e-12)
    else:
        assert all(np.abs(grad).max() > 1e-6 for grad in hidden_bias_grads)


@pytest.mark.parametrize("activation", ["tanh", "gelu"])
def test_gradient_dropout_with_fixed_mask(activation):
    net = _make_network([4, 8, 8, 3], activation, dropout=0.4)
    _check_gradient(net, alpha=0.1)
    # The mask really dropped units (a test of dropout, not of a plain net).
    assert any(np.any(m == 0) for m in net.last_batch["mask"] if m is not None)


@pytest.mark.parametrize("block_size", [1, 2, 3])
@pytest.mark.parametrize(
    "sizes",
    [[4, 5, 5, 5, 5, 5, 3], [4, 5, 6, 4, 6, 5, 3]],
    ids=["equal-widths", "projections"],
)
def test_gradient_residual(sizes, block_size):
    net = _make_network(sizes, "tanh", residual=True, residual_block_size=block_size)
    has_projection = any(p is not None for p in net.projections)
    assert has_projection == (sizes[1] != sizes[2] or sizes[3] != sizes[4])
    assert len(net.blocks) > 0
    _check_gradient(net, alpha=0.1)


@pytest.mark.parametrize(
    "kw",
    [
        dict(normalization="batch", dropout=0.3, residual=True, residual_block_size=2),
        dict(normalization="layer", dropout=0.3, residual=True, residual_block_size=1),
        dict(normalization="batch", residual=True, residual_block_size=3),
    ],
    ids=["batch-dropout-res2", "layer-dropout-res1", "batch-res3"],
)
@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_gradient_combinations(kw, loss):
    net = _make_network([4, 6, 5, 6, 6, 4, 3], "elu", loss, **kw)
    _check_gradient(net, weighted=True, alpha=0.2)


@pytest.mark.parametrize(
    "kw",
    [
        dict(normalization="batch", dropout=0.3, residual=True, residual_block_size=2),
        dict(normalization="layer", dropout=0.3, residual=True, residual_block_size=1),
    ],
    ids=["batch-dropout-res2", "layer-dropout-res1"],
)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_gradient_combinations_with_in_place_activations(kw, activation):
    # relu and tanh overwrite their normalized input in place.
    net = _make_network([4, 6, 5, 6, 6, 4, 3], activation, "softmax_cross_entropy", **kw)
    _check_gradient(net, weighted=True, alpha=0.2)


PLAIN_SIZES = [[4, 3], [4, 6, 3], [4, 6, 5, 5, 3]]
PLAIN_IDS = ["depth0", "depth1", "depth3"]


@pytest.mark.parametrize("sizes", PLAIN_SIZES, ids=PLAIN_IDS)
def test_gradient_plain_path_every_depth(sizes):
    net = _make_network(sizes, "relu")
    assert net._plain
    _check_gradient(net, weighted=True, alpha=0.1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("sizes", PLAIN_SIZES, ids=PLAIN_IDS)
@pytest.mark.parametrize("activation", ALL_ACTIVATIONS)
def test_plain_path_computes_what_the_general_path_computes(activation, sizes, sparse, dtype):
    # Networks of dense layers and activations only take _forward_plain and
    # _backward_plain; the general forward and backward must give the very same
    # numbers, buffers and per-batch records (the gradient monitor reads them),
    # also on a smaller batch (row views of the workspace), a sparse X, and in
    # chunked prediction.
    results = []
    for plain in (True, False):
        net = _make_network(sizes, activation, dtype=dtype)
        assert net._plain
        net._plain = plain
        X, Y, sw, weight_sum = (
            a if a is None or isinstance(a, float) else a.astype(dtype)
            for a in _data(net, weighted=True)
        )
        for n in (N_SAMPLES, 4):  # the second batch runs in row views
            Xn = sp.csr_matrix(X[:n]) if sparse else X[:n]
            loss = net.loss_and_gradient(Xn, Y[:n], sw[:n], float(sw[:n].sum()), 0.1)
            batch = net.last_batch
            results.append(
                [loss, net.grads.copy(), batch["logits"].copy()]
                + [a.copy() for a in batch["deltas"]]
                + [x.toarray() if sp.issparse(x) else x.copy() for x in batch["inputs"]]
                + [len(batch["mask"]), batch["block_in"]]
            )
        # Prediction in chunks of 3 rows: the last chunk runs in row views.
        results.append([net.predict_logits(sp.csr_matrix(X) if sparse else X, chunk_size=3)])
    n_results = len(results) // 2
    for got, expected in zip(results[:n_results], results[n_results:]):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            if isinstance(e, np.ndarray):
                assert g.dtype == e.dtype == dtype
                assert_array_equal(g, e)
            else:
                assert g == e
    for kw in (dict(normalization="layer"), dict(dropout=0.2), dict(residual=True)):
        assert not _make_network([4, 6, 6, 6, 3], activation, **kw)._plain


@pytest.mark.parametrize("name", sorted(OUTPUT_DERIVATIVES))
def test_in_place_derivatives_never_read_the_pre_activation(name):
    # Computed in place, these activations leave no pre-activation to read.
    z = Z[np.abs(Z) > 1e-2]
    a = np.empty_like(z)
    ACTIVATIONS[name](z, a)
    expected = np.ones_like(z)
    DERIVATIVES[name](z, a, expected)
    delta = np.ones_like(z)
    DERIVATIVES[name](np.full_like(z, np.nan), a, delta)
    assert_array_equal(delta, expected)


def test_predict_logits_casts_inputs_that_are_not_float32_or_float64():
    # np.dot(out=...) does not cast: integer X into a float32 network must be cast.
    net = _make_network([4, 5, 3], "relu", "softmax_cross_entropy").astype(np.float32)
    X = np.arange(12).reshape(3, 4)
    expected = net.predict_logits(X.astype(np.float32))
    for X_other in (X, X.astype(np.int32), X.astype(np.float16)):
        logits = net.predict_logits(X_other)
        assert logits.dtype == np.float32
        assert_allclose(logits, expected, rtol=1e-6)


# ------------------------------------------------------------- initializers
FAN_IN, FAN_OUT = 300, 500
EXPECTED_STD = {
    "glorot_uniform": np.sqrt(2 / (FAN_IN + FAN_OUT)),
    "glorot_normal": np.sqrt(2 / (FAN_IN + FAN_OUT)),
    "he_uniform": np.sqrt(2 / FAN_IN),
    "he_normal": np.sqrt(2 / FAN_IN),
    "lecun_normal": np.sqrt(1 / FAN_IN),
    "normal": 0.37,  # the init_scale passed below
}
UNIFORM_LIMIT = {
    "glorot_uniform": np.sqrt(6 / (FAN_IN + FAN_OUT)),
    "he_uniform": np.sqrt(6 / FAN_IN),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_STD))
def test_initializer_std_matches_its_formula(name):
    W = INITIALIZERS[name](np.random.default_rng(0), FAN_IN, FAN_OUT, np.float64, 0.37)
    assert W.shape == (FAN_IN, FAN_OUT)
    # 150,000 draws: the std estimate is within ~0.5% (4 standard errors).
    assert W.std() == pytest.approx(EXPECTED_STD[name], rel=0.01)
    assert abs(W.mean()) < 0.01 * EXPECTED_STD[name]
    if name in UNIFORM_LIMIT:
        assert np.abs(W).max() <= UNIFORM_LIMIT[name]
        assert np.abs(W).max() > 0.99 * UNIFORM_LIMIT[name]
    else:  # normal: about 0.27% of the draws beyond 3 std
        assert np.mean(np.abs(W) > 3 * EXPECTED_STD[name]) == pytest.approx(0.0027, abs=0.001)


@pytest.mark.parametrize("shape", [(30, 50), (50, 30), (40, 40)])
def test_orthogonal_is_orthogonal_times_gain(shape):
    gain = 1.7
    W = INITIALIZERS["orthogonal"](np.random.default_rng(0), *shape, np.float64, None, gain)
    small = min(shape)
    gram = W @ W.T if shape[0] <= shape[1] else W.T @ W
    assert_allclose(gram, gain**2 * np.eye(small), atol=1e-10)


def test_initializers_keep_dtype_and_differ_with_the_seed():
    for name, init in INITIALIZERS.items():
        a = init(np.random.default_rng(0), 8, 9, np.float32, 0.1, 1.0)
        b = init(np.random.default_rng(1), 8, 9, np.float32, 0.1, 1.0)
        assert a.dtype == np.float32, name
        assert not np.array_equal(a, b), name


@pytest.mark.parametrize(
    "activation, expected",
    [
        ("relu", "he_uniform"),
        ("leaky_relu", "he_uniform"),
        ("elu", "he_uniform"),
        ("gelu", "he_uniform"),
        ("softplus", "he_uniform"),
        ("selu", "lecun_normal"),
        ("sigmoid", "glorot_uniform"),
        ("logistic", "glorot_uniform"),
        ("tanh", "glorot_uniform"),
        ("identity", "glorot_uniform"),
    ],
)
def test_auto_init_picks_the_scheme_of_the_activation(activation, expected):
    assert resolve_init("auto", activation) == expected
    assert resolve_init("orthogonal", activation) == "orthogonal"


def test_network_initialize_uses_gain_for_hidden_layers_only():
    net = Network([40, 60, 60, 10], "tanh", "softmax_cross_entropy",
                  normalization="layer", dtype=np.float64)
    net.params[...] = 7.0  # initialize must overwrite everything
    net.initialize(np.random.default_rng(0), "orthogonal")
    gain = GAINS["tanh"]
    assert_allclose(net.coefs[0] @ net.coefs[0].T, gain**2 * np.eye(40), atol=1e-10)
    assert_allclose(net.coefs[1].T @ net.coefs[1], gain**2 * np.eye(60), atol=1e-10)
    assert_allclose(net.coefs[2].T @ net.coefs[2], np.eye(10), atol=1e-10)  # output: gain 1
    for b in net.intercepts:
        assert_array_equal(b, 0)
    for norm in net.norms:
        assert_array_equal(norm.gamma, 1)
        assert_array_equal(norm.beta, 0)


def test_network_initialize_normal_uses_init_scale():
    net = Network([200, 300, 300, 5], "relu", "softmax_cross_entropy", dtype=np.float64)
    net.initialize(np.random.default_rng(0), "normal", init_scale=0.05)
    for W in net.coefs[:2]:
        assert W.std() == pytest.approx(0.05, rel=0.02)


# -------------------------------------------------------------- activations
Z = np.concatenate([np.linspace(-6, 6, 241), [-40.0, -1e-3, 1e-3, 40.0]])


def _reference(name, z):
    """The activations written from their textbook definitions."""
    with np.errstate(over="ignore"):
        return {
            "identity": z,
            "sigmoid": 1 / (1 + np.exp(-z)),
            "tanh": (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)),
            "relu": np.where(z > 0, z, 0.0),
            "leaky_relu": np.where(z > 0, z, 0.01 * z),
            "elu": np.where(z > 0, z, np.exp(z) - 1),
            "selu": 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * (np.exp(z) - 1)),
            "gelu": z * stats.norm.cdf(z),
            "softplus": np.log(1 + np.exp(z)),
        }[name]


@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_activation_forward_matches_definition(name):
    out = np.empty_like(Z)
    ACTIVATIONS[name](Z, out)
    assert_allclose(out, _reference(name, Z), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("in_place", [False, True])
@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_activation_with_zeros_buffer_and_in_place(name, in_place):
    # The network passes an array of zeros, and computes some activations in place.
    z = Z.copy()
    out = z if in_place else np.empty_like(z)
    ACTIVATIONS[name](z, out, np.zeros_like(z))
    assert_allclose(out, _reference(name, Z), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_zeros_buffer_is_read_by_exactly_the_activations_of_uses_zeros(name):
    poisoned = np.full_like(Z, np.nan)  # only a function that reads it gets NaN
    out = np.empty_like(Z)
    ACTIVATIONS[name](Z, out, poisoned)
    assert np.isnan(out).any() == (name in USES_ZEROS)
    net = Network([5, 6, 6, 3], name, "softmax_cross_entropy")
    zeros = net._training_workspace(4)["zeros"]
    assert all((z is not None) == (name in USES_ZEROS) for z in zeros)


@pytest.mark.parametrize("normalization", [None, "batch"])
@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_activations_whose_derivative_reads_only_the_output_run_in_place(
    name, normalization
):
    net = Network([5, 6, 6, 3], name, "softmax_cross_entropy", normalization=normalization)
    ws = net._training_workspace(4)
    pre = ws["norm_out"] if normalization else ws["z"]
    in_place = name in {"identity", "sigmoid", "tanh", "relu"}
    for a, z in zip(ws["a"], pre):
        assert (a is z) == in_place
        assert np.shares_memory(a, z) == in_place


@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_activation_is_stable_for_huge_inputs(name):
    z = np.array([-1e30, -800.0, 800.0, 1e30], dtype=np.float32)
    out = np.empty_like(z)
    with np.errstate(over="raise", invalid="raise"):
        ACTIVATIONS[name](z, out)
    assert not np.isnan(out).any()


@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_activation_derivative_matches_finite_differences(name):
    z = Z[np.abs(Z) > 1e-2]  # away from the kinks of the relu family at 0
    a = np.empty_like(z)
    ACTIVATIONS[name](z, a)
    delta = np.ones_like(z)
    DERIVATIVES[name](z, a, delta)
    h = 1e-6
    numeric = (_reference(name, z + h) - _reference(name, z - h)) / (2 * h)
    assert_allclose(delta, numeric, rtol=1e-6, atol=1e-8)


def test_selu_constants_make_it_self_normalizing():
    # Klambauer et al. (2017): for z ~ N(0, 1), selu(z) has mean 0 and variance 1.
    def selu(z):
        out = np.empty(1)
        ACTIVATIONS["selu"](np.array([z]), out)
        return out[0]

    mean = integrate.quad(lambda z: selu(z) * stats.norm.pdf(z), -np.inf, np.inf)[0]
    second = integrate.quad(lambda z: selu(z) ** 2 * stats.norm.pdf(z), -np.inf, np.inf)[0]
    assert abs(mean) < 1e-7
    assert second == pytest.approx(1.0, abs=1e-7)
    assert SELU_ALPHA == pytest.approx(1.6732632423543772, rel=1e-15)
    assert SELU_SCALE == pytest.approx(1.0507009873554805, rel=1e-15)


def test_gelu_is_exact_not_the_tanh_approximation():
    z = np.array([-2.0, -0.5, 1.0, 1.5])
    out = np.empty_like(z)
    ACTIVATIONS["gelu"](z, out)
    tanh_approx = 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3)))
    assert_allclose(out, z * stats.norm.cdf(z), rtol=1e-14)
    assert np.abs(out - tanh_approx).max() > 1e-5  # the two really differ here


def test_leaky_relu_slope_and_logistic_alias():
    assert LEAKY_RELU_SLOPE == 0.01
    assert canonical_activation("logistic") == "sigmoid"
    assert canonical_activation("tanh") == "tanh"
    out = np.empty(3)
    ACTIVATIONS["sigmoid"](np.array([-1.0, 0.0, 2.0]), out)
    assert_allclose(out, expit([-1.0, 0.0, 2.0]))


# ------------------------------------------------------------ normalization
def _batch_norm(width, rng):
    gamma, beta = rng.uniform(0.5, 2, width), rng.normal(0, 1, width)
    return BatchNorm(gamma, beta, np.empty(width), np.empty(width),
                     np.zeros(width), np.ones(width))


def test_batch_norm_training_normalizes_and_updates_running_statistics():
    rng = np.random.default_rng(0)
    bn = _batch_norm(5, rng)
    z = rng.normal(3.0, 2.0, (64, 5))
    out = np.empty_like(z)
    bn.forward(z, out, {"normalized": np.empty_like(z)}, train=True)
    xhat = (out - bn.beta) / bn.gamma
    assert_allclose(xhat.mean(axis=0), 0, atol=1e-12)
    assert_allclose(xhat.var(axis=0), z.var(axis=0) / (z.var(axis=0) + bn.eps), rtol=1e-12)
    # The documented convention: momentum 0.1 (PyTorch's), and the running
    # variance averages the batch variance that training normalizes with.
    m = 0.1
    assert_allclose(bn.running_mean, m * z.mean(axis=0))
    assert_allclose(bn.running_var, (1 - m) + m * z.var(axis=0))


def test_batch_norm_inference_uses_running_statistics():
    rng = np.random.default_rng(1)
    bn = _batch_norm(4, rng)
    bn.running_mean[...] = rng.normal(size=4)
    bn.running_var[...] = rng.uniform(0.5, 3, 4)
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    z = rng.normal(size=(10, 4))
    out = np.empty_like(z)
    bn.forward(z, out, None, train=False)
    expected = bn.gamma * (z - mean) / np.sqrt(var + bn.eps) + bn.beta
    assert_allclose(out, expected, rtol=1e-12)
    assert_array_equal(bn.running_mean, mean)  # prediction never updates them
    assert_array_equal(bn.running_var, var)


def _trained_network(normalization, dropout=0.0, seed=0):
    """A float64 net after a few training-mode batches (running stats updated)."""
    net = _make_network([6, 16, 16, 3], "relu", normalization=normalization,
                        dropout=dropout, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        X = rng.normal(1.0, 2.0, (32, 6))
        Y = np.eye(3)[rng.integers(0, 3, 32)]
        net.loss_and_gradient(X, Y, None, 32, 0.0, rng)
        net.params -= 0.1 * net.grads
    return net


def test_batch_norm_predictions_do_not_depend_on_the_batch():
    net = _trained_network("batch")
    assert not np.allclose(net.running_means[0], 0)  # the statistics were learned
    X = np.random.default_rng(3).normal(1.0, 2.0, (25, 6))
    together = net.predict_logits(X)
    one_by_one = np.vstack([net.predict_logits(X[i : i + 1]) for i in range(len(X))])
    assert_allclose(together, one_by_one, rtol=1e-12, atol=1e-12)
    assert_allclose(net.predict_logits(X[5:9]), together[5:9], rtol=1e-12, atol=1e-12)


def test_layer_norm_output_has_zero_mean_unit_variance_per_sample():
    rng = np.random.default_rng(0)
    width = 50
    ln = LayerNorm(np.ones(width), np.zeros(width), np.empty(width), np.empty(width))
    z = rng.normal(4.0, 3.0, (20, width)) * rng.uniform(0.1, 10, (20, 1))
    out = np.empty_like(z)
    ln.forward(z, out, None, train=False)
    assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    assert_allclose(out.std(axis=1), 1, rtol=1e-4)
    # gamma and beta scale and shift each feature.
    ln.gamma[...] = rng.uniform(0.5, 2, width)
    ln.beta[...] = rng.normal(size=width)
    out2 = np.empty_like(z)
    ln.forward(z, out2, None, train=False)
    assert_allclose(out2, out * ln.gamma + ln.beta, rtol=1e-12)


def test_layer_norm_train_and_predict_agree_and_ignore_other_rows():
    net = _trained_network("layer")
    X = np.random.default_rng(4).normal(size=(9, 6))
    ws = net._new_workspace(9, train=True)
    train_logits = net.forward(X, ws, train=True).copy()
    assert_allclose(net.predict_logits(X), train_logits, rtol=1e-12)
    assert_allclose(net.predict_logits(X[:1]), train_logits[:1], rtol=1e-12)


# ------------------------------------------------------------------ dropout
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_mask_rate_and_inverted_scaling(rate):
    mask = dropout_mask(np.random.default_rng(0), (400, 500), rate, np.dtype(np.float64))
    zero = mask == 0
    # 200,000 draws: the fraction is within 0.005 of the rate (> 5 standard errors).
    assert zero.mean() == pytest.approx(rate, abs=0.005)
    assert_allclose(mask[~zero], 1 / (1 - rate))
    assert mask.mean() == pytest.approx(1.0, abs=0.02)  # expectation preserved


def test_dropout_in_training_only():
    net = _make_network([6, 200, 200, 3], "sigmoid", dropout=0.3)
    X = np.random.default_rng(0).normal(size=(50, 6))
    ws = net._new_workspace(50, train=True)
    net.forward(X, ws, train=True, rng=np.random.default_rng(1))
    h = ws["dropped"][0]
    # sigmoid outputs are never 0: every zero was dropped, the rest rescaled.
    assert (h == 0).mean() == pytest.approx(0.3, abs=0.02)
    kept = h != 0
    assert_allclose(h[kept], ws["a"][0][kept] / 0.7)
    # Prediction: no dropout, deterministic, equal to the same net without dropout.
    plain = Network(net.layer_sizes, "sigmoid", "softmax_cross_entropy", dtype=np.float64)
    plain.params[...] = net.params
    assert_array_equal(net.predict_logits(X), net.predict_logits(X))
    assert_allclose(net.predict_logits(X), plain.predict_logits(X), rtol=1e-12)


def test_dropout_masks_change_with_the_generator_state():
    net = _make_network([6, 30, 3], "tanh", dropout=0.5)
    X = np.random.default_rng(0).normal(size=(10, 6))
    ws = net._new_workspace(10, train=True)
    rng = np.random.default_rng(1)
    net.forward(X, ws, train=True, rng=rng)
    first = ws["mask"][0].copy()
    net.forward(X, ws, train=True, rng=rng)
    assert not np.array_equal(first, ws["mask"][0])


# ----------------------------------------------------------------- clipping
def test_clip_by_global_norm_caps_the_norm_and_keeps_the_direction():
    g = np.random.default_rng(0).normal(size=1000).astype(np.float32) * 10
    original = g.copy()
    norm = _clip_by_global_norm(g, 1.5)
    assert norm == pytest.approx(np.linalg.norm(original.astype(np.float64)), rel=1e-6)
    assert np.linalg.norm(g) == pytest.approx(1.5, rel=1e-5)
    assert_allclose(g / np.linalg.norm(g), original / np.linalg.norm(original), rtol=1e-5)


def test_clip_by_global_norm_leaves_small_gradients_alone():
    g = np.array([0.3, -0.4])
    norm = _clip_by_global_norm(g, 1.0)
    assert norm == pytest.approx(0.5)
    assert_array_equal(g, [0.3, -0.4])


# ------------------------------------------------- residual stream at init
def _stream_variance_ratio(activation, init, depth, seed, scaling="linear"):
    """Variance of the last block's output over the stem's, at initialization."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(256, 32)).astype(np.float32)
    net = Network([32] + [32] * depth + [3], activation, "softmax_cross_entropy",
                  residual=True)
    net.residual_scaling = scaling
    net._bind()
    net.initialize(rng, init)
    ws = net._new_workspace(len(X), train=False)
    net.forward(X, ws)
    return ws["inputs"][-1].var() / ws["a"][0].var()


@pytest.mark.parametrize("activation, init", [("relu", "he_uniform"),
                                              ("tanh", "glorot_uniform")])
def test_residual_stream_variance_stays_bounded_at_depth_50(activation, init):
    # A relu branch is positive and correlated with the stream it is added to:
    # with 1/sqrt(n_blocks) the variance grew x64 at depth 50 (x13600 at 200).
    # Scaled by 1/n_blocks, the stream's rms grows at most by e (triangle
    # inequality, branches of gain about 1 at initialization).
    ratios = [_stream_variance_ratio(activation, init, 50, seed) for seed in range(3)]
    assert max(ratios) < np.e
    if activation == "relu":  # the old scaling, which the bound catches
        assert _stream_variance_ratio(activation, init, 50, 0, "sqrt") > 10


def test_residual_scaling_of_old_pickles_is_kept():
    net = Network([4, 8, 8, 8, 8, 2], "relu", "squared_error", residual=True)
    assert net.residual_scale == pytest.approx(1 / len(net.blocks))
    state = net.__getstate__()
    del state["residual_scaling"]  # as pickled before 0.2.0
    old = Network.__new__(Network)
    old.__setstate__(state)
    assert old.residual_scale == pytest.approx(1 / np.sqrt(len(net.blocks)))


def test_has_finite_state_covers_parameters_and_running_statistics():
    net = Network([3, 4, 4, 2], "relu", "squared_error", normalization="batch")
    net.initialize(np.random.default_rng(0), "he_uniform")
    assert net.has_finite_state()
    net.running_vars[1][2] = np.inf
    assert not net.has_finite_state()
    net.running_vars[1][2] = 1.0
    net.running_means[0][0] = np.nan
    assert not net.has_finite_state()
    net.running_means[0][0] = 0.0
    net.coefs[1][0, 0] = np.nan
    assert not net.has_finite_state()
    plain = Network([3, 4, 2], "relu", "squared_error")
    assert plain.has_finite_state()
    plain.intercepts[0][1] = -np.inf
    assert not plain.has_finite_state()


@pytest.mark.parametrize("depth", [1, 3, 4, 10])
def test_auto_plan_follows_scikit_learn_in_the_first_relu_layers(depth):
    schemes, drawn = auto_plan("auto", "relu", depth)
    n_glorot = min(depth, GLOROT_RELU_LAYERS)
    assert schemes == (["glorot_uniform"] * n_glorot + ["he_uniform"] * (depth - n_glorot)
                       + ["glorot_uniform"])
    assert drawn == [True] * n_glorot + [False] * (depth - n_glorot) + [True]
    # Other activations and explicit schemes: one scheme, zero biases.
    assert auto_plan("auto", "tanh", depth) == (["glorot_uniform"] * (depth + 1),
                                                [False] * (depth + 1))
    assert auto_plan("auto", "selu", depth)[0] == ["lecun_normal"] * depth + ["glorot_uniform"]
    assert auto_plan("he_normal", "relu", depth) == (["he_normal"] * (depth + 1),
                                                     [False] * (depth + 1))


def test_drawn_biases_follow_glorot_limits():
    net = Network([10, 100, 100, 100, 100, 100, 1], "relu", "squared_error", dtype=np.float64)
    schemes, drawn = auto_plan("auto", "relu", net.depth)
    net.initialize(np.random.default_rng(0), schemes, drawn_biases=drawn)
    limits = [np.sqrt(6 / (a + b)) for a, b in net._weight_shapes]
    for i, (W, b) in enumerate(zip(net.coefs, net.intercepts)):
        if i in (4,):  # the fifth hidden layer: He weights, zero biases
            assert np.all(b == 0)
            assert np.abs(W).max() > 1.2 * limits[i]  # He's limit is sqrt(2) x Glorot's here
        else:  # scikit-learn's init: U(-l, l) weights and biases
            assert np.abs(b).max() <= limits[i] and np.any(b != 0)
            assert b.size == 1 or np.abs(b).max() > 0.8 * limits[i]
            assert 0.9 * limits[i] < np.abs(W).max() <= limits[i]


def test_training_workspace_of_a_wide_relu_fit_holds_no_spare_buffers():
    """Without callbacks (keep_deltas=False) a wide relu network keeps no array
    of batch x width zeros, no delta buffer beside its layers' outputs and no
    L2 scratch of its own, and its gradient (L2 included) still matches
    finite differences (issue 15's memory bound)."""
    rng = np.random.default_rng(0)
    net = Network([4, 40, 40, 3], "relu", "softmax_cross_entropy", dtype=np.float64)
    net.initialize(rng, "he_uniform")
    n = 500  # 500 x 40 values: above the size that gets a full array of zeros
    X = rng.normal(size=(n, 4))
    y = rng.integers(0, 3, n)

    def loss():
        return net.loss_and_gradient(X, y, None, n, 0.3, keep_deltas=False)

    loss()
    ws = net._workspace
    assert all(zeros.shape == (1, 40) for zeros in ws["zeros"])
    assert all(any(d is z for z in ws["z"]) for d in ws["grad_z"])
    assert any(np.shares_memory(ws["l2_step"], z) for z in ws["z"])
    analytic = net.grads.copy()
    numeric = np.empty_like(analytic)
    eps = 1e-6
    for i in range(net.params.size):
        old = net.params[i]
        net.params[i] = old + eps
        plus = loss()
        net.params[i] = old - eps
        minus = loss()
        net.params[i] = old
        numeric[i] = (plus - minus) / (2 * eps)
    assert np.count_nonzero(numeric) > 0.75 * numeric.size
    assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7 * max(1.0, np.abs(numeric).max()))


def test_small_batches_keep_a_full_array_of_zeros():
    """The deep-narrow network's 32 x 64 batches keep the faster full array."""
    net = Network([64] * 3 + [10], "relu", "softmax_cross_entropy")
    net.initialize(np.random.default_rng(0), "he_uniform")
    ws = net._training_workspace(32, keep_deltas=False)
    assert all(zeros.shape == (32, 64) for zeros in ws["zeros"])


def test_clip_by_global_norm_is_torchs_clip_grad_norm():
    # torch.nn.utils.clip_grad_norm_ multiplies by max_norm / (norm + 1e-6) when
    # that is below one: a gradient exactly at the limit is scaled by 1 / (1 + 1e-6).
    g = np.array([0.6, 0.8])
    _clip_by_global_norm(g, 1.0)
    assert_array_equal(g, np.array([0.6, 0.8]) * (1.0 / (1.0 + 1e-6)))
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for scale, max_norm in [(10.0, 1.5), (1.0, 1.0), (1e-3, 0.5)]:
        g = rng.normal(size=50) * scale
        ours = g.copy()
        _clip_by_global_norm(ours, max_norm)
        tensor = torch.tensor(g, requires_grad=True)
        tensor.grad = torch.tensor(g)
        torch.nn.utils.clip_grad_norm_([tensor], max_norm)
        assert_allclose(ours, tensor.grad.numpy(), rtol=1e-15, atol=0)
