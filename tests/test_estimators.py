"""Behaviour of DeepMLPClassifier / DeepMLPRegressor as scikit-learn estimators."""

import pickle
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import (
    load_diabetes,
    load_digits,
    make_blobs,
    make_classification,
    make_friedman1,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_html_repr

import sk_deepnet._estimators
from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor, DivergenceWarning
from sk_deepnet.callbacks import Callback, GradientMonitor
from sk_deepnet.optimizers import OPTIMIZERS, SGD, Adam

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def small_classification():
    X, y = make_classification(
        200, 8, n_informative=5, n_classes=3, random_state=0
    )
    return StandardScaler().fit_transform(X), y


# ------------------------------------------------------------------ "done when"
def test_digits_defaults_reach_097(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    model = make_pipeline(StandardScaler(), DeepMLPClassifier(random_state=0))
    assert model.fit(X_train, y_train).score(X_test, y_test) >= 0.97


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_trains_digits_with_auto_learning_rate(digits_split, optimizer):
    X_train, X_test, y_train, y_test = digits_split
    model = make_pipeline(
        StandardScaler(), DeepMLPClassifier(optimizer=optimizer, random_state=0)
    )
    assert model.fit(X_train, y_train).score(X_test, y_test) >= 0.9


def test_friedman1_regression_r2():
    X, y = make_friedman1(3000, noise=0.5, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    # Two hidden layers: the default three overfit this 10-feature problem (0.946).
    model = make_pipeline(StandardScaler(), DeepMLPRegressor(depth=2, random_state=0))
    assert model.fit(X_train, y_train).score(X_test, y_test) >= 0.95


# -------------------------------------------------------------- target types
def test_binary_multiclass_multilabel_shapes(small_classification):
    X, y = small_classification
    binary = DeepMLPClassifier(depth=2, width=16, max_iter=30, random_state=0)
    binary.fit(X, np.where(y == 0, "a", "b"))
    assert binary.predict_proba(X).shape == (len(X), 2)
    assert set(binary.predict(X)) <= {"a", "b"}
    assert binary.n_outputs_ == 1 and binary.out_activation_ == "logistic"

    multi = DeepMLPClassifier(depth=2, width=16, max_iter=30, random_state=0).fit(X, y)
    proba = multi.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert multi.out_activation_ == "softmax"
    np.testing.assert_allclose(
        multi.predict_log_proba(X), np.log(proba), rtol=1e-6, atol=1e-6
    )

    Y = np.stack([y == 0, y == 1, y >= 1], axis=1).astype(int)
    multilabel = DeepMLPClassifier(depth=2, width=16, max_iter=200, random_state=0)
    multilabel.fit(X, Y)
    assert multilabel.predict(X).shape == Y.shape
    assert multilabel.predict_proba(X).shape == Y.shape
    assert (multilabel.predict(X) == Y).mean() > 0.8


def test_multioutput_regression():
    X, y = make_friedman1(300, random_state=0)
    Y = np.column_stack([y, -2 * y])
    reg = DeepMLPRegressor(depth=2, width=32, max_iter=50, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (300, 2)
    assert reg.n_outputs_ == 2


# ---------------------------------------------------------------- input types
def test_sparse_input_matches_dense(small_classification):
    X, y = small_classification
    X = np.where(np.abs(X) < 0.5, 0, X)
    dense = DeepMLPClassifier(depth=2, width=16, max_iter=10, random_state=0).fit(X, y)
    for fmt in (sp.csr_matrix, sp.csc_matrix, sp.csr_array):
        sparse = DeepMLPClassifier(depth=2, width=16, max_iter=10, random_state=0)
        sparse.fit(fmt(X), y)
        np.testing.assert_allclose(
            sparse.predict_proba(fmt(X)), dense.predict_proba(X), rtol=1e-4, atol=1e-5
        )


def test_float32_input_is_kept_and_predicted_in_float32(small_classification):
    X, y = small_classification
    X32 = X.astype(np.float32)
    clf = DeepMLPClassifier(depth=2, width=16, max_iter=5, random_state=0).fit(X32, y)
    assert clf.coefs_[0].dtype == np.float32
    assert clf.predict_proba(X32).dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float64  # float64 X predicted in float64
    clf64 = clone(clf).set_params(dtype="float64").fit(X32, y)
    assert clf64.coefs_[0].dtype == np.float64


def test_pandas_feature_names(small_classification):
    pd = pytest.importorskip("pandas")
    X, y = small_classification
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=5, random_state=0).fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, frame.columns)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


# ------------------------------------------------------------ reproducibility
def test_same_random_state_same_model(small_classification):
    X, y = small_classification
    params = dict(depth=3, width=16, max_iter=10, dropout=0.2, random_state=7)
    a = DeepMLPClassifier(**params).fit(X, y)
    b = DeepMLPClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(a._network.params, b._network.params)
    c = DeepMLPClassifier(**{**params, "random_state": 8}).fit(X, y)
    assert not np.array_equal(a._network.params, c._network.params)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_round_trip_identical_predictions(small_classification, tmp_path, dump):
    X, y = small_classification
    clf = DeepMLPClassifier(depth=3, width=16, max_iter=10, random_state=0).fit(X, y)
    path = tmp_path / "model.pkl"
    if dump == "pickle":
        path.write_bytes(pickle.dumps(clf))
        loaded = pickle.loads(path.read_bytes())
    else:
        joblib.dump(clf, path)
        loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # The reloaded model's coefs_ are views of its own flat vector again.
    loaded.partial_fit(X, y)
    assert np.shares_memory(loaded.coefs_[0], loaded._network.params)
    assert not np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_clone_pipeline_and_grid_search_parallel(small_classification):
    X, y = small_classification
    search = GridSearchCV(
        make_pipeline(StandardScaler(), DeepMLPClassifier(width=16, max_iter=200, random_state=0)),
        {"deepmlpclassifier__depth": [1, 2], "deepmlpclassifier__optimizer": ["sgd", "adam"]},
        cv=2,
        n_jobs=2,
    )
    search.fit(X, y)
    assert set(search.best_params_) == {"deepmlpclassifier__depth", "deepmlpclassifier__optimizer"}
    # The refitted 16-unit network learns (chance is 1/3): 0.765 on its training
    # set with init="auto" (scikit-learn's initialization), 0.825 with He.
    assert search.score(X, y) > 0.7


def test_grid_search_over_callback_lists(small_classification):
    X, y = small_classification
    candidates = [[GradientMonitor(warn=False)], [GradientMonitor(record_every=3, warn=False)]]
    search = GridSearchCV(
        DeepMLPClassifier(depth=2, width=8, max_iter=3, random_state=0),
        {"callbacks": candidates}, cv=2,
    ).fit(X, y)
    assert search.best_params_["callbacks"] in candidates
    assert [p["callbacks"][0].record_every for p in search.cv_results_["params"]] == ["epoch", 3]
    best_monitor = search.best_estimator_.gradient_monitor_
    assert best_monitor.record_every == search.best_params_["callbacks"][0].record_every


def test_assigning_coefs_and_intercepts_changes_the_model_as_in_sklearn(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(depth=2, width=8, max_iter=3, random_state=0)
    assert not hasattr(clf, "coefs_")
    with pytest.raises(AttributeError, match="once the model is fitted"):
        clf.coefs_ = []
    clf.fit(X, y)
    shapes = [c.shape for c in clf.coefs_]
    clf.coefs_ = [np.zeros(shape) for shape in shapes]  # a new list, as one would in sklearn
    clf.intercepts_ = [np.zeros(b.shape) for b in clf.intercepts_]
    np.testing.assert_allclose(clf.predict_proba(X), 1 / 3)  # zero weights: uniform
    assert all(np.array_equal(c, np.zeros(s)) for c, s in zip(clf.coefs_, shapes))
    with pytest.raises(ValueError, match=r"coefs_ must be 3 array\(s\) of shape\(s\)"):
        clf.coefs_ = [np.zeros((2, 2))]
    clf.coefs_[0][:] = 1.0  # the views edit the model in place
    assert clf._network.coefs[0].min() == 1.0
    clf.coefs_[-1] = np.full(shapes[-1], 2.0)  # so does item assignment, as in sklearn
    assert clf._network.coefs[-1].min() == 2.0
    clf.intercepts_[1:] = [np.ones(8), np.ones(3)]
    assert clf._network.intercepts[2].min() == 1.0
    with pytest.raises(ValueError, match=r"coefs_\[1\] must be 1 array"):
        clf.coefs_[1] = np.zeros(3)
    assert clf.intercepts_[0].dtype == np.float32  # assigned float64, kept in dtype
    assert not hasattr(clf, "running_means_")
    bn = DeepMLPClassifier(depth=2, width=8, max_iter=2, normalization="batch",
                           random_state=0).fit(X, y)
    assert [m.shape for m in bn.running_means_] == [(8,), (8,)]


# ------------------------------------------------------------ incremental fit
def test_partial_fit_requires_classes_and_rejects_unseen(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(depth=2, width=16, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.n_iter_ == 1 and list(clf.classes_) == [0, 1, 2]
    losses = [clf.partial_fit(X, y).loss_ for _ in range(20)]
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X, np.where(y == 2, 5, y))
    assert clf.n_iter_ == 21 and clf.t_ == len(X[y < 2]) + 20 * len(X)


def test_partial_fit_refuses_other_classes_on_later_calls(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    params = clf._network.params.copy()
    clf.partial_fit(X, y, classes=[2, 1, 0])  # the same classes, in any order
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2, 3\] are not the classes"):
        clf.partial_fit(X, y, classes=np.arange(4))
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] are not the classes"):
        clf.partial_fit(X, y, classes=[0, 1])
    assert clf.n_iter_ == 2 and list(clf.classes_) == [0, 1, 2]
    assert not np.array_equal(params, clf._network.params)


def test_partial_fit_of_a_multilabel_matrix_with_classes_keeps_sigmoid_outputs():
    X, Y = make_multilabel_classification(100, 6, n_classes=4, random_state=0)
    clf = DeepMLPClassifier(depth=1, width=8, random_state=0)
    clf.partial_fit(X, Y, classes=[0, 1, 2, 3])  # the column indices, as scikit-learn
    assert clf.out_activation_ == "logistic"
    assert list(clf.classes_) == [0, 1, 2, 3]
    assert clf.predict(X[:3]).shape == (3, 4)
    clf.partial_fit(X, Y)
    with pytest.raises(ValueError, match="column indices"):
        DeepMLPClassifier(depth=1, width=8).partial_fit(X, Y, classes=["a", "b", "c", "d"])


@pytest.mark.parametrize(
    "classes, got",
    [([[0, 1, 2]], r"list of shape \(1, 3\)"), ([[0], [1], [2]], r"list of shape \(3, 1\)"),
     ([[0], [1, 2]], "list of ragged"), (np.array([]), r"ndarray of shape \(0,\)"),
     (2, r"int of shape \(\)")],
)
def test_partial_fit_refuses_classes_that_are_not_1d(small_classification, classes, got):
    # scikit-learn's MLP flattens [[0, 1, 2]] and fails on [[0], [1], [2]]
    # with "unhashable type: 'list'".
    _refused_on_first_and_later_calls(
        small_classification, classes, f"classes must be a non-empty 1-D.*got a {got}"
    )


def _refused_on_first_and_later_calls(data, classes, message):
    """partial_fit refuses ``classes`` with ``message``, on a first call (no
    model is made) and on a later one (the model is unchanged)."""
    X, y = data
    clf = DeepMLPClassifier(depth=1, width=8, random_state=0)
    with pytest.raises(ValueError, match=message):
        clf.partial_fit(X, y, classes=classes)
    assert not hasattr(clf, "classes_")
    clf.partial_fit(X, y, classes=[0, 1, 2])
    params = clf._network.params.copy()
    with pytest.raises(ValueError, match=message):
        clf.partial_fit(X, y, classes=classes)
    assert clf.n_iter_ == 1 and np.array_equal(params, clf._network.params)


@pytest.mark.parametrize(
    "classes", [[0, 1, np.nan], np.array([0.0, 1.0, np.nan]), [0, 1, None], [np.nan, np.nan]]
)
def test_partial_fit_names_classes_when_they_hold_nan(small_classification, classes):
    # A float NaN was reported as "Input y contains NaN." (y had none).
    _refused_on_first_and_later_calls(
        small_classification, classes, r"^Input classes contains NaN or None\.$"
    )


@pytest.mark.parametrize("method", ["partial_fit", "warm_start"])
def test_continued_multilabel_fit_refuses_another_number_of_columns(method):
    X, Y = make_multilabel_classification(60, 5, n_classes=3, random_state=0)
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=2, random_state=0,
                            warm_start=method == "warm_start")
    fit = clf.partial_fit if method == "partial_fit" else clf.fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit(X, Y)
        with pytest.raises(ValueError, match="matrix of 4 columns, but the model was "
                                             "fitted on 3 label columns"):
            fit(X, np.c_[Y, Y[:, 0]])
    assert list(clf.classes_) == [0, 1, 2] and clf.predict(X).shape == (60, 3)


@pytest.mark.parametrize("invalid", [{"alpha": -1.0}, {"batch_size": 0}, {"depth": -1},
                                     {"learning_rate": -5.0}])
def test_partial_fit_validates_the_parameters_of_a_fitted_estimator(
    small_classification, invalid
):
    # scikit-learn's _fit_context validates in fit only: a continued partial_fit
    # took alpha=-1, crashed inside range() on batch_size=0 and called depth=-1
    # a change "from 1 to 0".
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=4, random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    proba = clf.predict_proba(X)
    with pytest.raises(ValueError, match=f"The '{next(iter(invalid))}' parameter"):
        clf.set_params(**invalid).partial_fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), proba)  # the model is kept
    assert clf.n_iter_ == 1


