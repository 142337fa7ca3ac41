"""The estimators: hyperparameters, validation, the training loop, prediction.

``BaseDeepMLP`` owns everything the two estimators share; ``DeepMLPClassifier`` and
``DeepMLPRegressor`` only add target encoding, the loss and the prediction methods.
The numerical work happens in :class:`~sk_deepnet._network.Network` (forward and
backward over one flat parameter vector) and :mod:`sk_deepnet.optimizers` (one
vectorized update of that vector per mini-batch).
"""

import copy
import functools
import inspect
import reprlib
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    clone,
)
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._activations import ACTIVATIONS, ALIASES, canonical_activation
from ._batch_record import BatchRecord
from ._batches import MiniBatches
from ._callback_base import Callback
from ._fitted_arrays import NetworkArrays
from ._help import HelpMixin
from ._initializers import INITIALIZERS, auto_plan
from ._memory import LAYER_OVERHEAD_BYTES, check_fits_in_memory
from ._network import Network
from ._persistence import add_new_parameters, check_version, stamp_version
from ._reentrancy import is_fitting, not_reentrant
from ._sklearn_compat import (
    CallbackSupportMixin,
    Interval,
    Options,
    StrictIntegerMixin,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    _get_feature_names,
)
from ._signatures import init_parameter_names
from ._threadpool import blas_policy, fit_flops, predict_flops, pretrain_flops
from ._validation import check_representable, sample_weight_in_dtype
from ._training import CallbackDispatcher, Trainer, call_every
from ._warnings import describe_changes, float64_remedy, or_list, warn_user
from .exceptions import DivergenceWarning, FitInterruptedWarning  # noqa: F401 (re-exported)
from .exceptions import PretrainingWarning
from .optimizers import LBFGS, OPTIMIZERS, Optimizer, get_optimizer
from ._lbfgs import run_lbfgs
from ._sklearn_spellings import check_sklearn_keywords, check_sklearn_values, warn_sgd_momentum
from .pretraining import (
    _PretrainedStack,
    initialize_by_pretraining,
    pretrain_fit,
)
from .schedules import SCHEDULES, LRSchedule


_DTYPES = {"float32": np.float32, "float64": np.float64}

#: Private fitted objects that an estimator pickles as their plain state
#: dicts, so that the types a skops user must trust are public ones only.
_PLAIN_STATE = {"_network": Network, "_pretrained_stack": _PretrainedStack}

#: What one fit call keeps on the estimator while it runs (see ``_fit``): a
#: copy pickled by a callback during the fit leaves it out.
_CALL_STATE = (
    "_callback_copies", "_keep_model_on_error", "_replaced_model_n_iter",
    "_put_back_replaced_model",
)

_PARAMETERS_DOC = """
    depth : int, default=3
        Number of hidden layers. ``depth=0`` is a linear model (logistic or
        softmax regression for the classifier, linear or Poisson regression
        for the regressor), scikit-learn's ``hidden_layer_sizes=()``: the
        baseline a grid over depths can start from. The options that act on
        hidden layers (``width``, ``activation``, ``normalization``,
        ``dropout``, ``residual``, ``pretrain``) then change nothing.

    width : int or sequence of int, default=100
        Units per hidden layer: one int for every layer, or one per layer
        (a sequence of ``depth`` ints; an empty one for ``depth=0``).

    activation : {"relu", "sigmoid", "logistic", "tanh", "identity", "leaky_relu", \
"elu", "selu", "gelu", "softplus"}, default="relu"
        Hidden-layer activation. ``"logistic"`` is an alias of ``"sigmoid"``.

    init : {"auto", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", \
"lecun_normal", "orthogonal", "normal"}, default="auto"
        Weight initialization. ``"auto"`` with the relu family starts like
        scikit-learn's MLP, Glorot-uniform weights and biases drawn from the
        same uniform, in the first 4 hidden layers and the output layer, and
        takes He (uniform, zero biases) for hidden layers beyond, so that a
        deep network keeps its gradients (see the user guide's
        initialization section for why); LeCun (normal) for selu and Glorot
        (uniform) for sigmoid, tanh and identity hidden layers and the
        linear output layer. An explicit scheme applies to every layer, with
        zero biases. ``"normal"`` draws N(0, ``init_scale`` ** 2) whatever the
        layer size: the classic bad choice that makes gradients vanish (0.01)
        or explode (1.0).

    init_scale : float, default=0.01
        Standard deviation of ``init="normal"``; ignored by the other schemes.

    normalization : {None, "batch", "layer"}, default=None
        Normalize each hidden layer's pre-activations: batch normalization
        (running statistics are used at prediction time, so predictions do not
        depend on how samples are batched) or layer normalization. Their scales
        and shifts are trained like the weights. Both use ``eps=1e-5``, and
        the running statistics ``momentum=0.1``, as PyTorch; the running
        variance averages the biased batch variance that training normalizes
        with, where PyTorch's ``BatchNorm1d`` averages the unbiased one.

    dropout : float in [0, 1), default=0.0
        Inverted-dropout rate of the hidden activations, during training only.

    residual : bool, default=False
        Add skip connections: after the first hidden layer, hidden layers are
        grouped in blocks of ``residual_block_size`` whose input is added to
        their output (through a learned linear projection where the widths
        differ). The block branches are scaled by ``1 / n_blocks`` so that
        very deep residual networks stay numerically stable. With ``depth=1``
        there is no block, and ``residual`` changes nothing.

    residual_block_size : int, default=2
        Hidden layers per residual block; when they do not divide ``depth - 1``,
        the last block is shorter.

    clip_grad_norm : float or None, default=None
        If set, rescale each mini-batch gradient so that its global L2 norm is at
        most this value (Pascanu et al., 2013): the remedy for exploding gradients.
        The factor is PyTorch's ``clip_grad_norm_``'s, ``clip_grad_norm / (norm +
        1e-6)`` when below one.

    optimizer : {"sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", \
"adam", "adamw", "nadam", "amsgrad", "lbfgs"} or Optimizer, default="adam"
        Update rule; see :mod:`sk_deepnet.optimizers` for each exact rule.
        An :class:`~sk_deepnet.optimizers.Optimizer` instance (e.g.
        ``Adam(beta_2=0.99)``) is copied at each fresh fit, like the
        callbacks, and carries its own settings: the optimizer-specific
        parameters below must then stay ``"auto"``; its own are the nested
        parameters ``optimizer__learning_rate`` etc. of ``set_params`` and
        grid searches. Every ``"auto"`` of those
        parameters takes the default of the optimizer class, which owns and
        validates its settings.
        ``"lbfgs"`` is full-batch L-BFGS (SciPy's L-BFGS-B over the flat
        parameter vector, as scikit-learn's ``solver="lbfgs"``): each
        iteration uses every sample, ``max_iter`` counts iterations and
        ``max_fun`` loss evaluations, ``tol`` bounds the largest gradient
        entry; ``learning_rate``, ``lr_schedule``, ``batch_size``,
        ``early_stopping`` and ``n_iter_no_change`` play no part (a
        ``batch_size`` or ``early_stopping`` that is set warns). Its loss
        must be deterministic: ``dropout`` and ``clip_grad_norm`` are refused
        with it, and so is ``partial_fit``. Its loss and gradient are computed
        in float64 whatever ``dtype`` (SciPy's precision; in float32 short
        steps round away and it stops early), the fitted weights keep
        ``dtype``. Often the best choice for small data sets (see
        :ref:`optimizer_lbfgs`).

    learning_rate : float or "auto", default="auto"
        Initial step size. ``"auto"`` takes the optimizer's documented default
        (PyTorch's): 0.01 for sgd, momentum, nesterov, adagrad and rmsprop, 1.0
        for adadelta, 0.001 for adam, adamw and amsgrad, 0.002 for nadam.

    momentum : float or "auto", default="auto"
        Momentum of ``"momentum"`` and ``"nesterov"`` (``"auto"``: 0.9);
        ignored by the others. ``optimizer="sgd"`` with a momentum above 0
        warns that it is ignored (scikit-learn's ``solver="sgd"`` with
        momentum is ``"nesterov"`` or ``"momentum"`` here).

    beta_1, beta_2 : float or "auto", default="auto"
        Moment decay rates of the Adam family (``"auto"``: 0.9 and 0.999);
        ignored by the others.

    epsilon : float or "auto", default="auto"
        Denominator offset of the adaptive methods (``"auto"``: 1e-10 adagrad,
        1e-6 adadelta, 1e-8 the others).

    rho : float or "auto", default="auto"
        Decay of the squared-gradient average of adadelta (``"auto"``: 0.9) and
        rmsprop (``"auto"``: 0.99).

    weight_decay : float or "auto", default="auto"
        Optimizer weight decay: decoupled for adamw (``"auto"``: 0.01), coupled
        L2 added to the gradient for the others (``"auto"``: 0).

    momentum_decay : float or "auto", default="auto"
        NAdam's momentum-schedule constant (psi; ``"auto"``: 0.004); ignored
        by the others.

    batch_size : int, "auto" or None, default="auto"
        Mini-batch size. ``"auto"`` is ``min(200, n_samples)``; 1 gives pure
        stochastic gradient descent; None uses every sample in each step
        (full-batch gradient descent). With ``normalization="batch"``, a last
        mini-batch of an epoch smaller than half ``batch_size`` joins the
        previous one: batch statistics of a few samples are degenerate.

    alpha : float, default=0.0001
        L2 penalty on the weight matrices, ``alpha / (2 * sum(w)) * ||W||^2`` per
        batch as in scikit-learn's MLP (the residual projections included; no
        bias or normalization parameter). It is part of the loss, so
        ``clip_grad_norm`` clips its gradient, unlike ``weight_decay``, which
        the optimizer applies to every parameter after clipping (PyTorch's
        ``weight_decay``).

    lr_schedule : {"constant", "invscaling", "adaptive", "cosine", "step"}, \
default="constant"
        Learning-rate schedule; see :class:`sk_deepnet.schedules.LRSchedule`.

    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.

    lr_step_size : int, default=50
        Epochs between decays of the ``"step"`` schedule.

    lr_gamma : float, default=0.1
        Decay factor of the ``"step"`` schedule.

    max_iter : int, default=200
        Maximum number of epochs (passes over the training data), or of
        iterations with ``optimizer="lbfgs"``.

    max_fun : int, default=15000
        Maximum number of loss evaluations with ``optimizer="lbfgs"`` (as in
        scikit-learn); ignored by the other optimizers.

    tol : float, default=1e-4
        Improvement of the loss (or validation score with ``early_stopping``)
        below which an epoch counts as no improvement. For the squared error,
        once the training loss is 1 % below that of the best constant
        prediction, the bound is ``tol`` times the variance of the training
        targets (sample-weighted, summed over outputs) when that is above 1:
        scikit-learn's rule on the standardized target, whatever the unit of
        ``y``.

    n_iter_no_change : int or np.inf, default=10
        Epochs without improvement before stopping (or, with
        ``lr_schedule="adaptive"``, before dividing the learning rate by 5).
        ``np.inf`` never stops early: training runs ``max_iter`` epochs.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        binary and multiclass targets; a multiclass one with a class too small
        to stratify is split at random, with a warning, as scikit-learn's MLP
        splits it) and stop when its score stops improving; the weights of
        the best epoch are kept.

    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.

    shuffle : bool, default=True
        Reshuffle the training samples before each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the single random generator that drives initialization,
        shuffling, the validation split, dropout and pretraining.

    verbose : bool or int, default=False
        Print the loss of every epoch.

    warm_start : bool, default=False
        Continue from the previous fit's weights and optimizer state. Each
        warm-started ``fit`` runs up to ``max_iter`` more epochs; ``n_iter_``
        counts them, ``loss_curve_`` and the callbacks go on counting.

    dtype : {"float32", "float64"}, default="float32"
        Precision of training. Input data is never upcast: a float64 X is
        converted to float32 one mini-batch at a time (``optimizer="lbfgs"``
        excepted: it computes in float64 on a float64 copy of X and keeps
        weights in ``dtype``). Prediction runs in the
        precision of the X it is given (float32 or float64), as scikit-learn's
        MLP does.

    callbacks : list of Callback or None, default=None
        Objects whose hooks are called during training (see
        :mod:`sk_deepnet.callbacks`). They are cloned by ``fit``; the fitted
        copies are in ``callbacks_``. A warm-started ``fit`` or a
        ``partial_fit`` keeps the fitted copies running (one record across the
        calls) unless ``callbacks`` was changed with ``set_params``: then the
        running copies are ended (``on_fit_end``) and copies of the new
        callbacks take over.

    pretrain : {None, "rbm"}, default=None
        ``"rbm"``: before a fresh fit, pretrain the hidden layers greedily, one
        restricted Boltzmann machine per layer trained on the hidden
        probabilities of the one below, then fine-tune the whole network with
        backpropagation (see :mod:`sk_deepnet.pretraining`, which also says
        how the sigmoid RBM features enter other activations, normalization
        and residual networks). Pretraining uses X only (every row, including
        the early-stopping validation rows, never their targets), weighted by
        ``sample_weight``: rows of zero weight are left out (as if absent, the
        random draws included), the others weigh the RBMs' statistics (a
        weight k counts as k copies in expectation, not exactly: the Gibbs
        samples are drawn per row); it does not run when warm_start or
        partial_fit continue a fit. A KeyboardInterrupt during pretraining keeps the
        layers completed so far and goes on to fine-tuning.

    pretrain_epochs : int, default=50
        Epochs of each RBM (50 in Hinton & Salakhutdinov's 2006 code).

    pretrain_learning_rate : float or "auto", default="auto"
        RBM learning rate. ``"auto"``: 0.1 with Bernoulli visible units
        (Hinton & Salakhutdinov 2006), 0.01 with Gaussian ones (Hinton 2010,
        section 13.2). A float applies to every layer.

    pretrain_cd_steps : int, default=1
        The k of the CD-k updates (CD-1: Hinton 2010).

    pretrain_batch_size : int, default=100
        RBM mini-batch size (100: Hinton & Salakhutdinov 2006).

    pretrain_momentum : float, default=0.9
        RBM momentum after the first 5 epochs, which use
        ``min(0.5, pretrain_momentum)`` (Hinton 2010, section 9).

    pretrain_weight_decay : float, default=2e-4
        RBM L2 weight cost (0.0002: Hinton & Salakhutdinov 2006).

    pretrain_persistent : bool, default=False
        Use persistent contrastive divergence (Tieleman 2008) instead of CD-k.

    pretrain_visible : {"auto", "bernoulli", "gaussian"}, default="auto"
        Visible units of the first RBM (the others are Bernoulli): Bernoulli
        for inputs in [0, 1], Gaussian (unit variance) for standardized
        real-valued inputs. ``"auto"`` takes Bernoulli when every value of X
        lies in [0, 1], else Gaussian; ``"bernoulli"`` warns
        (``PretrainingWarning``) when X leaves [0, 1].

    pretrain_hidden_units : {"auto", "sigmoid", "rectified"}, default="auto"
        Hidden units of the RBMs: binary (sigmoid) units, or noisy rectified
        linear units (Nair & Hinton 2010), whose mean-field output is a relu.
        ``"auto"`` takes rectified units for the relu family (relu,
        leaky_relu, elu, gelu, softplus) and sigmoid units otherwise, so that
        the network starts from the pretrained features. Above a rectified
        layer, RBMs have Bernoulli visible units on the features scaled to
        [0, 1] (the scaling is folded into the copied weights).
"""

