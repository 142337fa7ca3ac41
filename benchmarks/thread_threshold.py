"""Where more BLAS threads start to pay: the measurement behind the thread policy.

Usage::

    python benchmarks/thread_threshold.py            # about a minute
    python benchmarks/thread_threshold.py --quick    # smoke run, seconds

For each shape a training step makes (a batch of ``b`` rows through a dense layer
of ``p`` inputs and ``q`` outputs), it times the three products of that layer as
the network runs them (``np.dot(..., out=...)`` into preallocated float32
buffers):

* forward: ``A (b x p) @ W (p x q)``;
* weight gradient: ``A.T (p x b) @ D (b x q)``;
* input gradient: ``D (b x q) @ W.T (q x p)``;

once with BLAS held to one thread and once with the threads BLAS starts with.
The two settings take turns (1, N, N, 1, ...), each timing the best of
``--repeats`` loops, so a slow spell of a shared machine hits both. It prints
the speedup ``t(1 thread) / t(N threads)`` of each shape against its flops
(``6 b p q`` for the three products) and the crossover: the smallest flops from
which every measured shape gains at least ``--gain`` (1.2x by default) from the
threads. ``sk_deepnet._threadpool.MIN_THREADED_FLOPS`` is set from it.

On a machine that other processes keep busy the threads gain less (or lose),
so the crossover comes out higher: measure when the machine is as quiet as you
can get it, and read the printed load average.
"""

import argparse
import os
import time

import numpy as np
from threadpoolctl import ThreadpoolController

from run_benchmarks import busy_processes

BATCHES = (32, 64, 128, 200, 256, 512)
LAYERS = ((64, 64), (10, 100), (100, 100), (128, 128), (256, 256), (784, 256),
          (512, 512), (784, 512), (1024, 1024))
QUICK_BATCHES = (32, 256)
QUICK_LAYERS = ((64, 64), (784, 512))


def layer_products(b, p, q, seed=0):
    """A function running the three products of one layer for a batch of b rows."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((b, p), dtype=np.float32)
    W = rng.standard_normal((p, q), dtype=np.float32)
    D = rng.standard_normal((b, q), dtype=np.float32)
    Z = np.empty((b, q), np.float32)
    G = np.empty((p, q), np.float32)
    dA = np.empty((b, p), np.float32)

    def run():
        np.dot(A, W, out=Z)
        np.dot(A.T, D, out=G)
        np.dot(D, W.T, out=dA)

    return run


def time_loop(fn, seconds):
    """Mean seconds per call of fn over a loop of about ``seconds``."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    loops = max(1, int(seconds / once))
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - start) / loops


def measure(shapes, controller, rounds, seconds):
    """Best time per call of each shape's products with 1 and with N threads.

    Every round runs every shape once in each setting, the two settings in
    alternating order; the best of the rounds is kept. Spreading the repeats
    of a shape over the whole run, rather than timing them back to back, lets
    a quiet spell of a busy machine reach every shape.
    """
    runs = {shape: layer_products(*shape) for shape in shapes}
    best = {shape: {1: np.inf, "N": np.inf} for shape in shapes}
    for r in range(rounds):
        for i, shape in enumerate(shapes):
            order = (1, "N") if (r + i) % 2 == 0 else ("N", 1)
            for setting in order:
                if setting == 1:
                    with controller.limit(limits=1, user_api="blas"):
                        t = time_loop(runs[shape], seconds)
                else:
                    t = time_loop(runs[shape], seconds)
                best[shape][setting] = min(best[shape][setting], t)
    return {shape: (b[1], b["N"]) for shape, b in best.items()}


def crossover(rows, gain):
    """Smallest flops from which every measured shape gains at least ``gain``."""
    rows = sorted(rows, key=lambda r: r["flops"])
    for i, row in enumerate(rows):
        if all(r["speedup"] >= gain for r in rows[i:]):
            return row["flops"]
    return None


