"""Restricted Boltzmann machines trained by contrastive divergence.

The numerical core of :mod:`sk_deepnet.pretraining`. Both machines share one
training kernel; they differ only in their visible units:

* :class:`BernoulliRBM`: binary (or [0, 1] probability) visible units,
  ``p(v_i = 1 | h) = sigmoid(b_i + W_i . h)``;
* :class:`GaussianBernoulliRBM`: real-valued, unit-variance Gaussian visible
  units, ``p(v_i | h) = N(b_i + W_i . h, 1)`` (Hinton 2010, section 13.2); the
  data should be standardized (zero mean, unit variance per feature).

Hidden units are binary (sigmoid) by default, or noisy rectified linear units
with ``hidden_units="rectified"`` (Nair & Hinton 2010): an infinite set of
binary copies of one unit with shared weights and biases offset by -0.5, -1.5,
..., approximately sampled as ``h = max(0, x + N(0, sigmoid(x)))`` with ``x``
the unit's total input, whose mean-field value ``max(0, x)`` is exactly a relu
unit's output. That lets a relu network start from the pretrained features.
One mini-batch update works on preallocated buffers: the positive and
negative phases are written into the two halves of one visible and one hidden
buffer, so that the whole weight gradient ``<v h>_data - <v h>_model`` is a
single matrix product.
"""

import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._help import DocLinkMixin
from ._memory import check_fits_in_memory
from ._persistence import add_new_parameters, check_version, stamp_version
from ._sklearn_compat import (
    Interval,
    StrictIntegerMixin,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)
from ._threadpool import blas_policy, rbm_fit_flops, rbm_gibbs_flops, rbm_transform_flops
from ._validation import check_representable, sample_weight_in_dtype
from ._warnings import describe_changes, warn_user
from .exceptions import DivergenceWarning, FitInterruptedWarning

_DTYPES = {"float32": np.float32, "float64": np.float64}

#: Column-statistics chunk: bounds the memory of one pass over a large X.
_CHUNK = 4096


def sigmoid(z, out):
    """Logistic function into ``out``, as ``(1 + tanh(z / 2)) / 2``.

    Overflow-free like ``scipy.special.expit`` and five times faster in
    float32 (numpy's tanh is SIMD-vectorized), which matters in training. Its
    error is float rounding of 1, not of the result: small probabilities lose
    their relative precision (below about 6e-8 in float32 they are 0 or a
    multiple of it), so ``transform`` uses ``expit``.
    """
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def relu(z, out):
    """``max(0, z)`` into ``out``."""
    return np.maximum(z, 0, out=out)


def _has_free_energy(rbm):
    """Whether the free energy has a closed form: only with sigmoid hidden units."""
    if rbm._rectified:
        raise AttributeError(
            "The free energy of noisy rectified hidden units (hidden_units="
            "'rectified') has no closed form (an infinite sum of softplus terms), "
            "so score_samples and pseudo_log_likelihood are only available with "
            "hidden_units='sigmoid'; follow training with reconstruction_errors_."
        )
    return True


def make_generator(random_state):
    """One numpy Generator seeded from a scikit-learn ``random_state``."""
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.default_rng(seed)


def column_stats(X, sample_weight=None):
    """Min, max, mean and variance of each column, one chunk of rows at a time.

    Works on dense and CSR input without densifying or upcasting the whole X
    (each chunk is reduced in float64). With ``sample_weight`` the mean and
    variance are weighted (a weight k counts as k copies of the row; only
    ratios matter); the minimum and maximum are over every row, so rows of
    zero weight must be dropped first (:func:`positive_rows`).
    """
    n, d = X.shape
    weight = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    if sp.issparse(X):  # reductions that count the implicit zeros
        lo = X.min(axis=0).toarray().astype(np.float64).ravel()
        hi = X.max(axis=0).toarray().astype(np.float64).ravel()
        mean, mean_sq = (_column_mean(Z, weight) for Z in (X, X.multiply(X)))
        return lo, hi, mean, np.maximum(mean_sq - mean**2, 0.0)
    lo = np.full(d, np.inf)
    hi = np.full(d, -np.inf)
    total = np.zeros(d)
    total_sq = np.zeros(d)
    for start in range(0, n, _CHUNK):
        chunk = np.asarray(X[start : start + _CHUNK], dtype=np.float64)
        np.minimum(lo, chunk.min(axis=0), out=lo)
        np.maximum(hi, chunk.max(axis=0), out=hi)
        if weight is None:
            total += chunk.sum(axis=0)
            total_sq += np.einsum("ij,ij->j", chunk, chunk)
        else:
            w = weight[start : start + _CHUNK]
            total += w @ chunk
            total_sq += np.einsum("i,ij,ij->j", w, chunk, chunk)
    count = n if weight is None else weight.sum()
    mean = total / count
    return lo, hi, mean, np.maximum(total_sq / count - mean**2, 0.0)


def _column_mean(X, weight):
    """Column means of a sparse X (weighted by the rows' ``weight``), float64."""
    if weight is None:
        return np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
    return np.asarray(X.T @ weight, dtype=np.float64).ravel() / weight.sum()


def positive_rows(X, sample_weight):
    """X and validated weights without the rows of zero weight.

    The weights become None when the remaining ones are all equal (only
    ratios matter), so that training is then exactly the unweighted one on
    those rows: zero-weighted rows change nothing, not even the random draws
    (which depend on the number of rows). Dropping them copies the other rows.

    Parameters
    ----------
    X : {ndarray, CSR matrix} of shape (n_samples, n_features)
        The training data.
    sample_weight : ndarray of shape (n_samples,) or None
        Validated non-negative weights, at least one positive.

    Returns
    -------
    X, sample_weight
        The rows of positive weight, and their weights (or None).
    """
    if sample_weight is None:
        return X, None
    keep = sample_weight > 0
    if not keep.all():
        X, sample_weight = X[keep], sample_weight[keep]
    if sample_weight.min() == sample_weight.max():
        return X, None
    return X, sample_weight


def _sum_of_squares(residual, weight):
    """Sum of the squared ``residual`` entries, each row's weighted by ``weight``."""
    if weight is None:
        return float(np.dot(residual.ravel(), residual.ravel()))
    return float(weight @ np.einsum("ij,ij->i", residual, residual))


