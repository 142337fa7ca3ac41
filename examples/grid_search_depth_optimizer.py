"""
Grid search over depth and optimizer, with gradient health
==========================================================

A :class:`~sklearn.pipeline.Pipeline` of a :class:`~sklearn.preprocessing.StandardScaler`
and a :class:`~sk_deepnet.DeepMLPClassifier` that carries a
:class:`~sk_deepnet.callbacks.GradientMonitor` is tuned with
:class:`~sklearn.model_selection.GridSearchCV` over the network depth and the
optimizer. Two scores are computed for every candidate:

* ``"accuracy"``, the usual cross-validated accuracy, used to choose the model
  (``refit="accuracy"``);
* ``"vanishing_ratio"``, from :data:`~sk_deepnet.callbacks.vanishing_ratio_scorer`:
  the base-10 logarithm of the first layer's gradient norm over the output
  layer's, as recorded by the gradient monitor during training. It is a
  diagnostic, not an objective: 0 means the first layer gets gradients as large
  as the output layer, -3 a thousand times smaller.

The network uses sigmoid hidden units on purpose, so that depth makes the
gradients vanish and the two columns of the table tell the same story. The best
pipeline is then pickled and reloaded, and gives identical predictions.
"""

# %%
# The pipeline and the grid
# -------------------------
import os
import pickle
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier
from sk_deepnet.callbacks import GradientMonitor, vanishing_ratio_scorer

SMOKE = bool(os.environ.get("SK_DEEPNET_EXAMPLES_SMOKE"))

X, y = load_digits(return_X_y=True)
if SMOKE:
    X, y = X[:400], y[:400]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        (
            "mlp",
            DeepMLPClassifier(
                width=64,
                activation="sigmoid",
                max_iter=3 if SMOKE else 60,
                random_state=0,
                # warn=False: the table below reports the gradient health of
                # every candidate; no need for a warning per fit as well.
                callbacks=[GradientMonitor(warn=False)],
            ),
        ),
    ]
)
param_grid = {
    "mlp__depth": [1, 3] if SMOKE else [2, 5, 10],
    "mlp__optimizer": ["sgd", "adam"] if SMOKE else ["sgd", "momentum", "adam"],
}
search = GridSearchCV(
    pipe,
    param_grid,
    scoring={"accuracy": "accuracy", "vanishing_ratio": vanishing_ratio_scorer},
    refit="accuracy",
    cv=2 if SMOKE else 3,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed epoch budget
    search.fit(X_train, y_train)

# %%
# The cross-validation results
# ----------------------------
results = pd.DataFrame(search.cv_results_)
table = results[
    [
        "param_mlp__depth",
        "param_mlp__optimizer",
        "mean_test_accuracy",
        "std_test_accuracy",
        "mean_test_vanishing_ratio",
        "mean_fit_time",
    ]
].rename(
    columns={
        "param_mlp__depth": "depth",
        "param_mlp__optimizer": "optimizer",
        "mean_test_accuracy": "accuracy",
        "std_test_accuracy": "accuracy std",
        "mean_test_vanishing_ratio": "log10 vanishing ratio",
        "mean_fit_time": "fit time (s)",
    }
)
print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
print(f"\nbest: {search.best_params_}, CV accuracy {search.best_score_:.3f}, "
      f"test accuracy {search.score(X_test, y_test):.3f}")

# %%
# The gradient monitor of the refitted best model
# -----------------------------------------------
# The refitted pipeline's classifier exposes its fitted monitor as
# ``gradient_monitor_``; :meth:`~sk_deepnet.callbacks.GradientMonitor.report`
# prints its per-layer table and diagnosis.
best = search.best_estimator_
print(best[-1].gradient_monitor_.report())

# %%
# Pickle the best pipeline and reload it
# --------------------------------------
blob = pickle.dumps(best)
reloaded = pickle.loads(blob)
same = np.array_equal(best.predict(X_test), reloaded.predict(X_test))
print(f"pickled size {len(blob) / 1024:.0f} KiB; identical predictions after "
      f"reloading: {same}")

# %%
# Accuracy and gradient health, depth by optimizer
# ------------------------------------------------
# Colour: mean cross-validated accuracy. Text: accuracy and, in brackets, the
# log10 vanishing ratio.
depths = param_grid["mlp__depth"]
optimizers = param_grid["mlp__optimizer"]
acc = table.pivot(index="depth", columns="optimizer", values="accuracy")
ratio = table.pivot(index="depth", columns="optimizer", values="log10 vanishing ratio")
acc, ratio = acc.loc[depths, optimizers], ratio.loc[depths, optimizers]
fig, ax = plt.subplots(figsize=(6, 4.5))
image = ax.imshow(acc.to_numpy(), cmap="viridis", vmin=0, vmax=1)
for i in range(len(depths)):
    for j in range(len(optimizers)):
        value = acc.iloc[i, j]
        ax.text(
            j, i, f"{value:.2f}\n({ratio.iloc[i, j]:.1f})", ha="center", va="center",
            color="white" if value < 0.6 else "black",
        )
ax.set_xticks(range(len(optimizers)), optimizers)
ax.set_yticks(range(len(depths)), depths)
ax.set_xlabel("optimizer")
ax.set_ylabel("depth (hidden layers)")
ax.set_title("CV accuracy (log10 vanishing ratio), sigmoid units")
fig.colorbar(image, ax=ax, label="mean CV accuracy")
fig.tight_layout()
plt.show()

# %%
# Reading the table
# -----------------
# With sigmoid units, the first layer's gradient shrinks by orders of magnitude
# relative to the output layer's as the network gets deeper, and the accuracy
# reached in the same number of epochs falls with it. The remedies
# (``activation="relu"`` with ``init="auto"``, ``normalization="batch"``,
# ``residual=True``, RBM pretraining) are compared in the other examples of
# this gallery.
