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
"""

from numbers import Real

#: Activations whose units can die: on negative inputs their slope is zero
#: (relu), 0.01 (leaky_relu) or decays to zero (elu, selu, gelu).
DEAD_FAMILY = ("relu", "leaky_relu", "elu", "selu", "gelu")


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
    def param(name, default=None):
        return getattr(estimator, name, default)

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


def _initial_state_remedies(param):
    """Remedies that change the initial state: the init, batch normalization."""
    remedies = [] if param("init", "auto") == "auto" else ["init='auto'"]
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
    if param("optimizer") != "lbfgs":  # it refuses clip_grad_norm
        clip = param("clip_grad_norm")
        steps.append("clip_grad_norm" if clip is None else f"a smaller clip_grad_norm than {clip:g}")
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


def _normalization(remedies):
    """Batch normalization among ``remedies`` (not another init)."""
    return [remedy for remedy in remedies if remedy.startswith("normalization")]


def _vanishing_remedies(param, activation):
    """An activation whose slope does not shrink the signal, an init that keeps
    its scale, normalization, skip connections."""
    if activation in DEAD_FAMILY:
        # Too small initial weights shrink the signal layer after layer.
        remedies = [] if param("init", "auto") == "auto" else ["init='auto'"]
    else:
        remedies = ["activation='relu' with init='auto'"]
    if param("normalization") is None:
        remedies.append("normalization='batch'")
    if not param("residual", False):
        remedies.append("residual=True")
    return remedies
