"""
Adaptive optimizers on sparse features
======================================

Adagrad was designed for sparse, high-dimensional inputs in which the most
informative features are rare (Duchi, Hazan & Singer, 2011): a feature that is
present in few samples receives few gradient updates, so with one global
learning rate its weights barely move. Adagrad, RMSprop and Adam divide each
parameter's step by the root of its own (accumulated or averaged) squared
gradients, which gives rarely-updated parameters a comparatively large step.

This example builds a synthetic bag-of-words problem as a
:class:`scipy.sparse.csr_matrix` (real text corpora such as 20 newsgroups need
a download):

* a vocabulary of 5,000 *common* words drawn with Zipf frequencies, 40 per
  document, that carry no information about the label;
* 400 *rare* words, 200 per class, of which each document holds one or two
  of its own class, so each rare word occurs in about 15 of the 4,000
  documents;
* log counts, each row scaled to unit L2 norm (TF-IDF-like).

The same network (two hidden layers of 64 ReLU units) is trained with plain
SGD (at its default and two larger learning rates), momentum, and the adaptive
methods at their defaults. A small callback records the initial first-layer
weights so that we can measure how far the weights of the rare and the
frequent words moved during training.
"""

# %%
# A sparse bag-of-words data set
# ------------------------------
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import normalize

from sk_deepnet import DeepMLPClassifier
from sk_deepnet.callbacks import Callback

SMOKE = bool(os.environ.get("SK_DEEPNET_EXAMPLES_SMOKE"))

rng = np.random.default_rng(0)
n_docs = 600 if SMOKE else 4000
n_common, n_rare, words_per_doc = 5000, 400, 40

zipf = 1.0 / np.arange(1, n_common + 1)
zipf /= zipf.sum()
y = rng.integers(0, 2, n_docs)
rows, cols = [], []
for i in range(n_docs):
    common = rng.choice(n_common, words_per_doc, p=zipf)
    rare = n_common + y[i] * (n_rare // 2) + rng.integers(0, n_rare // 2, rng.integers(1, 3))
    words = np.concatenate([common, rare])
    rows.append(np.full(len(words), i))
    cols.append(words)
rows, cols = np.concatenate(rows), np.concatenate(cols)
X = sp.csr_matrix(
    (np.ones(len(rows)), (rows, cols)), shape=(n_docs, n_common + n_rare)
)
X.sum_duplicates()
X.data = np.log1p(X.data)
X = normalize(X)  # unit L2 norm per document

doc_freq = np.asarray((X > 0).sum(axis=0)).ravel()
frequent = np.argsort(doc_freq[:n_common])[::-1][:100]  # the 100 most frequent words
rare = np.arange(n_common, n_common + n_rare)
print(f"X: {X.shape[0]} x {X.shape[1]} CSR, {X.nnz / X.shape[0]:.1f} non-zeros per row, "
      f"density {X.nnz / np.prod(X.shape):.4f}")
print(f"documents per word: 100 most frequent words {doc_freq[frequent].mean():.0f}, "
      f"rare words {doc_freq[rare].mean():.1f}")

X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)


# %%
# A callback that remembers the initial weights
# ---------------------------------------------
# :class:`~sk_deepnet.callbacks.Callback` hooks are called by ``fit``; the
# fitted copies of the callbacks are kept in ``callbacks_``.
class InitialWeights(Callback):
    def on_fit_begin(self, estimator, X=None, y=None):
        self.coef_ = estimator.coefs_[0].copy()


# %%
# Train with each optimizer
# -------------------------
runs = {
    "sgd, lr=0.01": dict(optimizer="sgd"),
    "sgd, lr=0.1": dict(optimizer="sgd", learning_rate=0.1),
    "sgd, lr=1.0": dict(optimizer="sgd", learning_rate=1.0),
    "momentum, lr=0.01": dict(optimizer="momentum"),
    "adagrad, lr=0.01": dict(optimizer="adagrad"),
    "rmsprop, lr=0.01": dict(optimizer="rmsprop"),
    "adam, lr=0.001": dict(optimizer="adam"),
}
n_epochs = 3 if SMOKE else 20
results = {}
print(f"\n{'optimizer':<20}{'train acc':>10}{'test acc':>10}"
      f"{'moved (rare)':>14}{'moved (frequent)':>18}")
for label, params in runs.items():
    clf = DeepMLPClassifier(
        depth=2, width=64, batch_size=64, max_iter=n_epochs, tol=0.0,
        n_iter_no_change=n_epochs, random_state=0, callbacks=[InitialWeights()],
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    moved = np.linalg.norm(clf.coefs_[0] - clf.callbacks_[0].coef_, axis=1)
    results[label] = (
        clf.score(X_test, y_test), moved[rare].mean(), moved[frequent].mean()
    )
    print(f"{label:<20}{clf.score(X_train, y_train):>10.3f}{results[label][0]:>10.3f}"
          f"{results[label][1]:>14.4f}{results[label][2]:>18.4f}")

# %%
# Plot accuracy and how far the first-layer weights moved
# -------------------------------------------------------
# "Moved" is the mean L2 distance between a word's first-layer weight row after
# training and at initialization.
labels = list(results)
acc, moved_rare, moved_frequent = map(np.array, zip(*results.values()))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
colors = ["tab:gray"] * 4 + ["tab:blue"] * 3
ax1.barh(labels, acc, color=colors)
ax1.axvline(0.5, color="k", ls=":", lw=1)
ax1.set_xlim(0.4, 1.0)
ax1.set_xlabel("test accuracy")
ax1.invert_yaxis()
ax1.set_title("test accuracy (chance = 0.5)")
pos = np.arange(len(labels))
ax2.barh(pos - 0.2, moved_rare, height=0.4, label="rare, informative words")
ax2.barh(pos + 0.2, moved_frequent, height=0.4, label="100 most frequent words")
ax2.set_yticks(pos, labels)
ax2.set_xscale("log")
ax2.invert_yaxis()
ax2.set_xlabel("mean distance moved by a word's first-layer weights")
ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
ax2.set_title("how far training moved the weights")
fig.tight_layout()
plt.show()

# %%
# Conclusion
# ----------
# With one global step size, SGD (with or without momentum) moves the weights
# of the frequent, uninformative words more than those of the rare,
# informative ones, and after 20 epochs it is barely above chance even with a
# learning rate a hundred times its default. Adagrad and Adam, at their default
# learning rates and with no tuning, move the rare words' weights several
# times more than the frequent words' and classify the test documents well;
# RMSprop moves every weight a lot, the rare ones most. For sparse inputs,
# start with an adaptive method.