def print_rows(shapes, times, n_threads):
    print(f"{'batch':>5} {'p':>5} {'q':>5} {'MFLOP':>9} {'1 thread':>10} "
          f"{f'{n_threads} threads':>10} {'speedup':>8}")
    rows = []
    for b, p, q in shapes:
        t1, tn = times[(b, p, q)]
        flops = 6 * b * p * q
        rows.append(dict(b=b, p=p, q=q, flops=flops, t1=t1, tn=tn, speedup=t1 / tn))
        print(f"{b:>5} {p:>5} {q:>5} {flops / 1e6:>9.2f} {t1 * 1e6:>8.1f}us "
              f"{tn * 1e6:>8.1f}us {t1 / tn:>7.2f}x")
    return rows


def report_quiet(rows, gain, n_threads):
    """Print the crossover and one thread's rate of the quiet pass."""
    threshold = crossover(rows, gain)
    rate = max(r["flops"] / r["t1"] for r in rows)  # one thread's best GFLOP/s
    if threshold is None:
        print(f"crossover: no shape gains {gain}x from {n_threads} threads")
    else:
        below = [r for r in rows if r["flops"] < threshold]
        print(
            f"crossover: every shape from {threshold / 1e6:.2f} MFLOP (the three products "
            f"of a layer) gains >= {gain}x from {n_threads} threads; below it the "
            f"best gain is {max((r['speedup'] for r in below), default=float('nan')):.2f}x"
        )
    print(f"one thread's best rate: {rate / 1e9:.0f} GFLOP/s, so 1 ms of products = "
          f"{rate * 1e-3 / 1e6:.0f} MFLOP; load average {os.getloadavg()[0]:.2f} at the end")


def report_overhead():
    """Print what the policy's limit costs a call (sk_deepnet._threadpool.blas_limit)."""
    from sk_deepnet._threadpool import blas_limit

    def lower():
        with blas_limit(1):
            pass

    def keep():
        with blas_limit(None):
            pass

    costs = [min(time_loop(fn, 0.01) for _ in range(5)) for fn in (lower, keep)]
    print(f"the policy's cost per call: {costs[0] * 1e6:.1f} us to lower the limit and "
          f"restore it, {costs[1] * 1e6:.1f} us to read it and keep it")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="two shapes, one round")
    parser.add_argument("--repeats", type=int, default=9, help="rounds over all shapes")
    parser.add_argument("--busy", type=int, default=2,
                        help="busy processes for the loaded pass (0: no loaded pass)")
    parser.add_argument("--seconds", type=float, default=0.005, help="length of each timed loop")
    parser.add_argument("--gain", type=float, default=1.2)
    args = parser.parse_args(argv)
    batches, layers = (QUICK_BATCHES, QUICK_LAYERS) if args.quick else (BATCHES, LAYERS)
    repeats = 1 if args.quick else args.repeats

    controller = ThreadpoolController()
    blas = controller.select(user_api="blas").info()
    n_threads = max(info["num_threads"] for info in blas)
    print(
        "BLAS: " + ", ".join(
            f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)" for i in blas
        )
    )
    print(f"load average at start: {os.getloadavg()[0]:.2f}; each timing the best of "
          f"{repeats} rounds over all shapes, 1 and {n_threads} threads taking turns")
    if n_threads < 2:
        print("BLAS runs one thread here: there is no crossover to measure.")
        return
    report_overhead()
    shapes = [(b, p, q) for b in batches for p, q in layers]
    print("\nquiet: nothing else started by this script")
    report_quiet(print_rows(shapes, measure(shapes, controller, repeats, args.seconds), n_threads),
                 args.gain, n_threads)
    if args.busy:
        print(f"\nbusy: {args.busy} CPU-bound processes running beside")
        with busy_processes(args.busy):
            loaded = measure(shapes, controller, max(1, repeats // 2), args.seconds)
        rows = print_rows(shapes, loaded, n_threads)
        lost = [r for r in rows if r["speedup"] < 1]
        print(
            f"under load, {len(lost)} of {len(rows)} shapes lost time with "
            f"{n_threads} threads; the median extra time per call was "
            f"{np.median([r['tn'] - r['t1'] for r in rows]) * 1e3:.2f} ms"
        )

if __name__ == "__main__":
    main()
