"""Curvature of the training loss: Hessian-vector products and Lanczos.

:class:`LossHessian` is the Hessian of a network's training loss on a fixed
batch, as a linear operator over the flat parameter vector; :func:`lanczos`
estimates the extreme eigenvalues of any symmetric operator given only its
matrix-vector product. Together they answer whether training sits at a saddle
point (small gradient, but directions of negative curvature) or at a minimum.

Everything is computed in float64 on a private copy of the network: the
network being trained (its weights, gradients, batch-norm running statistics,
random state and scratch buffers) is never written to.
"""

import numpy as np
import scipy.sparse as sp
from scipy.linalg import eigh_tridiagonal
from scipy.special import expit
from sklearn.utils import check_random_state

from ._activations import ACTIVATIONS, DERIVATIVES, SECOND_DERIVATIVES
from ._losses import LOSSES, softmax

#: Relative step of the finite-difference Hessian-vector product: the cube
#: root of float64's machine epsilon balances the O(eps^2) truncation error of
#: a central difference against its O(machine_eps / eps) rounding error.
FD_RELATIVE_STEP = float(np.cbrt(np.finfo(np.float64).eps))
#: Activations whose derivative jumps at 0 (a kink): a central difference whose
#: two points put a unit on different sides of it differences the jump, not
#: the curvature, and is off by about jump / step.
KINKED_ACTIVATIONS = frozenset({"relu", "leaky_relu"})
#: How many times a product whose two points straddle a kink is computed again
#: with a step 100 times smaller (each time 100 times less likely to straddle).
FD_KINK_RETRIES = 3


def float64_copy(network):
    """A float64 copy of ``network`` that can compute gradients, without dropout.

    Its parameters, gradients and running statistics are new arrays: nothing
    done with the copy changes ``network``. Dropout is switched off: the
    curvature is that of the deterministic network that predicts (the mean
    network of inverted dropout), not of one random mask.
    """
    return network.trainable_copy(np.float64, dropout=0.0)


def _same_pattern(first, second):
    """Whether two activation patterns (lists of boolean arrays, or None) agree."""
    if first is None:
        return True
    return all(np.array_equal(a, b) for a, b in zip(first, second))


def dense_float64(X):
    """``X`` (dense or sparse) as a C-contiguous float64 array."""
    if sp.issparse(X):
        X = X.toarray()
    return np.ascontiguousarray(X, dtype=np.float64)