def _scale_rows(h, v, share, factor):
    """Scale the rows of ``h`` by ``factor`` times their ``share`` of the phase
    (``1 / len(h)`` when None); return the matching mean of the rows of ``v``."""
    if share is None:
        h *= factor / len(h)
        return v.mean(axis=0)
    h *= (factor * share)[:, None]
    return share @ v


class _BaseRBM(
    StrictIntegerMixin, DocLinkMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
    BaseEstimator,
):
    """Shared contrastive-divergence training of the two RBMs.

    Subclasses set ``_gaussian`` and implement ``_visible_bias_init``.
    """

    _gaussian = False
    #: What a divergence warning tells the user to lower, and in whose words:
    #: the estimator's pretraining renames it to its own parameter (its
    #: ``pretrain_learning_rate``) and names the hidden layer (``_role``).
    _rate_parameter = "learning_rate"
    _rate_setting = None  # the value as the user set it, if not learning_rate
    _role = None

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "cd_steps": [Interval(Integral, 1, None, closed="left")],
        "persistent": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "initial_momentum": [Interval(Real, 0, 1, closed="left")],
        "momentum_switch": [Interval(Integral, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "init_scale": [Interval(Real, 0, None, closed="neither")],
        "hidden_units": [StrOptions({"sigmoid", "rectified"})],
        "shuffle": ["boolean"],
        "dtype": [StrOptions(set(_DTYPES))],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    # ------------------------------------------------------------ public API
    @_fit_context(prefer_skip_nested_validation=True)
    @blas_policy(rbm_fit_flops)  # one BLAS thread for small products
    def fit(self, X, y=None, sample_weight=None):
        """Train the RBM for ``n_iter`` epochs of mini-batch CD-k (or PCD-k).

        All or nothing: an error (invalid input, an exception during training)
        leaves the RBM as it was before the call (fitted or not). A
        KeyboardInterrupt during the training epochs keeps the model of the
        last complete epoch (its ``n_iter_``), with a FitInterruptedWarning, as
        the estimators' ``fit`` does; with none complete, a fitted RBM keeps
        its previous model (an unfitted one its untrained initialization).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 and float64 are used as given (mini-batches
            are converted to ``dtype`` one at a time; X is never copied whole).
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples (an addition: scikit-learn's
            BernoulliRBM has none). Each mini-batch's contrastive-divergence
            statistics are the weighted means over its samples (the data
            phase, and the negative phase started from them; the persistent
            chains of ``persistent=True`` are unweighted), the visible-bias
            initialization uses the weighted feature means and the
            reconstruction errors are weighted means. Rows of zero weight are
            dropped before training (which copies the other rows), so they
            change nothing, not even the random draws. Only ratios matter. A
            weight k equals k copies of a row in expectation only: with
            stochastic Gibbs sampling the copies draw their own samples, and
            mini-batches differ.

        Returns
        -------
        self : object
            The fitted RBM.
        """
        previous = self._saved_state()
        fitted_before = hasattr(self, "components_")
        try:
            X, sample_weight = self._training_data(X, sample_weight, reset=True)
            interrupted = self._fit_with_rng(
                X, make_generator(self.random_state), sample_weight, fitted_before=fitted_before
            )
        except BaseException:
            self._restore_state(previous)
            raise
        if interrupted and fitted_before and self.n_iter_ == 0:
            self._restore_state(previous)  # no epoch trained: the fit did not happen
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @blas_policy(rbm_fit_flops)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train for one epoch (one pass of mini-batches) over X.

        The first call initializes the model from X; later calls continue it
        (weights, momentum increments, the persistent chain and the momentum
        schedule, which counts these passes as epochs). The parameters keep
        their ``dtype`` whatever the dtype of X. A later call refuses (with a
        ValueError) a changed ``n_components``, ``dtype`` or ``hidden_units``,
        which the fitted RBM cannot follow: ``fit`` trains a new one. An error
        leaves the RBM as it was before the call; a KeyboardInterrupt during
        the epoch keeps the model of before the epoch, with a
        FitInterruptedWarning. An RBM loaded read-only
        (``joblib.load(..., mmap_mode="r")``) trains on copies of its arrays
        in memory.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples, as in :meth:`fit`.

        Returns
        -------
        self : object
            The updated RBM.
        """
        previous = self._saved_state()
        first = not hasattr(self, "components_")
        try:
            if not first:
                # As the MLPs' (scikit-learn's _fit_context validates in fit only).
                self._validate_params()
                self._check_unchanged()
                self._copy_read_only_arrays()
            X, sample_weight = self._training_data(X, sample_weight, reset=first)
            if first:
                rng = make_generator(self.random_state)
                self._bind(self._initial_state(X, rng, sample_weight), _rng=rng)
            self._run_interruptible_epochs(X, 1, sample_weight)
        except BaseException:
            self._restore_state(previous)
            raise
        return self

    def _copy_read_only_arrays(self):
        """Train on in-memory copies of fitted arrays loaded read-only.

        ``joblib.load(..., mmap_mode="r")`` maps them read-only: the first
        in-place update failed with "assignment destination is read-only", as
        the MLPs' did before they trained on a copy. The file stays as it is.
        """
        read_only = [
            name for name in self._TRAINED if not getattr(self, name).flags.writeable
        ]
        if read_only:
            self._bind({name: getattr(self, name).copy() for name in read_only})

    def _check_unchanged(self):
        """Refuse a continued ``partial_fit`` whose parameters no longer describe the RBM.

        ``n_components``, ``dtype`` and ``hidden_units`` define the fitted
        machine (the shape and precision of its weights, the units they were
        trained for); a later call would silently go on with the old ones.
        """
        fitted = {
            "n_components": self.components_.shape[0],
            "dtype": self.components_.dtype.name,
            # Not recorded by RBMs pickled by earlier versions: not checked for them.
            "hidden_units": self._fitted_units,
        }
        changes = [
            (name, old, getattr(self, name)) for name, old in fitted.items()
            if getattr(self, name, old) != old
        ]
        if changes:
            changed, back = describe_changes(changes)
            raise ValueError(
                f"partial_fit continues the fitted {type(self).__name__}: {changed} "
                f"since it was fitted. To go on, call fit to train a new RBM, or set {back}."
            )

    @blas_policy(rbm_transform_flops)
    def transform(self, X):
        """Hidden-unit probabilities ``p(h = 1 | v = X)`` (sigmoid hidden units).

        With ``hidden_units="rectified"``: the noise-free rectified activations
        ``max(0, c + X W^T)``, the mean-field value of noisy rectified units.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible data.

        Returns
        -------
        H : ndarray of shape (n_samples, n_components)
            Hidden probabilities (non-negative activations for rectified
            units), in the precision of X (float32 or float64).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        weight, hidden_bias, _ = self._params_as(X.dtype)
        H = np.asarray(X @ weight.T)
        H += hidden_bias
        if self._rectified:
            return relu(H, out=H)
        # expit, not the training's sigmoid: the output keeps its relative
        # precision near 0 (scikit-learn's float32 and float64 transforms agree
        # to rtol=1e-6, tests/test_sklearn_rbm_port.py)
        return expit(H, out=H)

    @available_if(_has_free_energy)
    @blas_policy(rbm_transform_flops)  # the free energy's one product, as transform
    def score_samples(self, X):
        """Negative free energy ``-F(v)``: the log-likelihood up to ``log Z``.

        ``log p(v) = -F(v) - log Z`` with the (intractable) partition function
        ``Z`` the same for every sample, so ``-F`` ranks samples by likelihood
        under one model; it is exact and deterministic (unlike scikit-learn's
        one-feature pseudo-likelihood estimate). ``F(v) = -b . v - sum_j
        softplus(c_j + W_j . v)`` for Bernoulli visible units and
        ``||v - b||^2 / 2 - sum_j softplus(c_j + W_j . v)`` for Gaussian ones.
        Only available with sigmoid hidden units (the free energy of rectified
        ones has no closed form).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible data.

        Returns
        -------
        score : ndarray of shape (n_samples,)
            ``-F(v)`` of each sample.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return -self._free_energy(X)

    @blas_policy(rbm_gibbs_flops)
    def gibbs(self, v):
        """One block-Gibbs step: sample ``h ~ p(h | v)``, then ``v' ~ p(v | h)``.

        Rectified hidden units are sampled as ``max(0, x + N(0, sigmoid(x)))``.

        Sampling uses the RBM's own generator (seeded from ``random_state``
        by ``fit``), so a sequence of calls is reproducible.

        Parameters
        ----------
        v : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible values to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Sampled visible values (0/1 for Bernoulli units, real for Gaussian
            ones), in the precision of ``v``.
        """
        check_is_fitted(self)
        v = self._validate_X(v, reset=False)
        weight, hidden_bias, visible_bias = self._params_as(v.dtype)
        rng = self._rng
        z = np.asarray(v @ weight.T)
        z += hidden_bias
        h = self._sample_hidden(z, np.empty_like(z), rng)
        v_new = h @ weight
        v_new += visible_bias
        if self._gaussian:
            v_new += rng.standard_normal(v_new.shape, dtype=v_new.dtype)
        else:
            sigmoid(v_new, out=v_new)
            np.less(rng.random(v_new.shape, dtype=v_new.dtype), v_new, out=v_new)
        return v_new

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never alter the live object
        state.pop("_workspace", None)  # scratch buffers are rebuilt on demand
        return stamp_version(state)  # sk_deepnet.__version__, checked on load

    def __setstate__(self, state):
        check_version(self, state)  # InconsistentVersionWarning from another version
        super().__setstate__(state)
        add_new_parameters(self)  # e.g. hidden_units for an RBM pickled by 0.1.0

    # ------------------------------------------------------------ validation
    def _validate_X(self, X, reset, training=False):
        X = validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=["csr", "csc"],
            dtype=[np.float64, np.float32],  # keep the given precision
        )
        if training:  # batches are cast to dtype: refuse what would become inf
            check_representable(X.data if sp.issparse(X) else X, _DTYPES[self.dtype], "X")
        return X.tocsr() if sp.issparse(X) else X

    def _training_data(self, X, sample_weight, reset):
        """Validated X and weights, without the rows of zero weight (:func:`positive_rows`)."""
        X = self._validate_X(X, reset=reset, training=True)
        if sample_weight is not None:
            sample_weight = sample_weight_in_dtype(  # none positive, underflow, overflow
                _check_sample_weight(
                    sample_weight, X, dtype=np.float64, ensure_non_negative=True
                ),
                _DTYPES[self.dtype],
            )
        return positive_rows(X, sample_weight)

    def _params_as(self, dtype):
        """Weights and biases in ``dtype`` (cast copies only when needed)."""
        return (
            self.components_.astype(dtype, copy=False),
            self.intercept_hidden_.astype(dtype, copy=False),
            self.intercept_visible_.astype(dtype, copy=False),
        )

    # -------------------------------------------------------------- training
    #: The arrays that training updates in place (saved at the start of an epoch).
    _TRAINED = (
        "components_", "intercept_hidden_", "intercept_visible_",
        "_weight_inc", "_hidden_inc", "_visible_inc", "h_samples_",
    )

    def _fit_with_rng(
        self, X, rng, sample_weight=None, *, keep_interrupted=True, fitted_before=False
    ):
        """Initialize from X and train ``n_iter`` epochs with the Generator ``rng``.

        Used by ``fit`` and by the layer-wise pretraining of the estimators
        (which passes the estimator's own generator). The fitted attributes
        are bound at once, after the initialization has succeeded.
        ``keep_interrupted``: a KeyboardInterrupt during an epoch keeps the
        last complete one (with a warning; ``fitted_before``: see
        :meth:`_run_interruptible_epochs`); else it propagates, once the
        interrupted epoch is undone (the pretraining then stops). Returns
        whether a KeyboardInterrupt stopped the training.
        """
        self._bind(self._initial_state(X, rng, sample_weight), _rng=rng)
        if keep_interrupted:
            return self._run_interruptible_epochs(X, self.n_iter, sample_weight, fitted_before)
        self._run_epochs(X, self.n_iter, sample_weight)
        return False

    def _run_epochs(self, X, n_epochs, sample_weight):
        for _ in range(n_epochs):
            if not self._run_epoch(X, sample_weight):
                break  # diverged: the last finite epoch was restored

    def _run_interruptible_epochs(self, X, n_epochs, sample_weight, fitted_before=False):
        """Epochs that a KeyboardInterrupt stops at the last complete one, as the MLPs'.

        Returns whether one did. With none complete, a ``fit`` of an RBM
        ``fitted_before`` puts that model back (the warning says so), else the
        untrained initialization is kept.
        """
        try:
            self._run_epochs(X, n_epochs, sample_weight)
        except KeyboardInterrupt:
            if self.n_iter_:
                kept = f"the model of the last complete epoch ({self.n_iter_}) is kept and usable."
            elif fitted_before:
                kept = "no epoch completed: the model fitted before this call is kept, unchanged."
            else:
                kept = (
                    "no epoch completed: the model is the untrained initialization "
                    "(n_iter_=0), not a trained model."
                )
            warn_user(
                f"{type(self).__name__} training interrupted by KeyboardInterrupt "
                f"during epoch {self.n_iter_ + 1}; {kept}",
                FitInterruptedWarning,
            )
            return True
        return False

    def _bind(self, state, **more):
        # One dict update: an interrupt never finds half of the attributes set.
        self.__dict__.update(state, **more)

    def _saved_state(self):
        """The attributes before a call, and the position of its random stream.

        A shallow copy: training rebinds the fitted arrays (see ``_TRAINED``),
        but the Generator ``_rng`` is the same object, whose state advances.
        """
        rng = self.__dict__.get("_rng")
        return dict(self.__dict__), None if rng is None else rng.bit_generator.state

    def _restore_state(self, previous):
        """Undo a failed call: the attributes of before it (one assignment, as
        ``_bind``), and its random stream where it was."""
        attributes, rng_state = previous
        self.__dict__ = attributes
        if rng_state is not None:
            self._rng.bit_generator.state = rng_state

    def _check_fits_in_memory(self, n_features, itemsize):
        """Refuse, before drawing, weights and chains larger than the memory the process may use.

        The weights, their increments and the persistent chains (``batch_size``
        rows, as scikit-learn's): NumPy named a shape, not the parameter, or
        failed with "Maximum allowed dimension exceeded". Inside an MLP's
        pretraining the message names the MLP's parameters.
        """
        role = getattr(self, "_role", None)
        # Python ints: NumPy integers overflowed (a wrong figure, or none refused).
        n_bytes = itemsize * int(self.n_components) * (2 * n_features + int(self.batch_size))
        check_fits_in_memory(
            n_bytes,
            f"{type(self).__name__}{f' of {role}' if role else ''} with n_components="
            f"{self.n_components} and batch_size={self.batch_size} on {n_features} "
            "features needs, for its weights, their increments and its Gibbs chains,",
            "Reduce width or pretrain_batch_size." if role
            else "Reduce n_components or batch_size.",
        )

    def _initial_state(self, X, rng, sample_weight=None):
        """The fitted attributes at the start of training, computed but not set.

        Weights ``init_scale * N(0, 1)``, zero hidden biases, visible biases
        from the (weighted) feature means. Raises before drawing anything if X
        is too large for its statistics.
        """
        dtype = _DTYPES[self.dtype]
        h = self.n_components
        self._check_fits_in_memory(X.shape[1], np.dtype(dtype).itemsize)
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            lo, hi, mean, var = column_stats(X, sample_weight)
        if not (np.isfinite(mean).all() and np.isfinite(var).all()):
            raise ValueError(
                "X is too large to train on: the mean or variance of a feature "
                f"overflows (|X| up to {max(-lo.min(), hi.max()):.3g}). Scale X "
                "(e.g. with StandardScaler)."
            )
        if self._gaussian and var.size and np.sqrt(var.max()) > 4.0:
            warn_user(
                f"{type(self).__name__} models unit-variance visible units, but a "
                f"feature of X has standard deviation {np.sqrt(var.max()):.3g}; "
                "standardize X (e.g. with StandardScaler) or the training may "
                "diverge.",
                UserWarning,
            )
        components = (rng.standard_normal((h, X.shape[1])) * self.init_scale).astype(dtype)
        visible_bias = self._visible_bias_init(mean).astype(dtype)
        return {
            "components_": components,
            "intercept_hidden_": np.zeros(h, dtype),
            "intercept_visible_": visible_bias,
            "h_samples_": np.zeros((self.batch_size, h), dtype),
            "_weight_inc": np.zeros_like(components),
            "_hidden_inc": np.zeros(h, dtype),
            "_visible_inc": np.zeros_like(visible_bias),
            "reconstruction_errors_": [],
            "n_iter_": 0,
            "_workspace": None,
            "_fitted_hidden_units": self.hidden_units,  # for a later partial_fit
        }

    def _buffers(self, n_features):
        """Scratch arrays for one mini-batch, allocated once per fit."""
        ws = getattr(self, "_workspace", None)
        B, h, dtype = self.batch_size, self.n_components, self.components_.dtype
        chains = self.h_samples_.shape[0]  # persistent chains (batch_size of the first fit)
        R = max(B, chains)  # negative-phase rows: the batch (CD) or the chains (PCD)
        rows = B + R
        if ws is None or ws["V"].shape != (rows, n_features) or ws["recon"].shape[0] != B:
            ws = self._workspace = {
                # rows [:n] hold the data (positive phase), [n:n+m] the negative phase
                "V": np.empty((rows, n_features), dtype),
                "H": np.empty((rows, h), dtype),
                "h_sample": np.empty((B, h), dtype),
                "random_v": np.empty((R, n_features), dtype),
                "recon": np.empty((B, n_features), dtype),
                "grad": np.empty_like(self.components_),
                "decay": np.empty_like(self.components_),
            }
        return ws

    def _run_epoch(self, X, sample_weight=None):
        """One pass of mini-batches over X; returns False if training diverged.

        Whatever stops the epoch (an exception, a KeyboardInterrupt) first
        restores the state of its start, then propagates.
        """
        begin = time.time()
        n_samples = X.shape[0]
        batch_size = min(self.batch_size, n_samples)
        ws = self._buffers(X.shape[1])
        saved = tuple(getattr(self, name).copy() for name in self._TRAINED)
        momentum = (
            self.initial_momentum if self.n_iter_ < self.momentum_switch else self.momentum
        )
        order = self._rng.permutation(n_samples) if self.shuffle else np.arange(n_samples)
        try:
            squared_error = self._run_batches(X, order, batch_size, ws, momentum, sample_weight)
            if not (self._finite_parameters() and np.isfinite(squared_error)):
                self._restore_epoch(saved)
                return False
            total_weight = n_samples if sample_weight is None else float(sample_weight.sum())
            error = squared_error / (total_weight * X.shape[1])
            self._bind({
                "n_iter_": self.n_iter_ + 1,
                "reconstruction_errors_": [*self.reconstruction_errors_, error],
            })
        except BaseException:
            self._restore_trained(saved)
            raise
        if self.verbose:
            print(
                f"[{type(self).__name__}] Iteration {self.n_iter_}, reconstruction "
                f"error = {error:.6f}, time = {time.time() - begin:.2f}s"
            )
        return True

    def _run_batches(self, X, order, batch_size, ws, momentum, sample_weight):
        """CD updates on the mini-batches of X in ``order``; the summed squared error."""
        squared_error = 0.0
        # Overflow only happens when training diverges, which the caller handles.
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                v0 = self._gather(X, idx, ws["V"][: len(idx)])
                weight = None if sample_weight is None else sample_weight[idx]
                squared_error += self._cd_update(v0, self._rng, ws, momentum, weight)
        return squared_error

    def _finite_parameters(self):
        return bool(
            np.isfinite(self.components_).all()
            and np.isfinite(self.intercept_hidden_).all()
            and np.isfinite(self.intercept_visible_).all()
        )

    def _restore_trained(self, saved):
        """Copy the arrays ``saved`` at the start of an epoch back (see ``_TRAINED``)."""
        for name, previous in zip(self._TRAINED, saved):
            np.copyto(getattr(self, name), previous)

    def _restore_epoch(self, saved):
        """Undo a diverged epoch: the saved parameters, no momentum, fresh chains."""
        self._restore_trained(saved)
        for inc in (self._weight_inc, self._hidden_inc, self._visible_inc):
            inc[...] = 0
        self.h_samples_[...] = 0
        rbm = type(self).__name__
        if self._role is not None:
            rbm = f"The {rbm} of {self._role}"
        now = f"{self.learning_rate:g}"
        if self._rate_setting is not None:
            now = f"{self._rate_setting!r}, {now} for this RBM"
        warn_user(
            f"{rbm} training diverged in epoch {self.n_iter_ + 1}: "
            "the weights became infinite or NaN; the last finite epoch was kept "
            f"({self.n_iter_}). Lower {self._rate_parameter} (now {now})"
            + (" or standardize X." if self._gaussian else "."),
            DivergenceWarning,
        )

    @staticmethod
    def _gather(X, idx, out):
        """Copy rows ``idx`` of X into ``out`` (dense, in ``out.dtype``)."""
        if sp.issparse(X):
            rows = X[idx]
            if rows.dtype != out.dtype:
                rows = rows.astype(out.dtype)
            rows.toarray(out=out)
        elif X.dtype == out.dtype:
            np.take(X, idx, axis=0, out=out, mode="clip")  # indices are valid
        else:  # take(out=) of another dtype casts an uninitialized buffer
            np.copyto(out, X[idx])
        return out

    @property
    def _fitted_units(self):
        """The hidden units the RBM computes with: those it was fitted with.

        A ``set_params(hidden_units=...)`` after fitting is for the next fit
        (as the MLPs' ``activation``); ``transform`` goes on with the units
        its weights were trained for. Unfitted, or pickled by a version that
        did not record them: the parameter (which loading fills with
        "sigmoid", the units an RBM pickled before it existed had).
        """
        return self.__dict__.get("_fitted_hidden_units", self.hidden_units)

    @property
    def _rectified(self):
        return self._fitted_units == "rectified"

    def _hidden_activation(self, z, out):
        """Mean-field hidden values from total inputs ``z``: sigmoid or relu."""
        return relu(z, out=out) if self._rectified else sigmoid(z, out=out)

    def _hidden_probs(self, v, out):
        np.matmul(v, self.components_.T, out=out)
        out += self.intercept_hidden_
        return self._hidden_activation(out, out=out)

    def _sample_hidden(self, z, out, rng):
        """Hidden samples from total inputs ``z`` into ``out``; ``z`` becomes their mean field.

        Binary units: ``1`` with probability ``sigmoid(z)``. Noisy rectified
        units (Nair & Hinton 2010): ``max(0, z + N(0, sigmoid(z)))``.
        """
        if not self._rectified:
            sigmoid(z, out=z)
            return np.less(rng.random(out=out, dtype=out.dtype), z, out=out)
        noise_sd = sigmoid(z, out=out)
        np.sqrt(noise_sd, out=noise_sd)
        noise_sd *= rng.standard_normal(z.shape, dtype=z.dtype)
        noise_sd += z
        relu(z, out=z)
        return relu(noise_sd, out=out)

    def _hidden_and_sample(self, v, probs, sample, rng):
        """Mean-field hidden values of ``v`` into ``probs``, a sample of them into ``sample``."""
        np.matmul(v, self.components_.T, out=probs)
        probs += self.intercept_hidden_
        return probs, self._sample_hidden(probs, sample, rng)

    def _visible_means(self, h, out):
        np.matmul(h, self.components_, out=out)
        out += self.intercept_visible_
        if not self._gaussian:
            sigmoid(out, out=out)
        return out

    @staticmethod
    def _sample(probs, random, out):
        """Bernoulli samples of ``probs`` into ``out`` (0.0 / 1.0)."""
        np.less(random, probs, out=out)
        return out

    def _cd_update(self, v0, rng, ws, momentum, weight=None):
        """One CD-k (or PCD-k) step on the batch ``v0``; returns its squared error.

        ``weight``: the rows' sample weights (None: all equal), which weigh
        their statistics and squared errors.

        Following Hinton (2010): the data-driven hidden units are sampled, the
        reconstructions use probabilities (means for Gaussian units), and the
        statistics use hidden probabilities. With ``persistent=True`` the
        negative phase continues the persistent chain ``h_samples_`` instead
        (Tieleman 2008), sampling its visible units so that it is a true
        Markov chain.
        """
        n, k = v0.shape[0], self.cd_steps
        V, H = ws["V"], ws["H"]
        h0, h_state = self._hidden_and_sample(v0, H[:n], ws["h_sample"][:n], rng)
        if self.persistent:
            recon = self._visible_means(h_state, ws["recon"][:n])
            m = self.h_samples_.shape[0]
            h_state = self.h_samples_
        else:
            recon = None
            m = n
        v_neg, h_neg = V[n : n + m], H[n : n + m]
        for step in range(k):
            self._visible_means(h_state, v_neg)
            if recon is None:
                recon = ws["recon"][:n]
                np.copyto(recon, v_neg)
            if self.persistent:
                if self._gaussian:
                    v_neg += rng.standard_normal(out=ws["random_v"][:m], dtype=V.dtype)
                else:
                    random_v = rng.random(out=ws["random_v"][:m], dtype=V.dtype)
                    self._sample(v_neg, random_v, v_neg)
            if self.persistent:
                self._hidden_and_sample(v_neg, h_neg, self.h_samples_, rng)
            elif step < k - 1:
                _, h_state = self._hidden_and_sample(v_neg, h_neg, ws["h_sample"][:n], rng)
            else:
                self._hidden_probs(v_neg, h_neg)

        recon -= v0
        squared_error = _sum_of_squares(recon, weight)

        # lr * (<v h>_data - <v h>_model) as ONE product: scale the hidden rows
        # (see _scale_phases), then H^T V sums both phases.
        lr = self.learning_rate
        visible_step = self._scale_phases(h0, v0, h_neg, v_neg, weight)
        step = np.matmul(H[: n + m].T, V[: n + m], out=ws["grad"])
        np.multiply(self.components_, lr * self.weight_decay, out=ws["decay"])
        step -= ws["decay"]
        self._weight_inc *= momentum
        self._weight_inc += step
        self.components_ += self._weight_inc

        hidden_step = H[: n + m].sum(axis=0)
        visible_step *= lr
        self._hidden_inc *= momentum
        self._hidden_inc += hidden_step
        self.intercept_hidden_ += self._hidden_inc
        self._visible_inc *= momentum
        self._visible_inc += visible_step
        self.intercept_visible_ += self._visible_inc
        return squared_error

    def _scale_phases(self, h_data, v_data, h_model, v_model, weight):
        """Scale the hidden rows of both phases; return ``<v>_data - <v>_model``.

        The rows of the data phase are scaled by ``+lr / n`` and those of the
        model phase by ``-lr / m`` (or by +-lr times each row's share of the
        batch's ``weight``), so that ``H^T V`` is ``lr * (<v h>_data - <v
        h>_model)``. The persistent chains sample the model, not the data:
        they are never weighted.
        """
        lr = self.learning_rate
        data = None if weight is None else weight / weight.sum()
        model = None if self.persistent else data
        visible_step = _scale_rows(h_data, v_data, data, lr)
        visible_step -= _scale_rows(h_model, v_model, model, -lr)
        return visible_step

    def _free_energy(self, X):
        weight, hidden_bias, visible_bias = self._params_as(X.dtype)
        pre = np.asarray(X @ weight.T)
        pre += hidden_bias
        softplus = np.logaddexp(0, pre, out=pre).sum(axis=1)
        if self._gaussian:
            # ||v - b||^2 = v.v - 2 v.b + b.b, without densifying a sparse X
            squares = X.multiply(X).sum(axis=1) if sp.issparse(X) else np.einsum("ij,ij->i", X, X)
            quadratic = np.asarray(squares).ravel() - 2 * np.asarray(X @ visible_bias).ravel()
            quadratic += visible_bias @ visible_bias
            return 0.5 * quadratic - softplus
        return -np.asarray(X @ visible_bias).ravel() - softplus


_COMMON_PARAMS_DOC = """
    n_components : int, default=256
        Number of hidden units.

    learning_rate : float, default={learning_rate}
        Step size of the CD update of weights and biases. {lr_source}

    batch_size : int, default=100
        Mini-batch size (Hinton & Salakhutdinov 2006 use 100).

    n_iter : int, default=50
        Number of epochs (passes over the training data) of ``fit``
        (50 per layer in Hinton & Salakhutdinov's 2006 classification code).

    cd_steps : int, default=1
        The k of CD-k: Gibbs steps of the negative phase. CD-1 is the recipe
        (Hinton 2010, section 3).

    persistent : bool, default=False
        Persistent contrastive divergence (Tieleman 2008): the negative phase
        continues ``batch_size`` persistent fantasy chains across mini-batches
        (whose visible units are sampled) instead of restarting at the data.

    momentum : float, default=0.9
        Momentum of the parameter increments after the first
        ``momentum_switch`` epochs (Hinton 2010, section 9).

    initial_momentum : float, default=0.5
        Momentum of the first ``momentum_switch`` epochs, while the weights
        are still changing fast (Hinton 2010, section 9).

    momentum_switch : int, default=5
        Number of epochs run with ``initial_momentum`` (5 in Hinton &
        Salakhutdinov's code).

    weight_decay : float, default=2e-4
        L2 weight cost added to the weight gradient, ``- weight_decay * W``
        (0.0002 in Hinton & Salakhutdinov's code; Hinton 2010, section 10).
        Biases are not decayed.

    init_scale : float, default={init_scale}
        Standard deviation of the initial weights, ``init_scale * N(0, 1)``.
        {init_source} Hidden biases start at 0; {visible_init}

    hidden_units : {{"sigmoid", "rectified"}}, default="sigmoid"
        Binary (sigmoid) hidden units, or noisy rectified linear units (Nair &
        Hinton 2010) sampled as ``max(0, x + N(0, sigmoid(x)))`` from their
        total input ``x``; their mean-field value ``max(0, x)`` is what
        :meth:`transform` returns and what the CD statistics use. Rectified
        units have no closed-form free energy: ``score_samples`` and
        ``pseudo_log_likelihood`` are then unavailable. A fitted RBM computes
        with the units it was fitted with; changing this parameter takes
        effect at the next ``fit``.

    shuffle : bool, default=True
        Shuffle the samples before each epoch.

    dtype : {{"float32", "float64"}}, default="float32"
        Precision of the parameters and of training; mini-batches are
        converted to it one at a time.

    verbose : bool or int, default=0
        Print the reconstruction error of each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the single random generator that draws the initial weights,
        shuffles the batches and draws every Gibbs sample (also those of
        :meth:`gibbs`).
"""

_ATTRIBUTES_DOC = """
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix ``W`` (row ``j`` holds hidden unit ``j``'s weights).

    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases ``c``.

    intercept_visible_ : ndarray of shape (n_features,)
        Visible biases ``b``.

    h_samples_ : ndarray of shape (batch_size, n_components)
        Hidden states of the persistent chains (``persistent=True``).

    reconstruction_errors_ : list of float
        Mean squared error between each training batch and its one-step
        reconstruction ``E[v | h]`` (``h`` sampled from ``p(h | v)``), averaged
        over samples and features, for each epoch of ``fit`` and each
        ``partial_fit`` call (a weighted mean with ``sample_weight``). It is
        the usual (rough) progress monitor of CD training (Hinton 2010,
        section 5).

    n_iter_ : int
        Number of epochs run (``fit`` epochs plus ``partial_fit`` calls).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit (only when X has string column names).
"""

_REFERENCES = """
    References
    ----------
    G. E. Hinton (2010). A practical guide to training restricted Boltzmann
    machines. UTML TR 2010-003, University of Toronto.

    G. E. Hinton and R. R. Salakhutdinov (2006). Reducing the dimensionality of
    data with neural networks. Science 313(5786), 504-507 (and its published
    Matlab code, ``rbm.m`` / ``mnistclassify.m``).

    T. Tieleman (2008). Training restricted Boltzmann machines using
    approximations to the likelihood gradient. ICML.
"""


_BERNOULLI_PARAMS_DOC = _COMMON_PARAMS_DOC.format(
    learning_rate=0.1,
    lr_source="Hinton & Salakhutdinov (2006) use it.",
    init_scale=0.1,
    init_source="0.1 as in Hinton & Salakhutdinov's ``rbm.m``\n"
    "        (Hinton 2010, section 8, suggests 0.01).",
    visible_init="visible biases start\n"
    "        at ``log(p / (1 - p))`` with ``p`` the mean of each feature, clipped\n"
    "        to [0.001, 0.999] (Hinton 2010, section 8).",
)

_GAUSSIAN_PARAMS_DOC = _COMMON_PARAMS_DOC.format(
    learning_rate=0.01,
    lr_source="Hinton (2010, section 13.2):\n"
    "        one or two orders of magnitude smaller than for binary visible units.",
    init_scale=0.01,
    init_source="0.01 (Hinton 2010, section 8).",
    visible_init="visible biases start at the mean of each feature.",
)


class BernoulliRBM(_BaseRBM):
    __doc__ = f"""Restricted Boltzmann machine with binary visible units.

    A scikit-learn transformer (``transform`` gives the hidden probabilities)
    trained by mini-batch contrastive divergence with momentum and weight
    decay, with the defaults of Hinton & Salakhutdinov (2006). Inputs should
    lie in [0, 1] (binary values or probabilities, e.g. pixel intensities
    scaled to [0, 1]); this is not checked. It differs from
    :class:`sklearn.neural_network.BernoulliRBM` in a few ways (see Notes).

    Parameters
    ----------
{_BERNOULLI_PARAMS_DOC}
    Attributes
    ----------
{_ATTRIBUTES_DOC}
    See Also
    --------
    GaussianBernoulliRBM : For real-valued, standardized inputs.
    sk_deepnet.DeepMLPClassifier : Its ``pretrain="rbm"`` stacks these machines.

    Notes
    -----
    Differences from :class:`sklearn.neural_network.BernoulliRBM`, each
    checked by ``tests/test_sklearn_rbm_port.py`` (scikit-learn's own tests,
    ported) or ``tests/test_pretraining.py``:

    * ``score_samples`` is the negative free energy ``-F(v)``, exact and
      deterministic. scikit-learn's is a pseudo-likelihood estimate,
      ``n_features * log p(v_j | v_-j)`` for one random feature ``j`` per
      sample; its expectation over ``j`` is :meth:`pseudo_log_likelihood`,
      computed exactly here.
    * The training recipe. The defaults add momentum (0.5, then 0.9 after
      ``momentum_switch`` epochs) and weight decay (2e-4), use CD-1, draw the
      initial weights from ``0.1 * N(0, 1)``, start the visible biases at the
      log-odds of each feature's mean, shuffle the samples each epoch and
      train ``n_iter=50`` epochs of ``batch_size=100``. scikit-learn runs
      PCD-1 with plain gradient steps from ``0.01 * N(0, 1)`` weights and
      zero biases, with its batches in order, 10 epochs of 10. The
      ``learning_rate`` (0.1) is the same: a step of ``learning_rate`` times
      the batch-mean gradient. ``BernoulliRBM(persistent=True, momentum=0,
      initial_momentum=0, weight_decay=0, init_scale=0.01, shuffle=False,
      batch_size=10, n_iter=10, dtype="float64")`` makes scikit-learn's
      updates; the visible-bias init, the random draws and the size of the
      last mini-batch still differ. So configured, it passes scikit-learn's
      tests of the pseudo-likelihood reached on the digits (-21 +/- 1.5), but
      no exact value of scikit-learn's is reproduced.
    * Training is in ``dtype`` (float32 by default), whatever the precision
      of X, which is cast one mini-batch at a time; the fitted model does not
      depend on X's dtype. ``transform``, ``score_samples`` and ``gibbs``
      compute and return in X's precision, whatever ``dtype`` (the fitted
      parameters are cast to it): a float32 X gives float32 results after a
      float64 fit. scikit-learn's fitted parameters take the precision of the
      X it was fitted on, and its results that of the wider of the two: a
      float32 X gives float64 results after a float64 fit.
    * ``gibbs`` returns the sampled visible units as 0.0/1.0 floats (in X's
      precision); scikit-learn's returns a boolean array.
    * ``partial_fit(X)`` trains one epoch of mini-batches of ``batch_size``
      over X; scikit-learn's takes one step on all of X.
    * A ``partial_fit`` after ``set_params`` changed ``n_components``,
      ``dtype`` or ``hidden_units`` raises a ValueError that names the change
      and leaves the RBM as it was, as the estimators refuse a changed
      architecture; scikit-learn's goes on silently with the components of
      its first call.
    * ``verbose`` prints each epoch's mean reconstruction error (also the
      epoch of each ``partial_fit`` call), where scikit-learn prints its
      pseudo-likelihood estimate in ``fit`` only.
    * ``h_samples_`` holds the persistent chains with ``persistent=True``
      only (scikit-learn always trains with them); with CD it stays zeros.
    * ``fit`` and ``partial_fit`` take a ``sample_weight`` (scikit-learn's
      have none): weighted CD statistics and visible-bias initialization;
      rows of zero weight are dropped, exactly as if absent.
    * A failed ``fit`` leaves the RBM as it was; a KeyboardInterrupt during
      training keeps the last complete epoch (FitInterruptedWarning).
{_REFERENCES}
    Examples
    --------
    >>> import numpy as np
    >>> from sk_deepnet.pretraining import BernoulliRBM
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> rbm = BernoulliRBM(n_components=2, n_iter=5, random_state=0).fit(X)
    >>> rbm.transform(X).shape
    (4, 2)
    """

    _gaussian = False

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.1,
        batch_size=100,
        n_iter=50,
        cd_steps=1,
        persistent=False,
        momentum=0.9,
        initial_momentum=0.5,
        momentum_switch=5,
        weight_decay=2e-4,
        init_scale=0.1,
        hidden_units="sigmoid",
        shuffle=True,
        dtype="float32",
        verbose=0,
        random_state=None,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.cd_steps = cd_steps
        self.persistent = persistent
        self.momentum = momentum
        self.initial_momentum = initial_momentum
        self.momentum_switch = momentum_switch
        self.weight_decay = weight_decay
        self.init_scale = init_scale
        self.hidden_units = hidden_units
        self.shuffle = shuffle
        self.dtype = dtype
        self.verbose = verbose
        self.random_state = random_state

    @staticmethod
    def _visible_bias_init(mean):
        p = np.clip(mean, 1e-3, 1 - 1e-3)
        return np.log(p / (1 - p))

    @available_if(_has_free_energy)
    @blas_policy(rbm_transform_flops)  # one product with all of X, then flips
    def pseudo_log_likelihood(self, X):
        """Exact pseudo-log-likelihood ``sum_i log p(v_i | v_-i)`` of each sample.

        Deterministic (every feature is flipped in turn, where scikit-learn's
        ``score_samples`` flips one random feature); it costs
        ``O(n_samples * n_features * n_components)``. Meaningful for binary X;
        only available with sigmoid hidden units.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Binary visible data.

        Returns
        -------
        pll : ndarray of shape (n_samples,)
            Pseudo-log-likelihood of each sample (<= 0).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        if sp.issparse(X):
            X = X.toarray()
        weight, hidden_bias, visible_bias = self._params_as(X.dtype)
        pre = X @ weight.T
        pre += hidden_bias
        base = np.logaddexp(0, pre).sum(axis=1)
        total = np.zeros(X.shape[0], dtype=np.float64)
        for i in range(X.shape[1]):
            sign = 1 - 2 * X[:, i]  # +1 turns v_i on, -1 turns it off
            flipped = np.logaddexp(0, pre + np.outer(sign, weight[:, i])).sum(axis=1)
            # F(v) - F(v with i flipped) = sign * b_i + (flipped - base)
            delta = sign * visible_bias[i] + flipped - base
            total -= np.logaddexp(0, delta)  # log sigmoid(-delta)
        return total


class GaussianBernoulliRBM(_BaseRBM):
    __doc__ = f"""RBM with unit-variance Gaussian visible units.

    The energy is ``E(v, h) = ||v - b||^2 / 2 - c . h - v . W h``, so
    ``p(v | h) = N(b + W h, I)`` and ``p(h_j = 1 | v) = sigmoid(c_j + W_j . v)``
    (Hinton 2010, section 13.2). The model fixes each visible variance to 1:
    standardize X first (zero mean, unit variance per feature, e.g. with
    :class:`~sklearn.preprocessing.StandardScaler`); ``fit`` warns when a
    feature's standard deviation exceeds 4. Reconstructions use the mean
    ``b + W h`` (no noise) in CD; persistent chains add the unit Gaussian noise.

    Parameters
    ----------
{_GAUSSIAN_PARAMS_DOC}
    Attributes
    ----------
{_ATTRIBUTES_DOC}
    See Also
    --------
    BernoulliRBM : For inputs in [0, 1].
{_REFERENCES}
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sk_deepnet.pretraining import GaussianBernoulliRBM
    >>> X = StandardScaler().fit_transform(load_digits().data)
    >>> rbm = GaussianBernoulliRBM(n_components=32, n_iter=3, random_state=0)
    >>> rbm.fit_transform(X).shape
    (1797, 32)
    """

    _gaussian = True

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.01,
        batch_size=100,
        n_iter=50,
        cd_steps=1,
        persistent=False,
        momentum=0.9,
        initial_momentum=0.5,
        momentum_switch=5,
        weight_decay=2e-4,
        init_scale=0.01,
        hidden_units="sigmoid",
        shuffle=True,
        dtype="float32",
        verbose=0,
        random_state=None,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.cd_steps = cd_steps
        self.persistent = persistent
        self.momentum = momentum
        self.initial_momentum = initial_momentum
        self.momentum_switch = momentum_switch
        self.weight_decay = weight_decay
        self.init_scale = init_scale
        self.hidden_units = hidden_units
        self.shuffle = shuffle
        self.dtype = dtype
        self.verbose = verbose
        self.random_state = random_state

    @staticmethod
    def _visible_bias_init(mean):
        return mean
