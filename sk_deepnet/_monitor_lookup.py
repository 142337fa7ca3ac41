"""Find the fitted monitor callback of an estimator, for scorers and displays."""

import warnings

from sklearn.utils.validation import check_is_fitted


#: Fitted attributes of wrappers that hold several fitted models (Bagging,
#: OneVsRest, Voting, Stacking, MultiOutput; CalibratedClassifierCV): a scorer
#: cannot tell which one to read. Looked for before ``estimator_``, which
#: Bagging and AdaBoost hold unfitted.
_MODEL_LISTS = ("estimators_", "calibrated_classifiers_")

#: Fitted attributes of wrappers that hold one fitted model: a search's
#: refitted best model, a wrapper's fitted estimator, TransformedTargetRegressor's
#: regressor (which the advice to scale y recommends).
_SINGLE_MODELS = ("best_estimator_", "estimator_", "regressor_")

#: Where a scorer looks, for the error messages.
_WHERE = (
    "an sk_deepnet estimator, the last step of a pipeline, a fitted search's "
    "best_estimator_ (refit=True), a wrapper's single fitted estimator_ or a "
    "TransformedTargetRegressor's regressor_"
)


def _is_pipeline(estimator):
    return hasattr(estimator, "steps") and hasattr(estimator, "named_steps")


def _fitted_model(estimator, purpose):
    """The model inside ``estimator`` that holds the monitor.

    Goes through a Pipeline's last step, a fitted search's ``best_estimator_``,
    a wrapper's single ``estimator_`` and a TransformedTargetRegressor's
    ``regressor_``; refuses a wrapper of several models.
    """
    seen, visited = estimator, set()
    while id(seen) not in visited:  # an estimator_ that is itself would loop
        visited.add(id(seen))
        if _is_pipeline(seen):
            seen = seen.steps[-1][1]
            continue
        several = [name for name in _MODEL_LISTS if hasattr(seen, name)]
        if several:
            raise ValueError(
                f"{type(seen).__name__} holds several fitted models (in {several[0]}), "
                f"and there is no choosing among them {purpose}: the monitor is read "
                f"from {_WHERE}. Pass the sk_deepnet estimator itself, or read the "
                f"monitor of each model in {several[0]}."
            )
        inner = next(
            (getattr(seen, name) for name in _SINGLE_MODELS
             if hasattr(getattr(seen, name, None), "fit")),
            None,
        )
        if inner is None:
            return seen
        seen = inner
    return seen


def find_fitted_monitor(estimator, attribute, callback_name, what, purpose):
    """The fitted callback exposed as ``attribute`` by the model inside ``estimator``.

    The model is ``estimator`` itself, a pipeline's last step, a fitted
    search's ``best_estimator_`` or a wrapper's single ``estimator_`` (and so
    on, nested).

    Parameters
    ----------
    estimator : estimator, Pipeline or meta-estimator
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
    seen = _fitted_model(estimator, purpose)
    if hasattr(seen, "fit"):  # not "passthrough" or None
        check_is_fitted(seen)  # NotFittedError before any advice about callbacks
    monitor = getattr(seen, attribute, None)
    if monitor is None and not hasattr(seen, "callbacks"):  # not an sk_deepnet estimator
        raise ValueError(
            f"{type(seen).__name__} has no fitted {what} and is not an sk_deepnet "
            f"estimator: the {what} is read, {purpose}, from {_WHERE}."
        )
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
