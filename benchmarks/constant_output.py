"""A fitted model's training loss over the best constant prediction's: the
measurements behind ``CONSTANT_LOSS_MARGIN`` and ``STRONG_ALPHA``
(``sk_deepnet/_gradient_advice.py``).

Usage::

    python benchmarks/constant_output.py

A fit's ConvergenceWarning says the model has learned next to nothing from X
when its training loss is not 1% below that of the best constant prediction
(the class frequencies; the mean of y), ``_losses.constant_output_loss``.
This script prints, for each fit, the model's training loss (a forward pass
over the training set, without the L2 penalty) over the constant's, and
whether the warning said so:

1. healthy fits: scikit-learn's bundled data sets, standardized, with the
   defaults and common settings (all should be well below 0.99 and silent);
2. fits that collapse or never start: Adam at ``learning_rate=1.0`` on digits
   (its relu units die), 10 sigmoid layers with 5 epochs of SGD (vanishing
   gradients), a strong ``alpha`` with Adam and with L-BFGS (all should be
   at 0.99 or above and say so);
3. the test score of the default network over ``alpha``, on digits and
   friedman1: from which ``alpha`` the penalty alone can hold a model near a
   constant.
"""

import warnings

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_friedman1,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet._losses import LOSSES, constant_output_loss

NOTHING_LEARNED = "that of the best constant prediction"


def _standardized(X, y=None):
    X = StandardScaler().fit_transform(X)
    if y is None:
        return X
    return X, (y - y.mean()) / y.std()


def _data():
    digits, iris, wine, cancer = (loader(return_X_y=True) for loader in (
        load_digits, load_iris, load_wine, load_breast_cancer))
    diabetes = _standardized(*load_diabetes(return_X_y=True))
    friedman = _standardized(*make_friedman1(2000, noise=0.5, random_state=0))
    return {
        "digits": (_standardized(digits[0]), digits[1]),
        "iris": (_standardized(iris[0]), iris[1]),
        "wine": (_standardized(wine[0]), wine[1]),
        "breast_cancer": (_standardized(cancer[0]), cancer[1]),
        "diabetes": diabetes,
        "friedman1": friedman,
    }


def _model_loss(model, X, y):
    """The fitted model's training loss (no L2 penalty), and the constant's."""
    network = model._network
    logits = network.predict_logits(X.astype(network.dtype))
    if isinstance(model, DeepMLPClassifier):
        codes = np.searchsorted(model.classes_, y)
        if logits.shape[1] == 1:  # binary: one sigmoid output
            loss, targets = LOSSES["logistic_cross_entropy"], codes[:, None].astype(float)
        else:
            loss, targets = LOSSES["softmax_cross_entropy"], codes
    else:
        loss = LOSSES[model.loss]
        targets = y.reshape(len(y), -1)
    n = len(y)
    value = loss.loss_and_delta(logits, targets, None, n, np.empty_like(logits))
    return value, constant_output_loss(loss, targets, None, logits.shape[1])


def _report(name, model, X, y):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.fit(X, y)
    said = any(
        w.category is ConvergenceWarning and NOTHING_LEARNED in str(w.message) for w in record
    )
    loss, constant = _model_loss(model, X, y)
    print(f"  {name:<44} {loss / constant:8.3f}  {'says so' if said else '-'}")
    return loss / constant


def _healthy(data):
    print("1. Healthy fits: training loss / best constant's (the warning: 0.99 or above)")
    ratios = []
    for name, (X, y) in data.items():
        estimator = DeepMLPRegressor if name in ("diabetes", "friedman1") else DeepMLPClassifier
        for label, params in (
            ("default", {}),
            ("early_stopping", {"early_stopping": True}),
            ("sgd", {"optimizer": "sgd", "learning_rate": 0.01}),
            ("lbfgs", {"optimizer": "lbfgs", "max_iter": 100}),
            ("30 epochs", {"max_iter": 30}),
        ):
            model = estimator(random_state=0, **params)
            ratios.append(_report(f"{name}, {label}", model, X, y))
    print(f"  largest ratio of a healthy fit: {max(ratios):.3f}")


def _collapsed(data):
    print("2. Fits that learned nothing: training loss / best constant's")
    X, y = data["digits"]
    ratios = []
    for seed in (1, 2, 3):
        ratios.append(_report(f"digits, adam at learning_rate=1.0, seed {seed}",
                              DeepMLPClassifier(learning_rate=1.0, random_state=seed), X, y))
    sigmoid = DeepMLPClassifier(depth=10, width=64, activation="sigmoid", optimizer="sgd",
                                learning_rate=0.1, batch_size=32, max_iter=5, random_state=0)
    ratios.append(_report("digits, 10 sigmoid layers, 5 epochs of sgd", sigmoid, X, y))
    ratios.append(_report("digits, alpha=100", DeepMLPClassifier(alpha=100.0, random_state=0),
                          X, y))
    Xf, yf = data["friedman1"]
    ratios.append(_report("friedman1, lbfgs, alpha=1000",
                          DeepMLPRegressor(optimizer="lbfgs", alpha=1000.0, random_state=0),
                          Xf, yf))
    print(f"  smallest ratio of these: {min(ratios):.3f}")


def _alpha_sweep(data):
    print("3. Test score of the default network over alpha (accuracy; R^2)")
    print(f"  {'alpha':>8} {'digits':>8} {'friedman1':>10}")
    splits = {name: train_test_split(*data[name], test_size=0.25, random_state=0)
              for name in ("digits", "friedman1")}
    for alpha in (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0):
        scores = []
        for name, estimator in (("digits", DeepMLPClassifier), ("friedman1", DeepMLPRegressor)):
            X_train, X_test, y_train, y_test = splits[name]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = estimator(alpha=alpha, random_state=0).fit(X_train, y_train)
            scores.append(model.score(X_test, y_test))
        print(f"  {alpha:>8g} {scores[0]:>8.3f} {scores[1]:>10.3f}")


def main():
    data = _data()
    _healthy(data)
    _collapsed(data)
    _alpha_sweep(data)


if __name__ == "__main__":
    main()
