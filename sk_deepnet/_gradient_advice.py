"""What a :class:`~sk_deepnet.callbacks.GradientMonitor` suggests for its diagnosis.

The remedies follow the evidence, not the diagnosis alone. A problem that the
monitor's first record already shows comes from the initial state (the
initial weights, the data's scale): the remedies that change it come first,
and the step size is not suggested. One that appeared during training comes
from the steps: a lower learning rate and gradient clipping come first. On
digits, 10 relu layers with N(0, 1) weights explode from the first batch
and still do at ``learning_rate=1e-6``, while ``init='auto'`` trains them;
relu units that Adam kills at ``learning_rate=1.0`` stay alive at 0.01
(``tests/test_gradient_advice.py`` fits both). A remedy already in use is
never suggested.

The estimators' DivergenceWarnings follow the same evidence without a
monitor: the loss of a fresh model's first batch, before any step, against
that of an output of zeros (:func:`initial_weights_evidence`).
"""

import math
from numbers import Real

from sklearn.base import is_classifier

from ._losses import constant_output_loss, zero_output_loss
from ._scale import scaling_remedies
from ._warnings import or_list

#: Activations whose units can die: on negative inputs their slope is zero
#: (relu), 0.01 (leaky_relu) or decays to zero (elu, selu, gelu).
DEAD_FAMILY = ("relu", "leaky_relu", "elu", "selu", "gelu")

#: A fresh model whose first batch's loss is this many times that of an
#: output of zeros amplifies its inputs: the initial state, not the steps,
#: makes it diverge. ``benchmarks/initial_loss.py`` measures the ratio: 0.70
#: to 2.80 for the default init (80 fits: relu, tanh, sigmoid, elu; depths 1
#: to 20; five standardized data sets), 3.4 on raw digits; 1.4e9 for 10 relu
#: layers of N(0, 1) weights on digits, which diverge at
#: ``learning_rate=1e-6`` as at 0.1.
INITIAL_LOSS_FACTOR = 10.0

#: A fitted model whose training loss is not this fraction below that of the
#: best constant prediction has learned next to nothing from X. A collapsed
#: fit sits at the constant's loss give or take its steps' noise (Adam at
#: ``learning_rate=1.0`` on digits: 2.303 against 2.302), so an exact
#: comparison would warn or not by chance. ``benchmarks/constant_output.py``
#: measures the margin: 30 healthy fits end at most at 0.50 of the constant's
#: loss, collapsed ones at 1.00 to 1.01.
CONSTANT_LOSS_MARGIN = 0.01

#: An ``alpha`` from which the L2 penalty may be what holds a model at a
#: constant. The default network on standardized digits and friedman1 scores
#: 0.98 (accuracy, R^2) up to ``alpha=1``, 0.95 and 0.86 at 10, 0.64 and 0.70
#: at 30, and predicts a constant at 100 (``benchmarks/constant_output.py``).
STRONG_ALPHA = 1.0


def init_remedies(estimator):
    """``["init='auto'"]``, unless that is the init: how every message suggests it."""
    return _init_remedies(_getter(estimator))


def initial_state_remedies(estimator):
    """Remedies that change the initial state: the init, then batch normalization."""
    return _initial_state_remedies(_getter(estimator))


def initial_loss_ratio(estimator, network, initial_loss, Y, sample_weight, unscaled,
                       rows=None):
    """The evidence on the initial model: its first loss over an output of zeros'.

    Parameters
    ----------
    estimator : BaseDeepMLP
        The estimator being fitted.
    network : Network
        Its network (its loss function, output width and dtype).
    initial_loss : float or None
        The data loss (without the L2 penalty) of a fresh model's first
        batch, before any step; None for a fit that continued a trained model.
    Y, sample_weight : ndarray
        The training targets and weights, as the loss takes them.
    unscaled : bool
        Whether X or y is far from standardized (``scaling_remedies``).
    rows : ndarray of int, default=None
        The training samples (see :func:`loss_ratio`).

    Returns
    -------
    ratio : float or None
        None without evidence: a continued model, pretrained weights, data
        far from standardized (its scale, not the init, then sets the
        initial loss, and scaling it comes first), or a loss of an output of
        zeros that is zero or not finite.
    """
    if unscaled or getattr(estimator, "pretrain_curves_", None) is not None:
        return None
    return loss_ratio(network, initial_loss, Y, sample_weight, rows)


def blames_initial_model(ratio):
    """Whether a :func:`loss_ratio` is at least :data:`INITIAL_LOSS_FACTOR`."""
    return ratio is not None and ratio >= INITIAL_LOSS_FACTOR


