"""Smoke test of the benchmark suite: ``--quick`` runs every row and prints the table.

It checks that the script runs and reports, never how fast anything is: timings
belong to ``python benchmarks/run_benchmarks.py``, which prints ratios measured
side by side in one run.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run_benchmarks.py"
BREAKDOWN = SCRIPT.with_name("breakdown.py")
PARTS = ["gather", "forward", "loss", "backward", "L2 penalty", "optimizer step"]

ROWS = [
    "deep-narrow fit, time/epoch",
    "wide fit, time/epoch",
    "wide fit vs GEMM bound",
    "wide fit, thread speedup kept",
    "RBM epoch",
    "GradientMonitor() overhead",
    "CurvatureMonitor() overhead",
    "jacobian_spectra overhead",
    "predict_proba throughput",
    "under load: medium (friedman1) fit vs 1 thread",
    "under load: medium (friedman1) fit vs sklearn",
    "under load: deep-narrow fit vs 1 thread",
    "under load: deep-narrow fit vs sklearn",
    "deep-narrow fit vs PyTorch",
    "wide fit vs PyTorch",
    "peak memory of fit",
]


def _run_quick(script, *args):
    """The standard output of ``script --quick *args``, which must succeed."""
    # --quick takes a few seconds; the timeout only guards against a hang on a
    # heavily loaded machine.
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, str(script), "--quick", *args],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_quick_benchmark_prints_the_table():
    out = _run_quick(SCRIPT)
    # The header: versions, BLAS and thread counts.
    assert "numpy" in out and "scikit-learn" in out
    assert "threadpool:" in out and "threads" in out
    assert "OPENBLAS_CORETYPE=" in out
    # The table: its header and one line per row, each with a result.
    assert "benchmark" in out and "ratio" in out and "target" in out
    lines = out.splitlines()
    for row in ROWS:
        matching = [line for line in lines if line.startswith(row)]
        assert len(matching) == 1, f"row {row!r} missing from:\n{out}"
        assert matching[0].split()[-1] in {"PASS", "MISS", "SKIP", "info"}
    assert "rows," in lines[-1] and "MISS" in lines[-1]


def test_busy_processes_are_stopped():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from run_benchmarks import busy_processes
    finally:
        sys.path.remove(str(SCRIPT.parent))
    try:
        with busy_processes(2) as procs:
            assert all(proc.poll() is None for proc in procs)  # running
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert all(proc.poll() is not None for proc in procs)  # stopped


def test_quick_thread_threshold_prints_the_crossover():
    out = _run_quick(SCRIPT.with_name("thread_threshold.py"))
    assert "BLAS:" in out
    if "no crossover to measure" not in out:  # BLAS has more than one thread
        assert "crossover:" in out and "busy:" in out and "under load," in out


def test_quick_breakdown_prints_every_part_of_a_batch():
    out = _run_quick(BREAKDOWN)
    for network in ("deep-narrow:", "wide:"):
        block = out.split(network, 1)[1]
        for part in [*PARTS, "sum of the parts", "matrix products alone", "one batch inside fit"]:
            assert re.search(rf"^  {re.escape(part)} +[0-9.]+ us", block, re.M), (part, out)


def test_quick_design_choices_prints_every_comparison():
    out = _run_quick(SCRIPT.with_name("design_choices.py"))
    for title in [
        "product into a preallocated buffer",
        "relu of a 256x512 batch",
        "forward pass of the wide network",
        "relu derivative of a 32x64 batch",
        "input gradient delta @ W.T",
        "Adam step over 932362 float32 parameters",
        "a training step of the wide network (batch 256, Adam, L2), taking turns",
        "a training step of the wide network (batch 256, Adam, L2), in order",
        "SciPy's BLAS axpy next to NumPy's matrix products",
    ]:
        assert title in out, (title, out)
    assert len(re.findall(r" us$", out, re.M)) >= 29


def test_design_choices_runs_one_comparison_with_only():
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT.with_name("design_choices.py")), "--quick",
         "--only", "dot_vs_matmul"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "product into a preallocated buffer" in result.stdout
    assert "Adam step" not in result.stdout


def test_quick_defaults_prints_both_tables():
    out = _run_quick(SCRIPT.with_name("defaults.py"))
    assert "scikit-learn" in out and "BLAS thread" in out
    sections = out.split("Same architecture:")
    assert len(sections) == 2 and "Default vs default:" in sections[0]
    names = ["digits", "breast_cancer", "wine", "iris", "make_classification", "make_moons",
             "diabetes", "friedman1", "friedman3", "make_regression", "make_multilabel"]
    for section in sections:
        lines = section.splitlines()
        for name in names:
            row = [line for line in lines if line.startswith(name + " ")]
            assert len(row) == 1, (name, out)
            assert row[0].split()[-1] in {"PASS", "MISS"}
        assert re.search(r"^\d+/11 sets meet the target", section, re.M), out


def test_quick_defaults_measures_other_settings_of_ours():
    out = _run_quick(
        SCRIPT.with_name("defaults.py"), "--table", "defaults", "--only", "iris",
        "make_multilabel", "--ours", "depth=1", "activation=tanh",
    )
    assert "our parameters: {'depth': 1, 'activation': 'tanh'}" in out
    assert re.search(r"^\d/2 sets meet the target", out, re.M), out