_ATTRIBUTES_DOC = """
    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit (only when X has string column names).

    coefs_ : list of ndarray
        Weight matrices, ``coefs_[i]`` maps layer ``i`` to layer ``i + 1``.
        Views of the network's parameters: editing them, assigning one array
        (``coefs_[i] = W``) or a list of arrays of the same shapes (to
        ``intercepts_`` too) changes the model, as in scikit-learn's MLP.

    intercepts_ : list of ndarray
        Bias vectors, ``intercepts_[i]`` is added in layer ``i + 1``.

    n_layers_ : int
        Number of layers, input and output included (``depth + 2``).

    n_outputs_ : int
        Number of output units.

    out_activation_ : str
        Output activation ("softmax", "logistic", "identity", or "exp" for
        the log link of ``loss="poisson"``).

    loss_ : float
        Training loss of the last epoch (L2 penalty included).

    best_loss_ : float or None
        Lowest training loss reached (None with ``early_stopping``).

    loss_curve_ : list of float
        Training loss of each epoch (each L-BFGS iteration), over warm-started
        fits and ``partial_fit`` calls too.

    validation_scores_ : list of float or None
        Validation score of each epoch with ``early_stopping``, else None.

    best_validation_score_ : float or None
        Best validation score with ``early_stopping``, else None.

    n_iter_ : int
        Number of epochs (L-BFGS iterations) run by the last ``fit``, as in
        scikit-learn, or by all the ``partial_fit`` calls since the first.

    t_ : int
        Number of training samples seen (counting repeats over epochs).

    learning_rate_ : float or None
        The initial learning rate used (``"auto"`` resolved); None with
        ``optimizer="lbfgs"``, whose line search sets each step.

    optimizer_ : Optimizer
        The fitted optimizer, with its state (with ``optimizer="lbfgs"``,
        the L-BFGS settings, and SciPy's ``status_``, ``message_`` and
        number of loss evaluations ``n_fun_`` of the last fit).

    callbacks_ : list of Callback
        Fitted copies of ``callbacks``.

    pretrain_curves_ : list of list of float or None
        Reconstruction error of each pretraining epoch, one list per
        pretrained hidden layer (None without pretraining). Set by
        ``pretrain_fit`` and by a fit that pretrains or loads its weights.

    running_means_, running_vars_ : list of ndarray
        Batch-normalization running statistics of each hidden layer (only with
        ``normalization="batch"``).
"""


def _nested_optimizer_hint(name, value, own_parameter, sub_key):
    """What to do instead of ``optimizer__<sub_key>`` with an optimizer given by name.

    Parameters
    ----------
    name : str
        The parameter of the nested key.
    value : object
        Its value.
    own_parameter : bool
        Whether ``sub_key`` is also a parameter of the estimator.
    sub_key : str
        The nested parameter.

    Returns
    -------
    hint : str
        A sentence starting with a space, or "" for other parameters.
    """
    if name != "optimizer" or value not in OPTIMIZERS:
        return ""
    instead = f", or set {sub_key}= itself." if own_parameter else "."
    return (
        f" Pass an instance such as optimizer={OPTIMIZERS[value].__name__}(), whose "
        f"settings are the nested optimizer__* parameters{instead}"
    )


def _not_a_callback_message(value):
    """Why ``value`` is no callback; a Callback class gets its instance named.

    Parameters
    ----------
    value : object
        An item of ``callbacks`` that is no Callback instance.

    Returns
    -------
    message : str
        The TypeError's message.
    """
    if isinstance(value, type) and issubclass(value, Callback):
        return (
            "callbacks must be a list of sk_deepnet.callbacks.Callback instances; "
            f"got the class {value.__name__} itself: pass an instance, "
            f"{value.__name__}()."
        )
    if isinstance(value, type):  # "got type." named nothing
        return (
            "callbacks must be a list of sk_deepnet.callbacks.Callback instances; "
            f"got the class {value.__name__}, which is no Callback: subclass "
            "sk_deepnet.callbacks.Callback and pass an instance."
        )
    return (
        "callbacks must be a list of sk_deepnet.callbacks.Callback instances; "
        f"got {type(value).__name__}."
    )