def test_partial_fit_refuses_early_stopping(small_classification):
    X, y = small_classification
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        DeepMLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    # ... also after a fit with early stopping, which stays untouched
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=3, early_stopping=True,
                            random_state=0).fit(X, y)
    params, n_iter = clf._network.params.copy(), clf.n_iter_
    with pytest.raises(ValueError, match="early_stopping=False to continue"):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == n_iter
    np.testing.assert_array_equal(clf._network.params, params)
    clf.set_params(early_stopping=False).partial_fit(X, y)
    assert clf.n_iter_ == n_iter + 1


@pytest.mark.parametrize("first, then", [(False, True), (True, False)])
def test_warm_start_may_switch_early_stopping(small_classification, first, then):
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=3, warm_start=True,
                            early_stopping=first, random_state=0).fit(X, y)
    clf.set_params(early_stopping=then).fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 6  # n_iter_: this fit's
    if then:
        assert len(clf.validation_scores_) == 3
        assert clf.best_validation_score_ == max(clf.validation_scores_)
        assert clf.best_loss_ is None
    else:
        assert clf.best_loss_ == min(clf.loss_curve_[3:])
        assert clf.validation_scores_ is None is clf.best_validation_score_


def test_warm_start_refuses_other_classes(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=2, warm_start=True,
                            random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
        clf.fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="warm_start can only be used"):
        clf.fit(X, np.where(y == 2, 5, y))
    assert clf.n_iter_ == 2
    clf.fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 4


