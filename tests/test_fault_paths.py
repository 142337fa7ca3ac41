"""Fault paths around the training loop: callbacks ended late, nested fits, interrupt messages.

* The running copies a ``partial_fit`` series leaves are ended (``on_fit_end``)
  by the call that replaces them; an error there must neither cost the fitted
  model nor stay stuck in the estimator, and every copy is ended.
* A hook that calls ``fit`` on the estimator being fitted gets a clear error.
* The FitInterruptedWarning says which model is kept when no epoch completed.
"""

import pickle
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor, FitInterruptedWarning
from sk_deepnet.callbacks import Callback, GradientHealthWarning, GradientMonitor

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3))
Y = (X[:, 0] > 0).astype(int)
SMALL = dict(depth=1, width=4, random_state=0)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _params(estimator):
    return estimator._network.params.copy()


class EndsWith(Callback):
    """``on_fit_end`` logs itself in ``ENDED`` (shared by its copies), then raises ``exc``."""

    ENDED = []

    def __init__(self, name="a", exc=None):
        self.name = name
        self.exc = exc

    def on_fit_end(self, estimator, **kwargs):
        EndsWith.ENDED.append(self.name)
        if self.exc is not None:
            raise self.exc(f"{self.name} failed")


@pytest.fixture(autouse=True)
def _clear_log():
    EndsWith.ENDED.clear()
    yield


def _series(callbacks):
    """A classifier after a partial_fit series: its callback copies are running."""
    clf = DeepMLPClassifier(**SMALL, max_iter=3, callbacks=callbacks)
    clf.partial_fit(X, Y, classes=[0, 1])
    clf.partial_fit(X, Y)
    assert EndsWith.ENDED == []
    return clf


# ------------------------------------------------ callbacks a new call ends
@pytest.mark.parametrize("new_callbacks", ["same", "none"])
def test_a_fresh_fit_whose_stale_callback_raises_keeps_the_model_then_trains(new_callbacks):
    clf = _series([EndsWith("a", RuntimeError)])
    before, n_iter = _params(clf), clf.n_iter_
    if new_callbacks == "none":
        clf.set_params(callbacks=[])
    with pytest.raises(RuntimeError, match="a failed") as info:
        clf.fit(X, Y)
    # the error is the previous series': the fitted model is kept, unchanged
    assert_array_equal(_params(clf), before)
    assert clf.n_iter_ == n_iter == len(clf.loss_curve_)
    assert np.isfinite(clf.predict_proba(X)).all()
    if sys.version_info >= (3, 11):
        assert any("previous partial_fit" in note for note in info.value.__notes__)
    assert EndsWith.ENDED == ["a"]
    # ended once and for all: the next fit trains (and does not end them again)
    clf.set_params(callbacks=[])
    clf.fit(X, Y)
    assert EndsWith.ENDED == ["a"]
    assert clf.n_iter_ == 3


def test_partial_fit_after_switching_callbacks_raises_once_then_goes_on():
    clf = _series([EndsWith("a", RuntimeError)])
    before, n_iter = _params(clf), clf.n_iter_
    clf.set_params(callbacks=None)
    with pytest.raises(RuntimeError, match="a failed"):
        clf.partial_fit(X, Y)
    assert_array_equal(_params(clf), before)  # this call trained nothing
    assert clf.n_iter_ == n_iter
    clf.partial_fit(X, Y)  # it used to raise at every later call
    clf.partial_fit(X, Y)
    assert clf.n_iter_ == n_iter + 2
    assert EndsWith.ENDED == ["a"]


def test_every_stale_callback_is_ended_even_if_one_raises():
    clf = _series([EndsWith("a", RuntimeError), EndsWith("b"), EndsWith("c", ValueError)])
    with pytest.raises(RuntimeError, match="a failed") as info:
        clf.fit(X, Y)
    assert EndsWith.ENDED == ["a", "b", "c"]
    if sys.version_info >= (3, 11):
        assert any("ValueError: c failed" in note for note in info.value.__notes__)


