"""Jacobian-vector products of each layer and residual block, against finite differences."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sk_deepnet._network import Network

CONFIGS = [
    dict(activation="tanh"),
    dict(activation="relu"),
    dict(activation="gelu", normalization="batch"),
    dict(activation="elu", normalization="layer"),
    dict(activation="sigmoid", normalization="batch", residual=True),
    dict(activation="softplus", residual=True, residual_block_size=2),
]


def _network(activation, normalization=None, residual=False, residual_block_size=2):
    rng = np.random.default_rng(0)
    net = Network(
        [5, 6, 6, 4, 4, 3], activation, "softmax_cross_entropy", normalization=normalization,
        residual=residual, residual_block_size=residual_block_size, dtype=np.float64,
    )
    net.initialize(rng, "glorot_uniform")
    for norm in net.norms:  # not the identity at initialization
        norm.gamma[...] = rng.uniform(0.5, 1.5, norm.gamma.shape)
        norm.beta[...] = rng.normal(size=norm.beta.shape)
    for mean, var in zip(net.running_means, net.running_vars):
        mean[...] = rng.normal(size=mean.shape)
        var[...] = rng.uniform(0.5, 2.0, var.shape)
    return net


def _fan_in(net, layer):
    return net.coefs[layer].shape[0]


def _finite_difference(f, h, v, eps=1e-6):
    return (f(h + eps * v) - f(h - eps * v)) / (2 * eps)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("train", [True, False])
def test_layer_jvp_and_vjp_match_finite_differences(config, train):
    net = _network(**config)
    rng = np.random.default_rng(1)
    for layer in range(net.depth + 1):
        h = rng.normal(size=(7, _fan_in(net, layer)))
        v = rng.normal(size=h.shape)
        out, jvp = net.jvp_layer(layer, h, v, train=train)
        expected = _finite_difference(lambda x: net.jvp_layer(layer, x, v, train)[0], h, v)
        assert_allclose(jvp, expected, rtol=1e-6, atol=1e-7)
        u = rng.normal(size=out.shape)
        out_v, vjp = net.vjp_layer(layer, h, u, train=train)
        assert_array_equal(out_v, out)
        # <u, J v> == <J^T u, v>
        assert np.sum(u * jvp) == pytest.approx(np.sum(vjp * v), rel=1e-10)


@pytest.mark.parametrize("config", [c for c in CONFIGS if c.get("residual")])
@pytest.mark.parametrize("train", [True, False])
def test_residual_block_jvp_and_vjp_match_finite_differences(config, train):
    net = _network(**config)
    assert net.blocks
    rng = np.random.default_rng(2)
    for block, (first, _) in enumerate(net.blocks):
        h = rng.normal(size=(6, _fan_in(net, first)))
        v = rng.normal(size=h.shape)
        out, jvp = net.jvp_block(block, h, v, train=train)
        expected = _finite_difference(lambda x: net.jvp_block(block, x, v, train)[0], h, v)
        assert_allclose(jvp, expected, rtol=1e-6, atol=1e-7)
        u = rng.normal(size=out.shape)
        _, vjp = net.vjp_block(block, h, u, train=train)
        assert np.sum(u * jvp) == pytest.approx(np.sum(vjp * v), rel=1e-10)


def test_layer_maps_compose_to_the_networks_inference_output():
    # The maps are the network's own: chained, they give predict_logits.
    net = _network("tanh", normalization="batch")
    X = np.random.default_rng(3).normal(size=(8, 5))
    h = X
    for layer in range(net.depth + 1):
        h, _ = net.jvp_layer(layer, h, np.zeros_like(h), train=False)
    assert_allclose(h, net.predict_logits(X), rtol=1e-12)


def test_products_have_no_side_effects():
    net = _network("relu", normalization="batch", residual=True)
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(8, 5)), np.eye(3)[np.arange(8) % 3]
    net.loss_and_gradient(X, Y, None, 8.0)
    def state():
        arrays = [net.params, net.grads, *net.running_means, *net.running_vars,
                  *net.last_batch["a"], *net.last_batch["deltas"]]
        return [a.copy() for a in arrays], net.batches_computed

    before = state()
    h = rng.normal(size=(8, 5))
    net.jvp_layer(0, h, h, train=True)
    net.vjp_layer(0, h, rng.normal(size=(8, 6)), train=True)
    net.jvp_block(0, rng.normal(size=(8, 6)), rng.normal(size=(8, 6)))
    net.vjp_block(0, rng.normal(size=(8, 6)), rng.normal(size=(8, 4)))
    after = state()
    assert before[1] == after[1]
    for old, new in zip(before[0], after[0]):
        assert_array_equal(old, new)


def test_bad_layer_or_block_index_is_refused():
    net = _network("tanh")
    with pytest.raises(ValueError, match="weight layer index"):
        net.jvp_layer(net.depth + 1, np.zeros((2, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="residual block index"):
        net.jvp_block(0, np.zeros((2, 6)), np.zeros((2, 6)))
