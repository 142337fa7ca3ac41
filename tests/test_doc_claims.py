"""Claims of the README and the user guide that no other test or example backs.

Each test runs the documented code, or the documented setting, and asserts the
number or the behaviour the text states, so that a change of the package that
makes the text wrong fails here. (The quotes of example output are checked by
``tests/test_docs.py``, the parameters of the MLP mapping table too.)
"""

import re
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

from sk_deepnet.exceptions import GradientHealthWarning

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _readme_usage():
    """The README's Python block: its source and the diagnosis its comment states."""
    block = re.search(r"## Usage\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    stated = re.search(r"diagnosis_\)\s*# '(\w+)'", block).group(1)
    return block, stated


def _run_usage(block, **swap):
    """Run the README's usage block, ``clf.set_params(**swap)`` before its fit."""
    # The swap goes in just before the fit; the print lines print nothing.
    block = block.replace("model = ", "clf.set_params(**_swap)\nmodel = ", 1)
    block = block.replace("print(", "_printed = (")
    namespace = {"_swap": swap}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", GradientHealthWarning)
        exec(compile(block, str(README), "exec"), namespace)
    return namespace["clf"].gradient_monitor_.diagnosis_


def test_readme_usage_prints_the_diagnosis_its_comment_states():
    block, stated = _readme_usage()
    assert stated == "vanishing"
    assert _run_usage(block) == stated


@pytest.mark.parametrize(
    "swap",
    [dict(activation="relu"), dict(normalization="batch"), dict(residual=True)],
    ids=lambda swap: "-".join(f"{k}={v}" for k, v in swap.items()),
)
def test_readme_swaps_change_the_diagnosis(swap):
    # "Swap in activation="relu", normalization="batch", residual=True or
    # pretrain="rbm" and watch the diagnosis change". (The RBM swap, healthy
    # too, pretrains for 2 s; test_pretraining.py's
    # test_pretraining_rescues_a_deep_sigmoid_network covers it.)
    block, stated = _readme_usage()
    assert _run_usage(block, **swap) == "healthy" != stated
