"""
Why does my deep net not learn? Watching the gradient flow
==========================================================

A :class:`~sk_deepnet.callbacks.GradientMonitor` passed in ``callbacks`` records,
once per epoch, the gradient norm of every weight layer, the back-propagated
error signal, the size of the optimizer's steps and the state of the hidden
units. After ``fit`` the estimator exposes it as ``gradient_monitor_``, with a
diagnosis (``"exploding"``, ``"vanishing"``, ``"dead_units"`` or ``"healthy"``) and a per-layer
:meth:`~sk_deepnet.callbacks.GradientMonitor.report`;
:class:`~sk_deepnet.plotting.GradientFlowDisplay` draws the gradient norms and
the state of the hidden units.

We train three networks of the same width on the digits with plain SGD:

* 10 sigmoid layers with Glorot initialization, the setting in which Glorot &
  Bengio (2010) saw deep nets fail: the sigmoid's slope is at most 1/4, and
  with Glorot weights each layer passes back about a quarter of the error
  signal (the "gain" column of the reports below), so the first layers get
  almost no gradient;
* 5 relu layers with He initialization, which keeps the error signal's scale
  from layer to layer;
* 10 relu layers with N(0, 1) weights, far too large for 64 inputs per unit:
  the error signal grows about five-fold per layer and the first step blows
  the weights up.
"""

# %%
# Data and networks
# -----------------
import os
import sys
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DivergenceWarning
from sk_deepnet.callbacks import GradientHealthWarning, GradientMonitor
from sk_deepnet.plotting import GradientFlowDisplay

SMOKE = bool(os.environ.get("SK_DEEPNET_EXAMPLES_SMOKE"))

X, y = load_digits(return_X_y=True)
if SMOKE:
    X, y = X[:400], y[:400]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

common = dict(
    width=64, optimizer="sgd", learning_rate=0.1, batch_size=32,
    max_iter=2 if SMOKE else 20, random_state=0,
)
networks = {
    "10 sigmoid layers, Glorot init": dict(
        depth=10, activation="sigmoid", init="glorot_uniform"
    ),
    "5 relu layers, He init": dict(depth=5, activation="relu", init="he_uniform"),
    "10 relu layers, N(0, 1) init": dict(
        depth=10, activation="relu", init="normal", init_scale=1.0
    ),
}
fitted = {}
for name, params in networks.items():
    clf = DeepMLPClassifier(callbacks=[GradientMonitor()], **common, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GradientHealthWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DivergenceWarning)
        clf.fit(X_train, y_train)
    fitted[name] = clf
    monitor = clf.gradient_monitor_
    print(
        f"{name}: diagnosis {monitor.diagnosis_!r}, vanishing ratio "
        f"{monitor.vanishing_ratio_:.2e}, test accuracy {clf.score(X_test, y_test):.3f}"
    )
    for warning in caught:
        print(f"    {warning.category.__name__}: {warning.message}")

# %%
# Gradient norms over training
# ----------------------------
# Left: the sigmoid network's first layers get gradients four or five orders
# of magnitude smaller than its output layer, so they barely move. Right: with
# relu and He initialization every layer gets gradients of the same size.
# The flat floor of the sigmoid net's first two layers is the gradient of the
# L2 penalty, ``alpha / batch_size * W``: the data's own gradient there is
# smaller still.
sigmoid_net = fitted["10 sigmoid layers, Glorot init"]
penalty = sigmoid_net.alpha / common["batch_size"] * np.linalg.norm(sigmoid_net.coefs_[0])
print(f"L2-penalty gradient of the first layer: {penalty:.2e}; recorded gradient "
      f"norm: {sigmoid_net.gradient_monitor_.grad_norms_[-1, 0]:.2e}")
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
for ax, name in zip(axes, list(networks)[:2]):
    GradientFlowDisplay.from_estimator(fitted[name], ax=ax)
    ax.set_title(f"{name}\n({fitted[name].gradient_monitor_.diagnosis_})")
fig.tight_layout()

# %%
# The same gradients as a profile over the layers, early records light and
# late ones dark: the gradient of the sigmoid net decays towards the input.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
for ax, name in zip(axes, list(networks)[:2]):
    GradientFlowDisplay.from_estimator(fitted[name], ax=ax, kind="profile", max_profiles=5)
    ax.set_title(name)
fig.tight_layout()
plt.show()

# %%
# The per-layer reports
# ---------------------
# Medians over the last quarter of the records: the gradient norm, the same
# relative to the output layer ("relative"), the same ratio for the
# back-propagated error signal ("err rel"), the gain of the error signal
# through each layer (a quarter or less for sigmoid), the update ratio
# ||dW|| / ||W|| of the optimizer's step (about 1e-3 is the CS231n rule of
# thumb), the growth of the gradient norm since the first record, saturated
# sigmoid outputs ("sat.") and dead relu units. A ``*`` marks each value that flags its
# layer; the lines under the table give the thresholds.
for name, clf in fitted.items():
    print(f"\n{name}")
    clf.gradient_monitor_.report(file=sys.stdout)

# %%
# The exploding network diverged at its second step: the estimator restored
# the last finite weights and stopped (a ``DivergenceWarning``), and the monitor
# kept the evidence: a first step a hundred thousand times larger than the
# weights and the non-finite gradients of the batch where training stopped.
# The remedies (``clip_grad_norm``, ``normalization="batch"``, a sensible
# ``init``, ``residual=True``) are compared in the other examples.

# %%
# Dead units: unscaled features
# -----------------------------
# A relu unit whose output is zero for every sample of a batch passes back no
# gradient and stops learning. Unscaled features kill units: the default
# network (3 relu layers of 100 units, Adam) fitted on raw wine, whose proline
# feature has a standard deviation of about 314, against the same fit on
# standardized features. ``kind="dead_units"`` draws each hidden layer's
# fraction of dead units, with the monitor's ``dead_threshold`` dashed: on raw
# wine the last two layers cross it and the diagnosis is ``"dead_units"``.
X_wine, y_wine = load_wine(return_X_y=True)
wine_inputs = {"raw wine": X_wine, "standardized wine": StandardScaler().fit_transform(X_wine)}
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
for ax, (name, inputs) in zip(axes, wine_inputs.items()):
    clf = DeepMLPClassifier(max_iter=12, random_state=0, callbacks=[GradientMonitor(warn=False)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(inputs, y_wine)
    monitor = clf.gradient_monitor_
    print(
        f"{name}: training accuracy {clf.score(inputs, y_wine):.2f}, diagnosis "
        f"{monitor.diagnosis_!r}, dead units per hidden layer (last record) "
        f"{np.round(monitor.dead_units_[-1, :-1], 2)}"
    )
    GradientFlowDisplay.from_estimator(clf, ax=ax, kind="dead_units")
    ax.set_title(f"{name}\n({monitor.diagnosis_})")
fig.tight_layout()
plt.show()