def initial_weights_evidence(ratio, changeable):
    """The DivergenceWarning's sentence blaming the initial model, or "".

    ``changeable``: whether a remedy that changes the initial state is
    suggested (it is then first). The sentence starts with a space, to
    follow the warning's own.
    """
    if not blames_initial_model(ratio):
        return ""
    first = ", and the remedies that change it come first" if changeable else ""
    return (
        f" Before the first step the loss was already {ratio:.3g} times that of an "
        f"output of zeros: the initial model amplifies its inputs{first}."
    )


def divergence_remedies(estimator, ratio):
    """A stochastic fit's DivergenceWarning remedies, after scaling the data.

    Blamed by ``ratio`` (:func:`initial_loss_ratio`): the initial state's
    remedies first (smaller steps leave its amplification as it is), then
    the steps'. Else the steps' remedies, then batch normalization, and the
    init only without evidence on it.
    """
    param = _getter(estimator)
    initial = _initial_state_remedies(param)
    steps = [f"a lower learning_rate (now {float(param('learning_rate_')):g})"]
    steps += _clip_remedies(param)
    if blames_initial_model(ratio):
        return initial + steps
    remedies = steps + _normalization(initial)
    return remedies if ratio is not None else remedies + _init_remedies(param)


def worse_than_zeros_remedies(estimator, ratio):
    """A stochastic fit's remedies for a model far worse than an output of zeros.

    Blamed by ``ratio``, the initial state's only: the fit did not diverge,
    its steps kept near the initial model. Else those of a divergence.
    """
    if blames_initial_model(ratio):
        return initial_state_remedies(estimator)
    return divergence_remedies(estimator, ratio)


def worse_than_zeros_hint(
    estimator, network, data, final_loss, initial_loss, remedies_for, rows=None
):
    """A warning's sentences for a fit that ended far worse than an output of zeros, or "".

    Adam at ``learning_rate=30`` blows a regressor up to 1e22 times the loss
    of an output of zeros without overflowing; L-BFGS's line search stays
    near initial weights that amplify the inputs (10 relu layers of N(0, 1)
    weights on digits stay above a loss of 1e4 in
    ``tests/test_gradient_advice.py``). Neither is a divergence the
    training loop can see: the loss stays finite.

    Parameters
    ----------
    estimator : BaseDeepMLP
        The fitted estimator.
    network : Network
        Its network (its loss function and output width).
    data : tuple
        ``(X, Y, sample_weight)``: the training data, targets (as the loss
        takes them) and weights.
    final_loss, initial_loss : float or None
        The data losses of the fitted model and of the fresh model's first
        batch (see :func:`initial_loss_ratio`).
    remedies_for : callable
        ``remedies_for(ratio)``: what to suggest, most promising first,
        given the evidence on the initial model.
    rows : ndarray of int, default=None
        The training samples (see :func:`loss_ratio`).

    Returns
    -------
    hint : str
        Set when the final loss is at least :data:`INITIAL_LOSS_FACTOR` times
        an output of zeros' and there is a remedy to suggest; it starts with
        a space, to follow the warning's own sentences.
    """
    X, Y, sample_weight = data
    final = loss_ratio(network, final_loss, Y, sample_weight, rows)
    if not blames_initial_model(final):  # the common case: no scale to estimate
        return ""
    unscaled = bool(scaling_remedies(estimator, X, Y))
    ratio = initial_loss_ratio(
        estimator, network, initial_loss, Y, sample_weight, unscaled, rows
    )
    remedies = remedies_for(ratio)
    if not remedies:
        return ""
    if blames_initial_model(ratio):
        what = (f"is still {final:.3g} times that of an output of zeros (it began at "
                f"{ratio:.3g} times it): the initial model amplifies its inputs")
    elif ratio is not None:
        what = (f"ended at {final:.3g} times that of an output of zeros (it began at "
                f"{ratio:.3g} times it): the steps made the model far worse than one "
                "that predicts zeros")
    else:
        what = (f"ended at {final:.3g} times that of an output of zeros: the model "
                "predicts far worse than zeros")
    return f" The training loss {what}. Try {or_list(remedies)}."


