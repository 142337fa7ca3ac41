"""Claims of the README and the user guide that no other test or example backs.

Each test runs the documented code, or the documented setting, and asserts the
number or the behaviour the text states, so that a change of the package that
makes the text wrong fails here. (The quotes of example output are checked by
``tests/test_docs.py``, the parameters of the MLP mapping table too.)
"""

import doctest
import importlib
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info

from sk_deepnet import DeepMLPClassifier
from sk_deepnet.callbacks import CurvatureMonitor
from sk_deepnet.exceptions import GradientHealthWarning

# The port's data and keyword-translating factory (tests/ is on the path).
from test_sklearn_mlp_port import MLPRegressor as PortedMLPRegressor
from test_sklearn_mlp_port import X_reg, y_reg

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _readme_usage():
    """The README's Python block: its source and the diagnosis its comment states."""
    block = re.search(r"## Usage\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    stated = re.search(r"diagnosis_\)\s*# '(\w+)'", block).group(1)
    return block, stated


def _run_usage(block, **swap):
    """Run the README's usage block, ``clf.set_params(**swap)`` before its fit."""
    # The swap goes in just before the fit; the print lines print nothing.
    block = block.replace("model = ", "clf.set_params(**_swap)\nmodel = ", 1)
    block = block.replace("print(", "_printed = (")
    namespace = {"_swap": swap}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", GradientHealthWarning)
        exec(compile(block, str(README), "exec"), namespace)
    return namespace["clf"].gradient_monitor_.diagnosis_


def test_readme_usage_prints_the_diagnosis_its_comment_states():
    block, stated = _readme_usage()
    assert stated == "vanishing"
    assert _run_usage(block) == stated


@pytest.mark.parametrize(
    "swap",
    [dict(activation="relu"), dict(normalization="batch"), dict(residual=True)],
    ids=lambda swap: "-".join(f"{k}={v}" for k, v in swap.items()),
)
def test_readme_swaps_change_the_diagnosis(swap):
    # "Swap in activation="relu", normalization="batch", residual=True or
    # pretrain="rbm" and watch the diagnosis change". (The RBM swap, healthy
    # too, pretrains for 2 s; test_pretraining.py's
    # test_pretraining_rescues_a_deep_sigmoid_network covers it.)
    block, stated = _readme_usage()
    assert _run_usage(block, **swap) == "healthy" != stated


# ------------------------------------------------------- coming_from_mlp.rst
def _partial_fit_regression_scores(Estimator):
    """R^2 of test_partial_fit_regression's momentum=0 fit, seeds 1 to 5."""
    scores = []
    for seed in range(1, 6):
        mlp = Estimator(solver="sgd", activation="relu", learning_rate_init=0.01,
                        random_state=seed, batch_size=X_reg.shape[0], momentum=0)
        for _ in range(100):
            mlp.partial_fit(X_reg, y_reg)
        scores.append(mlp.score(X_reg, y_reg))
    return scores


