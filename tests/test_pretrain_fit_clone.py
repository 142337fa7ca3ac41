"""``clone`` of an estimator that ``pretrain_fit`` pretrained drops its weights, and warns.

A clone is unfitted (scikit-learn's contract); the fits of cross_val_score and
GridSearchCV are fits of clones, which would silently start from random weights
where ``fit`` of the estimator itself starts from the pretrained ones.
"""

import copy
import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet.exceptions import PretrainingWarning

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

_PARAMS = dict(depth=2, width=6, activation="sigmoid", max_iter=2, pretrain_epochs=1,
               random_state=0)


def _data():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 5)
    return X, (X[:, 0] > 0.5).astype(int)


@pytest.mark.parametrize("Estimator", [DeepMLPClassifier, DeepMLPRegressor])
def test_clone_of_a_pretrain_fitted_estimator_warns_and_drops_the_weights(Estimator):
    X, _ = _data()
    est = Estimator(**_PARAMS).pretrain_fit(X)
    with pytest.warns(PretrainingWarning, match="pretrain='rbm'") as record:
        copy_ = clone(est)
    assert Estimator.__name__ in str(record[0].message)
    assert record[0].filename == __file__  # points at the caller of clone
    assert not hasattr(copy_, "_pretrained_stack")  # the normal, unfitted clone
    assert copy_.get_params() == est.get_params()
    assert hasattr(est, "_pretrained_stack")  # the original keeps them


@pytest.mark.parametrize("fitted", [False, True])
def test_clone_without_pretrain_fit_warns_nothing(fitted):
    X, y = _data()
    est = DeepMLPClassifier(**{**_PARAMS, "pretrain": "rbm"})  # pretrains in each fit
    if fitted:
        est.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=2 on purpose
        clone(est)
        clone(make_pipeline(FunctionTransformer(), est))
        cross_val_score(est, X, y, cv=2)


def test_cross_val_score_and_grid_search_warn_after_pretrain_fit():
    X, y = _data()
    est = DeepMLPClassifier(**_PARAMS).pretrain_fit(X)
    with pytest.warns(PretrainingWarning, match="clone drops the weights") as record:
        cross_val_score(est, X, y, cv=3)
    # Once per pretraining, not once a fold (each fold's warnings context is fresh).
    assert sum(w.category is PretrainingWarning for w in record) == 1
    est.pretrain_fit(X)  # new weights: a new warning
    with pytest.warns(PretrainingWarning, match="clone drops the weights"):
        GridSearchCV(make_pipeline(FunctionTransformer(), est),
                     {"deepmlpclassifier__width": [6]}, cv=2).fit(X, y)


def test_deepcopy_and_pickle_keep_the_pretrained_weights_silently():
    X, _ = _data()
    est = DeepMLPClassifier(**_PARAMS).pretrain_fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for copied in (copy.deepcopy(est), pickle.loads(pickle.dumps(est))):
            layers = est._pretrained_stack.layers
            assert len(copied._pretrained_stack.layers) == len(layers) == 2
            for layer, layer_copy in zip(layers, copied._pretrained_stack.layers):
                for array, array_copy in zip(layer, layer_copy):
                    assert_array_equal(array_copy, array)