def test_partial_fit_equals_one_epoch_of_fit(small_classification):
    X, y = small_classification
    params = dict(depth=2, width=16, batch_size=None, random_state=0)
    fitted = DeepMLPClassifier(max_iter=3, **params).fit(X, y)
    incremental = DeepMLPClassifier(**params)
    for _ in range(3):
        incremental.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_allclose(incremental._network.params, fitted._network.params, rtol=1e-6)
    assert incremental.loss_curve_ == pytest.approx(fitted.loss_curve_)


def test_warm_start_continues_training(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(depth=2, width=16, max_iter=5, warm_start=True, random_state=0)
    clf.fit(X, y)
    first_params = clf._network.params.copy()
    first_loss = clf.loss_
    clf.fit(X, y)
    # as scikit-learn: each fit runs up to max_iter epochs, n_iter_ counts its own
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 10
    assert clf.loss_ < first_loss
    assert not np.array_equal(first_params, clf._network.params)
    clf.set_params(depth=3)
    with pytest.raises(ValueError, match="same architecture"):
        clf.fit(X, y)
    # Without warm_start a refit starts over.
    cold = DeepMLPClassifier(depth=2, width=16, max_iter=5, random_state=0).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 5


# -------------------------------------------------------------- sample weights
def test_zero_sample_weight_equals_removal(small_classification):
    X, y = small_classification
    weights = np.ones(len(X))
    weights[::3] = 0
    params = dict(depth=2, width=16, batch_size=None, max_iter=20, dtype="float64", random_state=0)
    weighted = DeepMLPClassifier(**params).fit(X, y, sample_weight=weights)
    removed = DeepMLPClassifier(**params).fit(X[weights > 0], y[weights > 0])
    np.testing.assert_allclose(weighted.predict_proba(X), removed.predict_proba(X), rtol=1e-8)


def test_weights_count_within_their_mini_batch_as_in_sklearn(small_classification):
    # Each batch's loss is its weighted mean: in batches of one sample, any
    # positive weight divides out (the fit docstring says so).
    X, y = small_classification
    params = dict(depth=2, width=8, batch_size=1, max_iter=2, alpha=0.0, random_state=0)
    weights = np.random.default_rng(0).uniform(0.1, 10.0, len(X))
    plain = DeepMLPRegressor(**params).fit(X, y.astype(float))
    weighted = DeepMLPRegressor(**params).fit(X, y.astype(float), sample_weight=weights)
    np.testing.assert_array_equal(weighted.predict(X), plain.predict(X))
    batches = DeepMLPRegressor(**{**params, "batch_size": 8}).fit(X, y.astype(float))
    weighted_batches = DeepMLPRegressor(**{**params, "batch_size": 8}).fit(
        X, y.astype(float), sample_weight=weights
    )
    assert not np.allclose(weighted_batches.predict(X), batches.predict(X))


def test_sample_weight_changes_the_fit(small_classification):
    X, y = small_classification
    params = dict(depth=2, width=16, max_iter=20, random_state=0)
    weights = np.where(y == 0, 10.0, 1.0)
    plain = DeepMLPClassifier(**params).fit(X, y)
    weighted = DeepMLPClassifier(**params).fit(X, y, sample_weight=weights)
    assert (weighted.predict(X) == 0).sum() >= (plain.predict(X) == 0).sum()
    assert not np.allclose(weighted.predict_proba(X), plain.predict_proba(X))
    with pytest.raises(ValueError, match="non-zero"):
        DeepMLPClassifier(**params).fit(X, y, sample_weight=np.zeros(len(X)))


@pytest.mark.parametrize("Estimator", [DeepMLPClassifier, DeepMLPRegressor])
def test_all_zero_sample_weight_is_refused_whatever_scikit_learn_checks(
    Estimator, small_classification, monkeypatch
):
    # scikit-learn < 1.9 lets all-zero weights through its _check_sample_weight:
    # the estimators must refuse them themselves.
    import sk_deepnet._estimators as estimators

    def check_without_zero_test(sample_weight, X, dtype=None, ensure_non_negative=False):
        return np.asarray(sample_weight, dtype=dtype)

    monkeypatch.setattr(estimators, "_check_sample_weight", check_without_zero_test)
    X, y = small_classification
    with pytest.raises(ValueError, match="at least one non-zero number"):
        Estimator(depth=1, width=4, max_iter=2).fit(X, y, sample_weight=np.zeros(len(X)))


# ------------------------------------------------------------------ callbacks
class Recorder(Callback):
    """Records the order of hook calls."""

    def __init__(self, stop_at_epoch=None):
        self.stop_at_epoch = stop_at_epoch

    def on_fit_begin(self, estimator, X=None, y=None):
        self.events_ = ["fit_begin"]

    def on_epoch_begin(self, estimator, epoch):
        self.events_.append(f"epoch_begin {epoch}")

    def on_grad_computed(self, estimator, network, batch):
        assert np.any(network.grads != 0)
        self.events_.append("grad")

    def on_batch_end(self, estimator, network, batch, loss):
        self.events_.append("batch_end")

    def on_epoch_end(self, estimator, epoch, loss):
        self.events_.append(f"epoch_end {epoch}")
        return self.stop_at_epoch is not None and epoch >= self.stop_at_epoch

    def on_fit_end(self, estimator):
        self.events_.append("fit_end")


def test_callbacks_hook_order_and_clone_semantics(small_classification):
    X, y = small_classification
    recorder = Recorder()
    clf = DeepMLPClassifier(
        depth=1, width=8, max_iter=2, batch_size=100, callbacks=[recorder], random_state=0
    ).fit(X, y)
    assert not hasattr(recorder, "events_")  # the parameter is never mutated
    fitted = clf.callbacks_[0]
    assert fitted is not recorder
    assert fitted.events_ == [
        "fit_begin",
        "epoch_begin 0", "grad", "batch_end", "grad", "batch_end", "epoch_end 0",
        "epoch_begin 1", "grad", "batch_end", "grad", "batch_end", "epoch_end 1",
        "fit_end",
    ]
    stopped = DeepMLPClassifier(
        depth=1, width=8, max_iter=50, callbacks=[Recorder(stop_at_epoch=2)], random_state=0
    ).fit(X, y)
    assert stopped.n_iter_ == 3


def test_set_params_callbacks_takes_effect_in_continued_fits(small_classification):
    X, y = small_classification
    first, second = Recorder(), Recorder()
    clf = DeepMLPClassifier(depth=1, width=8, batch_size=100, callbacks=[first], random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))
    running = clf.callbacks_[0]
    clf.partial_fit(X, y)  # the same callbacks: the same copy keeps recording
    assert clf.callbacks_ == [running]
    assert running.events_.count("epoch_end 1") == 1 and "fit_end" not in running.events_

    clf.set_params(callbacks=[second])
    clf.partial_fit(X, y)
    assert running.events_[-1] == "fit_end"  # the replaced copy was ended
    (fresh,) = clf.callbacks_
    assert fresh is not second and isinstance(fresh, Recorder)
    assert fresh.events_[0] == "fit_begin" and "epoch_end 2" in fresh.events_
    assert not hasattr(second, "events_")  # the parameter is never mutated

    clf.set_params(callbacks=None)
    clf.partial_fit(X, y)
    assert clf.callbacks_ == [] and fresh.events_[-1] == "fit_end"

    warm = DeepMLPClassifier(
        depth=1, width=8, max_iter=1, batch_size=100, warm_start=True,
        callbacks=[first], random_state=0,
    ).fit(X, y)
    kept = warm.callbacks_[0]
    warm.fit(X, y)
    assert warm.callbacks_ == [kept]  # unchanged: one record across warm starts
    warm.set_params(callbacks=None)
    warm.fit(X, y)
    assert warm.callbacks_ == []


