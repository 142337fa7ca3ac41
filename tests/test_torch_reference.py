"""sk_deepnet's numerics against PyTorch, through a recorded fixture.

``tests/fixtures/make_torch_reference.py`` recorded the references (its
docstring describes each); torch is not needed here. Covered: every
activation with its first and second derivatives, the initializers' scales
and gains, the cosine and step schedules, short fits of the estimators
(residual blocks with and without projections, batch normalization in
training and inference with its running statistics, layer normalization,
sample weights, the ``alpha`` penalty, ``clip_grad_norm``, the estimator's
optimizer hyperparameters and schedules, float32), inverted dropout with
PyTorch's masks, Hessian-vector products and the layers' and blocks'
Jacobian products. The conventions that differ from PyTorch's on purpose
are checked as mappings: the running variance (biased, not unbiased), and
``alpha`` (an L2 penalty on the weight matrices divided by the batch's
weight, not ``weight_decay``).
"""

import json
import os
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet._activations import ACTIVATIONS, DERIVATIVES, GAINS, SECOND_DERIVATIVES
from sk_deepnet._curvature import LossHessian
from sk_deepnet._initializers import INITIALIZERS
from sk_deepnet._network import Network
from sk_deepnet.schedules import LRSchedule

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "torch_reference.npz")


def _load():
    with np.load(FIXTURE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return arrays, json.loads(str(arrays.pop("configs")))


REF, CONFIGS = _load()
BN_MOMENTUM = 0.1


def _network(config, params, dtype=np.float64):
    net = Network(
        config["layer_sizes"], config["activation"], config["loss"],
        normalization=config.get("normalization"), dropout=config.get("dropout", 0.0),
        residual=config.get("residual", False),
        residual_block_size=config.get("residual_block_size", 2), dtype=dtype,
    )
    assert net.n_params == params.size  # the fixture's layout is the network's
    net.params[...] = params
    return net


# ---------------------------------------------------------------- activations
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_and_its_derivatives_match_torch(name):
    z = REF["act_z"]
    a = np.empty_like(z)
    ACTIVATIONS[name](z.copy(), a)
    first = np.ones_like(z)
    DERIVATIVES[name](z, a, first)
    # softplus: torch is linear above 20 (an error of exp(-20) = 2e-9 there)
    assert_allclose(a, REF[f"act__{name}__f"], rtol=1e-12, atol=1e-8)
    assert_allclose(first, REF[f"act__{name}__d1"], rtol=1e-12, atol=1e-8)
    second, expected = SECOND_DERIVATIVES[name](z, a), REF[f"act__{name}__d2"].copy()
    if name in ("elu", "selu"):
        # f'' jumps at 0 (from f'(0) to 0): torch takes the right-hand value
        # 0, we the left-hand one; z is never exactly 0 in practice.
        at_zero = z == 0
        assert_allclose(second[at_zero], first[at_zero], rtol=1e-15)
        assert_allclose(expected[at_zero], 0.0)
        expected[at_zero] = second[at_zero]
    assert_allclose(second, expected, rtol=1e-10, atol=1e-8)


# ---------------------------------------------------------------- initializers
@pytest.mark.parametrize("name", ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "selu"])
def test_orthogonal_gains_are_torchs(name):
    assert GAINS[name] == pytest.approx(float(REF[f"gain__{name}"]), rel=1e-12)


@pytest.mark.parametrize("scheme", sorted(INITIALIZERS))
def test_initializer_scales_match_torch(scheme):
    """Same distribution scale as torch.nn.init (the draws cannot match)."""
    init = CONFIGS["init"]
    gain = GAINS["tanh"] if scheme == "orthogonal" else 1.0
    weight = INITIALIZERS[scheme](
        np.random.default_rng(0), init["fan_in"], init["fan_out"], np.float64,
        init["scale"], gain,
    )
    # 60000 draws: the sample standard deviation is within 0.5% (4 sigma).
    assert weight.std() == pytest.approx(float(REF[f"init__{scheme}__std"]), rel=0.01)
    if scheme.endswith("uniform"):  # the bounds, to 0.1%
        bound = float(REF[f"init__{scheme}__maxabs"])
        assert np.abs(weight).max() == pytest.approx(bound, rel=2e-3)


