"""Tests for :mod:`sk_deepnet.optimizers`.

Trajectories are checked against fixtures recorded with ``torch.optim``
(see ``tests/fixtures/make_optimizer_fixtures.py``); PyTorch itself is not
needed to run these tests.
"""

import json
import os
import pickle
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet.optimizers import (
    OPTIMIZERS,
    SGD,
    AMSGrad,
    Adam,
    AdamW,
    Momentum,
    NAdam,
    Nesterov,
    Optimizer,
    get_optimizer,
)

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "optimizer_trajectories.npz")
ALL_HPARAMS = ("learning_rate", "momentum", "beta_1", "beta_2", "epsilon", "rho", "weight_decay")


def _load():
    with np.load(FIXTURE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    settings = json.loads(str(arrays.pop("settings")))
    return arrays, settings


ARRAYS, SETTINGS = _load()


def grad_fn(p, a=ARRAYS["a"], b=ARRAYS["b"]):
    return 2.0 * a * p + b * np.cos(b * p)


def schedule(step, lr0):
    # must match make_optimizer_fixtures.schedule
    return lr0 * 0.5 ** ((step - 1) // 5)


def test_fixtures_cover_every_optimizer():
    assert {s["optimizer"] for s in SETTINGS} == set(OPTIMIZERS)
    for name in OPTIMIZERS:
        got = {s["setting"] for s in SETTINGS if s["optimizer"] == name}
        assert got == {"default", "custom", "schedule"}


@pytest.mark.parametrize(
    "case", SETTINGS, ids=[f"{s['optimizer']}-{s['setting']}" for s in SETTINGS]
)
def test_matches_torch_trajectory(case):
    cls = OPTIMIZERS[case["optimizer"]]
    if case["setting"] == "custom":
        opt = cls(**case["params"])
    else:
        opt = cls()  # our defaults must be the ones recorded
        assert opt.get_params() == case["params"]
    expected = ARRAYS[case["key"]]
    p = ARRAYS["p0"].copy()
    traj = [p.copy()]
    for step in range(1, expected.shape[0]):
        if case["setting"] == "schedule":
            opt.learning_rate = schedule(step, case["params"]["learning_rate"])
        opt.step(p, grad_fn(p))
        traj.append(p.copy())
    assert opt.t_ == expected.shape[0] - 1
    assert_allclose(np.array(traj), expected, rtol=1e-6, atol=1e-12)


def test_minimize_matches_fixture_and_shape():
    expected = ARRAYS["traj__adam__default"]
    n_steps = expected.shape[0] - 1
    x0 = ARRAYS["p0"].copy()
    traj = Adam().minimize(grad_fn, x0, n_steps)
    assert traj.shape == (n_steps + 1, x0.size)
    assert traj.dtype == np.float64
    assert_array_equal(x0, ARRAYS["p0"])  # x0 not modified
    assert_allclose(traj, expected, rtol=1e-6, atol=1e-12)


def test_minimize_2d_start_and_int_input():
    opt = SGD(learning_rate=0.1)
    traj = opt.minimize(lambda x: 2 * x, np.ones((2, 3), dtype=int), 4)
    assert traj.shape == (5, 6)
    assert_allclose(traj[-1], 0.8**4)
    # minimize starts from a fresh state
    traj2 = opt.minimize(lambda x: 2 * x, np.ones(6), 4)
    assert_allclose(traj2, traj)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_stays_float32(name):
    opt = get_optimizer(name, weight_decay=0.01)
    p = ARRAYS["p0"].astype(np.float32)
    for _ in range(3):
        # a float64 gradient must not upcast the parameters
        out = opt.step(p, grad_fn(p.astype(np.float64)))
        assert out is p
        assert p.dtype == np.float32
    arrays = [v for v in opt.state_.values() if isinstance(v, np.ndarray)]
    assert arrays
    for v in arrays:
        assert v.dtype == np.float32
        assert v.shape == p.shape
    assert np.all(np.isfinite(p))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_close_to_float64(name):
    opt64, opt32 = get_optimizer(name), get_optimizer(name)
    p64 = ARRAYS["p0"].copy()
    p32 = p64.astype(np.float32)
    for _ in range(10):
        opt64.step(p64, grad_fn(p64))
        opt32.step(p32, grad_fn(p32).astype(np.float32))
    assert_allclose(p32, p64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_in_place_and_state_reused(name):
    opt = get_optimizer(name)
    p = ARRAYS["p0"].copy()
    g = grad_fn(p)
    g_before = g.copy()
    assert opt.t_ == 0 and not opt.state_
    assert opt.step(p, g) is p
    assert_array_equal(g, g_before)  # gradient not modified
    buffers = {k: v for k, v in opt.state_.items() if isinstance(v, np.ndarray)}
    opt.step(p, grad_fn(p))
    for k, v in buffers.items():
        assert opt.state_[k] is v  # no reallocation after the first step
    assert opt.t_ == 2


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_overwrite_grad_gives_the_same_trajectory(name, weight_decay):
    # The estimators let the step use the gradient as its work array; the
    # update must be exactly the one that leaves the gradient alone.
    kept, overwritten = (get_optimizer(name, weight_decay=weight_decay) for _ in range(2))
    p_kept = ARRAYS["p0"].astype(np.float32)
    p_over = p_kept.copy()
    for _ in range(8):
        g = grad_fn(p_kept.astype(np.float64)).astype(np.float32)
        g_before = g.copy()
        kept.step(p_kept, g)
        assert_array_equal(g, g_before)
        overwritten.step(p_over, g.copy(), overwrite_grad=True)
        assert_array_equal(p_over, p_kept)
    # The work array was the gradient: no model-sized scratch vector was made.
    if not weight_decay and type(overwritten)._work_may_be_grad:
        assert "scratch" not in overwritten.state_


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_grad_sharing_params_memory_is_read_before_params_change(name, weight_decay):
    # x is the gradient of ||x||^2 / 2: step(x, x) passes params as grad. With
    # overwrite_grad the work array was params itself (SGD stepped to 0), and
    # AdamW decayed params before reading them as the gradient.
    for overwrite_grad in (False, True):
        kept, aliased = (get_optimizer(name, weight_decay=weight_decay) for _ in range(2))
        p_kept = np.linspace(1.0, 2.0, 6)
        p_aliased = p_kept.copy()
        for _ in range(3):
            kept.step(p_kept, p_kept.copy())
            aliased.step(p_aliased, p_aliased, overwrite_grad=overwrite_grad)
            assert_array_equal(p_aliased, p_kept)
        p_view = np.linspace(1.0, 2.0, 6)  # overlapping, not the same array
        get_optimizer(name).step(p_view, p_view[::-1], overwrite_grad=overwrite_grad)
        expected = np.linspace(1.0, 2.0, 6)
        get_optimizer(name).step(expected, expected[::-1].copy())
        assert_array_equal(p_view, expected)


@pytest.mark.parametrize("rate", [-1.0, np.nan, np.inf, "0.1", None, np.array(0.1)])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_learning_rate_set_out_of_range_after_construction_is_refused(name, rate):
    # A schedule or a callback sets it between steps; the constructor's check
    # had passed. Nothing changes when step refuses it.
    opt = get_optimizer(name)
    params = np.ones(3)
    opt.step(params, np.ones(3))
    before, state = params.copy(), {k: np.copy(v) for k, v in opt.state_.items()}
    opt.learning_rate = rate
    with pytest.raises(ValueError, match=f"{type(opt).__name__}: learning_rate must be a real"):
        opt.step(params, np.ones(3))
    assert_array_equal(params, before)
    assert opt.t_ == 1 and all(np.array_equal(opt.state_[k], v) for k, v in state.items())
    opt.learning_rate = np.float32(0.5)  # a NumPy scalar is a real number
    opt.step(params, np.ones(3))


class SignDescent(Optimizer):
    """A subclass whose step size has another name than learning_rate."""

    def __init__(self, step_size=0.25, weight_decay=0.0):
        self.step_size = step_size
        self.weight_decay = weight_decay

    def _update(self, params, grad, work):
        params -= self.step_size * np.sign(grad)


def test_a_subclass_without_a_learning_rate_steps():
    # Optimizer.__init__ is optional and the step size may have another name:
    # step's learning-rate check raised AttributeError ('SignDescent' object
    # has no attribute 'learning_rate') where it stepped before.
    assert_array_equal(SignDescent().step(np.ones(2), np.array([1.0, -1.0])), [0.75, 1.25])


def test_a_subclass_whose_ranges_name_no_learning_rate_steps():
    # A subclass's own _RANGES need not name learning_rate: the step's check
    # looked the range up there and raised KeyError: 'learning_rate'.
    class BoundedSignDescent(SignDescent):
        _RANGES = {"step_size": (0.0, 1.0, False, True)}

    opt = BoundedSignDescent()
    assert_array_equal(opt.step(np.ones(2), np.array([1.0, -1.0])), [0.75, 1.25])
    opt.learning_rate = -1.0  # set anyway: the base class's range applies
    with pytest.raises(ValueError, match=r"BoundedSignDescent: learning_rate must be a real "
                                         r"number in \[0, inf\) when the optimizer steps"):
        opt.step(np.ones(2), np.ones(2))


def test_an_optimizer_without_an_update_rule_says_so():
    # Optimizer() passed as an estimator's optimizer raised a bare
    # NotImplementedError at the first batch.
    X = np.random.default_rng(0).normal(size=(20, 2))
    clf = DeepMLPClassifier(depth=1, width=3, max_iter=1, optimizer=Optimizer())
    with pytest.raises(NotImplementedError, match=r"Optimizer has no update rule: Optimizer is "
                                                  r"a base class\. Subclass it and implement "
                                                  r"_update\(params, grad, work\), or use one "
                                                  r"of SGD, .*Adam"):
        clf.fit(X, X[:, 0] > 0)

    class Misnamed(Optimizer):
        def update(self, params, grad, work):
            params -= grad

    with pytest.raises(NotImplementedError, match="Misnamed has no update rule"):
        Misnamed().step(np.ones(2), np.ones(2))


def test_the_every_step_rate_check_uses_a_subclass_range():
    # It used the base class's [0, inf) whatever the subclass allowed.
    class AtMostOne(SGD):
        _RANGES = {**SGD._RANGES, "learning_rate": (0.0, 1.0, False, True)}

    opt = AtMostOne(learning_rate=0.5)
    opt.step(np.ones(2), np.ones(2))
    opt.learning_rate = 2.0
    with pytest.raises(ValueError, match=r"AtMostOne: learning_rate must be a real number in "
                                         r"\(0, 1\] when the optimizer steps; got 2\.0"):
        opt.step(np.ones(2), np.ones(2))
    assert opt.t_ == 1


def test_an_update_rule_that_returns_a_new_array_is_refused():
    # A subclass whose _update returned the stepped parameters instead of
    # writing them trained nothing, silently: the estimator's weights never
    # moved and its fit "converged".
    class Returning(Optimizer):
        def _update(self, params, grad, work):
            return params - self.learning_rate * grad

    class InPlace(Optimizer):  # returning params itself is fine
        def _update(self, params, grad, work):
            params -= self.learning_rate * grad
            return params

    opt, x = Returning(), np.ones(2)
    with pytest.raises(TypeError, match=r"Returning\._update returned a ndarray instead of "
                                        r"updating params in place"):
        opt.step(x, np.ones(2))
    assert opt.t_ == 0
    assert_array_equal(x, np.ones(2))
    assert_allclose(InPlace(learning_rate=0.5).step(np.ones(2), np.ones(2)), [0.5, 0.5])
    X = np.random.default_rng(0).normal(size=(20, 2))
    clf = DeepMLPClassifier(depth=1, width=3, max_iter=1, optimizer=Returning())
    with pytest.raises(TypeError, match="returned a ndarray"):
        clf.fit(X, X[:, 0] > 0)


class ReturnsAView(Optimizer):
    def _update(self, params, grad, work):
        flat = params.reshape(-1)
        flat -= self.learning_rate * grad.reshape(-1)
        return flat


class ReturnsItself(Optimizer):
    def _update(self, params, grad, work):
        params -= self.learning_rate * grad
        return self


@pytest.mark.parametrize("cls", [ReturnsAView, ReturnsItself])
def test_an_update_in_place_that_returns_something_else_still_steps(cls):
    # An update made in place, then a view of params or self returned: it
    # trained before the returned-value check, which refused it as "returned
    # a ndarray instead of updating params in place".
    params = np.ones((2, 2))
    assert cls(learning_rate=0.5).step(params, np.ones((2, 2))) is params
    assert_array_equal(params, np.full((2, 2), 0.5))


def test_optimizers_that_use_the_gradient_as_work_array():
    # The others read the gradient again after writing their work array.
    aliasing = {name for name, cls in OPTIMIZERS.items() if cls._work_may_be_grad}
    assert aliasing == {"sgd", "momentum", "adam", "adamw", "amsgrad", "nadam"}


def test_adam_state_holds_decayed_sums_of_the_moments():
    # m_t = (1 - b1) S_t and v_t = (1 - b2) Q_t, the moments of torch.optim.Adam
    b1, b2 = 0.8, 0.95
    opt = Adam(learning_rate=0.1, beta_1=b1, beta_2=b2)
    p = np.array([1.0, -2.0])
    m = v = np.zeros(2)
    for _ in range(3):
        g = np.array([0.3, -1.2]) * p + 0.5
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
        opt.step(p, g)
    assert_allclose((1 - b1) * opt.state_["grad_sum"], m, rtol=1e-14)
    assert_allclose((1 - b2) * opt.state_["sq_grad_sum"], v, rtol=1e-14)


@pytest.mark.parametrize("cls", [Adam, AMSGrad])
def test_adam_state_pickled_by_0_1_0_is_converted(cls):
    # 0.1.0 stored m and v themselves (and a scratch vector); loading such a
    # state continues the same trajectory.
    opt = cls(learning_rate=0.05, beta_1=0.8, beta_2=0.9)
    p = ARRAYS["p0"].copy()
    for _ in range(3):
        opt.step(p, grad_fn(p))
    state = pickle.loads(pickle.dumps(opt)).__dict__
    legacy = dict(state["state_"])
    legacy["exp_avg"] = 0.2 * legacy.pop("grad_sum")
    legacy["exp_avg_sq"] = 0.1 * legacy.pop("sq_grad_sum")
    if cls is AMSGrad:
        legacy["max_exp_avg_sq"] = 0.1 * legacy.pop("max_sq_grad_sum")
    legacy["scratch"] = np.zeros_like(p)
    for moment in legacy.values():
        moment.flags.writeable = False  # as joblib.load(mmap_mode="r") gives them
    old = cls.__new__(cls)
    old.__setstate__({**state, "state_": legacy})
    assert set(old.state_) == set(cls._buffers)  # the old scratch vector is dropped
    p_old = p.copy()
    for _ in range(3):
        opt.step(p, grad_fn(p))
        old.step(p_old, grad_fn(p_old))
    assert_allclose(p_old, p, rtol=1e-12)


def test_step_on_view_of_flat_vector():
    flat = np.zeros(10)
    view = flat[2:8].reshape(2, 3)
    opt = Momentum(learning_rate=0.5, momentum=0.0)
    opt.step(view, np.ones((2, 3)))
    assert_allclose(flat, [0, 0] + [-0.5] * 6 + [0, 0])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_reset(name):
    opt = get_optimizer(name)
    p = ARRAYS["p0"].copy()
    first = opt.step(p.copy(), grad_fn(p)).copy()
    opt.step(p, grad_fn(p))
    opt.step(p, grad_fn(p))
    assert opt.reset() is opt
    assert opt.t_ == 0 and not opt.state_
    again = opt.step(ARRAYS["p0"].copy(), grad_fn(ARRAYS["p0"]))
    assert_array_equal(again, first)
    # after a reset, parameters of another shape/dtype are accepted
    opt.reset()
    opt.step(np.zeros(3, dtype=np.float32), np.ones(3, dtype=np.float32))


def test_shape_change_without_reset_raises():
    opt = Adam()
    opt.step(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="reset"):
        opt.step(np.zeros(4), np.ones(4))


def test_get_optimizer_ignores_inapplicable_and_maps_auto():
    everything = dict.fromkeys(ALL_HPARAMS, "auto")
    for name, cls in OPTIMIZERS.items():
        opt = get_optimizer(name, **everything)
        assert type(opt) is cls
        assert opt.get_params() == cls().get_params()

    opt = get_optimizer(
        "sgd", learning_rate=0.3, momentum=0.5, beta_1=0.1, beta_2=0.2,
        epsilon=1e-3, rho=0.4, weight_decay="auto",
    )
    assert opt.get_params() == {"learning_rate": 0.3, "weight_decay": 0.0}

    opt = get_optimizer(
        "rmsprop", learning_rate="auto", momentum=0.5, beta_1=0.1, rho=0.5, epsilon=1e-3
    )
    assert opt.get_params() == {
        "learning_rate": 0.01, "rho": 0.5, "epsilon": 1e-3, "weight_decay": 0.0
    }
    assert get_optimizer("adamw").weight_decay == 0.01
    assert get_optimizer("adamw", weight_decay=0.0).weight_decay == 0.0


@pytest.mark.parametrize("bad", ["foo", "Adam", "", None])
def test_get_optimizer_unknown_name(bad):
    with pytest.raises(ValueError, match="valid names") as exc:
        get_optimizer(bad)
    for name in OPTIMIZERS:
        assert name in str(exc.value)


def test_defaults():
    assert SGD().learning_rate == 0.01
    assert Momentum().momentum == 0.9 and Nesterov().momentum == 0.9
    adam = Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (
        0.001, 0.9, 0.999, 1e-8,
    )
    assert NAdam().learning_rate == 0.002 and NAdam().momentum_decay == 0.004
    for cls in OPTIMIZERS.values():
        assert "weight_decay" in cls().get_params()
        assert issubclass(cls, Optimizer)


def test_repr_and_get_params():
    assert repr(Adam()) == "Adam()"
    assert repr(Adam(learning_rate=0.1, beta_2=0.99)) == "Adam(learning_rate=0.1, beta_2=0.99)"
    assert repr(AdamW(weight_decay=0.0)) == "AdamW(weight_decay=0.0)"
    assert Momentum(momentum=0.5).get_params() == {
        "learning_rate": 0.01, "momentum": 0.5, "weight_decay": 0.0
    }


def test_hand_checked_sgd_step():
    p = np.array([1.0, -2.0, 3.0])
    SGD(learning_rate=0.1).step(p, np.array([0.5, 1.0, -2.0]))
    assert_allclose(p, [0.95, -2.1, 3.2])
    # coupled weight decay: g <- g + wd * p
    p = np.array([1.0, -2.0])
    SGD(learning_rate=0.1, weight_decay=0.5).step(p, np.array([1.0, 1.0]))
    assert_allclose(p, [1.0 - 0.1 * 1.5, -2.0 - 0.1 * 0.0])


def test_hand_checked_momentum_and_nesterov_steps():
    g1, g2 = np.array([1.0, -2.0]), np.array([0.5, 0.5])
    lr, mu = 0.1, 0.9
    # PyTorch formulation: v = mu*v + g; p -= lr*v
    opt = Momentum(learning_rate=lr, momentum=mu)
    p = np.zeros(2)
    opt.step(p, g1)
    assert_allclose(p, -lr * g1)
    opt.step(p, g2)
    v2 = mu * g1 + g2
    assert_allclose(p, -lr * g1 - lr * v2)
    assert_allclose(opt.state_["velocity"], v2)
    # Nesterov: p -= lr * (g + mu*v)
    opt = Nesterov(learning_rate=lr, momentum=mu)
    p = np.zeros(2)
    opt.step(p, g1)
    assert_allclose(p, -lr * (g1 + mu * g1))
    opt.step(p, g2)
    assert_allclose(p, -lr * (g1 + mu * g1) - lr * (g2 + mu * v2))


def test_momentum_matches_sklearn_formulation_at_constant_lr():
    # v' = mu*v' - lr*g; p += v'  (Keras / scikit-learn) equals ours when lr is constant
    lr, mu = 0.05, 0.8
    p_ours = ARRAYS["p0"].copy()
    p_sk = ARRAYS["p0"].copy()
    v_sk = np.zeros_like(p_sk)
    opt = Momentum(learning_rate=lr, momentum=mu)
    for _ in range(20):
        opt.step(p_ours, grad_fn(p_ours))
        v_sk = mu * v_sk - lr * grad_fn(p_sk)
        p_sk += v_sk
    assert_allclose(p_ours, p_sk, rtol=1e-10)


def test_learning_rate_read_each_step():
    opt = SGD(learning_rate=1.0)
    p = np.zeros(1)
    opt.step(p, np.ones(1))
    opt.learning_rate = 0.25
    opt.step(p, np.ones(1))
    assert_allclose(p, [-1.25])


def test_adamw_decay_is_decoupled():
    # zero gradient: Adam's update vanishes, only the decay acts
    p = np.array([2.0, -4.0])
    AdamW(learning_rate=0.1, weight_decay=0.5).step(p, np.zeros(2))
    assert_allclose(p, [2.0 * 0.95, -4.0 * 0.95])
    # coupled decay in Adam goes through the moments instead
    p = np.array([2.0, -4.0])
    Adam(learning_rate=0.1, weight_decay=0.5).step(p, np.zeros(2))
    assert_allclose(p, [2.0 - 0.1, -4.0 + 0.1], rtol=1e-6)


def test_amsgrad_effective_step_can_grow_with_the_bias_correction():
    """Backs the optimizer guide: PyTorch's AMSGrad, with bias corrections, can
    take growing effective steps (the paper's, without them, cannot).

    The effective step is the factor in front of the bias-corrected first
    moment, ``step / m_hat``; with a gradient of 1 and then 0.01, ``v_hat``
    stays at its first value while ``1 - beta_2**t`` grows, and the effective
    step grows about 29-fold from step 1 to step 2000.
    """
    optimizer = AMSGrad(learning_rate=1e-3)
    beta_1 = optimizer.beta_1
    params = np.zeros(1)
    m = 0.0
    effective = []
    for t in range(1, 2001):
        grad = 1.0 if t == 1 else 0.01
        before = params.copy()
        optimizer.step(params, np.array([grad]))
        m = beta_1 * m + (1 - beta_1) * grad  # the first moment, computed here
        m_hat = m / (1 - beta_1**t)
        effective.append(float((before - params)[0] / m_hat))
    effective = np.array(effective)
    growth = effective[-1] / effective[0]
    assert 28 < growth < 31, growth  # 29.4: sqrt(1 - 0.999**2000) / sqrt(1 - 0.999)
    assert_allclose(growth, np.sqrt((1 - 0.999**2000) / (1 - 0.999)), rtol=1e-3)
    assert np.all(np.diff(effective) > 0)  # it grows at every step here


# --- each class owns and validates its defaults; the estimator passes "auto" ----
@pytest.mark.parametrize(
    "cls, name, value",
    [(Adam, "beta_1", 1.5), (Adam, "beta_2", -0.1), (AdamW, "epsilon", 0.0),
     (Momentum, "momentum", 1.0), (Nesterov, "momentum", np.nan), (SGD, "learning_rate", -1.0),
     (OPTIMIZERS["rmsprop"], "rho", 1.2), (NAdam, "momentum_decay", -0.5),
     (OPTIMIZERS["adagrad"], "weight_decay", np.inf), (Adam, "beta_1", "0.9")],
)
def test_optimizer_classes_refuse_settings_out_of_range(cls, name, value):
    with pytest.raises(ValueError, match=f"{cls.__name__}: {name} must be a real number in"):
        cls(**{name: value})


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_estimator_defaults_are_the_optimizer_classes_own(name):
    X = np.random.default_rng(0).normal(size=(30, 3))
    clf = DeepMLPClassifier(depth=1, width=3, max_iter=1, optimizer=name)
    with pytest.warns(Warning):  # ConvergenceWarning
        clf.fit(X, np.arange(30) % 2)
    assert clf.optimizer_.get_params() == OPTIMIZERS[name]().get_params()


def test_estimator_accepts_an_optimizer_instance_and_copies_it():
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = np.arange(30) % 2
    given = Adam(learning_rate=0.01, beta_2=0.99)
    clf = DeepMLPClassifier(depth=1, width=3, max_iter=2, optimizer=given, random_state=0)
    with pytest.warns(Warning):
        clf.fit(X, y)
    assert clf.optimizer_ is not given and given.t_ == 0 and given.state_ == {}
    assert clf.optimizer_.get_params() == given.get_params() and clf.optimizer_.t_ > 0
    assert clf.learning_rate_ == 0.01
    # the same fit as by name with the same settings
    named = DeepMLPClassifier(depth=1, width=3, max_iter=2, learning_rate=0.01, beta_2=0.99,
                              random_state=0)
    with pytest.warns(Warning):
        named.fit(X, y)
    assert_allclose(clf.predict_proba(X), named.predict_proba(X))
    assert clone(clf).optimizer.get_params() == given.get_params()
    with pytest.raises(ValueError, match="beta_1 is also set on the estimator"):
        clf.set_params(beta_1=0.8).fit(X, y)


@pytest.mark.parametrize("cls", list(OPTIMIZERS.values()))
def test_set_params_validates_as_the_constructor(cls):
    opt = cls()
    assert opt.set_params(learning_rate=0.5, weight_decay=0.1) is opt
    assert opt.get_params() == cls(learning_rate=0.5, weight_decay=0.1).get_params()
    before = opt.get_params()
    for bad in [{"learning_rate": -1.0}, {"learning_rate": 0.2, "weight_decay": "big"}]:
        with pytest.raises(ValueError, match=f"{cls.__name__}: .* must be a real number"):
            opt.set_params(**bad)
        assert opt.get_params() == before  # nothing changed, not even learning_rate
    with pytest.raises(ValueError, match="Invalid parameter 'nope' for optimizer"):
        opt.set_params(nope=1)
    assert opt.get_params() == before


def test_set_params_keeps_the_state():
    opt = Adam()
    opt.step(np.zeros(2), np.ones(2))
    opt.set_params(learning_rate=0.1)
    assert opt.t_ == 1 and set(opt.state_) >= {"grad_sum", "sq_grad_sum"}


class ScaledSignSGD(Optimizer):
    """A subclass with a hyperparameter of its own, which its constructor checks."""

    def __init__(self, learning_rate=0.01, scale=1.0, weight_decay=0.0):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay)
        if not scale > 0:
            raise ValueError(f"scale must be positive; got {scale!r}.")
        self.scale = scale

    def _update(self, params, grad, work):
        params -= self.learning_rate * self.scale * np.sign(grad)


def test_set_params_of_a_subclass_with_its_own_hyperparameter():
    opt = ScaledSignSGD()
    assert opt.set_params(learning_rate=0.1, scale=2.0).get_params() == {
        "learning_rate": 0.1, "scale": 2.0, "weight_decay": 0.0,
    }
    with pytest.raises(ValueError, match="scale must be positive"):
        opt.set_params(learning_rate=0.5, scale=-1.0)
    assert opt.get_params()["learning_rate"] == 0.1  # nothing changed
    X = np.random.default_rng(0).normal(size=(40, 3))
    reg = DeepMLPRegressor(depth=1, width=4, max_iter=2, optimizer=opt, random_state=0)
    assert reg.set_params(optimizer__scale=3.0).optimizer.scale == 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert reg.fit(X, X[:, 0]).n_iter_ == 2


def test_nested_optimizer_params_set_clone_and_grid_search():
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    given = Adam(learning_rate=0.01, beta_2=0.99)
    est = DeepMLPClassifier(depth=1, width=4, max_iter=3, optimizer=given, random_state=0)
    copy = clone(est).set_params(optimizer__learning_rate=0.1, optimizer__beta_1=0.5)
    assert copy.optimizer.get_params() == Adam(0.1, 0.5, 0.99).get_params()
    assert given.get_params() == Adam(0.01, beta_2=0.99).get_params()  # clone copied it
    with pytest.raises(ValueError, match="learning_rate must be a real number"):
        copy.set_params(optimizer__learning_rate=-0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(est, {"optimizer__learning_rate": [0.01, 0.1]}, cv=2).fit(X, y)
    assert [p["optimizer__learning_rate"] for p in search.cv_results_["params"]] == [0.01, 0.1]
    best = search.best_params_["optimizer__learning_rate"]
    assert search.best_estimator_.optimizer.learning_rate == best
    assert search.best_estimator_.optimizer_.learning_rate == best  # it trained at that rate
    assert search.best_estimator_.optimizer_.beta_2 == 0.99
    assert given.learning_rate == 0.01 and given.t_ == 0


@pytest.mark.parametrize("epsilon", [1e-50, 1e-40])
def test_estimator_refuses_an_epsilon_that_vanishes_in_float32(epsilon):
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(ValueError, match="below the smallest normal float32"):
        DeepMLPRegressor(depth=1, width=3, max_iter=1, epsilon=epsilon).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="below the smallest normal float32"):
        DeepMLPRegressor(depth=1, width=3, optimizer=Adam(epsilon=epsilon)).fit(X, X[:, 0])
    with pytest.warns(Warning):  # float64 keeps it: a normal float64 number
        DeepMLPRegressor(depth=1, width=3, max_iter=1, epsilon=epsilon, dtype="float64").fit(
            X, X[:, 0]
        )


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize(
    "params, grad, error, match",
    [
        (np.zeros(3), np.ones(4), ValueError, "grad has shape"),
        (np.zeros(3), np.ones((3, 1)), ValueError, "grad has shape"),
        (np.zeros(3), np.array(["a", "b", "c"]), TypeError, "grad must hold real numbers"),
        ([0.0, 1.0, 2.0], np.ones(3), TypeError, "params must be a floating-point ndarray"),
        (np.zeros(3, dtype=int), np.ones(3), TypeError, "params must be a floating-point"),
        (np.zeros(3)[::1].view(), np.ones(3), None, None),  # a view is fine
    ],
)
def test_bad_step_arguments_change_nothing(name, params, grad, error, match):
    # A failed step left t_ one ahead (and the state allocated): every later
    # step's bias correction was wrong. A list params was silently not updated.
    opt, fresh = get_optimizer(name), get_optimizer(name)
    if error is None:
        opt.step(params, grad)
        return
    with pytest.raises(error, match=match):
        opt.step(params, grad)
    assert opt.t_ == 0 and not opt.state_
    p, q = np.zeros(3), np.zeros(3)
    opt.step(p, np.ones(3))
    fresh.step(q, np.ones(3))
    assert_array_equal(p, q)


def test_read_only_params_are_refused_before_the_step():
    opt = Adam()
    params = np.zeros(3)
    params.flags.writeable = False
    with pytest.raises(ValueError, match="params is read-only"):
        opt.step(params, np.ones(3))
    assert opt.t_ == 0 and not opt.state_


def test_array_like_grad_is_accepted():
    p = np.zeros(2)
    SGD(learning_rate=0.5).step(p, [1.0, 2])
    assert_array_equal(p, [-0.5, -1.0])


@pytest.mark.parametrize(
    "grad_fn, n_steps, error, match",
    [
        (lambda x: 2 * x, -1, ValueError, "n_steps must be >= 0"),  # was an IndexError
        (lambda x: 2 * x, 2.5, TypeError, "n_steps must be an int"),  # was int(2.5) steps
        (lambda x: 2 * x, True, TypeError, "n_steps must be an int"),
        ("not callable", 2, TypeError, "grad_fn must be callable"),
        (lambda x: None, 2, TypeError, "must be an array of real numbers; got NoneType"),
    ],
)
def test_minimize_refuses_bad_arguments(grad_fn, n_steps, error, match):
    with pytest.raises(error, match=match):
        SGD().minimize(grad_fn, [1.0], n_steps)


def test_minimize_refuses_complex_values():
    # A complex gradient lost its imaginary part with a mere ComplexWarning
    # (step refuses it), a complex x0 failed inside numpy ("float() argument").
    opt = SGD()
    with pytest.raises(TypeError, match="grad_fn's value at step 1 must hold real numbers"):
        opt.minimize(lambda x: x * (1 + 1j), [1.0, 2.0], 2)
    with pytest.raises(TypeError, match="x0 must hold real numbers"):
        opt.minimize(lambda x: x, [1j], 2)


def test_minimize_zero_steps_is_the_start():
    assert_array_equal(SGD().minimize(lambda x: 2 * x, [1.0, 2.0], np.int64(0)), [[1.0, 2.0]])


def test_nested_set_params_of_an_optimizer_given_by_name_is_a_clear_error():
    # 'str' object has no attribute 'set_params', with depth already changed.
    clf = DeepMLPClassifier(depth=2)
    with pytest.raises(ValueError, match=r"optimizer='adam' is not an object.*optimizer=Adam\(\)"):
        clf.set_params(depth=5, optimizer__learning_rate=0.1)
    assert clf.depth == 2


def test_estimator_set_params_changes_nothing_when_the_optimizer_refuses():
    given = Adam(learning_rate=0.01)
    clf = DeepMLPClassifier(depth=2, optimizer=given)
    with pytest.raises(ValueError, match="learning_rate must be a real number"):
        clf.set_params(depth=5, optimizer__learning_rate=-1)
    assert clf.depth == 2 and clf.optimizer is given and given.learning_rate == 0.01


class HalvingSGD(Optimizer):
    """A subclass whose ``__init__`` only stores its hyperparameters, as the
    class documentation and scikit-learn's rules describe, without calling
    ``Optimizer.__init__``."""

    def __init__(self, learning_rate=0.1):
        self.learning_rate = learning_rate

    def _update(self, params, grad, work):
        params -= 0.5 * self.learning_rate * grad


def test_a_subclass_that_does_not_call_the_base_init_steps_and_trains():
    # It failed with "'HalvingSGD' object has no attribute 'state_'", raised
    # again while the failed epoch was undone.
    opt = HalvingSGD()
    assert opt.t_ == 0 and opt.state_ == {}
    np.testing.assert_allclose(opt.step(np.ones(2), np.ones(2)), [0.95, 0.95])
    assert opt.t_ == 1
    X = np.random.default_rng(0).normal(size=(40, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = DeepMLPRegressor(depth=1, width=4, max_iter=2, optimizer=opt, random_state=0)
        assert reg.fit(X, X[:, 0]).n_iter_ == 2
    assert reg.optimizer_.t_ == 2
    assert pickle.loads(pickle.dumps(reg.optimizer_)).t_ == 2


@pytest.mark.parametrize("x0, got", [
    (None, "NoneType"), ("abc", "str"), ({"a": 1}, "dict"), ([[1.0], [1.0, 2.0]], "list"),
    ([1.0, None], "list"),
])
def test_minimize_refuses_an_x0_that_is_not_numbers_by_name(x0, got):
    # None gave a trajectory of NaN; the others failed inside numpy.
    with pytest.raises(TypeError, match=f"x0 must be an array of real numbers; got {got}"):
        SGD(0.1).minimize(lambda x: 2 * x, x0, 2)


@pytest.mark.parametrize("value, got", [
    (None, "NoneType"), ((1.0, np.ones(3)), "tuple"), ("g", "str"),
])
def test_minimize_refuses_a_gradient_that_is_not_numbers_by_name(value, got):
    # A (loss, gradient) pair failed inside numpy ("inhomogeneous shape"); None
    # was called "an array of shape ()".
    with pytest.raises(TypeError, match=f"grad_fn's value at step 1 must be .*; got {got}"):
        SGD(0.1).minimize(lambda x: value, np.ones(3), 2)


def test_minimize_still_takes_lists_booleans_and_object_arrays_of_numbers():
    for x0 in ([1, 2], np.array([True, False]), np.array([1, 2.5], dtype=object)):
        assert SGD(0.1).minimize(lambda x: list(2 * x), x0, 1).shape == (2, 2)


def test_minimize_takes_numbers_of_the_standard_library():
    # Decimal (a number, not a numbers.Real) was refused as "not an array of
    # real numbers", where numpy converts it as it did before.
    expected = SGD(0.1).minimize(lambda x: 2 * x, [1.0, 0.5], 2)
    for x0 in ([Decimal(1), Decimal("0.5")], [Fraction(1), Fraction(1, 2)]):
        assert_array_equal(SGD(0.1).minimize(lambda x: 2 * x, x0, 2), expected)
