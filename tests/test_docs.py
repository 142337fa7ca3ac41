"""Keep the documentation in step with the code, without building it.

* every public name (each public module's ``__all__``) is in the API reference;
* every optimizer and learning-rate schedule is described in the user guide;
* every example the user guide links to exists;
* every estimator parameter named in the MLP mapping table exists;
* after a full documentation build, every line of example output that the user
  guide quotes (its ``.. code-block:: text`` blocks) is in the output the
  gallery recorded, so the guide's numbers are the examples' numbers (skipped
  when no full gallery of the current package sources has been built).

The full check is the documentation build itself
(``python -m sphinx -W --keep-going -b html doc doc/_build/html``).
"""

import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "doc"
PUBLIC_MODULES = [
    "sk_deepnet",
    "sk_deepnet.optimizers",
    "sk_deepnet.schedules",
    "sk_deepnet.callbacks",
    "sk_deepnet.exceptions",
    "sk_deepnet.plotting",
    "sk_deepnet.pretraining",
]

pytestmark = pytest.mark.skipif(not DOC.is_dir(), reason="no doc/ directory")
sys.path.insert(0, str(DOC / "sphinxext"))


def _read(path):
    return path.read_text(encoding="utf-8")


def _api_entries():
    """``{module: set of names}`` listed in the autosummary tables of api.rst."""
    entries, module = {}, None
    for line in _read(DOC / "api.rst").splitlines():
        match = re.match(r"\.\. currentmodule:: (\S+)", line)
        if match:
            module = match.group(1)
            continue
        match = re.match(r"   ([A-Za-z_][A-Za-z0-9_]*)$", line) or re.match(
            r"\.\. data:: ([A-Za-z_][A-Za-z0-9_]*)$", line
        )
        if match and module:
            entries.setdefault(module, set()).add(match.group(1))
    return entries


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_api_reference_lists_every_public_name(module_name):
    module = importlib.import_module(module_name)
    public = {name for name in module.__all__ if not name.startswith("__")}
    listed = _api_entries().get(module_name, set())
    assert public - listed == set(), (
        f"doc/api.rst does not list {sorted(public - listed)} of {module_name}"
    )
    assert listed - public == set(), (
        f"doc/api.rst lists {sorted(listed - public)}, not in {module_name}.__all__"
    )


def test_user_guide_describes_every_optimizer_and_schedule():
    from sk_deepnet.optimizers import OPTIMIZERS
    from sk_deepnet.schedules import SCHEDULES

    text = _read(DOC / "user_guide" / "optimizers.rst")
    for name in list(OPTIMIZERS) + list(SCHEDULES):
        assert f'"{name}"' in text, f"optimizers.rst does not mention {name!r}"


def test_linked_examples_exist():
    pattern = re.compile(r"sphx_glr_auto_examples_(\w+)\.py")
    for rst in DOC.rglob("*.rst"):
        if "_build" in rst.parts or "auto_examples" in rst.parts or "generated" in rst.parts:
            continue
        for name in pattern.findall(_read(rst)):
            assert (ROOT / "examples" / f"{name}.py").is_file(), (
                f"{rst.relative_to(ROOT)} links to the missing example {name}.py"
            )


def test_mlp_mapping_names_real_parameters():
    from sk_deepnet import DeepMLPClassifier

    params = set(DeepMLPClassifier().get_params())
    text = _read(DOC / "user_guide" / "coming_from_mlp.rst")
    table = text.split("Parameter mapping", 1)[1].split("A translated example", 1)[0]
    rows = re.split(r"\n   \* - ", table)[2:]  # skip the header row
    for row in rows:
        cells = re.split(r"\n     - ", row)
        ours = cells[1] if len(cells) > 1 else ""
        for name in re.findall(r"``([a-z_0-9]+)(?:=|``)", ours):
            if name.endswith("_") or name == "pretrain_":
                continue
            assert name in params, (
                f"coming_from_mlp.rst maps to {name!r}, not a DeepMLPClassifier parameter"
            )


def _normalize(text):
    return " ".join(text.split())


def test_user_guide_quotes_match_the_gallery_output():
    from gallery_stamp import gallery_stamp

    mode_file = DOC / "auto_examples" / "gallery_mode.txt"
    if not mode_file.is_file() or mode_file.read_text().strip() != gallery_stamp(smoke=False):
        pytest.skip(
            "no full gallery of the current sk_deepnet sources: build the docs "
            "without SK_DEEPNET_EXAMPLES_SMOKE"
        )
    recorded = [
        _normalize(line)
        for rst in (DOC / "auto_examples").glob("*.rst")
        for line in _read(rst).splitlines()
    ]
    missing = []
    for rst in sorted((DOC / "user_guide").glob("*.rst")):
        blocks = re.findall(r"\.\. code-block:: text\n\n((?:    .*\n|\n)+)", _read(rst))
        for block in blocks:
            for line in block.splitlines():
                quoted = _normalize(line)
                if not quoted or set(quoted) <= set("-"):
                    continue
                # A quote may leave out trailing columns, and "..." stands for
                # columns left out in the middle: match within one output line.
                parts = [part.strip() for part in quoted.split("...") if part.strip()]
                pattern = re.compile(".*".join(re.escape(part) for part in parts))
                if not any(pattern.search(line) for line in recorded):
                    missing.append(f"{rst.name}: {line.strip()}")
    assert not missing, (
        "the user guide quotes example output that the last full gallery build "
        "did not print (re-run the examples and update the quotes):\n"
        + "\n".join(missing)
    )
