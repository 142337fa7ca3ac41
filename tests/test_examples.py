"""Run every example of ``examples/`` in its quick smoke mode.

Each ``examples/*.py`` runs in a subprocess with ``SK_DEEPNET_EXAMPLES_SMOKE=1``
(every example then shrinks its data, epochs and grids to run in a few seconds)
and the non-interactive ``Agg`` matplotlib backend, from a temporary working
directory. The examples are found by glob, so a new example is tested as soon as
it is added. The selected examples start together, as many at a time as there
are CPU cores (most of a smoke run is importing numpy, scikit-learn and
matplotlib), and each test waits for its own. The full (non-smoke) runs happen
when the documentation is built.
"""

import ast
import os
from concurrent.futures import ThreadPoolExecutor
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))

#: Seconds one example may take in smoke mode before the test fails.
TIMEOUT = 60


def _smoke_env():
    env = dict(os.environ)
    env["SK_DEEPNET_EXAMPLES_SMOKE"] = "1"
    env["MPLBACKEND"] = "Agg"
    # Small matrices: one BLAS thread is fastest, and several pytest workers or
    # other processes on the machine would otherwise oversubscribe the cores.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    return env


def test_examples_exist():
    assert EXAMPLES, f"no examples found in {EXAMPLES_DIR}"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_has_gallery_header(path):
    """sphinx-gallery needs a module docstring that starts with a titled section."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring, f"{path.name} has no module docstring"
    lines = docstring.strip().splitlines()
    assert len(lines) >= 2, f"{path.name}: the docstring needs a title and underline"
    title, underline = lines[0].strip(), lines[1].strip()
    assert title and set(underline) == {"="} and len(underline) >= len(title), (
        f"{path.name}: the docstring must start with a title line underlined "
        f"with '=' at least as long as the title; got {title!r} / {underline!r}"
    )


def _run(path, cwd):
    """Run one example; return (returncode or None on timeout, stdout, stderr, seconds)."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(path)],
            cwd=cwd,
            env=_smoke_env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        return None, exc.stdout or "", exc.stderr or "", time.perf_counter() - start
    return proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start


@pytest.fixture(scope="module")
def smoke_runs(request, tmp_path_factory):
    """Start the smoke runs of every selected example, a few in parallel."""
    selected = [
        item.callspec.params["path"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_example_runs_in_smoke_mode"
    ]
    executor = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)))
    runs = {
        path: executor.submit(_run, path, tmp_path_factory.mktemp(path.stem))
        for path in selected
    }
    yield runs
    executor.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs_in_smoke_mode(path, smoke_runs):
    returncode, stdout, stderr, elapsed = smoke_runs[path].result()
    assert returncode is not None, (
        f"{path.name} took more than {TIMEOUT} s in smoke mode "
        f"(SK_DEEPNET_EXAMPLES_SMOKE=1); it should take a few seconds.\n"
        f"stdout:\n{stdout}\nstderr:\n{stderr}"
    )
    assert returncode == 0, (
        f"{path.name} exited with code {returncode} after {elapsed:.1f} s\n"
        f"--- stdout (tail) ---\n{stdout[-3000:]}\n"
        f"--- stderr (tail) ---\n{stderr[-5000:]}"
    )
