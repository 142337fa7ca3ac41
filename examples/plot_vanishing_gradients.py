"""
Remedies for vanishing and exploding gradients
==============================================

A deep stack of sigmoid layers with Glorot initialization, trained by plain
SGD, does not learn: the sigmoid's slope is at most 1/4, so the error signal
shrinks at every layer on its way back and the first layers get almost no
gradient (Glorot & Bengio, 2010). Mirror image: with weights far too large the
signal grows at every layer and the first step blows the weights up.

Every remedy is a hyperparameter of :class:`~sk_deepnet.DeepMLPClassifier`:

* ``activation="relu"`` with He initialization (``init="he_uniform"``;
  ``init="auto"`` takes it beyond a relu network's first four layers): relu
  passes back the whole signal of its active units, and He's scale keeps its
  size from layer to layer;
* ``residual=True``: skip connections give the signal a path around every
  block of layers;
* ``normalization="batch"``: normalizing each unit over the mini-batch undoes
  the shrinking, and permits larger learning rates;
* ``clip_grad_norm``: caps the length of each step (Pascanu et al., 2013); it
  contains exploding gradients but does not make a badly scaled network good.

We train each variant of a 10-layer, width-64 network on the digits under the
same budget (plain SGD, learning rate 0.1, batches of 32, 40 epochs) and record
its gradients with a :class:`~sk_deepnet.callbacks.GradientMonitor`.
"""

# %%
# Data and settings
# -----------------
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DivergenceWarning
from sk_deepnet.callbacks import GradientMonitor
from sk_deepnet.plotting import GradientFlowDisplay

SMOKE = bool(os.environ.get("SK_DEEPNET_EXAMPLES_SMOKE"))  # a tiny run for tests

X, y = load_digits(return_X_y=True)
if SMOKE:
    X, y = X[:400], y[:400]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

baseline = dict(
    depth=10, width=64, activation="sigmoid", init="glorot_uniform",
    optimizer="sgd", learning_rate=0.1, batch_size=32, alpha=0.0,
    max_iter=2 if SMOKE else 40, random_state=0,
)
settings = {
    "baseline: sigmoid, Glorot": {},
    "relu + He init": dict(activation="relu", init="he_uniform"),
    "residual connections": dict(residual=True),
    "batch norm (lr 0.5)": dict(normalization="batch", learning_rate=0.5),
    "layer norm (lr 0.5)": dict(normalization="layer", learning_rate=0.5),
    "50 layers, residual relu": dict(
        depth=50, activation="relu", init="he_uniform", residual=True
    ),
    "relu, N(0, 1) init": dict(activation="relu", init="normal", init_scale=1.0),
    "relu, N(0, 1) init, clipped": dict(
        activation="relu", init="normal", init_scale=1.0, clip_grad_norm=1.0
    ),
}

# %%
# Training
# --------
# ``vanishing_ratio_`` is the first layer's gradient norm over the output
# layer's, the median over the last quarter of training: about 1 when the
# gradient reaches the first layer intact. The gain per layer is the geometric
# mean, at initialization, of how much back-propagation through one hidden
# layer scales the error signal (below 1: it vanishes; above 1: it explodes).
fitted = {}
rows = []
for name, params in settings.items():
    clf = DeepMLPClassifier(**{**baseline, **params}, callbacks=[GradientMonitor(warn=False)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("always", DivergenceWarning)
        clf.fit(X_train, y_train)
    fitted[name] = clf
    monitor = clf.gradient_monitor_
    deltas = monitor.delta_norms_[0]
    gain = (deltas[0] / deltas[-1]) ** (1 / clf.depth)
    diverged = any(issubclass(w.category, DivergenceWarning) for w in caught)
    curve = clf.loss_curve_
    outcome = (
        "diverged, initial weights restored" if diverged
        else f"loss {curve[0]:.3g} -> {curve[-1]:.3g}"
    )
    rows.append((name, clf.score(X_test, y_test), monitor.vanishing_ratio_, gain, outcome))

print(f"{'remedy':<30} {'accuracy':>8} {'first/output':>12} {'gain/layer':>10}  outcome")
for name, accuracy, ratio, gain, outcome in rows:
    print(f"{name:<30} {accuracy:8.3f} {ratio:12.2e} {gain:10.2f}  {outcome}")

# The mean hidden activation of the layer-norm network at initialization:
means = fitted["layer norm (lr 0.5)"].gradient_monitor_.activation_means_[0, :-1]
print(f"\nlayer norm, mean sigmoid output at initialization: {means.mean():.2f}")

# %%
# The baseline stays at chance (10 classes): its first layer gets gradients
# orders of magnitude smaller than its output layer. Relu with He
# initialization, residual connections and batch normalization each bring the
# gradient back to every layer and the accuracy above 0.9, and so does a
# 50-layer residual relu network. Layer normalization does not rescue the
# sigmoid network (its gain per layer stays far below 1): it rescales each
# *sample* over its units, and the sigmoid's outputs share a large common
# part (they average about 1/2), which that rescaling keeps, so it does not
# make up for the sigmoid's slope; batch normalization, over each *unit*
# across the batch, removes the common part and does. With N(0, 1) weights the
# error signal grows about sqrt(64 / 2) = 5.7 times per layer, the loss starts
# around 1e8 (see its clipped twin's first epoch) and the first step makes it
# overflow: the estimator restores the initial weights and warns. Clipping the
# gradient norm to 1 keeps every step at most ``learning_rate`` long, so
# training goes on with a finite loss that falls by orders of magnitude but
# stays large: clipping contains the explosion, a sensible ``init`` cures it.

# %%
# Gradient norm per layer
# -----------------------
# Left: at initialization (the first recorded batch); right: late in training
# (medians over the last quarter of the records), each relative to the output
# layer. The clipped network (dashed) starts with the same gradients as the
# exploding one, which never trained: its "late" gradients are its first ones.
fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
for k, (name, clf) in enumerate(fitted.items()):
    monitor = clf.gradient_monitor_
    at_init = monitor.grad_norms_[0] / monitor.grad_norms_[0, -1]
    layers = np.arange(1, len(at_init) + 1)
    style = dict(
        color=f"C{k}", label=name, marker="." if len(layers) < 20 else None,
        linestyle="--" if clf.clip_grad_norm else "-",
    )
    axes[0].plot(layers, at_init, **style)
    axes[1].plot(layers, monitor.relative_grad_norms_, **style)
axes[0].set_title("at initialization")
axes[1].set_title("late in training")
for ax in axes:
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("weight layer (1 = first, last = output)")
axes[0].set_ylabel("gradient norm / output layer's")
axes[1].legend(fontsize="small")
fig.tight_layout()

# %%
# Over training
# -------------
# The gradient norm of every layer of four of the networks, recorded at the
# first batch of each epoch.
shown = ["baseline: sigmoid, Glorot", "relu + He init", "residual connections",
         "batch norm (lr 0.5)"]
fig, axes = plt.subplots(2, 2, figsize=(12, 8), sharey=True)
for ax, name in zip(axes.ravel(), shown):
    GradientFlowDisplay.from_estimator(fitted[name], ax=ax)
    ax.set_title(name)
    ax.legend(fontsize="x-small", ncol=3)
fig.tight_layout()
plt.show()
