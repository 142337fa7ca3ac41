"""Weight initialization schemes: a table ``name -> function``.

Every function has the signature ``init(rng, fan_in, fan_out, dtype, scale, gain)``
and returns a ``(fan_in, fan_out)`` array. Biases start at zero, except in the
layers where ``init="auto"`` follows scikit-learn (see :func:`auto_plan`).
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


#: Hidden layers of a relu-family network that ``init="auto"`` draws as
#: scikit-learn does (Glorot weights and biases) before switching to He.
GLOROT_RELU_LAYERS = 4


def auto_plan(init, activation, depth):
    """The scheme of every weight matrix and whether its biases are drawn.

    Parameters
    ----------
    init : str
        The estimator's ``init``; an explicit scheme applies to every layer
        (zero biases).
    activation : str
        The hidden activation.
    depth : int
        Number of hidden layers.

    Returns
    -------
    schemes : list of str
        ``depth + 1`` scheme names: the hidden layers, then the output layer.
    drawn_biases : list of bool
        ``True`` where the layer's biases are drawn from the same uniform
        distribution as Glorot's weights (scikit-learn's MLP), else zero.

    Notes
    -----
    ``"auto"`` with the relu family takes scikit-learn's initialization,
    Glorot-uniform weights and biases, for the first ``GLOROT_RELU_LAYERS``
    hidden layers and the output layer, and He-uniform weights (zero biases)
    for the hidden layers beyond. He's factor 2 keeps the activations' scale
    through any depth, which only a deep network needs; in a shallow one it
    starts from a function several times larger whose first layer moves
    (relative to its size) several times slower under Adam's scale-free steps,
    and it overfits (make_friedman1, 3 relu layers of 100: test R^2 0.938 with
    He, 0.975 with Glorot weights and biases, train R^2 0.995 with He; the
    test scores are printed by benchmarks/defaults.py, see the remedies guide).
    Glorot halves the variance at each square relu layer; stopping after
    ``GLOROT_RELU_LAYERS`` bounds that loss to ``2 ** -4`` (a factor 4 in
    standard deviation) at any depth, so deep relu networks keep their
    gradients. Drawn biases also spread the first layer's kinks instead of
    passing them all through the origin of standardized inputs. Other
    activations keep :func:`resolve_init`'s scheme with zero biases, and
    their linear output layer takes Glorot.
    """
    if init != "auto":
        return [init] * (depth + 1), [False] * (depth + 1)
    hidden = resolve_init(init, activation)
    if hidden != "he_uniform":
        return [hidden] * depth + ["glorot_uniform"], [False] * (depth + 1)
    n_glorot = min(depth, GLOROT_RELU_LAYERS)
    schemes = ["glorot_uniform"] * n_glorot + ["he_uniform"] * (depth - n_glorot)
    drawn = [True] * n_glorot + [False] * (depth - n_glorot)
    return schemes + ["glorot_uniform"], drawn + [True]
