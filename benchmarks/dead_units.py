"""Dead relu units on raw and standardized features: the measurements behind
``GradientMonitor(dead_threshold=0.5)`` and its ``input_scale_`` rule.

Usage::

    python benchmarks/dead_units.py

For five small datasets (iris, wine, breast cancer, digits: classification;
diabetes: regression on a standardized target), raw and standardized with
``StandardScaler``, fits networks of several depths, widths, optimizers and
activations (100 epochs at most, ``random_state=0``) with a
``GradientMonitor(warn=False)`` and prints, per fit, the largest fraction of
dead units of a hidden layer over the monitor's summary window (the median
that ``dead_threshold`` is compared with; ``-`` for tanh, whose units cannot
die), the training score and the diagnosis, and per dataset the monitor's
``input_scale_`` (a feature's largest absolute mean or standard deviation). The last lines give the
range of the dead fractions of the standardized and the raw fits. The user
guide (doc/user_guide/vanishing_gradients.rst) quotes them.
"""

import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet.callbacks import GradientMonitor

CONFIGS = {
    "relu 3x100": dict(depth=3, width=100),  # the defaults
    "relu 5x64": dict(depth=5, width=64),
    "relu 10x32": dict(depth=10, width=32),
    "relu 3x20": dict(depth=3, width=20),
    "relu sgd": dict(depth=3, width=100, optimizer="sgd"),
    "leaky 3x100": dict(depth=3, width=100, activation="leaky_relu"),
    "elu 3x100": dict(depth=3, width=100, activation="elu"),
    "tanh 5x64": dict(depth=5, width=64, activation="tanh"),
}
DATASETS = {
    "iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
    "digits": load_digits, "diabetes": load_diabetes,
}


def fit(name, X, y, params):
    """(largest windowed dead fraction, training score, diagnosis, input_scale_)."""
    estimator = DeepMLPRegressor if name == "diabetes" else DeepMLPClassifier
    model = estimator(max_iter=100, random_state=0, callbacks=[GradientMonitor(warn=False)],
                      **params).fit(X, y)
    monitor = model.gradient_monitor_
    dead = monitor._window(monitor.dead_units_)[:-1]  # the hidden layers
    largest = np.nan if np.isnan(dead).all() else np.nanmax(dead)
    return largest, model.score(X, y), monitor.diagnosis_, monitor.input_scale_


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    print("cell: largest dead fraction of a hidden layer / training score / diagnosis")
    print(f"{'data':14} {'X':6} {'scale':>7}  " + "  ".join(f"{c:>18}" for c in CONFIGS))
    dead = {"raw": [], "scaled": []}
    for name, loader in DATASETS.items():
        X, y = loader(return_X_y=True)
        if name == "diabetes":
            y = (y - y.mean()) / y.std()
        for kind, Xk in (("raw", X), ("scaled", StandardScaler().fit_transform(X))):
            cells, scale = [], np.nan
            for params in CONFIGS.values():
                largest, score, diagnosis, scale = fit(name, Xk, y, params)
                if not np.isnan(largest):
                    dead[kind].append((largest, name))
                text = "-" if np.isnan(largest) else f"{largest:.2f}"
                cells.append(f"{text}/{score:.2f}/{diagnosis[:7]}")
            print(f"{name:14} {kind:6} {scale:7.3g}  " + "  ".join(f"{c:>18}" for c in cells),
                  flush=True)
    scaled = [d for d, _ in dead["scaled"]]
    print(f"standardized fits: dead fraction {min(scaled):.2f} to {max(scaled):.2f}")
    for name in DATASETS:
        raw = [d for d, n in dead["raw"] if n == name]
        print(f"raw {name} fits: dead fraction {min(raw):.2f} to {max(raw):.2f}")


if __name__ == "__main__":
    main()
