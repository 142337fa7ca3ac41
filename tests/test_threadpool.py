"""The BLAS thread policy: what limit fit, predict and the RBMs run under.

conftest.py holds BLAS to one thread for the whole test process, so each test
first lets BLAS have two threads (``threadpool_limits(2)``), as a process
starts, and reads the limit in force from inside the call with threadpoolctl.
No test times anything.
"""

import gc
import threading
import warnings
import weakref

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits

import sk_deepnet
from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor, config_context
from sk_deepnet import _threadpool
from sk_deepnet.callbacks import Callback
from sk_deepnet.pretraining import BernoulliRBM

# The line-level interrupt of the fault sweep (tests/ is on the path).
from test_fault_injection import LineInterrupt


def blas_threads():
    """The largest thread count of the loaded BLAS libraries, as threadpoolctl reads it."""
    return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")


@pytest.fixture
def two_threads():
    """BLAS with two threads for the test (as a fresh process has, on 2 cores or more)."""
    with threadpool_limits(2, user_api="blas"):
        if blas_threads() < 2:
            pytest.skip("BLAS cannot run two threads here")
        yield


class ThreadRecorder(Callback):
    """Records the BLAS thread count at each epoch; raises at ``raise_at`` if set."""

    def __init__(self, raise_at=None):
        self.raise_at = raise_at

    def on_epoch_begin(self, estimator, epoch):
        self.seen_ = [*getattr(self, "seen_", []), blas_threads()]
        if epoch == self.raise_at:
            raise RuntimeError("stop here")


def small_data(n_features=8, n_samples=64):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_samples, n_features))
    return X, (X[:, 0] > 0).astype(int)


def threads_in_fit(estimator, X, y):
    estimator.set_params(callbacks=[ThreadRecorder()], max_iter=2)
    with pytest.warns(Warning):  # ConvergenceWarning: two epochs
        estimator.fit(X, y)
    seen = estimator.callbacks_[0].seen_
    assert len(set(seen)) == 1  # decided once per fit
    return seen[0]


def test_small_fit_runs_one_thread_and_restores_the_limit(two_threads):
    X, y = small_data()
    est = DeepMLPClassifier(depth=2, width=16, batch_size=32, random_state=0)
    assert _threadpool.threads_for(_threadpool.fit_flops(est, X)) == 1
    assert threads_in_fit(est, X, y) == 1
    assert blas_threads() == 2


def test_large_fit_keeps_the_library_threads(two_threads):
    # One batch of 256 x 600 through 512 units: 472 MFLOP, above the threshold.
    X, y = small_data(n_features=600, n_samples=256)
    est = DeepMLPClassifier(depth=1, width=512, batch_size=256, random_state=0)
    assert _threadpool.fit_flops(est, X) >= _threadpool.MIN_THREADED_FLOPS
    assert threads_in_fit(est, X, y) == 2


def test_a_sparse_inputs_first_layer_does_not_count(two_threads):
    # The dense fit of test_large_fit_keeps_the_library_threads, on a sparse X:
    # its wide first layer multiplies in SciPy's sparse kernels (no BLAS), and
    # the 512-unit layer above it is its only dense one: one thread.
    X, y = small_data(n_features=600, n_samples=256)
    X_sparse = sp.csr_matrix(np.where(np.abs(X) > 2, X, 0.0))
    est = DeepMLPClassifier(depth=2, width=512, batch_size=256, random_state=0)
    assert _threadpool.fit_flops(est, X) == 6 * 256 * 600 * 512
    assert _threadpool.fit_flops(est, X_sparse) == 6 * 256 * 512 * 512
    est.set_params(depth=1)
    assert _threadpool.fit_flops(est, X_sparse) == 0
    assert threads_in_fit(est, X_sparse, y) == 1
    assert threads_in_fit(est, X, y) == 2
    seen = []
    predict_logits = est._network.predict_logits

    def recording(*args, **kwargs):
        seen.append(blas_threads())
        return predict_logits(*args, **kwargs)

    est._network.predict_logits = recording
    # 256 x 600 -> 512 -> 1 logit: only 512 x 1 in BLAS (157 MFLOP if counted dense)
    est.predict(X_sparse)
    assert _threadpool.predict_flops(est, X_sparse) == 2 * 256 * 512 * 1
    assert _threadpool.predict_flops(est, X) == 2 * 256 * 600 * 512
    assert seen == [1]
    # The performance page's example: 3000 sparse features, 3 layers of 100, batch 200.
    wide = sp.random(200, 3000, density=0.005, format="csr", random_state=0)
    default = DeepMLPClassifier()
    assert _threadpool.fit_flops(default, wide.toarray()) == 6 * 200 * 3000 * 100  # 360 MFLOP
    assert _threadpool.fit_flops(default, wide) == 6 * 200 * 100 * 100  # 12 MFLOP
    assert _threadpool.threads_for(_threadpool.fit_flops(default, wide)) == 1


