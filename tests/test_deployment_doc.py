"""The code of doc/user_guide/deployment.rst runs as written, and the skops types
the page lists are all the types its model needs trusted.

Every ``.. code-block:: python`` block of the page runs, in order, in one
namespace, in a temporary directory (the page writes model files).
"""

import re
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("skl2onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("skops")

PAGE = Path(__file__).resolve().parent.parent / "doc" / "user_guide" / "deployment.rst"
TYPES = PAGE.with_name("_skops_types.rst")

pytestmark = pytest.mark.skipif(not PAGE.is_file(), reason="no doc/ directory")


def _python_blocks(text):
    """The bodies of the page's ``.. code-block:: python`` directives."""
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    return [textwrap.dedent(block) for block in blocks]


def test_deployment_page_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = _python_blocks(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 5  # the model, joblib, skops (2), ONNX
    namespace = {}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)
    assert {"digits.joblib", "digits.skops", "digits.onnx"} <= {
        path.name for path in tmp_path.iterdir()
    }
    # Every type the page's model asks skops to trust is on the page's list.
    listed = TYPES.read_text(encoding="utf-8")
    missing = [name for name in namespace["unknown"] if name not in listed]
    assert not missing, f"_skops_types.rst does not list {missing}"