def constant_output_hint(estimator, network, targets, final_loss, out_of_iterations):
    """A warning's sentences for a fit no better than a constant output, or "".

    Adam at ``learning_rate=1.0`` kills the relu units of a digits network
    within an epoch: the fit then runs to ``max_iter``, or stops on its
    plateau, at the loss of the class frequencies (chance accuracy) with no
    word of it. The cause is not in the loss (dead units, vanishing
    gradients, a strong ``alpha``), so the sentences point at the gradient
    monitor rather than guess a remedy.

    Parameters
    ----------
    estimator : BaseDeepMLP
        The fitted estimator (its ``gradient_monitor_``, if it has one).
    network : Network
        Its network (its loss function and output width).
    targets : tuple
        ``(Y, sample_weight, rows)``: the targets (as the loss takes them),
        the weights and the training samples (see :func:`loss_ratio`).
    final_loss : float or None
        The data loss of the fitted model (see :func:`initial_loss_ratio`).
    out_of_iterations : bool
        Whether the fit stopped at ``max_iter``: then it may only have been
        too short (wine's standardized features after 2 epochs of Adam at
        0.001), and more iterations are named before the gradients.

    Returns
    -------
    hint : str
        Set when ``final_loss`` is not :data:`CONSTANT_LOSS_MARGIN` below
        :func:`~sk_deepnet._losses.constant_output_loss`; it starts with a
        space, to follow the warning's own sentences. Never with dropout:
        the training loss, taken with units dropped, is then not the
        model's (``dropout=0.8``: 0.538 against the model's 0.485).
    """
    if final_loss is None or not math.isfinite(final_loss) or getattr(estimator, "dropout", 0) > 0:
        return ""
    Y, sample_weight, rows = targets
    best = constant_output_loss(network._loss, Y, sample_weight, network.layer_sizes[-1], rows)
    if _constant_target(network, targets, best):  # nothing to learn beyond it
        return ""
    if final_loss < (1 - CONSTANT_LOSS_MARGIN) * best:
        return ""
    what = "the class frequencies" if is_classifier(estimator) else "the mean of y"
    if final_loss >= (1 + CONSTANT_LOSS_MARGIN) * best:
        how, verdict = "above", "does worse than that constant; it has learned nothing"
    else:
        how, verdict = f"within {CONSTANT_LOSS_MARGIN:.0%} of", "has learned next to nothing"
    return (
        f" The training loss ({final_loss:.4g}) is {how} that of the best constant "
        f"prediction, {what} ({best:.4g}): the model {verdict} from X. "
        f"{_why_nothing_learned(estimator, out_of_iterations)}"
    )


def _constant_target(network, targets, best):
    """Whether the targets are constant (one class, one value of y), up to
    rounding: the constant's loss is 0, or 1e-9 of an output of zeros'
    (y = 1000.1 leaves 1e-26 of its mean square)."""
    if not best:
        return True
    Y, sample_weight, rows = targets
    zeros = zero_output_loss(network._loss, Y, sample_weight, network.layer_sizes[-1], rows)
    return not zeros or best <= 1e-9 * zeros


def _why_nothing_learned(estimator, out_of_iterations):
    """Where to look when a model learned nothing: the gradient monitor."""
    flow = "dead units, vanishing or exploding gradients"
    if getattr(estimator, "gradient_monitor_", None) is not None:
        shows = "its gradient_monitor_.report() shows how the gradients flowed"
    else:
        shows = "a GradientMonitor (callbacks=[GradientMonitor()]) shows why"
    if out_of_iterations:  # maybe only a short fit
        why = f"It needs more iterations, or its gradients do not flow ({flow}): {shows}."
    else:
        why = f"{shows[0].upper()}{shows[1:]}: {flow}."
    alpha = float(getattr(estimator, "alpha", 0.0))
    if alpha >= STRONG_ALPHA:
        why += f" With alpha={alpha:g}, the L2 penalty may also hold the weights near zero."
    return why


def loss_ratio(network, loss, Y, sample_weight, rows=None):
    """A data loss over the loss of an output of zeros; None when either is undefined.

    Parameters
    ----------
    network : Network
        The network (its loss function, output width and dtype).
    loss : float or None
        A data loss (without the L2 penalty) of the network on ``Y``.
    Y, sample_weight : ndarray
        The targets and weights, as the loss takes them.
    rows : ndarray of int, default=None
        The training samples (all if None: early stopping holds the others
        out), over which ``loss`` was taken.

    Returns
    -------
    ratio : float or None
    """
    if loss is None or not math.isfinite(loss):
        return None
    reference = zero_output_loss(
        network._loss, Y, sample_weight, network.layer_sizes[-1], rows
    )
    if not reference or not math.isfinite(reference):
        return None
    return loss / reference


def _getter(estimator):
    """``param(name, default=None)``: the estimator's parameter, or the default
    (for an estimator without it, or None)."""
    def param(name, default=None):
        return getattr(estimator, name, default)

    return param


