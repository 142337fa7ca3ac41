"""Fault injection: an allocation failure or an interrupt at any point leaves a usable model.

Every numpy allocation function the package calls (``np.empty``, ``np.zeros``,
``np.full``, ``np.concatenate``, ...) and every hook of the gradient monitor is
wrapped so that its k-th call raises MemoryError or KeyboardInterrupt, for k
over every call a fit makes, in fresh fits, ``partial_fit`` continuations,
warm starts and a continuation whose callbacks were switched, and in
``optimizer="lbfgs"`` fits (fresh and warm-started; the faults then land in
SciPy's L-BFGS-B iterations too, which call numpy), with and without a
GradientMonitor, with and without batch normalization. After each, the
estimator must be unfitted or predict finite values, pickle and load, and
train again (``fit`` and ``partial_fit``); an L-BFGS model must hold the
weights of the iteration its ``n_iter_`` counts (as a fit stopped there by
``max_iter``).

Faults are injected at the first call from every distinct call site
(``_injection_points``), MemoryError and KeyboardInterrupt taking turns;
``SK_DEEPNET_FAULT_SWEEP=full`` injects both at every call.
``test_sweep_covers_every_call`` prints the counts.

A Ctrl-C lands between any two lines, not only at a call: ``LineInterrupt``
raises KeyboardInterrupt at the start of the k-th line that the package runs
(``sys.settrace``), at the first run of every distinct line of the reentrancy
guard, and of every ``LINE_STRIDE``-th distinct line of the whole package
(every one with ``SK_DEEPNET_FAULT_SWEEP=full``: about 4,000 cases, a minute).
"""

import os
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import sk_deepnet
from sk_deepnet import DeepMLPClassifier
from sk_deepnet import _reentrancy
from sk_deepnet.callbacks import GradientMonitor

ALLOCATORS = ("empty", "zeros", "ones", "full", "concatenate", "empty_like", "zeros_like",
              "ones_like", "full_like", "resize", "copyto", "array", "asarray", "stack")
MONITOR_HOOKS = ("on_fit_begin", "on_epoch_begin", "on_grad_computed", "on_batch_end",
                 "on_epoch_end", "on_fit_end", "_new_record", "_publish", "_diagnose")
EXCEPTIONS = (MemoryError, KeyboardInterrupt)
#: SK_DEEPNET_FAULT_SWEEP=full: both exceptions at every call, not only at the
#: first call of each site (about 2,700 cases; minutes instead of seconds).
FULL = os.environ.get("SK_DEEPNET_FAULT_SWEEP") == "full"
SCENARIOS = ["fresh", "fresh_batchnorm", "refit", "partial_fit", "partial_fit_batchnorm",
             "warm_start", "switched_callbacks", "lbfgs", "lbfgs_batchnorm",
             "lbfgs_warm_start"]

RNG = np.random.default_rng(0)
X = RNG.normal(size=(24, 3)).astype(np.float32)
Y = (X[:, 0] > 0).astype(int)


class Fault:
    """Within ``with``: the k-th call of any wrapped function raises ``exc``."""

    def __init__(self, k, exc, record_sites=False):
        self.k, self.exc, self.calls = k, exc, 0
        self.sites = [] if record_sites else None  # the calling lines of each call
        self._saved = [(np, name, getattr(np, name)) for name in ALLOCATORS]
        self._saved += [(GradientMonitor, name, getattr(GradientMonitor, name))
                        for name in MONITOR_HOOKS]

    def _wrap(self, function):
        def wrapper(*args, **kwargs):
            self.calls += 1
            if self.sites is not None:
                self.sites.append(_call_site(function))
            if self.calls == self.k:
                raise self.exc()
            return function(*args, **kwargs)

        return wrapper

    def __enter__(self):
        for owner, name, function in self._saved:
            setattr(owner, name, self._wrap(function))
        return self

    def __exit__(self, *exc_info):
        for owner, name, function in self._saved:
            setattr(owner, name, function)


def _call_site(function, depth=4):
    """The function and the lines of its innermost callers: one allocation point."""
    frame, lines = sys._getframe(2), []
    while frame is not None and len(lines) < depth:
        lines.append((frame.f_code.co_filename, frame.f_lineno))
        frame = frame.f_back
    return (function.__name__, *lines)


