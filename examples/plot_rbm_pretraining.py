"""
Greedy layer-wise RBM pretraining of a deep sigmoid network
===========================================================

A deep sigmoid network started from small random weights (``init="normal",
init_scale=0.01``) and trained by plain SGD does not learn: every layer shrinks
the back-propagated error signal, and after 30 epochs it still predicts at
chance. ``pretrain="rbm"`` first trains one restricted Boltzmann machine per
hidden layer, bottom up, each on the hidden probabilities of the layer below
(Hinton & Salakhutdinov, 2006), copies their weights into the network and then
fine-tunes it with backpropagation.

We reproduce the shape of Erhan et al. (2010, figure 1): test accuracy against
depth, with and without pretraining, over several seeds. Without pretraining
accuracy collapses as the network gets deeper; with it, depth costs little.
The recipe's defaults (CD-1, learning rate 0.1, momentum 0.5 then 0.9, weight
decay 0.0002, batches of 100, 50 epochs per layer) are used unchanged.

The first RBM's visible units must suit the data: digits scaled to [0, 1] get
Bernoulli units; standardized digits (zero mean, unit variance) get Gaussian
units with ``pretrain_visible="auto"``, the default. Both are shown, and the
reconstruction error of each layer's RBM (``pretrain_curves_``) is plotted.

Last, a relu network pretrained with rectified RBM hidden units, in the
setting of the deep-belief-network package's digits example.
"""

# %%
# Data and the deep sigmoid network
# ---------------------------------
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier

SMOKE = bool(os.environ.get("SK_DEEPNET_EXAMPLES_SMOKE"))
warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epoch budget

X, y = load_digits(return_X_y=True)
if SMOKE:
    X, y = X[:400], y[:400]
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
data = {
    "[0, 1] (Bernoulli visibles)": (X_train, X_test),
    "standardized (Gaussian visibles)": (scaler.transform(X_train), scaler.transform(X_test)),
}

DEPTHS = [1, 2] if SMOKE else [1, 3, 5]
SEEDS = [0] if SMOKE else [0, 1, 2]
settings = dict(
    width=100, activation="sigmoid", init="normal", init_scale=0.01,
    optimizer="sgd", learning_rate=0.1, batch_size=32, max_iter=3 if SMOKE else 30,
)
if SMOKE:
    settings["pretrain_epochs"] = 2


def fit_and_score(depth, pretrain, seed, Xs=(X_train, X_test)):
    clf = DeepMLPClassifier(depth=depth, pretrain=pretrain, random_state=seed, **settings)
    clf.fit(Xs[0], y_train)
    return clf.score(Xs[1], y_test), clf


# %%
# Accuracy against depth, with and without pretraining (digits in [0, 1])
# ------------------------------------------------------------------------
start = time.perf_counter()
accuracy = {pretrain: np.zeros((len(DEPTHS), len(SEEDS))) for pretrain in (None, "rbm")}
fitted = {}
for i, depth in enumerate(DEPTHS):
    for j, seed in enumerate(SEEDS):
        for pretrain in (None, "rbm"):
            accuracy[pretrain][i, j], fitted[depth, pretrain, seed] = fit_and_score(
                depth, pretrain, seed
            )

print(f"Test accuracy on digits in [0, 1], mean (min-max) over {len(SEEDS)} seed(s)")
print(f"{'depth':>5}  {'no pretraining':>22}  {'RBM pretraining':>22}")
for i, depth in enumerate(DEPTHS):
    cells = [
        f"{a[i].mean():.3f} ({a[i].min():.3f}-{a[i].max():.3f})"
        for a in (accuracy[None], accuracy["rbm"])
    ]
    print(f"{depth:>5}  {cells[0]:>22}  {cells[1]:>22}")

fig, ax = plt.subplots(figsize=(6, 4))
for pretrain, label, marker in ((None, "no pretraining", "o"), ("rbm", "RBM pretraining", "s")):
    a = accuracy[pretrain]
    ax.errorbar(
        DEPTHS, a.mean(axis=1),
        yerr=[a.mean(axis=1) - a.min(axis=1), a.max(axis=1) - a.mean(axis=1)],
        marker=marker, capsize=4, label=label,
    )
ax.axhline(0.1, color="gray", linestyle=":", label="chance")
ax.set(xlabel="number of hidden layers", ylabel="test accuracy", xticks=DEPTHS,
       title="Sigmoid MLP, init 0.01 * N(0, 1), SGD")
ax.legend()
fig.tight_layout()

