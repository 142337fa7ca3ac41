"""Singular values of a network's layer and input-output Jacobians.

Signal propagation in a deep network is governed by its Jacobians: the
per-sample Jacobian ``J_l = d h_l / d h_{l-1}`` of each layer, and their
product, the input-output Jacobian ``d h_L / d x``. When the singular values
of the product all sit near 1 the network is *dynamically isometric*
(Saxe et al. 2014; Pennington, Schoenholz & Ganguli 2017): signals and
gradients keep their size through any depth. A wide spread means that some
directions explode while others vanish.

The Jacobians are exact (no finite differences), per sample, in float64, of
the network in inference mode: dropout off, batch normalization with its
running statistics (a per-unit affine map, so every sample has its own
Jacobian). Each layer's comes from the network's Jacobian-vector products
(:meth:`Network.jvp_layer`). Nothing is written to the network.
"""

import numpy as np

from ._curvature import dense_float64

#: Singular values below this fraction of the largest count as zeros, the
#: Jacobian's rank deficiency, and are left out of the spread: the zero rows of
#: a relu layer's inactive units, a layer narrower than its input, layer
#: normalization's removal of the mean. The singular values come from the
#: eigenvalues of ``J J.T``, accurate to about ``1e-16 * s_max**2``, so to
#: about ``1e-8 * s_max``: the threshold sits well above that rounding.
RANK_TOL = 1e-6

#: The spread compares these quantiles of the non-zero singular values.
SPREAD_QUANTILES = (0.1, 0.9)


def _dense_jacobian(network, layer, h):
    """Per-sample Jacobian of weight layer ``layer`` at its input ``h``, shape (n, out, in).

    Built on the network's side-effect-free Jacobian-vector products
    (:meth:`Network.jvp_layer`, inference form): one product per sample and
    input direction, all in one call, the rows of ``h`` repeated once per
    direction (each sample is its own function in inference mode).
    """
    n, d = h.shape
    tangents = np.tile(np.eye(d), (n, 1))  # row (sample s, direction j): e_j
    _, jvp = network.jvp_layer(layer, np.repeat(h, d, axis=0), tangents, train=False)
    return jvp.reshape(n, d, -1).transpose(0, 2, 1)


def layer_jacobians(network, X, cumulative=False):
    """Per-sample Jacobians of every layer and of the hidden stack.

    Parameters
    ----------
    network : Network
        The network (read only).
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The probe batch.
    cumulative : bool, default=False
        Return, instead of ``end_to_end``, the list of the Jacobians of every
        layer's output (the logits last) with respect to the input.

    Returns
    -------
    layers : list of ndarray
        ``depth + 1`` arrays: for hidden layer ``l``, the Jacobian of its
        output with respect to its input, of shape ``(n_samples, width_l,
        width_{l-1})``; at the end of a residual block, of the branch alone
        (``residual_scale`` times it: the skip connection adds the Jacobian
        of the block's input, which ``end_to_end`` includes). Last, the output
        layer's ``W.T`` of shape ``(1, n_outputs, width_L)`` (the same for
        every sample).
    end_to_end : ndarray of shape (n_samples, width_L, n_features) or None
        The Jacobian of the last hidden layer's output with respect to the
        input (skip connections included); None without hidden layers.
    """
    X = dense_float64(X)
    net = network.astype(np.float64)  # itself when float64: read only below
    ws = net._new_workspace(X.shape[0], train=False)
    net.forward(X, ws, train=False)
    layers, end_to_end, history = [], None, []
    block_in = {}
    for i in range(net.depth):
        jac = _dense_jacobian(net, i, ws["inputs"][i])
        k_end = net._block_ending_at.get(i)
        if k_end is not None:
            jac = jac * net.residual_scale
        layers.append(jac)
        k_start = net._block_starting_at.get(i)
        if k_start is not None:
            block_in[k_start] = end_to_end  # None: the identity (the input itself)
        end_to_end = jac if end_to_end is None else jac @ end_to_end
        if k_end is not None:
            end_to_end = end_to_end + _skip_jacobian(net, k_end, block_in[k_end], X.shape)
        history.append(end_to_end)
    layers.append(net.coefs[-1].T[None])
    if cumulative:
        last = layers[-1] if end_to_end is None else layers[-1] @ end_to_end
        return layers, [*history, np.broadcast_to(last, (X.shape[0], *last.shape[1:]))]
    return layers, end_to_end


def _skip_jacobian(net, k, block_input_jacobian, shape):
    """Jacobian of block ``k``'s skip path with respect to the network input."""
    proj = net.projections[k]
    if block_input_jacobian is None:  # the block starts at the input
        n, d = shape
        block_input_jacobian = np.broadcast_to(np.eye(d), (n, d, d))
    if proj is None:
        return block_input_jacobian
    return proj.weight.T @ block_input_jacobian


