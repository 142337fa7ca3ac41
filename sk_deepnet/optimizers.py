"""First-order optimizers that update one flat parameter vector in place.

The estimators in :mod:`sk_deepnet` keep every weight and bias of a network
in a single contiguous 1-D array (layer parameters are views into it), and
the gradient lives in a second array of the same layout.  An optimizer here
therefore updates *one* NumPy array: each :meth:`Optimizer.step` is a
handful of vectorized NumPy calls writing into preallocated ``out=``
buffers, with no Python loop over layers or elements.  State (moments,
accumulators, scratch space) is allocated on the first step that needs it,
with the shape and dtype of the parameters, so ``float32`` networks stay
``float32``.  With ``overwrite_grad=True`` the gradient vector doubles as
the scratch space, so that training holds no model-sized array it does not
need.

BLAS ``axpy`` would fuse ``y += a * x`` into one pass, but SciPy's BLAS is a
second OpenBLAS beside NumPy's in the PyPI wheels: calling it between NumPy's
matrix products makes the two thread pools fight over the cores (see
``benchmarks/design_choices.py``).  The updates are therefore NumPy passes
only.

The update rules reproduce :mod:`torch.optim` (PyTorch 2.x) exactly; the
test suite checks trajectories against fixtures recorded with PyTorch (see
``tests/fixtures/make_optimizer_fixtures.py``).  Coupled L2 ``weight_decay``
(``g <- g + weight_decay * p``, PyTorch style) is available on every
optimizer; :class:`AdamW` uses decoupled decay instead.

Examples
--------
>>> import numpy as np
>>> from sk_deepnet.optimizers import get_optimizer
>>> opt = get_optimizer("adam", learning_rate=0.1, momentum="auto")
>>> p = np.zeros(3)
>>> opt.step(p, np.array([1.0, -1.0, 0.0]))
array([-0.1,  0.1,  0. ])
"""

import inspect
import math
from numbers import Number

import numpy as np

from ._signatures import init_parameter_names
from ._validation import check_count

__all__ = [
    "LBFGS",
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "Adagrad",
    "Adadelta",
    "RMSprop",
    "Adam",
    "AdamW",
    "NAdam",
    "AMSGrad",
    "OPTIMIZERS",
    "get_optimizer",
]

class _EmptyState:
    """Gives an optimizer its empty state before any ``__init__`` runs.

    So a subclass whose ``__init__`` only stores its hyperparameters
    (scikit-learn's rule), without calling ``Optimizer.__init__``, steps too.
    Unpickling and copies also come here, then restore the saved state over
    this one. A base class of its own, so that ``inspect.signature`` of
    ``Optimizer`` stays its ``__init__``'s.
    """

    def __new__(cls, *args, **kwargs):
        optimizer = super().__new__(cls)
        optimizer.t_ = 0
        optimizer.state_ = {}
        return optimizer


#: The learning rate's valid range: [0, inf).
_RATE_RANGE = (0.0, math.inf, True, False)


def _interval_text(low, high, low_in, high_in):
    """A range of :attr:`Optimizer._RANGES` written as an interval, e.g. '[0, inf)'."""
    return f"{'[' if low_in else '('}{low:g}, {high:g}{']' if high_in else ')'}"


def _returned_update_message(optimizer, returned):
    """Why a subclass's ``_update`` that returned a new value trains nothing."""
    return (
        f"{type(optimizer).__name__}._update returned a {type(returned).__name__} "
        "instead of updating params in place: the returned value is discarded, so "
        "the parameters would never change. Write the step into params (e.g. "
        "params -= self.learning_rate * grad) and return None."
    )


def _is_new_array(returned, params):
    """Whether ``_update`` returned an array apart from ``params``: its step, discarded.

    Only such an array is refused. ``params`` itself, a view of it
    (``params.reshape(-1)``) or another value (``self``) may come with an
    update made in place, which trains as it did before the check.
    """
    return isinstance(returned, np.ndarray) and not np.may_share_memory(returned, params)