def _setup(scenario, monitor):
    """A estimator and the call to inject faults into."""
    lbfgs = scenario.startswith("lbfgs")
    est = DeepMLPClassifier(
        depth=2, width=4, max_iter=2, batch_size="auto" if lbfgs else 12, random_state=0,
        callbacks=[GradientMonitor()] if monitor else None,
        normalization="batch" if scenario.endswith("batchnorm") else None,
        optimizer="lbfgs" if lbfgs else "adam",
    )
    if scenario.startswith("fresh") or scenario in ("lbfgs", "lbfgs_batchnorm"):
        return est, lambda: est.fit(X, Y)
    est.fit(X, Y)
    if scenario == "refit":  # a new fit of a fitted estimator
        est.set_params(random_state=1)
        return est, lambda: est.fit(X, Y)
    if scenario.endswith("warm_start"):
        est.set_params(warm_start=True)
        return est, lambda: est.fit(X, Y)
    if scenario == "switched_callbacks":
        est.set_params(callbacks=[GradientMonitor()])
    return est, lambda: est.partial_fit(X, Y)


def _check_usable(est):
    if hasattr(est, "_network"):
        assert np.isfinite(est.predict_proba(X)).all()
        loaded = pickle.loads(pickle.dumps(est))
        loaded.fit(X, Y) if est.optimizer == "lbfgs" else loaded.partial_fit(X, Y)
    else:
        pickle.loads(pickle.dumps(est))
    if est.optimizer != "lbfgs":  # L-BFGS has no partial_fit
        est.partial_fit(X, Y, classes=[0, 1])  # continues, or starts afresh
    est.fit(X, Y)
    assert np.isfinite(est.predict_proba(X)).all()


_REFERENCES = {}


def _lbfgs_reference(scenario, n_iter):
    """The weights of the L-BFGS scenario's call stopped after ``n_iter`` iterations
    without a fault (None for a fresh fit stopped before its first one), and the
    iterations that the scenario's setup recorded before the call."""
    key = (scenario, n_iter)
    if key not in _REFERENCES:
        est, call = _setup(scenario, monitor=False)
        before = len(getattr(est, "loss_curve_", []))
        if n_iter > 0:
            est.set_params(max_iter=n_iter)
            call()
        coefs = [c.copy() for c in est.coefs_] if hasattr(est, "coefs_") else None
        _REFERENCES[key] = coefs, before
    return _REFERENCES[key]


def _check_lbfgs_consistent(scenario, est):
    """After a fault, an L-BFGS model is at the iterate its bookkeeping counts:
    the state before the call, or the call's last complete iteration."""
    if not scenario.startswith("lbfgs") or not hasattr(est, "_network"):
        return
    _, before = _lbfgs_reference(scenario, 0)
    n_iter = len(est.loss_curve_) - before  # the iterations this call recorded
    assert 0 <= n_iter <= est.max_iter and est.n_iter_ in (n_iter, before)
    reference, _ = _lbfgs_reference(scenario, n_iter)
    if reference is not None:
        for mine, theirs in zip(est.coefs_, reference):
            np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def _injection_points(scenario, monitor):
    """The first call from each distinct call site (a function called from a line,
    reached through the same callers): later calls from the same site (the next
    batch's) take the same path."""
    est, call = _setup(scenario, monitor)
    with Fault(0, MemoryError, record_sites=True) as counter:
        call()
    first = {}
    for k, site in enumerate(counter.sites, start=1):
        first.setdefault(site, k)
    return sorted(first.values()), counter.calls