def test_the_ported_partial_fit_threshold_lies_within_the_seed_spread():
    # "its 0.65 threshold lies within the seed-to-seed spread of scikit-learn's
    # own MLP (0.644 to 0.699 over seeds 1 to 5; 0.634 to 0.736 here)".
    text = " ".join((ROOT / "doc" / "user_guide" / "coming_from_mlp.rst").read_text().split())
    quoted = re.search(r"\((\S+) to (\S+) over seeds 1 to 5; (\S+) to (\S+) here\)", text)
    theirs, ours = [float(x) for x in quoted.groups()[:2]], [float(x) for x in quoted.groups()[2:]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        measured = {
            "sklearn": _partial_fit_regression_scores(MLPRegressor),
            "ours": _partial_fit_regression_scores(PortedMLPRegressor),
        }
    for name, spread in [("sklearn", theirs), ("ours", ours)]:
        # Within rounding and a little more: another CPU's BLAS kernels round
        # the float32 trajectories differently.
        bounds = [min(measured[name]), max(measured[name])]
        np.testing.assert_allclose(bounds, spread, atol=0.002, err_msg=name)
        assert min(measured[name]) < 0.65 < max(measured[name])


# --------------------------------------------------- vanishing_gradients.rst
def test_a_converged_digits_network_keeps_negative_curvature():
    # "on standardized digits a network of two hidden layers of 32 relu units
    # reaches 0.7% of its initial loss at epoch 30 with |lambda_min| /
    # lambda_max 3.5%, and from there the second-order test alone reads
    # "saddle"" (benchmarks/curvature_phases.py's "digits relu 2x32" fit,
    # which prints the 0.7% but not the 3.5%).
    text = " ".join((ROOT / "doc" / "user_guide" / "vanishing_gradients.rst").read_text().split())
    quoted = re.search(r"reaches (\S+)% of its initial loss at epoch (\d+) with "
                       r":math:`\|\\lambda_{min}\| / \\lambda_{max}` (\S+)%", text)
    loss_percent, epoch, curvature_percent = quoted.groups()
    X, y = load_digits(return_X_y=True)
    monitor = CurvatureMonitor(record_every=10, random_state=0)
    clf = DeepMLPClassifier(depth=2, width=32, max_iter=int(epoch), random_state=0,
                            callbacks=[monitor])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(StandardScaler().fit_transform(X), y)
    m = clf.curvature_monitor_
    assert m.epochs_[-1] == int(epoch)
    # The quoted one-decimal percentages, within rounding and a little more
    # (another CPU's BLAS kernels round the float32 fit differently).
    assert abs(100 * m.probe_loss_[-1] / m.probe_loss_[0] - float(loss_percent)) <= 0.1
    assert abs(100 * m.negative_curvature_[-1] - float(curvature_percent)) <= 0.1
    # The second-order test alone: a small gradient and clearly negative
    # curvature; converged_tol makes it a minimum.
    assert m.grad_norm_[-1] <= m.gradient_tol * m.grad_norm_.max()
    assert m.negative_curvature_[-1] > m.negative_tol
    assert m.phase_[-1] == "minimum"


# ---------------------------------------------------------------- scaling.rst
def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fits_of_distinct_estimators_in_threads_match_serial_fits():
    # "sk_deepnet's predict is thread-safe, fit of distinct estimator objects
    # too" (predict: tests/test_failure_modes.py). The BLAS limit the thread
    # policy sets belongs to the process: the overlapping fits must leave it
    # as it was.
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16, y[:600]

    def fit(seed):
        # (warnings.catch_warnings is not thread-safe: the mark filters them.)
        clf = DeepMLPClassifier(depth=2, width=16, max_iter=3, learning_rate=0.01,
                                random_state=seed)
        return clf.fit(X, y).coefs_

    seeds = range(6)
    serial = [fit(seed) for seed in seeds]
    before = _blas_threads()
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = list(pool.map(fit, seeds))
    assert _blas_threads() == before
    for expected, got in zip(serial, threaded):
        for a, b in zip(expected, got):
            assert_array_equal(a, b)


# ------------------------------------------------------- public docstrings
def _public_doctests():
    """The doctests of the public modules' docstrings, once each (re-exports share one)."""
    finder, seen, found = doctest.DocTestFinder(), set(), {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        # The module's own docstring, then each public name's (with its methods).
        tests = doctest.DocTestFinder(recurse=False).find(module, module_name, globs={})
        for name in getattr(module, "__all__", []):
            tests += finder.find(getattr(module, name), f"{module_name}.{name}",
                                 module=False, globs={})
        for test in tests:
            key = (test.docstring, test.lineno)
            if test.examples and key not in seen:
                seen.add(key)
                found[test.name] = test
    return found


PUBLIC_MODULES = ("sk_deepnet", "sk_deepnet.callbacks", "sk_deepnet.plotting",
                  "sk_deepnet.optimizers", "sk_deepnet.schedules", "sk_deepnet.pretraining",
                  "sk_deepnet.exceptions", "sk_deepnet.onnx")
DOCTESTS = _public_doctests()


@pytest.mark.parametrize("name", sorted(DOCTESTS))
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_public_docstring_examples_print_what_they_show(name):
    # The Examples sections state results ("... .score(X / 16, y) > 0.9" shows
    # True); the suite ran none of them.
    if "matplotlib" in DOCTESTS[name].docstring:
        pytest.importorskip("matplotlib")
    if "onnx" in name:
        pytest.importorskip("onnxruntime")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    output = []
    result = runner.run(DOCTESTS[name], out=output.append)
    assert result.failed == 0, "".join(output)
