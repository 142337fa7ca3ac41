"""Healthy fits against genuine saddles: the measurements behind the phases of
``CurvatureMonitor`` (its ``converged_tol``; and the stuck fits, whose
mini-batch records read ``"descent"``, as the monitor's Notes say).

Usage::

    python benchmarks/curvature_phases.py

Fits, with a ``CurvatureMonitor`` at its defaults but for ``record_every``:

* healthy fits: classifiers on standardized iris, wine, breast cancer and
  digits and regressors on standardized diabetes, make_friedman1 and
  make_regression (relu and tanh networks; adam, sgd, lbfgs);
* genuine saddles: deep linear networks (two hidden layers of 16 identity
  units) learning linear maps of rank 4 and 5 from weights of standard
  deviation 0.01 (Saxe et al. 2014: a plateau at the origin's saddle, then one
  weaker saddle per singular mode), with sgd, momentum and adam;
* stuck fits: the same network from weights of 1e-4, which never leaves the
  origin, with full batches and with mini-batches of 32, probed on 32 samples
  (the default) and on all 512.

Per fit it prints the phases of its records (d: descent, s: saddle, m:
minimum, f: flat), and for every record that meets the second-order saddle
test (a small gradient and clearly negative curvature) its loss as a fraction
of the first record's (``L / L0``) and how much further the loss fell after it
during the fit (``(L - min later L) / L0``). The last lines give, over all the
fits, the lowest ``L / L0`` of a saddle-test record whose loss later fell by
more than ``progress_tol`` (5%) of the initial loss (a saddle that held real
progress back) and the highest ``L / L0`` of one of a healthy fit whose loss
never did (the negative curvature of a converged fit). ``converged_tol`` lies between the two.
Last, over the ``"minimum"`` records of the healthy fits, how many times lower
the loss later fell, and by how much of ``L0`` at most.
The user guide (doc/user_guide/vanishing_gradients.rst) quotes them.
"""

import warnings

