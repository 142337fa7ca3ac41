"""Greedy layer-wise pretraining with restricted Boltzmann machines.

The deep-belief-net recipe of Hinton, Osindero & Teh (2006) and Hinton &
Salakhutdinov (2006): train one RBM per hidden layer, bottom up, each on the
hidden probabilities of the one below; copy each RBM's weights and hidden
biases into the corresponding hidden layer; then fine-tune the whole network
with backpropagation. Pretraining starts a deep sigmoid network where plain
backpropagation from a small random init cannot get going (the vanishing
gradient): see Erhan et al. (2010) and ``examples/plot_rbm_pretraining.py``.

With ``pretrain="rbm"``, :class:`~sk_deepnet.DeepMLPClassifier` and
:class:`~sk_deepnet.DeepMLPRegressor` do this at the start of ``fit``;
``pretrain_fit(X)`` does it on unlabeled X alone, and a following ``fit`` with
a matching architecture starts from those weights. The public pieces are:

* :class:`BernoulliRBM`: visible units in [0, 1];
* :class:`GaussianBernoulliRBM`: unit-variance Gaussian visible units, for
  standardized real-valued inputs;
* :class:`PretrainingWarning`: the pretrained features cannot be carried over
  exactly (see below).

The defaults follow the published recipe: CD-1, learning rate 0.1 (0.01 for
Gaussian visible units, Hinton 2010, section 13.2), momentum 0.5 for 5 epochs
then 0.9, weight decay 0.0002, mini-batches of 100, 50 epochs per layer and
initial weights ``0.1 * N(0, 1)`` (``0.01 * N(0, 1)`` for the Gaussian layer)
(Hinton & Salakhutdinov 2006 and their code; Hinton 2010).

**Sample weights.** ``fit(X, y, sample_weight=w)`` (and
``pretrain_fit(X, sample_weight=w)``) weighs the pretraining too. Rows of zero
weight are dropped before it starts, so they change nothing, not even the
random draws: the pretrained layers are exactly those of the positively
weighted rows alone. The other weights weigh every RBM's contrastive-divergence
statistics (each mini-batch's weighted mean, as the network's loss is), the
visible-bias initialization (weighted feature means) and the pre-activation
means and variances that initialize batch normalization; the [0, 1] scaling
of rectified features takes the minimum and maximum over the rows kept. A
weight k counts as k copies of a row in expectation only, not exactly: each
copy would draw its own Gibbs samples and fill its own place in the
mini-batches. (With the sampling replaced by its mean field, integer weights
and repeated rows give the same stack: ``tests/test_pretraining_weights.py``.)

**Rectified hidden units.** With ``pretrain_hidden_units="auto"`` (the
default), a network of the relu family (relu, leaky_relu, elu, gelu,
softplus) is pretrained with noisy rectified hidden units (Nair & Hinton 2010),
whose mean-field output ``max(0, x)`` is a relu unit's: the copy is exact for
relu, and close for its smooth or leaky relatives. The layers above a
rectified one see unbounded non-negative features: their RBMs have Bernoulli
visible units on those features scaled to [0, 1] (by each feature's minimum
and range on the pretraining data; Gaussian visible units with rectified
hidden ones diverge easily), and the scaling is folded into the copied
weights and biases, so the network computes exactly the features the RBMs
learned.

**How pretrained layers enter the network.** Sigmoid RBM hidden units are sigmoid
units, so the copy is exact with ``activation="sigmoid"``. With ``"tanh"`` it is exact too, through
``tanh(z / 2) = 2 * sigmoid(z) - 1``: the first layer gets ``W / 2, c / 2``, the
next ones ``W / 4`` and ``(c + sum_i W_i / 2) / 2`` (which also undoes the
shift of their inputs to [-1, 1]); the output layer absorbs the remaining
affine map. Any other pairing of hidden units and activation (sigmoid units in a relu
network, rectified units in a sigmoid one) gets the raw weights and biases and a
:class:`PretrainingWarning`: the network then does not compute the
pretrained features. With ``normalization="batch"`` each layer's scale and
shift (and running statistics) are set to the mean and standard deviation of
its pre-activations on the pretraining data, so the normalization starts as
the identity and the features are kept; ``normalization="layer"``
re-standardizes every sample and gets a warning. With ``residual=True`` only
the layers that see the previous layer's activation (the stem and the first
residual block) are pretrained (later layers see block sums), with a warning.

References
----------
G. E. Hinton (2010). A practical guide to training restricted Boltzmann
machines. UTML TR 2010-003, University of Toronto.

G. E. Hinton and R. R. Salakhutdinov (2006). Reducing the dimensionality of data
with neural networks. Science 313(5786), 504-507.

G. E. Hinton, S. Osindero and Y.-W. Teh (2006). A fast learning algorithm for
deep belief nets. Neural Computation 18(7), 1527-1554.

D. Erhan, Y. Bengio, A. Courville, P.-A. Manzagol, P. Vincent and S. Bengio
(2010). Why does unsupervised pre-training help deep learning? JMLR 11, 625-660.
"""