class Unclonable(Recorder):
    """Changes its parameter in __init__, so scikit-learn's clone refuses it."""

    def __init__(self, stop_at_epoch=None):
        self.stop_at_epoch = [stop_at_epoch]


def test_replacing_callbacks_ends_the_running_copies_once(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, batch_size=100, callbacks=[Recorder()],
                            random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))
    running = clf.callbacks_[0]
    # A callback that cannot be copied changes nothing: the running copy stays.
    clf.set_params(callbacks=[Unclonable()])
    with pytest.raises(RuntimeError, match="Cannot clone"):
        clf.partial_fit(X, y)
    assert clf.callbacks_ == [running] and "fit_end" not in running.events_
    # A list changed in place is a change too.
    clf.set_params(callbacks=[Recorder()])
    clf.partial_fit(X, y)
    replaced = clf.callbacks_[0]
    clf.callbacks.append(Recorder())
    clf.partial_fit(X, y)
    assert len(clf.callbacks_) == 2 and replaced.events_[-1] == "fit_end"
    # A fresh fit ends the copies that a partial_fit series left running.
    running = clf.callbacks_
    clf.fit(X, y)
    assert all(c.events_.count("fit_end") == 1 for c in running)
    assert all(c.events_[-1] == "fit_end" for c in running)


class CloneCounter(Recorder):
    """Counts the copies made of it (sklearn.base.clone calls __sklearn_clone__)."""

    def __sklearn_clone__(self):
        self.clones = getattr(self, "clones", 0) + 1
        return super().__sklearn_clone__()


def test_replacing_running_callbacks_copies_each_new_one_once(small_classification):
    # The copies that check that the new callbacks can be copied, before the
    # running ones end, are the ones the fit then runs: one clone per call.
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, batch_size=100, max_iter=1, random_state=0,
                            callbacks=[Recorder()])
    clf.partial_fit(X, y, classes=np.unique(y))
    new = CloneCounter()
    clf.set_params(callbacks=[new]).partial_fit(X, y)  # a continued call replaces them
    assert new.clones == 1
    running = clf.callbacks_[0]
    clf.fit(X, y)  # a fresh fit ends the running copy, then starts a new one
    assert new.clones == 2
    assert running.events_.count("fit_end") == 1
    assert clf.callbacks_[0] is not running and clf.callbacks_[0].events_[-1] == "fit_end"
    # An input the fit rejects after the running copies ended: the copies made
    # for that call do not outlive it; the next fit copies the callback again.
    clf.partial_fit(X, y, classes=np.unique(y))
    with pytest.raises(ValueError):
        clf.fit(X[:, :3] * np.nan, y)
    assert "_callback_copies" not in vars(clf)
    clf.fit(X, y)
    assert new.clones == 4 and clf.callbacks_[0].events_[0] == "fit_begin"


def test_replaced_gradient_monitor_is_no_longer_exposed(small_classification):
    X, y = small_classification

    class EndCounting(GradientMonitor):
        def on_fit_end(self, estimator, **kwargs):
            self.ends_ = getattr(self, "ends_", 0) + 1
            super().on_fit_end(estimator, **kwargs)

    clf = DeepMLPClassifier(depth=1, width=8, batch_size=100, random_state=0,
                            callbacks=[EndCounting(warn=False)])
    clf.partial_fit(X, y, classes=np.unique(y))
    monitor = clf.gradient_monitor_
    assert not hasattr(monitor, "ends_")  # a partial_fit series keeps it running
    clf.set_params(callbacks=None).partial_fit(X, y)
    assert not hasattr(clf, "gradient_monitor_")
    assert monitor.ends_ == 1  # ended once, when replaced
    assert len(monitor.record_epochs_) == 1  # and no longer recording


def test_estimators_pickled_before_the_callback_source_was_kept(small_classification):
    # Estimators pickled by 0.1.0 have no _callbacks_source: callbacks with the
    # same classes and parameters continue, other ones replace the copies.
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, batch_size=100, callbacks=[Recorder()],
                            random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))
    old = pickle.loads(pickle.dumps(clf))
    del old._callbacks_source
    running = old.callbacks_[0]
    old.set_params(callbacks=[Recorder()]).partial_fit(X, y)
    assert old.callbacks_ == [running]
    old.set_params(callbacks=[Recorder(stop_at_epoch=5)]).partial_fit(X, y)
    assert old.callbacks_[0] is not running and running.events_[-1] == "fit_end"


class GradientReader(Callback):
    """Records the gradient's norm when computed and again after the step."""

    def on_grad_computed(self, estimator, network, batch):
        self.computed_ = float(np.linalg.norm(network.grads))

    def on_batch_end(self, estimator, network, batch, loss):
        self.after_step_ = float(np.linalg.norm(network.grads))