class LossHessian:
    """The Hessian of a network's training loss on a fixed batch, as an operator.

    The loss is the one a training step minimizes on the batch ``(X, Y)``: the
    mean loss over its samples, weighted by ``sample_weight`` if given
    (``sum_i w_i l_i / sum_i w_i``), plus the L2 penalty ``l2 / 2 * ||W||^2``
    on the weight matrices (a fit with ``alpha`` penalizes a mini-batch with
    ``l2 = alpha / sum_i w_i``: ``alpha / B`` for ``B`` unweighted samples).
    Batch normalization normalizes with the batch's statistics, weighted as in
    training; dropout is off (see :func:`float64_copy`).

    Parameters
    ----------
    network : Network
        The network; it is copied (float64) and never modified.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The batch.
    Y : ndarray
        Its targets as the network's loss takes them (class codes, or a
        target or indicator matrix).
    l2 : float, default=0.0
        Coefficient of the L2 penalty ``l2 / 2 * ||W||^2``.
    method : {"auto", "exact", "finite_difference"}, default="auto"
        ``"exact"``: forward-over-reverse products (Pearlmutter's R-operator,
        1994), exact to rounding, for networks of dense layers and
        activations only (no normalization, residual blocks or dropout).
        ``"finite_difference"``: the central difference of gradients
        ``(g(theta + eps u) - g(theta - eps u)) / (2 eps) * ||v||`` along
        ``u = v / ||v||``, with ``eps = FD_RELATIVE_STEP * max(1, ||theta||)``
        (about ``6e-6 * ||theta||``): error ``O(eps^2)`` from the third
        derivatives plus ``O(1e-16 * ||g|| / eps)`` from rounding: between ``1e-11``
        and ``5e-9`` of the largest product entry against PyTorch's
        autograd on most test networks, ``1.7e-7`` on a residual network
        with layer normalization (``tests/fixtures/make_torch_reference.py``),
        whose third derivatives make the truncation error dominate;
        any architecture. With relu or leaky_relu, two points that put a
        unit on different sides of its kink would difference the
        derivative's jump (an error of about jump / eps): the product is
        then computed again with a step 100 times smaller, up to
        ``FD_KINK_RETRIES`` times, until both points have the same units on.
        ``"auto"``: exact where it applies, else finite differences.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the batch's samples (non-negative, finite, with a positive
        sum), as in ``fit(X, y, sample_weight=...)``: only their ratios
        matter, an integer weight counts as that many copies of its row and a
        zero weight as a row left out. None: every sample weighs 1.

    Attributes
    ----------
    n_params : int
        Size of the flat parameter vector (the operator's dimension).
    loss : float
        The loss at the network's parameters.
    gradient : ndarray of shape (n_params,)
        Its gradient.
    n_products : int
        Hessian-vector products computed so far.

    References
    ----------
    B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural
    Computation 6(1), 1994.
    """

    def __init__(self, network, X, Y, l2=0.0, method="auto", sample_weight=None):
        if method not in ("auto", "exact", "finite_difference"):
            raise ValueError(
                "method must be 'auto', 'exact' or 'finite_difference'; "
                f"got {method!r}."
            )
        self._net = float64_copy(network)
        exact_possible = self._net._plain
        if method == "exact" and not exact_possible:
            raise ValueError(
                "method='exact' supports networks of dense layers and activations "
                "only; this one has normalization or residual blocks. Use "
                "method='finite_difference' (or 'auto')."
            )
        self.method = "exact" if method == "auto" and exact_possible else method
        if self.method == "auto":
            self.method = "finite_difference"
        self._X = dense_float64(X)
        self._Y = Y if Y.ndim == 1 else np.asarray(Y, dtype=np.float64)
        self._n = self._X.shape[0]
        self._w = check_batch_weights(sample_weight, self._n)
        # The batch's weight sum: what training divides the loss and alpha by.
        self._weight_sum = self._n if self._w is None else float(self._w.sum())
        self.l2 = float(l2)
        self._theta = self._net.params.copy()
        self.n_params = self._net.n_params
        self.n_products = 0
        self.loss, self.gradient = self._loss_and_gradient(self._theta)
        self._step = FD_RELATIVE_STEP * max(1.0, float(np.linalg.norm(self._theta)))

    # ----------------------------------------------------------- gradient
    def _loss_and_gradient(self, theta):
        net = self._net
        net.params[...] = theta
        if self.method == "exact":
            self._plain = _PlainPass(net, self._X, self._Y, self.l2, self._w)
            return float(self._plain.loss), self._plain.gradient
        # The network's own training pass: its penalty is alpha / sum(w) * W.
        loss = net.loss_and_gradient(
            self._X, self._Y, self._w, self._weight_sum, self.l2 * self._weight_sum
        )
        return float(loss), net.grads.copy()

    # ------------------------------------------------------------ product
    def matvec(self, v):
        """The Hessian-vector product ``H v``.

        Parameters
        ----------
        v : ndarray of shape (n_params,)

        Returns
        -------
        Hv : ndarray of shape (n_params,)
        """
        v = np.asarray(v, dtype=np.float64).ravel()
        if v.shape != (self.n_params,):
            raise ValueError(f"v must have {self.n_params} values; got shape {v.shape}.")
        self.n_products += 1
        if self.method == "exact":
            return self._plain.hvp(v)
        norm = float(np.linalg.norm(v))
        if norm == 0:
            return np.zeros_like(v)
        direction = v / norm
        step = self._step
        for _ in range(FD_KINK_RETRIES + 1):
            plus, plus_pattern = self._gradient_and_pattern(self._theta + step * direction)
            minus, minus_pattern = self._gradient_and_pattern(self._theta - step * direction)
            if _same_pattern(plus_pattern, minus_pattern):
                break
            # The two points put some unit on either side of its kink: the
            # difference holds the derivative's jump. Closer points straddle
            # it 100 times less often; the rounding error grows 100 times,
            # from about 1e-11 of the product.
            step /= 100.0
        self._net.params[...] = self._theta
        return (plus - minus) * (norm / (2 * step))

    def _gradient_and_pattern(self, theta):
        """The gradient at ``theta`` and which kinked units are on (None: no kinks)."""
        _, gradient = self._loss_and_gradient(theta)
        if self._net.activation not in KINKED_ACTIVATIONS:
            return gradient, None
        # relu and leaky_relu are positive exactly where their input is.
        activations = self._net.last_batch["a"]
        return gradient, [a[: self._n] > 0 for a in activations]

    __call__ = matvec

    def dense(self):
        """The full Hessian matrix, one product per column (small networks only).

        Returns
        -------
        H : ndarray of shape (n_params, n_params)
        """
        eye = np.eye(self.n_params)
        columns = np.column_stack([self.matvec(e) for e in eye])
        return 0.5 * (columns + columns.T)


