"""optimizer="lbfgs" in float32 against float64: iterations, final loss, stop reason.

SciPy's L-BFGS-B works in float64. This prints, for a few problems, what a
float32 fit does (iterations, evaluations, final loss, SciPy's status and the
warnings) next to a float64 fit (the initial weights are drawn in each dtype,
so the two runs start from nearly, not exactly, the same point). Now
both evaluate the loss in float64; before, the float32 fit evaluated it in
float32 and stopped as "converged" on iris with tol=1e-8 after 25 iterations
at a loss of 0.46 (float64: 175 iterations, 0.037). The rows ``f32-eval``
still do that (the float64 twin and the float64 copy of X patched out): the
float32 fit as it was, for comparison.

Run: ``PYTHONPATH=. python benchmarks/lbfgs_float32.py``
"""

import contextlib
import itertools
import time
import warnings
from unittest import mock

import numpy as np
from sklearn.datasets import load_digits, load_iris, make_classification, make_friedman1
from sklearn.preprocessing import StandardScaler

import sk_deepnet._lbfgs as lbfgs_module
from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor


class _BatchesInFloat32(lbfgs_module.MiniBatches):
    """The full batch in float32, as L-BFGS gathered it before the float64 twin."""

    def __init__(self, X, Y, sample_weight, train_idx, batch_size, dtype, **kwargs):
        super().__init__(X, Y, sample_weight, train_idx, batch_size, np.float32, **kwargs)


def evaluated_in_float32():
    """Patch L-BFGS back to evaluating a float32 network in float32."""
    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch.object(lbfgs_module, "float64_twin", lambda net: net))
    stack.enter_context(mock.patch.object(lbfgs_module, "MiniBatches", _BatchesInFloat32))
    return stack


def problems():
    X, y = load_iris(return_X_y=True)
    yield "iris", DeepMLPClassifier, X, y
    X, y = make_classification(n_samples=500, n_features=20, random_state=0)
    yield "make_classification", DeepMLPClassifier, X, y
    X, y = load_digits(return_X_y=True)
    yield "digits", DeepMLPClassifier, StandardScaler().fit_transform(X), y
    X, y = make_friedman1(n_samples=500, random_state=0)
    yield "friedman1", DeepMLPRegressor, X, y


def fit(estimator_class, X, y, dtype, alpha, tol):
    est = estimator_class(depth=2, width=8, optimizer="lbfgs", max_iter=3000,
                          alpha=alpha, tol=tol, random_state=0,
                          dtype="float32" if dtype == "f32-eval" else dtype)
    patch = evaluated_in_float32() if dtype == "f32-eval" else contextlib.nullcontext()
    with patch, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - start
    messages = sorted({type(w.message).__name__ for w in caught})
    return est, seconds, messages


def main():
    print(f"{'problem':20} {'alpha':5} {'tol':5} {'dtype':8} {'n_iter':>6} {'n_fun':>6} "
          f"{'loss':>12} {'status':>6} {'time s':>7}  warnings / SciPy's message")
    for (name, cls, X, y), (alpha, tol) in itertools.product(
        problems(), [(1e-4, 1e-4), (1e-4, 1e-8)]
    ):
        for dtype in ("float32", "float64", "f32-eval"):
            est, seconds, messages = fit(cls, X, y, dtype, alpha, tol)
            opt = est.optimizer_
            print(f"{name:20} {alpha:5g} {tol:5g} {dtype:8} {est.n_iter_:6d} {opt.n_fun_:6d} "
                  f"{est.loss_:12.6g} {opt.status_:6d} {seconds:7.2f}  "
                  f"{','.join(messages) or '-'} / {opt.message_}")


if __name__ == "__main__":
    main()
