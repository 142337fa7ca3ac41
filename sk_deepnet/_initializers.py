"""Weight initialization schemes: a table ``name -> function``.

Every function has the signature ``init(rng, fan_in, fan_out, dtype, scale, gain)``
and returns a ``(fan_in, fan_out)`` array. Biases always start at zero.
The bad schemes (``"normal"`` with a tiny or huge ``init_scale``) are kept on
purpose: they reproduce vanishing and exploding gradients.
"""

import numpy as np

from ._activations import canonical_activation

RELU_FAMILY = ("relu", "leaky_relu", "elu", "gelu", "softplus")


def glorot_uniform(rng, fan_in, fan_out, dtype, scale=None, gain=1.0):
    """Glorot & Bengio (2010): U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(dtype)


def glorot_normal(rng, fan_in, fan_out, dtype, scale=None, gain=1.0):
    """Glorot & Bengio (2010): N(0, 2 / (fan_in + fan_out))."""
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, (fan_in, fan_out)).astype(dtype)


def he_uniform(rng, fan_in, fan_out, dtype, scale=None, gain=1.0):
    """He et al. (2015): U(-l, l), l = sqrt(6 / fan_in)."""
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(dtype)


def he_normal(rng, fan_in, fan_out, dtype, scale=None, gain=1.0):
    """He et al. (2015): N(0, 2 / fan_in)."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)).astype(dtype)


def lecun_normal(rng, fan_in, fan_out, dtype, scale=None, gain=1.0):
    """LeCun et al. (1998), used by SELU: N(0, 1 / fan_in)."""
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), (fan_in, fan_out)).astype(dtype)


def orthogonal(rng, fan_in, fan_out, dtype, scale=None, gain=1.0):
    """Saxe et al. (2014): a (semi-)orthogonal matrix times the activation's gain."""
    a = rng.normal(0.0, 1.0, (max(fan_in, fan_out), min(fan_in, fan_out)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # make the distribution uniform (Haar)
    if fan_in < fan_out:
        q = q.T
    return (gain * q).astype(dtype)


def normal(rng, fan_in, fan_out, dtype, scale=0.01, gain=1.0):
    """N(0, scale^2) whatever the layer size: too small vanishes, too large explodes."""
    return rng.normal(0.0, scale, (fan_in, fan_out)).astype(dtype)


INITIALIZERS = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
    "normal": normal,
}


def resolve_init(init, activation):
    """Map ``init="auto"`` onto the scheme suited to ``activation``.

    He for the relu family, LeCun for selu, Glorot for sigmoid, tanh and identity.
    """
    if init != "auto":
        return init
    activation = canonical_activation(activation)
    if activation in RELU_FAMILY:
        return "he_uniform"
    if activation == "selu":
        return "lecun_normal"
    return "glorot_uniform"
