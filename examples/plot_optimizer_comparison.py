"""
Comparing the optimizers on digits
==================================

Training-loss curves (``loss_curve_``) of every optimizer of
:mod:`sk_deepnet.optimizers` on the digits data set, in the manner of the
multilayer-perceptron figure of Kingma & Ba (2015, figure 2): the same network
(two hidden layers of 256 ReLU units, mini-batches of 128) and the same
initialization for every optimizer, each at its default learning rate
(``learning_rate="auto"``, PyTorch's defaults). The final training loss and the
test accuracy of each optimizer are printed.

A second figure compares full-batch gradient descent (``batch_size=None``),
pure stochastic gradient descent (``batch_size=1``) and mini-batch gradient
descent with the same ``optimizer="sgd"``.
"""

# %%
# Data and common settings
# ------------------------
import os
import time
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sk_deepnet import DeepMLPClassifier
from sk_deepnet.optimizers import OPTIMIZERS

SMOKE = bool(os.environ.get("SK_DEEPNET_EXAMPLES_SMOKE"))

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixel intensities in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
n_epochs = 3 if SMOKE else 50
width = 32 if SMOKE else 256
common = dict(
    depth=2,
    width=width,
    activation="relu",
    batch_size=128,
    max_iter=n_epochs,
    tol=0.0,
    n_iter_no_change=n_epochs,  # run every epoch: no early convergence stop
    random_state=0,  # same initialization and batch order for every optimizer
)

# %%
# Train one network per optimizer
# -------------------------------
curves = {}
print(f"{'optimizer':<10}{'lr':>8}{'final loss':>13}{'test acc':>10}{'time (s)':>10}")
for name in OPTIMIZERS:
    clf = DeepMLPClassifier(optimizer=name, **common)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fixed epoch budget
        clf.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    curves[name] = clf.loss_curve_
    print(
        f"{name:<10}{clf.learning_rate_:>8g}{clf.loss_:>13.4f}"
        f"{clf.score(X_test, y_test):>10.3f}{elapsed:>10.1f}"
    )

# %%
# Training loss per epoch
# -----------------------
fig, ax = plt.subplots(figsize=(8, 5.5))
colors = plt.get_cmap("tab10").colors
for color, (name, curve) in zip(colors, curves.items()):
    style = "-" if name in ("sgd", "momentum", "nesterov") else "--"
    ax.plot(range(1, len(curve) + 1), curve, style, color=color, label=name)
ax.set_yscale("log")
ax.set_xlabel("epoch (pass over the training data)")
ax.set_ylabel("training loss (log-loss + L2)")
ax.set_title(f"digits, 2 x {width} ReLU, batches of 128, default learning rates")
ax.legend(ncol=2)
fig.tight_layout()

# %%
# Batch, stochastic and mini-batch gradient descent
# -------------------------------------------------
# The same plain ``optimizer="sgd"`` update, computed on every training sample
# at once (``batch_size=None``), on one sample at a time (``batch_size=1``) or
# on mini-batches of 32, for the same number of epochs. Per epoch, smaller
# batches make many more (noisier) updates. Each setting has its own learning
# rate, chosen by hand for it.
settings = {
    "batch (batch_size=None), lr=0.2": dict(batch_size=None, learning_rate=0.2),
    "stochastic (batch_size=1), lr=0.01": dict(batch_size=1, learning_rate=0.01),
    "mini-batch (batch_size=32), lr=0.1": dict(batch_size=32, learning_rate=0.1),
}
n_epochs_gd = 2 if SMOKE else 10
X_gd, y_gd = (X_train[:200], y_train[:200]) if SMOKE else (X_train, y_train)
fig, ax = plt.subplots(figsize=(8, 5))
print(f"\n{'plain SGD':<38}{'updates':>9}{'final loss':>12}{'test acc':>10}{'time (s)':>10}")
for label, params in settings.items():
    clf = DeepMLPClassifier(
        depth=2, width=width, optimizer="sgd", max_iter=n_epochs_gd, tol=0.0,
        n_iter_no_change=n_epochs_gd, random_state=0, **params,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_gd, y_gd)
    elapsed = time.perf_counter() - start
    batch = params["batch_size"] or len(X_gd)
    updates = clf.n_iter_ * -(-len(X_gd) // batch)
    ax.plot(range(1, clf.n_iter_ + 1), clf.loss_curve_, label=label)
    print(
        f"{label:<38}{updates:>9}{clf.loss_:>12.4f}"
        f"{clf.score(X_test, y_test):>10.3f}{elapsed:>10.1f}"
    )
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_title("plain gradient descent: batch vs stochastic vs mini-batch")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# What to take away
# -----------------
# At their default learning rates, the adaptive methods (Adagrad, Adadelta,
# RMSprop, Adam and its variants) drive the training loss down fastest on this
# problem; plain SGD at ``lr=0.01`` is the slowest, and momentum or Nesterov
# close most of the gap. Test accuracy differs much less between the
# optimizers than the training loss does. In the second figure, full-batch
# descent makes a single update per epoch and lags far behind; one-sample
# updates get about as far per epoch as mini-batches, at a much higher cost
# in time.
