"""The timings behind the design choices of doc/performance.rst.

Usage::

    python benchmarks/design_choices.py            # about 17 s on 2 cores
    python benchmarks/design_choices.py --quick    # a smoke run (numbers not meaningful)
    python benchmarks/design_choices.py --only data_parallel_step   # one comparison

Each comparison times two or more ways of doing one operation of a training
step, on arrays of the shapes the benchmark networks use (a 32 x 64 batch of
the deep-narrow network, a 256 x 512 batch of the wide one, its 932 362
parameters), and prints them side by side: each timing is the best of 5
repeats (15 for the wide forward pass) of the mean time of a loop of calls.
The "What makes it fast" and "What was tried and not kept" sections of the
performance page quote these numbers.
"""

import argparse
import concurrent.futures
import math
import os
import sys
import threading

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_benchmarks as rb  # noqa: E402

RNG = np.random.default_rng(0)
N_PARAMS = 932_362  # the wide network: 784 -> 512 -> 512 -> 512 -> 10


def compare(title, functions, loops, repeats=5, before=None, interleave=True):
    """Time each of ``functions`` and print the times under ``title``.

    Each time is the best over ``repeats`` of the mean of ``loops`` calls
    (``before``, if given, runs untimed before every call). With ``interleave``
    the functions take turns, repeat after repeat, so that a slow spell of a
    shared machine hits them all rather than one; without it each function is
    timed in full before the next, in order.
    """
    if interleave:
        best = rb.best_times(functions, loops, repeats, before)
    else:
        best = {
            name: rb.best_times({name: fn}, loops, repeats, before)[name]
            for name, fn in functions.items()
        }
    print(title)
    for name, seconds in best.items():
        print(f"  {name:<44} {seconds * 1e6:10.1f} us")
    print()


def normal(*shape):
    return RNG.standard_normal(shape, dtype=np.float32)


def dot_vs_matmul(loops):
    a, w, out = normal(32, 64), normal(64, 64), np.empty((32, 64), np.float32)
    compare("a 32x64 by 64x64 product into a preallocated buffer", {
        "np.matmul(a, w, out=out)": lambda: np.matmul(a, w, out=out),
        "np.dot(a, w, out=out)": lambda: np.dot(a, w, out=out),
    }, loops)


