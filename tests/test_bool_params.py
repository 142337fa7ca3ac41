"""A bool where an int parameter is expected is refused (issue 17 item 12).

``bool`` is an ``Integral``: without the check ``depth=True`` and
``batch_size=True`` trained as 1, and ``BernoulliRBM(n_components=True)``
crashed inside numpy.
"""

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet.callbacks import CurvatureMonitor, GradientMonitor
from sk_deepnet.pretraining import BernoulliRBM, GaussianBernoulliRBM

X = np.random.default_rng(0).uniform(size=(20, 3))
y = np.arange(20) % 2


@pytest.mark.parametrize("estimator_class", [DeepMLPClassifier, DeepMLPRegressor])
@pytest.mark.parametrize("name, params", [
    ("depth", {"depth": True}), ("batch_size", {"batch_size": True}),
    ("max_iter", {"max_iter": True}), ("width", {"width": [3, True], "depth": 2}),
    ("n_iter_no_change", {"n_iter_no_change": True}),
    ("residual_block_size", {"residual": True, "depth": 3, "residual_block_size": True}),
])
def test_estimators_refuse_bools_for_ints(estimator_class, name, params):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter .* must not be a bool"):
        estimator_class(**params).fit(X, y)


@pytest.mark.parametrize("rbm_class", [BernoulliRBM, GaussianBernoulliRBM])
@pytest.mark.parametrize("name", ["n_components", "batch_size", "n_iter", "cd_steps"])
def test_rbms_refuse_bools_for_ints(rbm_class, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter .* must not be a bool"):
        rbm_class(**{name: True}).fit(X)


@pytest.mark.parametrize("callback", [GradientMonitor(record_every=True),
                                      CurvatureMonitor(record_every=True)])
def test_callbacks_refuse_bools_for_ints(callback):
    with pytest.raises(InvalidParameterError, match="'record_every' parameter .* must not be a bool"):
        DeepMLPClassifier(max_iter=1, callbacks=[callback]).fit(X, y)


def test_boolean_parameters_and_numpy_ints_still_work():
    clf = DeepMLPClassifier(depth=np.int64(1), width=np.array([3]), max_iter=1,
                            early_stopping=False, shuffle=True, warm_start=False)
    with pytest.warns(Warning):  # ConvergenceWarning: one epoch
        clf.fit(X, y)
    assert clf.n_layers_ == 3