def test_every_callback_is_ended_at_the_end_of_a_fit_even_if_one_raises():
    clf = DeepMLPClassifier(**SMALL, max_iter=2,
                            callbacks=[EndsWith("a", RuntimeError), EndsWith("b")])
    with pytest.raises(RuntimeError, match="a failed"):
        clf.fit(X, Y)
    assert EndsWith.ENDED == ["a", "b"]
    assert clf.n_iter_ == 2  # the trained model is kept (an error after training)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_a_keyboard_interrupt_while_stale_callbacks_end_warns_and_keeps_the_model():
    clf = _series([EndsWith("a", KeyboardInterrupt), EndsWith("b")])
    before, n_iter = _params(clf), clf.n_iter_
    with pytest.warns(FitInterruptedWarning, match="this call trained nothing"):
        assert clf.fit(X, Y) is clf
    assert EndsWith.ENDED == ["a", "b"]
    assert_array_equal(_params(clf), before)
    assert clf.n_iter_ == n_iter
    clf.set_params(callbacks=[]).fit(X, Y)  # the next fit trains, not ending them again
    assert EndsWith.ENDED == ["a", "b"]
    assert clf.n_iter_ == 3


def test_the_documented_health_warning_as_error_pattern_with_partial_fit():
    # writing_a_callback.rst / GradientMonitor: warnings.simplefilter("error",
    # GradientHealthWarning). The monitor of a partial_fit series diagnoses at its
    # end, when a later call ends it: that call raises once, the model is kept.
    Xs = RNG.normal(size=(30, 4))
    ys = (Xs[:, 0] > 0).astype(int)
    clf = DeepMLPClassifier(depth=8, width=8, activation="sigmoid", random_state=0,
                            max_iter=5, callbacks=[GradientMonitor()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", GradientHealthWarning)
        for _ in range(3):
            clf.partial_fit(Xs, ys, classes=[0, 1])
        before = _params(clf)
        clf.set_params(callbacks=None)
        with pytest.raises(GradientHealthWarning, match="Vanishing gradients"):
            clf.partial_fit(Xs, ys)
        assert_array_equal(_params(clf), before)
        assert clf.gradient_monitor_.diagnosis_ == "vanishing"  # the records stay
        clf.partial_fit(Xs, ys)
        assert clf.n_iter_ == 4
        assert not hasattr(clf, "gradient_monitor_")  # replaced by callbacks=None
        clf.fit(Xs, ys)  # and a fresh fit trains
        assert clf.n_iter_ == 5


# ------------------------------------------------ a fit from inside a hook
class FitsInside(Callback):
    def __init__(self, method="fit", on_a_clone=False):
        self.method = method
        self.on_a_clone = on_a_clone

    def on_epoch_end(self, estimator, epoch, loss, **kwargs):
        if estimator.n_iter_ == 2:  # the second epoch of this fit
            target = clone(estimator).set_params(callbacks=None) if self.on_a_clone else estimator
            if self.method == "fit":
                target.fit(X, Y)
            else:
                target.partial_fit(X, Y, classes=[0, 1])


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_fit_from_inside_a_hook_is_a_clear_error_and_a_fresh_fit_stays_unfitted(method):
    clf = DeepMLPClassifier(**SMALL, max_iter=3, callbacks=[FitsInside(method)])
    with pytest.raises(RuntimeError, match="cannot be called on the DeepMLPClassifier "
                                           "being fitted, from inside its callback hook"):
        clf.fit(X, Y)
    with pytest.raises(NotFittedError):  # a hook's error stops a fresh fit: unfitted
        clf.predict(X)
    clf.set_params(callbacks=None)
    assert clf.fit(X, Y).n_iter_ == 3  # nothing stays locked


def test_fit_from_inside_a_hook_of_a_warm_start_keeps_its_last_complete_epoch():
    reg = DeepMLPRegressor(**SMALL, max_iter=2, warm_start=True).fit(X, X[:, 1])
    reg.set_params(max_iter=3, callbacks=[FitsInside("fit")])
    with pytest.raises(RuntimeError, match="being fitted"):
        reg.fit(X, X[:, 1])
    # the error came in the on_epoch_end of the warm start's second epoch
    assert reg.n_iter_ == 2 and len(reg.loss_curve_) == 4
    assert np.isfinite(reg.predict(X)).all()


class SetsParams(Callback):
    def on_epoch_end(self, estimator, epoch, loss, **kwargs):
        estimator.set_params(max_iter=2, learning_rate=1.0, depth=7)


def test_set_params_from_inside_a_hook_is_a_clear_error():
    # It applied to nothing of the running fit, and get_params() then told
    # of another model (depth=7 for 2 hidden layers, max_iter=2 with n_iter_=5).
    clf = DeepMLPClassifier(**SMALL, max_iter=5, warm_start=True).fit(X, Y)
    params = clf.get_params()
    clf.set_params(callbacks=[SetsParams()])
    with pytest.raises(RuntimeError, match="set_params cannot be called on the "
                                           "DeepMLPClassifier being fitted"):
        clf.fit(X, Y)
    assert clf.get_params()["depth"] == params["depth"] and clf.max_iter == 5
    assert np.isfinite(clf.predict_proba(X)).all()  # the warm start's model is kept
    # Between fits, and on a clone from a hook, set_params works.
    clf.set_params(callbacks=None, max_iter=1)
    assert clf.fit(X, Y).n_iter_ == 1


class RecordingSklearnCallback:
    """A scikit-learn callback (the ``set_callbacks`` protocol) that logs its calls."""

    def __init__(self):
        self.log = []

    def setup(self, estimator, context):
        self.log.append("setup")

    def teardown(self, estimator, context):
        self.log.append("teardown")

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.log.append("begin")

    def on_fit_task_end(self, estimator, context, **kwargs):
        self.log.append("end")
        return False


class FitsInsideAndCatches(Callback):
    def __init__(self, method="fit"):
        self.method = method

    def on_epoch_end(self, estimator, epoch, loss, **kwargs):
        if epoch == 1:
            with pytest.raises(RuntimeError, match="being fitted"):
                if self.method == "pretrain_fit":
                    estimator.pretrain_fit(X)
                else:
                    getattr(estimator, self.method)(X, Y)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "pretrain_fit"])
