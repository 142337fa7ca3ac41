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

__all__ = ["LRSchedule", "SCHEDULES"]

SCHEDULES = ("constant", "invscaling", "adaptive", "cosine", "step")


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
    """

    def __init__(self, name, initial_rate, max_iter=200, power_t=0.5, step_size=50, gamma=0.1):
        self.settings = dict(
            name=name, initial_rate=initial_rate, max_iter=max_iter, power_t=power_t,
            step_size=step_size, gamma=gamma,
        )
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
        """
        if self.name == "cosine":
            self.rate = self.initial_rate * 0.5 * (1 + math.cos(math.pi * min(epoch, self.max_iter) / self.max_iter))
        elif self.name == "step":
            self.rate = self.initial_rate * self.gamma ** (epoch // self.step_size)
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
        """
        if self.name == "invscaling":
            try:
                self.rate = self.initial_rate / (samples_seen + 1) ** self.power_t
            except OverflowError:  # a huge power_t: the rate underflows to 0
                self.rate = 0.0
        return self.rate

    def on_plateau(self):
        """React to a plateau; return True if training should stop."""
        if self.name != "adaptive":
            return True
        if self.rate <= 1e-6:
            return True
        self.rate /= 5.0
        return False
