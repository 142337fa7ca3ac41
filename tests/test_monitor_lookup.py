"""The monitor scorers read through searches and single-model wrappers, and say why not
through wrappers of several models (tester s4t2 #2)."""

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import make_classification
from sklearn.ensemble import BaggingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import FixedThresholdClassifier, GridSearchCV, RandomizedSearchCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet.callbacks import (
    CurvatureMonitor,
    GradientMonitor,
    make_gradient_health_scorer,
    never_saddle_scorer,
    vanishing_ratio_scorer,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, y = make_classification(80, 5, random_state=0)


def _mlp(callback=None):
    return DeepMLPClassifier(depth=2, width=4, max_iter=2, random_state=0,
                             callbacks=[callback or GradientMonitor(warn=False)])


def _ratio(model):
    return np.log10(model.gradient_monitor_.vanishing_ratio_)


@pytest.mark.parametrize("Search", [GridSearchCV, RandomizedSearchCV])
def test_scorers_read_a_fitted_searchs_best_estimator(Search):
    grid = {"depth": [1, 2]}
    search = (Search(_mlp(), grid, cv=2) if Search is GridSearchCV
              else Search(_mlp(), grid, n_iter=2, cv=2, random_state=0)).fit(X, y)
    assert vanishing_ratio_scorer(search, X, y) == pytest.approx(_ratio(search.best_estimator_))
    # A search over a pipeline, inside a pipeline: nested lookups.
    inner = GridSearchCV(make_pipeline(StandardScaler(), _mlp()),
                         {"deepmlpclassifier__width": [3, 4]}, cv=2)
    outer = make_pipeline(StandardScaler(), inner).fit(X, y)
    expected = _ratio(outer[-1].best_estimator_[-1])
    assert vanishing_ratio_scorer(outer, X, y) == pytest.approx(expected)
    expected = float(outer[-1].best_estimator_[-1].gradient_monitor_.diagnosis_ == "healthy")
    assert make_gradient_health_scorer("healthy")(outer, X, y) == expected


def test_the_curvature_scorer_shares_the_lookup():
    monitor = CurvatureMonitor(record_every=1, n_eigenvalues=2, random_state=0)
    search = GridSearchCV(_mlp(monitor), {"width": [4]}, cv=2).fit(X, y)
    expected = float(search.best_estimator_.curvature_monitor_.saddle_fraction_ == 0)
    assert never_saddle_scorer(search, X, y) == expected


def test_scorers_read_a_wrappers_single_fitted_estimator():
    wrapper = FixedThresholdClassifier(_mlp(), threshold=0.3).fit(X, y)
    assert vanishing_ratio_scorer(wrapper, X, y) == pytest.approx(_ratio(wrapper.estimator_))


@pytest.mark.parametrize("wrapper, attribute", [
    (CalibratedClassifierCV(_mlp(), cv=2), "calibrated_classifiers_"),
    (BaggingClassifier(_mlp(), n_estimators=2, random_state=0), "estimators_"),
    (OneVsRestClassifier(_mlp()), "estimators_"),
])
def test_a_wrapper_of_several_models_is_named_not_told_to_add_a_monitor(wrapper, attribute):
    wrapper.fit(X, y)
    name = type(wrapper).__name__
    with pytest.raises(ValueError, match=(
        f"^{name} holds several fitted models \\(in {attribute}\\), and there is no "
        "choosing among them to score its gradient health"
    )) as info:
        vanishing_ratio_scorer(wrapper, X, y)
    assert "pass callbacks" not in str(info.value)


def test_a_search_without_refit_or_not_fitted():
    search = GridSearchCV(_mlp(), {"depth": [1]}, cv=2, refit=False)
    with pytest.raises(NotFittedError):
        vanishing_ratio_scorer(search, X, y)
    search.fit(X, y)
    with pytest.raises(ValueError, match=(
        "GridSearchCV has no fitted gradient monitor and is not an sk_deepnet estimator: "
        "the gradient monitor is read, to score its gradient health, from .*best_estimator_ "
        r"\(refit=True\)"
    )):
        vanishing_ratio_scorer(search, X, y)


def test_the_display_reads_a_searchs_best_estimator():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from sk_deepnet.plotting import GradientFlowDisplay

    search = GridSearchCV(_mlp(), {"width": [4]}, cv=2).fit(X, y)
    display = GradientFlowDisplay.from_estimator(search)
    assert display.grad_norms.shape[1] == len(search.best_estimator_.coefs_)
    matplotlib.pyplot.close("all")


def test_scorers_read_a_transformed_target_regressors_regressor():
    # The advice to scale y recommends TransformedTargetRegressor.
    reg = TransformedTargetRegressor(
        DeepMLPRegressor(depth=2, width=4, max_iter=2, random_state=0,
                         callbacks=[GradientMonitor(warn=False)]),
        transformer=StandardScaler(),
    ).fit(X, 100 * y)
    assert vanishing_ratio_scorer(reg, X, y) == pytest.approx(_ratio(reg.regressor_))


def test_an_estimator_that_holds_itself_ends_the_lookup():
    class SelfWrapper(FixedThresholdClassifier):
        pass

    wrapper = SelfWrapper(_mlp()).fit(X, y)
    wrapper.estimator_ = wrapper  # a cycle: the lookup must stop, not loop
    with pytest.raises(ValueError, match="SelfWrapper has no fitted gradient monitor"):
        vanishing_ratio_scorer(wrapper, X, y)