def test_a_refused_fit_inside_a_hook_leaves_the_running_sklearn_callbacks(method):
    pytest.importorskip("sklearn.callback")
    spy = RecordingSklearnCallback()
    clf = DeepMLPClassifier(**SMALL, max_iter=3, callbacks=[FitsInsideAndCatches(method)])
    clf.set_callbacks(spy).fit(X, Y)
    assert clf.n_iter_ == 3
    # One setup and one teardown, at the ends of the outer fit: the refused
    # call did not end its context half-way.
    assert spy.log[0] == "setup" and spy.log[-1] == "teardown"
    assert spy.log.count("setup") == spy.log.count("teardown") == 1


def test_a_hook_may_fit_a_clone():
    clf = DeepMLPClassifier(**SMALL, max_iter=3, callbacks=[FitsInside("fit", on_a_clone=True)])
    assert clf.fit(X, Y).n_iter_ == 3


# ------------------------------------------ interrupts before any epoch
class InterruptFirstBatch(Callback):
    def on_batch_end(self, estimator, network, batch, loss, **kwargs):
        raise KeyboardInterrupt


def test_an_interrupt_in_the_first_epoch_of_a_warm_start_says_the_model_is_unchanged():
    clf = DeepMLPClassifier(**SMALL, max_iter=2, warm_start=True).fit(X, Y)
    before = _params(clf)
    clf.set_params(callbacks=[InterruptFirstBatch()])
    with pytest.warns(FitInterruptedWarning) as record:
        clf.fit(X, Y)
    message = str(record[0].message)
    assert "No epoch of this call completed" in message
    assert "(2 epochs trained before) is kept, unchanged" in message
    assert "last complete epoch" not in message
    assert_array_equal(_params(clf), before)