def test_a_dataframe_of_sparse_columns_counts_as_sparse(two_threads):
    # Validation makes it a sparse matrix (after the policy's decision): its
    # first layer is no BLAS product either. A dense DataFrame's is.
    pd = pytest.importorskip("pandas")
    X, y = small_data(n_features=600, n_samples=256)
    X_sparse = np.where(np.abs(X) > 2, X, 0.0)
    frame = pd.DataFrame.sparse.from_spmatrix(sp.csr_matrix(X_sparse))
    est = DeepMLPClassifier(depth=1, width=512, batch_size=256, random_state=0)
    assert _threadpool.fit_flops(est, frame) == 0
    assert _threadpool.fit_flops(est, pd.DataFrame(X_sparse)) == 6 * 256 * 600 * 512
    assert threads_in_fit(est, frame, y) == 1
    assert _threadpool.predict_flops(est, frame) == 2 * 256 * 512 * 1


def test_pretraining_on_a_sparse_input_keeps_its_dense_products(two_threads):
    # The RBMs train on dense copies of the sparse batches: all five CD-1
    # products of the first RBM run in BLAS, so a fit with pretrain="rbm"
    # decides from them too (its RBM pretraining keeps the fit's decision).
    X, _ = small_data(n_features=600, n_samples=256)
    X_sparse = sp.csr_matrix(np.where(np.abs(X) > 2, X, 0.0))
    est = DeepMLPClassifier(depth=1, width=512, pretrain="rbm", pretrain_batch_size=256)
    assert _threadpool.fit_flops(est, X_sparse) == _threadpool.pretrain_flops(est, X_sparse)
    assert _threadpool.threads_for(_threadpool.fit_flops(est, X_sparse)) is None
    assert _threadpool.fit_flops(est.set_params(pretrain=None), X_sparse) == 0


def test_the_threshold_decides(two_threads, monkeypatch):
    X, y = small_data()
    est = DeepMLPRegressor(depth=2, width=16, batch_size=32, random_state=0)
    flops = _threadpool.fit_flops(est, X)
    assert flops == 6 * 32 * 16 * 16  # the 16 x 16 layer is the largest
    monkeypatch.setattr(_threadpool, "MIN_THREADED_FLOPS", flops)
    assert threads_in_fit(est, X, y.astype(float)) == 2
    monkeypatch.setattr(_threadpool, "MIN_THREADED_FLOPS", flops + 1)
    assert threads_in_fit(est, X, y.astype(float)) == 1


