"""A missing monitor attribute says how to add the monitor (issue 18)."""

import warnings

import numpy as np
import pytest

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet.callbacks import CurvatureMonitor, GradientMonitor

X = np.random.default_rng(0).normal(size=(30, 3))
y = np.arange(30) % 2


@pytest.mark.parametrize("estimator_class", [DeepMLPClassifier, DeepMLPRegressor])
@pytest.mark.parametrize("attribute, callback", [
    ("gradient_monitor_", GradientMonitor), ("curvature_monitor_", CurvatureMonitor),
])
def test_missing_monitor_attribute_says_how_to_add_it(estimator_class, attribute, callback):
    name = callback.__name__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = estimator_class(depth=1, width=3, max_iter=1).fit(X, y)
    with pytest.raises(AttributeError, match=rf"it was not given a {name}\. .*callbacks=\[{name}\(\)\]"):
        getattr(fitted, attribute)
    assert not hasattr(fitted, attribute)
    unfitted = estimator_class(callbacks=[callback()])
    with pytest.raises(AttributeError, match=f"not fitted yet: fit it, then read {attribute}"):
        getattr(unfitted, attribute)
    with pytest.raises(AttributeError, match="object has no attribute 'other_'"):
        fitted.other_
    # The monitor added to a fitted estimator: it said "not fitted yet".
    fitted.set_params(callbacks=[callback()])
    with pytest.raises(AttributeError, match=f"has no {attribute}: it was fitted before "
                                             f"callbacks held a {name}: fit it, then read "):
        getattr(fitted, attribute)
