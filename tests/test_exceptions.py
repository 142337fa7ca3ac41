"""The public warning classes, where warnings point, and the package's import graph."""

import ast
import pathlib
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score

import sk_deepnet
from sk_deepnet import DeepMLPClassifier, exceptions

PACKAGE = pathlib.Path(sk_deepnet.__file__).parent


def test_warning_classes_are_importable_where_they_were_published():
    from sk_deepnet import DivergenceWarning, FitInterruptedWarning, InconsistentVersionWarning
    from sk_deepnet.callbacks import GradientHealthWarning
    from sk_deepnet.pretraining import PretrainingWarning

    assert DivergenceWarning is exceptions.DivergenceWarning
    assert FitInterruptedWarning is exceptions.FitInterruptedWarning
    assert InconsistentVersionWarning is exceptions.InconsistentVersionWarning
    assert GradientHealthWarning is exceptions.GradientHealthWarning
    assert PretrainingWarning is exceptions.PretrainingWarning
    assert set(exceptions.__all__) == {
        name for name in dir(exceptions) if name.endswith("Warning") and not name.startswith("_")
    }


def test_warnings_of_a_fit_point_at_the_users_call():
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.arange(40) % 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DeepMLPClassifier(depth=1, width=3, max_iter=2, batch_size=100).fit(X, y)  # 2 warnings
    assert len(caught) == 2
    for warning in caught:
        assert warning.filename == __file__, warning


def _module_name(path):
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def _imports(tree, module):
    """The sk_deepnet modules a module imports at top level, and those imported in functions."""
    top, inner = set(), []
    package = module if module.endswith("__init__") else module.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        target = package + ("." + node.module if node.module else "")
        names = [target] if node.module else [f"{package}.{a.name}" for a in node.names]
        (top.update(names) if node in tree.body else inner.append((module, target)))
    return top, inner


def test_no_import_cycles_and_no_package_imports_inside_functions():
    graph, inner = {}, []
    for path in PACKAGE.glob("*.py"):
        module = _module_name(path).removesuffix(".__init__")
        top, local = _imports(ast.parse(path.read_text()), module)
        graph[module] = {t for t in top if t != module}
        inner += local
    assert inner == [], f"package imports inside functions: {inner}"

    state = {}

    def visit(node, trail):
        if state.get(node) == "done":
            return
        if state.get(node) == "open":
            pytest.fail("import cycle: " + " -> ".join(trail + [node]))
        state[node] = "open"
        for child in graph.get(node, ()):
            visit(child, trail + [node])
        state[node] = "done"

    for module in graph:
        # The package __init__ imports every module; a module that imports the
        # package back would be a cycle through it.
        visit(module, [])


def test_warnings_under_scikit_learns_functions_point_at_the_users_call():
    # cross_val_score clones and fits in scikit-learn's frames: the warnings
    # pointed there, not at the line that called it.
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.arange(40) % 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cross_val_score(DeepMLPClassifier(depth=1, width=3, max_iter=2), X, y, cv=2)
    assert [w.category for w in caught] == [ConvergenceWarning] * 2
    for warning in caught:
        assert warning.filename == __file__, warning


@pytest.mark.parametrize("module, silenced", [("sklearn", False), ("sk_deepnet", False), (None, True)])
def test_warning_filters_by_module_follow_the_users_line(module, silenced):
    # documented in doc/user_guide/coming_from_mlp.rst, 'Other differences':
    # scikit-learn's gallery filter (module="sklearn") does not silence ours
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module_kwarg = {} if module is None else {"module": module}
        warnings.filterwarnings("ignore", category=ConvergenceWarning, **module_kwarg)
        DeepMLPClassifier(depth=1, width=3, max_iter=1).fit(X, y)
    left = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert (not left) == silenced
    assert all(w.filename == __file__ for w in left)
