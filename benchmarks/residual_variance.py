"""How much the residual stream's variance grows at initialization, by depth.

Usage::

    python benchmarks/residual_variance.py

For residual networks of width 64 on standardized digits (relu with He
initialization, tanh with Glorot, blocks of 2 layers), prints the variance of
the last block's output over that of the first hidden layer (the stem), the
same ratio for the root mean square, and the standard deviation of the logits,
each the mean over 3 seeds, for the branch scale sk_deepnet uses (``1 /
n_blocks``) and the one it used before 0.2 (``1 / sqrt(n_blocks)``). The
remedies guide (doc/user_guide/remedies.rst) quotes this table.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from sk_deepnet._network import Network


def stream_growth(activation, init, depth, scaling, seed, X):
    """(variance ratio, rms ratio, logit std) of one freshly initialized network."""
    network = Network([X.shape[1]] + [64] * depth + [10], activation,
                      "softmax_cross_entropy", residual=True)
    network.residual_scaling = scaling
    network._bind()
    network.initialize(np.random.default_rng(seed), init)
    ws = network._new_workspace(len(X), train=False)
    logits = network.forward(X, ws)
    first, last = ws["a"][0], ws["inputs"][-1]  # the stem, the last block's output
    rms = np.sqrt(np.mean(last**2) / np.mean(first**2))
    return last.var() / first.var(), rms, logits.std()


def main():
    X = StandardScaler().fit_transform(load_digits().data).astype(np.float32)
    print(f"{'activation':10} {'depth':>5} {'blocks':>6} {'scale':>14} "
          f"{'var ratio':>10} {'rms ratio':>10} {'logit std':>10}")
    for activation, init in [("relu", "he_uniform"), ("tanh", "glorot_uniform")]:
        for depth in (10, 50, 200):
            for scaling, label in [("linear", "1/n_blocks"), ("sqrt", "1/sqrt(n_blocks)")]:
                runs = np.array([stream_growth(activation, init, depth, scaling, seed, X)
                                 for seed in range(3)])
                var, rms, std = runs.mean(axis=0)
                n_blocks = len(range(1, depth, 2))  # blocks of 2 after the stem
                print(f"{activation:10} {depth:5d} {n_blocks:6d} {label:>14} "
                      f"{var:10.3g} {rms:10.3g} {std:10.3g}")


if __name__ == "__main__":
    main()
