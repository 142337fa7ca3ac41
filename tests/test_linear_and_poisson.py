"""depth=0 (linear models) and DeepMLPRegressor(loss="poisson")."""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.metrics import mean_poisson_deviance
from sklearn.neural_network._base import poisson_loss
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet._losses import LOSSES
from sk_deepnet._network import Network
from sk_deepnet.callbacks import GradientMonitor

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(X_IRIS)
LINEAR = dict(depth=0, optimizer="lbfgs", dtype="float64", tol=1e-10, max_iter=1000)


def _poisson_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = rng.poisson(np.exp(X @ [0.3, -0.2, 0.1] + 0.5)).astype(float)
    return X, y


# --------------------------------------------------------------------- poisson
@pytest.mark.parametrize("weighted", [False, True])
def test_poisson_loss_is_scikit_learns_half_deviance(weighted):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(30, 1))
    y = rng.poisson(2.0, size=(30, 1)).astype(float)
    w = rng.uniform(0.5, 2, 30) if weighted else None
    delta = np.empty_like(z)
    loss = LOSSES["poisson"].loss_and_delta(z, y, w, 30 if w is None else w.sum(), delta)
    assert loss == pytest.approx(poisson_loss(y, np.exp(z), w), rel=1e-12)
    expected = (np.exp(z) - y) * (1 if w is None else w[:, None]) / (30 if w is None else w.sum())
    assert_allclose(delta, expected)


def test_poisson_network_loss_and_gradient_match_pytorch():
    # tests/fixtures/make_poisson_fixture.py recorded them with autograd
    ref = np.load(Path(__file__).parent / "fixtures" / "poisson_network.npz")
    network = Network([3, 4, 2], "tanh", "poisson", dtype=np.float64)
    for layer, (W, b) in enumerate([("W0", "b0"), ("W1", "b1")]):
        network.coefs[layer][...] = ref[W]
        network.intercepts[layer][...] = ref[b]
    w = ref["w"]
    loss = network.loss_and_gradient(ref["X"], ref["Y"], w, w.sum(), float(ref["alpha"]))
    assert loss == pytest.approx(float(ref["loss"]), rel=1e-12)
    for layer, (W, b) in enumerate([("W0", "b0"), ("W1", "b1")]):
        assert_allclose(network.coef_grads[layer], ref[f"grad_{W}"], rtol=1e-10)
        assert_allclose(network.intercept_grads[layer], ref[f"grad_{b}"], rtol=1e-10)


