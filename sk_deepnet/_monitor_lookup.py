"""Find the fitted monitor callback of an estimator, for scorers and displays."""

import warnings

from sklearn.utils.validation import check_is_fitted


def find_fitted_monitor(estimator, attribute, callback_name, what, purpose):
    """The fitted callback exposed as ``attribute`` by ``estimator`` (or a pipeline's last step).

    Parameters
    ----------
    estimator : estimator or Pipeline
    attribute : str
        The estimator attribute, e.g. ``"gradient_monitor_"``.
    callback_name : str
        The callback's class name, for the error message.
    what : str
        What is missing, e.g. ``"gradient monitor"``.
    purpose : str
        Why it is looked for, ending the error message.

    Returns
    -------
    monitor : Callback
    """
    seen = estimator
    while hasattr(seen, "steps") and hasattr(seen, "named_steps"):  # a Pipeline
        seen = seen.steps[-1][1]
    if hasattr(seen, "fit"):  # not "passthrough" or None
        check_is_fitted(seen)  # NotFittedError before any advice about callbacks
    monitor = getattr(seen, attribute, None)
    if monitor is None:
        raise ValueError(
            f"{type(seen).__name__} has no fitted {what}: pass "
            f"callbacks=[{callback_name}()] to the sk_deepnet estimator (the last "
            f"step of a pipeline) {purpose}."
        )
    return monitor


class MonitorScorer:
    """Scorer ``scorer(estimator, X, y) -> float`` reading a fitted monitor.

    Subclasses set ``metrics`` (name -> function of the monitor) and
    ``find`` (estimator -> monitor).
    """

    metrics = {}

    def __init__(self, metric):
        if not isinstance(metric, str) or metric not in self.metrics:
            raise ValueError(
                f"metric must be one of {sorted(self.metrics)}; got {metric!r}."
            )
        self.metric = metric

    def __call__(self, estimator, X=None, y=None, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN medians
            return self.metrics[self.metric](self.find(estimator))