def check_batch_weights(sample_weight, n_samples):
    """``sample_weight`` as float64 weights of ``n_samples`` rows, or None.

    Raises
    ------
    ValueError
        If the weights are not one finite, non-negative value per sample with
        a positive sum (the loss divides by it).
    """
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight)
    if weights.dtype.kind not in "biuf":
        raise ValueError(
            f"sample_weight must be numbers; got an array of dtype {weights.dtype}."
        )
    weights = weights.astype(np.float64)
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per sample "
            f"of X; got shape {weights.shape}."
        )
    if not np.isfinite(weights).all():
        raise ValueError("sample_weight must be finite; it holds NaN or infinity.")
    if (weights < 0).any():
        raise ValueError("sample_weight must be non-negative; it holds negative values.")
    with np.errstate(over="ignore"):
        total = float(weights.sum())
    if not (total > 0 and np.isfinite(total)):
        raise ValueError(
            "sample_weight must have a positive, finite sum (the loss is divided by "
            f"it); got a sum of {total!r}."
        )
    return weights


def _output_hessian_product(loss, logits, r):
    """``d^2 loss_i / d logits_i^2 @ r_i`` per sample (before the mean)."""
    if loss == "softmax_cross_entropy":
        p = np.empty_like(logits)
        softmax(logits, p)
        return p * r - p * np.einsum("ij,ij->i", p, r)[:, None]
    if loss == "logistic_cross_entropy":
        p = expit(logits)
        return p * (1 - p) * r
    if loss == "poisson":  # exp(z) - y z: its second derivative is exp(z)
        return np.exp(logits) * r
    if loss == "squared_error":  # (z - y)^2 / 2
        return r
    raise ValueError(f"No exact output Hessian for the loss {loss!r}.")


def _activation_derivatives(activation, z):
    """``f(z)``, ``f'(z)`` and ``f''(z)``."""
    a = np.empty_like(z)
    ACTIVATIONS[activation](z, a)
    first = np.ones_like(z)
    DERIVATIVES[activation](z, a, first)
    return a, first, SECOND_DERIVATIVES[activation](z, a)


class _PlainPass:
    """Exact loss, gradient and Hessian-vector products of a plain network.

    Forward-over-reverse (Pearlmutter's R-operator): along with each forward
    and backward quantity ``q`` a product propagates ``R(q) = d q(theta + t v)
    / dt`` at ``t = 0``; ``R(gradient) = H v``. The forward and backward
    quantities at ``theta`` (layer inputs, activation derivatives, error
    signals) are computed once and kept for every product, which then costs
    two matrix products per layer forward and four backward.
    """

    def __init__(self, net, X, Y, l2, sample_weight=None):
        self.loss_name, self.l2 = net.loss, l2
        # Each sample's share of the loss: 1 / n, or w_i / sum(w) with weights.
        self.n = weight_sum = X.shape[0]
        self.share = None
        if sample_weight is not None:
            weight_sum = float(sample_weight.sum())
            self.share = (sample_weight / weight_sum)[:, None]
        self.n_params, self.n_weights = net.n_params, net.n_weights
        self.W = [w.copy() for w in net.coefs]
        self.weights = net.params[: net.n_weights].copy()
        # (start, stop, shape) of each weight matrix and bias in the flat vector.
        offsets, self.w_slices, self.b_slices = 0, [], []
        for name, shape in net._shapes:
            size = int(np.prod(shape))
            if name in ("W", "b"):
                (self.w_slices if name == "W" else self.b_slices).append(
                    (offsets, offsets + size, shape)
                )
            offsets += size
        self.h, self.slopes, self.curvatures = [X], [], []
        for i, (w, b) in enumerate(zip(self.W, net.intercepts)):
            z = self.h[i] @ w + b
            if i == net.depth:
                self.logits = z
                break
            a, d1, d2 = _activation_derivatives(net.activation, z)
            self.h.append(a)
            self.slopes.append(d1)
            self.curvatures.append(d2)
        delta = np.empty_like(self.logits)
        self.loss = LOSSES[net.loss].loss_and_delta(
            self.logits, Y, sample_weight, weight_sum, delta
        )
        self.loss += 0.5 * l2 * float(self.weights @ self.weights)
        # Backward: the error signal of each layer's dense output (deltas) and
        # d loss / d (each hidden output) (the upstream gradients).
        self.deltas, self.upstream = [None] * len(self.W), [None] * net.depth
        self.gradient = np.zeros(self.n_params)
        for i in range(net.depth, -1, -1):
            self.deltas[i] = delta
            self._write(self.gradient, i, self.h[i].T @ delta, delta.sum(axis=0))
            if i:
                self.upstream[i - 1] = delta @ self.W[i].T
                delta = self.slopes[i - 1] * self.upstream[i - 1]
        self.gradient[: self.n_weights] += l2 * self.weights

    def _write(self, flat, i, weight_part, bias_part):
        (ws, we, _), (bs, be, _) = self.w_slices[i], self.b_slices[i]
        flat[ws:we] = weight_part.ravel()
        flat[bs:be] = bias_part

    def hvp(self, v):
        VW = [v[s:e].reshape(shape) for s, e, shape in self.w_slices]
        Vb = [v[s:e] for s, e, _ in self.b_slices]
        # R-forward: the tangents of each layer's dense output and input.
        r_h, r_z = [None], []
        for i, (h, w) in enumerate(zip(self.h, self.W)):
            rz = h @ VW[i] + Vb[i]
            if r_h[i] is not None:
                rz += r_h[i] @ w
            r_z.append(rz)
            if i < len(self.slopes):
                r_h.append(self.slopes[i] * rz)
        r_delta = _output_hessian_product(self.loss_name, self.logits, r_z[-1])
        # A new array (squared error returns r_z[-1] itself): not in place.
        r_delta = r_delta / self.n if self.share is None else r_delta * self.share
        hv = np.empty(self.n_params)  # a plain network: weights and biases only
        for i in range(len(self.W) - 1, -1, -1):
            r_weight = self.h[i].T @ r_delta
            if r_h[i] is not None:
                r_weight += r_h[i].T @ self.deltas[i]
            self._write(hv, i, r_weight, r_delta.sum(axis=0))
            if i:
                r_g = r_delta @ self.W[i].T + self.deltas[i] @ VW[i].T
                r_delta = self.slopes[i - 1] * r_g
                r_delta += self.curvatures[i - 1] * r_z[i - 1] * self.upstream[i - 1]
        hv[: self.n_weights] += self.l2 * v[: self.n_weights]
        return hv