class BaseDeepMLP(StrictIntegerMixin, HelpMixin, CallbackSupportMixin, BaseEstimator):
    """Shared hyperparameters, validation and training loop of the deep MLPs."""

    coefs_ = NetworkArrays("coefs")
    intercepts_ = NetworkArrays("intercepts")
    running_means_ = NetworkArrays("running_means", batch_norm_only=True)
    running_vars_ = NetworkArrays("running_vars", batch_norm_only=True)

    _parameter_constraints = {
        "depth": [Interval(Integral, 0, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "activation": [StrOptions(set(ACTIVATIONS) | set(ALIASES))],
        "init": [StrOptions({"auto"} | set(INITIALIZERS))],
        "init_scale": [Interval(Real, 0, None, closed="neither")],
        "normalization": [StrOptions({"batch", "layer"}), None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "residual": ["boolean"],
        "residual_block_size": [Interval(Integral, 1, None, closed="left")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "optimizer": [StrOptions(set(OPTIMIZERS) | {"lbfgs"}), Optimizer],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "momentum": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "beta_1": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "beta_2": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "epsilon": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "rho": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "weight_decay": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "momentum_decay": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions(set(SCHEDULES))],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "lr_step_size": [Interval(Integral, 1, None, closed="left")],
        "lr_gamma": [Interval(Real, 0, 1, closed="right")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "dtype": [StrOptions(set(_DTYPES))],
        "callbacks": [list, None],
        "pretrain": [StrOptions({"rbm"}), None],
        "pretrain_epochs": [Interval(Integral, 1, None, closed="left")],
        "pretrain_learning_rate": [
            Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})
        ],
        "pretrain_cd_steps": [Interval(Integral, 1, None, closed="left")],
        "pretrain_batch_size": [Interval(Integral, 1, None, closed="left")],
        "pretrain_momentum": [Interval(Real, 0, 1, closed="left")],
        "pretrain_weight_decay": [Interval(Real, 0, None, closed="left")],
        "pretrain_persistent": ["boolean"],
        "pretrain_visible": [StrOptions({"auto", "bernoulli", "gaussian"})],
        "pretrain_hidden_units": [StrOptions({"auto", "sigmoid", "rectified"})],
    }

    def __new__(cls, *args, **kwargs):
        # Before __init__ refuses it as an unexpected keyword: name our spelling.
        check_sklearn_keywords(cls.__name__, kwargs, "__init__")
        return super().__new__(cls)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # inspect.signature(cls) would otherwise show __new__'s (*args, **kwargs).
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        cls.__signature__ = inspect.Signature(parameters)

    def set_params(self, **params):
        """Set the parameters of this estimator (see ``sklearn.base.BaseEstimator``).

        Parameters
        ----------
        **params : dict
            Estimator parameters; scikit-learn's MLP spellings
            (``hidden_layer_sizes``, ``solver``...) get an error naming ours.

        Returns
        -------
        self : estimator instance
            Estimator instance.

        Raises
        ------
        ValueError
            If a name is not a parameter, a nested ``<name>__<key>`` names a
            parameter that holds no object with ``set_params`` (as
            ``optimizer__learning_rate`` with ``optimizer="adam"``), or the
            nested object refuses its value. Nothing has changed then.
        """
        check_sklearn_keywords(type(self).__name__, params, "set_params")
        if params and is_fitting(self):
            # The running fit read its parameters when it started: a change
            # from a hook applied to nothing, and left get_params() telling
            # of another model than the fitted one (depth=7 for 2 layers).
            raise RuntimeError(
                f"set_params cannot be called on the {type(self).__name__} being "
                "fitted, from inside its callback hook (or from another thread while "
                "it trains): the fit has read its parameters already. Change them "
                "between fits (warm_start=True continues the model), use lr_schedule "
                "to change the learning rate during training, or return True from "
                "on_epoch_end to stop."
            )
        self._check_nested_targets(params)
        before = self.get_params(deep=False)
        try:
            return super().set_params(**params)
        except BaseException:
            # scikit-learn sets the plain parameters before the nested ones: a
            # nested value refused (Adam's learning_rate=-1) left them changed.
            for name, value in before.items():
                setattr(self, name, value)
            raise

    def _check_nested_targets(self, params):
        """Refuse ``<name>__<key>`` where parameter ``name`` holds no settable object.

        scikit-learn calls ``getattr(self, name).set_params``, an
        AttributeError (``'str' object has no attribute 'set_params'``) for
        ``optimizer__learning_rate`` with the default ``optimizer="adam"``.

        Parameters
        ----------
        params : dict
            The arguments of :meth:`set_params`.
        """
        names = self._get_param_names()
        for key in params:
            name, nested, sub_key = key.partition("__")
            # The value this call sets, if any: scikit-learn sets the plain
            # parameters first (a grid over optimizer instances and their settings).
            value = params.get(name, getattr(self, name, None))
            if nested and name in names and not hasattr(value, "set_params"):
                raise ValueError(
                    f"Invalid parameter {key!r} for {type(self).__name__}: {name}="
                    f"{value!r} is not an object with parameters of its own."
                    + _nested_optimizer_hint(name, value, sub_key in names, sub_key)
                )

    def _validate_params(self):
        check_sklearn_values(self)  # messages that name our parameters first
        super()._validate_params()

    @classmethod
    def _get_param_names(cls):
        return init_parameter_names(cls, super()._get_param_names)  # read once

    def __init__(
        self,
        depth=3,
        width=100,
        *,
        activation="relu",
        init="auto",
        init_scale=0.01,
        normalization=None,
        dropout=0.0,
        residual=False,
        residual_block_size=2,
        clip_grad_norm=None,
        optimizer="adam",
        learning_rate="auto",
        momentum="auto",
        beta_1="auto",
        beta_2="auto",
        epsilon="auto",
        rho="auto",
        weight_decay="auto",
        momentum_decay="auto",
        batch_size="auto",
        alpha=0.0001,
        lr_schedule="constant",
        power_t=0.5,
        lr_step_size=50,
        lr_gamma=0.1,
        max_iter=200,
        max_fun=15000,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        verbose=False,
        warm_start=False,
        dtype="float32",
        callbacks=None,
        pretrain=None,
        pretrain_epochs=50,
        pretrain_learning_rate="auto",
        pretrain_cd_steps=1,
        pretrain_batch_size=100,
        pretrain_momentum=0.9,
        pretrain_weight_decay=2e-4,
        pretrain_persistent=False,
        pretrain_visible="auto",
        pretrain_hidden_units="auto",
    ):
        self.depth = depth
        self.width = width
        self.activation = activation
        self.init = init
        self.init_scale = init_scale
        self.normalization = normalization
        self.dropout = dropout
        self.residual = residual
        self.residual_block_size = residual_block_size
        self.clip_grad_norm = clip_grad_norm
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.rho = rho
        self.weight_decay = weight_decay
        self.momentum_decay = momentum_decay
        self.batch_size = batch_size
        self.alpha = alpha
        self.lr_schedule = lr_schedule
        self.power_t = power_t
        self.lr_step_size = lr_step_size
        self.lr_gamma = lr_gamma
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.dtype = dtype
        self.callbacks = callbacks
        self.pretrain = pretrain
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_learning_rate = pretrain_learning_rate
        self.pretrain_cd_steps = pretrain_cd_steps
        self.pretrain_batch_size = pretrain_batch_size
        self.pretrain_momentum = pretrain_momentum
        self.pretrain_weight_decay = pretrain_weight_decay
        self.pretrain_persistent = pretrain_persistent
        self.pretrain_visible = pretrain_visible
        self.pretrain_hidden_units = pretrain_hidden_units

    # --------------------------------------------------------------- subclasses
    def _encode_targets(self, y, first_call, classes=None, incremental=False):
        """Return the training targets as the loss takes them; set target attributes.

        An (n_samples, n_outputs) matrix, or for a multiclass classifier the
        (n_samples,) class codes, which its softmax loss takes instead of a
        one-hot matrix of n_samples * n_classes values.
        """
        raise NotImplementedError

    def _n_outputs_of(self, Y):
        """The width of the output layer for the targets ``Y`` of ``_encode_targets``."""
        return Y.shape[1] if Y.ndim == 2 else len(self.classes_)

    def _validation_score(self, X, y, sample_weight):
        raise NotImplementedError

    # ---------------------------------------------------------------- checking
    def _hidden_sizes(self):
        depth = int(self.depth)  # a NumPy integer overflowed the count below
        if isinstance(self.width, Integral):
            width = int(self.width)
            # Before the list: depth=10**9 made one of 8 GB, then the layers.
            self._check_hidden_layers_fit((depth - 1) * width * width + depth * width)
            return [width] * depth
        sizes = self._width_sequence()
        self._check_hidden_layers_fit(sum(a * b for a, b in zip(sizes, sizes[1:])) + sum(sizes))
        return sizes

    def _width_sequence(self):
        """The widths given as a sequence, checked against ``depth``."""
        widths = np.asarray(self.width)
        if widths.size == 0 and widths.ndim == 1 and self.depth == 0:
            return []
        if widths.ndim != 1 or len(widths) != self.depth:
            raise ValueError(
                f"width must be an int or a sequence of depth={self.depth} ints; "
                f"got {self.width!r}."
            )
        if not np.issubdtype(widths.dtype, np.integer) or np.any(widths < 1):
            raise ValueError(f"width must contain positive ints; got {self.width!r}.")
        return [int(w) for w in widths]

    def _check_hidden_layers_fit(self, n_hidden_params):
        """Refuse hidden layers whose parameters and gradients alone exceed the memory.

        A lower bound (the layers next to the input and the output, the
        optimizer's state and the activations come on top): a network that
        would fit is never refused. See :mod:`sk_deepnet._memory`.
        """
        itemsize = np.dtype(_DTYPES[self.dtype]).itemsize
        check_fits_in_memory(
            2 * itemsize * n_hidden_params + LAYER_OVERHEAD_BYTES * int(self.depth),
            f"{type(self).__name__} with depth={self.depth} and width={reprlib.repr(self.width)} "
            f"has {n_hidden_params:.3g} parameters in its hidden layers alone: with "
            "their gradients, training needs",
            "Reduce depth or width.",
        )

    def _check_callbacks(self):
        exposed = {}  # estimator_attribute -> the callback it names
        for callback in self.callbacks or []:
            if not isinstance(callback, Callback):
                raise TypeError(_not_a_callback_message(callback))
            name = callback.estimator_attribute
            if name and name in exposed:
                # The attribute would name the last one only, and the scorers
                # and displays read it: which one they saw was silent.
                raise ValueError(
                    f"callbacks holds {exposed[name]!r} and {callback!r}, both "
                    f"exposed as the fitted attribute {name}, which can name only "
                    "one (the scorers and displays read it). Pass one; to run "
                    "another, subclass it with another estimator_attribute (or "
                    "None) and read it from callbacks_."
                )
            exposed[name] = callback

    def _architecture(self, n_features, n_outputs):
        """The arguments that define the network (and must match for warm starts)."""
        return dict(
            layer_sizes=[n_features, *self._hidden_sizes(), n_outputs],
            activation=canonical_activation(self.activation),
            loss=self._loss_name,
            normalization=self.normalization,
            dropout=float(self.dropout),
            residual=bool(self.residual),
            residual_block_size=int(self.residual_block_size),
            dtype=np.dtype(_DTYPES[self.dtype]).name,  # a name: plain pickled state
        )

    def _make_optimizer(self):
        """A fresh optimizer: a copy of an ``Optimizer`` instance, or one built by name."""
        if isinstance(self.optimizer, Optimizer):
            return self._copy_optimizer_instance()
        if self.optimizer == "lbfgs":
            return LBFGS(max_iter=self.max_iter, max_fun=self.max_fun, tol=self.tol)
        return get_optimizer(
            self.optimizer,
            learning_rate=self.learning_rate,
            momentum=self.momentum,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            rho=self.rho,
            weight_decay=self.weight_decay,
            momentum_decay=self.momentum_decay,
        )

    #: The estimator parameters that set an optimizer's hyperparameters.
    _OPTIMIZER_SETTINGS = (
        "learning_rate", "momentum", "beta_1", "beta_2", "epsilon", "rho", "weight_decay",
        "momentum_decay",
    )

    def _copy_optimizer_instance(self):
        """A stateless copy of ``optimizer``; its settings must not be given twice."""
        given = [
            name for name in self._OPTIMIZER_SETTINGS
            if not (isinstance(getattr(self, name), str) and getattr(self, name) == "auto")
        ]
        if given:
            raise ValueError(
                f"optimizer={self.optimizer!r} is an instance, which carries its own "
                f"settings, but {', '.join(given)} {'is' if len(given) == 1 else 'are'} "
                "also set on the estimator. Set them on the optimizer instance and "
                "leave them 'auto' here."
            )
        return type(self.optimizer)(**self.optimizer.get_params())

    def _check_optimizer_dtype(self, optimizer):
        """Refuse an epsilon that vanishes (0 or subnormal) in the training precision."""
        epsilon = getattr(optimizer, "epsilon", None)
        dtype = np.dtype(_DTYPES[self.dtype])
        if epsilon is not None and abs(dtype.type(epsilon)) < np.finfo(dtype).tiny:
            raise ValueError(
                f"epsilon={epsilon!r} of {type(optimizer).__name__} is below the smallest "
                f"normal {dtype.name} number ({np.finfo(dtype).tiny:.3g}): it rounds to 0 "
                f"or to a subnormal in training, and cannot keep the denominator away from "
                f"0. Use {or_list(['a larger epsilon', *float64_remedy(dtype)])}."
            )

    def _make_rng(self):
        """One numpy Generator, seeded from ``random_state``, drives all randomness."""
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        return np.random.default_rng(seed)

    # ------------------------------------------------------------------ fitting
    def _validate_input(self, X, y, reset):
        _check_no_missing_targets(y)
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse=["csr", "csc"],
            dtype=self._input_dtypes(),
            multi_output=True,
            y_numeric=isinstance(self, RegressorMixin),
        )
        if isinstance(self, ClassifierMixin) and y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return self._training_X(X), y

    def _input_dtypes(self):
        """The dtypes X is accepted in: float32 and float64 as given, never upcast.

        Other inputs (lists, integers) are converted to the training dtype,
        or to float64 for L-BFGS, which computes in float64: a list and a
        float64 array of the same values then train the same model (to
        float32 first, a list lost the digits the array kept).
        """
        compute = _DTYPES[self.dtype]
        if self.optimizer == "lbfgs":
            return [np.float64, np.float32]
        return [compute, np.float64 if compute is np.float32 else np.float32]

    def _training_X(self, X):
        """A validated X ready for training, CSR if sparse (batches are rows)."""
        if sp.issparse(X):
            X = X.tocsr()
        compute = _DTYPES[self.dtype]
        if X.dtype != compute:  # float64 X, float32 training: batches are cast
            check_representable(X.data if sp.issparse(X) else X, compute, "X")
        return X

    def _training_targets(self, y, first_call, classes, incremental):
        """The encoded targets; a target matrix in the training dtype."""
        Y = self._encode_targets(y, first_call, classes, incremental)
        if Y.ndim == 2:  # a target matrix; class codes stay integers
            check_representable(Y, _DTYPES[self.dtype], "y")
            Y = Y.astype(_DTYPES[self.dtype], copy=False)
        return Y

    def _check_sample_weight(self, sample_weight, X, y, incremental):
        """Validate ``sample_weight`` (None passes): finite, non-negative, in range.

        Weights that leave a single class are fitted like a single-class y, as
        in scikit-learn (``y`` and ``incremental`` are kept for subclasses).
        """
        if sample_weight is None:
            return None
        sample_weight = sample_weight_in_dtype(  # none positive, underflow, overflow
            _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True),
            _DTYPES[self.dtype],
        )
        return sample_weight

    def _network_for(self, first_call, X, architecture, sample_weight=None, incremental=False):
        """A new initialized network (fresh fit), or the fitted one to continue."""
        if first_call:
            self._rng = self._make_rng()
            network = Network(**architecture)
            schemes, drawn_biases = auto_plan(self.init, self.activation, network.depth)
            network.initialize(self._rng, schemes, self.init_scale, drawn_biases=drawn_biases)
            initialize_by_pretraining(self, network, X, self._rng, sample_weight)
            self._reset_fit_state()
        else:
            network = self._network
            if architecture != self._fitted_architecture:
                raise ValueError(_architecture_change_message(
                    self._fitted_architecture, architecture, incremental
                ))
            if not network.has_finite_state():
                raise ValueError(
                    "warm_start and partial_fit continue the fitted network, but its "
                    "weights or batch-norm statistics are not finite (NaN or inf, e.g. "
                    "written to coefs_ or intercepts_): training would start from "
                    "them and cannot restore a finite state. Set warm_start=False "
                    "and fit a new network, or restore finite weights first."
                )
            if not network.params.flags.writeable:
                # Loaded read-only (joblib.load(mmap_mode="r")): the model
                # trains on a copy in memory; the file stays as it is.
                network = self._network = copy.deepcopy(network)
                self.optimizer_ = copy.deepcopy(self.optimizer_)
                self.callbacks_ = copy.deepcopy(self.callbacks_)
        return network

    def _check_split(self, sample_weight, train_idx, val_idx):
        """Refuse a split that leaves nothing to learn from, score, or batch-normalize."""
        if sample_weight is not None and val_idx is not None:
            for part, idx in (("training", train_idx), ("validation", val_idx)):
                if not np.any(sample_weight[idx] > 0):
                    raise ValueError(
                        f"early_stopping=True holds out validation_fraction="
                        f"{self.validation_fraction} of the samples, and the "
                        f"{part} samples all have zero sample_weight: there is "
                        f"nothing to {'learn from' if part == 'training' else 'score'}. "
                        "Give more samples a positive weight, choose another "
                        "validation_fraction or random_state, or set "
                        "early_stopping=False."
                    )
        if self.normalization == "batch" and self._batch_size(len(train_idx), warn=False) < 2:
            raise ValueError(
                "normalization='batch' needs mini-batches of at least 2 samples "
                "(the variance of one sample is 0), but with "
                f"{len(train_idx)} training sample(s) and batch_size="
                f"{self.batch_size!r} a mini-batch holds 1 sample. Use a larger "
                "batch_size, more samples, or normalization='layer', which "
                "normalizes each sample alone."
            )

    def _check_full_batch(self, n_samples, sample_weight):
        """Refuse batch normalization of a single sample in an L-BFGS fit.

        L-BFGS trains on all of X as one batch: the variance of one sample (or
        of the only sample with a positive weight) is 0, and the running
        statistics then blow predictions up (the stochastic optimizers refuse
        such batches in ``_check_split`` and ``_batch_norm_rows``).
        """
        if self.normalization != "batch":
            return
        weighted = sample_weight is not None
        n = int(np.count_nonzero(sample_weight > 0)) if weighted else n_samples
        if n < 2:
            which = " with a positive sample_weight" if weighted else ""
            raise ValueError(
                "normalization='batch' needs batches of at least 2 samples (the "
                "variance of one sample is 0), and optimizer='lbfgs' trains on all "
                f"of X as one batch: X has {n} sample{'' if n == 1 else 's'}{which}. "
                f"{'Give more samples a positive weight' if weighted else 'Use more samples'}"
                ", or normalization='layer', which normalizes each sample alone."
            )

    def _batch_norm_rows(self, sample_weight, train_idx):
        """The training rows that batch normalization's mini-batches hold.

        Without their zero-weight rows: a zero weight counts in neither the
        loss nor the weighted batch statistics, and a shuffled batch left
        with a single positive weight has a weighted variance of 0 (which
        ``batch_weights`` refuses). With a tenth of 400 samples weighted,
        most fits failed so, at random with the shuffle. Left out, the rows
        are batched as if removed: only fewer than 2 positive weights in all
        can still fail.
        """
        if self.normalization != "batch" or sample_weight is None:
            return train_idx
        train_idx = train_idx[sample_weight[train_idx] > 0]
        if len(train_idx) < 2:
            raise ValueError(
                f"normalization='batch' needs at least 2 training samples with a "
                f"positive sample_weight (the variance of one sample is 0), and "
                f"{len(train_idx)} of them have one. Give more samples a positive "
                "weight, or use normalization='layer', which normalizes each sample alone."
            )
        return train_idx

    @blas_policy(fit_flops)  # one BLAS thread for small products (doc/performance.rst)
    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        fitted = hasattr(self, "_network")
        first_call = not fitted or (not incremental and not self.warm_start)
        previous = self._fitted_state()  # taken again once replaced callbacks ended
        try:
            self._check_call(incremental, fitted)
            if not self._end_replaced_callbacks(first_call):
                return self  # interrupted while ending them: this call trained nothing
            previous = self._fitted_state()  # what a failed fresh fit restores
            if first_call and "_network" in previous:  # see _training.warn_interrupted
                self._replaced_model_n_iter = previous["n_iter_"]
            given = (X, y)  # for scikit-learn's callbacks, which score the model
            X, y = self._validate_input(X, y, reset=first_call)
            Y = self._training_targets(y, first_call, classes, incremental)
            sample_weight = self._check_sample_weight(sample_weight, X, y, incremental)

            architecture = self._architecture(X.shape[1], self._n_outputs_of(Y))
            network = self._network_for(first_call, X, architecture, sample_weight, incremental)
            optimizer = self._optimizer_for(first_call)
            if self.optimizer == "lbfgs":
                self._check_full_batch(X.shape[0], sample_weight)
                if not first_call:
                    self._continue_fit(incremental)
                with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                    run_lbfgs(self, network, optimizer, X, Y, y, sample_weight, given)
            else:
                self._fit_stochastic(
                    network, optimizer, X, Y, y, sample_weight, first_call, incremental, given
                )
        except BaseException:
            self._after_failed_fit(first_call, previous)
            raise
        finally:  # copies of _end_replaced_callbacks the call did not start (an error)
            self.__dict__.pop("_callback_copies", None)
            self.__dict__.pop("_replaced_model_n_iter", None)
            put_back = self.__dict__.pop("_put_back_replaced_model", False)
        if put_back:  # interrupted before its first epoch ended: no model to replace it
            self._put_back(previous)
        return self

    def _check_call(self, incremental, fitted):
        """Refuse a call that its parameters or callbacks cannot run, before it changes anything."""
        if incremental and fitted:
            # scikit-learn's _fit_context validates a fitted estimator's
            # parameters in fit only, not in partial_fit: set_params(alpha=-1)
            # between calls went on, batch_size=0 crashed inside range().
            self._validate_params()
        if incremental and self.early_stopping:  # as scikit-learn's MLP
            raise ValueError(
                "partial_fit does not support early_stopping=True: it trains on "
                "the samples it is given, without holding any out. Set "
                "early_stopping=False to continue with partial_fit."
            )
        self._check_callbacks()

    def _after_failed_fit(self, first_call, previous):
        """A failed fresh fit leaves the estimator as it was before the call.

        ``previous`` is its fitted state then (empty if it was unfitted): never a
        mix of the new targets or features with the old network, nor a network
        that cannot predict, nor a trained model lost to bad input (as
        scikit-learn's MLP keeps its ``coefs_`` when ``fit`` refuses X). The
        exception: the training loop kept the trained model of this fit (an
        error while the callbacks ended it: _training.end_callbacks).
        """
        trained = self.__dict__.pop("_keep_model_on_error", False)
        if first_call and not trained:
            # A first partial_fit started its callbacks, which no later call
            # will end once the state is gone: end them now. The fit's own
            # error is the one raised; theirs would hide it.
            if getattr(self, "callbacks_", None) is not previous.get("callbacks_"):
                try:  # only the callbacks this call started: the previous ones run on
                    self._end_running_callbacks()
                except BaseException:  # noqa: S110
                    pass
            self._put_back(previous)

    def _put_back(self, previous):
        """Replace the fitted state by ``previous`` (a :meth:`_fitted_state`)."""
        self._discard_fitted_state()
        vars(self).update(previous)

    def _fit_stochastic(
        self, network, optimizer, X, Y, y, sample_weight, first_call, incremental, given
    ):
        """Epochs of mini-batches: schedule, validation split, the training loop."""
        self._schedule = self._schedule_for(first_call)
        max_epochs = 1 if incremental else self.max_iter
        early_stopping = self.early_stopping and not incremental
        train_idx, val_idx = self._split(X.shape[0], y, early_stopping)
        self._check_split(sample_weight, train_idx, val_idx)
        train_idx = self._batch_norm_rows(sample_weight, train_idx)
        if not first_call:
            self._continue_fit(incremental)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            self._run_epochs(
                network, optimizer, X, Y, y, sample_weight, train_idx, val_idx,
                max_epochs, incremental, given,
            )

    def _continue_fit(self, incremental):
        """A warm start or a ``partial_fit`` goes on: callbacks, tracking, counters."""
        self._continue_callbacks()
        self._continue_tracking()
        if not incremental:  # as scikit-learn: n_iter_ counts this fit's epochs
            self.n_iter_ = 0

    @not_reentrant  # outside _fit_context: a refused call must not end the running fit's context
    @_fit_context(prefer_skip_nested_validation=True)
    @blas_policy(pretrain_flops)  # the pretraining's batch size, not the fit's
    def pretrain_fit(self, X, y=None, sample_weight=None):
        """Pretrain the hidden layers on unlabeled X, for the next fits to start from.

        Trains the RBM stack of ``pretrain="rbm"`` (with the ``pretrain_*``
        parameters, whatever ``pretrain`` is) on X alone. Every following
        ``fit`` (or first ``partial_fit``) whose network has the same number of
        features and hidden widths then starts from these weights instead of
        a random initialization, and does not pretrain again: pretrain on
        plenty of unlabeled data, fine-tune on fewer labels. A fit with another
        architecture, or whose X has other column names than a DataFrame X
        given here, warns and ignores them. It does not change an already
        fitted network.

        ``clone`` forgets these weights, as it forgets everything fitted, and
        warns (:class:`~sk_deepnet.exceptions.PretrainingWarning`): the fits of
        ``cross_val_score``, ``GridSearchCV`` and every other tool that fits
        clones start from random weights. Carrying them into the folds would
        not measure the model either when their unlabeled X holds the test
        folds' rows. To evaluate pretraining, set ``pretrain="rbm"``, which
        pretrains inside each fit on that fit's rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Unlabeled training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows, as ``fit`` uses them in its
            pretraining (see ``pretrain``): zero-weighted rows are left out.

        Returns
        -------
        self : object
            The estimator, with ``pretrain_curves_`` set.
        """
        feature_names = _get_feature_names(X)  # a later fit checks its X has them
        X = check_array(
            X, accept_sparse=["csr", "csc"], dtype=self._input_dtypes(), estimator=self,
            input_name="X",
        )
        X = self._training_X(X)
        return pretrain_fit(
            self, X, self._check_sample_weight(sample_weight, X, None, False), feature_names
        )

    def __sklearn_clone__(self):
        # A clone is unfitted (scikit-learn's contract), so it drops pretrain_fit's
        # weights; say so, since the clone's fits then differ from self.fit's.
        # Once per pretraining: cross_val_score clones once a fold, each in a
        # fresh warnings context that would show it again.
        stack = getattr(self, "_pretrained_stack", None)
        if stack is not None and not getattr(stack, "clone_warned", False):
            stack.clone_warned = True
            warn_user(
                f"clone drops the weights that pretrain_fit pretrained for this "
                f"{type(self).__name__}, as it drops everything fitted: fits of the "
                "clone (cross_val_score, GridSearchCV...) start from random weights, "
                "not from them. To evaluate pretraining, set pretrain='rbm', which "
                "pretrains inside each fit (in cross-validation, on each fold's "
                "training rows).",
                PretrainingWarning,
            )
        return super().__sklearn_clone__()

    def _check_stochastic(self):
        """``partial_fit`` exists for the stochastic optimizers only (as scikit-learn)."""
        if self.optimizer == "lbfgs":
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers; "
                "optimizer='lbfgs' trains on the full data set at each iteration. "
                "Use fit (with warm_start=True to continue), or a stochastic "
                "optimizer such as 'adam'."
            )
        return True

    def __sklearn_is_fitted__(self):
        # pretrain_fit sets attributes but leaves the estimator unable to predict.
        return hasattr(self, "_network")

    def _is_fitted_state(self, name):
        """Whether attribute ``name`` is set by a fit (the constructor's are not)."""
        return name.endswith("_") and not name.startswith("__") or name in (
            "_network", "_label_binarizer", "_fitted_architecture", "_rng",
            "_schedule", "_callbacks_source", "_callbacks_started", "_no_improvement_count",
        )

    def _fitted_state(self):
        """The attributes a fit sets, by name (the objects, not copies).

        A fresh fit builds new objects rather than changing these, so they
        are still the previous model when the fit fails.
        """
        return {name: value for name, value in vars(self).items() if self._is_fitted_state(name)}

    def _discard_fitted_state(self):
        """Forget everything a fit sets (the constructor parameters stay).

        What ``pretrain_fit`` set stays, as it was before the fit: its weights
        (``_pretrained_stack``) and their ``pretrain_curves_``.
        """
        for name in list(self._fitted_state()):
            delattr(self, name)
        stack = getattr(self, "_pretrained_stack", None)
        if stack is not None:
            self.pretrain_curves_ = [list(curve) for curve in stack.curves]

    def _reset_fit_state(self):
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._reset_tracking()
        self._start_new_callbacks()

    def _reset_tracking(self):
        """What the stopping rule tracks: the training loss, or the validation score."""
        self.best_loss_ = np.inf  # None once an early-stopping fit ends
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self._no_improvement_count = 0

    def _continue_tracking(self):
        """Bookkeeping for a continued fit: started again if early_stopping was switched."""
        if self.early_stopping != (self.validation_scores_ is not None):
            self._reset_tracking()  # the previous count was of the other quantity

    def _start_new_callbacks(self):
        """Replace the fitted callbacks by copies of ``callbacks``, not started yet.

        Copies that are still running (a ``partial_fit`` series) are ended
        first, and the estimator attributes they exposed are removed. The
        copies are made before anything changes, so a callback that cannot be
        cloned leaves the running ones as they were; those that
        ``_end_replaced_callbacks`` made for this call are taken, not made again.
        """
        # source: the objects the copies come from.
        source, fresh = self.__dict__.pop("_callback_copies", None) or self._copy_callbacks()
        previous = getattr(self, "callbacks_", [])
        self._end_running_callbacks()
        for callback in previous:
            if callback.estimator_attribute:
                self.__dict__.pop(callback.estimator_attribute, None)
        self._callbacks_source = source
        self.callbacks_ = fresh
        self._callbacks_started = False

    def _end_running_callbacks(self):
        """End the copies a ``partial_fit`` series left running (``on_fit_end``).

        They count as ended whatever their hooks do: each one's ``on_fit_end``
        is called even if another's raises, and they are never ended again;
        then the first error is raised.
        """
        if not getattr(self, "_callbacks_started", False):
            return
        self._callbacks_started = False
        network = getattr(self, "_network", None)
        record = None if network is None else BatchRecord(network)
        record = record if record is not None and record.complete else None
        call_every(self.callbacks_, "on_fit_end", self, record=record)

    def _end_replaced_callbacks(self, first_call):
        """End the running callbacks this call replaces, before it changes anything.

        A fresh ``fit``, or a continued one after ``set_params(callbacks=...)``,
        replaces the copies a ``partial_fit`` series left running. An error of
        their ``on_fit_end`` is raised before this call trains, with the fitted
        model kept unchanged (the error is the previous series'); a
        KeyboardInterrupt warns instead. Either way they are ended, and the
        next call goes on without them. Returns False if interrupted.
        """
        if not getattr(self, "_callbacks_started", False):
            return True
        if not first_call and not self._callbacks_changed():
            return True  # they keep running
        # Copied before anything ends: a new callback that cannot be copied ends
        # nothing. _start_new_callbacks takes these copies (one clone per call).
        copies = self._copy_callbacks()
        try:
            self._end_running_callbacks()
        except KeyboardInterrupt:
            warn_user(
                "KeyboardInterrupt while the callbacks of the previous partial_fit "
                "calls ended; they are ended, and the fitted model is kept "
                "unchanged: this call trained nothing.",
                FitInterruptedWarning,
            )
            return False
        except BaseException as exc:
            self._keep_model_on_error = True  # the model is not this error's
            add_note = getattr(exc, "add_note", None)  # Python >= 3.11
            if add_note is not None:
                add_note(
                    "Raised by on_fit_end of the callbacks of the previous partial_fit "
                    "calls, ended by this call before it trained: they are ended and "
                    "the fitted model is kept unchanged. Call it again to train."
                )
            raise
        self._callback_copies = copies  # only once ended: their hooks never see it
        return True

    def _copy_callbacks(self):
        """``(source, copies)``: the objects of ``callbacks`` and a clone of each."""
        source = list(self.callbacks or [])
        return source, [clone(callback) for callback in source]

    def _callbacks_changed(self):
        """Whether ``callbacks`` are no longer the objects the running copies came from."""
        current = list(self.callbacks or [])
        source = getattr(self, "_callbacks_source", None)
        if source is None:
            # Pickled before 0.2.0, which did not keep the objects copied:
            # compare the classes and parameters of the copies instead.
            def settings(callbacks):
                return [(type(c), c.get_params(deep=False)) for c in callbacks]

            return settings(self.callbacks_) != settings(current)
        return len(source) != len(current) or any(
            a is not b for a, b in zip(source, current)
        )

    def _continue_callbacks(self):
        """The callbacks of a continued fit (warm start, ``partial_fit``).

        The fitted copies keep running (a GradientMonitor keeps one record of
        all the calls) while ``callbacks`` holds the objects they were copied
        from. After ``set_params(callbacks=...)`` the running copies are ended
        and copies of the new callbacks start.
        """
        if self._callbacks_changed():
            self._start_new_callbacks()

    def _optimizer_for(self, first_call):
        """A fresh optimizer, or the previous one (with its state) when continuing.

        The previous one continues unless its settings changed. Its learning
        rate does not count: the schedule sets it every epoch (and may have
        lowered it), and a new initial rate starts a new schedule.
        """
        optimizer = self._make_optimizer()
        self._check_optimizer_dtype(optimizer)
        previous = getattr(self, "optimizer_", None)
        if (
            not first_call
            and previous is not None
            and type(previous) is type(optimizer)
            and _settings_but_rate(previous) == _settings_but_rate(optimizer)
        ):
            return previous
        # Once per new optimizer: not at every partial_fit call, nor in
        # pretrain_fit, which trains none.
        warn_sgd_momentum(self)
        return optimizer

    def _schedule_for(self, first_call):
        """A fresh learning-rate schedule, or the previous one when continuing.

        Continuing keeps what the schedule learned (the rate ``"adaptive"`` cut
        on plateaus), unless its parameters changed.
        """
        settings = dict(
            name=self.lr_schedule,
            initial_rate=self._make_optimizer().learning_rate,  # "auto" resolved
            max_iter=self.max_iter,
            power_t=self.power_t,
            step_size=self.lr_step_size,
            gamma=self.lr_gamma,
        )
        previous = getattr(self, "_schedule", None)
        if not first_call and previous is not None and previous.settings == settings:
            return previous
        return LRSchedule(**settings)

    def _split(self, n_samples, y, early_stopping):
        """Indices of the training and validation samples (no copy of X)."""
        # In the smallest unsigned dtype that holds them (uint16 up to 65536
        # samples, uint32 up to 2**32): after X, the model and one batch, the
        # indices (shuffled in place each epoch) are the largest array of a fit.
        indices = np.arange(n_samples, dtype=np.min_scalar_type(max(n_samples - 1, 0)))
        if not early_stopping:
            return indices, None
        target = type_of_target(y) if isinstance(self, ClassifierMixin) else None
        stratify = y if target in ("binary", "multiclass") else None
        seed = int(self._rng.integers(np.iinfo(np.int32).max))
        try:
            train_idx, val_idx = self._validation_split(
                indices, stratify, seed, fall_back=target == "multiclass"
            )
        except ValueError as exc:  # e.g. too small a validation set
            raise ValueError(
                f"early_stopping=True cannot hold out validation_fraction="
                f"{self.validation_fraction} of these {n_samples} samples: {exc} "
                "Choose another validation_fraction, add samples or set "
                "early_stopping=False."
            ) from exc
        if len(val_idx) < 2:
            raise ValueError(
                f"The validation set is too small: validation_fraction="
                f"{self.validation_fraction} leaves fewer than 2 "
                f"validation samples out of {n_samples}; increase it or set "
                "early_stopping=False."
            )
        return np.sort(train_idx), np.sort(val_idx)

    def _validation_split(self, indices, stratify, seed, fall_back):
        """``train_test_split`` of ``indices``, stratified by ``stratify`` if given.

        scikit-learn's MLP stratifies binary targets only (and raises when it
        cannot); a multiclass one is stratified here too, unless a class has
        too few samples for it (20 samples of 3 classes): with ``fall_back``
        the split is then not stratified, with a warning, as scikit-learn's
        MLP splits it.
        """
        split = functools.partial(
            train_test_split, indices, test_size=self.validation_fraction, random_state=seed
        )
        if stratify is None:
            return split()
        try:
            return split(stratify=stratify)
        except ValueError as exc:
            # Not when the unstratified split is no better (too few validation
            # samples): the stratification's error explains it.
            if not fall_back or np.ceil(self.validation_fraction * len(indices)) < 2:
                raise
            warn_user(
                f"early_stopping=True cannot stratify its validation split ({exc}); "
                "it holds out validation_fraction of the samples at random instead.",
                UserWarning,
            )
            return split()

    def _batch_size(self, n_train, warn=True, samples="training samples"):
        if self.batch_size is None:
            return n_train
        if self.batch_size == "auto":
            return min(200, n_train)
        if warn and self.batch_size > n_train:
            warn_user(
                f"batch_size={self.batch_size} is larger than the {n_train} {samples}; "
                "using full batches instead.",
                UserWarning,
            )
        return min(int(self.batch_size), n_train)  # int: batch_size=True is an Integral

    def _run_epochs(
        self, network, optimizer, X, Y, y, sample_weight, train_idx, val_idx,
        max_epochs, incremental, given,
    ):
        """Set up the fitted state and run the training loop (``_training.Trainer``).

        ``given`` is the ``(X, y)`` of the call, before validation (a DataFrame
        keeps its feature names), for scikit-learn's callbacks.
        """
        weighted_rows = self.normalization == "batch" and sample_weight is not None
        batch_size = self._batch_size(
            len(train_idx),
            samples="training samples with a positive sample_weight (batch "
            "normalization leaves the others out of its batches)" if weighted_rows
            else "training samples",
        )
        batches = MiniBatches(
            X, Y, sample_weight, train_idx, batch_size, network.dtype,
            merge_small_last=self.normalization == "batch",
        )
        self._start_fitted_state(network, optimizer, X, Y, self._schedule.initial_rate)
        dispatcher = CallbackDispatcher(self, max_epochs, given)
        # The callbacks see the training rows only: not those held out for
        # validation, nor the zero-weight rows that batch normalization's
        # batches leave out.
        dispatcher.fit_begin(
            X, y, sample_weight, batch_size=batch_size,
            train_indices=None if len(train_idx) == X.shape[0] else train_idx,
        )
        validation = None if val_idx is None else (X, y, sample_weight, val_idx)
        Trainer(
            self, network, optimizer, batches, validation, max_epochs, incremental, dispatcher
        ).run()

    def _start_fitted_state(self, network, optimizer, X, Y, learning_rate):
        """The fitted attributes a training run starts from (any optimizer)."""
        self._network = network
        self._fitted_architecture = self._architecture(X.shape[1], self._n_outputs_of(Y))
        self.optimizer_ = optimizer
        self.learning_rate_ = learning_rate
        self._set_fitted_attributes(network)

    def _set_fitted_attributes(self, network):
        # coefs_, intercepts_ and the running statistics read the network.
        self.n_layers_ = network.depth + 2
        self.n_outputs_ = network.layer_sizes[-1]
        self.out_activation_ = network._loss.out_activation
        for callback in self.callbacks_:
            if callback.estimator_attribute:
                setattr(self, callback.estimator_attribute, callback)

    def __getstate__(self):
        # A copy: on Python >= 3.11 the inherited __getstate__ returns the live
        # __dict__ itself, which the version stamp must not change.
        state = dict(super().__getstate__())
        for key in _CALL_STATE:  # pickled by a callback during a fit
            state.pop(key, None)
        for key in _PLAIN_STATE:  # plain arrays and values: no private type to trust
            if key in state:
                state[key] = state[key].__getstate__()
        return stamp_version(state)  # sk_deepnet.__version__, checked on load

    def __setstate__(self, state):
        check_version(self, state)  # InconsistentVersionWarning from another version
        for key, cls in _PLAIN_STATE.items():
            if isinstance(state.get(key), dict):  # else pickled before 0.2.0
                state[key] = cls.from_state(state[key])
        super().__setstate__(state)
        add_new_parameters(self)  # max_fun, loss... for a model pickled by 0.1.0
        if "_network" in state:
            self._set_fitted_attributes(self._network)

    # --------------------------------------------------------------- predicting
    @blas_policy(predict_flops)
    def _predict_output(self, X):
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=[np.float64, np.float32],  # predict in X's precision (as sklearn)
            reset=False,
        )
        if sp.issparse(X):
            X = X.tocsr()
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            logits = self._network.predict_logits(X)
            if not np.isfinite(logits).all():
                logits = self._handle_overflow(X, logits)
        return logits

    def _handle_overflow(self, X, logits):
        """Non-finite outputs: retry in the network's precision, saturate, warn."""
        network = self._network
        if X.dtype.itemsize < network.dtype.itemsize:  # float32 X, float64 network
            logits = network.predict_logits(X.astype(network.dtype))
        limit = np.finfo(X.dtype).max
        finite = (np.abs(logits) <= limit).all(axis=1)  # False for inf, NaN
        logits = np.clip(logits, -limit, limit).astype(X.dtype, copy=False)
        if not finite.all():
            warn_user(
                f"The network's outputs overflow {network.dtype.name} for "
                f"{np.count_nonzero(~finite)} of {len(finite)} samples of X; their "
                "predictions are saturated (or NaN). Scale X like the training data, "
                "and check the fit for huge weights (DivergenceWarning).",
                RuntimeWarning,
            )
        return logits

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _width_value(hidden_sizes):
    """The ``width`` parameter that gives these hidden sizes (an int when all equal)."""
    return hidden_sizes[0] if len(set(hidden_sizes)) == 1 else list(hidden_sizes)


