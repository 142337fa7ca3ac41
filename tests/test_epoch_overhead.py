"""The per-epoch and per-fit bookkeeping stays cheap, and as safe as before.

On tiny data sets (iris, diabetes: one to three mini-batches an epoch) the
fixed cost of every epoch and fit is a large share of the time, so:

* the divergence guard's inference pass (:class:`FiniteOutputs`) keeps its
  buffers between epochs, and still catches outputs that overflow;
* the finiteness of the parameters takes no temporary array, and no
  Python wrapper of ``ndarray.min`` and ``.max``;
* the estimators and optimizers read the names of their ``__init__``
  parameters once.
"""

import gc
import inspect
import weakref

import numpy as np
import pytest

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet._network import Network, _all_finite
from sk_deepnet._signatures import init_parameter_names
from sk_deepnet._training import FiniteOutputs
from sk_deepnet._validation import check_count
from sk_deepnet.optimizers import Adam


def _network(layer_sizes, dtype=np.float32, **options):
    net = Network(layer_sizes, "relu", "squared_error", dtype=dtype, **options)
    net.initialize(np.random.default_rng(0), "he_uniform")
    return net


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_outputs_reuses_its_buffers_and_agrees_with_predict_logits(dtype, monkeypatch):
    net = _network([5, 300, 300, 2], dtype)  # 2**12 // 300: chunks of 13 rows
    X = np.random.default_rng(1).normal(size=(40, 5)).astype(dtype)
    guard = FiniteOutputs(net)
    assert guard.chunk == 13
    made = []
    new_workspace = net._new_workspace
    monkeypatch.setattr(
        net, "_new_workspace", lambda *a, **k: made.append(a) or new_workspace(*a, **k)
    )
    for _ in range(3):
        assert guard(X)
    assert made == [(13,)]  # once, for all epochs (and chunks)
    assert guard(None)  # no batch: nothing to check
    # Huge but finite weights: the outputs overflow, as predict_logits's do.
    net.coefs[1][...] = np.finfo(dtype).max / 10
    with np.errstate(all="ignore"):  # as in a fit
        assert not np.isfinite(net.predict_logits(X[:32], chunk_size=13)).all()
        assert not guard(X)


def test_finite_outputs_of_another_precision_are_predict_logits():
    # A float64 batch for a float32 network: computed in float64, as
    # predict_logits computes it (the training loop gathers batches in the
    # network's dtype, so this is the rare path).
    net = _network([3, 4, 2])
    net.coefs[0][...] = 10.0
    net.coefs[1][...] = 1e38  # outputs of 1.2e40: overflow float32, not float64
    X = np.ones((4, 3))
    with np.errstate(all="ignore"):  # as in a fit
        assert FiniteOutputs(net)(X)
        assert not FiniteOutputs(net)(X.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_finite_of_huge_nan_and_infinite_values(dtype):
    huge = np.full(5, np.finfo(dtype).max / 2, dtype)  # finite; its sum or norm is not
    assert _all_finite(huge)
    for bad in (np.nan, np.inf, -np.inf):
        for values in (huge.copy(), np.ones(5, dtype)):
            values[3] = bad
            assert not _all_finite(values)
    assert _all_finite(np.empty(0, dtype))


def test_has_finite_state_checks_huge_running_statistics():
    net = _network([3, 4, 2], normalization="batch")
    net.running_vars[0][...] = np.finfo(np.float32).max  # finite
    assert net.has_finite_state()
    net.running_vars[0][1] = np.inf
    assert not net.has_finite_state()


@pytest.mark.parametrize("value", [True, np.bool_(False), 1.0, "3", None])
def test_check_count_refuses_what_is_not_an_int(value):
    with pytest.raises(TypeError, match="must be an int"):
        check_count(value, "epoch")


def test_check_count_takes_ints_of_any_integer_type():
    for value in (0, 7, np.int64(3), np.uint16(2)):
        check_count(value, "epoch")
    for value in (-1, np.int32(-2)):
        with pytest.raises(ValueError, match=">= 0"):
            check_count(value, "epoch")


def test_parameter_names_are_read_from_the_signature_once(monkeypatch):
    DeepMLPRegressor._get_param_names()  # kept from now on
    monkeypatch.setattr(
        inspect, "signature", lambda *a, **k: pytest.fail("signature read again")
    )
    params = DeepMLPRegressor(depth=2).get_params(deep=False)
    assert params["depth"] == 2 and "loss" in params
    names = DeepMLPRegressor._get_param_names()
    names.append("changed")  # a copy: the kept names do not change
    assert "changed" not in DeepMLPRegressor._get_param_names()


def test_a_subclass_with_its_own_init_has_its_own_parameter_names():
    class Shallow(DeepMLPClassifier):
        def __init__(self, depth=1, width=8, extra=0):
            super().__init__(depth=depth, width=width)
            self.extra = extra

    assert Shallow._get_param_names() == ["depth", "extra", "width"]
    assert "extra" not in DeepMLPClassifier._get_param_names()
    assert Shallow(extra=2).get_params()["extra"] == 2


def test_a_missing_attribute_still_says_it_is_missing():
    clf = DeepMLPClassifier()
    with pytest.raises(AttributeError, match="has no attribute 'loss_'"):
        clf.loss_  # noqa: B018
    assert getattr(clf, "loss_", None) is None
    # A descriptor's reason is still given (scikit-learn's available_if).
    with pytest.raises(AttributeError, match="partial_fit"):
        DeepMLPClassifier(optimizer="lbfgs").partial_fit  # noqa: B018


def test_optimizer_parameter_names_are_kept_per_init(monkeypatch):
    class Slow(Adam):
        def __init__(self, learning_rate=0.001, slowness=2.0):
            super().__init__(learning_rate=learning_rate)
            self.slowness = slowness

    assert Slow._get_param_names() == ["learning_rate", "slowness"]
    assert "slowness" not in Adam._get_param_names()
    monkeypatch.setattr(
        inspect, "signature", lambda *a, **k: pytest.fail("signature read again")
    )
    assert Slow(slowness=3.0).get_params() == {"learning_rate": 0.001, "slowness": 3.0}
    assert Adam(beta_1=0.8).get_params()["beta_1"] == 0.8


def test_kept_parameter_names_do_not_keep_a_class_alive():
    # A class made at run time (in a test, a factory) was kept for good by
    # the names kept for its __init__, whose __class__ cell holds the class.
    def made_and_asked(base):
        class Made(base):
            def __init__(self, learning_rate=0.01, extra=0):
                super().__init__(learning_rate=learning_rate)
                self.extra = extra

        assert Made._get_param_names()[-1] in ("extra", "learning_rate")
        return weakref.ref(Made)

    for base in (DeepMLPClassifier, Adam):
        ref = made_and_asked(base)
        gc.collect()
        assert ref() is None, base.__name__
    # object.__init__ cannot be weakly referred to: read, not kept.
    assert init_parameter_names(type("Plain", (), {}), lambda: ["a"]) == ["a"]