@pytest.mark.parametrize("optimizer, unit", [("adam", "epoch"), ("lbfgs", "iteration")])
def test_an_interrupt_before_a_refit_trained_anything_keeps_the_previous_model(optimizer, unit):
    # A fresh fit of a fitted estimator, interrupted in its first epoch, kept
    # the new untrained initialization: a Ctrl-C lost the trained model.
    # Nothing of the new fit is trained, so the fit did not happen.
    monitor = GradientMonitor()
    clf = DeepMLPClassifier(**SMALL, max_iter=3, optimizer=optimizer, callbacks=[monitor])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradientHealthWarning)
        clf.fit(X, Y)
    before = dict(vars(clf))
    params, proba = _params(clf), clf.predict_proba(X)
    clf.set_params(callbacks=[InterruptFirstBatch()], width=6)  # another network
    with pytest.warns(FitInterruptedWarning) as record:
        clf.fit(X, Y)
    message = str(record[0].message)
    assert f"No {unit} completed: the model fitted before this call is kept" in message
    assert f"(n_iter_={before['n_iter_']})" in message
    assert "untrained initialization" not in message
    assert_array_equal(_params(clf), params)
    assert_array_equal(clf.predict_proba(X), proba)
    assert clf.gradient_monitor_ is before["gradient_monitor_"]
    fitted = {name: value for name, value in vars(clf).items() if clf._is_fitted_state(name)}
    assert fitted == {name: value for name, value in before.items() if name in fitted}
    assert set(fitted) == {name for name in before if clf._is_fitted_state(name)}
    assert not {"_replaced_model_n_iter", "_put_back_replaced_model"} & set(vars(clf))
    clf.set_params(callbacks=None).fit(X, Y)  # and it trains again
    assert clf.coefs_[0].shape == (3, 6)


class Checkpoint(Callback):
    """Pickles the estimator at each epoch's end, as a checkpointing callback does."""

    def on_epoch_end(self, estimator, epoch, loss, **kwargs):
        self.saved_ = pickle.dumps(estimator)


def test_a_checkpoint_pickled_during_a_refit_holds_no_state_of_the_call():
    clf = DeepMLPClassifier(**SMALL, max_iter=2).fit(X, Y)
    clf.set_params(callbacks=[Checkpoint()])
    clf.fit(X, Y)
    loaded = pickle.loads(clf.callbacks_[0].saved_)
    assert "_replaced_model_n_iter" not in vars(loaded)  # it would hold the old model's count
    assert_array_equal(loaded.predict(X), clf.predict(X))


def test_an_interrupt_after_a_refit_trained_an_epoch_keeps_the_new_model():
    class InterruptSecondEpoch(Callback):
        def on_epoch_begin(self, estimator, epoch, **kwargs):
            if epoch == 1:
                raise KeyboardInterrupt

    clf = DeepMLPClassifier(**SMALL, max_iter=3).fit(X, Y)
    clf.set_params(callbacks=[InterruptSecondEpoch()], width=6)
    with pytest.warns(FitInterruptedWarning, match=r"last complete epoch \(1\) is kept"):
        clf.fit(X, Y)
    assert clf.n_iter_ == 1 and clf.coefs_[0].shape == (3, 6)


class InterruptFirstBatchAndFitEnd(InterruptFirstBatch):
    def on_fit_end(self, estimator, **kwargs):
        raise KeyboardInterrupt


@pytest.mark.parametrize("optimizer, unit", [("adam", "epoch"), ("lbfgs", "iteration")])
@pytest.mark.parametrize("fitted, warm_start, kept", [
    (True, False, "the model fitted before this call is kept"),
    (True, True, "the model it started from (3 {unit}s trained before) is kept"),
    (False, False, "the model is the untrained initialization"),
])
def test_an_interrupt_while_callbacks_end_a_call_that_trained_nothing_names_the_model_kept(
    optimizer, unit, fitted, warm_start, kept
):
    # It said "the trained model (0 epochs) is kept and usable", where a refit
    # puts the previous model back and an unfitted estimator keeps its
    # untrained initialization.
    clf = DeepMLPClassifier(**SMALL, max_iter=3, optimizer=optimizer, warm_start=warm_start)
    if fitted:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, Y)
        params = _params(clf)
    clf.set_params(callbacks=[InterruptFirstBatchAndFitEnd()])
    with pytest.warns(FitInterruptedWarning) as record:
        clf.fit(X, Y)
    message = str(record[-1].message)
    assert message.startswith("KeyboardInterrupt while the callbacks ended the fit")
    assert kept.format(unit=unit) in message
    assert "trained model (0" not in message
    if fitted:
        assert_array_equal(_params(clf), params)


def test_an_interrupt_in_the_first_lbfgs_iteration_says_the_model_is_untrained():
    clf = DeepMLPClassifier(**SMALL, optimizer="lbfgs", callbacks=[InterruptFirstBatch()])
    with pytest.warns(FitInterruptedWarning) as record:
        clf.fit(X, Y)
    message = str(record[0].message)
    assert "No iteration completed: the model is the untrained initialization" in message
    assert clf.n_iter_ == 0 and clf.loss_curve_ == []