@pytest.mark.parametrize("monitor", [False, True], ids=["plain", "monitor"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_fault_at_any_allocation_point_leaves_a_usable_estimator(scenario, monitor):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        points, n_calls = _injection_points(scenario, monitor)
        assert len(points) > 20
        if FULL:
            cases = [(k, exc) for k in range(1, n_calls + 1) for exc in EXCEPTIONS]
        else:  # the two exceptions take turns over the points
            cases = [(k, EXCEPTIONS[i % 2]) for i, k in enumerate(points)]
        for k, exc in cases:
            est, call = _setup(scenario, monitor)
            try:
                with Fault(k, exc):
                    call()
            except exc:
                pass
            _check_lbfgs_consistent(scenario, est)
            _check_usable(est)


def test_sweep_covers_every_call():
    """Print what the sweep covers (pytest -s shows it)."""
    total_points = total_calls = 0
    for scenario in SCENARIOS:
        for monitor in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                points, n_calls = _injection_points(scenario, monitor)
            total_points += len(points)
            total_calls += n_calls
            print(f"{scenario:22} monitor={monitor!s:5} calls={n_calls:4d} "
                  f"injection points={len(points)}")
    print(f"total: {total_calls} calls from {total_points} call sites")
    assert total_points > 200


PACKAGE = str(Path(sk_deepnet.__file__).parent)
#: Every LINE_STRIDE-th distinct line of the package takes an interrupt.
LINE_STRIDE = 1 if FULL else 23


class LineInterrupt:
    """Within ``with``: KeyboardInterrupt at the start of the ``k``-th line run
    in the files under ``prefix`` (k=0: none; ``lines`` lists them all)."""

    def __init__(self, k, prefix=PACKAGE):
        self.k, self.prefix, self.count, self.lines = k, prefix, 0, []
        self.previous = None  # the tracer in force before (coverage's, a debugger's)

    def _local(self, frame, event, arg):
        if event == "line":
            self.count += 1
            self.lines.append((frame.f_code.co_filename, frame.f_lineno))
            if self.count == self.k:
                sys.settrace(self.previous)
                raise KeyboardInterrupt
        return self._local

    def _global(self, frame, event, arg):
        return self._local if frame.f_code.co_filename.startswith(self.prefix) else None

    def __enter__(self):
        self.previous = sys.gettrace()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc_info):
        # Not None: that would end a coverage run's tracing for the session.
        sys.settrace(self.previous)


def _first_runs(call, prefix):
    """The index of the first run of each distinct line under ``prefix``."""
    with LineInterrupt(0, prefix) as tracer:
        call()
    first = {}
    for k, line in enumerate(tracer.lines, start=1):
        first.setdefault(line, k)
    return sorted(first.values())


def _interrupt_at(k, scenario, prefix):
    """Run the scenario's call with an interrupt at line ``k``; the estimator
    and its predictions before the call (None if it was not fitted)."""
    est, call = _setup(scenario, monitor=scenario != "partial_fit")
    before = est.predict_proba(X) if hasattr(est, "_network") else None
    try:
        with LineInterrupt(k, prefix):
            call()
    except KeyboardInterrupt:
        pass
    return est, before


_STOPPED = {}


def _stopped_call(scenario, n_iter):
    """The predictions of the scenario's call run without an interrupt until
    the estimator counts ``n_iter`` epochs (a refit, or a partial_fit)."""
    key = (scenario, n_iter)
    if key not in _STOPPED:
        est, call = _setup(scenario, monitor=False)
        if scenario == "refit":
            est.set_params(max_iter=n_iter)
            call()
        else:
            for _ in range(n_iter - est.n_iter_):
                call()
        _STOPPED[key] = est.predict_proba(X)
    return _STOPPED[key]


def _check_interrupted(scenario, est, before):
    """A fitted estimator stays fitted, with the model before the call or the
    call's model of its last complete epoch (a new untrained network, or one of
    an incomplete epoch, would be silently wrong)."""
    if before is not None:
        proba = est.predict_proba(X)
        # n_iter_ alone cannot tell: the previous fit had counted epochs too.
        assert np.array_equal(proba, before) or np.allclose(
            proba, _stopped_call(scenario, est.n_iter_), rtol=1e-5, atol=1e-6
        )
    _check_usable(est)


def test_the_line_interrupt_restores_the_tracer_in_force():
    # It set None on exit, which ended coverage's tracing for the session.
    def tracer(frame, event, arg):
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        with pytest.raises(KeyboardInterrupt), LineInterrupt(1):
            _setup("fresh", monitor=False)[1]()
        after_interrupt = sys.gettrace()
        with LineInterrupt(0):
            pass
        after_exit = sys.gettrace()
    finally:
        sys.settrace(previous)
    assert after_interrupt is tracer and after_exit is tracer


@pytest.mark.parametrize(
    "prefix, scenario",
    [(_reentrancy.__file__, "fresh"), (PACKAGE, "fresh"), (PACKAGE, "refit"),
     (PACKAGE, "partial_fit")],
    ids=["guard", "package-fresh", "package-refit", "package-partial_fit"],
)
def test_an_interrupt_at_any_line_leaves_a_usable_estimator(prefix, scenario):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        points = _first_runs(_setup(scenario, monitor=scenario != "partial_fit")[1], prefix)
        stride = 1 if prefix != PACKAGE else LINE_STRIDE
        assert len(points) > (4 if prefix != PACKAGE else 300)
        for k in points[::stride]:
            _check_interrupted(scenario, *_interrupt_at(k, scenario, prefix))
            est, _ = _setup(scenario, monitor=False)
            # An interrupted call leaves no guard behind, even for a new
            # object that Python gives the same id.
            est.fit(X, Y)