def singular_values(jacobians):
    """Singular values of a stack of matrices, descending, shape (n, min(rows, cols)).

    The square roots of the eigenvalues of ``J J.T`` (or ``J.T J``, the
    smaller): a symmetric eigenproblem, two to three times faster than an
    SVD. Squaring loses the singular values below about ``1e-8`` of the
    largest into rounding, below :data:`RANK_TOL`, which counts them as zeros.
    """
    jacobians = np.asarray(jacobians)
    if jacobians.shape[-2] <= jacobians.shape[-1]:
        gram = jacobians @ np.swapaxes(jacobians, -1, -2)
    else:
        gram = np.swapaxes(jacobians, -1, -2) @ jacobians
    eigenvalues = np.linalg.eigvalsh(gram)[..., ::-1]
    return np.sqrt(np.maximum(eigenvalues, 0))


def spread(values):
    """``log10(s_90 / s_10)`` per row of singular values, zeros left out.

    ``s_90`` and ``s_10`` are the 90% and 10% quantiles (linear
    interpolation, as ``np.quantile``) of the singular values above
    ``RANK_TOL * s_max`` (see :data:`RANK_TOL`): the width, in decades, of
    the middle 80% of the spectrum. 0 for an isometry (all singular values
    equal); NaN for a row of zeros. Not the condition number ``s_max /
    s_min``: through a deep random network the smallest singular values
    shrink exponentially with depth and soon reach rounding, so the
    condition number of every deep network is as large as float64 can tell,
    while the bulk of the spectrum still tells one initialization from
    another.
    """
    values = -np.sort(-np.atleast_2d(np.asarray(values, dtype=float)), axis=-1)
    top = values[:, :1]
    count = np.sum(values > top * RANK_TOL, axis=-1)  # the kept lead each row
    low, high = (_quantile_of_leading(values, count, q) for q in SPREAD_QUANTILES)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, np.log10(high / low), np.nan)


def rank_fraction(values):
    """Fraction of the singular values of each row above ``RANK_TOL * s_max``.

    1 for a Jacobian of full rank; the spread leaves the others out, so a
    Jacobian that keeps a single direction (rank fraction ``1 / k``) has
    spread 0 without being an isometry: read the two together.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    top = values.max(axis=-1, keepdims=True)
    return np.mean(values > top * RANK_TOL, axis=-1)


def _quantile_of_leading(descending, count, q):
    """The ``q`` quantile of the first ``count[i]`` values of each descending row."""
    position = q * np.maximum(count - 1, 0)  # in ascending order of the kept values
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, np.maximum(count - 1, 0))
    # ascending index j of a row is descending index count - 1 - j
    rows = np.arange(len(descending))
    last = np.maximum(count - 1, 0)
    v_below = descending[rows, last - below]
    v_above = descending[rows, last - above]
    return v_below + (position - below) * (v_above - v_below)


def jacobian_statistics(network, X):
    """Summary statistics of the layer and input-output Jacobian spectra.

    Parameters
    ----------
    network : Network
        The network (read only).
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The probe batch.

    Returns
    -------
    stats : dict
        ``"max"``, ``"min"``, ``"mean"``: arrays of shape ``(depth + 1,)``,
        the largest, smallest and mean singular value of each layer's
        Jacobian over the batch's samples. ``"spread"``: of the same shape,
        the median over the samples of ``log10(s_90 / s_10)`` (see
        :func:`spread`) of the Jacobian of each layer's output with respect
        to the network's input (the last: of the logits). ``"io_spread"``:
        that of the last hidden layer, the input-output Jacobian of the
        hidden stack (NaN without hidden layers). ``"rank"``: of shape
        ``(depth + 1,)``, the median over the samples of
        :func:`rank_fraction` of the same Jacobians.
    """
    layers, end_to_end = layer_jacobians(network, X, cumulative=True)
    values = [singular_values(jac) for jac in layers]
    cumulative = [singular_values(jac) for jac in end_to_end]
    spreads = np.array([np.median(spread(v)) for v in cumulative])
    ranks = np.array([np.median(rank_fraction(v)) for v in cumulative])
    stats = {
        "max": np.array([v.max() for v in values]),
        "min": np.array([v.min() for v in values]),
        "mean": np.array([v.mean() for v in values]),
        "spread": spreads,
        "rank": ranks,
        "io_spread": float(spreads[-2]) if len(spreads) > 1 else np.nan,
    }
    return stats
