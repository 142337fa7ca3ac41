"""Learning-rate schedules.

A schedule turns the initial learning rate into the rate of the current epoch.
The estimator asks it at the start of every epoch (:meth:`~LRSchedule.at_epoch`,
and :meth:`~LRSchedule.at_step` with the number of training samples seen so far,
which only ``invscaling`` uses) and when the training loss stops improving
(:meth:`~LRSchedule.on_plateau`, only ``adaptive`` reacts). The names and the ``invscaling``/``adaptive`` rules follow scikit-learn's
``MLPClassifier(learning_rate=...)``; ``cosine`` and ``step`` follow PyTorch's
``CosineAnnealingLR`` (without restarts) and ``StepLR``.
"""

import math
from numbers import Integral, Real

import numpy as np

from ._sklearn_compat import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)
from ._validation import check_count

__all__ = ["LRSchedule", "SCHEDULES"]

SCHEDULES = ("constant", "invscaling", "adaptive", "cosine", "step")

#: The valid values of each argument, as the estimators constrain their
#: ``lr_schedule``, ``max_iter``, ``power_t``, ``lr_step_size`` and ``lr_gamma``
#: (``initial_rate`` may be 0, as an optimizer's ``learning_rate`` may).
_CONSTRAINTS = {
    "name": [StrOptions(set(SCHEDULES))],
    "initial_rate": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "step_size": [Interval(Integral, 1, None, closed="left")],
    "gamma": [Interval(Real, 0, 1, closed="right")],
}