def _architecture_changes(old, new):
    """``(parameter, old value, new value)`` for each setting that differs.

    ``old`` and ``new`` are ``_architecture`` dicts. The numbers of features
    and outputs are checked (with their own messages) before.
    """
    changes = []
    old_hidden, new_hidden = old["layer_sizes"][1:-1], new["layer_sizes"][1:-1]
    if len(old_hidden) != len(new_hidden):
        changes.append(("depth", len(old_hidden), len(new_hidden)))
    elif old_hidden != new_hidden:
        changes.append(("width", _width_value(old_hidden), _width_value(new_hidden)))
    for key in ("activation", "loss", "normalization", "dropout", "residual",
                "residual_block_size", "dtype"):
        if old[key] != new[key]:
            changes.append((key, old[key], new[key]))
    return changes


def _architecture_change_message(old, new, incremental):
    """Why a fitted network cannot be continued: what changed, and what to do.

    ``partial_fit`` always continues (whatever ``warm_start``), so its advice
    is ``fit``; a warm-started ``fit``'s is ``warm_start=False``.
    """
    changed, back = describe_changes(_architecture_changes(old, new))
    if incremental:
        caller, advice = "partial_fit", "call fit to train a new network"
    else:
        caller, advice = "fit with warm_start=True", "set warm_start=False to train a new network"
    return (
        f"{caller} continues the fitted network, which needs the same architecture: "
        f"{changed or 'its layer sizes changed'} since the network was fitted. To "
        f"go on, {advice}{f', or set {back}' if back else ''}."
    )


