"""Tests of :mod:`sk_deepnet.pretraining`: the RBMs and layer-wise pretraining."""

import math
import pickle
import warnings
from itertools import product

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM as SklearnRBM
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor, FitInterruptedWarning
from sk_deepnet import pretraining
from sk_deepnet._estimators import DivergenceWarning
from sk_deepnet._network import Network
from sk_deepnet.callbacks import Callback
from sk_deepnet.pretraining import (
    BernoulliRBM,
    GaussianBernoulliRBM,
    PretrainingWarning,
    load_stack,
    pretrain_stack,
)

# Fine-tuning runs a fixed, small number of epochs on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RBMS = [BernoulliRBM, GaussianBernoulliRBM]


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@pytest.fixture(scope="module")
def digits():
    """Digits in [0, 1] and standardized, with a stratified 25 % test split."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    return {
        "unit": (X_train, X_test, y_train, y_test),
        "standardized": (scaler.transform(X_train), scaler.transform(X_test), y_train, y_test),
    }


# ---------------------------------------------------------------- the RBMs
def _rbm_expected_failures(estimator):
    # A weight k equals k copies of a row only in expectation: each copy draws
    # its own Gibbs samples and the mini-batches differ (the deterministic
    # equivalence is test_integer_weights_equal_repeated_rows_with_mean_field).
    reason = "stochastic CD: integer weights equal repeated rows in expectation only"
    return dict.fromkeys(
        ["check_sample_weight_equivalence_on_dense_data",
         "check_sample_weight_equivalence_on_sparse_data"], reason
    )


@parametrize_with_checks(
    [BernoulliRBM(n_components=4, n_iter=3), GaussianBernoulliRBM(n_components=4, n_iter=3)],
    expected_failed_checks=_rbm_expected_failures,
)
def test_sklearn_compatible_rbm(estimator, check):
    with warnings.catch_warnings():
        # the checks' data are not standardized: GaussianBernoulliRBM says so
        warnings.filterwarnings("ignore", "GaussianBernoulliRBM models", UserWarning)
        check(estimator)


def test_cd1_update_matches_hand_computation():
    # Hidden unit 0 has bias +50 (always on), unit 1 bias -50 (always off): the
    # hidden samples are then certain, so one CD-1 step is computed by hand:
    #   v1 = sigmoid(b + W[0]),  dW[0] = lr * (mean(v0) - v1 - wd * W[0]),
    #   dW[1] = -lr * wd * W[1],  db = lr * (mean(v0) - v1),  dc = 0.
    v0 = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    rbm = BernoulliRBM(
        n_components=2, learning_rate=0.1, weight_decay=0.01, batch_size=2,
        momentum=0.0, initial_momentum=0.0, dtype="float64", random_state=0,
    ).partial_fit(v0)
    W = np.array([[1.0, -1.0, 0.5], [2.0, 0.0, -1.0]])
    rbm.components_[...] = W
    rbm.intercept_hidden_[...] = [50.0, -50.0]
    rbm.intercept_visible_[...] = [0.0, 0.5, -0.5]
    rbm.partial_fit(v0)

    # v1 = sigmoid([1, -0.5, 0]) = [0.7310586, 0.3775407, 0.5]; mean(v0) = [1, .5, .5]
    v1 = np.array([_sigmoid(1.0), _sigmoid(-0.5), 0.5])
    expected_dW0 = 0.1 * (np.array([1.0, 0.5, 0.5]) - v1 - 0.01 * W[0])
    assert_allclose(expected_dW0, [0.02589414, 0.01324593, -0.0005], atol=1e-8)
    assert_allclose(rbm.components_[0] - W[0], expected_dW0, atol=1e-7)
    assert_allclose(rbm.components_[1] - W[1], -0.1 * 0.01 * W[1], atol=1e-7)
    assert_allclose(rbm.intercept_hidden_, [50.0, -50.0], atol=1e-7)
    assert_allclose(
        rbm.intercept_visible_ - [0.0, 0.5, -0.5], 0.1 * (np.array([1.0, 0.5, 0.5]) - v1),
        atol=1e-7,
    )
    # reconstruction error: mean over both rows and 3 features of (v0 - v1)^2
    assert rbm.reconstruction_errors_[-1] == pytest.approx(np.mean((v0 - v1) ** 2))


@pytest.mark.parametrize("momentum_switch, factor", [(1, 0.9), (2, 0.5)])
def test_momentum_schedule(momentum_switch, factor):
    # Epoch 1 leaves momentum increments; epoch 2 then has a zero gradient
    # (hidden units certain as above, W = 0 and b = 0 give v1 = 0.5 = the data),
    # so the weights move by exactly momentum * the previous increment.
    rbm = BernoulliRBM(
        n_components=2, batch_size=2, weight_decay=0.01, momentum=0.9,
        initial_momentum=0.5, momentum_switch=momentum_switch, dtype="float64",
        random_state=0,
    ).partial_fit(np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]))
    increment = rbm._weight_inc.copy()
    rbm.components_[...] = 0.0
    rbm.intercept_hidden_[...] = [50.0, -50.0]
    rbm.intercept_visible_[...] = 0.0
    rbm.partial_fit(np.full((2, 3), 0.5))
    assert_allclose(rbm.components_, factor * increment, atol=1e-12)
    assert np.abs(increment).max() > 1e-3


def test_persistent_chains_are_binary_and_carried_over(digits):
    X = digits["unit"][0][:200]
    rbm = BernoulliRBM(n_components=16, batch_size=50, persistent=True, random_state=0)
    rbm.partial_fit(X)
    chains = rbm.h_samples_.copy()
    assert chains.shape == (50, 16)
    assert set(np.unique(chains)) <= {0.0, 1.0}
    rbm.partial_fit(X)
    assert not np.array_equal(chains, rbm.h_samples_)


@pytest.mark.parametrize(
    "Rbm, data", [(BernoulliRBM, "unit"), (GaussianBernoulliRBM, "standardized")]
)
def test_reconstruction_error_falls(digits, Rbm, data):
    X = digits[data][0]
    rbm = Rbm(n_components=32, n_iter=10, random_state=0).fit(X)
    errors = rbm.reconstruction_errors_
    assert len(errors) == rbm.n_iter_ == 10
    assert errors[-1] < 0.7 * errors[0]
    assert np.all(np.diff(errors[2:]) < 0.01 * errors[0])  # no blow-up after warm-up


def test_free_energy_and_pseudo_likelihood_match_brute_force():
    rng = np.random.default_rng(0)
    X = (rng.random((5, 4)) < 0.5).astype(np.float64)
    for Rbm in RBMS:
        rbm = Rbm(n_components=3, n_iter=2, batch_size=5, dtype="float64", random_state=0)
        rbm.fit(X)
        W, c, b = rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
        states = np.array(list(product([0.0, 1.0], repeat=3)))  # every hidden state

        def energy(v):
            visible = 0.5 * np.sum((v - b) ** 2) if Rbm is GaussianBernoulliRBM else -v @ b
            return visible - states @ c - states @ (W @ v)

        free_energy = np.array([-np.logaddexp.reduce(-energy(v)) for v in X])
        assert_allclose(rbm.score_samples(X), -free_energy, rtol=1e-10)

    # pseudo-log-likelihood: sum_i log p(v_i | v_-i) = -sum_i log(1 + exp(F(v) - F(flip_i v)))
    rbm = BernoulliRBM(n_components=3, n_iter=2, batch_size=5, dtype="float64",
                       random_state=0).fit(X)
    pll = np.zeros(len(X))
    for i in range(X.shape[1]):
        flipped = X.copy()
        flipped[:, i] = 1 - flipped[:, i]
        pll -= np.logaddexp(0, rbm.score_samples(flipped) - rbm.score_samples(X))
    assert_allclose(rbm.pseudo_log_likelihood(X), pll, rtol=1e-10)


def test_pseudo_log_likelihood_is_the_mean_of_sklearns_estimate(digits):
    # scikit-learn's score_samples flips one random feature j per sample and
    # returns n_features * log p(v_j | v_-j): on copies of one row its mean
    # tends to the exact sum over j, pseudo_log_likelihood.
    X = (digits["unit"][0][:5, 20:28] > 0.5).astype(float)
    rbm = BernoulliRBM(n_components=6, n_iter=3, dtype="float64", random_state=0)
    rbm.fit(digits["unit"][0][:300, 20:28])
    theirs = SklearnRBM(n_components=6, random_state=0)
    theirs.components_ = rbm.components_
    theirs.intercept_hidden_ = rbm.intercept_hidden_
    theirs.intercept_visible_ = rbm.intercept_visible_
    theirs.n_features_in_ = X.shape[1]
    estimates = theirs.score_samples(np.tile(X, (4000, 1))).reshape(4000, len(X))
    standard_error = estimates.std(axis=0) / np.sqrt(len(estimates))
    difference = np.abs(estimates.mean(axis=0) - rbm.pseudo_log_likelihood(X))
    assert np.all(difference < 4 * standard_error)
    assert standard_error.max() < 0.1  # a test that can tell


def test_initialization_follows_the_recipe(digits):
    # A vanishing learning rate leaves the initial parameters after one epoch:
    # weights init_scale * N(0, 1), hidden biases 0, visible biases the
    # log-odds of each feature's mean (clipped to [0.001, 0.999]).
    X = digits["unit"][0]
    rbm = BernoulliRBM(n_components=64, learning_rate=1e-12, dtype="float64", random_state=0)
    rbm.partial_fit(X)
    p = np.clip(X.mean(axis=0), 1e-3, 1 - 1e-3)
    assert_allclose(rbm.intercept_visible_, np.log(p / (1 - p)), atol=1e-9)
    assert_allclose(rbm.intercept_hidden_, 0, atol=1e-9)
    assert rbm.components_.std() == pytest.approx(0.1, rel=0.05)
    assert abs(rbm.components_.mean()) < 0.01


@pytest.mark.parametrize("Rbm", RBMS)
def test_pickle_round_trip_keeps_transform_exact(digits, Rbm):
    X = digits["standardized" if Rbm is GaussianBernoulliRBM else "unit"][0][:300]
    rbm = Rbm(n_components=16, n_iter=2, random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(rbm))
    assert_array_equal(restored.transform(X), rbm.transform(X))
    assert_array_equal(restored.score_samples(X), rbm.score_samples(X))
    assert_array_equal(restored.gibbs(X[:5]), rbm.gibbs(X[:5]))  # same generator state


def test_partial_fit_returns_self_and_keeps_float32(digits):
    X = digits["unit"][0][:150]  # float64
    rbm = BernoulliRBM(n_components=8, batch_size=50, random_state=0)
    assert rbm.partial_fit(X) is rbm
    assert rbm.partial_fit(X) is rbm
    assert rbm.n_iter_ == 2 and len(rbm.reconstruction_errors_) == 2
    for attribute in ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_"):
        assert getattr(rbm, attribute).dtype == np.float32
    assert rbm.transform(X).dtype == np.float64  # prediction in the precision of X
    assert rbm.transform(X.astype(np.float32)).dtype == np.float32
    assert_allclose(rbm.transform(X.astype(np.float32)), rbm.transform(X), atol=1e-6)


def test_partial_fit_is_one_epoch_of_mini_batches(digits):
    # scikit-learn's partial_fit takes one step on all of X; this one runs
    # len(X) / batch_size steps, exactly fit's first epoch.
    X = digits["unit"][0][:95]
    params = dict(n_components=8, batch_size=10, random_state=3)
    one_epoch = BernoulliRBM(n_iter=1, **params).fit(X)
    partial = BernoulliRBM(**params).partial_fit(X)
    assert_array_equal(partial.components_, one_epoch.components_)
    assert_array_equal(partial.intercept_visible_, one_epoch.intercept_visible_)
    assert partial.n_iter_ == 1


def test_float32_transform_keeps_small_probabilities_accurate():
    # Total inputs from -30 to 5: probabilities down to 1e-13, which the tanh
    # form of the sigmoid (training's) would round to multiples of 6e-8 in float32.
    rbm = BernoulliRBM(n_components=36, n_iter=1, random_state=0).fit([[0.0], [1.0]])
    rbm.components_ = np.full((36, 1), 0.5)
    rbm.intercept_hidden_ = np.linspace(-30.0, 5.0, 36)
    X = np.array([[0.0], [1.0]])
    exact = 1 / (1 + np.exp(-(X @ rbm.components_.T + rbm.intercept_hidden_)))
    assert_allclose(rbm.transform(X.astype(np.float32)), exact, rtol=1e-6)
    assert_allclose(rbm.transform(X), exact, rtol=1e-13)


def test_one_random_state_drives_everything(digits):
    X = digits["unit"][0][:200]
    a = BernoulliRBM(n_components=8, n_iter=3, random_state=7).fit(X)
    b = BernoulliRBM(n_components=8, n_iter=3, random_state=7).fit(X)
    c = BernoulliRBM(n_components=8, n_iter=3, random_state=8).fit(X)
    assert_array_equal(a.components_, b.components_)
    assert_array_equal(a.gibbs(X[:4]), b.gibbs(X[:4]))
    assert not np.array_equal(a.components_, c.components_)


def test_sparse_input_trains_like_dense(digits):
    X = digits["unit"][0][:300]
    dense = BernoulliRBM(n_components=8, n_iter=3, random_state=0).fit(X)
    sparse = BernoulliRBM(n_components=8, n_iter=3, random_state=0).fit(sp.csr_matrix(X))
    assert_allclose(sparse.components_, dense.components_, atol=1e-5)
    assert_allclose(sparse.transform(sp.csr_matrix(X)), dense.transform(X), atol=1e-6)
    assert_allclose(sparse.score_samples(sp.csr_matrix(X)), dense.score_samples(X), rtol=1e-5)


def test_gaussian_rbm_warns_on_unstandardized_data_and_recovers_from_divergence(digits):
    X = digits["unit"][0][:300] * 16  # pixel values 0..16
    rbm = GaussianBernoulliRBM(n_components=8, n_iter=5, learning_rate=100.0, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rbm.fit(X)
    messages = [str(w.message) for w in caught]
    assert [w.category for w in caught] == [UserWarning, DivergenceWarning], messages
    assert "standardize X" in messages[0] and "last finite epoch" in messages[1]
    assert np.isfinite(rbm.components_).all()
    assert rbm.n_iter_ == len(rbm.reconstruction_errors_) < 5
    assert "Lower learning_rate (now 100)" in messages[1]


@pytest.mark.parametrize("rate", [100.0, "auto"])
def test_a_divergence_in_pretraining_names_pretrain_learning_rate(digits, rate):
    # The user sets the estimator's pretrain_learning_rate, not an RBM's
    # learning_rate: the warning names what to change, and the hidden layer.
    X = digits["unit"][0][:300] * 16  # unstandardized: Gaussian visible units
    if rate == "auto":  # the class default diverges on data scaled up further
        X = X * 1e3
    est = DeepMLPClassifier(depth=1, width=8, pretrain="rbm", pretrain_epochs=5,
                            pretrain_learning_rate=rate, pretrain_visible="gaussian",
                            random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.pretrain_fit(X)
    messages = [str(w.message) for w in caught if w.category is DivergenceWarning]
    assert messages, [str(w.message) for w in caught]
    assert "GaussianBernoulliRBM of hidden layer 1" in messages[0]
    expected = "(now 100)" if rate != "auto" else "(now 'auto', 0.01 for this RBM)"
    assert f"Lower pretrain_learning_rate {expected}" in messages[0], messages[0]
    assert "Lower learning_rate" not in messages[0]


# ------------------------------------------------------ layer-wise pretraining
DEEP_SIGMOID = dict(
    depth=5, width=100, activation="sigmoid", init="normal", init_scale=0.01,
    optimizer="sgd", learning_rate=0.1, batch_size=32, max_iter=30, random_state=0,
)


@pytest.mark.parametrize("data", ["unit", "standardized"])  # Bernoulli / Gaussian visibles
def test_pretraining_rescues_a_deep_sigmoid_network(digits, data):
    # Full size (the example's setting): 5 x 100 sigmoid layers, init 0.01 * N(0, 1).
    # One BLAS thread: these matrices are small, and on a busy machine several
    # threads slow training down many-fold (the accuracy does not depend on it).
    X_train, X_test, y_train, y_test = digits[data]
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # ConvergenceWarning
        plain = DeepMLPClassifier(**DEEP_SIGMOID).fit(X_train, y_train)
        pretrained = DeepMLPClassifier(**DEEP_SIGMOID, pretrain="rbm").fit(X_train, y_train)
    assert plain.score(X_test, y_test) < 0.2  # stays near chance (0.1)
    assert pretrained.score(X_test, y_test) >= 0.9
    assert plain.pretrain_curves_ is None
    assert len(pretrained.pretrain_curves_) == 5
    assert all(len(curve) == 50 for curve in pretrained.pretrain_curves_)


def test_auto_visible_units(digits):
    rng = np.random.default_rng(0)
    unit = pretrain_stack(digits["unit"][0][:60], [4], rng, n_iter=1)
    standardized = pretrain_stack(digits["standardized"][0][:60], [4], rng, n_iter=1)
    forced = pretrain_stack(digits["unit"][0][:60], [4], rng, n_iter=1, visible="gaussian")
    assert (unit.visible, standardized.visible, forced.visible) == (
        "bernoulli", "gaussian", "gaussian",
    )


def test_bernoulli_visible_units_on_data_outside_the_unit_interval_warn(digits):
    rng = np.random.default_rng(0)
    X_unit = digits["unit"][0][:60]
    with pytest.warns(PretrainingWarning, match=r"X lies in \[0, 16\], not \[0, 1\]"):
        stack = pretrain_stack(X_unit * 16, [4], rng, n_iter=1, visible="bernoulli")
    assert stack.visible == "bernoulli"  # the user's choice stands
    with warnings.catch_warnings():
        warnings.simplefilter("error", PretrainingWarning)
        pretrain_stack(X_unit, [4], rng, n_iter=1, visible="bernoulli")


def test_min_max_scaled_data_counts_as_the_unit_interval():
    # MinMaxScaler's rounding may give 1.0000000000000002: still [0, 1], for
    # "auto" (Bernoulli units) and without a warning for "bernoulli".
    from sklearn.datasets import make_classification
    from sklearn.preprocessing import MinMaxScaler

    X, y = make_classification(300, 20, random_state=1)
    X = MinMaxScaler().fit_transform(X)
    assert X.max() > 1  # the rounding this test is about
    stack = pretrain_stack(X, [4], np.random.default_rng(0), n_iter=1)
    assert stack.visible == "bernoulli"
    clf = DeepMLPClassifier(depth=1, width=4, activation="sigmoid", max_iter=1, pretrain="rbm",
                            pretrain_epochs=1, pretrain_visible="bernoulli", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PretrainingWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)


def _hidden_activations(network, X):
    ws = network._new_workspace(X.shape[0], train=False)
    network.forward(X.astype(network.dtype), ws, train=False)
    return [a[: X.shape[0]].astype(np.float64) for a in ws["a"]]


@pytest.mark.parametrize(
    "activation, normalization", [("sigmoid", None), ("tanh", None), ("sigmoid", "batch"),
                                  ("tanh", "batch")],
)
def test_loaded_network_computes_the_pretrained_features(digits, activation, normalization):
    X = digits["unit"][0][:400]
    stack = pretrain_stack(X, [20, 10, 10], np.random.default_rng(0), n_iter=3,
                           dtype=np.float64)
    network = Network([64, 20, 10, 10, 3], activation, "softmax_cross_entropy",
                      normalization=normalization, dtype=np.float64)
    network.initialize(np.random.default_rng(1), "normal", 0.01)
    load_stack(network, stack)
    probabilities, h = [], X
    for weight, bias, _, _ in stack.layers:  # the RBM stack's own features
        h = 1 / (1 + np.exp(-(h @ weight + bias)))
        probabilities.append(h)
    for p, a in zip(probabilities, _hidden_activations(network, X)):
        expected = p if activation == "sigmoid" else 2 * p - 1  # tanh(z/2) = 2 sigmoid(z) - 1
        assert_allclose(a, expected, atol=1e-8)


def test_other_activations_layer_norm_and_residual_warn(digits):
    X, _, y, _ = digits["unit"]
    small = dict(depth=5, width=8, pretrain="rbm", pretrain_epochs=1, max_iter=1,
                 random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("error", category=PretrainingWarning)
        DeepMLPClassifier(activation="sigmoid", **small).fit(X[:200], y[:200])  # no warning
    with warnings.catch_warnings():  # relu gets rectified RBM units: exact, no warning
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("error", category=PretrainingWarning)
        DeepMLPClassifier(activation="relu", **small).fit(X[:200], y[:200])
    with pytest.warns(PretrainingWarning, match="sigmoid units, but activation='relu'"):
        DeepMLPClassifier(activation="relu", pretrain_hidden_units="sigmoid", **small).fit(
            X[:200], y[:200]
        )
    with pytest.warns(PretrainingWarning, match="rectified units, but activation='tanh'"):
        DeepMLPClassifier(activation="tanh", pretrain_hidden_units="rectified", **small).fit(
            X[:200], y[:200]
        )
    with pytest.warns(PretrainingWarning, match="normalization='layer'"):
        DeepMLPClassifier(activation="sigmoid", normalization="layer", **small).fit(
            X[:200], y[:200]
        )
    with pytest.warns(PretrainingWarning, match="first 3 of the 5 hidden layers"):
        clf = DeepMLPClassifier(activation="sigmoid", residual=True, **small)
        clf.fit(X[:200], y[:200])
    assert len(clf.pretrain_curves_) == 3  # the stem and the first block of 2


class _RecordFirstWeights(Callback):
    def on_fit_begin(self, estimator, X=None, y=None):
        self.first_coefs_ = [w.copy() for w in estimator.coefs_]


def test_pretrain_fit_then_fit_on_fewer_labels(digits, monkeypatch):
    X_train, X_test, y_train, y_test = digits["unit"]
    clf = DeepMLPClassifier(
        depth=2, width=16, activation="sigmoid", pretrain_epochs=3, max_iter=3,
        callbacks=[_RecordFirstWeights()], random_state=0,
    )
    assert clf.pretrain_fit(X_train) is clf
    stack = clf._pretrained_stack
    assert len(clf.pretrain_curves_) == 2
    with pytest.raises(NotFittedError):
        clf.predict(X_test)  # pretrained, not fitted

    calls = []
    original = pretraining.pretrain_stack
    monkeypatch.setattr(
        pretraining, "pretrain_stack", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        clf.fit(X_train[:100], y_train[:100])  # few labels; pretrain=None
    assert calls == []  # the stored weights were used, no new pretraining
    first = clf.callbacks_[0].first_coefs_
    assert_array_equal(first[0], stack.layers[0][0].astype(np.float32))
    assert_array_equal(first[1], stack.layers[1][0].astype(np.float32))

    proba = clf.predict_proba(X_test)
    clf.set_params(pretrain_epochs=1).pretrain_fit(X_test)  # leaves the fitted net alone
    assert_array_equal(clf.predict_proba(X_test), proba)

    with pytest.warns(PretrainingWarning, match="do not match"):  # another architecture
        clf.set_params(width=12, max_iter=1).fit(X_train[:100], y_train[:100])
    assert clf.pretrain_curves_ is None


def test_no_pretraining_when_continuing(digits, monkeypatch):
    X, _, y, _ = digits["unit"]
    calls = []
    original = pretraining.pretrain_stack
    monkeypatch.setattr(
        pretraining, "pretrain_stack", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    small = dict(depth=2, width=8, activation="sigmoid", pretrain="rbm", pretrain_epochs=1,
                 max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        clf = DeepMLPClassifier(**small).fit(X[:200], y[:200])
        assert len(calls) == 1
        clf.set_params(warm_start=True).fit(X[:200], y[:200])
        clf.partial_fit(X[:200], y[:200])
        assert len(calls) == 1
        reg = DeepMLPRegressor(**small).partial_fit(X[:200], y[:200].astype(float))
        assert len(calls) == 2  # a first partial_fit is a fresh fit
        reg.partial_fit(X[:200], y[:200].astype(float))
        assert len(calls) == 2


def test_keyboard_interrupt_keeps_completed_layers(digits, monkeypatch):
    X, X_test, y, y_test = digits["unit"]
    original = BernoulliRBM._fit_with_rng
    calls = []

    def interrupt_second_layer(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BernoulliRBM, "_fit_with_rng", interrupt_second_layer)
    clf = DeepMLPClassifier(depth=3, width=32, activation="sigmoid", pretrain="rbm",
                            pretrain_epochs=5, max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        with pytest.warns(FitInterruptedWarning, match="1 layer"):
            clf.fit(X, y)
    assert len(clf.pretrain_curves_) == 1 and len(clf.pretrain_curves_[0]) == 5
    assert clf.n_iter_ == 20  # fine-tuning went on
    assert clf.score(X_test, y_test) > 0.5


def test_pretraining_sparse_and_float64_input(digits):
    X = digits["unit"][0][:300]
    dense = pretrain_stack(X, [8, 8], np.random.default_rng(0), n_iter=2)
    sparse = pretrain_stack(sp.csr_matrix(X), [8, 8], np.random.default_rng(0), n_iter=2)
    f32 = pretrain_stack(X.astype(np.float32), [8, 8], np.random.default_rng(0), n_iter=2)
    for other in (sparse, f32):
        for (w1, *_), (w2, *_) in zip(dense.layers, other.layers):
            assert w1.dtype == w2.dtype == np.float32
            assert_allclose(w1, w2, atol=1e-5)


@pytest.mark.parametrize(
    "params", [{"pretrain": "dbn"}, {"pretrain_visible": "poisson"}, {"pretrain_epochs": 0},
               {"pretrain_learning_rate": -1.0}, {"pretrain_momentum": 1.5}],
)
def test_invalid_pretraining_parameters(digits, params):
    X, _, y, _ = digits["unit"]
    with pytest.raises(ValueError, match=next(iter(params))):
        DeepMLPClassifier(**params).fit(X[:50], y[:50])


def test_pretrain_fit_validates_x_like_fit():
    # The same checks as fit: a float64 X beyond the float32 range of the
    # training dtype is refused with a clear message, not pretrained into inf.
    X = np.ones((20, 4))
    X[0, 0] = 1e39
    clf = DeepMLPClassifier(depth=1, width=4, pretrain_epochs=1, random_state=0)
    with pytest.raises(ValueError, match="X has values beyond the float32 range"):
        clf.pretrain_fit(X)
    with pytest.raises(ValueError, match="NaN"):
        clf.pretrain_fit(np.full((5, 4), np.nan))
    clf.set_params(dtype="float64").pretrain_fit(X / 1e39)
    assert len(clf.pretrain_curves_) == 1


# ------------------------------------------------------ rectified hidden units
def test_rectified_cd1_update_matches_hand_computation():
    # One CD-1 step of noisy rectified hidden units (Nair & Hinton 2010), with
    # the same normal draws: h0 ~ max(0, z0 + N(0, sigmoid(z0))), v1 =
    # sigmoid(b + h0 W), z1 = c + v1 W^T; the statistics use max(0, z).
    v0 = np.array([[1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0]])
    rbm = BernoulliRBM(
        n_components=3, hidden_units="rectified", learning_rate=0.1, weight_decay=0.0,
        batch_size=3, momentum=0.0, initial_momentum=0.0, shuffle=False,
        dtype="float64", random_state=0,
    ).partial_fit(v0)
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 4))
    c, b = np.array([0.5, -0.3, 0.1]), np.array([0.2, -0.1, 0.0, 0.3])
    rbm.components_[...], rbm.intercept_hidden_[...], rbm.intercept_visible_[...] = W, c, b
    rbm._rng = np.random.default_rng(7)
    rbm.partial_fit(v0)

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    z0 = v0 @ W.T + c
    noise = np.random.default_rng(7).standard_normal(z0.shape)
    h0 = np.maximum(0, z0 + np.sqrt(sigmoid(z0)) * noise)
    v1 = sigmoid(b + h0 @ W)
    z1 = v1 @ W.T + c
    dW = 0.1 * (np.maximum(z0, 0).T @ v0 - np.maximum(z1, 0).T @ v1) / 3
    assert_allclose(rbm.components_ - W, dW, atol=1e-12)
    assert_allclose(
        rbm.intercept_hidden_ - c, 0.1 * (np.maximum(z0, 0) - np.maximum(z1, 0)).mean(axis=0),
        atol=1e-12,
    )
    assert_allclose(rbm.intercept_visible_ - b, 0.1 * (v0 - v1).mean(axis=0), atol=1e-12)
    assert rbm.reconstruction_errors_[-1] == pytest.approx(np.mean((v0 - v1) ** 2))


def test_noisy_rectified_samples_have_the_right_mean():
    # E[max(0, z + s e)] = z Phi(z / s) + s phi(z / s), s = sqrt(sigmoid(z)).
    from scipy.stats import norm

    rbm = BernoulliRBM(hidden_units="rectified")
    z = np.repeat(np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]]), 40000, axis=0)
    samples = rbm._sample_hidden(z.copy(), np.empty_like(z), np.random.default_rng(0))
    s = np.sqrt(1 / (1 + np.exp(-z[0])))
    expected = z[0] * norm.cdf(z[0] / s) + s * norm.pdf(z[0] / s)
    assert samples.min() >= 0
    assert_allclose(samples.mean(axis=0), expected, atol=0.01)
    assert_allclose(samples.std(axis=0)[-1], s[-1], atol=0.01)  # z = 3: rarely clipped


@pytest.mark.parametrize(
    "Rbm, data", [(BernoulliRBM, "unit"), (GaussianBernoulliRBM, "standardized")]
)
def test_rectified_rbm_trains_and_transforms_to_relu_features(digits, Rbm, data):
    X = digits[data][0][:500]
    rbm = Rbm(n_components=32, hidden_units="rectified", n_iter=6, random_state=0).fit(X)
    errors = rbm.reconstruction_errors_
    assert np.isfinite(errors).all() and errors[-1] < 0.95 * errors[0]
    H = rbm.transform(X)
    assert H.min() == 0.0 and H.max() > 0
    assert_allclose(H, np.maximum(X @ rbm.components_.T + rbm.intercept_hidden_, 0), atol=1e-5)
    v = rbm.gibbs(X[:5])
    assert v.shape == (5, X.shape[1]) and np.isfinite(v).all()
    # The free energy of rectified units has no closed form.
    assert not hasattr(rbm, "score_samples")
    with pytest.raises(AttributeError, match="score_samples"):
        rbm.score_samples(X)
    if Rbm is BernoulliRBM:
        assert not hasattr(rbm, "pseudo_log_likelihood")


@pytest.mark.parametrize(
    "activation, expected",
    [("relu", "rectified"), ("leaky_relu", "rectified"), ("elu", "rectified"),
     ("gelu", "rectified"), ("softplus", "rectified"), ("sigmoid", "sigmoid"),
     ("logistic", "sigmoid"), ("tanh", "sigmoid"), ("selu", "sigmoid"),
     ("identity", "sigmoid")],
)
def test_auto_hidden_units_follow_the_activation(activation, expected):
    assert pretraining.resolve_hidden_units("auto", activation) == expected
    assert pretraining.resolve_hidden_units("sigmoid", activation) == "sigmoid"


def test_unit_interval_scaling_fold_is_exact():
    rng = np.random.default_rng(0)
    H = np.maximum(rng.normal(size=(50, 6)), 0)
    H[:, 2] = 0  # a dead feature keeps scale 1
    raw = H.copy()
    lo, scale = pretraining._scale_to_unit_interval(H)
    assert scale[2] == 1.0
    assert H.min() == 0.0 and H.max() == 1.0
    assert_allclose(H.max(axis=0), [1, 1, 0, 1, 1, 1])
    W, c = rng.normal(size=(6, 4)), rng.normal(size=4)
    W2, c2 = pretraining._fold_scaling(W, c, lo, scale)
    assert_allclose(raw @ W2 + c2, H @ W + c, atol=1e-12)


def test_relu_network_computes_the_rectified_features(digits):
    X = digits["unit"][0][:300]
    stack = pretrain_stack(X, [20, 10], np.random.default_rng(0), n_iter=3,
                           hidden_units="rectified", dtype=np.float64)
    assert stack.hidden_units == "rectified"
    network = Network([64, 20, 10, 3], "relu", "softmax_cross_entropy", dtype=np.float64)
    network.initialize(np.random.default_rng(1), "he_uniform")
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=PretrainingWarning)
        load_stack(network, stack)
    h = X
    for (weight, bias, z_mean, z_var), a in zip(stack.layers, _hidden_activations(network, X)):
        z = h @ weight + bias
        assert_allclose(z.mean(axis=0), z_mean, atol=1e-8)
        assert_allclose(z.var(axis=0), z_var, atol=1e-8)
        h = np.maximum(z, 0)
        assert_allclose(a, h, atol=1e-8)
    assert np.isfinite(stack.curves).all()


def test_rectified_pretraining_gives_a_relu_network_a_head_start(digits):
    X_train, X_test, y_train, y_test = digits["unit"]
    params = dict(
        depth=2, width=64, activation="relu", pretrain_epochs=5,
        pretrain_learning_rate=0.05, optimizer="sgd", learning_rate=0.1, batch_size=32,
        max_iter=2, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=PretrainingWarning)
        pretrained = DeepMLPClassifier(pretrain="rbm", **params).fit(X_train, y_train)
    plain = DeepMLPClassifier(**params).fit(X_train, y_train)
    for curve in pretrained.pretrain_curves_:
        assert curve[-1] < curve[0]
    # After 2 epochs of fine-tuning: about 0.90 against 0.52 without pretraining.
    assert pretrained.score(X_test, y_test) > plain.score(X_test, y_test) + 0.2


def test_verbose_prints_every_epoch_and_h_samples_holds_persistent_chains_only(capsys):
    # Two of the Notes' differences from scikit-learn's BernoulliRBM.
    X = np.random.default_rng(0).random((20, 4))
    rbm = pretraining.BernoulliRBM(n_components=2, n_iter=1, batch_size=10, verbose=1,
                                   random_state=0).fit(X)
    rbm.partial_fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "[BernoulliRBM] Iteration 1", "[BernoulliRBM] Iteration 2",
    ]
    assert "reconstruction error" in lines[0]
    assert not rbm.h_samples_.any()  # CD: no chains
    pcd = pretraining.BernoulliRBM(n_components=2, n_iter=1, batch_size=10, persistent=True,
                                   random_state=0).fit(X)
    assert pcd.h_samples_.any()


def test_a_fit_whose_columns_are_not_pretrain_fits_ignores_its_weights():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.random((40, 4)), columns=["a", "b", "c", "d"])
    y = (X["a"] > 0.5).astype(int)
    params = dict(depth=1, width=3, max_iter=2, pretrain_epochs=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # The same columns: the pretrained weights are loaded, without a warning.
        clf = DeepMLPClassifier(**params).pretrain_fit(X)
        curves = clf.pretrain_curves_
        with warnings.catch_warnings():
            warnings.simplefilter("error", pretraining.PretrainingWarning)
            assert clf.fit(X, y).pretrain_curves_ == curves
        # An unnamed X of the same shape: nothing to compare, loaded too.
        assert DeepMLPClassifier(**params).pretrain_fit(X.to_numpy()).fit(X, y).pretrain_curves_
        # Reordered columns: the first layer would meet other features.
        clf = DeepMLPClassifier(**params).pretrain_fit(X)
        with pytest.warns(pretraining.PretrainingWarning, match=r"feature names \['a'"):
            clf.fit(X[["d", "c", "b", "a"]], y)
    assert clf.pretrain_curves_ is None  # ignored (pretrain=None: nothing pretrained)


# --------------------------------------- RBM partial_fit and dtypes (tester s4t2 #5, #6)
@pytest.mark.parametrize("RBM", RBMS)
@pytest.mark.parametrize("change", [
    {"n_components": 6}, {"dtype": "float64"}, {"hidden_units": "rectified"},
    {"n_components": 3, "dtype": "float64"},
])
def test_rbm_partial_fit_refuses_a_changed_machine_and_stays_as_it_was(RBM, change):
    X = (np.random.RandomState(0).rand(30, 5) > 0.5).astype(float)
    rbm = RBM(n_components=4, batch_size=10, random_state=0).partial_fit(X)
    before = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in vars(rbm).items()
              if k != "_rng"}
    rng_state = rbm._rng.bit_generator.state
    original = rbm.get_params()
    rbm.set_params(**change)
    with pytest.raises(ValueError) as info:
        rbm.partial_fit(X)
    message = str(info.value)
    for name, value in change.items():
        assert f"{name} changed from {original[name]!r} to {value!r}" in message
        assert f"{name} back to {original[name]!r}" in message
    assert "call fit to train a new RBM" in message
    # All or nothing: the fitted state, its random stream and n_iter_ are untouched.
    assert rbm._rng.bit_generator.state == rng_state
    assert set(vars(rbm)) == set(before) | {"_rng"}
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            assert_array_equal(getattr(rbm, key), value)
    assert rbm.n_iter_ == 1
    # The advice works: the old values continue, fit trains the new machine.
    rbm.set_params(**{name: original[name] for name in change}).partial_fit(X)
    assert rbm.n_iter_ == 2
    rbm.set_params(**change, n_iter=1).fit(X)
    assert rbm.components_.shape[0] == rbm.n_components
    assert rbm.components_.dtype == np.dtype(rbm.dtype)


@pytest.mark.parametrize("RBM", RBMS)
def test_rbm_computes_with_the_units_it_was_fitted_with(RBM):
    # set_params(hidden_units=...) after fit is for the next fit, as the MLPs'
    # activation: transform, gibbs and score_samples go on with the fitted units.
    X = (np.random.RandomState(0).rand(40, 5) > 0.5).astype(float)
    rbm = RBM(n_components=4, batch_size=10, n_iter=2, random_state=0).fit(X)
    features = rbm.transform(X)
    assert features.min() > 0  # sigmoid units
    rbm.set_params(hidden_units="rectified")
    assert_array_equal(rbm.transform(X), features)
    assert hasattr(rbm, "score_samples")  # the free energy of sigmoid units
    rbm.fit(X)
    assert rbm.transform(X).min() == 0.0 and not hasattr(rbm, "score_samples")
    rbm.set_params(hidden_units="sigmoid")
    assert rbm.transform(X).min() == 0.0
    assert not hasattr(rbm, "score_samples")


@pytest.mark.parametrize("RBM", RBMS)
@pytest.mark.parametrize("invalid", [{"dtype": np.float32}, {"dtype": "bogus"},
                                     {"n_components": 0}, {"learning_rate": -1.0}])
def test_rbm_partial_fit_validates_the_parameters_of_a_fitted_rbm(RBM, invalid):
    # scikit-learn's _fit_context validates in fit only: a continued partial_fit
    # called dtype=np.float32 "changed" (or crashed with a KeyError), and took
    # a negative learning_rate.
    X = (np.random.RandomState(0).rand(30, 5) > 0.5).astype(float)
    rbm = RBM(n_components=4, batch_size=10, random_state=0).partial_fit(X)
    components = rbm.components_.copy()
    with pytest.raises(ValueError, match=f"The '{next(iter(invalid))}' parameter"):
        rbm.set_params(**invalid).partial_fit(X)
    assert_array_equal(rbm.components_, components)
    assert rbm.n_iter_ == 1


def test_rbm_partial_fit_goes_on_when_other_parameters_change():
    X = (np.random.RandomState(0).rand(30, 5) > 0.5).astype(float)
    rbm = BernoulliRBM(n_components=4, batch_size=10, random_state=0).partial_fit(X)
    rbm.set_params(learning_rate=0.01, batch_size=7, cd_steps=2).partial_fit(X.astype(np.float32))
    assert rbm.n_iter_ == 2
    # An RBM pickled without the record of its hidden units is not refused.
    del rbm.__dict__["_fitted_hidden_units"]
    assert pickle.loads(pickle.dumps(rbm)).partial_fit(X).n_iter_ == 3


@pytest.mark.parametrize("RBM", RBMS)
@pytest.mark.parametrize("fit_dtype, dtype", [
    ("float64", np.float32), ("float32", np.float64), ("float64", np.float64),
])
def test_rbm_methods_compute_in_xs_precision_whatever_the_fit(RBM, fit_dtype, dtype):
    # The Notes of BernoulliRBM: results in X's precision, whatever dtype and the fit's X.
    X = (np.random.RandomState(0).rand(30, 5) > 0.5).astype(np.float64)
    rbm = RBM(n_components=3, n_iter=1, dtype=fit_dtype, random_state=0).fit(X)
    assert rbm.components_.dtype == np.dtype(fit_dtype)
    Xd = X.astype(dtype)
    for method in (rbm.transform, rbm.score_samples, rbm.gibbs):
        assert method(Xd).dtype == dtype, method.__name__
    assert rbm.transform(sp.csr_matrix(Xd)).dtype == dtype


def test_sklearns_rbm_returns_the_wider_precision():
    # The contrast the Notes draw: scikit-learn upcasts a float32 X after a float64 fit.
    X = (np.random.RandomState(0).rand(30, 5) > 0.5).astype(np.float64)
    sk = SklearnRBM(n_components=3, n_iter=1, random_state=0).fit(X)
    assert sk.transform(X.astype(np.float32)).dtype == np.float64
    assert sk.score_samples(X.astype(np.float32)).dtype == np.float64
    sk32 = SklearnRBM(n_components=3, n_iter=1, random_state=0).fit(X.astype(np.float32))
    assert sk32.components_.dtype == np.float32
    assert sk32.transform(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_gibbs_returns_zero_one_floats_in_the_precision_of_X(dtype):
    # The Notes' difference from scikit-learn, whose gibbs returns booleans.
    X = (np.random.default_rng(0).random((20, 5)) > 0.5).astype(dtype)
    v = BernoulliRBM(n_components=3, n_iter=1, random_state=0).fit(X).gibbs(X)
    assert v.dtype == dtype
    assert set(np.unique(v)) <= {0.0, 1.0}
