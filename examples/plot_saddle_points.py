"""
Saddle points on a real network: the plateaus of a deep linear network
======================================================================

Saxe, McClelland & Ganguli (2014) solved the learning dynamics of deep
*linear* networks started from small random weights: the loss sits on a long
plateau, then drops abruptly, once per singular mode of the input-output map,
strongest first. The origin of weight space is a saddle point of the loss,
and the plateau is the time the weights need to leave its neighbourhood.
The 2-D saddle :math:`x^2 - y^2` of
:ref:`sphx_glr_auto_examples_plot_optimizer_trajectories.py` shows the same
thing in two dimensions; here it is measured on the network itself, with a
:class:`~sk_deepnet.callbacks.CurvatureMonitor`.

A network with two hidden layers of 16 linear units (``activation=
"identity"``) learns a linear map of rank 4 (singular values 3, 2, 1.5 and 1)
from 8 inputs to 8 outputs, from weights drawn with standard deviation 0.01.
Every 2 epochs the monitor estimates the largest and smallest eigenvalue of
the loss's Hessian by Lanczos (exact Hessian-vector products) and labels the
record ``"saddle"`` when the gradient is small (below a tenth of the largest
gradient of the fit) and the smallest eigenvalue clearly negative (below
-1% of the largest). Three optimizers run from the same initial weights:
plain SGD, momentum and Adam.
"""

# %%
# Fit the same network with three optimizers
# -------------------------------------------
import sys
import warnings

import matplotlib.pyplot as plt
import numpy as np

from sk_deepnet import DeepMLPRegressor
from sk_deepnet.callbacks import CurvatureMonitor
from sk_deepnet.plotting import CurvatureDisplay

rng = np.random.RandomState(0)
n_samples, n_features = 512, 8
X = rng.standard_normal((n_samples, n_features))
U, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
V, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
teacher = U[:, :4] @ np.diag([3.0, 2.0, 1.5, 1.0]) @ V[:4]
Y = X @ teacher