def _settings_but_rate(optimizer):
    """The optimizer's hyperparameters but its learning rate."""
    params = optimizer.get_params()
    params.pop("learning_rate", None)
    return params




def _check_no_missing_targets(y):
    """Refuse a ``y`` with missing values (NaN, None, pd.NA) by name.

    scikit-learn's validation tests an object ``y`` for NaN with ``x != x``,
    which ``pd.NA`` (of a pandas ``string`` column, or in a list) answers
    with an error of its own ("boolean value of NA is ambiguous").
    """
    isna = getattr(y, "isna", None)  # a pandas Series or DataFrame
    if isna is not None:
        missing = bool(np.asarray(isna()).any())
    else:
        try:
            labels = np.asarray(y)
        except (ValueError, TypeError):  # ragged: validation names it
            return
        if labels.ndim == 0:  # y=None or a scalar: validation names it
            return
        # Only an object array can hold None or pd.NA (strings become "<U").
        missing = _holds_missing_objects(labels)
    if missing:
        raise ValueError("Input y contains NaN or missing values (None, pd.NA).")


def _is_missing(label):
    """Whether a label is None, NaN or pd.NA (whose ``!=`` has no truth value)."""
    try:
        return label is None or bool(label != label)
    except TypeError:  # pd.NA
        return True


