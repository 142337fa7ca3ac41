"""Fault injection into the RBMs and the RBM pretraining: all or nothing.

The k-th call of any of a set of numpy functions that the RBM code calls
(allocations, copies, products: during validation, initialization and every
mini-batch) raises MemoryError or KeyboardInterrupt, for every k a call makes.
Afterwards an RBM is either exactly as before the call (unfitted, or the
previous model) or, for a KeyboardInterrupt during the training epochs, holds
exactly the model of its last complete epoch (equal to an uninterrupted fit of
that many epochs; a refit with none complete keeps the previous model) with a
FitInterruptedWarning; it then transforms, pickles
and trains again. An estimator whose RBM pretraining fails is unfitted (a
fresh ``fit``) or keeps its previous pretraining (``pretrain_fit``).
"""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError

from sk_deepnet import DeepMLPClassifier, FitInterruptedWarning
from sk_deepnet._rbm import make_generator
from sk_deepnet.pretraining import BernoulliRBM, GaussianBernoulliRBM

FUNCTIONS = ("empty", "zeros", "zeros_like", "full", "copyto", "take", "matmul",
             "asarray", "einsum", "tanh", "less")
EXCEPTIONS = (MemoryError, KeyboardInterrupt)
#: What training updates; "state" compares them, with the bookkeeping.
ARRAYS = ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_",
          "_weight_inc", "_hidden_inc", "_visible_inc")

RNG = np.random.default_rng(0)
X = RNG.random((24, 5))
X_OTHER = RNG.random((30, 5))


class Fault:
    """Within ``with``: the k-th call of any wrapped numpy function raises ``exc``."""

    def __init__(self, k, exc=MemoryError):
        self.k, self.exc, self.calls = k, exc, 0
        self._saved = [(name, getattr(np, name)) for name in FUNCTIONS]

    def _wrap(self, function):
        def wrapper(*args, **kwargs):
            self.calls += 1
            if self.calls == self.k:
                raise self.exc()
            return function(*args, **kwargs)

        return wrapper

    def __enter__(self):
        for name, function in self._saved:
            setattr(np, name, self._wrap(function))
        return self

    def __exit__(self, *exc_info):
        for name, function in self._saved:
            setattr(np, name, function)


def _state(rbm):
    """Copies of everything a fit sets (arrays, counters, curves), or None if unfitted."""
    if not hasattr(rbm, "components_"):
        assert not [name for name in vars(rbm) if name.endswith("_")], vars(rbm)
        return None
    state = {name: getattr(rbm, name).copy() for name in ARRAYS}
    state["n_iter_"] = rbm.n_iter_
    state["reconstruction_errors_"] = list(rbm.reconstruction_errors_)
    state["n_features_in_"] = rbm.n_features_in_
    return state


def _assert_same(state, reference):
    assert state.keys() == reference.keys()
    for name, value in reference.items():
        if name == "reconstruction_errors_":
            np.testing.assert_allclose(state[name], value, rtol=1e-12)
        else:
            assert_array_equal(state[name], value, err_msg=name)


def _make(cls, **params):
    return cls(n_components=3, batch_size=10, n_iter=3, dtype="float64", random_state=0,
               **params)


def _after_epochs(cls, params, data, n_epochs, before=None):
    """The state of an uninterrupted run of ``n_epochs`` epochs: a fit (``before``
    None), or ``before`` (a fitted RBM's setup) then partial_fit epochs."""
    rbm = _make(cls, **params)
    if before is None:
        if n_epochs == 0:  # the initialization alone
            rbm._validate_X(data, reset=True)
            rbm._bind(rbm._initial_state(data, make_generator(0)))
        else:
            rbm.set_params(n_iter=n_epochs).fit(data)
        return _state(rbm)
    before(rbm)
    for _ in range(n_epochs):
        rbm.partial_fit(data)
    return _state(rbm)


SCENARIOS = {
    # name: (setup of the RBM before the faulty call, the call, its data)
    "fresh_fit": (None, "fit", X),
    "refit": (lambda rbm: rbm.fit(X), "fit", X_OTHER),
    "first_partial_fit": (None, "partial_fit", X),
    "partial_fit": (lambda rbm: rbm.fit(X), "partial_fit", X_OTHER),
}


def _check_outcome(cls, params, scenario, rbm, before, raised, caught):
    _, method, data = SCENARIOS[scenario]
    after = _state(rbm)
    if raised is not None:  # the call failed: nothing changed
        assert not any(issubclass(w.category, FitInterruptedWarning) for w in caught)
        if before is None:
            assert after is None
        else:
            _assert_same(after, before)
        return
    # Only a KeyboardInterrupt during the epochs returns: the last complete one.
    assert any(issubclass(w.category, FitInterruptedWarning) for w in caught)
    message = str(caught[-1].message)
    if method == "fit" and before is not None and "no epoch completed" in message:
        # A refit that trained no epoch did not happen: the previous model
        # (it kept the new untrained initialization, losing the trained one).
        _assert_same(after, before)
        assert "the model fitted before this call is kept" in message
    elif method == "fit":
        _assert_same(after, _after_epochs(cls, params, data, after["n_iter_"]))
    else:
        n_before = 0 if before is None else before["n_iter_"]
        assert after["n_iter_"] == n_before  # the epoch was undone
        if before is None:
            _assert_same(after, _after_epochs(cls, params, data, 0))
        else:
            _assert_same(after, before)


