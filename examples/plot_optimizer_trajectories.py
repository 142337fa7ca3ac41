"""
Optimizer trajectories on 2-D surfaces
======================================

Every optimizer of :mod:`sk_deepnet.optimizers` is started from the same point
on four classic two-dimensional test functions and run for a fixed number of
steps with :meth:`~sk_deepnet.optimizers.Optimizer.minimize`:

* a **saddle** :math:`f(x, y) = x^2 - y^2`, started at :math:`(1, 10^{-3})`,
  just off the ridge :math:`y = 0`. The gradient along :math:`y` is only
  :math:`-2y = -2 \\cdot 10^{-3}`, so plain gradient descent needs many steps
  before the instability along :math:`y` grows large enough to escape, while
  methods that rescale each coordinate by its own gradient history take a step
  of about the learning rate along :math:`y` from the start;
* a **ravine** :math:`f(x, y) = 0.1 x^2 + 2 y^2`: curvature 20 times larger
  across the valley than along it, where gradient descent zig-zags across the
  valley and crawls along its floor, and momentum accumulates speed along it;
* the **Beale** function, minimum :math:`f(3, 0.5) = 0`, with flat plateaus
  and steep walls;
* the **Rosenbrock** function :math:`(1 - x)^2 + 100 (y - x^2)^2`, minimum
  :math:`f(1, 1) = 0` at the end of a long, curved, flat-bottomed valley.

Learning rates are set per surface, one for the gradient-descent family
(SGD, momentum, Nesterov: the step is proportional to the gradient) and one
for the adaptive family (Adagrad, RMSprop and the Adam family: the step is
about the learning rate whatever the gradient's scale). Adadelta has no
learning rate in the usual sense and keeps its default scale 1.0.

The printed table gives, for each surface and optimizer, the final loss and
the distance to the minimum (for the saddle, which has no minimum: the step at
which :math:`|y|` first exceeds 1 and the final :math:`y`).
"""

# %%
# Setup: the surfaces and their gradients
# ---------------------------------------
import os

import matplotlib.pyplot as plt
import numpy as np

from sk_deepnet.optimizers import OPTIMIZERS, get_optimizer

SMOKE = bool(os.environ.get("SK_DEEPNET_EXAMPLES_SMOKE"))


def saddle(x, y):
    return x**2 - y**2


def saddle_grad(p):
    return np.array([2 * p[0], -2 * p[1]])


def ravine(x, y):
    return 0.1 * x**2 + 2 * y**2


def ravine_grad(p):
    return np.array([0.2 * p[0], 4 * p[1]])


def beale(x, y):
    return (
        (1.5 - x + x * y) ** 2
        + (2.25 - x + x * y**2) ** 2
        + (2.625 - x + x * y**3) ** 2
    )