def _check_label_types(labels, name):
    """Raise a clear error for labels that mix types numpy cannot sort (str and int).

    Missing values among them (NaN, None, pd.NA) cannot be sorted either;
    ``y`` is checked for them first (:func:`_check_no_missing_targets`).
    """
    labels = np.asarray(labels)
    if labels.dtype == object:
        try:
            np.unique(labels)
        except TypeError as exc:
            if any(map(_is_missing, labels.ravel())):
                raise ValueError(f"Input {name} contains NaN or None.") from exc
            kinds = sorted({type(label).__name__ for label in labels.ravel()})
            raise TypeError(
                f"{name} mixes label types that cannot be compared ({', '.join(kinds)}); "
                "use labels of one type (all strings or all numbers)."
            ) from exc


def _check_classes(classes):
    """Refuse a ``classes`` that is not a non-empty 1-D array-like of labels.

    scikit-learn's MLP flattens a 2-D one silently, or fails with an
    unhashable-type error deep inside ``unique_labels``.
    """
    try:
        shape = np.shape(classes)
    except ValueError:  # ragged nested sequences
        shape = None
    if shape is None or len(shape) != 1 or not shape[0]:
        got = "ragged nested sequences" if shape is None else f"shape {shape}"
        raise ValueError(
            "classes must be a non-empty 1-D array-like of class labels (for a "
            "multilabel indicator y, its column indices), e.g. classes=[0, 1]; "
            f"got a {type(classes).__name__} of {got}."
        )
    # Here, not when the labels are sorted: scikit-learn's LabelBinarizer
    # names a float NaN "Input y contains NaN.", though y has none.
    if _has_missing_labels(np.asarray(classes)):
        raise ValueError("Input classes contains NaN or None.")


