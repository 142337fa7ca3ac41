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
from sklearn.neural_network import MLPRegressor

from sk_deepnet.exceptions import GradientHealthWarning

# The port's data and keyword-translating factory (tests/ is on the path).
from test_sklearn_mlp_port import MLPRegressor as PortedMLPRegressor
from test_sklearn_mlp_port import X_reg, y_reg

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


# ------------------------------------------------------- coming_from_mlp.rst
def _partial_fit_regression_scores(Estimator):
    """R^2 of test_partial_fit_regression's momentum=0 fit, seeds 1 to 5."""
    scores = []
    for seed in range(1, 6):
        mlp = Estimator(solver="sgd", activation="relu", learning_rate_init=0.01,
                        random_state=seed, batch_size=X_reg.shape[0], momentum=0)
        for _ in range(100):
            mlp.partial_fit(X_reg, y_reg)
        scores.append(mlp.score(X_reg, y_reg))
    return scores


def test_the_ported_partial_fit_threshold_lies_within_the_seed_spread():
    # "its 0.65 threshold lies within the seed-to-seed spread of scikit-learn's
    # own MLP (0.644 to 0.699 over seeds 1 to 5; 0.634 to 0.736 here)".
    text = " ".join((ROOT / "doc" / "user_guide" / "coming_from_mlp.rst").read_text().split())
    quoted = re.search(r"\((\S+) to (\S+) over seeds 1 to 5; (\S+) to (\S+) here\)", text)
    theirs, ours = [float(x) for x in quoted.groups()[:2]], [float(x) for x in quoted.groups()[2:]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        measured = {
            "sklearn": _partial_fit_regression_scores(MLPRegressor),
            "ours": _partial_fit_regression_scores(PortedMLPRegressor),
        }
    for name, spread in [("sklearn", theirs), ("ours", ours)]:
        assert [round(min(measured[name]), 3), round(max(measured[name]), 3)] == spread, name
        assert min(measured[name]) < 0.65 < max(measured[name])