# ---------------------------------------------------------------- schedules
@pytest.mark.parametrize("name", ["cosine", "step"])
def test_schedules_match_torch(name):
    s = CONFIGS["schedules"]
    schedule = LRSchedule(
        name, s["lr0"], max_iter=s["max_iter"], step_size=s["step_size"], gamma=s["gamma"]
    )
    rates = [schedule.rate_for(epoch, 0) for epoch in range(s["n_epochs"])]
    assert_allclose(rates, REF[f"lr__{name}"], rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- fits
def _fit(config, monkeypatch):
    """The estimator of a configuration, fitted from the fixture's parameters."""
    key = f"fit__{config['name']}"
    params0 = REF[f"{key}__params0"]

    def initialize(network, *args, **kwargs):
        network.params[...] = params0  # cast as torch cast it (float32 too)
        for mean, var in zip(network.running_means, network.running_vars):
            mean[...], var[...] = 0, 1

    monkeypatch.setattr(Network, "initialize", initialize)
    params = dict(config["params"])
    classifier = config["kind"] in ("multiclass", "binary", "multilabel")
    cls = DeepMLPClassifier if classifier else DeepMLPRegressor
    est = cls(**params, max_iter=config["epochs"], shuffle=False, n_iter_no_change=100,
              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is tiny
        est.fit(REF[f"{key}__X"], REF[f"{key}__y"], sample_weight=REF.get(f"{key}__sample_weight"))
    return est


def _predictions(est, config, X):
    if config["kind"] == "binary":
        return est.predict_proba(X)[:, 1:]
    if isinstance(est, DeepMLPClassifier):
        return est.predict_proba(X)
    return est.predict(X).reshape(len(X), -1)


_FITS = CONFIGS["train"]


@pytest.mark.parametrize("config", _FITS, ids=[c["name"] for c in _FITS])
def test_fit_matches_torch(config, monkeypatch):
    key = f"fit__{config['name']}"
    est = _fit(config, monkeypatch)
    float32 = config.get("dtype") == "float32"
    tol = dict(rtol=1e-5, atol=1e-6) if float32 else dict(rtol=1e-8, atol=1e-10)
    assert_allclose(est.loss_curve_, REF[f"{key}__loss_curve"], **tol)
    assert_allclose(est._network.params, REF[f"{key}__params"], **tol)
    assert_allclose(_predictions(est, config, REF[f"{key}__X_test"]), REF[f"{key}__pred"], **tol)
    if config.get("normalization") == "batch":
        net = est._network
        assert_allclose(np.concatenate(net.running_means), REF[f"{key}__running_mean"], **tol)
        assert_allclose(np.concatenate(net.running_vars), REF[f"{key}__running_var"], **tol)


def _batch_sizes(n_rows, batch_size):
    """The rows of each batch of an epoch with batch normalization (a last
    batch of fewer than ``batch_size / 2`` rows joins the one before)."""
    ends = list(range(batch_size, n_rows, batch_size)) + [n_rows]
    if len(ends) > 1 and n_rows - ends[-2] < max(2, batch_size / 2):
        del ends[-2]
    return list(np.diff(ends, prepend=0))


@pytest.mark.parametrize(
    "config", [c for c in _FITS if c.get("normalization") == "batch"],
    ids=lambda c: c["name"],
)
def test_running_variance_is_torchs_without_bessels_correction(config):
    """The documented convention: the running variance averages the biased
    batch variance; torch averages ``n / (n - 1)`` times it. From the same
    start (1), after ``k`` updates with batches of ``n`` rows, ``torch - (1 -
    m)**k = n / (n - 1) * (ours - (1 - m)**k)``; the running means agree."""
    key = f"fit__{config['name']}"
    w = REF.get(f"{key}__sample_weight")
    # integer weights: torch trains on the rows repeated
    n_rows = len(REF[f"{key}__X"]) if w is None else int(w.sum())
    sizes = _batch_sizes(n_rows, config["params"]["batch_size"] or n_rows)
    decay = (1 - BN_MOMENTUM) ** (len(sizes) * config["epochs"])
    ours = REF[f"{key}__running_var"] - decay
    theirs = REF[f"{key}__torch_running_var"] - decay
    factors = [n / (n - 1) for n in sizes]
    if len(set(factors)) == 1:
        assert_allclose(theirs, factors[0] * ours, rtol=1e-9)
    else:  # a weighted mean of the factors: between the smallest and the largest
        assert np.all(theirs / ours > min(factors) - 1e-9)
        assert np.all(theirs / ours < max(factors) + 1e-9)
    assert_allclose(REF[f"{key}__torch_running_mean"], REF[f"{key}__running_mean"], rtol=1e-12)


def test_alpha_is_a_penalty_on_the_weight_matrices_over_the_batch_weight():
    """The mapping the fits check: ``alpha`` is torch's L2 term
    ``alpha / (2 * sum(w)) * ||W||^2`` added to the loss (so it is clipped
    with the gradient), over every weight matrix and projection, and no bias
    or normalization parameter; for one batch size it is torch's coupled
    ``weight_decay = alpha / batch_size`` on the weight matrices only."""
    config = next(c for c in _FITS if c["name"].startswith("reg_weighted_batchnorm"))
    net = _network(config, REF[f"fit__{config['name']}__params0"])
    X = REF[f"fit__{config['name']}__X"]
    Y = REF[f"fit__{config['name']}__y"]
    alpha = 0.7
    loss0 = net.loss_and_gradient(X, Y, None, len(X), 0.0)
    grads0 = net.grads.copy()
    loss = net.loss_and_gradient(X, Y, None, len(X), alpha)
    weights = net.params[: net.n_weights]
    assert net.n_weights == sum(a * b for a, b in net._weight_shapes) + sum(
        p.weight.size for p in net.projections if p is not None
    )
    assert loss - loss0 == pytest.approx(alpha / (2 * len(X)) * weights @ weights, rel=1e-12)
    expected = grads0.copy()
    expected[: net.n_weights] += alpha / len(X) * weights
    assert_allclose(net.grads, expected, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- dropout
class _MaskRng:
    """Uniform draws that keep exactly the units torch kept (1: kept, 0: dropped)."""

    def __init__(self, mask, shapes):
        self._draws = []
        offset = 0
        for shape in shapes:
            size = int(np.prod(shape))
            self._draws.append(mask[offset : offset + size].reshape(shape).astype(np.float32))
            offset += size

    def random(self, shape=None, dtype=np.float64, out=None):
        draws = self._draws.pop(0)
        if out is not None:
            out[...] = draws
            return out
        assert tuple(shape) == draws.shape
        return draws


def test_inverted_dropout_scaling_matches_torch():
    """With torch's masks, a training step's loss and gradient are torch's:
    kept units are scaled by ``1 / (1 - rate)``, in the residual branch before
    its scale; prediction has no dropout."""
    config = CONFIGS["dropout"]
    net = _network(config, REF["drop__params"])
    X, y = REF["drop__X"], REF["drop__y"]
    shapes = [(len(X), w) for w in config["layer_sizes"][1:-1]]
    rng = _MaskRng(REF["drop__mask"], shapes)
    loss = net.loss_and_gradient(X, y, None, len(X), config["alpha"], rng=rng)
    assert loss == pytest.approx(float(REF["drop__loss"]), rel=1e-12)
    assert_allclose(net.grads, REF["drop__grad"], rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------- curvature
_HVPS = CONFIGS["hvp"]


@pytest.mark.parametrize("config", _HVPS, ids=[c["name"] for c in _HVPS])
def test_hessian_vector_products_match_torch(config):
    key = f"hvp__{config['name']}"
    net = _network(config, REF[f"{key}__params"])
    w = REF.get(f"{key}__sample_weight")
    n = len(REF[f"{key}__X"])
    l2 = config["alpha"] / (n if w is None else w.sum())
    hessian = LossHessian(net, REF[f"{key}__X"], REF[f"{key}__Y"], l2, sample_weight=w)
    exact = hessian.method == "exact"
    assert exact == (config.get("normalization") is None and not config.get("residual"))
    assert hessian.loss == pytest.approx(float(REF[f"{key}__loss"]), rel=1e-12)
    assert_allclose(hessian.gradient, REF[f"{key}__grad"], rtol=1e-10, atol=1e-12)
    HV = REF[f"{key}__HV"]
    got = np.array([hessian.matvec(v) for v in REF[f"{key}__V"]])
    # Finite differences: up to 2e-7 of the largest entry (LossHessian's
    # docs; the residual network with layer normalization, 1.7e-7 measured).
    atol = (1e-12 if exact else 3e-7) * np.abs(HV).max()
    assert_allclose(got, HV, rtol=1e-9 if exact else 0, atol=atol)


_JACS = CONFIGS["jac"]


def _jacobian_pieces(config):
    net = _network(config, REF[f"jac__{config['name']}__params"])
    pieces = [("layer", i) for i in range(net.depth + 1)]
    return pieces + [("block", k) for k in range(len(net.blocks))]


@pytest.mark.parametrize("config", _JACS, ids=[c["name"] for c in _JACS])
@pytest.mark.parametrize("train", [True, False], ids=["batch_stats", "running_stats"])
def test_jacobian_products_match_torch(config, train):
    key = f"jac__{config['name']}"
    net = _network(config, REF[f"{key}__params"])
    if config.get("normalization") == "batch":
        widths = np.cumsum(config["layer_sizes"][1:-2])
        for mean, part in zip(net.running_means, np.split(REF[f"{key}__running_mean"], widths)):
            mean[...] = part
        for var, part in zip(net.running_vars, np.split(REF[f"{key}__running_var"], widths)):
            var[...] = part
    mode = "train" if train else "eval"
    for kind, index in _jacobian_pieces(config):
        piece = f"{key}__{kind}{index}"
        h, v, u = (REF[f"{piece}__{x}"] for x in "hvu")
        if kind == "layer":
            jvp, vjp = net.jvp_layer, net.vjp_layer
        else:
            jvp, vjp = net.jvp_block, net.vjp_block
        out, tangent = jvp(index, h, v, train)
        out_vjp, cotangent = vjp(index, h, u, train)
        assert_allclose(out, REF[f"{piece}__{mode}__out"], rtol=1e-12, atol=1e-13)
        assert_allclose(out_vjp, out, rtol=0, atol=0)
        assert_allclose(tangent, REF[f"{piece}__{mode}__jvp"], rtol=1e-10, atol=1e-12)
        assert_allclose(cotangent, REF[f"{piece}__{mode}__vjp"], rtol=1e-10, atol=1e-12)