class BatchSizeSpy(Callback):
    """Records the mini-batch size the fit trains with (``on_fit_begin``'s batch_size)."""

    def on_fit_begin(self, estimator, X=None, y=None, batch_size=None, **kwargs):
        self.batch_size_ = batch_size


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("params, batch_size", [
    # batch_size="auto" is min(200, training rows): validation_fraction=0.2 of 150
    # rows leaves 120 (the decision was from 150, all the rows).
    (dict(early_stopping=True, validation_fraction=0.2), 120),
    (dict(early_stopping=True, validation_fraction=0.25, batch_size=None), 112),
    (dict(early_stopping=False), 150),
    # L-BFGS takes every row at once, whatever batch_size (it was min(200, n)).
    (dict(optimizer="lbfgs"), 250),
])
def test_the_fit_decides_from_the_batch_size_it_trains_with(params, batch_size):
    n_samples = 250 if params.get("optimizer") == "lbfgs" else 150
    X, y = small_data(n_samples=n_samples)
    est = DeepMLPClassifier(depth=1, width=16, max_iter=1, random_state=0,
                            callbacks=[BatchSizeSpy()], **params)
    flops = _threadpool.fit_flops(est, X)
    est.fit(X, y)
    assert est.callbacks_[0].batch_size_ == batch_size
    assert flops == 6 * batch_size * 8 * 16  # the 8 x 16 layer is the largest


def test_early_stopping_decides_from_the_training_rows(two_threads, monkeypatch):
    # A threshold between the products of 120 rows (the training rows' batch)
    # and of 150 (all the rows): one thread.
    X, y = small_data(n_samples=150)
    est = DeepMLPClassifier(depth=1, width=16, early_stopping=True,
                            validation_fraction=0.2, random_state=0)
    monkeypatch.setattr(_threadpool, "MIN_THREADED_FLOPS", 6 * 135 * 8 * 16)
    assert threads_in_fit(est, X, y) == 1
    est.set_params(early_stopping=False)
    assert threads_in_fit(est, X, y) == 2


def test_a_users_lower_limit_is_never_raised(two_threads):
    X, y = small_data(n_features=600, n_samples=256)
    est = DeepMLPClassifier(depth=1, width=512, batch_size=256, random_state=0)
    with threadpool_limits(1, user_api="blas"):
        assert threads_in_fit(est, X, y) == 1
        with config_context(blas_threads=2):
            assert threads_in_fit(est, X, y) == 1
        assert blas_threads() == 1
    assert blas_threads() == 2


@pytest.mark.parametrize("setting, small, large", [(None, 2, 2), (1, 1, 1), ("auto", 1, 2)])
def test_the_override(two_threads, setting, small, large):
    X, y = small_data()
    X_large, y_large = small_data(n_features=600, n_samples=256)
    with config_context(blas_threads=setting):
        assert sk_deepnet.get_config()["blas_threads"] == setting
        assert threads_in_fit(DeepMLPClassifier(depth=2, width=16, batch_size=32), X, y) == small
        big = DeepMLPClassifier(depth=1, width=512, batch_size=256)
        assert threads_in_fit(big, X_large, y_large) == large
    assert sk_deepnet.get_config()["blas_threads"] == "auto"


def test_set_config_persists_and_rejects_bad_values():
    try:
        sk_deepnet.set_config(blas_threads=1)
        assert sk_deepnet.get_config() == {"blas_threads": 1}
        sk_deepnet.set_config()  # nothing passed: nothing changes
        assert sk_deepnet.get_config() == {"blas_threads": 1}
    finally:
        sk_deepnet.set_config(blas_threads="auto")
    for bad in (0, -1, 1.5, "one", True):
        with pytest.raises(ValueError, match="blas_threads must be"):
            sk_deepnet.set_config(blas_threads=bad)
    with pytest.raises(RuntimeError):
        with config_context(blas_threads=None):
            raise RuntimeError
    assert sk_deepnet.get_config() == {"blas_threads": "auto"}


@pytest.mark.parametrize("second", [2, None, "unchanged"])
def test_config_contexts_of_two_threads_ending_out_of_order(second):
    # Thread A enters a block, thread B enters one, A's ends, then B's. B's
    # block restored what it found, A's setting: blas_threads stayed 1 for
    # good. Entering and exiting by hand does what the two threads do.
    settings = {} if second == "unchanged" else {"blas_threads": second}
    first, later = config_context(blas_threads=1), config_context(**settings)
    first.__enter__()
    later.__enter__()
    first.__exit__(None, None, None)
    # B's block is still in force: its setting, or the one A found if it set none.
    between = "auto" if second == "unchanged" else second
    assert sk_deepnet.get_config() == {"blas_threads": between}
    later.__exit__(None, None, None)
    assert sk_deepnet.get_config() == {"blas_threads": "auto"}


