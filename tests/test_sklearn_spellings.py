"""scikit-learn's MLP spellings get errors that name our parameters; booleans are no ints."""

import inspect
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor

ESTIMATORS = [DeepMLPClassifier, DeepMLPRegressor]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "keyword, value, suggestion",
    [
        ("hidden_layer_sizes", (64, 32), "depth=2, width=[64, 32]"),
        ("hidden_layer_sizes", (50, 50), "depth=2, width=50"),
        ("hidden_layer_sizes", 10, "depth=1, width=10"),
        ("hidden_layer_sizes", (), "depth=0"),
        ("solver", "lbfgs", "optimizer='lbfgs'"),
        ("solver", "sgd", "optimizer='nesterov'"),
        # ... and that its learning_rate="auto" is ten times scikit-learn's step
        ("solver", "sgd", "pass learning_rate=0.001"),
        ("learning_rate_init", 0.01, "learning_rate=0.01"),
        ("nesterovs_momentum", False, "optimizer='momentum'"),
    ],
)
def test_sklearn_keywords_name_our_parameter(Estimator, keyword, value, suggestion):
    with pytest.raises(TypeError) as excinfo:
        Estimator(**{keyword: value})
    message = str(excinfo.value)
    assert f"{Estimator.__name__}.__init__() got scikit-learn's MLP keyword {keyword}" in message
    assert suggestion in message
    assert "coming_from_mlp" in message
    with pytest.raises(TypeError, match=f"set_params.*{keyword}.*{suggestion[:8]}"):
        Estimator().set_params(**{keyword: value})


def test_other_unknown_keywords_keep_pythons_error():
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        DeepMLPClassifier(colour="red")


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
def test_schedule_name_as_learning_rate_points_to_lr_schedule(schedule):
    X, y = np.random.default_rng(0).normal(size=(10, 2)), np.arange(10) % 2
    with pytest.raises(InvalidParameterError, match=f"lr_schedule='{schedule}'"):
        DeepMLPClassifier(learning_rate=schedule).fit(X, y)


@pytest.mark.parametrize(
    "params",
    [dict(depth=True), dict(width=False), dict(depth=2, width=[True, 4]),
     dict(width=np.array([True])), dict(depth=1, width=[np.True_]), dict(batch_size=True),
     dict(max_iter=True), dict(max_fun=True), dict(n_iter_no_change=True),
     dict(residual_block_size=True), dict(pretrain_epochs=True)],
    ids=repr,
)
def test_booleans_are_refused_as_ints(params):
    X, y = np.random.default_rng(0).normal(size=(10, 2)), np.arange(10) % 2
    name = next(iter(k for k in params if k != "depth" or len(params) == 1))
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        DeepMLPClassifier(**params).fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_the_keyword_check_keeps_the_estimator_api(Estimator):
    est = Estimator(depth=2, width=[8, 4], optimizer="lbfgs", max_fun=50)
    assert list(inspect.signature(Estimator).parameters) == list(
        inspect.signature(Estimator.__init__).parameters
    )[1:]
    params = est.get_params()
    assert params["depth"] == 2 and params["max_fun"] == 50
    assert clone(est).get_params() == params
    assert pickle.loads(pickle.dumps(est)).get_params() == params
    assert "max_fun=50" in repr(est)
    X, y = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30) % 2
    grid = GridSearchCV(Estimator(max_iter=3), {"depth": [0, 1]}, cv=2).fit(X, y)
    assert grid.best_params_["depth"] in (0, 1)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_sgd_with_momentum_warns_that_it_is_ignored(Estimator, method):
    # scikit-learn's solver="sgd" uses momentum; optimizer="sgd" here is plain SGD
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    kwargs = {"classes": [0, 1]} if method == "partial_fit" and Estimator is DeepMLPClassifier else {}
    est = Estimator(depth=1, width=3, optimizer="sgd", momentum=0.9, max_iter=2)
    with pytest.warns(UserWarning, match=r"optimizer='sgd' is plain gradient descent: "
                      r"momentum=0.9 is ignored.*optimizer='nesterov'.*coming_from_mlp") as record:
        getattr(est, method)(X, y, **kwargs)
    assert record[0].filename == __file__  # points at the user's call


@pytest.mark.parametrize(
    "params", [dict(optimizer="sgd"), dict(optimizer="sgd", momentum=0),
               dict(optimizer="nesterov", momentum=0.9), dict(optimizer="adam")],
)
def test_no_momentum_warning_when_momentum_is_used_or_unset(params):
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*momentum.*ignored")
        DeepMLPClassifier(depth=1, width=3, max_iter=2, **params).fit(X, y)


@pytest.mark.parametrize(
    "keyword, value, replacement",
    [("solver", "l-bfgs", "use optimizer (scikit-learn's solvers 'lbfgs', 'sgd' and 'adam'"),
     ("solver", "newton", "use optimizer (scikit-learn's solvers"),
     ("hidden_layer_sizes", (50.5,), "use depth (the number of hidden layers) and width"),
     ("hidden_layer_sizes", (10, 0), "use depth (the number of hidden layers) and width"),
     ("hidden_layer_sizes", (64, -1), "use depth (the number of hidden layers) and width")],
)
def test_sklearn_keywords_with_untranslatable_values_name_the_parameter_only(
        keyword, value, replacement):
    # a value scikit-learn refuses has no translation: no optimizer='l-bfgs' or width=[10, 0]
    with pytest.raises(TypeError) as excinfo:
        DeepMLPClassifier(**{keyword: value})
    message = str(excinfo.value)
    assert replacement in message
    assert "optimizer='l-bfgs'" not in message and "optimizer='newton'" not in message
    assert "width=" not in message and "coming_from_mlp" in message
