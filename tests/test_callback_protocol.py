"""The callback protocol: hook order and arguments, the batch record, hook errors."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet._network import Network
from sk_deepnet.callbacks import BatchRecord, Callback, GradientMonitor

# The hooks are exercised on fits of one or two epochs: not converging is expected.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4))
y = (X[:, 0] > 0).astype(int)


class OldStyle(Callback):
    """A 0.1 callback: hooks without **kwargs."""

    def on_fit_begin(self, estimator, X=None, y=None):
        self.calls_ = [("fit_begin",)]

    def on_epoch_begin(self, estimator, epoch):
        self.calls_.append(("epoch_begin", epoch))

    def on_grad_computed(self, estimator, network, batch):
        self.calls_.append(("grad", batch))

    def on_batch_end(self, estimator, network, batch, loss):
        self.calls_.append(("batch_end", batch))

    def on_epoch_end(self, estimator, epoch, loss):
        self.calls_.append(("epoch_end", epoch))

    def on_fit_end(self, estimator):
        self.calls_.append(("fit_end",))


class NewStyle(Callback):
    """Hooks with **kwargs get the record."""

    def on_fit_begin(self, estimator, X=None, y=None, **kwargs):
        self.kwargs_ = []

    def on_grad_computed(self, estimator, network, batch, **kwargs):
        self.kwargs_.append(sorted(kwargs))
        record = kwargs["record"]
        self.grad_norms_ = [np.linalg.norm(g) for g in record.weight_grads]

    def on_fit_end(self, estimator, **kwargs):
        self.end_record_ = kwargs["record"]


class NamesRecord(Callback):
    """A hook that names ``record`` without **kwargs gets it too."""

    def on_batch_end(self, estimator, network, batch, loss, record=None):
        self.seen_ = record is not None


def test_old_style_hooks_get_their_positional_arguments_in_order():
    clf = DeepMLPClassifier(depth=1, width=4, max_iter=2, batch_size=30, random_state=0,
                            callbacks=[OldStyle()])
    clf.fit(X, y)
    per_epoch = lambda e: [("epoch_begin", e), ("grad", 0), ("batch_end", 0),  # noqa: E731
                           ("grad", 1), ("batch_end", 1), ("epoch_end", e)]
    assert clf.callbacks_[0].calls_ == [("fit_begin",), *per_epoch(0), *per_epoch(1), ("fit_end",)]


def test_hooks_with_kwargs_or_naming_record_get_the_record():
    clf = DeepMLPClassifier(depth=2, width=4, max_iter=1, batch_size=30, random_state=0,
                            callbacks=[NewStyle(), NamesRecord()])
    clf.fit(X, y)
    new, named = clf.callbacks_
    assert new.kwargs_ == [["record"], ["record"]]
    assert len(new.grad_norms_) == 3 and all(n > 0 for n in new.grad_norms_)
    assert isinstance(new.end_record_, BatchRecord) and named.seen_


def test_record_is_read_only_and_matches_the_batch():
    rng = np.random.default_rng(1)
    net = Network([4, 5, 3, 2], "tanh", "softmax_cross_entropy", dtype=np.float64)
    net.initialize(rng, "glorot_uniform")
    record = BatchRecord(net)
    assert not record.complete
    Xb = rng.normal(size=(6, 4))
    net.loss_and_gradient(Xb, np.eye(2)[np.arange(6) % 2], None, 6.0)
    assert record.complete and record.n_samples == 6 and record.batch_count == 1
    assert_array_equal(record.inputs[0], Xb)
    # tanh runs in place: no pre-activation survives; the activations do.
    assert record.pre_activations == [None, None]
    assert_array_equal(record.activations[0], np.tanh(Xb @ net.coefs[0] + net.intercepts[0]))
    assert_array_equal(record.inputs[1], record.activations[0])
    assert [d.shape for d in record.error_signals] == [(6, 5), (6, 3), (6, 2)]
    assert_array_equal(record.coef_grad_block, np.concatenate([g.ravel() for g in net.coef_grads]))
    assert_array_equal(record.weights[1], net.coefs[1])
    for array in (record.activations[0], record.weight_grads[0], record.coef_block,
                  record.error_signals[-1], record.grads, record.logits):
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0


def test_record_keeps_pre_activations_where_they_exist():
    rng = np.random.default_rng(2)
    net = Network([4, 5, 2], "gelu", "softmax_cross_entropy", normalization="layer",
                  dtype=np.float64)
    net.initialize(rng, "glorot_uniform")
    net.loss_and_gradient(rng.normal(size=(3, 4)), np.eye(2)[[0, 1, 0]], None, 3.0)
    record = BatchRecord(net)
    (pre,) = record.pre_activations
    from scipy.special import erf

    assert_allclose(record.activations[0], pre * 0.5 * (1 + erf(pre / np.sqrt(2))), rtol=1e-12)


def test_gradient_monitor_reads_only_the_record():
    # network=None: the monitor must get everything it needs from the record.
    rng = np.random.default_rng(3)
    net = Network([4, 5, 2], "sigmoid", "softmax_cross_entropy", dtype=np.float64)
    net.initialize(rng, "glorot_uniform")
    net.loss_and_gradient(rng.normal(size=(8, 4)), np.eye(2)[np.arange(8) % 2], None, 8.0)
    record = BatchRecord(net)
    monitor = GradientMonitor(warn=False)
    estimator = SimpleNamespace(n_layers_=3, activation="sigmoid")
    monitor.on_fit_begin(estimator)
    monitor.on_epoch_begin(estimator, 0)
    monitor.on_grad_computed(estimator, None, 0, record=record)
    net.params[:] *= 1.1  # a "step" of 10% of every weight
    monitor.on_batch_end(estimator, None, 0, 1.0, record=record)
    monitor.on_epoch_end(estimator, 0, 1.0)
    assert_array_equal(
        monitor.grad_norms_[0], [np.linalg.norm(g) for g in net.coef_grads]
    )
    assert_allclose(monitor.update_ratios_[0], 0.1, rtol=1e-12)  # step / weights before


class Raises(Callback):
    def __init__(self, hook="on_batch_end"):
        self.hook = hook

    def on_epoch_begin(self, estimator, epoch, **kwargs):
        if self.hook == "on_epoch_begin" and epoch == 2:
            raise RuntimeError("boom")

    def on_batch_end(self, estimator, network, batch, loss, **kwargs):
        if self.hook == "on_batch_end" and len(estimator.loss_curve_) == 2 and batch == 1:
            raise RuntimeError("boom")


@pytest.mark.parametrize("hook", ["on_epoch_begin", "on_batch_end"])
def test_an_error_in_a_hook_ends_the_fit_at_the_last_complete_epoch(hook):
    # A continued fit: the error keeps the model of its last complete epoch.
    reg = DeepMLPRegressor(depth=1, width=3, max_iter=1, batch_size=20, random_state=0)
    reg.fit(X, X[:, 0])
    reg.set_params(warm_start=True, max_iter=3, callbacks=[Raises(hook)])
    # The reference: the same two epochs without an error.
    reference = DeepMLPRegressor(depth=1, width=3, max_iter=1, batch_size=20, random_state=0)
    reference.fit(X, X[:, 0]).set_params(warm_start=True, max_iter=1).fit(X, X[:, 0])
    with pytest.raises(RuntimeError, match="boom"):
        reg.fit(X, X[:, 0])
    # n_iter_: the epochs of the failed call (as scikit-learn); the curve goes on
    assert reg.n_iter_ == 1 and len(reg.loss_curve_) == 2
    assert_allclose(reg.predict(X), reference.predict(X), rtol=1e-6)


def test_a_fresh_fit_with_an_error_before_any_complete_epoch_is_unfitted():
    from sklearn.exceptions import NotFittedError

    class FailsAtOnce(Callback):
        def on_grad_computed(self, estimator, network, batch, **kwargs):
            raise RuntimeError("boom")

    clf = DeepMLPClassifier(depth=1, width=3, max_iter=2, callbacks=[FailsAtOnce()])
    with pytest.raises(RuntimeError, match="boom"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def _built_in_callbacks():
    import sk_deepnet.callbacks as module

    classes = [getattr(module, name) for name in module.__all__]
    return [c for c in classes if isinstance(c, type) and issubclass(c, Callback) and c is not Callback]


@pytest.mark.parametrize("callback_class", _built_in_callbacks(), ids=lambda c: c.__name__)
def test_copies_of_a_built_in_callback_are_faithful_fresh_and_fitted(callback_class):
    # Issue 20: a copy has exactly the original's attributes and state.
    import copy
    import pickle

    import joblib
    from sklearn.base import clone

    fresh = callback_class()
    fitted = DeepMLPClassifier(depth=2, width=4, max_iter=2, random_state=0,
                               callbacks=[callback_class()])
    with pytest.warns(Warning):  # ConvergenceWarning (and maybe a health warning)
        fitted.fit(X, y)
    for original in (fresh, fitted.callbacks_[0]):
        for duplicate in (copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
            assert set(vars(duplicate)) == set(vars(original))
            assert joblib.hash(duplicate) == joblib.hash(original)
        assert clone(original).get_params() == original.get_params()
    assert set(vars(fitted.callbacks_[0])) > set(vars(fresh))  # it did record


def test_the_user_guide_callback_example_runs(capsys):
    # doc/user_guide/writing_a_callback.rst: its python block runs as shown.
    import pathlib
    import re

    page = pathlib.Path(__file__).parents[1] / "doc" / "user_guide" / "writing_a_callback.rst"
    if not page.is_file():
        pytest.skip("no doc/ directory")
    (block,) = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", page.read_text())
    code = "\n".join(line[4:] for line in block.splitlines())
    namespace = {}
    exec(compile(code, str(page), "exec"), namespace)
    clf, ratios = namespace["clf"], namespace["ratios"]
    assert ratios.shape == (clf.n_iter_, 4) and (ratios > 0).all()
    assert clf.n_iter_ < 30 and ratios[-1, -1] < 0.05 <= ratios[:-1, -1].min()  # it voted
    assert "epochs, ratios per layer" in capsys.readouterr().out


def test_continued_fits_call_begin_and_end_as_the_user_guide_says():
    # doc/user_guide/writing_a_callback.rst, "Callbacks and continued fits".
    calls = []

    class Log(Callback):
        def on_fit_begin(self, estimator, X=None, y=None, **kwargs):
            calls.append(("begin", id(self)))

        def on_fit_end(self, estimator, **kwargs):
            calls.append(("end", id(self)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = DeepMLPClassifier(depth=1, width=3, max_iter=1, warm_start=True,
                                callbacks=[Log()])
        clf.fit(X, y)
        first = id(clf.callbacks_[0])
        clf.fit(X, y)  # warm start: the same clone begins and ends again
        assert calls == [("begin", first), ("end", first)] * 2
        calls.clear()
        inc = DeepMLPClassifier(depth=1, width=3, callbacks=[Log()])
        inc.partial_fit(X, y, classes=np.unique(y))
        inc.partial_fit(X, y)
        clone_id = id(inc.callbacks_[0])
        assert calls == [("begin", clone_id)]
        inc.fit(X, y)  # a fresh fit ends the partial_fit series' clone
        assert calls[:2] == [("begin", clone_id), ("end", clone_id)]
        assert calls[2][0] == "begin" and calls[2][1] != clone_id


def test_gradient_monitor_with_jacobian_spectra_reads_only_the_record():
    # As above, with jacobian_spectra=True (issue 19 on issue 16's record).
    rng = np.random.default_rng(3)
    net = Network([4, 5, 2], "tanh", "softmax_cross_entropy", dtype=np.float64)
    net.initialize(rng, "glorot_uniform")
    X_batch = rng.normal(size=(8, 4))
    net.loss_and_gradient(X_batch, np.eye(2)[np.arange(8) % 2], None, 8.0)
    monitor = GradientMonitor(warn=False, jacobian_spectra=True, jacobian_probe_size=3)
    estimator = SimpleNamespace(n_layers_=3, activation="tanh")
    monitor.on_fit_begin(estimator, X_batch)
    monitor.on_epoch_begin(estimator, 0)
    monitor.on_grad_computed(estimator, None, 0, record=BatchRecord(net))
    monitor.on_batch_end(estimator, None, 0, 1.0, record=BatchRecord(net))
    monitor.on_epoch_end(estimator, 0, 1.0)
    assert np.isfinite(monitor.jacobian_max_[0]).all()


class _RateSpy(Callback):
    def __init__(self, warmup=None):
        self.warmup = warmup

    def on_fit_begin(self, estimator, X=None, y=None, **kwargs):
        self.seen, self.used = [], []

    def on_epoch_begin(self, estimator, epoch, **kwargs):
        self.seen.append(estimator.optimizer_.learning_rate)
        if self.warmup is not None and epoch == 0:
            estimator.optimizer_.learning_rate = self.warmup

    def on_batch_end(self, estimator, network, batch, loss, **kwargs):
        if batch == 0:
            self.used.append(estimator.optimizer_.learning_rate)


def test_on_epoch_begin_sees_the_epochs_learning_rate_and_may_change_it():
    X = np.random.default_rng(0).normal(size=(40, 3))
    reg = DeepMLPRegressor(depth=1, width=4, optimizer="sgd", learning_rate=0.1,
                           lr_schedule="step", lr_step_size=1, lr_gamma=0.5, max_iter=3,
                           batch_size=20, random_state=0, callbacks=[_RateSpy(warmup=1e-3)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spy = reg.fit(X, X.sum(axis=1)).callbacks_[0]
    assert spy.seen == pytest.approx([0.1, 0.05, 0.025])
    assert spy.used == pytest.approx([1e-3, 0.05, 0.025])  # the warm-up, then the schedule


def test_a_callback_class_instead_of_an_instance_is_named():
    # The message said "got type.".
    clf = DeepMLPClassifier(depth=1, width=4, max_iter=2, callbacks=[GradientMonitor])
    with pytest.raises(TypeError, match=r"got the class GradientMonitor itself: pass an "
                                        r"instance, GradientMonitor\(\)\."):
        clf.fit(X, y)
    with pytest.raises(TypeError, match="Callback instances; got str."):
        clf.set_params(callbacks=["GradientMonitor"]).fit(X, y)
    with pytest.raises(TypeError, match=r"got the class dict, which is no Callback: "
                                        r"subclass sk_deepnet\.callbacks\.Callback"):
        clf.set_params(callbacks=[dict]).fit(X, y)


def test_two_callbacks_exposed_as_the_same_attribute_are_refused():
    # gradient_monitor_ named the last one only; the scorers read it.
    spectra = GradientMonitor(jacobian_spectra=True)
    clf = DeepMLPClassifier(depth=1, width=4, max_iter=2, callbacks=[GradientMonitor(), spectra])
    with pytest.raises(ValueError, match=r"GradientMonitor\(\) and GradientMonitor\(jacobian_spe"
                                         r"ctra=True\), both exposed as the fitted attribute "
                                         "gradient_monitor_"):
        clf.fit(X, y)
    assert not hasattr(clf, "n_iter_")
    with pytest.raises(ValueError, match="gradient_monitor_"):  # the same one twice too
        clf.set_params(callbacks=[spectra, spectra]).partial_fit(X, y, classes=np.unique(y))

    class Unexposed(GradientMonitor):
        estimator_attribute = None

    clf.set_params(callbacks=[GradientMonitor(), Unexposed(), Unexposed()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert clf.gradient_monitor_ is clf.callbacks_[0]


class SetsRate(Callback):
    def __init__(self, rate=0.1):
        self.rate = rate

    def on_epoch_begin(self, estimator, epoch, **kwargs):
        estimator.optimizer_.learning_rate = self.rate


@pytest.mark.parametrize("rate", [-0.1, np.nan, "0.1", None])
def test_a_learning_rate_set_out_of_range_by_a_hook_gets_a_clear_error(rate):
    # "0.1" and None failed inside NumPy ("can't multiply sequence by
    # non-int"), NaN read as a divergence, -0.1 silently climbed the loss.
    X = np.random.default_rng(0).normal(size=(40, 3))
    reg = DeepMLPRegressor(depth=1, width=4, max_iter=1, batch_size=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = reg.fit(X, X.sum(axis=1)).predict(X)
    reg.set_params(warm_start=True, max_iter=2, callbacks=[SetsRate(rate)])
    with pytest.raises(ValueError, match=r"learning_rate must be a real number in \[0, inf\) "
                                         r"when the optimizer steps; got .*by a schedule or a callback"):
        reg.fit(X, X.sum(axis=1))
    assert_array_equal(reg.predict(X), reference)  # the model before the call


class VotesWith(Callback):
    def __init__(self, vote=None):
        self.vote = vote

    def on_epoch_end(self, estimator, epoch, loss, **kwargs):
        return self.vote


def test_a_hook_that_returns_an_array_gets_a_clear_error():
    # Its truth is ambiguous: numpy's error came from inside the training loop.
    clf = DeepMLPClassifier(depth=1, width=4, max_iter=3,
                            callbacks=[VotesWith(np.array([True, False]))])
    with pytest.raises(TypeError, match=r"VotesWith.on_epoch_end returned ndarray .* "
                                        "return True to stop training"):
        clf.fit(X, y)
    pd = pytest.importorskip("pandas")
    clf.set_params(callbacks=[VotesWith(pd.NA)])
    with pytest.raises(TypeError, match="VotesWith.on_epoch_end returned NAType"):
        clf.fit(X, y)
    # A truthy value stops, a falsy one goes on.
    assert DeepMLPClassifier(max_iter=3, callbacks=[VotesWith(np.True_)]).fit(X, y).n_iter_ == 1
    assert DeepMLPClassifier(max_iter=3, callbacks=[VotesWith(0)]).fit(X, y).n_iter_ == 3