def test_a_warm_start_diverging_in_its_first_epoch_says_it_went_back_to_its_start():
    from sk_deepnet import DivergenceWarning

    reg = DeepMLPRegressor(**SMALL, max_iter=2, optimizer="sgd", learning_rate=1e-3,
                           warm_start=True).fit(X, X[:, 1])
    before = _params(reg)
    reg.set_params(learning_rate=1e30)
    with pytest.warns(DivergenceWarning) as record:
        reg.fit(X, X[:, 1])
    message = str(record[0].message)
    assert "The weights this call started from were restored" in message
    assert "(2 epochs trained before)" in message and "(epoch 0)" not in message
    assert_array_equal(_params(reg), before)
    assert reg.optimizer_.t_ == 0  # the diverged steps' state is forgotten


class InterruptAtBatch(Callback):
    def __init__(self, batch=2):
        self.batch = batch

    def on_batch_end(self, estimator, network, batch, loss, **kwargs):
        if batch == self.batch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_an_interrupted_partial_fit_keeps_the_optimizers_state(optimizer):
    # The epoch's weights are undone; the optimizer was reset too, which set
    # Adam back to its first, largest steps: the next epoch's loss was 20
    # times the uninterrupted series' (0.0129 against 0.00065).
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X_digits, y_digits = load_digits(return_X_y=True)
    X_digits, y_digits = StandardScaler().fit_transform(X_digits[:600]), y_digits[:600]

    def next_loss(interrupt):
        clf = DeepMLPClassifier(depth=2, width=32, optimizer=optimizer, learning_rate=0.01,
                                batch_size=50, shuffle=False, random_state=0, dtype="float64")
        for _ in range(30):
            clf.partial_fit(X_digits, y_digits, classes=np.arange(10))
        if interrupt:
            steps = clf.optimizer_.t_
            clf.set_params(callbacks=[InterruptAtBatch()])
            with pytest.warns(FitInterruptedWarning, match="last complete epoch"):
                clf.partial_fit(X_digits, y_digits)
            clf.set_params(callbacks=None)
            assert clf.optimizer_.t_ == steps + 3  # the steps of the undone batches too
        clf.partial_fit(X_digits, y_digits)
        return clf.loss_curve_[-1]

    assert next_loss(True) < 1.2 * next_loss(False)


#: What EndLog's hooks did, in order (the fit's copies log here: clone deep-copies
#: a list parameter).
END_LOG = []


class EndLog(Callback):
    def __init__(self, fail=False):
        self.fail = fail

    def on_fit_begin(self, estimator, X=None, y=None, **kwargs):
        END_LOG.append("begin")

    def on_epoch_end(self, estimator, epoch, loss, **kwargs):
        if self.fail:
            raise ValueError("hook failed")

    def on_fit_end(self, estimator, **kwargs):
        END_LOG.append("end")


def test_a_failed_first_partial_fit_ends_the_callbacks_it_started():
    END_LOG.clear()
    clf = DeepMLPClassifier(**SMALL, callbacks=[EndLog(fail=True)])
    with pytest.raises(ValueError, match="hook failed"):
        clf.partial_fit(X, Y, classes=[0, 1])
    with pytest.raises(NotFittedError):
        clf.predict(X)
    assert END_LOG == ["begin", "end"]  # ended with the discarded state, once
    clf.set_params(callbacks=[EndLog()]).fit(X, Y)
    assert END_LOG == ["begin", "end", "begin", "end"]


class RaisesAtEnd(Callback):
    def __init__(self, error="value"):
        self.error = error

    def on_fit_end(self, estimator, **kwargs):
        END_LOG.append(self.error)
        raise KeyboardInterrupt if self.error == "interrupt" else ValueError("end failed")


def test_an_error_at_the_end_is_not_hidden_by_an_interrupt_of_another_callback():
    # The interrupt alone would become a FitInterruptedWarning; the error must
    # still be raised, whatever the order, and both callbacks are ended.
    for order in (["interrupt", "value"], ["value", "interrupt"]):
        END_LOG.clear()
        clf = DeepMLPClassifier(**SMALL, max_iter=2,
                                callbacks=[RaisesAtEnd(kind) for kind in order])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError, match="end failed"):
                clf.fit(X, Y)
        assert END_LOG == order
        assert clf.n_iter_ == 2  # the trained model is kept (its error came after)