optimizers = {"sgd": 0.05, "momentum": 0.05, "adam": 0.003}
fits = {}
for name, learning_rate in optimizers.items():
    reg = DeepMLPRegressor(
        depth=2, width=16, activation="identity", init="normal", init_scale=0.01,
        optimizer=name, learning_rate=learning_rate, batch_size=32, alpha=0.0,
        max_iter=60, tol=0.0, n_iter_no_change=10**9, random_state=0,
        callbacks=[CurvatureMonitor(record_every=2, probe_size=128, n_iter=20, random_state=0)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter on purpose
        fits[name] = reg.fit(X, Y)

# %%
# The plateau, and the curvature during it
# ----------------------------------------
# The *plateau* is the number of epochs before the training loss first falls
# below half of its initial value. The table gives, per optimizer, the phase
# and the negative curvature ``|lambda_min| / lambda_max`` of the first record
# (at initialization) and of the last.
print(f"{'optimizer':<10}{'plateau':>8}{'saddle records':>16}{'start':>22}{'end':>22}")
plateaus = {}
for name, reg in fits.items():
    m = reg.curvature_monitor_
    loss = np.asarray(reg.loss_curve_)
    plateaus[name] = int(np.argmax(loss < loss[0] / 2))
    in_plateau = m.phase_[m.epochs_ <= plateaus[name]]
    start = f"{m.phase_[0]} {m.negative_curvature_[0]:.2f}"
    end = f"{m.phase_[-1]} {m.negative_curvature_[-1]:.3f}"
    saddles = f"{np.sum(in_plateau == 'saddle')} of {len(in_plateau)}"
    print(f"{name:<10}{plateaus[name]:>8}{saddles:>16}{start:>22}{end:>22}")

print()
print("plain SGD, every other record:")
print("\n".join(fits["sgd"].curvature_monitor_.report().splitlines()[:2]
                + fits["sgd"].curvature_monitor_.report().splitlines()[2:12:2]))

# The claims of the text below, checked on every run (and by the test suite).
assert plateaus["sgd"] > plateaus["momentum"] and plateaus["sgd"] > plateaus["adam"]
for reg in fits.values():
    assert reg.curvature_monitor_.phase_[0] == "saddle"
    assert reg.curvature_monitor_.negative_curvature_[-1] < 0.01

# %%
# At initialization every run sits at the saddle: the gradient is tiny and
# the smallest Hessian eigenvalue is about a third of the largest, with the
# opposite sign (the Hessian of the product of small weight matrices has
# eigenvalues of both signs, like :math:`x^2 - y^2`). Plain SGD stays there
# for about a dozen epochs, its records labelled "saddle" until the loss
# drops; momentum and Adam leave within a few epochs. Each later drop (a
# singular mode learned) passes near another, weaker saddle. At the end the
# negative curvature is gone: a minimum, ``lambda_min`` about 0 (the flat
# directions of the rescalings between layers).
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
for name, reg in fits.items():
    m = reg.curvature_monitor_
    axes[0].semilogy(np.arange(1, reg.n_iter_ + 1), reg.loss_curve_, label=name)
    (line,) = axes[1].plot(m.epochs_, m.negative_curvature_, marker=".", label=name)
    saddle = m.phase_ == "saddle"
    axes[1].plot(m.epochs_[saddle], m.negative_curvature_[saddle], "o",
                 markerfacecolor="none", markeredgecolor=line.get_color(), markersize=9)
axes[0].set(xlabel="epoch", ylabel="training loss", title="Loss: plateaus and drops")
axes[1].set(xlabel="epoch", ylabel="|lambda_min| / lambda_max",
            title="Negative curvature (circled: saddle)")
axes[0].legend()
axes[1].legend()
CurvatureDisplay.from_estimator(fits["sgd"], ax=axes[2])
axes[2].set_title("Plain SGD: Hessian extremes")
fig.tight_layout()
plt.show()

# %%
# From weights too small: a degenerate saddle, "flat"
# ----------------------------------------------------
# With weights of standard deviation 1e-4 instead of 0.01, gradient descent
# (full batches, and the probe is all the data; mini-batches below) does not
# leave within 100 epochs: with three weight matrices the origin is a
# *third-order* saddle, where the loss falls along a cubic path but the
# Hessian vanishes on the weights (the product of the two other matrices,
# about 1e-8, multiplies every second derivative). The gradient fades once
# the output bias has fitted the mean, the smallest eigenvalue fades with it
# to well under 1% of the largest (the output bias's, 1), and the
# second-order test would read "minimum". The loss has not moved from its
# initial value, though (linear regression reaches 0): the monitor
# labels such records ``"flat"``, a critical point the curvature cannot
# classify, not a minimum.
stuck = DeepMLPRegressor(
    depth=2, width=16, activation="identity", init="normal", init_scale=1e-4,
    optimizer="sgd", learning_rate=0.05, batch_size=n_samples, alpha=0.0,
    max_iter=100, tol=0.0, n_iter_no_change=10**9, random_state=0,
    callbacks=[CurvatureMonitor(record_every=25, probe_size=n_samples, n_iter=20,
                                random_state=0)],
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter on purpose
    stuck.fit(X, Y)
m = stuck.curvature_monitor_
m.report(file=sys.stdout)
print(f"training R^2 {stuck.score(X, Y):.3f}; loss {m.probe_loss_[-1] / m.probe_loss_[0]:.3f} "
      "of the initial")
assert m.phase_[-1] == "flat" and stuck.score(X, Y) < 0.01
assert m.negative_curvature_[-1] < m.negative_tol  # too weak to call a saddle

# %%
# On mini-batches of 32, probed on the default 32 samples, the same network
# stays at the origin too, but its probe's gradient never fades: the output
# bias jitters from batch to batch, and 32 samples have a mean of their own
# that no bias fits. The gradient stays near its largest, and every record
# reads "descent": the curvature test reads the gradient, and only the loss,
# which has not moved, tells this fit from a slow descent (a rule that read
# a loss without progress as a critical point also called slow, steady
# descents saddles):
noisy = DeepMLPRegressor(
    depth=2, width=16, activation="identity", init="normal", init_scale=1e-4,
    optimizer="sgd", learning_rate=0.05, batch_size=32, alpha=0.0,
    max_iter=100, tol=0.0, n_iter_no_change=10**9, random_state=0,
    callbacks=[CurvatureMonitor(record_every=25, random_state=0)],
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter on purpose
    noisy.fit(X, Y)
m = noisy.curvature_monitor_
print(f"mini-batches: phases {' '.join(m.phase_)}; gradient / largest "
      + " ".join(f"{g:.2f}" for g in m.grad_norm_ / m.grad_norm_.max())
      + f"; loss {m.probe_loss_[-1] / m.probe_loss_[0]:.3f} of the initial")
assert set(m.phase_) == {"descent"} and noisy.score(X, Y) < 0.01

# %%
# References
# ----------
# A. M. Saxe, J. L. McClelland and S. Ganguli, "Exact solutions to the
# nonlinear dynamics of learning in deep linear neural networks", ICLR 2014.
#
# Y. Dauphin et al., "Identifying and attacking the saddle point problem in
# high-dimensional non-convex optimization", NeurIPS 2014.
