"""Hidden-layer activation functions as a table of (forward, derivative) pairs.

Each forward writes ``f(z)`` into ``out``, which may be ``z`` itself. The
optional ``zeros``, an array of zeros of ``z``'s shape (or a single row of
them, which broadcasts), lets the functions of
:data:`USES_ZEROS` take the maximum of two arrays, which NumPy vectorizes,
instead of the maximum of an array and a scalar, which it does not (2 to 3
times slower on a 256 x 512 batch). Each derivative multiplies the
back-propagated error ``delta`` in place by ``f'(z)``, given both the
pre-activation ``z`` and the activation ``a = f(z)`` (whichever is cheaper to
use). For the activations of :data:`OUTPUT_DERIVATIVES` the derivative needs
``a`` only, so the network computes them in place and keeps no separate
pre-activation buffer. Keeping them as small pure functions in dicts follows
``sklearn.neural_network._base`` and keeps the network code free of branches.
"""

import numpy as np
from scipy.special import erf, expit

# Constants of the self-normalizing SELU (Klambauer et al., 2017).
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
LEAKY_RELU_SLOPE = 0.01
_SQRT_HALF = np.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _identity(z, out, zeros=None):
    if out is not z:
        np.copyto(out, z)


def _sigmoid(z, out, zeros=None):
    expit(z, out=out)  # numerically stable for large |z|


def _tanh(z, out, zeros=None):
    np.tanh(z, out=out)


def _relu(z, out, zeros=None):
    if zeros is not None:
        np.maximum(z, zeros, out=out)
    elif out is z:
        np.maximum(z, 0, out=out)
    else:
        out.fill(0)  # zeros of our own
        np.maximum(z, out, out=out)


def _leaky_relu(z, out, zeros=None):
    np.maximum(z, LEAKY_RELU_SLOPE * z, out=out)


def _elu(z, out, zeros=None):
    zero = 0 if zeros is None else zeros
    positive = np.maximum(z, zero)
    np.minimum(z, zero, out=out)
    np.expm1(out, out=out)
    out += positive


def _selu(z, out, zeros=None):
    negative = z <= 0  # before out (which may be z) is written
    _elu(z, out, zeros)
    out[negative] *= SELU_ALPHA
    out *= SELU_SCALE


def _gelu(z, out, zeros=None):
    # Exact GELU: z * Phi(z), with Phi the standard normal CDF.
    phi = erf(z * _SQRT_HALF)
    phi += 1
    phi *= 0.5
    np.multiply(z, phi, out=out)


def _softplus(z, out, zeros=None):
    np.logaddexp(0, z, out=out)  # log(1 + exp(z)) without overflow


ACTIVATIONS = {
    "identity": _identity,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "selu": _selu,
    "gelu": _gelu,
    "softplus": _softplus,
}


def _d_identity(z, a, delta):
    pass


def _d_sigmoid(z, a, delta):
    delta *= a
    delta *= 1 - a


def _d_tanh(z, a, delta):
    delta *= 1 - a**2


def _d_relu(z, a, delta):
    delta *= a > 0


def _d_leaky_relu(z, a, delta):
    delta *= np.where(z > 0, 1.0, LEAKY_RELU_SLOPE).astype(delta.dtype)


def _d_elu(z, a, delta):
    # f'(z) = 1 for z > 0, exp(z) = a + 1 otherwise.
    delta *= np.where(z > 0, 1, a + 1)


def _d_selu(z, a, delta):
    # f'(z) = scale for z > 0, scale * alpha * exp(z) = a + scale * alpha otherwise.
    delta *= np.where(z > 0, SELU_SCALE, a + SELU_SCALE * SELU_ALPHA)


def _d_gelu(z, a, delta):
    cdf = erf(z * _SQRT_HALF)
    cdf += 1
    cdf *= 0.5
    pdf = np.exp(-0.5 * z**2) * _INV_SQRT_2PI
    pdf *= z
    cdf += pdf
    delta *= cdf


def _d_softplus(z, a, delta):
    delta *= expit(z)


DERIVATIVES = {
    "identity": _d_identity,
    "sigmoid": _d_sigmoid,
    "tanh": _d_tanh,
    "relu": _d_relu,
    "leaky_relu": _d_leaky_relu,
    "elu": _d_elu,
    "selu": _d_selu,
    "gelu": _d_gelu,
    "softplus": _d_softplus,
}

#: Activations whose derivative is a function of the output ``a`` alone (their
#: derivatives never read ``z``), so they can be computed in place.
OUTPUT_DERIVATIVES = frozenset({"identity", "sigmoid", "tanh", "relu"})

#: For the activations whose derivative is a 0/1 function of the output ``a``
#: alone: that mask. The training pass without callbacks takes it before it
#: writes a layer's delta over ``a`` (see ``Network._shared_deltas``), so that
#: the delta needs no buffer of its own; ``delta *= mask`` is what the
#: derivative computes (bit for bit).
OUTPUT_MASKS = {"relu": lambda a: a > 0}

#: Activations that use the ``zeros`` array when they are given one.
USES_ZEROS = frozenset({"relu", "elu", "selu"})

#: Accepted spellings that map onto a canonical activation name.
ALIASES = {"logistic": "sigmoid"}

#: Activations whose units are bounded and can saturate, with their bounds.
BOUNDS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}

#: Recommended gain for orthogonal initialization (as ``torch.nn.init.calculate_gain``).
GAINS = {
    "identity": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3.0,
    "relu": np.sqrt(2.0),
    "leaky_relu": np.sqrt(2.0 / (1 + LEAKY_RELU_SLOPE**2)),
    "elu": np.sqrt(2.0),
    "selu": 0.75,
    "gelu": np.sqrt(2.0),
    "softplus": np.sqrt(2.0),
}


def canonical_activation(name):
    """Return the canonical activation name for ``name`` (resolving aliases)."""
    return ALIASES.get(name, name)


# Second derivatives f''(z), given z and a = f(z), for exact Hessian-vector
# products (the R-operator of sk_deepnet._curvature). Piecewise-linear
# activations have f'' = 0 almost everywhere, as autograd takes it. elu and
# selu's f'' jumps at z = 0: we take the left-hand value there, PyTorch's
# autograd the right-hand 0 (tests/test_torch_reference.py).
def _dd_zero(z, a):
    return np.zeros_like(a)


def _dd_sigmoid(z, a):
    return a * (1 - a) * (1 - 2 * a)


def _dd_tanh(z, a):
    return -2 * a * (1 - a**2)


def _dd_elu(z, a):
    return np.where(z > 0, 0.0, a + 1)  # exp(z) = a + 1 for z <= 0


def _dd_selu(z, a):
    return np.where(z > 0, 0.0, a + SELU_SCALE * SELU_ALPHA)


def _dd_gelu(z, a):
    return np.exp(-0.5 * z**2) * _INV_SQRT_2PI * (2 - z**2)  # phi(z) (2 - z^2)


def _dd_softplus(z, a):
    s = expit(z)
    return s * (1 - s)


SECOND_DERIVATIVES = {
    "identity": _dd_zero,
    "sigmoid": _dd_sigmoid,
    "tanh": _dd_tanh,
    "relu": _dd_zero,
    "leaky_relu": _dd_zero,
    "elu": _dd_elu,
    "selu": _dd_selu,
    "gelu": _dd_gelu,
    "softplus": _dd_softplus,
}
