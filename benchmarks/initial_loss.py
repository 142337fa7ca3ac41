"""The loss of a fresh model over the loss of an output of zeros: the
measurements behind ``INITIAL_LOSS_FACTOR`` (``sk_deepnet/_gradient_advice.py``).

Usage::

    python benchmarks/initial_loss.py

A DivergenceWarning or ConvergenceWarning blames the initial model when the
loss of its first batch, before any step, is at least 10 times the loss of
an output of zeros (uniform class probabilities; a prediction of 0 for a
regressor). For four activations, depths 1 to 20 (width 100) and five
standardized data sets (digits, wine, breast cancer: classification;
friedman1 and diabetes: regression on a standardized target), this script
prints that ratio for the default ``init="auto"``, then for
``init="normal"`` at several ``init_scale`` on digits, then for the default
init on raw digits. The ratio is measured as the warnings measure it: the
data loss (without the L2 penalty) of the first batch, here one batch of all
the samples, read by a callback, over the loss of an output of zeros.
"""

import warnings

from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_friedman1,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet._gradient_advice import loss_ratio
from sk_deepnet.callbacks import Callback

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu")
DEPTHS = (1, 3, 10, 20)


class FirstBatchLoss(Callback):
    """Keeps the loss of the fit's first batch (computed before the step)."""

    def on_fit_begin(self, estimator, *args, **kwargs):
        self.loss_ = None

    def on_batch_end(self, estimator, network, batch, loss, **kwargs):
        if self.loss_ is None:
            self.loss_ = loss - network.last_penalty  # the data loss, as the warnings


def initial_ratio(estimator, X, y):
    """The first full batch's loss over the loss of an output of zeros."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch
        estimator.set_params(
            batch_size=X.shape[0], max_iter=1, random_state=0, callbacks=[FirstBatchLoss()]
        ).fit(X, y)
    Y = estimator._encode_targets(y, first_call=False)
    return loss_ratio(estimator._network, estimator.callbacks_[0].loss_, Y, None)


def datasets():
    standardize = StandardScaler().fit_transform
    for name, load in (("digits", load_digits), ("wine", load_wine),
                       ("cancer", load_breast_cancer)):
        X, y = load(return_X_y=True)
        yield name, DeepMLPClassifier, standardize(X), y
    for name, (X, y) in (("friedman1", make_friedman1(1000, random_state=0)),
                         ("diabetes", load_diabetes(return_X_y=True))):
        yield name, DeepMLPRegressor, standardize(X), (y - y.mean()) / y.std()


def main():
    data = list(datasets())
    print("init='auto' (the default), standardized data:")
    print(f"{'':16s}" + "".join(f"{name:>11s}" for name, *_ in data))
    ratios = []
    for activation in ACTIVATIONS:
        for depth in DEPTHS:
            row = [
                initial_ratio(cls(depth=depth, activation=activation), X, y)
                for _, cls, X, y in data
            ]
            ratios += row
            print(f"{activation:8s} depth {depth:2d}" + "".join(f"{r:11.2f}" for r in row))
    print(f"range over these {len(ratios)} fits: {min(ratios):.2f} to {max(ratios):.2f}")
    X, y = data[0][2], data[0][3]
    print("\ninit='normal' (N(0, init_scale^2)), relu, standardized digits:")
    for scale in (0.1, 0.3, 1.0):
        row = [
            initial_ratio(DeepMLPClassifier(depth=d, init="normal", init_scale=scale), X, y)
            for d in (1, 3, 10)
        ]
        print(f"init_scale {scale:3.1f}: depth 1, 3, 10: " + ", ".join(f"{r:.3g}" for r in row))
    X_raw, y_raw = load_digits(return_X_y=True)
    print(f"\ninit='auto', raw digits (0 to 16): {initial_ratio(DeepMLPClassifier(), X_raw, y_raw):.2f}")


if __name__ == "__main__":
    main()
