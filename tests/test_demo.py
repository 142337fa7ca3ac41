"""The README's demo command runs and prints its table."""

import os
import subprocess
import sys


def test_demo_runs_in_smoke_mode():
    env = {**os.environ, "SK_DEEPNET_EXAMPLES_SMOKE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "sk_deepnet.demo"],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    assert "depth  optimizer  accuracy" in result.stdout
    assert "diagnosis 'vanishing'" in result.stdout  # the deep sigmoid net
    assert "diagnosis 'healthy'" in result.stdout  # the relu net


def test_demo_says_which_blas_and_how_many_threads(capsys):
    from sklearn.datasets import load_digits

    from sk_deepnet import DeepMLPClassifier, config_context
    from sk_deepnet.demo import describe_blas

    X, _ = load_digits(return_X_y=True)
    describe_blas(DeepMLPClassifier(width=64), X)
    out = capsys.readouterr().out
    assert out.startswith("BLAS: ") and "these fits use 1 BLAS thread " in out
    with config_context(blas_threads=None):  # conftest holds BLAS to one thread
        describe_blas(DeepMLPClassifier(width=64), X)
    assert "these fits use 1 BLAS thread " in capsys.readouterr().out