def test_poisson_predicts_the_exponential_of_the_output():
    X, y = _poisson_data()
    reg = DeepMLPRegressor(loss="poisson", depth=1, width=8, optimizer="lbfgs",
                           max_iter=500, random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp"
    raw = reg._network.predict_logits(X)
    assert_allclose(reg.predict(X), np.exp(raw).ravel())
    assert (reg.predict(X) > 0).all()


def test_depth0_poisson_is_the_poisson_glm():
    X, y = _poisson_data()
    glm = PoissonRegressor(alpha=0, tol=1e-10).fit(X, y)
    reg = DeepMLPRegressor(loss="poisson", alpha=0, **LINEAR).fit(X, y)
    # L-BFGS-B stops on a relative loss decrease of ~2e-9 (SciPy's ftol): the
    # parameters are known to ~sqrt(2e-9); scikit-learn's own test uses 1e-4
    assert_allclose(reg.predict(X), glm.predict(X), rtol=1e-4)
    assert_allclose(reg.coefs_[0].ravel(), glm.coef_, rtol=1e-3)


def test_poisson_refuses_negative_and_all_zero_targets():
    X, y = _poisson_data(20)
    with pytest.raises(ValueError, match="non-negative y.*1 negative value"):
        DeepMLPRegressor(loss="poisson").fit(X, np.r_[y[:-1], -1.0])
    with pytest.raises(ValueError, match="at least one positive value"):
        DeepMLPRegressor(loss="poisson").fit(X, np.zeros(20))
    # a stream may bring a batch of zeros
    reg = DeepMLPRegressor(loss="poisson", depth=1, width=4)
    reg.partial_fit(X, np.zeros(20))
    with pytest.raises(ValueError, match="non-negative"):
        reg.partial_fit(X, -y - 1)


def test_poisson_declares_positive_only_targets():
    # As PoissonRegressor: scikit-learn's checks then give it targets above 0.
    assert PoissonRegressor().__sklearn_tags__().target_tags.positive_only
    assert DeepMLPRegressor(loss="poisson").__sklearn_tags__().target_tags.positive_only
    assert not DeepMLPRegressor().__sklearn_tags__().target_tags.positive_only


def test_poisson_stochastic_fit_and_multi_output():
    X, y = _poisson_data(300)
    Y = np.c_[y, y + 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = DeepMLPRegressor(loss="poisson", depth=1, width=16, learning_rate=0.01,
                               max_iter=100, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (300, 2)
    glm = PoissonRegressor(alpha=0).fit(X, y)
    # as good a deviance as the true model class, give or take
    assert mean_poisson_deviance(y, reg.predict(X)[:, 0]) < 1.1 * mean_poisson_deviance(
        y, glm.predict(X)
    )


# ---------------------------------------------------------------------- depth 0
def test_depth0_classifier_is_logistic_regression():
    # alpha / (2 n) ||W||^2 on the mean loss is LogisticRegression's C = 1 / alpha.
    # Seeded: L-BFGS-B stops on its relative reduction of f (ftol 2.2e-9),
    # which leaves up to 1.1e-4 on the probabilities from some initial weights.
    clf = DeepMLPClassifier(alpha=1.0, random_state=0, **LINEAR).fit(X_IRIS, Y_IRIS)
    logreg = LogisticRegression(C=1.0, tol=1e-10, max_iter=1000).fit(X_IRIS, Y_IRIS)
    assert clf.n_layers_ == 2 and len(clf.coefs_) == 1
    assert_allclose(clf.predict_proba(X_IRIS), logreg.predict_proba(X_IRIS), atol=1e-4)


def test_depth0_regressor_is_ridge():
    X, y = make_regression(100, 4, noise=1.0, random_state=0)
    reg = DeepMLPRegressor(alpha=3.0, **LINEAR).fit(X, y)
    ridge = Ridge(alpha=3.0).fit(X, y)
    assert_allclose(reg.coefs_[0].ravel(), ridge.coef_, rtol=1e-6)
    assert_allclose(reg.intercepts_[0], ridge.intercept_, atol=1e-4)


@pytest.mark.parametrize(
    "option",
    [dict(normalization="batch"), dict(normalization="layer"), dict(dropout=0.5),
     dict(residual=True), dict(width=[]), dict(width=7)],
    ids=repr,
)
def test_hidden_layer_options_change_nothing_at_depth0(option):
    params = dict(depth=0, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = DeepMLPClassifier(**params).fit(X_IRIS, Y_IRIS)
        other = DeepMLPClassifier(**params, **option).fit(X_IRIS, Y_IRIS)
    assert_array_equal(plain.coefs_[0], other.coefs_[0])
    assert_array_equal(plain.intercepts_[0], other.intercepts_[0])


def test_depth0_width_list_must_be_empty():
    with pytest.raises(ValueError, match="sequence of depth=0 ints"):
        DeepMLPClassifier(depth=0, width=[3]).fit(X_IRIS, Y_IRIS)


def test_depth0_with_pretraining_monitor_partial_fit_and_pickle():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = DeepMLPClassifier(depth=0, max_iter=20, learning_rate=0.05, pretrain="rbm",
                                callbacks=[GradientMonitor()], random_state=0)
        clf.fit(X_IRIS, Y_IRIS)
    assert clf.pretrain_curves_ == []  # no hidden layer to pretrain
    assert clf.score(X_IRIS, Y_IRIS) > 0.8
    monitor = clf.callbacks_[0]
    assert monitor.n_layers_ == 1 and monitor.grad_norms_.shape == (20, 1)
    clf.partial_fit(X_IRIS, Y_IRIS)
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict_proba(X_IRIS), clf.predict_proba(X_IRIS))


def test_single_class_is_fitted_as_scikit_learn_does():
    y = np.array(["a"] * len(X_IRIS))
    clf = DeepMLPClassifier(depth=1, width=4, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_IRIS, y)
    assert_array_equal(clf.classes_, ["a"])
    assert_array_equal(clf.predict(X_IRIS[:4]), ["a"] * 4)
    # scikit-learn's MLPClassifier gives the same two columns for one class
    assert clf.predict_proba(X_IRIS[:4]).shape == (4, 2)
