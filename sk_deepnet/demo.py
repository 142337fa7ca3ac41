"""The main demo: depth x optimizer on scikit-learn's digits.

Run it with ``python -m sk_deepnet.demo``. It trains a StandardScaler +
DeepMLPClassifier pipeline for several depths and optimizers on the digits
dataset shipped with scikit-learn (no download) and prints test accuracy and fit
time, then shows that a deep sigmoid network trained by plain SGD does not learn
and what the gradient monitor says about it. Set ``SK_DEEPNET_EXAMPLES_SMOKE=1``
for a seconds-long run.
"""

import os
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info

from sk_deepnet import DeepMLPClassifier, get_config
from sk_deepnet._threadpool import current_blas_threads, fit_flops, threads_for
from sk_deepnet.callbacks import GradientMonitor


def describe_blas(estimator, X):
    """Print the BLAS library and the threads the thread policy gives ``estimator.fit(X)``.

    Parameters
    ----------
    estimator : DeepMLPClassifier or DeepMLPRegressor
    X : ndarray of shape (n_samples, n_features)
    """
    libraries = [
        f"{info['internal_api']} {info.get('version')} ({info['num_threads']} threads)"
        for info in threadpool_info() if info["user_api"] == "blas"
    ]
    limit = threads_for(fit_flops(estimator, X))
    used = limit if limit is not None else current_blas_threads()
    setting = get_config()["blas_threads"]
    print(f"BLAS: {', '.join(libraries) or 'none found'}; these fits use {used} BLAS "
          f"thread{'s' if used != 1 else ''} (sk_deepnet.set_config(blas_threads="
          f"{setting!r}))")


def main():
    smoke = os.environ.get("SK_DEEPNET_EXAMPLES_SMOKE") == "1"
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    describe_blas(DeepMLPClassifier(width=64), X_train)
    depths = (1, 3) if smoke else (1, 3, 6)
    optimizers = ("sgd", "adam") if smoke else ("sgd", "momentum", "rmsprop", "adam")
    max_iter = 5 if smoke else 200
    print(f"digits: {len(X_train)} training and {len(X_test)} test samples\n")
    print(f"{'depth':>5} {'optimizer':>10} {'accuracy':>9} {'epochs':>7} {'time (s)':>9}")
    for depth in depths:
        for optimizer in optimizers:
            model = make_pipeline(
                StandardScaler(),
                DeepMLPClassifier(
                    depth=depth, width=64, optimizer=optimizer, max_iter=max_iter,
                    random_state=0,
                ),
            )
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X_train, y_train)
            elapsed = time.perf_counter() - start
            accuracy = model.score(X_test, y_test)
            n_iter = model[-1].n_iter_
            print(f"{depth:>5} {optimizer:>10} {accuracy:>9.3f} {n_iter:>7} {elapsed:>9.2f}")

    print("\nWhy a deep sigmoid net trained by plain SGD does not learn (10 x 64, 5 epochs):")
    for activation in ("sigmoid", "relu"):
        model = make_pipeline(
            StandardScaler(),
            DeepMLPClassifier(
                depth=10, width=64, activation=activation, optimizer="sgd",
                learning_rate=0.1, batch_size=32, max_iter=5,
                callbacks=[GradientMonitor()], random_state=0,
            ),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X_train, y_train)
        monitor = model[-1].gradient_monitor_
        print(
            f"  {activation:>7}: accuracy {model.score(X_test, y_test):.3f}, "
            f"diagnosis {monitor.diagnosis_!r}, first/last layer gradient norm "
            f"{monitor.vanishing_ratio_:.1e}"
        )


if __name__ == "__main__":
    main()
