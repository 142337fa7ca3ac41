"""Odd inputs found by an outside check: each once failed inside numpy or
sk_deepnet's own bookkeeping, or trained silently on something else than
what was given; each now works or gets an error that names the problem."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sk_deepnet import DeepMLPRegressor, _memory
from sk_deepnet.pretraining import BernoulliRBM

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 3))
Y = X @ np.array([1.0, -2.0, 0.5])
SMALL = dict(depth=1, width=4, max_iter=2, random_state=0)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_refuses_a_sparse_y_by_name(method, n_outputs):
    # It failed with "'DeepMLPRegressor' object has no attribute 'classes_'".
    y = sp.csr_matrix(np.tile(Y[:, None], (1, n_outputs)))
    with pytest.raises(TypeError, match=r"dense y.*sparse.*toarray\(\)"):
        getattr(DeepMLPRegressor(**SMALL), method)(X, y)


@pytest.mark.parametrize("sparse", [False, True])
def test_x_that_underflows_the_training_dtype_is_named(sparse):
    # In float32 every value of X * 1e-300 is 0: the fit trained on zeros and
    # predicted a constant, without a word.
    tiny = X * 1e-300
    largest = f"{np.abs(tiny).max():.3g}"
    with pytest.raises(ValueError, match=f"X underflows .*float32.*{largest}.*MaxAbsScaler"):
        DeepMLPRegressor(**SMALL).fit(sp.csr_matrix(tiny) if sparse else tiny, Y)
    with pytest.raises(ValueError, match="X underflows"):
        BernoulliRBM(n_components=2, n_iter=1).fit(tiny)
    DeepMLPRegressor(**SMALL, dtype="float64").fit(tiny, Y)  # representable there


def test_y_that_underflows_the_training_dtype_is_named():
    with pytest.raises(ValueError, match=r"y underflows .*float32"):
        DeepMLPRegressor(**SMALL).fit(X, Y * 1e-300)
    with pytest.raises(ValueError, match="y underflows"):
        DeepMLPRegressor(**SMALL).partial_fit(X, Y).partial_fit(X, Y * 1e-300)


def test_zeros_and_a_few_tiny_values_are_not_refused():
    # Only data whose every nonzero value underflows is refused: zeros are
    # exact, and a few subnormals among normal values change little.
    DeepMLPRegressor(**SMALL).fit(np.zeros_like(X), Y)
    X_some = X.copy()
    X_some[0, 0] = 1e-300
    DeepMLPRegressor(**SMALL).fit(X_some, Y)


FLOAT64_FAILURES = {
    # case: (estimator parameters, X) making a float64 fit fail
    "loss_overflows_at_init": (dict(), X * 1e300),
    "running_statistics_overflow": (dict(normalization="batch"), X * 1e160),
    "epsilon_below_float64": (dict(epsilon=1e-320), X),
    "pretrained_weights_overflow": (
        dict(pretrain="rbm", pretrain_epochs=2, pretrain_learning_rate=1e5), X * 1e100
    ),
}


@pytest.mark.parametrize("case", sorted(FLOAT64_FAILURES))
def test_errors_of_a_float64_fit_do_not_suggest_float64(case):
    # Each suggested "dtype='float64'" to a fit that already had it.
    params, X_case = FLOAT64_FAILURES[case]
    reg = DeepMLPRegressor(**{**SMALL, "depth": 2}, dtype="float64", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the divergence of the RBM
        with pytest.raises(ValueError) as raised:
            reg.fit(X_case, Y)
    assert "float64" in str(raised.value)  # the precision that overflowed
    assert "dtype='float64'" not in str(raised.value)


@pytest.mark.parametrize("params, scale", [(dict(), 1e30), (dict(normalization="batch"), 1e20)])
def test_errors_of_a_float32_fit_still_suggest_float64(params, scale):
    reg = DeepMLPRegressor(**{**SMALL, "depth": 2}, **params)
    with pytest.raises(ValueError, match="overflow.*float32.*dtype='float64'"):
        reg.fit(X * scale, Y)


def test_pretrain_fit_names_x_and_the_estimator_in_its_input_errors():
    # It said "Input contains NaN." where fit says "Input X contains NaN.".
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="(?s)Input X contains NaN.*DeepMLPRegressor"):
        DeepMLPRegressor(**SMALL).pretrain_fit(X_nan)
    with pytest.raises(ValueError, match="DeepMLPRegressor"):
        DeepMLPRegressor(**SMALL).pretrain_fit(X[:0])


@pytest.mark.parametrize("warm_start", [False, True])
def test_lbfgs_refuses_batch_normalization_of_a_single_sample(warm_start):
    # The stochastic optimizers refuse it; L-BFGS trained with a variance of 0
    # and predicted -27820 for the next rows of X (targets of about 1).
    reg = DeepMLPRegressor(
        **SMALL, optimizer="lbfgs", normalization="batch", warm_start=warm_start
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few iterations only
        reg.fit(X, Y)
    before = reg.predict(X)
    with pytest.raises(ValueError, match=r"normalization='batch'.*lbfgs.*1 sample"):
        reg.fit(X[:1], Y[:1])
    np.testing.assert_array_equal(reg.predict(X), before)  # the previous model
    with pytest.raises(ValueError, match="normalization='batch'"):
        DeepMLPRegressor(**SMALL, optimizer="lbfgs", normalization="batch").fit(X[:1], Y[:1])


def test_lbfgs_refuses_batch_normalization_of_a_single_positive_weight():
    # Its error came from the mini-batch check and told to use a larger
    # batch_size or shuffle=True, which L-BFGS (one batch of all of X) ignores.
    reg = DeepMLPRegressor(**SMALL, optimizer="lbfgs", normalization="batch")
    weights = np.zeros(len(X))
    weights[3] = 2.0
    with pytest.raises(ValueError, match=r"lbfgs.*1 sample with a positive sample_weight") as info:
        reg.fit(X, Y, sample_weight=weights)
    assert "batch_size" not in str(info.value) and "shuffle" not in str(info.value)
    weights[5] = 1.0  # two are enough, as for the stochastic optimizers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X, Y, sample_weight=weights)


# ------------------------------------------------ models too large for memory
#: The end of the message of a refused model: the limit, and what to reduce.
REFUSED = (
    r".*more than the .* (of memory and swap this machine has|that this process's "
    r"container \(cgroup\) allows, swap included|of address space that ulimit -v "
    r"allows)\. Reduce depth or width\."
)


@pytest.mark.parametrize(
    "params, named",
    [(dict(depth=10**9, width=1000), r"depth=1000000000 and width=1000 has 1e\+15 parameters"),
     (dict(width=10**12), r"depth=1 and width=1000000000000 has 1e\+12 parameters"),
     (dict(depth=2, width=[10**7, 10**7]), r"width=\[10000000, 10000000\] has 1e\+14"),
     # A NumPy integer depth overflowed the count: "-8.45e+18 parameters", or
     # (int32) a count small enough to pass, and NumPy's "Unable to allocate".
     (dict(depth=np.int64(10**9), width=10**5), r"depth=1000000000 and width=100000 has 1e\+19"),
     (dict(depth=np.int32(3), width=10**7), r"depth=3 and width=10000000 has 2e\+14")],
    ids=["depth", "width", "widths", "numpy-int64-depth", "numpy-int32-depth"],
)
def test_a_network_larger_than_the_memory_is_refused_by_name(params, named):
    # depth=10**9 grew a list of 10**9 widths, then the layers one by one,
    # until the operating system killed the process; width=10**12 failed
    # inside NumPy with "array is too big"; the widths with "Unable to
    # allocate 745 TiB for an array with shape (100000010000015,)".
    model = DeepMLPRegressor(**SMALL).fit(X, Y)
    before = model.predict(X)
    with warnings.catch_warnings(), pytest.raises(MemoryError, match=named + REFUSED):
        warnings.simplefilter("error", RuntimeWarning)  # an overflow of the count
        model.set_params(**params).fit(X, Y)
    np.testing.assert_array_equal(model.predict(X), before)  # the fitted model stays


def test_the_memory_check_counts_the_parameters_and_their_gradients(monkeypatch):
    monkeypatch.setattr(_memory, "ALWAYS_FITS_BYTES", 0)  # the check reads no limit below it
    monkeypatch.setattr(_memory, "cgroup_memory_limit", lambda: None)
    monkeypatch.setattr(_memory, "address_space_limit", lambda: None)
    # 3 hidden layers of 1000: 2 * 1000**2 + 3 * 1000 parameters, and as many
    # gradients, of 4 bytes (float32) or 8 (float64), plus 1 KiB a layer.
    needed = 2 * 4 * (2 * 1000**2 + 3 * 1000) + 3 * 1024
    monkeypatch.setattr(_memory, "physical_memory", lambda: needed)
    DeepMLPRegressor(depth=3, width=1000, max_iter=1).fit(X[:4], Y[:4])  # just fits
    monkeypatch.setattr(_memory, "physical_memory", lambda: needed - 1)
    with pytest.raises(MemoryError, match="at least 15.3 MiB, more than the 15.3 MiB"):
        DeepMLPRegressor(depth=3, width=1000, max_iter=1).fit(X[:4], Y[:4])
    with pytest.raises(MemoryError, match="at least 30.6 MiB"):  # twice the bytes
        DeepMLPRegressor(depth=3, width=1000, dtype="float64").fit(X[:4], Y[:4])
    monkeypatch.setattr(_memory, "physical_memory", lambda: None)  # unknown: no check
    DeepMLPRegressor(depth=3, width=1000, max_iter=1).fit(X[:4], Y[:4])


def test_an_rbm_larger_than_the_memory_is_refused_by_name():
    # NumPy refused with "Unable to allocate 393 TiB for an array with shape
    # (1000000000000, 3)", or "Maximum allowed dimension exceeded".
    binary = (X > 0).astype(float)
    with pytest.raises(MemoryError, match=r"BernoulliRBM with n_components=1000000000000 "
                                          r"and batch_size=100 on 3 features.*Reduce "
                                          r"n_components or batch_size\."):
        BernoulliRBM(n_components=10**12).fit(binary)
    with pytest.raises(MemoryError, match="batch_size=10000000000000000000"):
        BernoulliRBM(batch_size=10**19).partial_fit(binary)
    # NumPy integers overflowed the bytes (a RuntimeWarning and a wrong figure).
    with warnings.catch_warnings(), pytest.raises(MemoryError, match=r"n_components=1000000000 and "
                                                                     r"batch_size=10000000000 .*"
                                                                     r"at least 3\.55e\+04 PiB"):
        warnings.simplefilter("error", RuntimeWarning)
        BernoulliRBM(n_components=np.int64(10**9), batch_size=np.int64(10**10)).fit(binary)
    with pytest.raises(MemoryError, match=r"BernoulliRBM of hidden layer 1 \(RBM pretraining\) "
                                          r"with n_components=4 and batch_size=10000000000000000000"
                                          r".*Reduce width or pretrain_batch_size\."):
        DeepMLPRegressor(**SMALL, pretrain="rbm", pretrain_batch_size=10**19).fit(X, Y)


def test_the_least_memory_limit_applies(monkeypatch, tmp_path):
    monkeypatch.setattr(_memory, "ALWAYS_FITS_BYTES", 0)
    # A container's limit is usually far below the machine's memory.
    v2, v1 = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes"
    monkeypatch.setattr(_memory, "CGROUP_LIMIT_FILES", (str(v2), str(v1)))
    monkeypatch.setattr(_memory, "PROC_CGROUP", str(tmp_path / "no-cgroup"))  # roots only
    monkeypatch.setattr(_memory, "MEMINFO", str(tmp_path / "no-meminfo"))  # no swap
    monkeypatch.setattr(_memory, "physical_memory", lambda: 2**35)
    monkeypatch.setattr(_memory, "address_space_limit", lambda: None)
    assert _memory.memory_limit() == (2**35, "of memory and swap this machine has")
    v2.write_text("max\n")  # cgroup v2 without a limit
    v1.write_text(f"{2**30}\n")
    assert _memory.memory_limit() == (
        2**30, "that this process's container (cgroup) allows, swap included"
    )
    with pytest.raises(MemoryError, match=r"more than the 1 GiB that this process's container "
                                          r"\(cgroup\) allows, swap included\. Reduce depth "
                                          r"or width\."):
        DeepMLPRegressor(depth=2, width=20000).fit(X, Y)
    monkeypatch.setattr(_memory, "address_space_limit", lambda: 2**29)
    assert _memory.memory_limit() == (2**29, "of address space that ulimit -v allows")
    monkeypatch.setattr(_memory, "physical_memory", lambda: None)
    monkeypatch.setattr(_memory, "address_space_limit", lambda: None)
    v1.write_text("9223372036854771712\n")  # cgroup v1 without a limit: a huge number
    assert _memory.memory_limit()[0] == 9223372036854771712
    v1.unlink()
    assert _memory.memory_limit() is None  # nothing to read: no check


def test_a_containers_limit_counts_the_swap(monkeypatch, tmp_path):
    # A container may swap beyond its memory limit (Docker's --memory=1g lets
    # it swap as much again): a model that spills into swap still trains, and
    # one of 1.5 GiB was refused against the 1 GiB limit alone.
    monkeypatch.setattr(_memory, "ALWAYS_FITS_BYTES", 0)
    limit, meminfo = tmp_path / "memory.max", tmp_path / "meminfo"
    limit.write_text(f"{2**30}\n")
    meminfo.write_text(f"MemTotal: {2**25} kB\nSwapTotal: {2**20} kB\n")  # 32 GiB, 1 GiB
    monkeypatch.setattr(_memory, "CGROUP_LIMIT_FILES", (str(limit),))
    monkeypatch.setattr(_memory, "PROC_CGROUP", str(tmp_path / "no-cgroup"))  # roots only
    monkeypatch.setattr(_memory, "MEMINFO", str(meminfo))
    monkeypatch.setattr(_memory, "address_space_limit", lambda: None)
    source = "that this process's container (cgroup) allows, swap included"
    assert _memory.memory_limit() == (2**31, source)
    _memory.check_fits_in_memory(3 * 2**29, "The model needs", "Reduce it.")
    with pytest.raises(MemoryError, match=r"The model needs at least 2\.5 GiB, more than the "
                                          r"2 GiB that this process's container \(cgroup\) "
                                          r"allows, swap included\. Reduce it\."):
        _memory.check_fits_in_memory(5 * 2**29, "The model needs", "Reduce it.")
    meminfo.write_text(f"MemTotal: {2**25} kB\nSwapTotal: 0 kB\n")  # no swap: the limit
    assert _memory.memory_limit() == (2**30, source)


def test_the_limit_of_the_process_own_cgroup_and_its_parents_applies(monkeypatch, tmp_path):
    # A batch job (Slurm) or a systemd unit is limited below the root of the
    # hierarchy, often at a parent of the process's cgroup: only the roots'
    # files were read, where there is no limit.
    v2, v1 = tmp_path / "unified", tmp_path / "memory"
    proc = tmp_path / "cgroup"
    proc.write_text("4:memory:/slurm/job_7/step_0\n3:cpu:/slurm/job_7\n0::/user.slice/app\n")
    monkeypatch.setattr(_memory, "PROC_CGROUP", str(proc))
    monkeypatch.setattr(_memory, "CGROUP_V2_ROOT", str(v2))
    monkeypatch.setattr(_memory, "CGROUP_V1_ROOT", str(v1))
    monkeypatch.setattr(_memory, "CGROUP_LIMIT_FILES", ())
    assert _memory.cgroup_limit_files() == [
        f"{v1}/slurm/job_7/step_0/memory.limit_in_bytes",
        f"{v1}/slurm/job_7/memory.limit_in_bytes",
        f"{v1}/slurm/memory.limit_in_bytes",
        f"{v2}/user.slice/app/memory.max",
        f"{v2}/user.slice/memory.max",
    ]
    assert _memory.cgroup_memory_limit() is None  # no file: no limit
    (v1 / "slurm" / "job_7" / "step_0").mkdir(parents=True)
    (v1 / "slurm" / "job_7" / "step_0" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (v1 / "slurm" / "job_7" / "memory.limit_in_bytes").write_text(f"{2**32}\n")  # the job's
    (v2 / "user.slice").mkdir(parents=True)
    (v2 / "user.slice" / "memory.max").write_text("max\n")
    assert _memory.cgroup_memory_limit() == 2**32  # the least of them


def test_physical_memory_is_read_where_the_system_tells_it(monkeypatch, tmp_path):
    assert _memory.physical_memory() is None or _memory.physical_memory() > 2**20

    def no_sysconf(name):
        raise ValueError(name)

    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24683664 kB\nSwapTotal:       2097152 kB\n")
    monkeypatch.setattr(_memory, "MEMINFO", str(meminfo))
    assert _memory.swap_space() == 2 * 2**30  # a model that spills into swap still trains
    pages = {"SC_PHYS_PAGES": 4, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(_memory.os, "sysconf", pages.__getitem__)
    assert _memory.physical_memory() == 4 * 4096 + 2 * 2**30
    meminfo.write_bytes(b"MemTotal: \xff\xfe kB\nSwapTotal:\n")  # malformed: no swap, no error
    assert _memory.swap_space() == 0
    meminfo.unlink()
    assert _memory.swap_space() == 0
    monkeypatch.setattr(_memory.os, "sysconf", no_sysconf)
    assert _memory.physical_memory() is None
    if _memory.resource is not None:  # ulimit -v, soft limit
        limits = {"soft": 2**30}
        monkeypatch.setattr(_memory.resource, "getrlimit", lambda which: (limits["soft"], -1))
        assert _memory.address_space_limit() == 2**30
        limits["soft"] = _memory.resource.RLIM_INFINITY
        assert _memory.address_space_limit() is None
    assert _memory.format_bytes(1000) == "1000 B"
    assert _memory.format_bytes(1536) == "1.5 KiB"
    assert _memory.format_bytes(2**60 * 3000) == "3.07e+06 PiB"