class LRSchedule:
    """Learning rate as a function of epoch, step and plateaus.

    Parameters
    ----------
    name : {"constant", "invscaling", "adaptive", "cosine", "step"}
        ``constant``: ``lr = lr0``.
        ``invscaling``: ``lr = lr0 / (t + 1) ** power_t`` with ``t`` the number of
        training samples seen before the epoch (as scikit-learn, which updates
        the rate after each epoch: the first epoch of a fit runs at ``lr0``).
        ``adaptive``: ``lr0`` until the loss stops improving, then divided by 5
        each time, training stops once it falls below 1e-6 (as scikit-learn).
        ``cosine``: ``lr = lr0 * (1 + cos(pi * epoch / max_iter)) / 2``.
        ``step``: ``lr = lr0 * gamma ** (epoch // step_size)``.
    initial_rate : float
        ``lr0``.
    max_iter : int
        Number of epochs of the cosine period.
    power_t : float
        Exponent of ``invscaling``.
    step_size, gamma : int, float
        Period and factor of ``step``.

    Raises
    ------
    InvalidParameterError
        A ``ValueError`` (and ``TypeError``) naming the first argument out of
        its range: an unknown ``name``, a negative or non-numeric
        ``initial_rate`` or ``power_t``, a ``max_iter`` or ``step_size`` below
        1 (or a bool), or a ``gamma`` outside (0, 1].
    """

    def __init__(self, name, initial_rate, max_iter=200, power_t=0.5, step_size=50, gamma=0.1):
        self.settings = dict(
            name=name, initial_rate=initial_rate, max_iter=max_iter, power_t=power_t,
            step_size=step_size, gamma=gamma,
        )
        _validate(self.settings)
        self.name = name
        self.initial_rate = initial_rate
        self.rate = initial_rate
        self.max_iter = max_iter
        self.power_t = power_t
        self.step_size = step_size
        self.gamma = gamma

    def at_epoch(self, epoch):
        """Rate of an epoch (changed only by ``"cosine"`` and ``"step"``).

        Parameters
        ----------
        epoch : int
            0-based epoch. The estimators count the epochs of the current
            ``fit`` (a warm-started fit starts a new period) and, for
            ``partial_fit``, every epoch since the first call.

        Returns
        -------
        rate : float
            The learning rate of that epoch.

        Raises
        ------
        TypeError, ValueError
            If ``epoch`` is not an int (a bool neither), or is negative.
        """
        check_count(epoch, "epoch")
        rule = _EPOCH_RULES.get(self.name)
        if rule is not None:
            self.rate = rule(self, epoch)
        return self.rate

    def at_step(self, samples_seen):
        """Rate after ``samples_seen`` training samples (changed only by ``"invscaling"``).

        The estimators ask it at the start of every epoch, as scikit-learn's
        MLP updates its rate after every epoch.

        Parameters
        ----------
        samples_seen : int
            Training samples seen so far.

        Returns
        -------
        rate : float
            The learning rate from now on.

        Raises
        ------
        TypeError, ValueError
            If ``samples_seen`` is not an int (a bool neither), or is negative.
        """
        check_count(samples_seen, "samples_seen")
        rule = _STEP_RULES.get(self.name)
        if rule is not None:
            self.rate = rule(self, samples_seen)
        return self.rate

    def rate_for(self, epoch, samples_seen):
        """The rate of an epoch that starts after ``samples_seen`` samples.

        What the training loop asks at the start of every epoch: each rule
        answers from the argument it depends on (:meth:`at_epoch`, then
        :meth:`at_step`), so the loop never needs to know which rule it runs.

        Parameters
        ----------
        epoch : int
            0-based epoch (see :meth:`at_epoch`).
        samples_seen : int
            Training samples seen so far (see :meth:`at_step`); a fit passes 0
            at its first epoch, so that it starts at the initial rate.

        Returns
        -------
        rate : float
            The learning rate of that epoch.

        Raises
        ------
        TypeError, ValueError
            If ``epoch`` or ``samples_seen`` is not an int (a bool neither), or
            is negative.
        """
        self.at_epoch(epoch)
        return self.at_step(samples_seen)

    def stalled_message(self):
        """Why the rate is 0 for good (a cosine period ended), or None.

        ``partial_fit`` warns with it: its updates no longer change the weights.

        Returns
        -------
        message : str or None
            The warning's text, or None while the rate can still change.
        """
        if self.name == "cosine" and self.rate == 0:
            return (
                f"lr_schedule='cosine' ended after max_iter={self.max_iter} "
                "epochs: its learning rate is now 0, and partial_fit no longer "
                "changes the weights. Stream with lr_schedule='constant', or "
                "set max_iter to the number of partial_fit calls planned."
            )
        return None

    def on_plateau(self):
        """React to a plateau of the monitored loss or score.

        The ``"adaptive"`` schedule divides its rate by 5 until it falls to
        1e-6; every other schedule stops at the first plateau.

        Returns
        -------
        stop : bool
            True if training should stop.
        """
        if self.name != "adaptive":
            return True
        if self.rate <= 1e-6:
            return True
        self.rate /= 5.0
        return False


def _validate(settings):
    """Raise an InvalidParameterError naming the first argument out of its range."""
    validate_parameter_constraints(_CONSTRAINTS, settings, caller_name="LRSchedule")
    for name, value in settings.items():
        if isinstance(value, (bool, np.bool_)):  # an Integral: it would mean 1 or 0
            raise InvalidParameterError(
                f"The {name!r} parameter of LRSchedule must not be a bool: True "
                f"and False would silently mean 1 and 0. Got {value!r} instead."
            )


def _cosine(schedule, epoch):
    angle = math.pi * min(epoch, schedule.max_iter) / schedule.max_iter
    return schedule.initial_rate * 0.5 * (1 + math.cos(angle))


def _step(schedule, epoch):
    return schedule.initial_rate * schedule.gamma ** (epoch // schedule.step_size)


def _invscaling(schedule, samples_seen):
    try:
        return schedule.initial_rate / (samples_seen + 1) ** schedule.power_t
    except OverflowError:  # a huge power_t: the rate underflows to 0
        return 0.0


#: The rules that change with the epoch, and with the samples seen.
_EPOCH_RULES = {"cosine": _cosine, "step": _step}
_STEP_RULES = {"invscaling": _invscaling}