def test_optimizer_step_uses_the_gradient_as_work_array_only_without_callbacks(
    small_classification,
):
    X, y = small_classification
    params = dict(depth=2, width=8, max_iter=2, optimizer="adam", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = DeepMLPClassifier(**params).fit(X, y)
        watched = DeepMLPClassifier(**params, callbacks=[GradientReader()]).fit(X, y)
    assert "scratch" not in plain.optimizer_.state_  # no model-sized scratch vector
    assert "scratch" in watched.optimizer_.state_
    reader = watched.callbacks_[0]
    assert reader.after_step_ == reader.computed_  # the gradient outlived the step
    # The same training either way.
    for a, b in zip(plain.coefs_, watched.coefs_):
        np.testing.assert_array_equal(a, b)


def test_callbacks_must_be_callback_instances(small_classification):
    X, y = small_classification
    with pytest.raises(TypeError, match="Callback"):
        DeepMLPClassifier(callbacks=[object()]).fit(X, y)


def test_sklearn_progress_bar_callback(small_classification):
    callback_module = pytest.importorskip("sklearn.callback")
    pytest.importorskip("rich")
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=3, random_state=0)
    clf.set_callbacks(callback_module.ProgressBar())
    clf.fit(X, y)
    assert clf.n_iter_ == 3


def test_sklearn_callback_api_sees_one_task_per_epoch(small_classification):
    pytest.importorskip("sklearn.callback")
    X, y = small_classification

    class TaskCounter:
        def __init__(self):
            self.begins, self.ends = [], []

        def setup(self, estimator, context):
            pass

        def teardown(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context, **kwargs):
            self.begins.append(context.task_name)

        def on_fit_task_end(self, estimator, context, **kwargs):
            self.ends.append(context.task_name)
            return False

    counter = TaskCounter()
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=4, random_state=0)
    clf.set_callbacks(counter).fit(X, y)
    assert counter.begins.count("epoch") == 4 and counter.ends.count("epoch") == 4
    assert counter.begins[0] == counter.ends[-1] == "fit"


def test_sklearn_scoring_monitor_scores_every_epoch(small_classification):
    callback_module = pytest.importorskip("sklearn.callback")
    if not hasattr(callback_module, "ScoringMonitor"):
        pytest.skip("this scikit-learn has no ScoringMonitor")
    X, y = small_classification

    class EpochScores(Callback):
        def on_fit_begin(self, estimator, X=None, y=None):
            self.scores_ = []

        def on_epoch_end(self, estimator, epoch, loss):
            self.scores_.append(estimator.score(X, y))

    monitor = callback_module.ScoringMonitor(scoring="accuracy")
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=4, random_state=0,
                            callbacks=[EpochScores()])
    clf.set_callbacks(monitor).fit(X, y)
    logged = {record["task_name"]: [] for record in monitor.get_logs().data}
    for record in monitor.get_logs().data:
        logged[record["task_name"]].append(record["accuracy"])
    assert logged["epoch"] == clf.callbacks_[0].scores_  # the model of each epoch
    assert logged["fit"] == [clf.score(X, y)]
    # A DataFrame's feature names reach the scorer: no warning about them.
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        DeepMLPClassifier(depth=1, width=8, max_iter=2, random_state=0).set_callbacks(
            callback_module.ScoringMonitor(scoring="accuracy")
        ).fit(frame, y)


# ------------------------------------------------------------ early stopping
def test_early_stopping_keeps_best_validation_model(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(
        depth=2, width=16, early_stopping=True, n_iter_no_change=3, max_iter=200, random_state=0
    ).fit(X, y)
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    plain = DeepMLPClassifier(depth=2, width=16, max_iter=5, random_state=0).fit(X, y)
    assert plain.validation_scores_ is None and plain.best_validation_score_ is None
    assert plain.best_loss_ == min(plain.loss_curve_)


# -------------------------------------------------------------- schedules
@pytest.mark.parametrize(
    "schedule, expected",
    [
        ("constant", lambda lr0, epoch: lr0),
        ("cosine", lambda lr0, epoch: lr0 * 0.5 * (1 + np.cos(np.pi * epoch / 4))),
        ("step", lambda lr0, epoch: lr0 * 0.5 ** (epoch // 2)),
    ],
)
def test_epoch_schedules_set_the_optimizer_rate(small_classification, schedule, expected):
    X, y = small_classification

    class RateRecorder(Callback):
        def on_fit_begin(self, estimator, X=None, y=None):
            self.rates_ = []

        def on_epoch_end(self, estimator, epoch, loss):
            self.rates_.append(estimator.optimizer_.learning_rate)

    clf = DeepMLPClassifier(
        depth=1, width=8, optimizer="sgd", learning_rate=0.1, lr_schedule=schedule,
        lr_step_size=2, lr_gamma=0.5, max_iter=4, tol=0, n_iter_no_change=100,
        callbacks=[RateRecorder()], random_state=0,
    ).fit(X, y)
    assert clf.callbacks_[0].rates_ == pytest.approx([expected(0.1, e) for e in range(4)])


def test_invscaling_follows_samples_seen_once_per_epoch_as_sklearn(small_classification):
    from sklearn.neural_network import MLPClassifier

    X, y = small_classification

    class BatchRates(Callback):
        def on_fit_begin(self, estimator, X=None, y=None):
            self.rates_ = []

        def on_batch_end(self, estimator, network, batch, loss):
            self.rates_.append(estimator.optimizer_.learning_rate)

    settings = dict(learning_rate_init=0.1, batch_size=50, max_iter=3, power_t=0.5,
                    random_state=0, tol=0, n_iter_no_change=100)
    clf = DeepMLPClassifier(
        depth=1, width=8, optimizer="sgd", lr_schedule="invscaling",
        callbacks=[BatchRates()], **{k.removesuffix("_init"): v for k, v in settings.items()},
    ).fit(X, y)
    # Every batch of an epoch uses the samples seen before the epoch: the first
    # epoch runs at the initial rate (4 batches of 50 samples per epoch).
    expected = [0.1 / (seen + 1) ** 0.5 for seen in (0, 200, 400) for _ in range(4)]
    assert clf.callbacks_[0].rates_ == pytest.approx(expected)
    # scikit-learn's rate after its third epoch is the one of a fourth epoch here.
    sk = MLPClassifier((8,), solver="sgd", momentum=0, learning_rate="invscaling", **settings)
    sk.fit(X, y)
    assert clf._schedule.at_step(clf.t_) == pytest.approx(sk._optimizer.learning_rate)
    # A warm-started fit starts again at the initial rate (scikit-learn makes a new
    # optimizer), then follows all the samples seen; partial_fit carries on.
    clf.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert clf.callbacks_[0].rates_ == pytest.approx([0.1] * 4 + [0.1 / 801**0.5] * 4)
    clf.partial_fit(X, y)
    assert clf.callbacks_[0].rates_[-4:] == pytest.approx([0.1 / 1001**0.5] * 4)


@pytest.mark.parametrize("schedule", ["invscaling", "cosine", "step", "adaptive"])
def test_schedules_keep_the_optimizer_state_across_partial_fit(small_classification, schedule):
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, optimizer="adam", batch_size=50, max_iter=10,
                            lr_schedule=schedule, lr_step_size=1, random_state=0)
    optimizers = []
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1, 2])
        optimizers.append(clf.optimizer_)
    assert optimizers[0] is optimizers[1] is optimizers[2]
    assert clf.optimizer_.t_ == 3 * 4  # Adam's step count: its moments continue
    clf.set_params(learning_rate=0.01).partial_fit(X, y)  # a new rate, same state
    assert clf.optimizer_ is optimizers[0] and clf.optimizer_.learning_rate <= 0.01


