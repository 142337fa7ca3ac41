"""Failure modes: bad input, divergence, interrupts, memory and concurrency.

Each test provokes one way a fit can go wrong in a user's hands and checks that
the estimator either refuses clearly (a ValueError/TypeError naming the problem)
or ends in a consistent, usable state that says what happened.
"""

import pickle
import re
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from sk_deepnet import (
    DeepMLPClassifier,
    DeepMLPRegressor,
    DivergenceWarning,
    FitInterruptedWarning,
)
from sk_deepnet.callbacks import Callback

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4))
Y_CLASS = np.arange(60) % 3
Y_REG = X @ np.array([1.0, -2.0, 0.5, 0.0])
SMALL = dict(depth=2, width=6, max_iter=3, random_state=0)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _params(estimator):
    return estimator._network.params.copy()


# ------------------------------------------------------------------ bad input
def _nan_at(A, value=np.nan):
    A = A.astype(float).copy()
    A.flat[5] = value
    return A


def _fit_clf(X_, y_, **kw):
    return lambda: DeepMLPClassifier(**{**SMALL, **kw}).fit(X_, y_)


def _fit_reg(X_, y_, **kw):
    return lambda: DeepMLPRegressor(**{**SMALL, **kw}).fit(X_, y_)


def _fitted_clf():
    return DeepMLPClassifier(**SMALL).fit(X, Y_CLASS)


