"""Speed and memory of sk_deepnet, measured side by side with scikit-learn.

Usage::

    python benchmarks/run_benchmarks.py            # the full suite (a few minutes)
    python benchmarks/run_benchmarks.py --quick    # a smoke run of every row (seconds)
    python benchmarks/run_benchmarks.py --repeats 7 --only deep-narrow wide

Every number is measured in this one run, each timing the best of ``--repeats``
runs, the two sides of a ratio interleaved (ours, reference, ours, ...) so that
a change of machine load hits both alike. The table prints each number, its
ratio, the target and PASS/MISS; the ratios, not the absolute times, are what
carries over from one machine to another. ``--quick`` shrinks every problem so
the whole suite runs in seconds: its numbers only show that every row runs.

Rows (see doc/performance.rst for what each one means):

1. deep-narrow: fit time per epoch, digits, 10 hidden layers of 64, batch 32,
   adam, vs ``MLPClassifier`` with the same architecture, dtype and epochs;
2. wide: fit time per epoch, 784 float32 features, 10 classes, 3 hidden layers
   of 512, batch 256, adam, vs ``MLPClassifier`` and vs the matrix-product bound
   (the forward and backward GEMMs of every batch alone, on preallocated arrays),
   and how much of the speedup BLAS threads give a big product the fit keeps
   (against the same fit held to one BLAS thread);
3. RBM: one epoch of ``sk_deepnet.pretraining.BernoulliRBM`` vs scikit-learn's
   ``BernoulliRBM`` (784 visible, 256 hidden, batch 64);
4. GradientMonitor: the overhead of ``callbacks=[GradientMonitor()]`` (default
   frequency) on the deep-narrow fit; the overheads of ``CurvatureMonitor()``
   and of the gradient monitor's ``jacobian_spectra=True`` (defaults);
5. predict_proba throughput of the wide network vs ``MLPClassifier`` (no target:
   both are matrix-product bound);
6. under load: with two CPU-bound background processes (started and stopped by
   the script), the medium net (make_friedman1(3000), DeepMLPRegressor(depth=3,
   width=100)) and the deep-narrow one, each against the same fit held to one
   BLAS thread and against scikit-learn's MLP;
7. PyTorch: fit time per epoch of the deep-narrow and wide networks against the
   same network, optimizer, batch and epochs in PyTorch on CPU (SKIP when torch
   is not installed);
8. peak memory of fit on 60000 x 784 float32, in a fresh subprocess, vs
   X + (3 + k) x the model + one batch of activations, k = 2 (Adam's moments).
"""

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
import warnings

import numpy as np

FULL = dict(
    repeats=5,
    narrow_repeats=7,  # the deep-narrow fits take a fraction of a second
    wide_repeats=3,
    narrow_epochs=10,
    monitor_epochs=10,
    curvature_epochs=40,
    wide_samples=10000,
    wide_epochs=2,
    rbm_samples=10000,
    predict_samples=10000,
    memory_samples=60000,
    memory_epochs=2,
    load_repeats=3,
    load_samples=3000,  # make_friedman1, as in issue 15
    load_medium_epochs=15,
    load_narrow_epochs=3,  # fewer than the quiet row: sklearn's fits crawl under load
    torch_repeats=3,
    torch_samples=None,  # the whole data sets of the deep-narrow and wide rows
    budget=30.0,  # seconds after which a row under load or of PyTorch stops repeating
)
QUICK = dict(
    repeats=1,
    narrow_repeats=1,
    wide_repeats=1,
    narrow_epochs=1,
    monitor_epochs=1,
    curvature_epochs=2,
    wide_samples=768,
    wide_epochs=1,
    rbm_samples=640,
    predict_samples=768,
    memory_samples=1000,
    memory_epochs=1,
    load_repeats=1,
    load_samples=300,
    load_medium_epochs=1,
    load_narrow_epochs=1,
    torch_repeats=1,
    torch_samples=256,
    budget=5.0,
)

NARROW = dict(depth=10, width=64, batch_size=32)
WIDE = dict(n_features=784, n_classes=10, depth=3, width=512, batch_size=256)
RBM = dict(n_components=256, batch_size=64, learning_rate=0.1)
MEDIUM = dict(depth=3, width=100)  # batch_size "auto": 200
N_BUSY = 2  # CPU-bound background processes of the rows under load
#: Model-sized state vectors of the optimizer, k in the memory bound
#: X + (3 + k) x model + one batch (3: the parameters, the gradient and the
#: snapshot that undoes a diverged epoch). Adam keeps two moments.
OPTIMIZER_STATE = {"adam": 2}