def test_adaptive_schedule_divides_rate_on_plateau(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(
        depth=1, width=8, optimizer="sgd", learning_rate=0.1, lr_schedule="adaptive",
        tol=10.0, n_iter_no_change=2, max_iter=12, random_state=0,
    ).fit(X, y)
    # tol=10 makes every epoch after the first a non-improvement: the rate is cut by
    # 5 when the count exceeds n_iter_no_change, at epochs 4, 7 and 10.
    assert clf.optimizer_.learning_rate == pytest.approx(0.1 / 5**3)


# ------------------------------------------------------------- batch sizes
@pytest.mark.parametrize("batch_size, n_steps", [(None, 1), (1, 200), (64, 4), ("auto", 1)])
def test_batch_size_sets_steps_per_epoch(small_classification, batch_size, n_steps):
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, batch_size=batch_size, max_iter=1, random_state=0)
    clf.fit(X, y)
    assert clf.optimizer_.t_ == n_steps
    assert clf.t_ == len(X)


def test_batch_size_larger_than_data_warns(small_classification):
    X, y = small_classification
    with pytest.warns(UserWarning, match="larger than"):
        DeepMLPClassifier(depth=1, width=8, batch_size=1000, max_iter=1).fit(X, y)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("labels, error, message", [
    (["a", 1], TypeError, "{} mixes label types that cannot be compared"),
    (["a", 2.5], TypeError, "{} mixes label types that cannot be compared"),
    ([None, 1], ValueError, "contains NaN"),
    ([np.nan, "a"], ValueError, "contains NaN"),
])
def test_labels_of_types_that_cannot_be_sorted_get_a_clear_error(labels, error, message):
    X = np.random.default_rng(0).normal(size=(6, 3))
    y = np.array(labels * 3, dtype=object)
    with pytest.raises(error, match=message.format("y")):
        DeepMLPClassifier(max_iter=1).fit(X, y)
    # partial_fit without classes sorted them in type_of_target: numpy's '<' error
    with pytest.raises(error, match=message.format("y")):
        DeepMLPClassifier(max_iter=1).partial_fit(X, y)
    with pytest.raises(error, match=message.format("classes")):
        DeepMLPClassifier(max_iter=1).partial_fit(X, np.array([0, 1] * 3), classes=y[:2])


def test_missing_pandas_targets_get_a_clear_error():
    # A pandas string column's pd.NA failed inside scikit-learn's NaN test
    # ("boolean value of NA is ambiguous"); a categorical's NaN inside numpy.
    pd = pytest.importorskip("pandas")
    X = np.random.default_rng(0).normal(size=(8, 3))
    labels = np.array(["p", "n"] * 4, dtype=object)
    labels[3] = None
    with_na = labels.copy()
    with_na[3] = pd.NA  # in a list or an object array, outside pandas
    for y in (pd.Series(labels).astype("string"), pd.Series(pd.Categorical(labels)),
              list(with_na), with_na):
        for fit in (DeepMLPClassifier(max_iter=1).fit, DeepMLPClassifier(max_iter=1).partial_fit):
            with pytest.raises(ValueError, match=r"Input y contains NaN or missing values"):
                fit(X, y)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_a_regressor_refuses_dates_as_targets(loss):
    X = np.random.default_rng(0).normal(size=(8, 3))
    y = np.array(["2020-01-01", "2020-01-02"] * 4, dtype="datetime64[D]")
    with pytest.raises(ValueError, match=r"y must be numeric; got dtype datetime64\[D\]"):
        DeepMLPRegressor(loss=loss, max_iter=1).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"depth": -1}, "depth"),
        ({"width": 0}, "width"),
        ({"width": [10, 10]}, "width"),
        ({"activation": "swish"}, "activation"),
        ({"optimizer": "bfgs"}, "optimizer"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"dtype": "float16"}, "dtype"),
        ({"dropout": 1.0}, "dropout"),
        ({"lr_schedule": "warmup"}, "lr_schedule"),
    ],
)
def test_invalid_hyperparameters_are_named(small_classification, params, match):
    X, y = small_classification
    with pytest.raises(ValueError, match=match):
        DeepMLPClassifier(**params).fit(X, y)


def test_bad_data_errors(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=2)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(X_nan, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="0 sample"):
        clf.fit(X[:0], y[:0])
    clf.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        DeepMLPRegressor(max_iter=1).fit(X, np.full(len(X), np.nan))


# ---------------------------------------------------------------- divergence
def test_divergence_suggests_scaling_only_the_data_that_is_unscaled():
    # scikit-learn's sgd translated as nesterov (learning_rate="auto" is 0.01)
    # on diabetes with standardized X and its raw target (std 77) diverges in
    # its second epoch; scaling y (TransformedTargetRegressor) is the remedy.
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    reg = DeepMLPRegressor(depth=1, optimizer="nesterov", random_state=0)
    with pytest.warns(DivergenceWarning) as record:
        reg.fit(X, y)
    message = str(record[0].message)
    assert "Try scaling y (TransformedTargetRegressor" in message
    assert "std is 77" in message and "scaling X" not in message
    # Raw X (a feature std above 10) and a classifier: scale X, never y.
    X_raw = X * 1e3
    clf = DeepMLPClassifier(depth=1, optimizer="sgd", learning_rate=10.0, random_state=0)
    with pytest.warns(DivergenceWarning) as record:
        clf.fit(X_raw, (y > np.median(y)).astype(int))
    message = str(record[0].message)
    assert "Try scaling X (StandardScaler" in message and "scaling y" not in message


def test_divergence_restores_last_finite_epoch(small_classification):
    X, y = small_classification
    with pytest.warns(DivergenceWarning, match="learning_rate"):
        clf = DeepMLPRegressor(
            depth=3, width=16, optimizer="sgd", learning_rate=1e6, max_iter=20, random_state=0
        ).fit(X, y * 1e3)
    assert np.isfinite(clf._network.params).all()
    assert np.isfinite(clf.predict(X)).all()
    assert len(clf.loss_curve_) == clf.n_iter_


