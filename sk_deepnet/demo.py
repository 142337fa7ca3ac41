"""The main demo: why a deep network does not learn, and what fixes it.

Run it with ``python -m sk_deepnet.demo``. On scikit-learn's digits dataset (no
download) it first trains a 10-layer sigmoid network with plain SGD, which does
not learn, and prints its gradient monitor's per-layer report; then the same
network with relu, which learns, and its report. Then it prints test accuracy
and fit time of a StandardScaler + DeepMLPClassifier pipeline for several
depths and optimizers, and where to read next. Set
``SK_DEEPNET_EXAMPLES_SMOKE=1`` for a seconds-long run.
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

#: Where to read next, printed last.
READ_NEXT = """\
Read next:
  * the user guide: "Why gradients vanish or explode" (doc/user_guide/vanishing_gradients.rst)
    and "The remedies, and when each one helps" (doc/user_guide/remedies.rst);
  * the example examples/plot_gradient_flow.py, which plots these gradients;
  * build the HTML docs: pip install -e ".[docs]" &&
    python -m sphinx -b html doc doc/_build/html"""


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


def _monitored_fit(activation, X_train, y_train, X_test, y_test):
    """Fit a 10 x 64 network by plain SGD for 5 epochs; print accuracy and report."""
    model = make_pipeline(
        StandardScaler(),
        DeepMLPClassifier(
            depth=10, width=64, activation=activation, optimizer="sgd",
            learning_rate=0.1, batch_size=32, max_iter=5,
            callbacks=[GradientMonitor(warn=False)], random_state=0,
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 5 epochs on purpose
        model.fit(X_train, y_train)
    monitor = model[-1].gradient_monitor_
    print(
        f"test accuracy {model.score(X_test, y_test):.3f}; diagnosis "
        f"{monitor.diagnosis_!r}; gradient-norm ratio first/output layer "
        f"{monitor.vanishing_ratio_:.2g}\n"
    )
    print(monitor.report())
    return monitor


def _depth_optimizer_table(smoke, X_train, y_train, X_test, y_test):
    depths = (1, 3) if smoke else (1, 3, 6)
    optimizers = ("sgd", "adam") if smoke else ("sgd", "momentum", "rmsprop", "adam")
    max_iter = 5 if smoke else 200
    print(f"\n3. Depth x optimizer (width 64, relu, at most max_iter={max_iter} epochs):\n")
    print(f"{'depth':>5} {'optimizer':>10} {'accuracy':>9} {'epochs':>11} {'time (s)':>9}")
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
            epochs = f"{n_iter} (max)" if n_iter == max_iter else str(n_iter)
            print(f"{depth:>5} {optimizer:>10} {accuracy:>9.3f} {epochs:>11} {elapsed:>9.2f}")
    print(
        f"(max): training ran all max_iter={max_iter} epochs without meeting the "
        "stopping rule\n(tol, n_iter_no_change); fewer epochs: it converged and stopped early."
    )


def main():
    smoke = os.environ.get("SK_DEEPNET_EXAMPLES_SMOKE") == "1"
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    describe_blas(DeepMLPClassifier(width=64), X_train)
    print(
        "sk_deepnet demo: why a deep network does not learn, and what fixes it\n"
        f"digits: {len(X_train)} training and {len(X_test)} test samples, 10 classes\n"
    )
    print("1. 10 sigmoid layers x 64 units, plain SGD, 5 epochs: it does not learn.")
    failing = _monitored_fit("sigmoid", X_train, y_train, X_test, y_test)
    print("\n2. The same network with relu (init='auto'): it learns.")
    fixed = _monitored_fit("relu", X_train, y_train, X_test, y_test)
    print(
        f"\nThe point: with sigmoid the first layer's gradient norm is "
        f"{failing.vanishing_ratio_:.2g} times the\noutput layer's (a ratio, the "
        f"report's 'relative' column), with relu {fixed.vanishing_ratio_:.2g} times. "
        "The sigmoid\nnet's first layers barely move from their random start."
    )
    _depth_optimizer_table(smoke, X_train, y_train, X_test, y_test)
    print("\n" + READ_NEXT)


if __name__ == "__main__":
    main()