def _check_usable(rbm):
    if hasattr(rbm, "components_"):
        assert np.isfinite(rbm.transform(X)).all()
        pickle.loads(pickle.dumps(rbm)).partial_fit(X)
    else:
        with pytest.raises(NotFittedError):
            rbm.transform(X)
    rbm.partial_fit(X)
    rbm.fit(X)
    assert np.isfinite(rbm.transform(X)).all()


@pytest.mark.parametrize("persistent", [False, True], ids=["cd", "pcd"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianBernoulliRBM])
def test_a_fault_at_any_call_leaves_the_rbm_as_before_or_at_its_last_epoch(
    cls, scenario, persistent
):
    params = {"persistent": persistent}
    setup, method, data = SCENARIOS[scenario]

    def prepared():
        rbm = _make(cls, **params)
        if setup is not None:
            setup(rbm)
        return rbm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rbm = prepared()
        with Fault(0) as counter:
            getattr(rbm, method)(data)
    assert counter.calls > 20
    for k in range(1, counter.calls + 1):
        for exc in EXCEPTIONS:
            rbm = prepared()
            before = _state(rbm)
            raised = None
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    with Fault(k, exc):
                        getattr(rbm, method)(data)
                except exc as error:
                    raised = error
            if exc is MemoryError:
                assert raised is not None, k  # never swallowed
            _check_outcome(cls, params, scenario, rbm, before, raised, caught)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _check_usable(rbm)


def test_the_sweep_interrupts_inside_the_training_epochs():
    # Not only before the training: some interrupts keep a partly trained fit.
    kept = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Fault(0) as counter:
            _make(BernoulliRBM).fit(X)
        for k in range(1, counter.calls + 1):
            rbm = _make(BernoulliRBM)
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    with Fault(k, KeyboardInterrupt):
                        rbm.fit(X)
            except KeyboardInterrupt:
                continue
            kept.add(rbm.n_iter_)
            # The warning says which model is kept: the untrained one in epoch 1.
            message = str(caught[-1].message)
            if rbm.n_iter_:
                assert f"last complete epoch ({rbm.n_iter_}) is kept" in message
            else:
                assert "no epoch completed: the model is the untrained" in message
    assert kept == {0, 1, 2}


@pytest.mark.parametrize("persistent", [False, True], ids=["cd", "pcd"])
def test_a_failed_partial_fit_leaves_the_random_stream_where_it_was(persistent):
    # The Generator is the same object before and after the call: its state is
    # put back too, so the next call draws what it would have drawn.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference, failed, counted = (
            _make(BernoulliRBM, persistent=persistent).fit(X) for _ in range(3)
        )
        with Fault(0) as counter:
            counted.partial_fit(X_OTHER)
        with pytest.raises(MemoryError):  # mid-epoch, after random draws
            with Fault(counter.calls // 2):
                failed.partial_fit(X_OTHER)
        reference.partial_fit(X_OTHER)
        failed.partial_fit(X_OTHER)
    _assert_same(_state(failed), _state(reference))


# ------------------------------------------------------------ pretraining
Y = (X[:, 0] > 0.5).astype(int)


def _classifier():
    return DeepMLPClassifier(depth=2, width=4, max_iter=2, batch_size=12, pretrain="rbm",
                             pretrain_epochs=2, pretrain_batch_size=10, random_state=0)


def test_a_failed_pretraining_leaves_the_estimator_unfitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Fault(0) as counter:
            _classifier().fit(X, Y)
        for k in range(1, counter.calls + 1):
            clf = _classifier()
            try:
                with Fault(k, MemoryError):
                    clf.fit(X, Y)
            except MemoryError:
                if clf.__dict__.get("n_iter_") == 2:
                    # Raised after the training, while the ConvergenceWarning's
                    # text was made: the trained model is kept (warn_trained).
                    assert np.isfinite(clf.predict_proba(X)).all(), k
                    continue
                # no fitted attribute survives, pretraining ones included
                assert not [name for name in vars(clf) if name.endswith("_")], k
                assert not hasattr(clf, "_network")
                continue
            assert np.isfinite(clf.predict_proba(X)).all()
            assert len(clf.pretrain_curves_) == 2


def test_a_failed_pretrain_fit_keeps_the_previous_pretraining():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = _classifier().pretrain_fit(X)
        stack, curves = clf._pretrained_stack, clf.pretrain_curves_
        with Fault(0) as counter:
            _classifier().pretrain_fit(X_OTHER)
        for k in range(1, counter.calls + 1):
            for exc in EXCEPTIONS:
                try:
                    with Fault(k, exc):
                        clf.pretrain_fit(X_OTHER)
                except exc:
                    assert clf._pretrained_stack is stack and clf.pretrain_curves_ is curves
                    continue
                # completed, or interrupted: the curves are those of the new stack
                new = clf._pretrained_stack
                assert new is not stack
                assert clf.pretrain_curves_ == new.curves
                assert len(new.layers) == len(new.curves)
                if new.interrupted_layer is None:
                    assert len(new.layers) == 2
                clf._pretrained_stack, clf.pretrain_curves_ = stack, curves


def test_a_failed_fit_after_pretrain_fit_keeps_that_pretraining_and_its_curves():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = _classifier().pretrain_fit(X)
        stack, curves = clf._pretrained_stack, [list(c) for c in clf.pretrain_curves_]
        with pytest.raises(MemoryError):
            with Fault(40, MemoryError):  # during the fine-tuning's first epoch
                clf.fit(X, Y)
    assert not hasattr(clf, "_network")
    # As after pretrain_fit: its weights and their curves, for the next fit.
    assert clf._pretrained_stack is stack and clf.pretrain_curves_ == curves
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert clf.fit(X, Y).pretrain_curves_ == curves