def lanczos(matvec, n, n_iter=20, random_state=None, v0=None):
    """Ritz values of a symmetric operator by Lanczos with full reorthogonalization.

    The extreme Ritz values approach the extreme eigenvalues from inside the
    spectrum, the largest and smallest first: ``n_iter`` products give both
    ends at once. With ``n_iter >= n`` (or an invariant subspace found
    earlier) they are the eigenvalues, to rounding.

    Parameters
    ----------
    matvec : callable
        ``matvec(v) -> A v`` for a symmetric ``A`` of shape ``(n, n)``, e.g. a
        :class:`LossHessian` or the Hessian of any function of ``n`` variables.
    n : int
        Dimension.
    n_iter : int, default=20
        Lanczos steps (matrix-vector products), at most ``n``.
    random_state : int, RandomState instance or None, default=None
        Draws the starting vector when ``v0`` is None.
    v0 : ndarray of shape (n,), default=None
        Starting vector.

    Returns
    -------
    ritz_values : ndarray of shape (n_steps,)
        Ascending. ``n_steps <= n_iter``.
    """
    n_iter = int(min(n_iter, n))
    if n_iter < 1:
        raise ValueError(f"n_iter and n must be at least 1; got {n_iter}.")
    if v0 is None:
        v0 = check_random_state(random_state).standard_normal(n)
    q = np.asarray(v0, dtype=np.float64).ravel()
    if q.shape != (n,) or not np.linalg.norm(q) > 0:
        raise ValueError(f"v0 must be a non-zero vector of {n} values.")
    basis = np.empty((n_iter, n))
    basis[0] = q / np.linalg.norm(q)
    alphas, betas = [], []
    scale = 0.0
    for j in range(n_iter):
        w = np.asarray(matvec(basis[j]), dtype=np.float64).ravel()
        alphas.append(float(basis[j] @ w))
        # Full reorthogonalization, twice ("twice is enough", Parlett): the
        # Ritz values then have no spurious copies.
        for _ in range(2):
            w -= basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = float(np.linalg.norm(w))
        scale = max(scale, abs(alphas[-1]), beta)
        if j + 1 == n_iter or beta <= 1e-12 * scale:
            break  # done, or an invariant subspace: its eigenvalues are exact
        betas.append(beta)
        basis[j + 1] = w / beta
    if len(alphas) == 1:
        return np.array(alphas)
    return eigh_tridiagonal(np.array(alphas), np.array(betas), eigvals_only=True)