class Optimizer(_EmptyState):
    """Base class of the in-place optimizers.

    Subclasses store their hyperparameters (keyword arguments of
    ``__init__``) as attributes of the same name (calling this class's
    ``__init__`` is optional: the state exists before it), declare the state buffers
    they need in ``_buffers`` and implement ``_update(params, grad, work)``,
    which updates ``params`` in place.  ``work`` is None unless the class sets
    ``_needs_work``; it is then a scratch array of the parameters' shape, which
    is the gradient itself when the class also sets ``_work_may_be_grad`` and
    the caller passed ``overwrite_grad=True``.  (Before sk_deepnet 0.2,
    ``_update`` took ``(params, grad)`` and every optimizer allocated
    ``state_["scratch"]`` on its first step.)

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size.  It is read at every :meth:`step`, so learning-rate
        schedules may change it between steps.
    weight_decay : float, default=0.0
        Coupled L2 penalty added to the gradient, ``g <- g + weight_decay * p``
        (PyTorch style); :class:`AdamW` decouples it instead.

    Attributes
    ----------
    t_ : int
        Number of steps taken since construction or the last :meth:`reset`.
    state_ : dict of str to ndarray
        Optimizer state (moment estimates, accumulators, scratch space),
        allocated on the first step that needs each array, with the
        parameters' shape and dtype.
    """

    #: The coupled L2 penalty of a subclass whose ``__init__`` takes none.
    weight_decay = 0.0

    #: names of the state arrays allocated on the first step
    _buffers = ()
    #: whether ``_update`` needs a model-sized work array
    _needs_work = False
    #: whether that work array may be the gradient itself: True only where
    #: ``_update`` never reads ``grad`` after its first write to ``work``
    _work_may_be_grad = False

    #: The valid range of each hyperparameter: (low, high, low included, high included).
    _RANGES = {
        "learning_rate": _RATE_RANGE,
        "weight_decay": (0.0, math.inf, True, False),
        "momentum": (0.0, 1.0, True, False),
        "beta_1": (0.0, 1.0, True, False),
        "beta_2": (0.0, 1.0, True, False),
        "rho": (0.0, 1.0, True, False),
        "epsilon": (0.0, math.inf, False, False),
        "momentum_decay": (0.0, math.inf, True, False),
    }

    def __init__(self, learning_rate=0.01, weight_decay=0.0):
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.t_ = 0
        self.state_ = {}

    def _validate(self):
        """Raise a ValueError naming the first hyperparameter out of its range."""
        for name in self._get_param_names():
            if name not in self._RANGES:  # a subclass's own: its constructor checks it
                continue
            value = getattr(self, name)
            if not _in_range(value, *self._RANGES[name]):
                raise ValueError(
                    f"{type(self).__name__}: {name} must be a real number in "
                    f"{self._interval(name)}; got {value!r}."
                )
        return self

    def _interval(self, name):
        """The valid range of hyperparameter ``name``, written as an interval."""
        return _interval_text(*self._RANGES[name])

    # -- sklearn-like parameter handling -----------------------------------
    @classmethod
    def _get_param_names(cls):
        return init_parameter_names(cls, cls._get_defaults)  # the keys, read once

    @classmethod
    def _get_defaults(cls):
        sig = inspect.signature(cls.__init__)
        return {
            p.name: p.default for p in sig.parameters.values() if p.name != "self"
        }

    def get_params(self, deep=True):
        """Return the constructor hyperparameters as a dict.

        Parameters
        ----------
        deep : bool, default=True
            Ignored; for scikit-learn compatibility.

        Returns
        -------
        params : dict
            Hyperparameter names (those of ``__init__``) mapped to values.
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set hyperparameters, as scikit-learn's ``set_params`` does.

        So an optimizer instance passed as an estimator's ``optimizer`` has
        its hyperparameters set through the estimator
        (``est.set_params(optimizer__learning_rate=0.1)``) and searched by
        :class:`~sklearn.model_selection.GridSearchCV`. The values are
        validated as the constructor validates them; on an error nothing
        changes. The state (``t_``, ``state_``) is kept: a schedule may also
        change ``learning_rate`` between steps.

        Parameters
        ----------
        **params : dict
            Hyperparameters, among the names :meth:`get_params` returns.

        Returns
        -------
        self : Optimizer
            The optimizer.

        Raises
        ------
        ValueError
            If a name is not a hyperparameter of the class, or a value is out
            of its range.

        Examples
        --------
        >>> from sk_deepnet.optimizers import Adam
        >>> Adam().set_params(learning_rate=0.01, beta_2=0.99)
        Adam(learning_rate=0.01, beta_2=0.99)
        """
        valid = self._get_param_names()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(
                f"Invalid parameter {unknown[0]!r} for optimizer {self!r}. "
                f"Valid parameters are: {valid!r}."
            )
        # A new instance validates the values as the constructor does (a
        # subclass's own hyperparameters included) before any is set.
        type(self)(**{**self.get_params(), **params})._validate()
        vars(self).update(params)
        return self

    def __repr__(self):
        # like scikit-learn's default ``print_changed_only=True``
        defaults = self._get_defaults()
        changed = [
            f"{k}={v!r}"
            for k, v in self.get_params().items()
            if not (v is defaults[k] or (type(v) is type(defaults[k]) and v == defaults[k]))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    # -- state ---------------------------------------------------------------
    def __setstate__(self, state):
        self.__dict__.update(state)
        # 0.1.0 kept a scratch vector in every optimizer; it is now made only
        # where an update needs it, on the first step that does.
        self.state_.pop("scratch", None)

    def reset(self):
        """Forget all state (moments, accumulators and the step count).

        Returns
        -------
        self : Optimizer
            The optimizer, ready for a fresh fit.
        """
        self.t_ = 0
        self.state_ = {}
        return self

    def _init_state(self, params):
        self.state_ = {name: np.zeros_like(params) for name in self._buffers}

    def _state_array(self, name, params):
        """The state array ``name``, allocated on first use (like ``params``)."""
        array = self.state_.get(name)
        if array is None:
            array = self.state_[name] = np.zeros_like(params)
        return array

    def _uses_coupled_decay(self):
        return True

    def _check_state(self, params):
        # The first array of the state tells (a loop, not next() over a
        # generator: this runs at every step).
        for ref in self.state_.values():
            if isinstance(ref, np.ndarray):
                if ref.shape != params.shape or ref.dtype != params.dtype:
                    raise ValueError(
                        f"{type(self).__name__} holds state for parameters of shape "
                        f"{ref.shape} and dtype {ref.dtype}, got shape {params.shape} "
                        f"and dtype {params.dtype}; call reset() first."
                    )
                return

    # -- stepping ------------------------------------------------------------
    def step(self, params, grad, overwrite_grad=False):
        """Update ``params`` in place, given the gradient ``grad``.

        Parameters
        ----------
        params : ndarray
            Parameters (any shape; float32 or float64), modified in place.
        grad : ndarray of the same shape
            Gradient of the loss at ``params``.  Not modified unless
            ``overwrite_grad`` is True.
        overwrite_grad : bool, default=False
            Allow the step to use ``grad`` as its work array, leaving
            arbitrary values in it (as scipy's ``overwrite_a``), in the
            optimizers that support it (``_work_may_be_grad``).  This saves a
            model-sized scratch vector.  The estimators pass True when no
            callback is attached.  With coupled ``weight_decay`` the step
            works on its own decayed copy and ``grad`` is never modified.
            A ``grad`` that may share memory with ``params`` (such as
            ``step(x, x)`` for the gradient ``x`` of ``||x||^2 / 2``) is
            copied first: the update writes ``params`` before it has read
            all of ``grad``.

        Returns
        -------
        params : ndarray
            The same object as the input ``params``.

        Raises
        ------
        TypeError
            If ``params`` is not a floating-point ndarray, or ``grad`` is not
            numeric; or if a subclass's ``_update`` returns a new array
            (one that shares no memory with ``params``) instead of updating
            ``params`` in place.
        ValueError
            If ``params`` is read-only, ``grad`` has another shape, the
            optimizer holds state for other parameters, or ``learning_rate``
            is no real number in its range (``[0, inf)`` unless a subclass
            narrows it), set so after the constructor checked it.  Nothing has
            changed then: neither ``t_`` nor the state nor ``params``.
        """
        grad = _check_step_arguments(params, grad)
        self._check_learning_rate()
        if np.may_share_memory(grad, params):  # bounds only: O(1)
            # The update writes params before it has read all of grad (AdamW's
            # decay, a work array that is grad): step on a copy, ours to overwrite.
            grad, overwrite_grad = grad.copy(), True
        if not self.state_:
            self._init_state(params)
        else:
            self._check_state(params)
        self.t_ += 1
        if self.weight_decay and self._uses_coupled_decay():
            # Allocated on first use only: a model-sized vector is not free.
            decayed = self._state_array("decayed_grad", params)
            overwrite_grad = True  # the decayed gradient is the step's own copy
            np.multiply(params, self.weight_decay, out=decayed)
            decayed += grad
            grad = decayed
        returned = self._update(params, grad, self._work_array(params, grad, overwrite_grad))
        if returned is not None and _is_new_array(returned, params):
            self.t_ -= 1
            raise TypeError(_returned_update_message(self, returned))
        return params

    def _work_array(self, params, grad, overwrite_grad):
        """The scratch array of ``_update``: None, ``grad`` itself, or a kept buffer."""
        if not self._needs_work:
            return None
        if (
            overwrite_grad
            and self._work_may_be_grad
            and grad.dtype == params.dtype
            and grad.shape == params.shape
        ):
            return grad
        return self._state_array("scratch", params)

    def _check_learning_rate(self):
        # Read at every step, and set since the constructor checked it (by a
        # schedule, or a callback's on_epoch_begin): 'x' or None failed inside
        # NumPy, NaN passed for a divergence, a negative rate climbed the loss.
        rate = getattr(self, "learning_rate", 0.0)  # a subclass may step by another name
        # A subclass may narrow the range, or keep its own _RANGES without it.
        allowed = self._RANGES.get("learning_rate", _RATE_RANGE)
        if type(rate) is float and allowed is _RATE_RANGE and 0.0 <= rate < math.inf:
            return  # the usual case, at every step
        if not _in_range(rate, *allowed):
            raise ValueError(
                f"{type(self).__name__}: learning_rate must be a real number in "
                f"{_interval_text(*allowed)} when the optimizer steps; got "
                f"{rate!r} (a value set after the constructor, by a schedule or a "
                "callback, or one that a subclass's __init__ did not check)."
            )

    def _update(self, params, grad, work):
        """Apply the update rule; ``work`` is None or a scratch array (maybe ``grad``)."""
        # Reached by Optimizer() itself (passed as an estimator's optimizer) or
        # a subclass that names its rule otherwise: the bare error said nothing.
        raise NotImplementedError(
            f"{type(self).__name__} has no update rule: Optimizer is a base class. "
            "Subclass it and implement _update(params, grad, work), or use one of "
            f"{', '.join(cls.__name__ for cls in OPTIMIZERS.values())}."
        )

    def minimize(self, grad_fn, x0, n_steps):
        """Run ``n_steps`` steps from ``x0`` on a function given by its gradient.

        A convenience for examples and teaching.  The optimizer is
        :meth:`reset` first, so every call starts from a fresh state.

        Parameters
        ----------
        grad_fn : callable
            ``grad_fn(x)`` returns the gradient at ``x`` (same shape as ``x``).
        x0 : array-like
            Starting point; copied as float64 (not modified).
        n_steps : int
            Number of steps.

        Returns
        -------
        trajectory : ndarray of shape (n_steps + 1, x0.size)
            Row ``k`` is the (flattened) iterate after ``k`` steps; row 0
            is ``x0``.

        Raises
        ------
        TypeError
            If ``grad_fn`` is not callable, ``n_steps`` is not an int, or
            ``x0`` or a gradient is not an array of real numbers: complex (as
            :meth:`step` refuses a complex gradient), None, strings, or a
            ragged sequence such as a ``(loss, gradient)`` pair.
        ValueError
            If ``n_steps`` is negative, or ``grad_fn`` returns an array of
            another shape than ``x``.
        """
        _check_minimize_arguments(grad_fn, n_steps)
        x = _real_float64(x0, "x0")
        self.reset()
        traj = np.empty((n_steps + 1, x.size), dtype=np.float64)
        traj[0] = x.ravel()
        for k in range(1, n_steps + 1):
            grad = _real_float64(grad_fn(x), f"grad_fn's value at step {k}")
            if grad.shape != x.shape:
                raise ValueError(
                    f"grad_fn returned an array of shape {grad.shape} at step {k} "
                    f"for x of shape {x.shape}; it must return the gradient at x, "
                    "of the same shape."
                )
            x = self.step(x, grad)
            traj[k] = x.ravel()
        return traj


def _check_step_arguments(params, grad):
    """``grad`` as an array, once ``step``'s arguments are known to be usable.

    Cheap checks only (types, flags, shapes; no pass over the data): the
    estimators call :meth:`Optimizer.step` at every batch.
    """
    if not isinstance(params, np.ndarray) or params.dtype.kind != "f":
        raise TypeError(
            "params must be a floating-point ndarray, updated in place; got "
            f"{_describe(params)}."
        )
    if not params.flags.writeable:
        raise ValueError("params is read-only: the step updates it in place.")
    if not isinstance(grad, np.ndarray):
        grad = np.asarray(grad)
    if grad.dtype.kind not in "fiu":
        raise TypeError(f"grad must hold real numbers; got dtype {grad.dtype}.")
    if grad.shape != params.shape:
        raise ValueError(
            f"grad has shape {grad.shape} but params has shape {params.shape}; "
            "they must match."
        )
    return grad


def _real_float64(value, what):
    """A float64 copy of ``value``; a TypeError naming ``what`` if it is not real numbers.

    NumPy would keep the real part of complex values with a mere
    ComplexWarning, turn None into NaN, and fail on strings and ragged
    sequences (a ``(loss, gradient)`` pair) with errors that do not say which
    argument is wrong.

    Parameters
    ----------
    value : array-like
        The values.
    what : str
        How an error names them.

    Returns
    -------
    array : ndarray of float64
        A copy of ``value``.
    """
    try:
        array = np.asarray(value)
    except ValueError as exc:  # a ragged sequence
        raise TypeError(_not_real_message(value, what)) from exc
    if array.dtype.kind == "c" or (
        array.dtype.kind == "O" and any(isinstance(v, complex) for v in array.flat)
    ):
        raise TypeError(f"{what} must hold real numbers; got complex values.")
    if not _holds_real_numbers(array):
        raise TypeError(_not_real_message(value, what))
    return np.array(array, dtype=np.float64, copy=True)


def _holds_real_numbers(array):
    """Whether ``array`` holds booleans, integers or floats (an object array's too).

    An object array may hold any number (``Fraction``, ``Decimal``, which is
    no ``numbers.Real``): complex ones were refused before.
    """
    if array.dtype.kind in "biuf":
        return True
    return array.dtype.kind == "O" and all(
        isinstance(v, (Number, np.bool_)) for v in array.flat
    )


def _not_real_message(value, what):
    return f"{what} must be an array of real numbers; got {_describe(value)}."


def _describe(value):
    """The type of ``value``, and its dtype if it has one."""
    dtype = getattr(value, "dtype", None)
    return type(value).__name__ + (f" of dtype {dtype}" if dtype is not None else "")


def _check_minimize_arguments(grad_fn, n_steps):
    """Raise a TypeError or ValueError naming the bad argument of ``minimize``."""
    if not callable(grad_fn):
        raise TypeError(f"grad_fn must be callable; got {type(grad_fn).__name__}.")
    check_count(n_steps, "n_steps")


def _in_range(value, low, high, low_in, high_in):
    """Whether ``value`` is a real number (not a bool) within the bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        return False
    above = low < value or (low_in and value == low)
    return above and (value < high or (high_in and value == high))


_MOMENTUM_NOTE = """
    Conventions: we follow PyTorch's formulation, in which the velocity
    accumulates raw gradients and the learning rate is applied when
    stepping (``v = mu*v + g; p -= lr*v``).  Keras and scikit-learn's
    ``MLPClassifier(solver="sgd")`` fold the learning rate into the velocity
    (``v = mu*v - lr*g; p += v``; scikit-learn's Nesterov variant steps
    ``p += mu*v - lr*g``).  Both give identical iterates while the learning
    rate is constant; they differ after the learning rate changes (PyTorch's
    form rescales the whole accumulated velocity immediately, the other
    form only the new gradient contributions)."""


class SGD(Optimizer):
    r"""Plain stochastic gradient descent.

    Update rule at step :math:`t` with gradient :math:`g_t` (after coupled
    weight decay :math:`g_t \leftarrow g_t + \lambda p_{t-1}` when
    ``weight_decay`` :math:`=\lambda > 0`):

    .. math::

        p_t = p_{t-1} - \eta\, g_t

    Equivalent to ``torch.optim.SGD(lr, momentum=0)``.

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size :math:`\eta`.  PyTorch's default is ``1e-3``; the "auto"
        value is 0.01, at which the optimizer guide's digits network (two
        relu layers of 256) reaches 0.922 test accuracy in 50 epochs.
    weight_decay : float, default=0.0
        Coupled L2 penalty :math:`\lambda` added to the gradient (PyTorch
        style).
    """

    _needs_work = True
    _work_may_be_grad = True

    def __init__(self, learning_rate=0.01, weight_decay=0.0):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay)
        self._validate()

    def _update(self, params, grad, work):
        np.multiply(grad, self.learning_rate, out=work)
        params -= work


class Momentum(Optimizer):
    r"""SGD with (heavy-ball) momentum.

    Update rule, with velocity :math:`v_0 = 0` and gradient :math:`g_t`
    (after coupled weight decay :math:`g_t \leftarrow g_t + \lambda p_{t-1}`):

    .. math::

        v_t = \mu\, v_{t-1} + g_t, \qquad p_t = p_{t-1} - \eta\, v_t

    Equivalent to ``torch.optim.SGD(lr, momentum=mu, dampening=0)``.
    {note}

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size :math:`\eta` (PyTorch's default is ``1e-3``; see
        :class:`SGD`).
    momentum : float, default=0.9
        Momentum :math:`\mu`.  PyTorch's default is 0; 0.9 is the customary
        value (and scikit-learn's default).
    weight_decay : float, default=0.0
        Coupled L2 penalty :math:`\lambda` added to the gradient.
    """

    _buffers = ("velocity",)
    _needs_work = True
    _work_may_be_grad = True

    def __init__(self, learning_rate=0.01, momentum=0.9, weight_decay=0.0):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay)
        self.momentum = momentum
        self._validate()

    def _update(self, params, grad, work):
        v = self.state_["velocity"]
        v *= self.momentum
        v += grad
        np.multiply(v, self.learning_rate, out=work)
        params -= work


Momentum.__doc__ = Momentum.__doc__.replace("{note}", _MOMENTUM_NOTE)


class Nesterov(Momentum):
    r"""SGD with Nesterov momentum (PyTorch's formulation).

    Update rule, with velocity :math:`v_0 = 0` and gradient :math:`g_t`
    (after coupled weight decay :math:`g_t \leftarrow g_t + \lambda p_{t-1}`):

    .. math::

        v_t = \mu\, v_{t-1} + g_t, \qquad
        p_t = p_{t-1} - \eta\, (g_t + \mu\, v_t)

    Equivalent to ``torch.optim.SGD(lr, momentum=mu, nesterov=True)``.
    {note}

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size :math:`\eta` (PyTorch's default is ``1e-3``; see
        :class:`SGD`).
    momentum : float, default=0.9
        Momentum :math:`\mu`.
    weight_decay : float, default=0.0
        Coupled L2 penalty :math:`\lambda` added to the gradient.
    """

    _work_may_be_grad = False  # g is read again after the work array is written

    def _update(self, params, grad, work):
        v, s = self.state_["velocity"], work
        v *= self.momentum
        v += grad
        np.multiply(v, self.momentum, out=s)
        s += grad
        s *= self.learning_rate
        params -= s


Nesterov.__doc__ = Nesterov.__doc__.replace("{note}", _MOMENTUM_NOTE)


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011).

    Update rule, with accumulator :math:`G_0 = 0`:

    .. math::

        G_t = G_{t-1} + g_t^2, \qquad
        p_t = p_{t-1} - \eta\, \frac{g_t}{\sqrt{G_t} + \epsilon}

    Equivalent to ``torch.optim.Adagrad(lr, eps, lr_decay=0,
    initial_accumulator_value=0)``.

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size :math:`\eta` (PyTorch's default).
    epsilon : float, default=1e-10
        :math:`\epsilon`, added to :math:`\sqrt{G_t}` (PyTorch's default).
    weight_decay : float, default=0.0
        Coupled L2 penalty added to the gradient.
    """

    _buffers = ("sum_sq",)
    _needs_work = True

    def __init__(self, learning_rate=0.01, epsilon=1e-10, weight_decay=0.0):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay)
        self.epsilon = epsilon
        self._validate()

    def _update(self, params, grad, work):
        G, s = self.state_["sum_sq"], work
        np.multiply(grad, grad, out=s)
        G += s
        np.sqrt(G, out=s)
        s += self.epsilon
        np.divide(grad, s, out=s)
        s *= self.learning_rate
        params -= s


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012).

    Update rule, with :math:`E[g^2]_0 = E[\Delta^2]_0 = 0`:

    .. math::

        E[g^2]_t &= \rho\, E[g^2]_{t-1} + (1 - \rho)\, g_t^2 \\
        \Delta_t &= \frac{\sqrt{E[\Delta^2]_{t-1} + \epsilon}}
                         {\sqrt{E[g^2]_t + \epsilon}}\, g_t \\
        E[\Delta^2]_t &= \rho\, E[\Delta^2]_{t-1} + (1 - \rho)\, \Delta_t^2 \\
        p_t &= p_{t-1} - \eta\, \Delta_t

    Equivalent to ``torch.optim.Adadelta``.

    Parameters
    ----------
    learning_rate : float, default=1.0
        Scale :math:`\eta` applied to :math:`\Delta_t` (PyTorch's default).
    rho : float, default=0.9
        Decay rate :math:`\rho` (PyTorch's default).
    epsilon : float, default=1e-6
        :math:`\epsilon` (PyTorch's default).
    weight_decay : float, default=0.0
        Coupled L2 penalty added to the gradient.
    """

    _buffers = ("square_avg", "acc_delta", "delta")
    _needs_work = True

    def __init__(self, learning_rate=1.0, rho=0.9, epsilon=1e-6, weight_decay=0.0):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay)
        self.rho = rho
        self.epsilon = epsilon
        self._validate()

    def _update(self, params, grad, work):
        st = self.state_
        sq, acc, d, s = st["square_avg"], st["acc_delta"], st["delta"], work
        rho, eps = self.rho, self.epsilon
        sq *= rho
        np.multiply(grad, grad, out=s)
        s *= 1.0 - rho
        sq += s
        np.add(sq, eps, out=s)
        np.sqrt(s, out=s)
        np.add(acc, eps, out=d)
        np.sqrt(d, out=d)
        d /= s
        d *= grad
        acc *= rho
        np.multiply(d, d, out=s)
        s *= 1.0 - rho
        acc += s
        d *= self.learning_rate
        params -= d


class RMSprop(Optimizer):
    r"""RMSprop (Tieleman & Hinton, 2012), plain: no momentum, not centered.

    Update rule, with :math:`v_0 = 0`:

    .. math::

        v_t = \rho\, v_{t-1} + (1 - \rho)\, g_t^2, \qquad
        p_t = p_{t-1} - \eta\, \frac{g_t}{\sqrt{v_t} + \epsilon}

    Equivalent to ``torch.optim.RMSprop(lr, alpha=rho, eps, momentum=0,
    centered=False)``; PyTorch calls :math:`\rho` ``alpha``.

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size :math:`\eta` (PyTorch's default).
    rho : float, default=0.99
        Decay rate :math:`\rho` (PyTorch's ``alpha`` default; Keras uses
        0.9).
    epsilon : float, default=1e-8
        :math:`\epsilon` (PyTorch's default).
    weight_decay : float, default=0.0
        Coupled L2 penalty added to the gradient.
    """

    _buffers = ("square_avg",)
    _needs_work = True

    def __init__(self, learning_rate=0.01, rho=0.99, epsilon=1e-8, weight_decay=0.0):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay)
        self.rho = rho
        self.epsilon = epsilon
        self._validate()

    def _update(self, params, grad, work):
        v, s = self.state_["square_avg"], work
        v *= self.rho
        np.multiply(grad, grad, out=s)
        s *= 1.0 - self.rho
        v += s
        np.sqrt(v, out=s)
        s += self.epsilon
        np.divide(grad, s, out=s)
        s *= self.learning_rate
        params -= s


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015).

    Update rule, with :math:`m_0 = v_0 = 0`:

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        p_t &= p_{t-1} - \frac{\eta}{1 - \beta_1^t}\,
               \frac{m_t}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}

    Equivalent to ``torch.optim.Adam`` (``amsgrad=False``).  The state
    holds the exponentially decayed *sums* :math:`S_t = \beta_1 S_{t-1} + g_t`
    and :math:`Q_t = \beta_2 Q_{t-1} + g_t^2` (``state_["grad_sum"]`` and
    ``state_["sq_grad_sum"]``), so that :math:`m_t = (1 - \beta_1) S_t` and
    :math:`v_t = (1 - \beta_2) Q_t`.  With the bias corrections and the
    factors :math:`1 - \beta` folded into scalars the step is the same
    expression rearranged,

    .. math::

        p_t = p_{t-1} - \frac{\eta (1 - \beta_1)}{(1 - \beta_1^t)\, c_t}\,
              \frac{S_t}{\sqrt{Q_t} + \epsilon / c_t}, \qquad
        c_t = \sqrt{\frac{1 - \beta_2}{1 - \beta_2^t}},

    which takes 10 passes over memory instead of 12.

    Parameters
    ----------
    learning_rate : float, default=0.001
        Step size :math:`\eta` (PyTorch's and the paper's default).
    beta_1 : float, default=0.9
        Decay rate of the first moment (PyTorch's and the paper's default).
    beta_2 : float, default=0.999
        Decay rate of the second moment.  0.999 is the value of Kingma & Ba
        (2015) and PyTorch; some write-ups wrongly give 0.9999.
    epsilon : float, default=1e-8
        :math:`\epsilon` (PyTorch's and the paper's default).
    weight_decay : float, default=0.0
        Coupled L2 penalty added to the gradient (PyTorch's ``Adam``
        semantics; see :class:`AdamW` for decoupled decay).
    """

    _buffers = ("grad_sum", "sq_grad_sum")
    _needs_work = True
    _work_may_be_grad = True
    _amsgrad = False

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        weight_decay=0.0,
    ):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self._validate()

    #: sk_deepnet 0.1.0 stored the moments m_t and v_t: their keys, and the
    #: decayed sum and the decay rate each becomes
    _LEGACY_MOMENTS = {
        "exp_avg": ("grad_sum", "beta_1"),
        "exp_avg_sq": ("sq_grad_sum", "beta_2"),
        "max_exp_avg_sq": ("max_sq_grad_sum", "beta_2"),
    }

    def __setstate__(self, state):
        # A pickle of 0.1.0 keeps training where it stopped: S = m / (1 - beta_1)
        # and Q = v / (1 - beta_2).
        super().__setstate__(state)
        for old, (new, beta) in self._LEGACY_MOMENTS.items():
            if old in self.state_:
                # Not in place: joblib.load(mmap_mode="r") gives read-only arrays.
                self.state_[new] = self.state_.pop(old) / (1.0 - getattr(self, beta))

    def _update(self, params, grad, work):
        st = self.state_
        grad_sum, sq_sum, s = st["grad_sum"], st["sq_grad_sum"], work
        b1, b2, t = self.beta_1, self.beta_2, self.t_
        grad_sum *= b1
        grad_sum += grad
        sq_sum *= b2
        np.multiply(grad, grad, out=s)  # the last read of grad (work may be grad)
        sq_sum += s
        if self._amsgrad:
            max_sq_sum = st["max_sq_grad_sum"]
            np.maximum(max_sq_sum, sq_sum, out=max_sq_sum)
            sq_sum = max_sq_sum
        c = math.sqrt((1.0 - b2) / (1.0 - b2**t))
        np.sqrt(sq_sum, out=s)
        s += self.epsilon / c
        np.divide(grad_sum, s, out=s)
        s *= self.learning_rate * (1.0 - b1) / ((1.0 - b1**t) * c)
        params -= s


class AMSGrad(Adam):
    r"""AMSGrad variant of Adam (Reddi, Kale & Kumar, 2018).

    Update rule, with :math:`m_0 = v_0 = \hat v_0 = 0`:

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \\
        p_t &= p_{t-1} - \frac{\eta}{1 - \beta_1^t}\,
               \frac{m_t}{\sqrt{\hat v_t / (1 - \beta_2^t)} + \epsilon}

    Equivalent to ``torch.optim.Adam(amsgrad=True)`` (which, unlike the
    paper, keeps the bias corrections).

    Parameters
    ----------
    learning_rate : float, default=0.001
        Step size :math:`\eta` (PyTorch's default).
    beta_1 : float, default=0.9
        Decay rate of the first moment (PyTorch's default).
    beta_2 : float, default=0.999
        Decay rate of the second moment (PyTorch's default; Kingma & Ba
        2015 — not 0.9999).
    epsilon : float, default=1e-8
        :math:`\epsilon` (PyTorch's default).
    weight_decay : float, default=0.0
        Coupled L2 penalty added to the gradient.
    """

    _buffers = ("grad_sum", "sq_grad_sum", "max_sq_grad_sum")
    _amsgrad = True

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        weight_decay=0.0,
    ):
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            weight_decay=weight_decay,
        )
        self._validate()


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Update rule: first the decoupled decay

    .. math::

        p_{t-1} \leftarrow (1 - \eta\lambda)\, p_{t-1},

    then the :class:`Adam` step on the *undecayed* gradient :math:`g_t`
    (:math:`m_t`, :math:`v_t` and the step exactly as in :class:`Adam`).

    Equivalent to ``torch.optim.AdamW`` (``amsgrad=False``).  Note that the
    decay is multiplied by the current learning rate, as in PyTorch.

    Parameters
    ----------
    learning_rate : float, default=0.001
        Step size :math:`\eta` (PyTorch's default).
    beta_1 : float, default=0.9
        Decay rate of the first moment (PyTorch's default).
    beta_2 : float, default=0.999
        Decay rate of the second moment (PyTorch's default; Kingma & Ba
        2015 — not 0.9999).
    epsilon : float, default=1e-8
        :math:`\epsilon` (PyTorch's default).
    weight_decay : float, default=0.01
        Decoupled decay coefficient :math:`\lambda` (PyTorch's default).
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        weight_decay=0.01,
    ):
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            weight_decay=weight_decay,
        )
        self._validate()

    def _uses_coupled_decay(self):
        return False

    def _update(self, params, grad, work):
        if self.weight_decay:
            params *= 1.0 - self.learning_rate * self.weight_decay
        super()._update(params, grad, work)


class NAdam(Optimizer):
    r"""Adam with Nesterov momentum (Dozat, 2016), PyTorch's formulation.

    Update rule, with :math:`m_0 = v_0 = 0`, :math:`\Pi_0 = 1` and the
    momentum schedule :math:`\mu_t = \beta_1 (1 - \tfrac12
    \cdot 0.96^{t\psi})` (:math:`\psi` = ``momentum_decay``):

    .. math::

        \Pi_t &= \Pi_{t-1}\, \mu_t \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        d_t &= \sqrt{v_t / (1 - \beta_2^t)} + \epsilon \\
        p_t &= p_{t-1} - \eta\, \frac{1 - \mu_t}{1 - \Pi_t}\, \frac{g_t}{d_t}
               - \eta\, \frac{\mu_{t+1}}{1 - \Pi_t\, \mu_{t+1}}\,
               \frac{m_t}{d_t}

    Equivalent to ``torch.optim.NAdam`` (``decoupled_weight_decay=False``).
    The product :math:`\Pi_t` is kept in ``state_["mu_product"]`` (a
    Python float).

    Parameters
    ----------
    learning_rate : float, default=0.002
        Step size :math:`\eta` (PyTorch's default).
    beta_1 : float, default=0.9
        :math:`\beta_1` (PyTorch's default).
    beta_2 : float, default=0.999
        Decay rate of the second moment (PyTorch's default; not 0.9999).
    epsilon : float, default=1e-8
        :math:`\epsilon` (PyTorch's default).
    momentum_decay : float, default=0.004
        :math:`\psi` of the momentum schedule (PyTorch's default).
    weight_decay : float, default=0.0
        Coupled L2 penalty added to the gradient.
    """

    _buffers = ("exp_avg", "exp_avg_sq", "denom")
    _needs_work = True
    _work_may_be_grad = True

    def __init__(
        self,
        learning_rate=0.002,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        momentum_decay=0.004,
        weight_decay=0.0,
    ):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.momentum_decay = momentum_decay
        self._validate()

    def _init_state(self, params):
        super()._init_state(params)
        self.state_["mu_product"] = 1.0

    def _update(self, params, grad, work):
        st = self.state_
        m, v, d, s = st["exp_avg"], st["exp_avg_sq"], st["denom"], work
        b1, b2, t, lr = self.beta_1, self.beta_2, self.t_, self.learning_rate
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        mu_product = st["mu_product"] * mu
        st["mu_product"] = mu_product
        # d holds the moment increments until it becomes the denominator, so
        # that the work array may be the gradient.
        m *= b1
        np.multiply(grad, 1.0 - b1, out=d)
        m += d
        v *= b2
        np.multiply(grad, grad, out=d)
        d *= 1.0 - b2
        v += d
        # d = sqrt(v) + eps*sqrt(bc2) = sqrt(bc2) * (sqrt(v / bc2) + eps)
        sqrt_bc2 = math.sqrt(1.0 - b2**t)
        np.sqrt(v, out=d)
        d += self.epsilon * sqrt_bc2
        c_grad = lr * sqrt_bc2 * (1.0 - mu) / (1.0 - mu_product)
        c_avg = lr * sqrt_bc2 * mu_next / (1.0 - mu_product * mu_next)
        np.multiply(grad, c_grad, out=s)  # the last read of grad (work may be grad)
        s /= d
        params -= s
        np.multiply(m, c_avg, out=s)
        s /= d
        params -= s


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": Adagrad,
    "adadelta": Adadelta,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
    "nadam": NAdam,
    "amsgrad": AMSGrad,
}


def get_optimizer(name, **hyperparameters):
    """Build optimizer ``name`` from a superset of hyperparameters.

    Hyperparameters whose value is ``"auto"`` take the class default;
    hyperparameters the class does not accept are ignored (never an error)
    — the estimator passes all of ``learning_rate``, ``momentum``,
    ``beta_1``, ``beta_2``, ``epsilon``, ``rho`` and ``weight_decay`` to
    every optimizer.  The class validates the values it takes (a
    ValueError names the one out of range).

    Parameters
    ----------
    name : str
        One of the keys of :data:`OPTIMIZERS`.
    **hyperparameters
        Candidate constructor arguments.

    Returns
    -------
    optimizer : Optimizer
        A fresh (stateless) optimizer.

    Raises
    ------
    ValueError
        If ``name`` is not a known optimizer.
    """
    try:
        cls = OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown optimizer {name!r}; valid names are {sorted(OPTIMIZERS)}."
        ) from None
    accepted = set(cls._get_param_names())
    kwargs = {
        k: v
        for k, v in hyperparameters.items()
        if k in accepted and not (isinstance(v, str) and v == "auto")
    }
    return cls(**kwargs)


class LBFGS:
    """The settings of ``optimizer="lbfgs"``, fitted as ``optimizer_``.

    Not an :class:`Optimizer`: L-BFGS takes no steps of its own on a
    gradient, the estimator runs SciPy's L-BFGS-B over the whole parameter
    vector with these settings (the estimator's ``max_iter``, ``max_fun`` and
    ``tol``).

    Parameters
    ----------
    max_iter : int
        Most iterations (accepted steps) per fit.
    max_fun : int
        Most loss evaluations per fit (line-search trials included).
    tol : float
        Stop when the largest absolute gradient entry is at most ``tol``
        (SciPy's ``gtol``).

    Attributes
    ----------
    n_fun_ : int
        Loss evaluations of the last fit.
    status_ : int or None
        SciPy's status of the last fit (0: converged, 1: a limit reached,
        2: the line search failed, 99: a callback stopped it); None when
        something else stopped it (a KeyboardInterrupt, an iterate that is
        not finite, an error).
    message_ : str
        SciPy's message of the last fit, or why it stopped before SciPy's
        run ended.
    """

    #: L-BFGS takes no step size; the estimator's ``learning_rate`` is ignored.
    learning_rate = None

    def __init__(self, max_iter=200, max_fun=15000, tol=1e-4):
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.tol = tol
        self.n_fun_ = 0
        self.status_ = None
        self.message_ = ""

    def get_params(self):
        """The settings, as the stochastic optimizers report theirs.

        Returns
        -------
        params : dict
            ``max_iter``, ``max_fun`` and ``tol``.
        """
        return dict(max_iter=self.max_iter, max_fun=self.max_fun, tol=self.tol)

    def reset(self):
        """Nothing to forget: L-BFGS keeps no state between fits."""

    def __repr__(self):
        return f"LBFGS(max_iter={self.max_iter}, max_fun={self.max_fun}, tol={self.tol})"