def test_convergence_warning_when_max_iter_reached(small_classification):
    X, y = small_classification
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        DeepMLPClassifier(depth=1, width=8, max_iter=2, tol=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        DeepMLPClassifier(depth=1, width=8, max_iter=2).partial_fit(X, y, classes=[0, 1, 2])


# ------------------------------------------------- state after errors / refits
class _RaiseOnSecondEpoch(Callback):
    def on_epoch_end(self, estimator, epoch, loss, **kwargs):
        if epoch == 1:
            raise RuntimeError("callback failed")


def _fail_pretraining(initialize):
    def initialize_or_fail(estimator, *args, **kwargs):
        if estimator.pretrain == "rbm":
            raise MemoryError("while pretraining")
        return initialize(estimator, *args, **kwargs)
    return initialize_or_fail


def _refit_failures(X, y):
    """(name, parameters to set, fit arguments) of fresh fits that raise."""
    return [
        ("zero weights", {}, (X, y + 1, np.zeros(len(X)))),  # after the new classes_
        ("NaN in X", {}, (np.full_like(X, np.nan), y, None)),
        ("y too short", {}, (X, y[:10], None)),
        ("negative weights", {}, (X, y, -np.ones(len(X)))),
        ("callback error", {"callbacks": [_RaiseOnSecondEpoch()]}, (X[:, :3], y + 1, None)),
        ("lbfgs callback error", {"optimizer": "lbfgs", "callbacks": [_RaiseOnSecondEpoch()]},
         (X, y, None)),
        ("pretraining error", {"pretrain": "rbm"}, (X, y, None)),
    ]


@pytest.mark.parametrize("case", range(7))
@pytest.mark.parametrize("Estimator", [DeepMLPClassifier, DeepMLPRegressor])
def test_failed_refit_keeps_the_previous_model(
    Estimator, case, small_classification, monkeypatch
):
    # A fresh fit that raises leaves the estimator as it was, as scikit-learn's
    # MLP keeps its coefs_ when fit refuses X: the trained model used to be
    # discarded, leaving an unfitted estimator.
    X, y = small_classification
    y = (y > 0).astype(int)
    est = Estimator(depth=1, width=8, max_iter=3, random_state=0,
                    callbacks=[GradientMonitor()]).fit(X, y)
    before = dict(vars(est))
    prediction = est.predict(X)
    name, params, (X_new, y_new, weights) = _refit_failures(X, y)[case]
    est.set_params(**params)
    monkeypatch.setattr(  # the new network is made, then its pretraining fails
        "sk_deepnet._estimators.initialize_by_pretraining",
        _fail_pretraining(sk_deepnet._estimators.initialize_by_pretraining),
    )
    with pytest.raises((ValueError, RuntimeError, MemoryError)), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X_new, y_new, sample_weight=weights)
    est.set_params(**{key: before[key] for key in params})
    assert vars(est).keys() == before.keys(), name
    for key, value in before.items():
        assert vars(est)[key] is value, (name, key)
    np.testing.assert_array_equal(est.predict(X), prediction)