def remedies_not_in_use(estimator, diagnosis, activation, from_start, unscaled=False):
    """The remedies to suggest for ``diagnosis``, leaving out those already set.

    Parameters
    ----------
    estimator : estimator or None
        The fitted estimator (its parameters say which remedies are in use).
    diagnosis : {"exploding", "vanishing", "dead_units"}
        The monitor's diagnosis.
    activation : str
        The hidden activation (canonical name).
    from_start : bool
        Whether the monitor's first record already shows the problem.
    unscaled : bool, default=False
        Whether X is far from standardized (the monitor then suggests
        scaling it first).

    Returns
    -------
    remedies : list of str
        Most promising first; "scale X" is the monitor's to add before them.
    """
    param = _getter(estimator)
    if diagnosis == "exploding":
        return _exploding_remedies(param, from_start)
    if diagnosis == "dead_units":
        return _dead_unit_remedies(param, activation, from_start, unscaled)
    return _vanishing_remedies(param, activation)


def _lower_learning_rate(param, how_much):
    """``"a learning_rate <how_much> lower (now 1)"``; nothing for L-BFGS (its
    line search sets each step)."""
    if param("optimizer") == "lbfgs":
        return []
    rate = param("learning_rate_")
    now = f" (now {float(rate):g})" if isinstance(rate, Real) else ""
    return [f"a learning_rate {how_much} lower{now}"]


def _init_remedies(param):
    return [] if param("init", "auto") == "auto" else ["init='auto'"]


def _initial_state_remedies(param):
    """The init, then batch normalization (not over layer normalization,
    which also bounds the pre-activations)."""
    remedies = _init_remedies(param)
    if param("normalization") is None:
        remedies.append("normalization='batch'")
    return remedies


def _exploding_remedies(param, from_start):
    """From the start: the initial state's remedies only (smaller steps or
    clipping leave the amplification of the initial weights as it is, and
    slow training). Grown during training: the step size first."""
    initial = _initial_state_remedies(param)
    if from_start:
        return initial
    # SGD that diverged at 0.5 trains at 0.05 (tests/test_gradient_advice.py).
    steps = _lower_learning_rate(param, "at least 10 times")
    steps += _clip_remedies(param)
    # The initial weights did not cause it: batch normalization still
    # bounds the pre-activations, another init would not.
    return steps + _normalization(initial)


def _dead_unit_remedies(param, activation, from_start, unscaled):
    """From the start: the initial state's remedies (a lower learning rate
    leaves the units dead). With unscaled inputs (scaled first), the init
    and batch normalization, which trained raw wine where ``leaky_relu`` and
    ``elu`` did not. With standardized inputs the initial weights of a deep
    narrow relu net kill units: skip connections or ``elu`` (they train 20
    relu layers of 32 on breast cancer, which batch normalization makes
    worse: ``tests/test_gradient_advice.py``), then the init. Died during
    training: the step size first, then an activation that keeps a
    gradient."""
    initial = _initial_state_remedies(param)
    if from_start and unscaled:
        return initial
    if from_start:
        # Skip connections need two layers or more (one layer: no block).
        deep = param("depth", 2) > 1 and not param("residual", False)
        architecture = ["residual=True"] if deep else []
        if activation == "relu":
            architecture.append("activation='elu'")
        return architecture + [r for r in initial if r.startswith("init")]
    # Units Adam killed at 1.0 stayed dead at 0.1 and 0.03, lived at 0.01.
    remedies = _lower_learning_rate(param, "about 100 times")
    if activation == "relu":
        remedies.append(
            "activation='leaky_relu' or 'elu' (their units keep a gradient on negative inputs)"
        )
    return remedies + _normalization(initial)


def _clip_remedies(param):
    """Gradient clipping, or tighter clipping; nothing for L-BFGS (it refuses it)."""
    if param("optimizer") == "lbfgs":
        return []
    clip = param("clip_grad_norm")
    return ["clip_grad_norm" if clip is None else f"a smaller clip_grad_norm than {clip:g}"]


def _normalization(remedies):
    """Batch normalization among ``remedies`` (not another init)."""
    return [remedy for remedy in remedies if remedy.startswith("normalization")]


def _vanishing_remedies(param, activation):
    """An activation whose slope does not shrink the signal, an init that keeps
    its scale, normalization, skip connections."""
    if activation in DEAD_FAMILY:
        # Too small initial weights shrink the signal layer after layer.
        remedies = _init_remedies(param)
    else:
        remedies = ["activation='relu' with init='auto'"]
    if param("normalization") is None:
        remedies.append("normalization='batch'")
    if not param("residual", False):
        remedies.append("residual=True")
    return remedies
