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