TARGETS = {
    # row: (comparison, limit)
    "deep-narrow": ("<=", 0.35),
    "wide-sklearn": ("<=", 0.80),
    "wide-bound": ("<=", 1.45),
    "wide-threads": (">=", 1 / 3),
    "load-pinned": ("<=", 1.30),
    "load-sklearn": ("<=", 0.30),
    "torch-narrow": ("<=", 0.30),
    "torch-wide": ("<=", 0.60),
    "rbm": ("<=", 0.80),
    "monitor": ("<=", 1.10),
    "curvature": ("<=", 1.15),
    "jacobian": ("<=", 1.10),
    "memory": ("<=", 1.00),
}
ROWS = ["deep-narrow", "wide", "rbm", "monitor", "curvature", "predict", "load", "torch", "memory"]


# ----------------------------------------------------------------- helpers
@contextlib.contextmanager
def busy_processes(n=2):
    """Run ``n`` CPU-bound background processes (a busy machine) during the block.

    Each is a Python loop that never sleeps, like a notebook cell or a second
    search running beside the fit. They are killed when the block ends, also
    on an error or a KeyboardInterrupt, and, should this process die first,
    they stop by themselves when their parent goes away.
    """
    code = (
        "import os\n"
        "parent = os.getppid()\n"
        "i = 0\n"
        "while True:\n"
        "    i += 1\n"
        "    if i % 1000000 == 0 and os.getppid() != parent:\n"
        "        break\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]
    try:
        time.sleep(0.3)  # let them start spinning
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def best_of(repeats, *functions, budget=math.inf):
    """Time each function ``repeats`` times, interleaved; return the lists of seconds.

    The order alternates (A B, B A, A B...) so that neither side always runs
    right after the other. No new repeat starts once ``budget`` seconds have
    passed (a busy machine can make a repeat take minutes).
    """
    times = [[] for _ in functions]
    started = time.perf_counter()
    for repeat in range(repeats):
        if repeat and time.perf_counter() - started > budget:
            break
        pairs = list(zip(functions, times))
        for fn, record in pairs[::-1] if repeat % 2 else pairs:
            gc.collect()
            start = time.perf_counter()
            fn()
            record.append(time.perf_counter() - start)
    return times


def best_times(functions, loops, repeats=5, before=None):
    """For each of ``functions`` (a dict), the best mean time of ``loops`` calls.

    Each function is warmed up once, then timed ``repeats`` times: the mean of
    ``loops`` timed calls (``before``, if given, runs untimed before every
    call). The functions take turns, repeat after repeat, so that a slow spell
    of a shared machine hits them all rather than one. Used by breakdown.py and
    design_choices.py, which time operations of microseconds.
    """
    best = dict.fromkeys(functions, math.inf)
    for fn in functions.values():
        fn()
    for _ in range(repeats):
        for name, fn in functions.items():
            total = 0.0
            for _ in range(loops):
                if before is not None:
                    before()
                start = time.perf_counter()
                fn()
                total += time.perf_counter() - start
            best[name] = min(best[name], total / loops)
    return best


def pinned(fn):
    """``fn`` run with BLAS held to one thread."""
    from threadpoolctl import ThreadpoolController

    # Made once: a controller scans the loaded libraries, which is not the fit's time.
    controller = ThreadpoolController()

    def run():
        with controller.limit(limits=1, user_api="blas"):
            return fn()

    return run


def big_product(n, p, q, calls=20):
    """A function running ``calls`` float32 products (n x p) @ (p x q) into a buffer."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, p), dtype=np.float32)
    b = rng.standard_normal((p, q), dtype=np.float32)
    out = np.empty((n, q), np.float32)

    def run():
        for _ in range(calls):
            np.dot(a, b, out=out)

    return run


def sklearn_mlp(depth, width, batch_size, epochs, random_state=0):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(width,) * depth,
        solver="adam",
        batch_size=batch_size,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=random_state,
    )


def deep_mlp(depth, width, batch_size, epochs, random_state=0, **kwargs):
    from sk_deepnet import DeepMLPClassifier

    return DeepMLPClassifier(
        depth=depth,
        width=width,
        optimizer="adam",
        batch_size=batch_size,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=random_state,
        **kwargs,
    )


def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def wide_data(n_samples, random_state=0):
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_samples,
        n_features=WIDE["n_features"],
        n_informative=64,
        n_redundant=64,
        n_classes=WIDE["n_classes"],
        random_state=random_state,
    )
    return X.astype(np.float32), y


def layer_sizes(n_features, depth, width, n_outputs):
    return [n_features] + [width] * depth + [n_outputs]


def n_params(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def gemm_bound_epoch(sizes, n_samples, batch_size, dtype=np.float32, seed=0):
    """Return a function running one epoch of the GEMMs alone.

    For every batch: the forward ``X @ W`` of each layer, and in the backward
    pass the weight gradient ``A.T @ delta`` of each layer and the input
    gradient ``delta @ W.T`` of each layer but the first (nothing needs the
    gradient with respect to X): exactly the products a perfect implementation
    has to do, in the same layouts, timed over preallocated arrays.
    """
    rng = np.random.default_rng(seed)
    n_layers = len(sizes) - 1
    acts = [rng.standard_normal((batch_size, w), dtype=dtype) for w in sizes]
    deltas = [rng.standard_normal((batch_size, w), dtype=dtype) for w in sizes]
    weights = [
        rng.standard_normal((a, b), dtype=dtype) / np.sqrt(a).astype(dtype)
        for a, b in zip(sizes[:-1], sizes[1:])
    ]
    weight_grads = [np.empty_like(w) for w in weights]
    batches = [min(batch_size, n_samples - s) for s in range(0, n_samples, batch_size)]
    product = np.dot  # as the layers: the same kernels as np.matmul, less dispatch

    def epoch():
        for n in batches:
            for i in range(n_layers):  # forward: z = a @ W (into the next layer)
                product(acts[i][:n], weights[i], out=acts[i + 1][:n])
            for i in range(n_layers - 1, -1, -1):  # backward
                product(acts[i][:n].T, deltas[i + 1][:n], out=weight_grads[i])
                if i > 0:
                    product(deltas[i + 1][:n], weights[i].T, out=deltas[i][:n])

    return epoch


def fmt_time(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def fmt_bytes(n):
    return f"{n / 2**20:.{1 if n >= 2**20 else 2}f} MiB"  # 0.06 MiB, not 0.1


class Table:
    def __init__(self):
        self.rows = []
        self.notes = []

    def add(self, name, ours, reference, ratio=None, target_key=None, ratio_text=None):
        if ratio is None or target_key is None:
            target, status = "-", "info"
        else:
            op, limit = TARGETS[target_key]
            target = f"{op} {limit:.2f}x"
            ok = ratio <= limit if op == "<=" else ratio >= limit
            status = "PASS" if ok else "MISS"
        if ratio_text is None:
            # Three decimals: at two, a ratio just above its target would print
            # as the target itself next to MISS.
            ratio_text = "-" if ratio is None else f"{ratio:.3f}x"
        self.rows.append((name, ours, reference, ratio_text, target, status))

    def skip(self, name, why):
        self.rows.append((name, "-", "-", "-", "-", "SKIP"))
        self.notes.append(f"{name}: {why}")

    def note(self, text):
        self.notes.append(text)

    def print(self):
        header = ("benchmark", "sk_deepnet", "reference", "ratio", "target", "result")
        widths = [max(len(str(r[i])) for r in [header] + self.rows) for i in range(6)]
        line = "  ".join("-" * w for w in widths)
        print(line)
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        print(line)
        for row in self.rows:
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
        print(line)
        for note in self.notes:
            print(f"* {note}")


def spread(times):
    times = sorted(times)
    return f"best {fmt_time(times[0])}, median {fmt_time(times[len(times) // 2])}"


# ------------------------------------------------------------------- header
def print_header(config, quick):
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    import sk_deepnet

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    try:
        n_cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        n_cpus = os.cpu_count()
    print("sk_deepnet benchmarks" + (" (--quick: smoke run, numbers not meaningful)" if quick else ""))
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
        f"sk_deepnet {sk_deepnet.__version__}"
    )
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"machine: {cpu}, {n_cpus} CPUs available, load average {load[0]:.2f} at start")
    for info in threadpool_info():
        kernel = info.get("architecture")
        print(
            f"threadpool: {info['internal_api']} {info.get('version')} "
            f"({os.path.basename(info['filepath'])}): {info['num_threads']} threads"
            + (f", kernel {kernel}" if kernel else "")
            + (f", {info['threading_layer']}" if info.get("threading_layer") else "")
        )
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    print("environment: " + ", ".join(f"{k}={v if v is not None else '(unset)'}" for k, v in env.items()))
    print(
        f"each timing: best of {config['narrow_repeats']} (deep-narrow, monitor), "
        f"{config['repeats']} (RBM, predict), {config['wide_repeats']} (wide), "
        f"{config['load_repeats']} (load) or {config['torch_repeats']} (PyTorch) interleaved "
        "repeats"
    )
    print()


# --------------------------------------------------------------------- rows
def row_deep_narrow(table, config):
    X, y = digits()
    epochs = config["narrow_epochs"]
    ours = deep_mlp(**NARROW, epochs=epochs)
    ref = sklearn_mlp(**NARROW, epochs=epochs)
    t_ours, t_ref = best_of(
        config["narrow_repeats"], lambda: ours.fit(X, y), lambda: ref.fit(X, y)
    )
    assert ours.n_iter_ == ref.n_iter_ == epochs
    a, b = min(t_ours) / epochs, min(t_ref) / epochs
    n_batches = math.ceil(X.shape[0] / NARROW["batch_size"])
    table.add(
        "deep-narrow fit, time/epoch", fmt_time(a), f"MLPClassifier {fmt_time(b)}",
        a / b, "deep-narrow",
    )
    table.note(
        f"deep-narrow: digits {X.shape[0]}x{X.shape[1]} float32, depth 10, width 64, "
        f"batch 32 ({n_batches} batches/epoch), adam, {epochs} epochs per fit; "
        f"per batch: ours {fmt_time(a / n_batches)}, MLPClassifier {fmt_time(b / n_batches)}"
    )
    return a


def row_wide(table, config, state):
    X, y = wide_data(config["wide_samples"])
    epochs = config["wide_epochs"]
    arch = dict(depth=WIDE["depth"], width=WIDE["width"], batch_size=WIDE["batch_size"])
    ours = deep_mlp(**arch, epochs=epochs)
    ref = sklearn_mlp(**arch, epochs=epochs)
    sizes = layer_sizes(X.shape[1], WIDE["depth"], WIDE["width"], WIDE["n_classes"])
    bound = gemm_bound_epoch(sizes, X.shape[0], WIDE["batch_size"])
    bound_epochs = lambda: [bound() for _ in range(epochs)]  # noqa: E731
    product = big_product(WIDE["batch_size"], X.shape[1], WIDE["width"])
    t_ours, t_ref, t_bound, t_pinned, t_prod1, t_prod = best_of(
        config["wide_repeats"], lambda: ours.fit(X, y), lambda: ref.fit(X, y), bound_epochs,
        pinned(lambda: ours.fit(X, y)), pinned(product), product,
    )
    a, b, c, d = (min(t) / epochs for t in (t_ours, t_ref, t_bound, t_pinned))
    table.add("wide fit, time/epoch", fmt_time(a), f"MLPClassifier {fmt_time(b)}", a / b, "wide-sklearn")
    table.add("wide fit vs GEMM bound", fmt_time(a), f"GEMMs alone {fmt_time(c)}", a / c, "wide-bound")
    fit_gain, product_gain = d / a, min(t_prod1) / min(t_prod)
    if product_gain > 1.05:
        kept = (fit_gain - 1) / (product_gain - 1)
        table.add(
            "wide fit, thread speedup kept", f"{fit_gain:.2f}x vs 1 thread",
            f"big product {product_gain:.2f}x", kept, "wide-threads",
            ratio_text=f"{kept:.3f}",
        )
    else:
        table.skip("wide fit, thread speedup kept",
                   f"BLAS threads gave a big product only {product_gain:.2f}x here")
    table.note(
        f"wide threads: the fit with the thread policy (it keeps BLAS's threads here) against "
        f"the same fit inside threadpool_limits(1) ({fmt_time(d)}/epoch), and a "
        f"{WIDE['batch_size']}x{X.shape[1]} @ {X.shape[1]}x{WIDE['width']} product x20 with "
        f"BLAS's threads against one ({fmt_time(min(t_prod))} vs {fmt_time(min(t_prod1))}); "
        "kept = (fit speedup - 1) / (product speedup - 1)"
    )
    flops = 0
    for n in [min(WIDE["batch_size"], X.shape[0] - s) for s in range(0, X.shape[0], WIDE["batch_size"])]:
        for i, (p, q) in enumerate(zip(sizes[:-1], sizes[1:])):
            flops += 2 * n * p * q * (2 if i == 0 else 3)
    table.note(
        f"wide: {X.shape[0]}x{X.shape[1]} float32 (make_classification, 10 classes), "
        f"layers {sizes}, batch 256, adam, {epochs} epochs per fit; GEMM bound "
        f"{flops / 1e9:.1f} GFLOP/epoch = {flops / c / 1e9:.0f} GFLOP/s; "
        f"ours {spread(t_ours)}, MLPClassifier {spread(t_ref)} (per fit)"
    )
    state["wide"] = (X, ours, ref)
    state["wide_gemm_epoch"] = (X.shape[0], c)


def row_rbm(table, config):
    try:
        from sk_deepnet.pretraining import BernoulliRBM as OurRBM
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        table.skip("RBM epoch", f"sk_deepnet.pretraining.BernoulliRBM not available ({exc!r})")
        return
    from sklearn.neural_network import BernoulliRBM as SkRBM

    X, _ = wide_data(config["rbm_samples"], random_state=1)
    X -= X.min(axis=0)
    X /= X.max(axis=0)  # in [0, 1], float32
    common = dict(
        n_components=RBM["n_components"], batch_size=RBM["batch_size"],
        learning_rate=RBM["learning_rate"], n_iter=1, random_state=0,
    )
    ours = OurRBM(**common)
    ref = SkRBM(**common)
    t_ours, t_ref = best_of(config["repeats"], lambda: ours.fit(X), lambda: ref.fit(X))
    a, b = min(t_ours), min(t_ref)
    assert ours.components_.dtype == ref.components_.dtype == np.float32
    table.add("RBM epoch (784-256, batch 64)", fmt_time(a), f"sklearn BernoulliRBM {fmt_time(b)}", a / b, "rbm")
    table.note(
        f"RBM: {X.shape[0]}x{X.shape[1]} float32 in [0, 1], CD-1, one epoch per fit "
        f"(sk_deepnet's defaults otherwise: momentum, weight decay, reconstruction error)"
    )


def row_monitor(table, config):
    try:
        from sk_deepnet.callbacks import GradientMonitor
    except Exception as exc:  # noqa: BLE001
        table.skip("GradientMonitor overhead", f"sk_deepnet.callbacks.GradientMonitor not available ({exc!r})")
        return
    X, y = digits()
    epochs = config["monitor_epochs"]
    plain = deep_mlp(**NARROW, epochs=epochs)
    monitored = deep_mlp(**NARROW, epochs=epochs, callbacks=[GradientMonitor()])
    t_mon, t_plain = best_of(
        config["narrow_repeats"], lambda: monitored.fit(X, y), lambda: plain.fit(X, y)
    )
    a, b = min(t_mon) / epochs, min(t_plain) / epochs
    table.add(
        "GradientMonitor() overhead", f"with {fmt_time(a)}", f"without {fmt_time(b)}",
        a / b, "monitor", ratio_text=f"{a / b:.3f}x ({(a / b - 1) * 100:+.1f}%)",
    )
    table.note(
        "monitor: deep-narrow fit (time/epoch) with callbacks=[GradientMonitor()] "
        "(record_every='epoch') vs without"
    )


def row_curvature(table, config):
    """CurvatureMonitor() and GradientMonitor(jacobian_spectra=True) overheads."""
    try:
        from sk_deepnet.callbacks import CurvatureMonitor, GradientMonitor
    except Exception as exc:  # noqa: BLE001
        table.skip("CurvatureMonitor overhead", f"not available ({exc!r})")
        return
    X, y = digits()
    pairs = [
        ("CurvatureMonitor() overhead", "curvature", config["curvature_epochs"],
         [CurvatureMonitor(random_state=0)], None),
        ("jacobian_spectra overhead", "jacobian", config["curvature_epochs"],
         [GradientMonitor(jacobian_spectra=True, warn=False)], [GradientMonitor(warn=False)]),
    ]
    for label, target, epochs, with_cb, without_cb in pairs:
        monitored = deep_mlp(**NARROW, epochs=epochs, callbacks=with_cb)
        plain = deep_mlp(**NARROW, epochs=epochs, callbacks=without_cb)
        t_mon, t_plain = best_of(
            config["narrow_repeats"], lambda: monitored.fit(X, y), lambda: plain.fit(X, y)
        )
        a, b = min(t_mon) / epochs, min(t_plain) / epochs
        table.add(label, f"with {fmt_time(a)}", f"without {fmt_time(b)}", a / b, target,
                  ratio_text=f"{a / b:.3f}x ({(a / b - 1) * 100:+.1f}%)")
    table.note(
        f"curvature: deep-narrow fit of {config['curvature_epochs']} epochs (time/epoch) with "
        "callbacks=[CurvatureMonitor()] (records at 0, 20, 40 epochs) vs without; "
        "jacobian: GradientMonitor(jacobian_spectra=True) vs GradientMonitor()"
    )


def row_predict(table, config, state):
    if "wide" in state:
        X, ours, ref = state["wide"]
    else:
        X, y = wide_data(config["wide_samples"])
        arch = dict(depth=WIDE["depth"], width=WIDE["width"], batch_size=WIDE["batch_size"])
        ours = deep_mlp(**arch, epochs=1).fit(X, y)
        ref = sklearn_mlp(**arch, epochs=1).fit(X, y)
    X = X[: config["predict_samples"]]
    t_ours, t_ref = best_of(
        config["repeats"], lambda: ours.predict_proba(X), lambda: ref.predict_proba(X)
    )
    a, b = X.shape[0] / min(t_ours), X.shape[0] / min(t_ref)
    assert ours.predict_proba(X[:5]).dtype == np.float32
    table.add(
        "predict_proba throughput", f"{a / 1e3:.0f}k samples/s",
        f"MLPClassifier {b / 1e3:.0f}k samples/s", a / b,
    )
    table.note(
        f"predict: predict_proba on {X.shape[0]}x{X.shape[1]} float32 with the fitted "
        f"wide networks ({WIDE['depth']}x{WIDE['width']}); ratio = ours / MLPClassifier throughput"
    )


def medium_data(n_samples):
    """make_friedman1 with standardized X: the medium network's data (issue 15)."""
    from sklearn.datasets import make_friedman1
    from sklearn.preprocessing import StandardScaler

    X, y = make_friedman1(n_samples, random_state=0)
    return StandardScaler().fit_transform(X), y


def load_pair(name):
    """The estimators of a row under load: (ours, scikit-learn's, X, y, label)."""
    from sklearn.neural_network import MLPRegressor

    from sk_deepnet import DeepMLPRegressor

    if name == "medium":
        fixed = dict(tol=0.0, n_iter_no_change=10**9, random_state=0)
        return (
            lambda config: DeepMLPRegressor(**MEDIUM, max_iter=config["load_medium_epochs"], **fixed),
            lambda config: MLPRegressor(
                hidden_layer_sizes=(MEDIUM["width"],) * MEDIUM["depth"],
                max_iter=config["load_medium_epochs"], **fixed,
            ),
            lambda config: medium_data(config["load_samples"]),
            "MLPRegressor",
        )
    return (
        lambda config: deep_mlp(**NARROW, epochs=config["load_narrow_epochs"]),
        lambda config: sklearn_mlp(**NARROW, epochs=config["load_narrow_epochs"]),
        lambda config: digits(),
        "MLPClassifier",
    )


def row_load(table, config):
    """Fits beside N_BUSY CPU-bound processes: policy vs one thread vs scikit-learn."""
    from sk_deepnet._threadpool import fit_flops, threads_for

    results = {}
    with busy_processes(N_BUSY):
        for name in ("medium", "deep-narrow"):
            make_ours, make_ref, make_data, ref_name = load_pair(name)
            X, y = make_data(config)
            ours, ref = make_ours(config), make_ref(config)
            times = best_of(
                config["load_repeats"], lambda: ours.fit(X, y), pinned(lambda: ours.fit(X, y)),
                lambda: ref.fit(X, y), budget=config["budget"],
            )
            limit = threads_for(fit_flops(ours, X))
            results[name] = ([min(t) for t in times], times, ref_name, limit, ours.max_iter)
    for name, ((a, b, c), times, ref_name, limit, epochs) in results.items():
        label = "medium (friedman1)" if name == "medium" else "deep-narrow"
        table.add(f"under load: {label} fit vs 1 thread", fmt_time(a),
                  f"1 BLAS thread {fmt_time(b)}", a / b, "load-pinned")
        table.add(f"under load: {label} fit vs sklearn", fmt_time(a),
                  f"{ref_name} {fmt_time(c)}", a / c, "load-sklearn")
        table.note(
            f"load {name}: {N_BUSY} busy processes beside; {epochs} epochs per fit, times per "
            f"fit; the policy chose {limit or 'the library threads'} "
            f"{'thread' if limit == 1 else ''}; ours {spread(times[0])}, pinned "
            f"{spread(times[1])}, {ref_name} {spread(times[2])}"
        )
    table.note(
        f"load: medium = make_friedman1({config['load_samples']}) with standardized X, "
        f"DeepMLPRegressor(depth=3, width=100) against MLPRegressor((100,) * 3), batch 200, "
        "adam; deep-narrow as the quiet row with fewer epochs. Pinned = the same fit "
        "inside threadpool_limits(1)"
    )


def torch_trainer(X, y, sizes, batch_size, epochs, deadline, record):
    """A function training a fresh PyTorch copy of the network, as sk_deepnet does.

    Same layers (Linear + ReLU, softmax cross-entropy), Adam with sk_deepnet's
    defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8), the L2 penalty alpha=1e-4 as
    weight decay of the weight matrices (``alpha / batch`` on the gradient, as
    sk_deepnet's penalty ``alpha / (2 * batch) * ||W||^2``), shuffled batches,
    float32, PyTorch's default threads.

    A fit stops early once it has run ``deadline`` seconds (on a busy machine
    PyTorch's threads can make one fit take many minutes); ``record`` gets the
    fraction of the epochs it ran, by which the row scales its time.
    """
    import torch

    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    n = Xt.shape[0]

    def train():
        torch.manual_seed(0)
        layers = []
        for p, q in zip(sizes[:-2], sizes[1:-1]):
            layers += [torch.nn.Linear(p, q), torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-2], sizes[-1]))
        weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
        biases = [m.bias for m in model if isinstance(m, torch.nn.Linear)]
        optimizer = torch.optim.Adam(
            [dict(params=weights, weight_decay=1e-4 / batch_size), dict(params=biases)],
            lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
        )
        loss_fn = torch.nn.CrossEntropyLoss()
        n_batches, done = epochs * math.ceil(n / batch_size), 0
        stop = time.perf_counter() + deadline
        for _ in range(epochs):
            perm = torch.randperm(n)
            for start in range(0, n, batch_size):
                idx = perm[start : start + batch_size]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(Xt[idx]), yt[idx])
                loss.backward()
                optimizer.step()
                done += 1
                if time.perf_counter() > stop:
                    break
            if time.perf_counter() > stop:
                break
        record.append(done / n_batches)

    return train