def test_config_contexts_in_threads_leave_the_setting_as_found():
    entered, done = threading.Event(), threading.Event()

    def first():
        with config_context(blas_threads=1):
            entered.set()
            done.wait(5)

    def second():
        entered.wait(5)
        with config_context(blas_threads=2):
            done.set()
            threads[0].join(5)  # the first block ends inside this one

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sk_deepnet.get_config() == {"blas_threads": "auto"}


def test_the_limit_is_restored_after_a_failed_fit(two_threads):
    X, y = small_data()
    est = DeepMLPClassifier(depth=2, width=16, callbacks=[ThreadRecorder(raise_at=1)])
    with pytest.raises(RuntimeError, match="stop here"):
        est.fit(X, y)
    assert blas_threads() == 2
    with pytest.raises(ValueError):  # rejected by validation, inside the scope
        DeepMLPClassifier(depth=2, width=16).fit(X, y[:10])
    assert blas_threads() == 2


def test_predict_runs_under_the_policy_and_restores_the_limit(two_threads):
    X, y = small_data()
    est = DeepMLPClassifier(depth=2, width=16, max_iter=2, random_state=0)
    with pytest.warns(Warning):
        est.fit(X, y)
    network = est._network
    seen = []
    predict_logits = network.predict_logits

    def recording(*args, **kwargs):
        seen.append(blas_threads())
        return predict_logits(*args, **kwargs)

    network.predict_logits = recording
    est.predict(X)
    est.predict_proba(X)
    est.predict_log_proba(X)
    est.score(X, y)
    assert seen == [1, 1, 1, 1]
    assert blas_threads() == 2
    with config_context(blas_threads=None):
        est.predict(X)
    assert seen[-1] == 2
    with pytest.raises(ValueError):  # wrong number of features
        est.predict(X[:, :3])
    assert blas_threads() == 2


def _record_threads(monkeypatch, cls, name, seen, label=None):
    """Make ``cls.name`` append the BLAS threads in force (with ``label``) to ``seen``."""
    method = getattr(cls, name)

    def recording(self, *args, **kwargs):
        seen.append(blas_threads() if label is None else (label, blas_threads()))
        return method(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, recording)


def test_rbm_and_pretraining_run_under_the_policy(two_threads, monkeypatch):
    X = (small_data()[0] > 0).astype(float)
    seen = []
    _record_threads(monkeypatch, BernoulliRBM, "_run_epoch", seen)
    rbm = BernoulliRBM(n_components=4, n_iter=1, batch_size=16, random_state=0).fit(X)
    rbm.partial_fit(X)
    assert seen == [1, 1]
    with config_context(blas_threads=None):
        rbm.fit(X)
    assert seen[-1] == 2

    est = DeepMLPClassifier(depth=1, width=4, pretrain_epochs=1, random_state=0)
    est.pretrain_fit(X)  # its RBM keeps the decision of pretrain_fit
    assert seen[-1] == 1
    assert blas_threads() == 2
    assert _threadpool.rbm_transform_flops(rbm, X) == 2 * 64 * 8 * 4
    assert _threadpool.threads_for(_threadpool.rbm_transform_flops(rbm, X)) == 1