def relu_forms(loops):
    for n, width, k in ((32, 64, loops), (256, 512, max(1, loops // 50))):
        z, out = normal(n, width), np.empty((n, width), np.float32)
        zeros, zeros_row = np.zeros_like(z), np.zeros((1, width), np.float32)

        def fill_then_max():
            out.fill(0)
            np.maximum(z, out, out=out)

        compare(f"relu of a {n}x{width} batch", {
            "np.maximum(z, 0, out=out)": lambda: np.maximum(z, 0, out=out),
            "out.fill(0); np.maximum(z, out, out=out)": fill_then_max,
            "np.maximum(z, zeros, out=out)": lambda: np.maximum(z, zeros, out=out),
            "np.maximum(z, zeros_row, out=out)": (  # a 1 x width row
                lambda: np.maximum(z, zeros_row, out=out)
            ),
        }, k)


def bias_gradient_forms(loops):
    for n, width, k in ((32, 64, loops), (256, 512, max(1, loops // 50))):
        delta, ones = normal(n, width), np.ones(n, np.float32)
        out = np.empty(width, np.float32)
        compare(f"bias gradient (column sums) of a {n}x{width} delta", {
            "np.add.reduce(delta, axis=0, out=out)": lambda: np.add.reduce(delta, axis=0, out=out),
            "np.dot(ones, delta, out=out)": lambda: np.dot(ones, delta, out=out),
        }, k)


def batch_gather(loops):
    X = RNG.random((10000, 784), dtype=np.float32)
    idx = RNG.permutation(10000)[:256]
    out = np.empty((256, 784), np.float32)
    k = max(1, loops // 50)
    compare("gathering 256 random rows of a 10000x784 X", {
        "np.take(X, idx, axis=0, out=out)": lambda: np.take(X, idx, axis=0, out=out),
        'np.take(..., out=out, mode="clip")': lambda: np.take(X, idx, axis=0, out=out, mode="clip"),
        'X.take(idx, ..., mode="clip"), the method': (
            lambda: X.take(idx, axis=0, out=out, mode="clip")
        ),
    }, k)


def relu_in_place(loops):
    """The wide network's forward pass, with relu into a second buffer or in place."""
    sizes = [784, 512, 512, 512, 10]
    weights = [normal(a, b) / np.float32(math.sqrt(a)) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(b, np.float32) for b in sizes[1:]]
    x = RNG.random((256, 784), dtype=np.float32)
    z = [np.empty((256, b), np.float32) for b in sizes[1:]]
    a = [np.empty((256, b), np.float32) for b in sizes[1:]]
    zeros = np.zeros((256, 512), np.float32)

    def forward(in_place):
        h = x
        for i, (w, b) in enumerate(zip(weights, biases)):
            np.dot(h, w, out=z[i])
            z[i] += b
            if i < len(weights) - 1:
                h = z[i] if in_place else a[i]
                np.maximum(z[i], zeros, out=h)

    products_only = lambda: [np.dot(h, w, out=o) for h, w, o in zip([x, *z], weights, z)]  # noqa: E731
    k = max(1, loops // 200)
    compare("forward pass of the wide network (batch 256)", {
        "products alone": products_only,
        "relu into a second buffer": lambda: forward(False),
        "relu in place": lambda: forward(True),
    }, k, repeats=15)


def bias_in_the_products(loops):
    """The deep-narrow network's passes with separate biases, or with the biases
    as a last row of each weight matrix and a column of ones after each input."""
    n, sizes = 32, [64] * 11 + [10]
    n_layers = len(sizes) - 1
    weights = [normal(a, b) * np.float32(0.1) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(b, np.float32) for b in sizes[1:]]
    weight_grads = [np.empty_like(w) for w in weights]
    bias_grads = [np.empty_like(b) for b in biases]
    x = RNG.random((n, 64), dtype=np.float32)
    z = [np.empty((n, b), np.float32) for b in sizes[1:]]
    deltas = [normal(n, b) for b in sizes[1:]]
    zeros, ones = np.zeros((n, 64), np.float32), np.ones(n, np.float32)

    def separate():
        h = x
        for i in range(n_layers):
            np.dot(h, weights[i], out=z[i])
            z[i] += biases[i]
            if i < n_layers - 1:
                h = np.maximum(z[i], zeros, out=z[i])
        for i in range(n_layers - 1, -1, -1):
            np.dot((x if i == 0 else z[i - 1]).T, deltas[i], out=weight_grads[i])
            np.dot(ones, deltas[i], out=bias_grads[i])
            if i > 0:
                np.dot(deltas[i], weights[i].T, out=deltas[i - 1])
                deltas[i - 1] *= z[i - 1] > 0

    folded_weights = [np.vstack([w, b[None]]) for w, b in zip(weights, biases)]
    folded_grads = [np.empty_like(w) for w in folded_weights]
    x1 = np.hstack([x, np.ones((n, 1), np.float32)])
    a1 = [np.ones((n, b + 1), np.float32) for b in sizes[1:-1]]  # last column: ones

    def folded():
        h = x1
        for i in range(n_layers):
            np.dot(h, folded_weights[i], out=z[i])
            if i < n_layers - 1:
                np.maximum(z[i], zeros, out=a1[i][:, :-1])
                h = a1[i]
        for i in range(n_layers - 1, -1, -1):
            np.dot((x1 if i == 0 else a1[i - 1]).T, deltas[i], out=folded_grads[i])
            if i > 0:
                np.dot(deltas[i], folded_weights[i][:-1].T, out=deltas[i - 1])
                deltas[i - 1] *= a1[i - 1][:, :-1] > 0

    k = max(1, loops // 5)
    compare("forward + backward of the deep-narrow network (batch 32)", {
        "biases added, bias gradients as ones @ delta": separate,
        "biases folded into the products": folded,
    }, k)


def plain_path(loops):
    """The deep-narrow network's forward and backward passes (a Network of 10
    relu layers of 64 units, batch 32) on the plain path and the general one."""
    from sk_deepnet._network import Network

    X = RNG.random((32, 64), dtype=np.float32)
    net = Network([64] * 11 + [10], "relu", "softmax_cross_entropy")
    net.initialize(np.random.default_rng(0), "he_uniform")
    ws = net._training_workspace(32)
    delta = normal(32, 10) * np.float32(0.01)

    def passes(plain):
        def run():
            net._plain = plain
            net.forward(X, ws, train=True)
            net.backward(delta, ws)
        return run

    compare("forward + backward of the deep-narrow Network (batch 32)", {
        "general path: forward, backward": passes(False),
        "plain path: _forward_plain, _backward_plain": passes(True),
    }, max(1, loops // 5))


def adam_step(p, g, s, v):
    """Adam's 10 passes (decayed sums), the gradient as work array."""
    s *= 0.9
    s += g
    v *= 0.999
    np.multiply(g, g, out=g)
    v += g
    np.sqrt(v, out=g)
    g += 1e-8
    np.divide(s, g, out=g)
    g *= 1e-7
    p -= g


def adam_passes(loops):
    """One pass of each kind in Adam's step, over the deep-narrow network's
    parameters: the square root costs several times a multiplication."""
    n = 42_250
    s, v, g = (RNG.random(n, dtype=np.float32) + np.float32(0.1) for _ in range(3))
    compare(f"passes of the Adam step over {n} float32 parameters", {
        "np.multiply(v, 0.999, out=v)": lambda: np.multiply(v, 0.999, out=v),
        "np.add(s, g, out=s)": lambda: np.add(s, g, out=s),
        "np.divide(s, v, out=g)": lambda: np.divide(s, v, out=g),
        "np.sqrt(v, out=g)": lambda: np.sqrt(v, out=g),
    }, loops)


def optimizer_step_forms(loops):
    p, g, s, v = (RNG.random(N_PARAMS, dtype=np.float32) for _ in range(4))
    g0 = g.copy()

    def fresh_gradient():
        # The step leaves its work in g: without a fresh gradient each call,
        # g**2 would sink into denormal numbers, which are slower.
        np.copyto(g, g0)

    x = RNG.random((256, 784), dtype=np.float32)
    w = normal(784, 512) * np.float32(0.05)
    out = np.empty((256, 512), np.float32)
    halves = [slice(0, N_PARAMS // 2), slice(N_PARAMS // 2, None)]
    pool = concurrent.futures.ThreadPoolExecutor(2)

    def whole():
        adam_step(p, g, s, v)

    def two_threads():
        list(pool.map(lambda h: adam_step(p[h], g[h], s[h], v[h]), halves))

    def blocks(size):
        def step():
            for start in range(0, N_PARAMS, size):
                block = slice(start, start + size)
                adam_step(p[block], g[block], s[block], v[block])
        return step

    def products():
        for _ in range(7):
            np.dot(x, w, out=out)

    k = max(1, loops // 500)
    compare(f"Adam step over {N_PARAMS} float32 parameters (10 passes)", {
        "one thread, whole vector": whole,
        "two threads, one half each": two_threads,
        "7 products of 256x784 by 784x512": products,
        "7 products, then the step on one thread": lambda: (products(), whole()),
        "7 products, then the step on two threads": lambda: (products(), two_threads()),
    }, k, before=fresh_gradient)
    pool.shutdown()
    # Timed after a pass over 32 MB evicts the caches, as the matrix products
    # of a batch do before the step.
    big = RNG.random(8_000_000, dtype=np.float32)
    compare("the same step with cold caches, whole or in blocks", {
        "whole vector": whole,
        **{f"blocks of {size}": blocks(size) for size in (16384, 65536, 131072)},
    }, k, before=lambda: (fresh_gradient(), big.sum()))


def numexpr_step(loops):
    """Adam's step as three fused numexpr expressions (if numexpr is installed,
    e.g. by the benchmark extra) against NumPy's 10 passes."""
    try:
        import numexpr
    except ImportError:
        print("Adam step with numexpr: SKIP (numexpr is not installed)\n")
        return
    p, g, s, v = (RNG.random(N_PARAMS, dtype=np.float32) for _ in range(4))
    g0 = g.copy()
    b1, b2, eps, lr = (np.float32(c) for c in (0.9, 0.999, 1e-8, 1e-7))

    names = dict(p=p, g=g, s=s, v=v, b1=b1, b2=b2, eps=eps, lr=lr)

    def fused():
        numexpr.evaluate("b1 * s + g", local_dict=names, out=s)
        numexpr.evaluate("b2 * v + g * g", local_dict=names, out=v)
        numexpr.evaluate("p - lr * s / (sqrt(v) + eps)", local_dict=names, out=p)

    threads = numexpr.set_num_threads(1)
    try:
        compare(f"Adam step over {N_PARAMS} float32 parameters, NumPy or numexpr", {
            "NumPy, 10 passes": lambda: adam_step(p, g, s, v),
            "numexpr, 3 expressions, 1 thread": fused,
        }, max(1, loops // 500), before=lambda: np.copyto(g, g0))
    finally:
        numexpr.set_num_threads(threads)


class _WideStep:
    """One training step of the wide network (relu, softmax, L2, Adam) on the
    rows it is given, written out in NumPy; both ways of running it below use
    this same code."""

    sizes = (784, 512, 512, 512, 10)

    def __init__(self, params, rows):
        shapes = list(zip(self.sizes[:-1], self.sizes[1:]))
        self.n_weights = sum(a * b for a, b in shapes)
        self.grad = np.zeros_like(params)
        self.weights, self.weight_grads, self.biases, self.bias_grads = [], [], [], []
        start = 0
        for a, b in shapes:
            self.weights.append(params[start : start + a * b].reshape(a, b))
            self.weight_grads.append(self.grad[start : start + a * b].reshape(a, b))
            start += a * b
        for _, b in shapes:
            self.biases.append(params[start : start + b])
            self.bias_grads.append(self.grad[start : start + b])
            start += b
        self.acts = [np.empty((rows, w), np.float32) for w in self.sizes]
        self.deltas = [np.empty((rows, w), np.float32) for w in self.sizes]
        self.zeros, self.ones = np.zeros((rows, 512), np.float32), np.ones(rows, np.float32)

    def forward_backward(self, X, codes, scale):
        """The gradient of the batch (X, codes), its loss scaled by ``scale``."""
        np.copyto(self.acts[0], X)
        h, last = self.acts[0], len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = self.acts[i + 1]
            np.dot(h, w, out=z)
            z += b
            if i < last:
                np.maximum(z, self.zeros, out=z)
            h = z
        delta = self.deltas[-1]
        np.subtract(h, h.max(axis=1, keepdims=True), out=delta)
        np.exp(delta, out=delta)
        delta /= delta.sum(axis=1, keepdims=True)
        true = np.arange(0, delta.size, delta.shape[1]) + codes
        delta.put(true, delta.take(true) - 1)
        delta *= scale
        for i in range(last, -1, -1):
            np.dot(self.acts[i].T, delta, out=self.weight_grads[i])
            np.dot(self.ones, delta, out=self.bias_grads[i])
            if i:
                np.dot(delta, self.weights[i].T, out=self.deltas[i])
                self.deltas[i] *= self.acts[i] > 0
                delta = self.deltas[i]


def data_parallel_step(loops):
    """A training step of the wide network on one thread (BLAS on two, as fit
    runs), or data-parallel on two threads: each thread takes half the batch
    on a single-threaded BLAS, then half of the summed gradient, the L2
    penalty and the Adam step."""
    from threadpoolctl import ThreadpoolController

    blas = ThreadpoolController().select(user_api="blas")

    whole = _WideStep(RNG.random(N_PARAMS, dtype=np.float32) * np.float32(0.05), 256)
    params = whole.weights[0].base
    s, v, scratch = (np.zeros(N_PARAMS, np.float32) for _ in range(3))
    X, codes = normal(256, 784), RNG.integers(0, 10, 256)
    halves = [_WideStep(params, 128), _WideStep(params, 128)]
    n_weights = whole.n_weights
    barrier, pool = threading.Barrier(2), concurrent.futures.ThreadPoolExecutor(2)

    def one_thread():
        whole.forward_backward(X, codes, 1 / 256)
        w, g = params[:n_weights], whole.grad[:n_weights]
        g += np.multiply(w, 1e-4 / 256, out=scratch[:n_weights])
        adam_step(params, whole.grad, s, v)

    def half(k):
        rows = slice(128 * k, 128 * (k + 1))
        halves[k].forward_backward(X[rows], codes[rows], 1 / 256)
        barrier.wait()  # both halves of the gradient are complete
        part = slice(k * N_PARAMS // 2, (k + 1) * N_PARAMS // 2)
        g = halves[0].grad[part]
        g += halves[1].grad[part]
        weights = slice(part.start, min(part.stop, n_weights))
        g[: weights.stop - weights.start] += np.multiply(
            params[weights], 1e-4 / 256, out=halves[1].grad[weights]
        )
        adam_step(params[part], g, s[part], v[part])

    def two_threads():
        with blas.limit(limits=1):  # about 9 us
            list(pool.map(half, (0, 1)))

    ways = {
        "one thread, BLAS on 2 threads (as fit)": one_thread,
        "data-parallel: 2 threads of 128 rows, BLAS on 1": two_threads,
    }
    title = "a training step of the wide network (batch 256, Adam, L2)"
    compare(f"{title}, taking turns", ways, max(1, loops // 500))
    # In order: the data-parallel step no longer follows a two-thread product,
    # whose OpenBLAS threads keep spinning on the second core for a while.
    compare(f"{title}, in order", ways, max(1, loops // 500), interleave=False)
    pool.shutdown()


def scipy_axpy_after_products(loops):
    from scipy.linalg import blas

    p, g = RNG.random(N_PARAMS, dtype=np.float32), RNG.random(N_PARAMS, dtype=np.float32)
    x = RNG.random((256, 784), dtype=np.float32)
    w = normal(784, 512) * np.float32(0.05)
    out = np.empty((256, 512), np.float32)
    k = max(1, loops // 200)
    # In order, not in turns: once SciPy's BLAS has run, its spinning threads
    # would slow down whatever is timed next.
    compare("SciPy's BLAS axpy next to NumPy's matrix products", {
        "256x784 by 784x512 product (NumPy's BLAS)": lambda: np.dot(x, w, out=out),
        "the product, then NumPy's p += g": lambda: (np.dot(x, w, out=out), np.add(p, g, out=p)),
        "scipy saxpy of 932 362 values alone": lambda: blas.saxpy(g, p, a=1e-9),
        "the product, then the saxpy": lambda: (np.dot(x, w, out=out), blas.saxpy(g, p, a=1e-9)),
    }, k, interleave=False)


def transposed_copy(loops):
    for n, width, k in ((32, 64, loops), (256, 512, max(1, loops // 200))):
        delta, w = normal(n, width), normal(width, width) * np.float32(0.05)
        w_t, out = np.empty_like(w), np.empty((n, width), np.float32)
        compare(f"input gradient delta @ W.T, {n}x{width} by {width}x{width}", {
            "np.dot(delta, w.T, out=out)": lambda: np.dot(delta, w.T, out=out),
            "copy of w.T, then np.dot(delta, w_t)": lambda: (
                np.copyto(w_t, w.T), np.dot(delta, w_t, out=out)
            ),
        }, k)


def relu_derivative_forms(loops):
    for n, width, k in ((32, 64, loops), (256, 512, max(1, loops // 50))):
        a = np.maximum(normal(n, width), 0)
        delta = normal(n, width)
        mask, floats = np.empty((n, width), bool), np.empty((n, width), np.float32)

        def preallocated_mask():
            np.greater(a, 0, out=mask)
            np.multiply(delta, mask, out=delta)

        def sign():
            np.sign(a, out=floats)
            np.multiply(delta, floats, out=delta)

        compare(f"relu derivative of a {n}x{width} batch", {
            "delta *= a > 0": lambda: delta.__imul__(a > 0),
            "preallocated bool mask": preallocated_mask,
            "np.sign(a) then multiply": sign,
            "np.copyto(delta, 0, where=a <= 0)": lambda: np.copyto(delta, 0, where=a <= 0),
        }, k)


def memory_workspace(loops):
    """The memory choices of issue 15 on the training step's time: deltas in
    per-layer buffers (``keep_deltas=True``, as with callbacks) or each over
    its own layer's relu output once its mask is taken (``False``, with the
    L2 scratch a freed buffer where one is large enough), for the deep-narrow
    network (batch 32) and the wide one (batch 256); and the L2 penalty's
    scratch of 2**14, 2**16 or 2**17 weights, for the deep-narrow network
    (41600 weights) and the wide one (930816)."""
    from sk_deepnet._network import Network

    rng = np.random.default_rng(0)
    for sizes, n, k in (([64] * 11 + [10], 32, max(1, loops // 5)),
                        ([784, 512, 512, 512, 10], 256, max(1, loops // 200))):
        X = RNG.random((n, sizes[0]), dtype=np.float32)
        y = rng.integers(10, size=n).astype(np.uint8)
        nets = {}
        for keep in (True, False):
            net = nets[keep] = Network(sizes, "relu", "softmax_cross_entropy")
            net.initialize(np.random.default_rng(0), "he_uniform")
            net._training_workspace(n, keep_deltas=keep)
        compare(f"training step of the {sizes[1]}-wide Network (batch {n}, alpha 1e-4)", {
            f"keep_deltas={keep}": (
                lambda net=net, keep=keep, X=X, y=y, n=n:
                net.loss_and_gradient(X, y, None, n, 1e-4, keep_deltas=keep)
            )
            for keep, net in nets.items()
        }, k)
    for sizes, k in (([64] * 11 + [10], loops), ([784, 512, 512, 512, 10], max(1, loops // 50))):
        net = Network(sizes, "relu", "softmax_cross_entropy")
        net.initialize(np.random.default_rng(0), "he_uniform")
        compare(f"L2 penalty of {net.n_weights} weights, by scratch size", {
            f"scratch of 2**{p} weights": (
                lambda scratch=np.empty(min(net.n_weights, 2**p), np.float32), net=net:
                net._add_l2_penalty(1e-5, scratch)
            )
            for p in (14, 16, 17)
        }, k)


COMPARISONS = [
    dot_vs_matmul,
    bias_gradient_forms,
    batch_gather,
    relu_forms,
    relu_in_place,
    relu_derivative_forms,
    transposed_copy,
    bias_in_the_products,
    plain_path,
    memory_workspace,
    adam_passes,
    optimizer_step_forms,
    numexpr_step,
    data_parallel_step,
    scipy_axpy_after_products,  # last: it wakes SciPy's BLAS threads
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few loops: a smoke run")
    parser.add_argument(
        "--only", nargs="+", choices=[f.__name__ for f in COMPARISONS], metavar="NAME",
        help="run only these comparisons (the names of their functions)",
    )
    args = parser.parse_args(argv)
    loops = 1 if args.quick else 5000
    print(
        f"numpy {np.__version__}; each timing: the best of 5 repeats of a timed loop "
        "(15 for the wide forward pass), the alternatives of a comparison taking "
        "turns (except SciPy's axpy, timed last on purpose)\n"
    )
    for comparison in COMPARISONS:
        if args.only is None or comparison.__name__ in args.only:
            comparison(loops)


if __name__ == "__main__":
    main()
