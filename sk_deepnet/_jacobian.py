"""Jacobian-vector products of the network's layers, without side effects.

For diagnostics that probe the network's local linear behaviour (singular
values of layer Jacobians, Hessian-vector products): they must not touch the
training buffers, the running statistics or the gradients. Each function here
recomputes the layer's forward pass on fresh arrays and applies its
linearization:

* hidden weight layer ``l`` (``0 <= l < depth``): ``h -> act(norm(h W + b))``;
* the output layer (``l = depth``): ``h -> h W + b`` (the logits);
* residual block ``k``: ``h -> scale * F(h) + skip(h)``, ``F`` the composition
  of its layers and ``skip`` the identity or the learned projection.

Dropout is left out (it is random; its expectation is the identity). Batch
normalization takes the batch statistics of ``h`` (training form: the rows of
a batch interact, so ``v`` is a tangent of the whole batch; sample weights are
not applied) or the running statistics (inference form); layer normalization
is the same in both. The normalizations' Jacobians are symmetric, so the
vector-Jacobian products reuse them.
"""

import numpy as np

from ._activations import ACTIVATIONS, DERIVATIVES

__all__ = ["block_jvp", "block_vjp", "layer_jvp", "layer_vjp"]


def _check_layer(network, layer):
    if not 0 <= layer <= network.depth:
        raise ValueError(
            f"layer must be a weight layer index in [0, {network.depth}]; got {layer}."
        )


def _normalize(network, layer, z, train):
    """``(xhat, inv_std, axis)`` of the layer's normalization (axis None: fixed stats)."""
    eps = network.norms[layer].eps
    if network.normalization == "layer":
        axis = 1
        mean, var = z.mean(axis=1, keepdims=True), z.var(axis=1, keepdims=True)
    elif train:
        axis = 0
        mean, var = z.mean(axis=0), z.var(axis=0)
    else:
        axis = None
        mean, var = network.running_means[layer], network.running_vars[layer]
    inv_std = 1.0 / np.sqrt(var + eps)
    return (z - mean) * inv_std, inv_std, axis


def _norm_linear(xhat, inv_std, axis, t):
    """The (symmetric) Jacobian of the normalized values w.r.t. z, applied to ``t``."""
    if axis is None:
        return t * inv_std
    centered = t - t.mean(axis=axis, keepdims=True)
    centered -= xhat * (t * xhat).mean(axis=axis, keepdims=True)
    return centered * inv_std


def _forward(network, layer, h, train):
    """The layer's output and what its linearization needs."""
    z = np.asarray(h @ network.coefs[layer]) + network.intercepts[layer]
    if layer == network.depth:
        return z, None
    norm = None
    pre = z
    if network.normalization is not None:
        xhat, inv_std, axis = _normalize(network, layer, z, train)
        pre = xhat * network.norms[layer].gamma + network.norms[layer].beta
        norm = (xhat, inv_std, axis)
    a = np.empty_like(pre)
    ACTIVATIONS[network.activation](pre, a)
    return a, (pre, a, norm)


def _activation_linear(network, cache, t):
    pre, a, _ = cache
    t = t.copy()
    DERIVATIVES[network.activation](pre, a, t)  # multiplies t by f'(pre)
    return t


def layer_jvp(network, layer, h, v, train=True):
    """Output of weight layer ``layer`` at ``h`` and its Jacobian applied to ``v``.

    Parameters
    ----------
    network : Network
    layer : int
        Weight layer, ``0 <= layer <= network.depth`` (``depth``: the output layer).
    h : ndarray of shape (n_samples, fan_in)
        The layer's input batch.
    v : ndarray of shape (n_samples, fan_in)
        A tangent of ``h``.
    train : bool, default=True
        Batch normalization with the batch statistics of ``h`` (True) or the
        running statistics (False).

    Returns
    -------
    out : ndarray of shape (n_samples, fan_out)
    jvp : ndarray of shape (n_samples, fan_out)
    """
    _check_layer(network, layer)
    out, cache = _forward(network, layer, h, train)
    t = np.asarray(v @ network.coefs[layer])
    if cache is None:
        return out, t
    _, _, norm = cache
    if norm is not None:
        t = _norm_linear(*norm, t) * network.norms[layer].gamma
    return out, _activation_linear(network, cache, t)


def layer_vjp(network, layer, h, u, train=True):
    """Output of weight layer ``layer`` at ``h`` and ``u`` times its Jacobian.

    Parameters are those of :func:`layer_jvp`, with ``u`` of shape
    ``(n_samples, fan_out)``, a cotangent of the output.

    Returns
    -------
    out : ndarray of shape (n_samples, fan_out)
    vjp : ndarray of shape (n_samples, fan_in)
    """
    _check_layer(network, layer)
    out, cache = _forward(network, layer, h, train)
    t = u
    if cache is not None:
        t = _activation_linear(network, cache, u)
        _, _, norm = cache
        if norm is not None:
            t = _norm_linear(*norm, t * network.norms[layer].gamma)
    return out, np.asarray(t @ network.coefs[layer].T)


def _check_block(network, block):
    if not 0 <= block < len(network.blocks):
        raise ValueError(
            f"block must be a residual block index in [0, {len(network.blocks)}); got {block}."
        )


def block_jvp(network, block, h, v, train=True):
    """Output of residual block ``block`` at its input ``h``, and its JVP with ``v``.

    ``scale * F(h) + skip(h)``; see :func:`layer_jvp` for the arguments.
    """
    _check_block(network, block)
    first, last = network.blocks[block]
    out, t = h, v
    for layer in range(first, last + 1):
        out, t = layer_jvp(network, layer, out, t, train)
    projection = network.projections[block]
    skip_out, skip_t = (h, v) if projection is None else (h @ projection.weight, v @ projection.weight)
    scale = network.residual_scale
    return scale * out + skip_out, scale * t + skip_t


def block_vjp(network, block, h, u, train=True):
    """Output of residual block ``block`` at its input ``h``, and ``u`` times its Jacobian."""
    _check_block(network, block)
    first, last = network.blocks[block]
    inputs = [h]
    for layer in range(first, last):
        inputs.append(_forward(network, layer, inputs[-1], train)[0])
    out, t = layer_vjp(network, last, inputs[-1], network.residual_scale * u, train)
    for layer in range(last - 1, first - 1, -1):
        t = layer_vjp(network, layer, inputs[layer - first], t, train)[1]
    projection = network.projections[block]
    skip_out, skip_t = (h, u) if projection is None else (h @ projection.weight, u @ projection.weight.T)
    return network.residual_scale * out + skip_out, t + skip_t
