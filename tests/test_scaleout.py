"""Scale-out: hyperparameter searches through joblib, on local processes and on a
``dask.distributed`` cluster, give the serial results without oversubscribing BLAS.

See doc/scaling.rst for pointing the same code at a real cluster.
"""

import logging
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sk_deepnet import DeepMLPClassifier

threadpoolctl = pytest.importorskip("threadpoolctl")

X, Y = make_classification(
    n_samples=240, n_features=10, n_informative=6, n_classes=3, random_state=0
)
X = X.astype(np.float32)
GRID = {"depth": [1, 3], "optimizer": ["sgd", "adam"]}
CV = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)


def blas_threads(estimator, X, y):
    """A 'scorer' that reports the BLAS threads of the process that scores."""
    info = threadpoolctl.threadpool_info()
    return max((lib["num_threads"] for lib in info if lib["user_api"] == "blas"), default=0)


def make_search(n_jobs=None):
    estimator = DeepMLPClassifier(width=16, max_iter=15, learning_rate=0.01, random_state=0)
    return GridSearchCV(
        estimator,
        GRID,
        cv=CV,
        scoring={"accuracy": "accuracy", "blas_threads": blas_threads},
        refit="accuracy",
        n_jobs=n_jobs,
        error_score="raise",
    )


@pytest.fixture(scope="module")
def serial_search():
    # one BLAS thread, as in the workers: the very same arithmetic
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make_search().fit(X, Y)


def _assert_same_search(search, serial):
    assert search.best_params_ == serial.best_params_
    assert_array_equal(
        search.cv_results_["mean_test_accuracy"], serial.cv_results_["mean_test_accuracy"]
    )
    assert_array_equal(search.best_estimator_.predict(X), serial.best_estimator_.predict(X))


def test_the_grid_has_a_clear_winner(serial_search):
    """Guard: the comparison below is meaningful only if the scores differ."""
    scores = serial_search.cv_results_["mean_test_accuracy"]
    assert len(set(np.round(scores, 6))) > 1


def test_grid_search_n_jobs_limits_blas_threads_per_worker(serial_search, monkeypatch):
    """joblib's loky backend gives each of the n_jobs workers cpu_count // n_jobs
    BLAS threads (its inner_max_num_threads): no oversubscription."""
    from joblib._parallel_backends import LokyBackend

    for var in LokyBackend.MAX_NUM_THREADS_VARS:  # a variable set here would win
        monkeypatch.delenv(var, raising=False)
    n_jobs = 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = make_search(n_jobs=n_jobs).fit(X, Y)
    _assert_same_search(search, serial_search)
    per_split = np.array(
        [search.cv_results_[f"split{i}_test_blas_threads"] for i in range(CV.n_splits)]
    )
    expected = max(joblib.cpu_count() // n_jobs, 1)
    assert (per_split == expected).all(), per_split
    assert per_split.max() * n_jobs <= max(joblib.cpu_count(), n_jobs)


def test_grid_search_on_a_local_dask_cluster(serial_search):
    try:
        from dask import distributed
    except ImportError:
        pytest.skip("dask.distributed is not installed (pip install 'sk-deepnet[dask]')")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster, distributed.Client(cluster) as client:
        with joblib.parallel_backend("dask"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search = make_search(n_jobs=-1).fit(X, Y)
        # every fit ran on a worker, none in this process
        workers = client.run(lambda: "sk_deepnet" in __import__("sys").modules)
        assert len(workers) == 2 and all(workers.values())
    _assert_same_search(search, serial_search)
    # dask's nanny starts workers with OMP/OPENBLAS/MKL_NUM_THREADS=1
    assert (search.cv_results_["mean_test_blas_threads"] == 1).all()