def row_torch(table, config, state):
    try:
        import torch
    except ImportError as exc:
        for name in ("deep-narrow fit vs PyTorch", "wide fit vs PyTorch"):
            table.skip(name, f"PyTorch is not installed ({exc}); pip install torch "
                             "(or sk-deepnet[benchmark]) for this row")
        return
    cases = [
        ("deep-narrow", digits(), NARROW, config["narrow_epochs"], "torch-narrow"),
        ("wide", wide_data(config["wide_samples"]),
         dict(depth=WIDE["depth"], width=WIDE["width"], batch_size=WIDE["batch_size"]),
         config["wide_epochs"], "torch-wide"),
    ]
    for name, (X, y), arch, epochs, key in cases:
        X, y = X[: config["torch_samples"]], y[: config["torch_samples"]]
        ours = deep_mlp(**arch, epochs=epochs)
        sizes = layer_sizes(X.shape[1], arch["depth"], arch["width"], len(np.unique(y)))
        # Warm up: PyTorch's first step in a process sets up its kernels.
        torch_trainer(X[:64], y[:64], sizes, arch["batch_size"], 1, 0.0, [])()
        fractions = []
        theirs = torch_trainer(X, y, sizes, arch["batch_size"], epochs, config["budget"], fractions)
        # The products alone, in the same run: the floor that both libraries share.
        bound = gemm_bound_epoch(sizes, X.shape[0], arch["batch_size"])
        t_ours, t_torch, t_bound = best_of(
            config["torch_repeats"], lambda: ours.fit(X, y), theirs,
            lambda: [bound() for _ in range(epochs)], budget=config["budget"],
        )
        a = min(t_ours) / epochs
        b = min(t / (f * epochs) for t, f in zip(t_torch, fractions))
        c = min(t_bound) / epochs
        # The wide row times the same products with more care (no PyTorch
        # beside them, whose OpenMP threads spin on after each of its fits).
        n_wide, c_wide = state.get("wide_gemm_epoch", (None, math.inf))
        if name == "wide" and n_wide == X.shape[0]:
            c = min(c, c_wide)
        table.add(f"{name} fit vs PyTorch, time/epoch", fmt_time(a),
                  f"PyTorch CPU {fmt_time(b)}", a / b, key)
        limit = TARGETS[key][1]
        table.note(
            f"torch {name}: the GEMMs alone take {fmt_time(c)}/epoch = {c / b:.3f}x PyTorch's "
            f"time; the target {limit:.2f}x PyTorch ({fmt_time(limit * b)}) is "
            f"{limit * b / c:.2f}x the GEMMs alone"
            + (", faster than the matrix products themselves" if limit * b < c else "")
        )
        if min(fractions) < 1:
            table.note(
                f"torch {name}: a PyTorch fit ran out of its {config['budget']:.0f} s and "
                f"stopped after {min(fractions):.0%} of its batches; its time per epoch "
                "is scaled from the batches it ran"
            )
    table.note(
        f"torch: PyTorch {torch.__version__} on CPU with {torch.get_num_threads()} threads; "
        "the same network, Adam settings, L2 penalty, batch size, float32 data and number "
        "of epochs as the sk_deepnet fit (a fresh model per fit, as fit starts afresh)"
    )