def test_rbm_scoring_and_sampling_run_under_the_policy(two_threads, monkeypatch):
    # score_samples, pseudo_log_likelihood and gibbs decide from their shapes,
    # as transform does: one thread for these small products, restored after.
    X = (small_data()[0] > 0).astype(float)
    rbm = BernoulliRBM(n_components=4, n_iter=1, batch_size=16, random_state=0).fit(X)
    seen = []
    _record_threads(monkeypatch, BernoulliRBM, "_free_energy", seen, "free energy")
    _record_threads(monkeypatch, BernoulliRBM, "_params_as", seen, "params")
    for method in (rbm.score_samples, rbm.pseudo_log_likelihood, rbm.gibbs, rbm.transform):
        seen.clear()
        method(X)
        assert seen and all(threads == 1 for _, threads in seen), (method.__name__, seen)
        assert blas_threads() == 2
    with config_context(blas_threads=None):
        seen.clear()
        rbm.gibbs(X)
        assert all(threads == 2 for _, threads in seen)
    assert _threadpool.rbm_gibbs_flops(rbm, X) == 2 * _threadpool.rbm_transform_flops(rbm, X)


def test_pretrain_fit_decides_from_the_pretraining_batch_size(two_threads, monkeypatch):
    # The fit's batch_size=64 makes its products large enough for threads; the
    # pretraining's own mini-batches of 2 rows are far below the threshold.
    X = (small_data(n_features=64, n_samples=256)[0] > 0).astype(float)
    est = DeepMLPClassifier(depth=1, width=256, batch_size=256, pretrain_batch_size=2,
                            pretrain_epochs=1, random_state=0)
    monkeypatch.setattr(_threadpool, "MIN_THREADED_FLOPS", 1e6)
    assert _threadpool.fit_flops(est, X) >= 1e6  # the old decision: threads
    assert _threadpool.pretrain_flops(est, X) == 10 * 2 * 64 * 256 < 1e6
    seen = []
    _record_threads(monkeypatch, BernoulliRBM, "_run_epoch", seen)
    est.pretrain_fit(X)
    assert seen == [1]
    est.set_params(pretrain_batch_size=256)  # now the pretraining's products are large
    est.pretrain_fit(X)
    assert seen[-1] == 2
    assert blas_threads() == 2


def test_the_policy_keeps_keyword_calls_working():
    # The decorated methods keep their own signatures: BernoulliRBM.gibbs(v=...)
    # is scikit-learn's spelling, and X=... the others'.
    X = (small_data()[0] > 0).astype(float)
    rbm = BernoulliRBM(n_components=4, n_iter=1, batch_size=16, random_state=0)
    rbm.fit(X=X)
    assert rbm.gibbs(v=X).shape == X.shape
    assert rbm.transform(X=X).shape == (X.shape[0], 4)
    assert rbm.score_samples(X=X).shape == (X.shape[0],)


def test_an_interrupt_at_any_line_of_the_policy_leaves_it_working(two_threads):
    # A Ctrl-C between the policy setting its "inside a fit" flag and its
    # try (or in the finally that clears it) left the flag set: every later
    # fit of the thread ran without the policy, on the library's threads. A
    # Ctrl-C inside the restoring left BLAS on one thread for good.
    X, y = small_data()
    est = DeepMLPClassifier(depth=2, width=16, batch_size=32, max_iter=2, random_state=0)
    prefix = _threadpool.__file__
    with LineInterrupt(0, prefix) as tracer, pytest.warns(Warning):
        est.fit(X, y)
    first = {}
    for k, line in enumerate(tracer.lines, start=1):
        first.setdefault(line, k)
    assert len(first) > 20
    for k in sorted(first.values()):
        try:
            with LineInterrupt(k, prefix), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, y)
        except KeyboardInterrupt:
            pass
        assert threads_in_fit(est, X, y) == 1, k  # the policy decides again
        assert blas_threads() == 2, k  # and gives the threads back


def test_the_policy_keeps_no_reference_to_the_call(monkeypatch):
    # Its scope held the call's frame and the frame the scope: the cycle kept
    # X and the estimator alive after the call, until the garbage collector ran.
    X, y = small_data()
    est = DeepMLPClassifier(depth=2, width=16, max_iter=2, random_state=0)
    with pytest.warns(Warning):
        est.fit(X, y)
    X_ref, est_ref = weakref.ref(X), weakref.ref(est)
    gc.disable()
    try:
        est.predict(X)
        del X, y, est
        assert X_ref() is None
        assert est_ref() is None
    finally:
        gc.enable()
