"""The README's demo command runs and tells its story in the first screen."""

import os
import subprocess
import sys


def test_demo_runs_in_smoke_mode_and_tells_the_story_first():
    env = {**os.environ, "SK_DEEPNET_EXAMPLES_SMOKE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "sk_deepnet.demo"],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    lines = result.stdout.splitlines()
    first_screen = "\n".join(lines[:50])
    # The failing network and the fixed one, each with its report.
    assert "it does not learn" in first_screen and "it learns" in first_screen
    assert "diagnosis 'vanishing'" in first_screen  # the deep sigmoid net
    assert "diagnosis 'healthy'" in first_screen  # the relu net
    assert first_screen.count("diagnosis: vanishing;") == 1
    assert first_screen.count("diagnosis: healthy;") == 1
    assert first_screen.count("layer     gradient relative  err rel") == 2
    # The gradient ratio is called a ratio.
    assert "gradient-norm ratio first/output layer" in first_screen
    assert "(a ratio" in first_screen
    # Then the depth x optimizer table, whose epochs column says when
    # max_iter was reached.
    assert "depth  optimizer  accuracy" in result.stdout
    assert "5 (max)" in result.stdout
    assert "(max): training ran all max_iter=5 epochs" in result.stdout
    # And where to read next, last.
    tail = "\n".join(lines[-6:])
    assert "Read next:" in tail and "vanishing_gradients.rst" in tail


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