import numpy as np
import scipy.sparse as sp

from ._activations import canonical_activation
from ._initializers import RELU_FAMILY
from ._layers import BatchNorm
from ._persistence import publish
from ._rbm import BernoulliRBM, GaussianBernoulliRBM, column_stats, positive_rows
from ._warnings import float64_remedy, or_list, warn_user
from .exceptions import FitInterruptedWarning, PretrainingWarning

__all__ = ["BernoulliRBM", "GaussianBernoulliRBM", "PretrainingWarning"]

publish(__name__, BernoulliRBM, GaussianBernoulliRBM)

#: Rows per chunk when propagating data through a trained RBM.
_CHUNK = 4096


class _PretrainedStack:
    """The outcome of layer-wise pretraining, independent of the network's activation.

    ``layers[i]`` is ``(weight, bias, z_mean, z_var)``: the RBM's
    ``(n_in, n_out)`` weights and hidden biases, and the mean and variance of
    its pre-activations ``z = v @ weight + bias`` on the pretraining data.
    """

    def __init__(self, n_features, hidden_sizes):
        self.n_features = n_features
        self.hidden_sizes = list(hidden_sizes)
        self.layers = []
        self.curves = []
        self.visible = None
        self.hidden_units = "sigmoid"
        self.interrupted_layer = None
        self.feature_names = None  # of pretrain_fit's X, when it had string column names

    def matches(self, n_features, hidden_sizes):
        return self.n_features == n_features and self.hidden_sizes == list(hidden_sizes)

    def names_differ(self, feature_names):
        """Whether a fit's ``feature_names_in_`` are not the pretraining's.

        Only when both X had string column names: without names on one side
        there is nothing to compare (a numpy array of the same columns).
        """
        mine = getattr(self, "feature_names", None)  # stacks pickled before 0.2.0 have none
        if mine is None or feature_names is None:
            return False
        return list(mine) != [str(name) for name in feature_names]

    def __getstate__(self):
        # Plain values, lists and arrays: how an estimator pickles it (see from_state).
        return dict(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(state)

    @classmethod
    def from_state(cls, state):
        """The stack of a :meth:`__getstate__` dict."""
        stack = cls.__new__(cls)
        stack.__setstate__(dict(state))
        return stack


def _visible_kind(X, visible):
    """``visible`` or, for ``"auto"``, Bernoulli when X lies in [0, 1], else Gaussian."""
    if visible == "gaussian":
        return visible
    lo, hi, _, _ = column_stats(X)
    # A tolerance for rounding: MinMaxScaler may give 1.0000000000000002.
    in_unit_interval = lo.min() >= -1e-6 and hi.max() <= 1 + 1e-6
    if visible == "bernoulli" and not in_unit_interval:
        warn_user(
            f"pretrain_visible='bernoulli' but X lies in [{lo.min():.7g}, {hi.max():.7g}], "
            "not [0, 1]: Bernoulli visible units read X as probabilities, and the "
            "RBM learns little. Scale X to [0, 1] (e.g. with MinMaxScaler), or use "
            "pretrain_visible='auto' or 'gaussian'.",
            PretrainingWarning,
        )
    if visible != "auto":
        return visible
    return "bernoulli" if in_unit_interval else "gaussian"


def _make_rbm(kind, n_components, settings, rate_parameter, layer):
    """The RBM of hidden layer ``layer`` (from 0), whose warnings name ``rate_parameter``."""
    cls = GaussianBernoulliRBM if kind == "gaussian" else BernoulliRBM
    params = dict(settings)
    auto = params.get("learning_rate") == "auto"
    if auto:
        params.pop("learning_rate")  # the class default: 0.1 Bernoulli, 0.01 Gaussian
    rbm = cls(n_components=n_components, **params)
    # A divergence names what the caller sets (the estimator's
    # pretrain_learning_rate), not the RBM's own learning_rate.
    rbm._rate_parameter = rate_parameter
    rbm._rate_setting = "auto" if auto else None
    rbm._role = f"hidden layer {layer + 1} (RBM pretraining)"
    return rbm


def _propagate(rbm, X, dtype, sample_weight=None):
    """Hidden mean-field values of X (chunk by chunk) and pre-activation mean and variance.

    The mean and variance are weighted by ``sample_weight`` (None: unweighted).
    """
    weight = rbm.components_.T.astype(dtype, copy=False)
    bias = rbm.intercept_hidden_.astype(dtype, copy=False)
    n = X.shape[0]
    H = np.empty((n, weight.shape[1]), dtype)
    total = np.zeros(weight.shape[1])
    total_sq = np.zeros(weight.shape[1])
    for start in range(0, n, _CHUNK):
        chunk = X[start : start + _CHUNK]
        chunk = chunk.astype(dtype) if sp.issparse(chunk) else np.asarray(chunk, dtype)
        z = H[start : start + chunk.shape[0]]
        if sp.issparse(chunk):
            z[...] = chunk @ weight
        else:
            np.matmul(chunk, weight, out=z)
        z += bias
        if sample_weight is None:
            total += z.sum(axis=0, dtype=np.float64)
            total_sq += np.einsum("ij,ij->j", z, z, dtype=np.float64)
        else:
            w = np.asarray(sample_weight[start : start + _CHUNK], np.float64)
            total += w @ z.astype(np.float64)
            total_sq += np.einsum("i,ij,ij->j", w, z, z, dtype=np.float64)
        rbm._hidden_activation(z, out=z)
    count = n if sample_weight is None else float(np.sum(sample_weight, dtype=np.float64))
    mean = total / count
    return H, mean, np.maximum(total_sq / count - mean**2, 0.0)


def _scale_to_unit_interval(H):
    """Min-max scale the columns of ``H`` in place; return their minima and ranges.

    Dead or constant features (range below 1e-6) keep range 1.
    """
    lo, hi, _, _ = column_stats(H)
    scale = hi - lo
    scale[scale < 1e-6] = 1.0
    H -= lo.astype(H.dtype)
    H /= scale.astype(H.dtype)
    return lo, scale


def _fold_scaling(weight, bias, mean, scale):
    """Weights and bias acting on raw features, from those acting on ``(h - mean) / scale``."""
    weight = weight / scale[:, None].astype(weight.dtype)
    return weight, bias - (mean @ weight).astype(bias.dtype)


def pretrain_stack(
    X, hidden_sizes, rng, *, n_layers=None, visible="auto", hidden_units="sigmoid",
    dtype=np.float32, verbose=False, rate_parameter="learning_rate", sample_weight=None,
    **settings,
):
    """Greedy layer-wise RBM training, bottom up.

    Parameters
    ----------
    X : {ndarray, CSR matrix} of shape (n_samples, n_features)
        Training data, float32 or float64 (never copied whole).
    hidden_sizes : list of int
        Widths of the network's hidden layers.
    rng : numpy.random.Generator
        Drives every RBM's initialization, shuffling and sampling.
    n_layers : int, default=None
        Number of bottom layers to pretrain (all by default).
    visible : {"auto", "bernoulli", "gaussian"}
        Visible units of the first RBM; the others are Bernoulli (on sigmoid
        features, or on rectified features scaled to [0, 1]).
    hidden_units : {"sigmoid", "rectified"}
        Hidden units of every RBM.
    dtype : numpy dtype
        Precision of training.
    verbose : bool
        Print each layer's reconstruction errors.
    rate_parameter : str, default="learning_rate"
        The caller's name of ``learning_rate``, which a divergence warning
        tells the user to lower (the estimator's ``pretrain_learning_rate``).
    sample_weight : ndarray of shape (n_samples,), default=None
        Validated non-negative weights of the rows (at least one positive).
        Rows of zero weight are dropped before anything else (they change
        nothing, not even the random draws); the others weigh every RBM's
        statistics (``BernoulliRBM.fit``'s ``sample_weight``) and the
        pre-activation means and variances. The [0, 1] scaling of rectified
        features uses the minimum and maximum over the rows kept.
    **settings
        RBM parameters (``n_iter``, ``learning_rate`` or ``"auto"``,
        ``cd_steps``, ``batch_size``, ``momentum``, ``initial_momentum``,
        ``weight_decay``, ``persistent``).

    Returns
    -------
    stack : _PretrainedStack
        ``layers`` (weights, hidden biases and pre-activation statistics of
        each pretrained layer), ``curves`` (reconstruction errors), ``visible``
        (the first RBM's visible units) and ``interrupted_layer``: a
        KeyboardInterrupt stops pretraining, keeps the layers completed so
        far and records the interrupted one (None otherwise).
    """
    stack = _PretrainedStack(X.shape[1], hidden_sizes)
    n_layers = len(hidden_sizes) if n_layers is None else n_layers
    X, sample_weight = positive_rows(X, sample_weight)  # a copy if some weights are 0
    dtype_name = np.dtype(dtype).name
    H = X
    layer = 0
    try:
        stack.visible = _visible_kind(X, visible)
        stack.hidden_units = hidden_units
        rectified = hidden_units == "rectified"
        for layer, width in enumerate(hidden_sizes[:n_layers]):
            kind = stack.visible if layer == 0 else "bernoulli"
            # Rectified features are unbounded: the next RBM sees them in [0, 1].
            scaling = _scale_to_unit_interval(H) if layer and rectified else None
            rbm = _make_rbm(kind, width, {
                **settings, "hidden_units": hidden_units, "dtype": dtype_name,
                "verbose": verbose,
            }, rate_parameter, layer)
            if verbose:
                print(
                    f"Pretraining layer {layer + 1}/{n_layers}: {type(rbm).__name__} "
                    f"{H.shape[1]} -> {width}"
                )
            # An interrupted RBM is not kept: its layer keeps the random init.
            rbm._fit_with_rng(H, rng, sample_weight, keep_interrupted=False)
            H_next, z_mean, z_var = _propagate(rbm, H, dtype, sample_weight)
            weight, bias = rbm.components_.T.copy(), rbm.intercept_hidden_.copy()
            if scaling is not None:
                weight, bias = _fold_scaling(weight, bias, *scaling)
            stack.layers.append((weight, bias, z_mean, z_var))
            stack.curves.append(list(rbm.reconstruction_errors_))
            H = H_next
    except KeyboardInterrupt:
        stack.interrupted_layer = layer
    return stack


def n_pretrainable(depth, residual, residual_block_size):
    """Number of bottom hidden layers whose input is the previous layer's activation.

    All of them, except with residual blocks, whose later layers see sums of
    block inputs and outputs: then the stem and the first block.
    """
    if residual and depth >= 2:
        return min(1 + residual_block_size, depth)
    return depth


def _n_pretrainable_in(network):
    return n_pretrainable(network.depth, network.residual, network.residual_block_size)


def load_stack(network, stack):
    """Copy the pretrained layers into ``network`` (see the module docstring).

    Parameters
    ----------
    network : Network
        A freshly initialized network whose hidden widths match the stack.
    stack : _PretrainedStack
        The result of :func:`pretrain_stack`.

    Returns
    -------
    n_loaded : int
        Number of hidden layers initialized from the stack (the others keep
        their initialization); warns where the copy is not exact.
    """
    n_layers = min(len(stack.layers), _n_pretrainable_in(network))
    activation = network.activation
    dtype = network.dtype
    for i, (weight, bias, z_mean, z_var) in enumerate(stack.layers[:n_layers]):
        weight = weight.astype(np.float64)
        bias = bias.astype(np.float64)
        if activation == "tanh" and stack.hidden_units == "sigmoid":
            # tanh(z / 2) = 2 * sigmoid(z) - 1
            if i > 0:  # inputs are 2 p - 1 instead of p
                bias = bias + weight.sum(axis=0) / 2
                weight = weight / 2
            weight, bias, scale = weight / 2, bias / 2, 0.5
        else:
            scale = 1.0
        network.coefs[i][...] = weight.astype(dtype)
        network.intercepts[i][...] = bias.astype(dtype)
        if network.normalization == "batch":  # start as the identity on this data
            mean, var = scale * z_mean, scale**2 * z_var
            network.norms[i].gamma[...] = np.sqrt(var + BatchNorm.eps).astype(dtype)
            network.norms[i].beta[...] = mean.astype(dtype)
            network.running_means[i][...] = mean.astype(dtype)
            network.running_vars[i][...] = var.astype(dtype)
    _warn_about_mismatches(network, n_layers, len(stack.layers), stack.hidden_units)
    return n_layers


def resolve_hidden_units(hidden_units, activation):
    """``"auto"``: rectified RBM hidden units for the relu family, sigmoid otherwise."""
    if hidden_units != "auto":
        return hidden_units
    return "rectified" if canonical_activation(activation) in RELU_FAMILY else "sigmoid"


def _warn_about_mismatches(network, n_loaded, n_pretrained, hidden_units="sigmoid"):
    if n_loaded == 0:
        return
    suited = resolve_hidden_units("auto", network.activation)
    exact = network.activation in ("sigmoid", "tanh") if hidden_units == "sigmoid" else (
        suited == "rectified"
    )
    if not exact:
        warn_user(
            f"RBM hidden units are {hidden_units} units, but activation="
            f"{network.activation!r}: the pretrained weights were copied as they are, "
            "so the network does not start from the pretrained features. Use "
            "activation='sigmoid' (or 'tanh', mapped exactly) with sigmoid units, "
            "or an activation of the relu family with pretrain_hidden_units='auto' "
            "or 'rectified'.",
            PretrainingWarning,
        )
    if network.normalization == "layer":
        warn_user(
            "normalization='layer' re-standardizes each sample's pre-activations, "
            "so the network does not start from the pretrained features exactly.",
            PretrainingWarning,
        )
    limit = _n_pretrainable_in(network)
    if limit < network.depth and n_pretrained >= limit:
        warn_user(
            f"With residual=True only the first {limit} of the {network.depth} "
            "hidden layers (the stem and the first residual block) are pretrained: "
            "later layers see sums of block inputs and outputs, not the previous "
            "layer's activation. The other layers keep their random initialization.",
            PretrainingWarning,
        )


# ------------------------------------------------------------- estimator glue
def _settings(estimator):
    """RBM parameters from the estimator's ``pretrain_*`` hyperparameters."""
    return dict(
        n_iter=estimator.pretrain_epochs,
        learning_rate=estimator.pretrain_learning_rate,
        cd_steps=estimator.pretrain_cd_steps,
        batch_size=estimator.pretrain_batch_size,
        momentum=estimator.pretrain_momentum,
        initial_momentum=min(0.5, estimator.pretrain_momentum),
        weight_decay=estimator.pretrain_weight_decay,
        persistent=estimator.pretrain_persistent,
        hidden_units=resolve_hidden_units(estimator.pretrain_hidden_units, estimator.activation),
    )


def _pretrain_for(estimator, X, rng, hidden_sizes, n_layers, after, sample_weight):
    """Run the stack with the estimator's settings; warn if it was interrupted."""
    stack = pretrain_stack(
        X, hidden_sizes, rng, n_layers=n_layers, visible=estimator.pretrain_visible,
        dtype=np.dtype(estimator.dtype), verbose=bool(estimator.verbose),
        rate_parameter="pretrain_learning_rate", sample_weight=sample_weight,
        **_settings(estimator),
    )
    if stack.interrupted_layer is not None:
        warn_user(
            "Pretraining interrupted by KeyboardInterrupt in hidden layer "
            f"{stack.interrupted_layer + 1}; the {len(stack.layers)} layer(s) "
            "pretrained before it are kept, the others keep their random "
            f"initialization; {after}.",
            FitInterruptedWarning,
        )
    return stack


def pretrain_fit(estimator, X, sample_weight=None, feature_names=None):
    """Implementation of ``BaseDeepMLP.pretrain_fit`` (see its docstring).

    X and ``sample_weight`` have been validated by the estimator (X dense or
    CSR, float32 or float64); ``feature_names`` are those of the X it was
    given (None without string column names), which a later fit checks. The
    estimator changes only once the stack is complete (or interrupted): an
    error leaves its previous pretraining.
    """
    hidden_sizes = estimator._hidden_sizes()
    n_layers = n_pretrainable(
        len(hidden_sizes), estimator.residual, estimator.residual_block_size
    )
    stack = _pretrain_for(
        estimator, X, estimator._make_rng(), hidden_sizes, n_layers,
        after="pretrain_fit returns", sample_weight=sample_weight,
    )
    # A list of str: plain values in pickles and skops files (see __getstate__).
    stack.feature_names = None if feature_names is None else [str(n) for n in feature_names]
    # Both at once: an interrupt never leaves the curves of another stack.
    estimator.__dict__.update(
        _pretrained_stack=stack, pretrain_curves_=[list(curve) for curve in stack.curves]
    )
    return estimator


def pretrained_overflow_message(estimator, dtype):
    """Why the loss overflows before any step when the network was pretrained, or None.

    An RBM trained with too large a ``pretrain_learning_rate`` can end with huge
    but finite weights (or stop at its first epoch): the error must name the
    pretraining, not the initialization or the scale of X.
    """
    curves = getattr(estimator, "pretrain_curves_", None)
    if not curves:
        return None
    stopped = [
        str(i + 1) for i, curve in enumerate(curves) if len(curve) < estimator.pretrain_epochs
    ]
    diverged = (
        f" The RBM of hidden layer(s) {', '.join(stopped)} diverged (see the "
        "DivergenceWarning)." if stopped else ""
    )
    remedies = [
        f"lowering pretrain_learning_rate (now {estimator.pretrain_learning_rate!r}) "
        "or pretrain_epochs",
        "scaling X (e.g. with StandardScaler)",
        *float64_remedy(np.dtype(dtype)),
    ]
    return (
        "The loss is not finite before any training step: the weights from the RBM "
        "pretraining (pretrain='rbm' or pretrain_fit) make it overflow "
        f"{np.dtype(dtype).name}.{diverged} Try {or_list(remedies)}."
    )


def initialize_by_pretraining(estimator, network, X, rng, sample_weight=None):
    """On a fresh fit: load ``pretrain_fit``'s weights, or pretrain if asked.

    Sets ``estimator.pretrain_curves_`` (None when nothing was pretrained).
    ``sample_weight`` (validated) weighs the pretraining.
    """
    stack = getattr(estimator, "_pretrained_stack", None)
    names = getattr(estimator, "feature_names_in_", None)
    if stack is not None and stack.matches(X.shape[1], network.hidden_sizes) and (
        stack.names_differ(names)
    ):
        warn_user(
            "The weights pretrained by pretrain_fit were learned on X with the "
            f"feature names {list(stack.feature_names)!r}, and this fit's X has "
            f"{list(names)!r}: they are ignored (the first layer's weights would "
            "meet other features).",
            PretrainingWarning,
        )
        stack = None
    if stack is not None and not stack.matches(X.shape[1], network.hidden_sizes):
        warn_user(
            f"The weights pretrained by pretrain_fit (n_features={stack.n_features}, "
            f"hidden widths {stack.hidden_sizes}) do not match this network "
            f"(n_features={X.shape[1]}, hidden widths {network.hidden_sizes}); "
            "they are ignored.",
            PretrainingWarning,
        )
        stack = None
    if stack is None and estimator.pretrain == "rbm":
        stack = _pretrain_for(
            estimator, X, rng, network.hidden_sizes, _n_pretrainable_in(network),
            after="fine-tuning continues (interrupt again to stop it)",
            sample_weight=sample_weight,
        )
    if stack is None:
        estimator.pretrain_curves_ = None
        return
    load_stack(network, stack)
    estimator.pretrain_curves_ = [list(curve) for curve in stack.curves]
