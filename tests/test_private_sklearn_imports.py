"""Private and experimental scikit-learn names are imported in one module only.

``sk_deepnet/_sklearn_compat.py`` gathers them (issue 16), so that a change in
scikit-learn is mended there alone.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sk_deepnet"
COMPAT = "_sklearn_compat.py"


def _private_sklearn_imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "sklearn":
                continue
            private_module = any(p.startswith("_") for p in parts) or "callback" in parts
            for alias in node.names:
                if private_module or alias.name.startswith("_"):
                    yield f"{path.name}:{node.lineno} {node.module}.{alias.name}"


def test_only_the_compat_module_imports_private_sklearn_names():
    found = [hit for path in sorted(PACKAGE.glob("*.py")) if path.name != COMPAT
             for hit in _private_sklearn_imports(path)]
    assert not found, found