BAD_INPUTS = {
    # case: (callable that must raise, regex the message must match)
    "nan_in_X": (_fit_clf(_nan_at(X), Y_CLASS), "contains NaN"),
    "inf_in_X": (_fit_reg(_nan_at(X, np.inf), Y_REG), "infinity"),
    "nan_in_sparse_X": (_fit_clf(sp.csr_matrix(_nan_at(X)), Y_CLASS), "contains NaN"),
    "nan_in_y": (_fit_reg(X, _nan_at(Y_REG)), "y contains NaN"),
    "inf_in_y": (_fit_reg(X, _nan_at(Y_REG, -np.inf)), "y contains infinity"),
    "nan_label": (_fit_clf(X, _nan_at(Y_CLASS)), "y contains NaN"),
    "X_beyond_float32": (_fit_clf(X * 1e300, Y_CLASS), "float32.*dtype='float64'"),
    "sparse_X_beyond_float32": (
        _fit_clf(sp.csr_matrix(X * 1e300), Y_CLASS), "float32.*dtype='float64'"
    ),
    "y_beyond_float32": (_fit_reg(X, Y_REG * 1e300), "y .*float32.*dtype='float64'"),
    "mismatched_lengths": (_fit_clf(X, Y_CLASS[:-1]), "inconsistent numbers of samples"),
    "empty_X": (_fit_clf(X[:0], Y_CLASS[:0]), "0 sample"),
    "no_features": (_fit_reg(X[:, :0], Y_REG), "0 feature"),
    "continuous_labels": (_fit_clf(X, Y_REG), "Unknown label type"),
    "multioutput_multiclass": (
        _fit_clf(X, np.c_[Y_CLASS, Y_CLASS]), "[Mm]ultioutput.*not supported"
    ),
    "mixed_label_types": (
        _fit_clf(X, np.array([1, "a", 2.5] * 20, dtype=object)), "mix|type"
    ),
    "complex_X": (_fit_clf(X + 1j, Y_CLASS), "Complex data not supported"),
    "complex_y": (_fit_reg(X, Y_REG + 1j), "Complex data not supported"),
    "string_X": (_fit_clf(np.full((60, 4), "abc"), Y_CLASS), "could not convert string"),
    "object_X": (
        _fit_clf(np.array([[1.0, "x", None, 2]] * 60, dtype=object), Y_CLASS),
        "could not convert|float",
    ),
    "string_y_regression": (_fit_reg(X, np.array(["a", "b", "c"] * 20)), "convert string"),
    "1d_X": (_fit_clf(X[:, 0], Y_CLASS), "Expected 2D array"),
    "3d_X": (_fit_clf(X[:, :, None], Y_CLASS), "dim 3"),
    "nan_sample_weight": (
        lambda: DeepMLPClassifier(**SMALL).fit(X, Y_CLASS, sample_weight=_nan_at(np.ones(60))),
        "sample_weight contains NaN",
    ),
    "negative_sample_weight": (
        lambda: DeepMLPClassifier(**SMALL).fit(X, Y_CLASS, sample_weight=-np.ones(60)),
        "Negative values .*sample_weight",
    ),
    "zero_sample_weight": (
        lambda: DeepMLPRegressor(**SMALL).fit(X, Y_REG, sample_weight=np.zeros(60)),
        "non-zero|positive sum",
    ),
    "sample_weight_length": (
        lambda: DeepMLPRegressor(**SMALL).fit(X, Y_REG, sample_weight=np.ones(3)),
        "sample_weight.shape",
    ),
    "sample_weight_sum_overflows": (
        lambda: DeepMLPRegressor(**SMALL).fit(X, Y_REG, sample_weight=np.full(60, 1e37)),
        "sample_weight.*float32",
    ),
    "early_stopping_too_few_samples": (
        _fit_clf(X[:6], Y_CLASS[:6], early_stopping=True),
        "validation_fraction",
    ),
    "predict_wrong_feature_count": (
        lambda: _fitted_clf().predict(X[:, :3]), "X has 3 features.* expecting 4"
    ),
    "predict_nan": (lambda: _fitted_clf().predict_proba(_nan_at(X)), "contains NaN"),
    "predict_empty": (lambda: _fitted_clf().predict(X[:0]), "0 sample"),
    "predict_complex": (lambda: _fitted_clf().predict(X + 1j), "Complex data"),
    "predict_strings": (lambda: _fitted_clf().predict(np.full((3, 4), "x")), "convert string"),
    "partial_fit_unseen_class": (
        lambda: DeepMLPClassifier(**SMALL)
        .partial_fit(X, Y_CLASS, classes=[0, 1, 2])
        .partial_fit(X, Y_CLASS + 1),
        r"labels \[3\] that were not seen",
    ),
    "partial_fit_label_not_in_classes": (
        lambda: DeepMLPClassifier(**SMALL).partial_fit(X, Y_CLASS, classes=[0, 1]),
        r"labels \[2\] not in classes",
    ),
    "partial_fit_without_classes": (
        lambda: DeepMLPClassifier(**SMALL).partial_fit(X, Y_CLASS), "classes must be passed"
    ),
    "partial_fit_feature_count_changes": (
        lambda: DeepMLPClassifier(**SMALL)
        .partial_fit(X, Y_CLASS, classes=[0, 1, 2])
        .partial_fit(X[:, :2], Y_CLASS),
        "X has 2 features",
    ),
    "partial_fit_target_type_changes": (
        lambda: DeepMLPClassifier(**SMALL)
        .partial_fit(X, np.c_[Y_CLASS == 0, Y_CLASS == 1].astype(int))
        .partial_fit(X, Y_CLASS),
        "type of target",
    ),
    "partial_fit_output_count_changes": (
        lambda: DeepMLPRegressor(**SMALL).partial_fit(X, Y_REG).partial_fit(X, np.c_[Y_REG, Y_REG]),
        "2 outputs .* fitted with 1",
    ),
    "warm_start_architecture_changes": (
        lambda: DeepMLPClassifier(warm_start=True, **SMALL)
        .fit(X, Y_CLASS)
        .set_params(width=7)
        .fit(X, Y_CLASS),
        "same architecture",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_raises_a_clear_error(case):
    call, message = BAD_INPUTS[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # e.g. overflow in a cast
        with pytest.raises((ValueError, TypeError), match=message):
            call()


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        DeepMLPClassifier().predict(X)


def test_a_failed_fit_call_does_not_corrupt_a_fitted_model():
    clf = _fitted_clf()
    before, proba = _params(clf), clf.predict_proba(X)
    for bad in (_nan_at(X), X[:, :3]):
        with pytest.raises(ValueError):
            clf.partial_fit(bad, Y_CLASS)
    assert_array_equal(_params(clf), before)
    assert_array_equal(clf.predict_proba(X), proba)


# ----------------------------------------------------------------- recorders
class EpochRecorder(Callback):
    """Records the parameters (and BN statistics) at fit start and each epoch end."""

    def on_fit_begin(self, estimator, X=None, y=None):
        self.params_ = [estimator._network.params.copy()]
        self.stats_ = [self._stats(estimator)]

    def on_epoch_end(self, estimator, epoch, loss):
        self.params_.append(estimator._network.params.copy())
        self.stats_.append(self._stats(estimator))

    @staticmethod
    def _stats(estimator):
        network = estimator._network
        return [s.copy() for s in network.running_means + network.running_vars]


class InterruptAt(EpochRecorder):
    """Raises KeyboardInterrupt at ``batch`` of ``epoch`` (or at the epoch's end)."""

    def __init__(self, epoch=1, batch=1, hook="on_batch_end"):
        self.epoch = epoch
        self.batch = batch
        self.hook = hook

    def on_epoch_begin(self, estimator, epoch):
        self.current_epoch_ = epoch

    def on_batch_end(self, estimator, network, batch, loss):
        if self.hook == "on_batch_end" and (self.current_epoch_, batch) == (
            self.epoch,
            self.batch,
        ):
            raise KeyboardInterrupt

    def on_epoch_end(self, estimator, epoch, loss):
        super().on_epoch_end(estimator, epoch, loss)
        if self.hook == "on_epoch_end" and epoch == self.epoch:
            raise KeyboardInterrupt


# ----------------------------------------------------------------- divergence
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
@pytest.mark.parametrize("normalization", [None, "batch"])
def test_divergence_restores_the_last_finite_epoch(optimizer, normalization):
    """An absurd learning rate: the weights of the last complete epoch are kept."""
    clf = DeepMLPClassifier(
        depth=3, width=16, optimizer=optimizer, learning_rate=1e25,
        normalization=normalization, batch_size=10, max_iter=20, random_state=0,
        callbacks=[EpochRecorder()],
    )
    with pytest.warns(DivergenceWarning) as record:
        clf.fit(X, Y_CLASS)
    message = str(record[0].message)
    assert re.search(r"diverged in epoch \d+", message)
    if clf.n_iter_:
        assert f"(epoch {clf.n_iter_})" in message
    else:  # diverged in the first epoch: the message must not claim a trained model
        assert "initial weights were restored: no epoch completed" in message
        assert "untrained initialization" in message
    assert "learning_rate" in message and "1e+25" in message  # what to try, and why
    recorder = clf.callbacks_[0]
    assert clf.n_iter_ < 20 and clf.n_iter_ == len(clf.loss_curve_)
    assert np.isfinite(clf.loss_curve_).all()
    # exactly the state at the end of the last complete epoch (or the init)
    assert_array_equal(_params(clf), recorder.params_[clf.n_iter_])
    for restored, saved in zip(
        clf._network.running_means + clf._network.running_vars, recorder.stats_[clf.n_iter_]
    ):
        assert_array_equal(restored, saved)
    assert all(np.isfinite(c).all() for c in clf.coefs_)
    assert np.isfinite(clf.predict_proba(X)).all()
    # the model stays usable: a sane learning rate continues from it
    clf.set_params(learning_rate=1e-3, warm_start=True, callbacks=None, max_iter=2)
    clf.fit(X, Y_CLASS)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_divergence_in_partial_fit_keeps_the_previous_state():
    reg = DeepMLPRegressor(depth=2, width=8, optimizer="sgd", learning_rate=1e-3,
                           random_state=0)
    reg.partial_fit(X, Y_REG)
    reg.set_params(learning_rate=1e30)  # same optimizer type: its state is kept
    n_diverged = 0
    for _ in range(4):
        before, n_before, t_before = _params(reg), reg.n_iter_, reg.t_
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reg.partial_fit(X, Y_REG)
        if any(issubclass(w.category, DivergenceWarning) for w in caught):
            n_diverged += 1
            assert_array_equal(_params(reg), before)  # the call is undone
            assert (reg.n_iter_, reg.t_) == (n_before, t_before)
        else:
            assert reg.n_iter_ == n_before + 1
        assert reg.n_iter_ == len(reg.loss_curve_)
        assert np.isfinite(_params(reg)).all()
        assert np.isfinite(reg.predict(X)).all()
    assert n_diverged >= 1


@pytest.mark.parametrize("optimizer", ["sgd", "nesterov"])
def test_partial_fit_stream_never_gets_stuck_in_an_overflowing_state(optimizer):
    """A step can leave huge but finite weights that overflow every forward pass:
    that state must not pass for "the last finite state" of the next call."""
    clf = DeepMLPClassifier(depth=3, width=8, optimizer=optimizer, learning_rate=1e12,
                            dtype="float64", random_state=0)
    with pytest.warns(DivergenceWarning):
        for start in range(0, 60, 10):
            clf.partial_fit(X[start : start + 10], Y_CLASS[start : start + 10],
                            classes=[0, 1, 2])
            assert np.isfinite(clf.predict_proba(X)).all()
            assert np.isfinite(_params(clf)).all()


def test_initialization_that_overflows_is_refused_with_advice():
    """When even the initial weights give non-finite outputs, no finite state exists."""
    clf = DeepMLPClassifier(depth=4, width=16, init="normal", init_scale=1e12,
                            activation="identity", random_state=0)
    with pytest.raises(ValueError, match="init_scale") as excinfo:
        clf.fit(X, Y_CLASS)
    assert "before any training step" in str(excinfo.value)


def test_regression_targets_whose_squares_overflow_are_refused_with_advice_on_y():
    reg = DeepMLPRegressor(depth=1, width=8, random_state=0)
    with pytest.raises(ValueError, match="TransformedTargetRegressor") as excinfo:
        reg.fit(X, Y_REG * 1e20)  # finite in float32, its square is not
    message = str(excinfo.value)
    assert "scale of X or y" in message and "Try scaling y" in message
    assert "scaling X" not in message  # X is near standardized
    assert "init_scale" not in message  # init="auto" has none
    assert "sample_weight" not in message
    assert not hasattr(reg, "n_iter_")


def test_sample_weight_that_overflows_the_loss_is_named_in_the_error():
    reg = DeepMLPRegressor(depth=1, width=4, random_state=0)
    with pytest.raises(ValueError, match="rescaling sample_weight"):
        reg.fit(X[:3], [10.0, -10.0, 10.0], sample_weight=np.full(3, 1e38))
    assert not hasattr(reg, "n_iter_")


@pytest.mark.parametrize(
    "Estimator, fraction, n_samples, advice",
    [
        (DeepMLPClassifier, 0.999, 60, "Choose another validation_fraction"),  # no training part
        (DeepMLPClassifier, 0.01, 6, "Choose another validation_fraction"),  # < 1 per class
        (DeepMLPRegressor, 0.05, 20, "increase it"),  # 1 validation sample
    ],
)
def test_early_stopping_split_that_cannot_be_made_is_explained(
    Estimator, fraction, n_samples, advice
):
    est = Estimator(early_stopping=True, validation_fraction=fraction)
    y = Y_CLASS if Estimator is DeepMLPClassifier else Y_REG
    with pytest.raises(ValueError, match=f"validation_fraction={fraction}") as excinfo:
        est.fit(X[:n_samples], y[:n_samples])
    message = str(excinfo.value)
    assert advice in message and "early_stopping=False" in message
    assert not hasattr(est, "n_iter_")


@pytest.mark.parametrize("part, weightless", [("training", slice(0, 30)),
                                              ("validation", slice(30, 60))])
@pytest.mark.parametrize("Estimator", [DeepMLPClassifier, DeepMLPRegressor])
def test_early_stopping_with_a_weightless_part_is_refused_before_training(
    Estimator, part, weightless, monkeypatch
):
    # A known split: the first half trains, the second half is held out.
    halves = (np.arange(30), np.arange(30, 60))
    monkeypatch.setattr(Estimator, "_split", lambda self, n, y, early_stopping: halves)
    y = Y_CLASS if Estimator is DeepMLPClassifier else Y_REG
    weights = np.ones(len(X))
    weights[weightless] = 0.0
    est = Estimator(depth=1, width=4, early_stopping=True, max_iter=3, random_state=0)
    with pytest.raises(ValueError, match=f"the {part} samples all have zero sample_weight"):
        est.fit(X, y, sample_weight=weights)
    assert not hasattr(est, "n_iter_")


@pytest.mark.parametrize("n_samples, batch_size", [(60, 1), (1, "auto"), (1, None)])
def test_batch_normalization_refuses_single_sample_batches(n_samples, batch_size):
    reg = DeepMLPRegressor(depth=2, width=8, normalization="batch", batch_size=batch_size)
    with pytest.raises(ValueError, match="at least 2 samples") as excinfo:
        reg.fit(X[:n_samples], Y_REG[:n_samples])
    assert "holds 1 sample" in str(excinfo.value)
    assert not hasattr(reg, "n_iter_")


def test_batch_normalization_never_trains_on_a_last_batch_of_one_sample():
    # 61 samples in batches of 2: the last sample joins the batch before it.
    sizes = []

    class BatchSizes(Callback):
        def on_grad_computed(self, estimator, network, batch):
            sizes.append(network.last_batch["inputs"][0].shape[0])

    reg = DeepMLPRegressor(depth=1, width=8, normalization="batch", batch_size=2,
                           max_iter=1, random_state=0, callbacks=[BatchSizes()])
    reg.fit(RNG.normal(size=(61, 4)), RNG.normal(size=61))
    assert sizes == [2] * 29 + [3]


def test_exploding_gradients_with_finite_init_warn_and_stay_finite():
    reg = DeepMLPRegressor(depth=6, width=32, init="normal", init_scale=3.0,
                           optimizer="sgd", learning_rate=0.1, max_iter=5,
                           random_state=0)
    # N(0, 9) weights: the warning blames them, and suggests another init.
    with pytest.warns(DivergenceWarning, match="the initial model amplifies its inputs.*"
                      "Try init='auto', normalization='batch', a lower learning_rate"):
        reg.fit(X, Y_REG)
    assert np.isfinite(_params(reg)).all()
    assert np.isfinite(reg.predict(X)).all()


# ----------------------------------------------------------------- interrupts
@pytest.mark.parametrize("epoch", [0, 2])
@pytest.mark.parametrize("normalization", [None, "batch"])
def test_keyboard_interrupt_keeps_the_last_complete_epoch(epoch, normalization):
    params = dict(depth=2, width=8, batch_size=16, max_iter=10, random_state=0,
                  normalization=normalization, dropout=0.1)
    clf = DeepMLPClassifier(**params, callbacks=[InterruptAt(epoch=epoch, batch=1)])
    expected = (
        f"last complete epoch \\({epoch}\\) is kept" if epoch
        else "No epoch completed: the model is the untrained initialization"
    )
    with pytest.warns(FitInterruptedWarning, match=expected):
        clf.fit(X, Y_CLASS)
    recorder = clf.callbacks_[0]
    assert clf.n_iter_ == epoch == len(clf.loss_curve_)
    assert clf.t_ == epoch * len(X)  # samples of the partial epoch are not counted
    assert_array_equal(_params(clf), recorder.params_[epoch])
    for restored, saved in zip(
        clf._network.running_means + clf._network.running_vars, recorder.stats_[epoch]
    ):
        assert_array_equal(restored, saved)
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    if epoch:
        # the same model as a fit that stopped there on its own
        reference = DeepMLPClassifier(**{**params, "max_iter": epoch}).fit(X, Y_CLASS)
        assert_array_equal(_params(clf), _params(reference))
        assert_allclose(clf.loss_curve_, reference.loss_curve_)
        assert_array_equal(proba, reference.predict_proba(X))
    else:
        assert np.isnan(clf.loss_)
    # consistent and usable: it pickles and continues training
    clone = pickle.loads(pickle.dumps(clf))
    assert_array_equal(clone.predict_proba(X), proba)
    recorder.epoch = -1  # the fitted callback would interrupt the same epoch again
    clf.partial_fit(X, Y_CLASS)
    assert clf.n_iter_ == epoch + 1 == len(clf.loss_curve_)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_keyboard_interrupt_after_an_epoch_completed_keeps_that_epoch():
    """An interrupt in on_epoch_end: the epoch is complete and counted, weights match."""
    clf = DeepMLPRegressor(depth=2, width=8, batch_size=16, max_iter=10, random_state=0,
                           callbacks=[InterruptAt(epoch=2, hook="on_epoch_end")])
    with pytest.warns(FitInterruptedWarning):
        clf.fit(X, Y_REG)
    recorder = clf.callbacks_[0]
    assert clf.n_iter_ == len(clf.loss_curve_) == len(recorder.params_) - 1
    assert_array_equal(_params(clf), recorder.params_[clf.n_iter_])
    assert np.isfinite(clf.predict(X)).all()


def test_keyboard_interrupt_with_early_stopping_keeps_the_best_weights():
    clf = DeepMLPClassifier(depth=2, width=8, batch_size=16, max_iter=10, random_state=0,
                            early_stopping=True, validation_fraction=0.2,
                            callbacks=[InterruptAt(epoch=3, batch=0)])
    with pytest.warns(FitInterruptedWarning):
        clf.fit(X, Y_CLASS)
    assert clf.n_iter_ == 3 == len(clf.loss_curve_) == len(clf.validation_scores_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert np.isfinite(clf.predict_proba(X)).all()


class FailAt(Callback):
    """Raises RuntimeError at ``batch`` of the second epoch of its fit."""

    def __init__(self, batch=2):
        self.batch = batch

    def on_fit_begin(self, estimator, X=None, y=None):
        self.epochs_ = 0

    def on_batch_end(self, estimator, network, batch, loss):
        if self.epochs_ == 1 and batch == self.batch:
            raise RuntimeError("callback failed")

    def on_epoch_end(self, estimator, epoch, loss):
        self.epochs_ += 1


def test_error_in_a_fresh_fit_leaves_an_unfitted_estimator():
    clf = DeepMLPClassifier(depth=2, width=8, batch_size=16, max_iter=3, random_state=0,
                            callbacks=[FailAt()])
    with pytest.raises(RuntimeError, match="callback failed"):
        clf.fit(X, Y_CLASS)
    with pytest.raises(NotFittedError):
        clf.predict(X)


class FailsAtEnd(Callback):
    """Raises ValueError in on_fit_end, after the training."""

    def on_fit_end(self, estimator, **kwargs):
        raise ValueError("end failed")


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_an_error_in_on_fit_end_keeps_the_trained_model_of_a_fresh_fit(optimizer):
    # The training is complete when on_fit_end runs: its error propagates, and
    # the estimator keeps the trained model, fitted and usable.
    params = dict(depth=2, width=8, max_iter=3, random_state=0, optimizer=optimizer)
    reference = DeepMLPClassifier(**params)
    clf = DeepMLPClassifier(**params, callbacks=[FailsAtEnd()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, Y_CLASS)
        with pytest.raises(ValueError, match="end failed"):
            clf.fit(X, Y_CLASS)
    assert clf.n_iter_ == 3 == len(clf.loss_curve_)
    assert_array_equal(_params(clf), _params(reference))
    assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))
    assert not hasattr(clf, "_keep_model_on_error")  # a one-fit signal, not state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match="end failed"):
            clf.set_params(warm_start=True).fit(X, Y_CLASS)  # the callbacks start again
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 6  # n_iter_: this fit's epochs


class Lifecycle(Callback):
    """Records its hooks in ``events`` (shared by the copies each fit makes)
    and raises once at the third batch after ``armed`` is set."""

    events = []
    armed = False

    def on_fit_begin(self, estimator, X=None, y=None):
        Lifecycle.events.append("begin")

    def on_batch_end(self, estimator, network, batch, loss):
        if Lifecycle.armed and batch == 2:
            Lifecycle.armed = False
            raise RuntimeError("callback failed")

    def on_epoch_end(self, estimator, epoch, loss):
        Lifecycle.events.append("epoch")

    def on_fit_end(self, estimator):
        Lifecycle.events.append("end")


def test_error_in_a_warm_started_fit_keeps_the_last_complete_epoch():
    Lifecycle.events.clear()
    clf = DeepMLPClassifier(depth=2, width=8, batch_size=16, max_iter=2, warm_start=True,
                            random_state=0, callbacks=[Lifecycle()]).fit(X, Y_CLASS)
    params = _params(clf)
    Lifecycle.armed = True
    with pytest.raises(RuntimeError, match="callback failed"):
        clf.fit(X, Y_CLASS)  # fails in its first epoch
    assert clf.n_iter_ == 0 and len(clf.loss_curve_) == 2  # n_iter_: the failed call's
    assert_array_equal(_params(clf), params)
    assert np.isfinite(clf.predict_proba(X)).all()
    clf.fit(X, Y_CLASS)  # the same callbacks start again
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 4
    assert Lifecycle.events == ["begin", "epoch", "epoch", "end"] + ["begin", "end"] + [
        "begin", "epoch", "epoch", "end"
    ]


def test_keyboard_interrupt_in_partial_fit_keeps_the_previous_call():
    clf = DeepMLPClassifier(depth=2, width=8, batch_size=16, random_state=0,
                            callbacks=[InterruptAt(epoch=1, batch=2)])
    clf.partial_fit(X, Y_CLASS, classes=[0, 1, 2])  # epoch 0 completes
    before = _params(clf)
    with pytest.warns(FitInterruptedWarning):
        clf.partial_fit(X, Y_CLASS)
    assert clf.n_iter_ == 1 == len(clf.loss_curve_)
    assert_array_equal(_params(clf), before)
    assert np.isfinite(clf.predict_proba(X)).all()


# --------------------------------------------------------------------- memory
def _peak_during(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - start


@pytest.fixture(scope="module")
def big_float32():
    rng = np.random.default_rng(0)
    X_big = rng.standard_normal((20_000, 500), dtype=np.float32)  # 40 MB
    y_big = (X_big[:, 0] > 0).astype(int)
    return X_big, y_big


@pytest.mark.parametrize("batch_size", ["auto", None])
def test_fitting_float32_never_copies_X(big_float32, batch_size):
    X_big, y_big = big_float32
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=1, batch_size=batch_size,
                            random_state=0)
    peak = _peak_during(lambda: clf.fit(X_big, y_big))
    # a float64 copy would be 80 MB, a float32 copy 40 MB; allow a tenth of X
    assert peak < X_big.nbytes / 10, f"peak {peak / 1e6:.1f} MB during fit"
    assert clf._network.dtype == np.float32


def test_many_classes_train_from_class_codes_not_a_one_hot_matrix():
    # 200 classes: a one-hot float32 target matrix would be 16 MB (and the
    # int64 one LabelBinarizer makes, 32 MB); the class codes are 160 kB.
    rng = np.random.default_rng(0)
    n_samples, n_classes = 20_000, 200
    X_small = rng.standard_normal((n_samples, 4), dtype=np.float32)
    y_many = np.arange(n_samples) % n_classes
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        peak = _peak_during(lambda: clf.fit(X_small, y_many))
    one_hot_bytes = n_samples * n_classes * 4
    assert peak < one_hot_bytes / 8, f"peak {peak / 1e6:.1f} MB during fit"
    assert clf.predict_proba(X_small[:5]).shape == (5, n_classes)


def test_fitting_float64_in_float32_converts_batch_by_batch(big_float32):
    X_big, y_big = big_float32
    X64 = X_big[:5000].astype(np.float64)  # 20 MB
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=1, random_state=0)
    peak = _peak_during(lambda: clf.fit(X64, y_big[:5000]))
    assert peak < X64.nbytes / 10, f"peak {peak / 1e6:.1f} MB during fit"


def test_sparse_X_is_never_densified():
    rng = np.random.default_rng(0)
    nnz = 100_000  # density 0.001: dense would be 400 MB, sparse is ~1 MB
    X_sparse = sp.csr_matrix(
        (rng.random(nnz, dtype=np.float32),
         (rng.integers(0, 20_000, nnz), rng.integers(0, 5_000, nnz))),
        shape=(20_000, 5_000),
    )
    y_sparse = np.arange(20_000) % 2
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=1, random_state=0)
    peak = _peak_during(lambda: clf.fit(X_sparse, y_sparse).predict_proba(X_sparse))
    assert peak < 20e6, f"peak {peak / 1e6:.1f} MB for a 400 MB dense equivalent"


# ---------------------------------------------------------------- concurrency
@pytest.mark.parametrize(
    "estimator",
    [
        DeepMLPClassifier(depth=3, width=16, normalization="batch", dropout=0.2,
                          max_iter=5, random_state=0),
        DeepMLPClassifier(depth=4, width=16, residual=True, normalization="layer",
                          max_iter=5, random_state=0),
        DeepMLPRegressor(depth=3, width=16, max_iter=5, random_state=0),
    ],
    ids=["batchnorm-dropout", "residual-layernorm", "regressor"],
)
def test_predict_from_many_threads_matches_serial(estimator):
    is_classifier = isinstance(estimator, DeepMLPClassifier)
    model = estimator.fit(X, Y_CLASS if is_classifier else Y_REG)
    rng = np.random.default_rng(1)
    inputs = [
        rng.normal(size=(n, 4)).astype(dtype)
        for n in (1, 7, 50, 300)
        for dtype in (np.float32, np.float64)
    ] + [sp.csr_matrix(rng.normal(size=(40, 4)))]
    methods = ["predict", "predict_proba"] if is_classifier else ["predict"]
    tasks = [(method, i) for method in methods for i in range(len(inputs))] * 8

    def run(task):
        method, i = task
        return getattr(model, method)(inputs[i])

    serial = [run(task) for task in tasks]
    for _ in range(3):
        with ThreadPoolExecutor(max_workers=8) as pool:
            threaded = list(pool.map(run, tasks))
        for expected, got in zip(serial, threaded):
            assert got.dtype == expected.dtype
            assert_array_equal(got, expected)


def test_divergence_warning_suggests_only_remedies_not_in_use():
    params = dict(depth=6, width=32, init="normal", init_scale=3.0, optimizer="sgd",
                  learning_rate=0.1, max_iter=5, random_state=0)
    with pytest.warns(DivergenceWarning) as plain:
        DeepMLPRegressor(**params).fit(X, Y_REG)
    plain_clip = re.compile(r"(?<!smaller )clip_grad_norm(?! than)")
    message = str(plain[0].message)
    assert plain_clip.search(message) and "normalization='batch'" in message
    with pytest.warns(DivergenceWarning) as clipped:
        DeepMLPRegressor(clip_grad_norm=1e30, **params).fit(X, Y_REG)
    message = str(clipped[0].message)
    assert "a smaller clip_grad_norm than 1e+30" in message
    assert not plain_clip.search(message)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_a_convergence_warning_turned_into_an_error_keeps_the_trained_model(optimizer):
    # As scikit-learn's MLP keeps its coefs_: the warning comes once the model
    # is set (it came before, and the error discarded a fresh fit's model).
    clf = DeepMLPClassifier(depth=1, width=4, max_iter=2, optimizer=optimizer, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning, match="2"):
            clf.fit(X, Y_CLASS)
    reference = DeepMLPClassifier(depth=1, width=4, max_iter=2, optimizer=optimizer,
                                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, Y_CLASS)
    assert clf.n_iter_ == 2
    np.testing.assert_allclose(clf.predict_proba(X), reference.predict_proba(X))


def test_an_interrupt_while_the_convergence_warning_is_made_keeps_the_model(monkeypatch):
    from sk_deepnet import _scale

    def interrupted(*args):
        raise KeyboardInterrupt

    clf = DeepMLPClassifier(depth=1, width=4, max_iter=2, random_state=0)
    monkeypatch.setattr(_scale, "column_scale", interrupted)
    with pytest.warns(FitInterruptedWarning, match=r"after the training; the trained model \(2"):
        clf.fit(X, Y_CLASS)
    assert clf.n_iter_ == 2 and np.isfinite(clf.predict_proba(X)).all()