def test_failed_first_fit_leaves_an_unfitted_estimator(small_classification):
    from sklearn.exceptions import NotFittedError

    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=5, random_state=0)
    with pytest.raises(ValueError):
        clf.fit(X, y, sample_weight=np.zeros(len(X)))
    assert not [name for name in vars(clf) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_early_stopping_restores_best_batch_norm_statistics(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(
        depth=2, width=16, normalization="batch", early_stopping=True,
        n_iter_no_change=3, max_iter=60, batch_size=32, random_state=0,
    ).fit(X, y)
    best = int(np.argmax(clf.validation_scores_))
    assert best < clf.n_iter_ - 1  # it trained past its best epoch
    replay = DeepMLPClassifier(
        depth=2, width=16, normalization="batch", early_stopping=True,
        n_iter_no_change=1000, max_iter=best + 1, batch_size=32, random_state=0,
    ).fit(X, y)
    np.testing.assert_allclose(replay._network.params, clf._network.params)
    np.testing.assert_allclose(replay.running_means_[0], clf.running_means_[0])


def test_cosine_schedule_restarts_on_warm_start(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(
        depth=1, width=8, optimizer="sgd", learning_rate=0.1, lr_schedule="cosine",
        max_iter=4, warm_start=True, random_state=0,
    ).fit(X, y)
    before = clf._network.params.copy()
    clf.fit(X, y)
    assert not np.array_equal(before, clf._network.params)  # rate > 0 again
    assert clf.learning_rate_ == 0.1


def test_partial_fit_warns_when_the_cosine_schedule_has_ended(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, optimizer="sgd", learning_rate=0.1,
                            lr_schedule="cosine", max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # rates 0.1, 0.075, 0.025
        for _ in range(3):
            clf.partial_fit(X, y, classes=[0, 1, 2])
    before = clf._network.params.copy()
    with pytest.warns(UserWarning, match="learning rate is now 0"):
        clf.partial_fit(X, y)
    np.testing.assert_array_equal(before, clf._network.params)


def test_adaptive_rate_cut_survives_partial_fit(small_classification):
    X, y = small_classification
    clf = DeepMLPClassifier(
        depth=1, width=8, optimizer="sgd", learning_rate=0.1, lr_schedule="adaptive",
        tol=10.0, n_iter_no_change=1, random_state=0,
    )
    for _ in range(6):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.optimizer_.learning_rate < 0.1


def test_early_stopping_with_dataframe_warns_nothing(small_classification):
    pd = pytest.importorskip("pandas")
    X, y = small_classification
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*feature names")
        DeepMLPClassifier(
            depth=1, width=8, early_stopping=True, max_iter=5, random_state=0
        ).fit(frame, y)


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_multi_output_loss_against_sklearn(alpha):
    """Backs the migration guide: with several outputs, ``loss_`` sums the
    outputs' half squared errors where MLPRegressor averages them, and both add
    the same L2 penalty once; so ``loss_`` is ``n_outputs`` times sklearn's
    exactly for ``alpha=0``, and in general after removing the penalty."""
    X, Y = make_regression(n_samples=60, n_features=5, n_targets=3, random_state=0)
    Y = Y / Y.std(axis=0)
    # One full batch with a negligible step: loss_ is the loss at the initial weights.
    ours = DeepMLPRegressor(depth=1, width=8, alpha=alpha, batch_size=None, max_iter=1,
                            optimizer="sgd", learning_rate=1e-12, dtype="float64",
                            shuffle=False, random_state=0)
    sk = MLPRegressor(hidden_layer_sizes=(8,), alpha=alpha, solver="sgd", batch_size=60,
                      learning_rate_init=1e-12, momentum=0.0, shuffle=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, Y)
        sk.partial_fit(X, Y)  # initializes; then the same weights as ours
        sk.coefs_ = [c.copy() for c in ours.coefs_]
        sk.intercepts_ = [b.copy() for b in ours.intercepts_]
        sk.partial_fit(X, Y)  # loss_ at those weights
    penalty = 0.5 * alpha * sum(np.sum(c**2) for c in ours.coefs_) / len(X)
    np.testing.assert_allclose(ours.loss_ - penalty, 3 * (sk.loss_ - penalty), rtol=1e-9)
    if alpha == 0:
        np.testing.assert_allclose(ours.loss_, 3 * sk.loss_, rtol=1e-9)
    else:
        assert not np.isclose(ours.loss_, 3 * sk.loss_, rtol=1e-3)


def test_gradient_monitor_without_a_monitor_says_how_to_add_one():
    X, y = load_digits(return_X_y=True)
    clf = DeepMLPClassifier(depth=1, width=4, max_iter=1).fit(X[:40], y[:40])
    with pytest.raises(AttributeError, match=r"callbacks=\[GradientMonitor\(\)\]"):
        clf.gradient_monitor_
    assert not hasattr(clf, "gradient_monitor_")
    unfitted = DeepMLPClassifier(callbacks=[GradientMonitor()])
    with pytest.raises(AttributeError, match="not fitted yet"):
        unfitted.gradient_monitor_
    with pytest.raises(AttributeError, match="has no attribute 'coefs_x'"):
        clf.coefs_x


def test_html_repr_links_to_the_api_page(monkeypatch):
    monkeypatch.setenv("SK_DEEPNET_DOCS_URL", "https://docs.example/sk_deepnet/")
    for cls in (DeepMLPClassifier, DeepMLPRegressor):
        url = f"https://docs.example/sk_deepnet/generated/sk_deepnet.{cls.__name__}.html"
        assert cls()._get_doc_link() == url
        assert f'href="{url}"' in estimator_html_repr(make_pipeline(StandardScaler(), cls()))
    # The page name is the one the API reference generates (doc/api.rst).
    api = (Path(__file__).resolve().parent.parent / "doc" / "api.rst").read_text()
    assert ".. currentmodule:: sk_deepnet\n" in api and "   DeepMLPClassifier\n" in api
    # A link can be set per estimator, as scikit-learn allows.
    clf = DeepMLPClassifier()
    clf._doc_link_template = "https://mirror.example/{estimator_name}.html"
    assert clf._get_doc_link() == "https://mirror.example/DeepMLPClassifier.html"


def test_multioutput_regression_learns_every_output():
    # Independent targets: a model that trained every output on column 0 (or
    # mixed the columns up) would score badly on the second and third.
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 4))
    Y = np.column_stack([np.sin(2 * X[:, 0]), X[:, 1] * X[:, 2], -X[:, 3]])
    reg = DeepMLPRegressor(depth=2, width=32, max_iter=150, learning_rate=0.005,
                           random_state=0).fit(X, Y)
    from sklearn.metrics import r2_score

    per_output = r2_score(Y, reg.predict(X), multioutput="raw_values")
    assert (per_output > 0.9).all(), per_output
    # Swapping two columns of y swaps the predictions: outputs follow their column.
    swapped = DeepMLPRegressor(depth=2, width=32, max_iter=150, learning_rate=0.005,
                               random_state=0).fit(X, Y[:, [1, 0, 2]])
    assert (r2_score(Y[:, [1, 0, 2]], swapped.predict(X), multioutput="raw_values") > 0.9).all()


def test_regressor_with_early_stopping_completes_and_scores():
    X, y = make_friedman1(400, noise=0.5, random_state=0)
    y = (y - y.mean()) / y.std()
    reg = DeepMLPRegressor(depth=2, width=32, early_stopping=True, n_iter_no_change=10,
                           max_iter=500, learning_rate=0.003, random_state=0).fit(X, y)
    assert reg.n_iter_ < 500  # stopped by the validation plateau, not max_iter
    assert len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_) > 0.8
    assert reg.best_loss_ is None
    assert reg.score(X, y) > 0.8


def test_verbose_prints_the_validation_score_with_early_stopping(capsys):
    """As scikit-learn's MLP: each epoch's loss, then its validation score."""
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16
    y = y[:300]
    DeepMLPClassifier(depth=1, width=8, max_iter=3, early_stopping=True, verbose=True,
                      random_state=0).fit(X, y)
    ours = capsys.readouterr().out.splitlines()
    MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, early_stopping=True, verbose=True,
                  random_state=0).fit(X, y)
    theirs = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in ours[:6]] == [line.split()[0] for line in theirs[:6]]
    assert ours[1].startswith("Validation score: ") and float(ours[1].split(": ")[1]) >= 0
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=3, early_stopping=True, verbose=True,
                            random_state=0).fit(X, y)
    printed = [float(line.split(": ")[1]) for line in capsys.readouterr().out.splitlines()
               if line.startswith("Validation score")]
    assert printed == pytest.approx(clf.validation_scores_, abs=1e-6)


def test_early_stopping_splits_a_small_multiclass_set_unstratified_with_a_warning():
    # scikit-learn's MLP stratifies binary targets only; stratifying every
    # multiclass one refused 20 samples of 3 classes, which it fits.
    X, y = make_blobs(n_samples=20, centers=3, random_state=0)
    clf = DeepMLPClassifier(early_stopping=True, max_iter=5, random_state=0)
    with pytest.warns(UserWarning, match="cannot stratify its validation split"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ == 5
    # Binary targets are still refused, as scikit-learn's MLP refuses them.
    with pytest.raises(ValueError, match="cannot hold out validation_fraction"):
        DeepMLPClassifier(early_stopping=True).fit([[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1])


def test_refit_refused_by_its_callbacks_keeps_the_previous_model(small_classification):
    # The callbacks are checked before anything else: the snapshot of the
    # previous model was taken after them, and such a refit left it unfitted.
    X, y = small_classification
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=3, random_state=0).fit(X, y)
    prediction = clf.predict(X)
    clf.set_params(callbacks=[object()])
    with pytest.raises(TypeError):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict(X), prediction)


def test_failed_refit_restores_the_plateau_count(small_classification):
    # A warm start after a failed refit continues the previous model's count
    # of epochs without improvement, not the failed fit's.
    X, y = small_classification
    reg = DeepMLPRegressor(depth=1, width=8, max_iter=6, tol=1e6, n_iter_no_change=50,
                           random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X, y)
        count = reg._no_improvement_count
        assert count > 1
        reg.set_params(callbacks=[_RaiseOnSecondEpoch()])
        with pytest.raises(RuntimeError):
            reg.fit(X, y)
    assert reg._no_improvement_count == count


def test_set_params_sets_an_optimizer_and_its_settings_in_one_call(small_classification):
    # The nested key applies to the optimizer the same call sets, as
    # scikit-learn's set_params does (a grid over instances and settings).
    clf = DeepMLPClassifier().set_params(optimizer=Adam(), optimizer__learning_rate=0.01)
    assert clf.optimizer.learning_rate == 0.01
    X, y = small_classification
    grid = GridSearchCV(
        DeepMLPClassifier(depth=1, width=4, max_iter=2, random_state=0),
        {"optimizer": [SGD(), Adam()], "optimizer__learning_rate": [0.01]}, cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
    assert grid.best_params_["optimizer__learning_rate"] == 0.01