def beale_grad(p):
    x, y = p
    a, b, c = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
    return np.array(
        [
            2 * a * (y - 1) + 2 * b * (y**2 - 1) + 2 * c * (y**3 - 1),
            2 * a * x + 4 * b * x * y + 6 * c * x * y**2,
        ]
    )


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_grad(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


# name: (f, gradient, start, minimum, steps, lr of the SGD family,
#        lr of the adaptive family, plot window)
SURFACES = {
    "saddle x^2 - y^2": (
        saddle, saddle_grad, (1.0, 1e-3), None, 400, 0.01, 0.01,
        (-0.5, 1.5, -1.5, 1.5),
    ),
    "ravine 0.1x^2 + 2y^2": (
        ravine, ravine_grad, (-4.0, 1.0), (0.0, 0.0), 100, 0.1, 0.1,
        (-4.5, 1.0, -1.5, 1.5),
    ),
    "Beale": (
        beale, beale_grad, (1.0, 1.5), (3.0, 0.5), 500, 3e-3, 0.1,
        (-0.5, 4.0, -1.0, 2.0),
    ),
    "Rosenbrock": (
        rosenbrock, rosenbrock_grad, (-1.5, 2.0), (1.0, 1.0), 2000, 1e-3, 0.03,
        (-2.0, 2.0, -1.0, 3.0),
    ),
}
GD_FAMILY = ("sgd", "momentum", "nesterov")
if SMOKE:  # a quick run for the test suite: a tenth of the steps
    SURFACES = {
        k: v[:4] + (max(v[4] // 10, 5),) + v[5:] for k, v in SURFACES.items()
    }


def learning_rate(name, lr_gd, lr_adaptive):
    if name in GD_FAMILY:
        return lr_gd
    if name == "adadelta":
        return 1.0  # Adadelta's own scale (its PyTorch default)
    return lr_adaptive


# %%
# Run every optimizer on every surface
# ------------------------------------
trajectories = {}
for surface, (f, grad, start, minimum, n_steps, lr_gd, lr_ad, _) in SURFACES.items():
    print(f"\n{surface}: start {start}, {n_steps} steps, "
          f"lr {lr_gd:g} (SGD family) / {lr_ad:g} (adaptive)")
    if minimum is None:
        print(f"  {'optimizer':<10}{'final loss':>14}{'final y':>12}{'escape step':>13}")
    else:
        print(f"  {'optimizer':<10}{'final loss':>14}{'distance':>12}")
    for name in OPTIMIZERS:
        optimizer = get_optimizer(name, learning_rate=learning_rate(name, lr_gd, lr_ad))
        with np.errstate(all="ignore"):  # a diverging run is reported, not raised
            path = optimizer.minimize(grad, start, n_steps)
        trajectories[surface, name] = path
        x, y = path[-1]
        loss = f(x, y)
        if minimum is None:
            escaped = np.flatnonzero(np.abs(path[:, 1]) > 1)
            escape = str(escaped[0]) if escaped.size else "never"
            print(f"  {name:<10}{loss:>14.4g}{y:>12.4g}{escape:>13}")
        else:
            distance = np.hypot(x - minimum[0], y - minimum[1])
            print(f"  {name:<10}{loss:>14.4g}{distance:>12.3g}")

# %%
# Plot the trajectories
# ---------------------
# Contours are drawn on a log scale for Beale and Rosenbrock. A path that
# leaves the window (the saddle is unbounded below) is simply cut off.
fig, axes = plt.subplots(2, 2, figsize=(12, 10))
colors = plt.get_cmap("tab10").colors
for ax, (surface, (f, _, start, minimum, n_steps, *_, window)) in zip(
    axes.ravel(), SURFACES.items()
):
    xmin, xmax, ymin, ymax = window
    X, Y = np.meshgrid(np.linspace(xmin, xmax, 300), np.linspace(ymin, ymax, 300))
    Z = f(X, Y)
    if surface in ("Beale", "Rosenbrock"):
        ax.contour(X, Y, np.log10(Z + 1e-3), levels=25, cmap="Greys", linewidths=0.6)
    else:
        ax.contour(X, Y, Z, levels=25, cmap="Greys", linewidths=0.6)
    for color, name in zip(colors, OPTIMIZERS):
        path = trajectories[surface, name]
        style = "-" if name in GD_FAMILY else "--"
        ax.plot(path[:, 0], path[:, 1], style, color=color, lw=1.4, label=name)
    ax.plot(*start, "ko", ms=6)
    if minimum is not None:
        ax.plot(*minimum, "r*", ms=14)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_title(f"{surface} ({n_steps} steps)")
handles, labels = axes[0, 0].get_legend_handles_labels()
fig.legend(handles, labels, loc="lower center", ncol=5)
fig.tight_layout(rect=(0, 0.06, 1, 1))
plt.show()

# %%
# Reading the table
# -----------------
# * On the saddle, all but one leave the ridge, at very different speeds:
#   gradient descent's distance to the ridge grows only by a factor
#   :math:`1 + 2\eta` per step, momentum multiplies that growth, and RMSprop
#   and the Adam family normalize the tiny :math:`y` gradient to a step of
#   about :math:`\eta`: RMSprop escapes first (step 17 in the table above),
#   then Adadelta, whose step grows with its running average of past updates
#   (step 31); the Adam family follows (steps 68-77). Adagrad's accumulated
#   squared gradients keep shrinking its steps: it has not escaped after 400
#   steps.
# * In the ravine, gradient descent is limited by the steep direction and
#   crawls along the shallow one; momentum, Nesterov, RMSprop and the Adam
#   family get close to the minimum.
# * On Beale and Rosenbrock, momentum, Nesterov and Adam reach the minimum;
#   plain SGD is still on its way. RMSprop, at a constant learning rate,
#   ends up oscillating around the minimum at a distance set by the step size.
# * AdamW's default decoupled weight decay (0.01) pulls the iterate towards the
#   origin: on these toy functions it stops short of the minimum.
# * With these learning rates Adagrad (ever-shrinking steps) and Adadelta
#   (whose first steps are of size about :math:`\sqrt{\epsilon}`) crawl on
#   the three surfaces that have a minimum.
