"""Where one training mini-batch of sk_deepnet spends its time, part by part.

Usage::

    python benchmarks/breakdown.py            # deep-narrow and wide networks
    python benchmarks/breakdown.py --quick    # a smoke run (numbers not meaningful)

For the two networks of ``run_benchmarks.py`` (deep-narrow: digits, 10 hidden
layers of 64, batch 32; wide: 784 features, 3 hidden layers of 512, batch 256;
both Adam, float32), a fitted estimator's network runs the parts of one
training step on one batch, each timed alone (best of several loops):

* gather: copying the batch's rows of X and of the targets by index;
* forward, loss, backward: the network's passes (the backward includes the
  weight and bias gradients);
* L2 penalty: its value and its gradient on the weight block;
* optimizer step: the Adam update of the whole parameter vector, given the
  gradient as its work array (as in ``fit``);
* matrix products alone: the forward and backward GEMMs of the batch on
  preallocated arrays (the per-batch share of the wide row's bound).

The parts run in isolation, so their sum differs a little from the time of a
batch inside ``fit`` (printed last, the best of 3 timed fits).  This is the profile
that doc/performance.rst quotes in "Where the remaining time goes".
"""

import argparse
import math
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_benchmarks as rb  # noqa: E402


def breakdown(name, X, y, depth, width, batch_size, loops, epochs, fits):
    est = rb.deep_mlp(depth, width, batch_size, epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fixed-epoch fits do not converge
        fit_time = rb.best_times({"fit": lambda: est.fit(X, y)}, loops=1, repeats=fits)["fit"]
    n_batches = math.ceil(X.shape[0] / batch_size)
    network, optimizer = est._network, est.optimizer_
    rng = np.random.default_rng(0)

    codes = np.searchsorted(est.classes_, y)  # the targets fit trains on
    idx = rng.permutation(X.shape[0])[:batch_size]
    X_batch = np.empty((batch_size, X.shape[1]), network.dtype)
    codes_batch = np.empty(batch_size, codes.dtype)

    def gather():
        X.take(idx, axis=0, out=X_batch, mode="clip")
        codes.take(idx, axis=0, out=codes_batch, mode="clip")

    gather()
    ws = network._training_workspace(batch_size)
    weight_sum = float(batch_size)
    alpha_scale = est.alpha / weight_sum

    def forward():
        return network.forward(X_batch, ws, train=True, rng=rng)

    logits = forward()

    def loss():
        network._loss.loss_and_delta(logits, codes_batch, None, weight_sum, ws["delta_out"])

    loss()

    def backward():
        network.backward(ws["delta_out"], ws)

    def l2_penalty():
        network._add_l2_penalty(alpha_scale, ws["l2_step"])

    gradient, params = network.grads.copy(), network.params.copy()
    work = np.empty_like(gradient)

    def copies():
        # The step overwrites its work array and moves the parameters: a fresh
        # gradient and the fitted parameters each time (timed alone, subtracted)
        # keep every part on realistic values.
        np.copyto(work, gradient)
        np.copyto(network.params, params)

    def optimizer_step():
        copies()
        optimizer.step(network.params, work, overwrite_grad=True)

    bound = rb.gemm_bound_epoch(network.layer_sizes, batch_size, batch_size)

    times = rb.best_times(
        {
            "gather": gather,
            "forward": forward,
            "loss": loss,
            "backward": backward,
            "L2 penalty": l2_penalty,
            "optimizer step": optimizer_step,
            "copy": copies,
            "products": bound,
        },
        loops,
        repeats=7,
    )
    times["optimizer step"] -= times.pop("copy")
    products = times.pop("products")
    parts = times
    total = sum(parts.values())
    print(
        f"{name}: layers {network.layer_sizes}, batch {batch_size}, "
        f"{network.n_params} parameters, {type(optimizer).__name__}"
    )
    for part, seconds in parts.items():
        print(f"  {part:<22} {seconds * 1e6:9.1f} us  {seconds / total:6.1%}")
    print(f"  {'sum of the parts':<22} {total * 1e6:9.1f} us")
    print(f"  {'matrix products alone':<22} {products * 1e6:9.1f} us  (the GEMMs of forward + backward)")
    print(
        f"  {'one batch inside fit':<22} {fit_time / (epochs * n_batches) * 1e6:9.1f} us  "
        f"(best of {fits} fits of {epochs} epochs of {n_batches} batches, setup included)"
    )
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny problems, few loops: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        narrow, wide = dict(loops=2, epochs=1, fits=1), dict(loops=1, epochs=1, fits=1)
    else:  # the epochs of run_benchmarks.py's rows
        narrow, wide = dict(loops=2000, epochs=10, fits=3), dict(loops=20, epochs=2, fits=3)

    X, y = rb.digits()
    breakdown("deep-narrow", X, y, 10, 64, 32, **narrow)
    X, y = rb.wide_data(512 if args.quick else 10000)
    breakdown("wide", X, y, 3, 512, 256, **wide)


if __name__ == "__main__":
    main()