import numpy as np
from sklearn.datasets import (
    load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine, make_friedman1,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet.callbacks import CurvatureMonitor

CLASSIFIERS = {
    "iris relu 3x100": ("iris", dict()),
    "wine relu 3x100 sgd": ("wine", dict(optimizer="sgd")),
    "cancer relu 3x100": ("cancer", dict()),
    "digits relu 2x32": ("digits", dict(depth=2, width=32)),
    "digits tanh 2x32": ("digits", dict(depth=2, width=32, activation="tanh")),
    "digits relu 3x100 sgd": ("digits", dict(optimizer="sgd")),
}
REGRESSORS = {
    "diabetes relu 3x100": ("diabetes", dict()),
    "diabetes tanh 2x32": ("diabetes", dict(depth=2, width=32, activation="tanh")),
    "friedman1 relu 3x100": ("friedman1", dict()),
    "friedman1 relu 3x100 lbfgs": ("friedman1", dict(optimizer="lbfgs")),
    "friedman1 relu 2x32 sgd": ("friedman1", dict(depth=2, width=32, optimizer="sgd")),
    "linear relu 2x64": ("linear", dict(depth=2, width=64, batch_size=32)),
}


def load(name):
    """Standardized features (and, for regression, a standardized target)."""
    loaders = {
        "iris": lambda: load_iris(return_X_y=True),
        "wine": lambda: load_wine(return_X_y=True),
        "cancer": lambda: load_breast_cancer(return_X_y=True),
        "digits": lambda: load_digits(return_X_y=True),
        "diabetes": lambda: load_diabetes(return_X_y=True),
        "friedman1": lambda: make_friedman1(n_samples=500, random_state=0),
        "linear": lambda: make_regression(300, 10, noise=10, random_state=0),
    }
    X, y = loaders[name]()
    if name in ("diabetes", "friedman1", "linear"):
        y = (y - y.mean()) / y.std()
    return StandardScaler().fit_transform(X), y


def deep_linear(singular_values, init_scale):
    """A deep linear network's data: a linear map of the given singular values."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((512, 8))
    U, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    V, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    k = len(singular_values)
    return X, X @ (U[:, :k] @ np.diag(singular_values) @ V[:k])


def linear_fits():
    """(kind, name, estimator, X, y) of the deep linear networks: saddles and stuck fits."""
    common = dict(depth=2, width=16, activation="identity", init="normal", alpha=0.0,
                  tol=0.0, n_iter_no_change=10**9, random_state=0)
    rates = {"sgd": 0.05, "momentum": 0.05, "adam": 0.003}
    for rank, values in ((4, [3.0, 2.0, 1.5, 1.0]), (5, [3.0, 2.0, 1.5, 1.0, 0.5])):
        X, Y = deep_linear(values, 0.01)
        for optimizer, rate in rates.items():
            monitor = CurvatureMonitor(record_every=2, probe_size=128, n_iter=20, random_state=0)
            yield ("saddle", f"linear rank {rank} {optimizer}", DeepMLPRegressor(
                init_scale=0.01, optimizer=optimizer, learning_rate=rate, batch_size=32,
                max_iter=100, callbacks=[monitor], **common), X, Y)
    X, Y = deep_linear([3.0, 2.0, 1.5, 1.0], 1e-4)
    for batch_size, probe_size in ((512, 512), (32, 32), (32, 512)):
        monitor = CurvatureMonitor(record_every=10, probe_size=probe_size, n_iter=20,
                                   random_state=0)
        yield ("stuck", f"stuck batch {batch_size} probe {probe_size}", DeepMLPRegressor(
            init_scale=1e-4, optimizer="sgd", learning_rate=0.05, batch_size=batch_size,
            max_iter=100, callbacks=[monitor], **common), X, Y)


def all_fits():
    for table, estimator in ((CLASSIFIERS, DeepMLPClassifier), (REGRESSORS, DeepMLPRegressor)):
        for name, (data, params) in table.items():
            X, y = load(data)
            monitor = CurvatureMonitor(record_every=10, random_state=0)
            yield "healthy", name, estimator(max_iter=100, random_state=0, callbacks=[monitor],
                                  **params), X, y
    yield from linear_fits()


def saddle_test_records(monitor):
    """(L / L0, later fall / L0, ``negative_curvature_``) of the records with a
    small gradient and clearly negative curvature (the second-order saddle test)."""
    m = monitor
    small = m.grad_norm_ <= m.gradient_tol * np.nanmax(m.grad_norm_)
    negative = m.hessian_min_ < -m.negative_tol * np.abs(m.hessian_max_)
    loss = m.probe_loss_ / m.probe_loss_[0]
    later = [loss[k] - loss[k:].min() for k in range(len(loss))]
    saddles = np.flatnonzero(small & negative)
    return [(loss[k], later[k], m.negative_curvature_[k]) for k in saddles]


def minimum_records(monitor):
    """(how many times lower the loss later fell, by how much of L0) per ``"minimum"`` record."""
    loss = monitor.probe_loss_ / monitor.probe_loss_[0]
    return [(loss[k] / loss[k:].min(), loss[k] - loss[k:].min())
            for k in np.flatnonzero(monitor.phase_ == "minimum")]


def measure(kind, name, model, X, y, tables):
    """Fit, print the fit's line and add its records to ``tables``."""
    model.fit(X, y)
    monitor = model.curvature_monitor_
    records = saddle_test_records(monitor)
    for loss, fall, negative in records:
        if fall > monitor.progress_tol:
            tables["held_back"].append((loss, name))
        elif kind == "healthy":
            tables["converged"].append((loss, name, negative))
    if kind == "healthy":
        tables["minima"] += [(*record, name) for record in minimum_records(monitor)]
    phases = "".join(p[0] for p in monitor.phase_)
    cells = " ".join(f"{loss:.3g}({fall:.2g})" for loss, fall, _ in records)
    print(f"{name:30} {model.score(X, y):6.3f}  {phases}; {cells}", flush=True)


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    tables = {"held_back": [], "converged": [], "minima": []}
    print(f"{'fit':30} {'score':>6}  phases; saddle-test records: L/L0 (later fall / L0)")
    for fit in all_fits():
        measure(*fit, tables)
    low = min(tables["held_back"])
    print(f"saddles that held progress back: L/L0 from {low[0]:.3g} ({low[1]})")
    converged = tables["converged"]
    high = max(converged)
    print(f"negative curvature of converged fits: L/L0 up to {high[0]:.3g} ({high[1]}), "
          f"|lambda_min| / lambda_max up to {max(c[2] for c in converged):.3g}")
    minima = tables["minima"]
    times, fall, name = max(minima)
    print(f"minimum records of healthy fits: the loss fell later by up to {times:.3g} times "
          f"({name}: by {fall:.3g} of L0), by at most {max(f for _, f, _ in minima):.3g} of L0")


if __name__ == "__main__":
    main()
