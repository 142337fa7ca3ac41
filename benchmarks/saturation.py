"""Saturated sigmoid and tanh units: why ``GradientMonitor`` does not flag saturation.

Usage::

    python benchmarks/saturation.py

For four small classification datasets (iris, wine, breast cancer, digits),
raw and standardized with ``StandardScaler``, with a 25% test split, fits
sigmoid and tanh networks of several depths, with the default init and with
N(0, 1) weights (100 epochs at most, ``random_state=0``) and a
``GradientMonitor(warn=False)``; prints per fit the largest fraction of
saturated outputs of a hidden layer over the monitor's summary window (what
the report's ``sat.`` column shows), the test accuracy and the diagnosis.
The last lines compare the saturation of the fits that reach at least 0.95
of the best test accuracy on their dataset with that of the fits that fall
short: the two ranges overlap, so no threshold on saturation separates a
failing net from a working one. The user guide
(doc/user_guide/vanishing_gradients.rst) quotes the cells of the raw-digits
tanh nets and of the N(0, 1) tanh nets against their baseline, "tanh 5x64
sgd" (the same net and optimizer with the default init).
"""

import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DivergenceWarning
from sk_deepnet.callbacks import GradientMonitor

N01 = dict(init="normal", init_scale=1.0, optimizer="sgd", learning_rate=0.1)
CONFIGS = {
    "tanh 3x100": dict(depth=3, width=100, activation="tanh"),
    "tanh 5x64": dict(depth=5, width=64, activation="tanh"),
    "tanh 10x32": dict(depth=10, width=32, activation="tanh"),
    "sigmoid 3x100": dict(depth=3, width=100, activation="sigmoid"),
    "sigmoid 5x64": dict(depth=5, width=64, activation="sigmoid"),
    # The N(0, 1) nets train by SGD at 0.1: the same with the default init
    # is their baseline.
    "tanh 5x64 sgd": dict(depth=5, width=64, activation="tanh", optimizer="sgd",
                          learning_rate=0.1),
    "tanh 5x64 N(0,1)": dict(depth=5, width=64, activation="tanh", **N01),
    "sigmoid 5x64 N(0,1)": dict(depth=5, width=64, activation="sigmoid", **N01),
}
DATASETS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
            "digits": load_digits}


def fit(X_train, X_test, y_train, y_test, params):
    """(largest windowed saturated fraction, test accuracy, diagnosis)."""
    model = DeepMLPClassifier(max_iter=100, random_state=0,
                              callbacks=[GradientMonitor(warn=False)], **params)
    model.fit(X_train, y_train)
    monitor = model.gradient_monitor_
    saturated = np.nanmax(monitor._window(monitor.saturation_)[:-1])  # the hidden layers
    return saturated, model.score(X_test, y_test), monitor.diagnosis_


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", DivergenceWarning)
    print("cell: largest saturated fraction of a hidden layer / test accuracy / diagnosis")
    print(f"{'data':14} {'X':6}  " + "  ".join(f"{c:>17}" for c in CONFIGS))
    working, failing = [], []
    for name, loader in DATASETS.items():
        X, y = loader(return_X_y=True)
        results = []
        for kind, Xk in (("raw", X), ("scaled", StandardScaler().fit_transform(X))):
            split = train_test_split(Xk, y, test_size=0.25, stratify=y, random_state=0)
            cells = []
            for params in CONFIGS.values():
                saturated, score, diagnosis = fit(*split, params)
                results.append((saturated, score))
                cells.append(f"{saturated:.2f}/{score:.2f}/{diagnosis[:7]}")
            print(f"{name:14} {kind:6}  " + "  ".join(f"{c:>17}" for c in cells), flush=True)
        best = max(score for _, score in results)
        for saturated, score in results:
            (working if score >= 0.95 * best else failing).append(saturated)
    print(f"fits within 5% of their dataset's best accuracy: saturation "
          f"{min(working):.2f} to {max(working):.2f}")
    print(f"fits more than 5% below it: saturation {min(failing):.2f} to {max(failing):.2f}")


if __name__ == "__main__":
    main()