# %%
# The deepest network on both kinds of input
# ------------------------------------------
# The same 5-layer network (``DEPTHS[-1]`` layers in smoke mode), seed 0, on
# digits in [0, 1] and on standardized digits, where ``pretrain_visible="auto"``
# picks Gaussian visible units (learning rate 0.01 for that RBM).
depth = DEPTHS[-1]
models = {}
print(f"\n{depth}-layer sigmoid network, seed 0")
print(f"{'input':>34}  {'no pretraining':>15}  {'RBM pretraining':>15}")
for name, Xs in data.items():
    if Xs[0] is X_train:  # fitted above
        plain, pretrained = accuracy[None][-1, 0], accuracy["rbm"][-1, 0]
        models[name] = fitted[depth, "rbm", SEEDS[0]]
    else:
        plain, _ = fit_and_score(depth, None, 0, Xs)
        pretrained, models[name] = fit_and_score(depth, "rbm", 0, Xs)
    print(f"{name:>34}  {plain:>15.3f}  {pretrained:>15.3f}")

# %%
# The RBMs' reconstruction errors
# -------------------------------
# ``pretrain_curves_`` holds, per hidden layer, the mean squared error between
# each training batch and its one-step reconstruction, for every epoch. The
# Gaussian first layer reconstructs standardized values, hence its larger scale.
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, (name, model) in zip(axes, models.items()):
    for layer, curve in enumerate(model.pretrain_curves_, start=1):
        ax.semilogy(np.arange(1, len(curve) + 1), curve, label=f"layer {layer}")
    ax.set(title=name, xlabel="pretraining epoch")
axes[0].set_ylabel("reconstruction error (MSE)")
axes[0].legend()
fig.tight_layout()
print(f"\nTotal time: {time.perf_counter() - start:.1f} s")
plt.show()

# %%
# Rectified hidden units for a relu network
# -----------------------------------------
# A relu network gets RBMs with noisy rectified hidden units (Nair & Hinton,
# 2010; ``pretrain_hidden_units="auto"``), whose mean-field output
# ``max(0, x)`` is exactly the relu layer's, so the network starts from the
# pretrained features; sigmoid hidden units (the only kind before) give it
# features it does not compute, with a ``PretrainingWarning``. The setting is
# the deep-belief-network package's digits example: digits / 16, an 80/20 split
# (``random_state=0``), two relu layers of 256 units, RBMs at learning rate
# 0.05 for 10 epochs, then SGD at 0.1 for 100 epochs, batches of 32, dropout 0.2.
X_dbn_train, X_dbn_test, y_dbn_train, y_dbn_test = train_test_split(
    X / 16, y, test_size=0.2, random_state=0
)
dbn_settings = dict(
    depth=2, width=256, activation="relu", dropout=0.2, optimizer="sgd",
    learning_rate=0.1, batch_size=32, max_iter=3 if SMOKE else 100,
    n_iter_no_change=100, pretrain_epochs=2 if SMOKE else 10,
    pretrain_learning_rate=0.05, pretrain_batch_size=32,
)
print(f"\nrelu 64-256-256-10 on digits, mean (min-max) test accuracy over {len(SEEDS)} seed(s)")
for label, extra in [
    ("no pretraining", dict(pretrain=None)),
    ("sigmoid RBM units", dict(pretrain="rbm", pretrain_hidden_units="sigmoid")),
    ("rectified RBM units (auto)", dict(pretrain="rbm", pretrain_hidden_units="auto")),
]:
    scores = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the sigmoid units' mismatch
        for seed in SEEDS:
            clf = DeepMLPClassifier(random_state=seed, **dbn_settings, **extra)
            scores.append(clf.fit(X_dbn_train, y_dbn_train).score(X_dbn_test, y_dbn_test))
    print(f"{label:>28}  {np.mean(scores):.3f} ({min(scores):.3f}-{max(scores):.3f})")

# %%
# References
# ----------
# * G. E. Hinton and R. R. Salakhutdinov (2006). Reducing the dimensionality of
#   data with neural networks. Science 313, 504-507.
# * G. E. Hinton (2010). A practical guide to training restricted Boltzmann
#   machines. UTML TR 2010-003.
# * V. Nair and G. E. Hinton (2010). Rectified linear units improve restricted
#   Boltzmann machines. ICML.
# * D. Erhan, Y. Bengio, A. Courville, P.-A. Manzagol, P. Vincent and S. Bengio
#   (2010). Why does unsupervised pre-training help deep learning? JMLR 11.
