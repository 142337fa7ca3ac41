"""Shared pytest configuration.

Hypothesis profiles (select one with the ``HYPOTHESIS_PROFILE`` environment variable):

* ``ci`` (the default): few examples, no deadline, derandomized, so that the whole
  suite stays fast and a CI failure reproduces exactly;
* ``dev``: more examples, random exploration (``HYPOTHESIS_PROFILE=dev pytest``);
* ``thorough``: many examples, for a long bug hunt before a release.
"""

import os

import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is in the `test` extra; tests that need it skip
    settings = None

if settings is not None:
    _common = dict(
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )
    settings.register_profile("ci", max_examples=25, derandomize=True, **_common)
    settings.register_profile("dev", max_examples=100, **_common)
    settings.register_profile("thorough", max_examples=1000, **_common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    """Run BLAS single-threaded in the test process.

    The test networks are tiny: for them OpenBLAS's thread hand-offs cost more than
    the products, and on a busy 2-core machine two spinning BLAS threads can slow a
    small fit a hundredfold. Worker processes (joblib, Dask) set their own limits.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl is in the `test` extra
        return
    config._sk_deepnet_blas_limits = threadpool_limits(limits=1, user_api="blas")


@pytest.fixture(scope="module")
def digits():
    """Standardized digits with a stratified 25 % test split:
    ``(X_train, X_test, y_train, y_test)``. (test_pretraining.py defines its own
    ``digits``, in [0, 1] and standardized.)"""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test