def _has_missing_labels(labels):
    """Whether an array of labels holds NaN, None or pd.NA."""
    if labels.dtype.kind in "fc":
        return bool(np.isnan(labels).any())
    return _holds_missing_objects(labels)


def _holds_missing_objects(labels):
    """Whether an object array of labels holds None, NaN or pd.NA."""
    return labels.dtype == object and any(map(_is_missing, labels.ravel()))


def _check_dense_targets(y):
    """Refuse a sparse regression target by name.

    ``validate_data`` lets a sparse y through (``multi_output=True``), and
    ``np.asarray`` made it a 0-d object array that failed far from the cause.
    """
    if sp.issparse(y):
        raise TypeError(
            f"DeepMLPRegressor needs a dense y; got a sparse {y.format} matrix of "
            f"shape {y.shape}. Convert it with y.toarray()."
        )


def _check_poisson_targets(Y, incremental):
    """Refuse targets the Poisson deviance is not defined for, or cannot fit.

    Negative targets have no Poisson likelihood. Targets that are all zero
    have their optimum at ``exp(z) = 0``, out of reach of any finite weights
    (scikit-learn's ``HistGradientBoostingRegressor(loss="poisson")`` refuses
    them too); a ``partial_fit`` batch of zeros is fine, the stream goes on.
    """
    if Y.size and Y.min() < 0:
        raise ValueError(
            f"loss='poisson' requires non-negative y (counts or rates); y has "
            f"{np.count_nonzero(Y < 0)} negative value(s), the smallest {Y.min():g}. "
            "Use loss='squared_error' for targets that can be negative."
        )
    if not incremental and Y.size and not np.any(Y > 0):
        raise ValueError(
            "loss='poisson' requires y with at least one positive value: with "
            "every y equal to 0 the predictions would have to reach exp(z) = 0, "
            "which no finite weights do."
        )