class _EpochWeights(Callback):
    """The weights at the end of every epoch, before any restore."""

    def __init__(self):
        self.weights = {}

    def on_epoch_end(self, estimator, epoch, loss, **kwargs):
        self.weights[epoch + 1] = [c.copy() for c in estimator.coefs_]


def _same_weights(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


def _failing_save(exc, fails, *callers):
    """A Snapshot.save that raises ``exc`` on the ``fails``-th call from one of
    ``callers`` (Trainer methods), after copying half of the parameters."""
    from sk_deepnet import _training

    real_save, calls = _training.Snapshot.save, [0]

    def save(snapshot, network):
        if sys._getframe(1).f_code.co_name in callers:
            calls[0] += 1
            if calls[0] == fails:
                half = len(network.params) // 2
                snapshot.params[:half] = network.params[:half]
                raise exc
        return real_save(snapshot, network)

    return save


@pytest.mark.parametrize("exc", [KeyboardInterrupt, MemoryError])
@pytest.mark.parametrize("warm", [False, True])
def test_a_fault_while_the_epochs_snapshot_is_saved_keeps_the_last_complete_epoch(
    monkeypatch, exc, warm
):
    # begin_epoch marked the epoch as started before it saved the snapshot:
    # the undo then restored the older (here half-copied) snapshot, the
    # untrained weights of a fresh fit that said it kept epoch 1.
    from sk_deepnet import _training

    params = dict(SMALL, depth=2, batch_size=16)
    if warm:  # 3 epochs, then a warm start that keeps 1 more
        estimator = DeepMLPClassifier(**params, max_iter=3).fit(X, Y)
        reference = clone(estimator).fit(X, Y).set_params(warm_start=True, max_iter=1)
        reference.fit(X, Y)
        estimator.set_params(warm_start=True, max_iter=5)
    else:
        estimator = DeepMLPClassifier(**params, max_iter=5)
        reference = DeepMLPClassifier(**params, max_iter=1).fit(X, Y)
    monkeypatch.setattr(_training.Snapshot, "save", _failing_save(exc, 2, "begin_epoch"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitInterruptedWarning)
        try:
            estimator.fit(X, Y)
        except MemoryError:
            assert exc is MemoryError
    if exc is MemoryError and not warm:  # a failed fresh fit leaves no model
        with pytest.raises(NotFittedError):
            estimator.predict(X)
        return
    assert estimator.n_iter_ == 1 and estimator.t_ == reference.t_
    assert _same_weights(estimator.coefs_, reference.coefs_)
    assert_array_equal(estimator.predict(X), reference.predict(X))


@pytest.mark.parametrize("fault", ["save", "print"])
def test_a_fault_while_a_new_best_epoch_is_saved_keeps_a_model_the_scores_describe(
    monkeypatch, fault
):
    # end_epoch saved the new best epoch's weights (then printed its score)
    # before it marked the epoch complete: a Ctrl-C there undid the epoch's
    # bookkeeping, and the end of the fit restored the undone epoch's weights
    # (or a half-copied mix of them).
    from sk_deepnet import _training

    rng = np.random.default_rng(0)
    X_es = rng.normal(size=(200, 3))
    y_es = (X_es[:, 0] + 0.5 * X_es[:, 1] > 0).astype(int)
    params = dict(depth=2, width=8, batch_size=32, random_state=0, early_stopping=True,
                  n_iter_no_change=50, tol=0, learning_rate=1e-2, max_iter=6)
    clean = DeepMLPClassifier(**params, callbacks=[_EpochWeights()]).fit(X_es, y_es)
    epoch_weights = clean.callbacks_[0].weights
    improved = [e for e in range(2, 7) if clean.validation_scores_[e - 1] > max(
        clean.validation_scores_[: e - 1])]
    assert improved, "the clean run needs a second best epoch"
    interrupted_epoch = improved[0]
    estimator = DeepMLPClassifier(**params, verbose=fault == "print")
    if fault == "save":  # the first epoch is the first best: its save is call 1
        monkeypatch.setattr(_training.Snapshot, "save", _failing_save(
            KeyboardInterrupt, 2, "save_best", "end_epoch"))  # before: end_epoch's
    else:
        calls = []

        def interrupted_print(*args, **kwargs):
            calls.append(args)
            if str(args[0]).startswith("Validation score") and len(
                    [c for c in calls if str(c[0]).startswith("Validation")]) == interrupted_epoch:
                raise KeyboardInterrupt

        monkeypatch.setattr(_training, "print", interrupted_print, raising=False)
    with pytest.warns(FitInterruptedWarning):
        estimator.fit(X_es, y_es)
    # The epoch was complete and its model the best: it is kept, and the
    # scores say so.
    assert estimator.n_iter_ == interrupted_epoch
    assert len(estimator.validation_scores_) == interrupted_epoch
    best = int(np.argmax(estimator.validation_scores_)) + 1
    assert best == interrupted_epoch
    assert estimator.best_validation_score_ == estimator.validation_scores_[best - 1]
    assert _same_weights(estimator.coefs_, epoch_weights[best])


@pytest.mark.parametrize("warm", [False, True])
def test_a_ctrl_c_while_the_final_model_is_set_sets_it_again(monkeypatch, warm):
    # finish() restores early stopping's best epoch outside the training
    # loop's handling: a Ctrl-C there escaped, a fresh fit of 8 epochs ended
    # unfitted, and a warm start kept its last epoch instead of its best.
    from sk_deepnet import _training

    rng = np.random.default_rng(0)
    X_es = rng.normal(size=(200, 3))
    y_es = (X_es[:, 0] + 0.5 * X_es[:, 1] > 0).astype(int)
    params = dict(depth=2, width=8, batch_size=32, random_state=0, early_stopping=True,
                  n_iter_no_change=50, tol=0, learning_rate=0.05, max_iter=8)

    def fitted(**changes):
        estimator = DeepMLPClassifier(**{**params, **changes})
        if warm:
            estimator.set_params(max_iter=2).fit(X_es, y_es)
            estimator.set_params(warm_start=True, max_iter=8)
        return estimator

    reference = fitted().fit(X_es, y_es)
    assert reference.n_iter_ == 8 and np.argmax(reference.validation_scores_) < (
        len(reference.validation_scores_) - 1), "the best epoch must not be the last"
    real_restore, calls = _training.Snapshot.restore, []

    def restore(snapshot, network, *args, **kwargs):
        if sys._getframe(1).f_code.co_name in ("set_final_model", "finish") and not calls:
            calls.append(1)
            network.params[: len(network.params) // 2] = snapshot.params[: len(network.params) // 2]
            raise KeyboardInterrupt
        return real_restore(snapshot, network, *args, **kwargs)

    ended = EndsWith("ended")
    estimator = fitted(callbacks=[ended])
    monkeypatch.setattr(_training.Snapshot, "restore", restore)
    with pytest.warns(FitInterruptedWarning, match="while the final model was set"):
        estimator.fit(X_es, y_es)
    assert calls and EndsWith.ENDED[-1] == "ended"
    assert _same_weights(estimator.coefs_, reference.coefs_)
    assert estimator.n_iter_ == reference.n_iter_
    assert_array_equal(estimator.predict(X_es), reference.predict(X_es))


def test_a_warm_start_that_never_beats_the_best_score_keeps_the_best_model():
    # Early stopping's best_validation_score_ carries over a warm start; a
    # call whose epochs all scored below it kept its last epoch (accuracy
    # 0.55 where the score said 1.0). scikit-learn restores its best
    # coefficients of the earlier call.
    rng = np.random.default_rng(0)
    X_es = rng.normal(size=(400, 3))
    y_es = (X_es[:, 0] + 0.5 * X_es[:, 1] > 0).astype(int)
    clf = DeepMLPClassifier(depth=2, width=8, batch_size=32, random_state=0,
                            early_stopping=True, n_iter_no_change=50, tol=0,
                            learning_rate=0.05, max_iter=8).fit(X_es, y_es)
    best, start = clf.best_validation_score_, [c.copy() for c in clf.coefs_]
    clf.set_params(warm_start=True, learning_rate=3.0, max_iter=3).fit(X_es, y_es)
    assert max(clf.validation_scores_[-3:]) < best == clf.best_validation_score_
    assert _same_weights(clf.coefs_, start)
    assert clf.score(X_es, y_es) > 0.95