def _array_bytes(obj, seen):
    """Bytes of the distinct arrays (not views) in nested lists and dicts."""
    if isinstance(obj, np.ndarray):
        base = obj if obj.base is None else obj.base
        if not isinstance(base, np.ndarray) or id(base) in seen:
            return 0
        seen.add(id(base))
        return base.nbytes
    if isinstance(obj, dict):
        return sum(_array_bytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_array_bytes(v, seen) for v in obj)
    return 0


def batch_rows_mask(sizes, batch=256):
    """Bytes of relu's derivative mask (one bool a unit) of the widest hidden layer."""
    return batch * max(sizes[1:-1])


def memory_child(which, n_samples, epochs):
    """Run in a fresh process: the peak memory of one fit, as JSON on stdout."""
    import resource
    import tracemalloc

    from sklearn.base import clone

    depth, width, batch = WIDE["depth"], WIDE["width"], WIDE["batch_size"]
    n_features, n_classes = WIDE["n_features"], WIDE["n_classes"]
    if which == "ours":
        est = deep_mlp(depth, width, batch, epochs)
    else:
        est = sklearn_mlp(depth, width, batch, epochs)
    # X made in float32, without a temporary as large as X to inflate ru_maxrss.
    rng = np.random.default_rng(0)
    y = rng.integers(n_classes, size=n_samples)
    centers = rng.standard_normal((n_classes, n_features), dtype=np.float32)
    X = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    for start in range(0, n_samples, 4096):
        X[start : start + 4096] += centers[y[start : start + 4096]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clone(est).set_params(max_iter=1).fit(X[:batch], y[:batch])  # imports, caches
        gc.collect()
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        est.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    sizes = layer_sizes(n_features, depth, width, n_classes)
    model_bytes = n_params(sizes) * 4
    result = dict(
        x_bytes=X.nbytes,
        fit_peak=peak - base,
        max_rss=max_rss,
        model_bytes=model_bytes,
        batch_bytes=batch * sum(sizes) * 4,
        sizes=sizes,
    )
    if which == "ours":  # what the fit holds at the end of training, by kind
        network, seen = est._network, set()
        # The workspace also records references to the last batch (its inputs,
        # the X batch among them, and masks), which are not its own buffers.
        per_batch = ("inputs", "block_in", "deltas", "mask", "row_views")
        workspace = {k: v for k, v in network._workspace.items() if k not in per_batch}
        # Class codes and sample indices are held in the smallest unsigned
        # dtype (uint8 for 10 classes, uint16 for up to 65536 samples).
        code_size = np.min_scalar_type(n_classes - 1).itemsize
        result["parts"] = dict(
            network=_array_bytes([network.params, network.grads], seen),
            optimizer=_array_bytes(est.optimizer_.state_, seen),
            snapshot=model_bytes,  # the copy of params kept to undo a diverged epoch
            workspace=_array_bytes(workspace, seen),
            batch_buffers=batch * n_features * 4 + batch * code_size,
            targets=n_samples * code_size,  # class codes, no one-hot
            # the sample indices, shuffled in place each epoch
            indices=n_samples * np.min_scalar_type(n_samples - 1).itemsize,
        )
    print(json.dumps(result))


def run_memory_child(which, config):
    cmd = [
        sys.executable, os.path.abspath(__file__), "--memory-child", which,
        "--memory-samples", str(config["memory_samples"]),
        "--memory-epochs", str(config["memory_epochs"]),
    ]
    # One BLAS thread: the peak that tracemalloc counts does not depend on the
    # threads, and on a busy machine the wide fit's threads would make this row
    # take minutes.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def row_memory(table, config):
    ours = run_memory_child("ours", config)
    ref = run_memory_child("sklearn", config)
    x, model, batch = ours["x_bytes"], ours["model_bytes"], ours["batch_bytes"]
    k = OPTIMIZER_STATE["adam"]
    bound = x + (3 + k) * model + batch
    peak = x + ours["fit_peak"]
    table.add(
        f"peak memory of fit ({config['memory_samples']}x784)", fmt_bytes(peak),
        f"bound {fmt_bytes(bound)}", peak / bound, "memory",
    )
    parts = ours["parts"]
    accounted = sum(parts.values())
    table.note(
        f"memory: fit({config['memory_samples']}x784 float32, layers {ours['sizes']}, "
        f"batch 256, adam, {config['memory_epochs']} epochs) in a fresh process; peak = X "
        f"({fmt_bytes(x)}, used in place: no copy, no float64) + the tracemalloc peak during "
        f"fit. Bound = X + (3 + {k}) x model ({fmt_bytes(model)} each: params, gradient, "
        f"snapshot and Adam's {k} moments) + one batch of activations "
        f"({fmt_bytes(batch)}). Fit beyond X: ours {fmt_bytes(ours['fit_peak'])} = "
        f"{ours['fit_peak'] / model:.1f} x model, MLPClassifier {fmt_bytes(ref['fit_peak'])} = "
        f"{ref['fit_peak'] / model:.1f} x model. Ours held, in model-sized vectors: "
        f"params + grads {parts['network'] / model:.0f}, Adam state "
        f"{parts['optimizer'] / model:.0f}, divergence snapshot 1; plus workspace "
        f"{fmt_bytes(parts['workspace'])}, batch buffers {fmt_bytes(parts['batch_buffers'])}, "
        f"class codes {fmt_bytes(parts['targets'])}, sample indices (shuffled in place) "
        f"{fmt_bytes(parts['indices'])} (total {fmt_bytes(accounted)}; the rest is "
        f"transient: relu's derivative mask, {fmt_bytes(batch_rows_mask(ours['sizes']))} at "
        f"batch 256, and smaller arrays). Whole-process ru_maxrss (interpreter, libraries and X "
        f"included): ours {fmt_bytes(ours['max_rss'])}, MLPClassifier {fmt_bytes(ref['max_rss'])}"
    )


# --------------------------------------------------------------------- main
def run_row(row, table, config, state):
    """Measure one row (a name of ROWS) into ``table``."""
    if row in ("wide", "predict", "torch"):  # these share the wide row's measurements
        {"wide": row_wide, "predict": row_predict, "torch": row_torch}[row](table, config, state)
        return
    {
        "deep-narrow": row_deep_narrow,
        "rbm": row_rbm,
        "monitor": row_monitor,
        "curvature": row_curvature,
        "load": row_load,
        "memory": row_memory,
    }[row](table, config)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny problems, one repeat: a smoke run")
    parser.add_argument("--repeats", type=int, help="timings are the best of this many runs")
    parser.add_argument("--only", nargs="+", choices=ROWS, help="run only these rows")
    parser.add_argument("--memory-child", choices=["ours", "sklearn"], help=argparse.SUPPRESS)
    parser.add_argument("--memory-samples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory-epochs", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child:
        return memory_child(args.memory_child, args.memory_samples, args.memory_epochs)

    config = dict(QUICK if args.quick else FULL)
    if args.repeats:
        for key in ("repeats", "narrow_repeats", "wide_repeats", "load_repeats", "torch_repeats"):
            config[key] = args.repeats
    rows = args.only or ROWS
    print_header(config, args.quick)
    table = Table()
    state = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the fixed-epoch fits
        for row in rows:
            started = time.perf_counter()
            run_row(row, table, config, state)
            print(f"  {row}: measured in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    table.print()
    n_miss = sum(r[-1] == "MISS" for r in table.rows)
    print(f"\n{len(table.rows)} rows, {n_miss} MISS")


if __name__ == "__main__":
    main()