class DeepMLPClassifier(ClassifierMixin, BaseDeepMLP):
    __doc__ = f"""Deep multilayer-perceptron classifier.

    A drop-in alternative to :class:`sklearn.neural_network.MLPClassifier` whose
    hyperparameters cover the remedies for vanishing and exploding gradients and
    every optimizer from SGD to Adam. Binary, multiclass and multilabel targets;
    softmax (or logistic) outputs trained on the log-loss.

    Parameters
    ----------
{_PARAMETERS_DOC}
    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels.
{_ATTRIBUTES_DOC}
    See Also
    --------
    DeepMLPRegressor : The regression counterpart.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sk_deepnet import DeepMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DeepMLPClassifier(depth=2, width=32, max_iter=20, random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.9
    True
    """

    @property
    def _loss_name(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax_cross_entropy"
        return "logistic_cross_entropy"  # binary and multilabel: sigmoid outputs

    def _encode_targets(self, y, first_call, classes=None, incremental=False):
        if first_call:
            _check_label_types(y, "y")  # before anything sorts the labels
        multilabel = type_of_target(y) == "multilabel-indicator"
        if first_call:
            self._fit_label_binarizer(y, classes, multilabel)
        else:
            self._check_continued_targets(y, classes, incremental, multilabel)
        if self._label_binarizer.y_type_ == "multiclass":
            # classes_ is sorted; the codes are held for the whole fit, so in
            # the smallest unsigned dtype for the classes (uint8 up to 256: an
            # eighth of intp's memory, 0.06 MiB for 60000 samples).
            dtype = np.min_scalar_type(len(self.classes_) - 1)
            return np.searchsorted(self.classes_, y).astype(dtype)
        return self._label_binarizer.transform(y)

    def _fit_label_binarizer(self, y, classes, multilabel):
        """First call: learn the classes from y (or ``classes``) and check them."""
        if classes is not None:
            _check_label_types(classes, "classes")
        self._label_binarizer = LabelBinarizer()
        if classes is not None and not multilabel:
            self._label_binarizer.fit(classes)
            unseen = np.setdiff1d(unique_labels(y), self._label_binarizer.classes_)
            if len(unseen):
                raise ValueError(
                    f"y contains labels {unseen.tolist()} not in classes="
                    f"{self._label_binarizer.classes_.tolist()}."
                )
        else:
            # An indicator matrix names its labels by column, as in scikit-learn.
            self._label_binarizer.fit(y)
            columns = self._label_binarizer.classes_
            if classes is not None and not np.array_equal(unique_labels(classes), columns):
                raise ValueError(
                    f"y is a multilabel indicator matrix of {len(columns)} columns: "
                    f"classes must be its column indices {columns.tolist()}, or "
                    f"None; got classes={np.asarray(classes).tolist()}."
                )
        # A single class is fitted as scikit-learn's MLP does: one sigmoid
        # output trained towards 0, every prediction that class.
        self.classes_ = self._label_binarizer.classes_

    def _check_continued_targets(self, y, classes, incremental, multilabel):
        """A continued fit: y (and ``classes``) must match the fitted classes."""
        if classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(
                f"classes={np.asarray(classes).tolist()} are not the classes of "
                f"the fitted model (classes_={self.classes_.tolist()}); partial_fit "
                "cannot change them."
            )
        if multilabel != (self._label_binarizer.y_type_ == "multilabel-indicator"):
            raise ValueError(
                f"The type of target ({type_of_target(y)}) does not match the one "
                f"seen in the first fit ({self._label_binarizer.y_type_})."
            )
        if multilabel and y.shape[1] != len(self.classes_):
            raise ValueError(
                f"y is a multilabel indicator matrix of {y.shape[1]} columns, but "
                f"the model was fitted on {len(self.classes_)} label columns; a "
                "continued fit needs the same labels, in the same columns."
            )
        if not multilabel:
            labels = unique_labels(y)
            if not incremental and not np.array_equal(labels, self.classes_):
                raise ValueError(  # as scikit-learn's MLP
                    "warm_start can only be used where `y` has the same classes as "
                    f"in the previous call to fit. Previously got {self.classes_}, "
                    f"`y` has {labels}. Set warm_start=False to train a new model."
                )
            unseen = np.setdiff1d(labels, self.classes_)
            if len(unseen):
                raise ValueError(
                    f"y contains labels {unseen.tolist()} that were not seen in "
                    f"the first fit (classes_={self.classes_.tolist()}). Pass "
                    "every class in the first partial_fit call with `classes`."
                )

    def _validation_score(self, X, y, sample_weight):
        # X was validated by fit: predict from the network, without revalidating.
        labels = self._labels(self._network.predict_logits(X))
        return accuracy_score(y, labels, sample_weight=sample_weight)

    @not_reentrant  # outside _fit_context: a refused call must not end the running fit's context
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Float32 input is used as is; float64 input is converted
            per mini-batch when ``dtype="float32"``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels, or a binary indicator matrix for multilabel problems.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss. Each mini-batch's loss is the
            weighted mean over its samples, as in scikit-learn's MLP, so a
            weight counts relative to the others of its batch: with
            ``batch_size=1`` only a zero weight changes anything. With
            ``normalization="batch"`` the batch statistics are weighted the
            same way (a weight k counts as k copies, only ratios matter), and
            zero-weighted rows are left out of the mini-batches, as if
            removed (a batch of one positive weight would have a variance of
            0); fewer than 2 positive weights in all are refused.
            ``pretrain="rbm"`` weighs its RBMs by them too (see ``pretrain``).

        Returns
        -------
        self : DeepMLPClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    @available_if(lambda est: est._check_stochastic())
    @not_reentrant  # outside _fit_context: a refused call must not end the running fit's context
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch over the given samples.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss (see ``fit``).
        classes : array-like of shape (n_classes,), default=None
            Every class label, in a 1-D array-like (a nested one is refused,
            where scikit-learn's MLP flattens it). Required on the first call
            (unless y is a multilabel indicator matrix, whose classes are its
            column indices); on later calls, None or the same classes.

        Returns
        -------
        self : DeepMLPClassifier
            The updated estimator.
        """
        if classes is not None:
            _check_classes(classes)
        elif not hasattr(self, "_network"):
            # Before type_of_target sorts them (_fit then validates y).
            _check_no_missing_targets(y)
            _check_label_types(y, "y")
            if type_of_target(y) != "multilabel-indicator":
                raise ValueError(
                    "classes must be passed on the first call to partial_fit."
                )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities (for multilabel problems, the probability of
            each label).
        """
        logits = self._predict_output(X)
        proba = self._network._loss.predict(logits)
        if self._label_binarizer.y_type_ == "binary":
            proba = np.hstack([1 - proba, proba])
        return proba

    def predict_log_proba(self, X):
        """Logarithm of the probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Natural logarithm of :meth:`predict_proba` (``-inf`` where a
            probability underflows to 0).
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Predicted labels (an indicator matrix for multilabel problems).
        """
        return self._labels(self._predict_output(X))

    def _labels(self, logits):
        """Class labels from output logits (argmax, or 0 for sigmoid outputs)."""
        if self._label_binarizer.y_type_ == "multiclass":
            return self.classes_[np.argmax(logits, axis=1)]
        return self._label_binarizer.inverse_transform(
            (logits > 0).astype(int), threshold=0.5
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class DeepMLPRegressor(RegressorMixin, BaseDeepMLP):
    __doc__ = f"""Deep multilayer-perceptron regressor.

    A drop-in alternative to :class:`sklearn.neural_network.MLPRegressor` with the
    same hyperparameters as :class:`DeepMLPClassifier`, identity outputs and
    multi-output support.

    Parameters
    ----------
    loss : {{"squared_error", "poisson"}}, default="squared_error"
        Training loss: half the squared error summed over outputs, or half
        the Poisson deviance ``y log(y / mu) - y + mu`` summed over outputs,
        with a log link: the network's output ``z`` predicts ``mu = exp(z)``,
        as in scikit-learn's ``MLPRegressor(loss="poisson")``. ``"poisson"``
        models counts and rates and needs ``y >= 0``, not all zero (its
        ``target_tags.positive_only`` tag says so, as PoissonRegressor's).
{_PARAMETERS_DOC}
    Attributes
    ----------
{_ATTRIBUTES_DOC}
    See Also
    --------
    DeepMLPClassifier : The classification counterpart.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sk_deepnet import DeepMLPRegressor
    >>> X, y = make_regression(200, 5, noise=1.0, random_state=0)
    >>> reg = DeepMLPRegressor(depth=2, width=32, learning_rate=0.01, random_state=0)
    >>> reg.fit(X, y / y.std()).score(X, y / y.std()) > 0.9
    True
    """

    _parameter_constraints = {
        **BaseDeepMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        depth=3,
        width=100,
        *,
        activation="relu",
        init="auto",
        init_scale=0.01,
        normalization=None,
        dropout=0.0,
        residual=False,
        residual_block_size=2,
        clip_grad_norm=None,
        optimizer="adam",
        learning_rate="auto",
        momentum="auto",
        beta_1="auto",
        beta_2="auto",
        epsilon="auto",
        rho="auto",
        weight_decay="auto",
        momentum_decay="auto",
        batch_size="auto",
        alpha=0.0001,
        lr_schedule="constant",
        power_t=0.5,
        lr_step_size=50,
        lr_gamma=0.1,
        max_iter=200,
        max_fun=15000,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        verbose=False,
        warm_start=False,
        dtype="float32",
        callbacks=None,
        pretrain=None,
        pretrain_epochs=50,
        pretrain_learning_rate="auto",
        pretrain_cd_steps=1,
        pretrain_batch_size=100,
        pretrain_momentum=0.9,
        pretrain_weight_decay=2e-4,
        pretrain_persistent=False,
        pretrain_visible="auto",
        pretrain_hidden_units="auto",
    ):
        super().__init__(
            depth=depth,
            width=width,
            activation=activation,
            init=init,
            init_scale=init_scale,
            normalization=normalization,
            dropout=dropout,
            residual=residual,
            residual_block_size=residual_block_size,
            clip_grad_norm=clip_grad_norm,
            optimizer=optimizer,
            learning_rate=learning_rate,
            momentum=momentum,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            rho=rho,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            batch_size=batch_size,
            alpha=alpha,
            lr_schedule=lr_schedule,
            power_t=power_t,
            lr_step_size=lr_step_size,
            lr_gamma=lr_gamma,
            max_iter=max_iter,
            max_fun=max_fun,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            shuffle=shuffle,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            dtype=dtype,
            callbacks=callbacks,
            pretrain=pretrain,
            pretrain_epochs=pretrain_epochs,
            pretrain_learning_rate=pretrain_learning_rate,
            pretrain_cd_steps=pretrain_cd_steps,
            pretrain_batch_size=pretrain_batch_size,
            pretrain_momentum=pretrain_momentum,
            pretrain_weight_decay=pretrain_weight_decay,
            pretrain_persistent=pretrain_persistent,
            pretrain_visible=pretrain_visible,
            pretrain_hidden_units=pretrain_hidden_units,
        )
        self.loss = loss

    @property
    def _loss_name(self):
        return self.loss

    def _encode_targets(self, y, first_call, classes=None, incremental=False):
        _check_dense_targets(y)
        y = np.asarray(y)
        if y.dtype.kind in "mM":  # validate_data's y_numeric passes dates through
            raise ValueError(
                f"y must be numeric; got dtype {y.dtype}. Convert dates and durations "
                "to numbers first (e.g. days since a reference date)."
            )
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if not first_call and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs but the model was fitted with "
                f"{self.n_outputs_}."
            )
        if self.loss == "poisson":
            _check_poisson_targets(Y, incremental)
        return Y

    def _validation_score(self, X, y, sample_weight):
        # X was validated by fit: predict from the network, without revalidating.
        with np.errstate(over="ignore"):
            y_pred = self._network._loss.predict(self._network.predict_logits(X))
        y_pred = y_pred.ravel() if y_pred.shape[1] == 1 else y_pred
        return r2_score(y, y_pred, sample_weight=sample_weight)

    @not_reentrant  # outside _fit_context: a refused call must not end the running fit's context
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss. Each mini-batch's loss is the
            weighted mean over its samples, as in scikit-learn's MLP, so a
            weight counts relative to the others of its batch: with
            ``batch_size=1`` only a zero weight changes anything. With
            ``normalization="batch"`` the batch statistics are weighted the
            same way (a weight k counts as k copies, only ratios matter), and
            zero-weighted rows are left out of the mini-batches, as if
            removed (a batch of one positive weight would have a variance of
            0); fewer than 2 positive weights in all are refused.
            ``pretrain="rbm"`` weighs its RBMs by them too (see ``pretrain``).

        Returns
        -------
        self : DeepMLPRegressor
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    @available_if(lambda est: est._check_stochastic())
    @not_reentrant  # outside _fit_context: a refused call must not end the running fit's context
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch over the given samples.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss (see ``fit``).

        Returns
        -------
        self : DeepMLPRegressor
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict with the multilayer perceptron.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.
        """
        y_pred = self._predict_output(X)
        with np.errstate(over="ignore"):  # exp of the log link saturates to inf
            y_pred = self._network._loss.predict(y_pred)
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        # As PoissonRegressor: the Poisson deviance refuses negative targets.
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags
