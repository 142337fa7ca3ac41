"""Keep the documentation in step with the code, without building it.

* every public name (each public module's ``__all__``) is in the API reference;
* every optimizer and learning-rate schedule is described in the user guide;
* every example the user guide links to exists;
* every estimator parameter named in the MLP mapping table exists;
* after a full documentation build, every line of example output that the user
  guide quotes (its ``.. code-block:: text`` blocks) is in the output the
  gallery recorded, so the guide's numbers are the examples' numbers (skipped
  when no full gallery of the current package sources has been built).

After a documentation build (the tests below skip, saying so, when the docs
are not built):

* every class page of the API reference lists the class's public methods;
* no built page loads a script or a stylesheet from the network (math is
  rendered by a local copy of MathJax);
* ``doc/screenshot_check.py`` renders pages in headless Chromium (when it is
  installed) and finds the math typeset and the methods listed.

The full check is the documentation build itself (``BUILD`` below).
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

HTML = DOC / "_build" / "html"
BUILD = "python -m sphinx -W --keep-going -b html doc doc/_build/html"

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


def test_math_text_has_no_escaped_underscores():
    # MathJax typesets \text{...} as plain text: \text{init\_scale} showed
    # its backslash ("init\_scale") where LaTeX would print init_scale.
    sources = [p for p in DOC.rglob("*.rst") if not {"_build", "auto_examples", "generated"}
               & set(p.parts)]
    sources += list((ROOT / "sk_deepnet").glob("*.py")) + list((ROOT / "examples").glob("*.py"))
    pattern = re.compile(r"\\text\{[^}]*\\_")
    for path in sources:
        found = pattern.findall(_read(path))
        assert not found, f"{path.relative_to(ROOT)}: {found} (write \\text{{init_scale}})"


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
    if not mode_file.is_file():
        pytest.skip(f"docs not built (no example gallery): build them with `{BUILD}`")
    built = mode_file.read_text().strip()
    if built.split()[0] == "smoke":
        pytest.skip(
            "the last docs build ran the gallery in smoke mode: rebuild without "
            f"SK_DEEPNET_EXAMPLES_SMOKE (`{BUILD}`)"
        )
    if built != gallery_stamp(smoke=False):
        pytest.skip(
            "the gallery was built from older sk_deepnet sources: rebuild the docs "
            f"(`{BUILD}`)"
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


# ------------------------------------------------------------ the built docs
def _built_page(relative):
    page = HTML / relative
    if not page.is_file():
        pytest.skip(f"docs not built ({relative} missing): build them with `{BUILD}`")
    return page.read_text(encoding="utf-8")


def _class_template_entries():
    """``(module, name)`` of each entry of api.rst under ``:template: .../class.rst``."""
    entries, module, in_class_table = [], None, False
    for line in _read(DOC / "api.rst").splitlines():
        match = re.match(r"\.\. currentmodule:: (\S+)", line)
        if match:
            module = match.group(1)
        elif line.startswith(".. "):
            in_class_table = False
        elif re.match(r"   :template: (autosummary/)?class\.rst$", line):
            in_class_table = True
        elif in_class_table and re.match(r"   [A-Za-z_]\w*$", line):
            entries.append((module, line.strip()))
    return entries


def _public_methods(cls):
    return sorted(
        name for name in dir(cls)
        if not name.startswith("_") and callable(getattr(cls, name, None))
        and not isinstance(getattr(cls, name), type)
    )


def test_api_class_pages_use_the_class_template():
    entries = _class_template_entries()
    assert ("sk_deepnet", "DeepMLPClassifier") in entries
    assert ("sk_deepnet.callbacks", "GradientMonitor") in entries
    # autosummary looks a :template: up in templates_path, and silently falls
    # back to its own template (no methods) when it is not found there.
    for line in _read(DOC / "api.rst").splitlines():
        match = re.match(r"   :template: (\S+)$", line)
        if match:
            assert (DOC / "_templates" / match.group(1)).is_file(), line


@pytest.mark.parametrize(
    "module_name, class_name", _class_template_entries(), ids=lambda value: str(value)
)
def test_api_class_page_lists_every_public_method(module_name, class_name):
    html = _built_page(f"generated/{module_name}.{class_name}.html")
    cls = getattr(importlib.import_module(module_name), class_name)
    methods = _public_methods(cls)
    missing = [
        name for name in methods if f'id="{module_name}.{class_name}.{name}"' not in html
    ]
    assert not missing, (
        f"generated/{module_name}.{class_name}.html does not document {missing}: "
        "is the autosummary class template (doc/_templates/autosummary/class.rst) used?"
    )


@pytest.mark.parametrize(
    "page, methods",
    [
        ("sk_deepnet.DeepMLPClassifier", ["fit", "predict", "predict_proba", "partial_fit",
                                          "pretrain_fit", "score"]),
        ("sk_deepnet.DeepMLPRegressor", ["fit", "predict", "partial_fit", "pretrain_fit"]),
        ("sk_deepnet.callbacks.GradientMonitor", ["report"]),
        ("sk_deepnet.plotting.GradientFlowDisplay", ["from_estimator", "from_monitor", "plot"]),
        ("sk_deepnet.pretraining.BernoulliRBM", ["fit", "transform"]),
        ("sk_deepnet.pretraining.GaussianBernoulliRBM", ["fit", "transform"]),
    ],
)
def test_api_pages_of_the_issue_list_their_methods(page, methods):
    html = _built_page(f"generated/{page}.html")
    for name in methods:
        assert f'id="{page}.{name}"' in html, f"{page}.html lacks {name}"


def test_api_pages_have_examples_mini_galleries():
    html = _built_page("generated/sk_deepnet.DeepMLPClassifier.html")
    assert "Examples using" in html and "sphx-glr-thumbcontainer" in html
    html = _built_page("generated/sk_deepnet.plotting.GradientFlowDisplay.html")
    assert "plot_gradient_flow" in html


_EXTERNAL = re.compile(
    r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//", re.IGNORECASE
)


def test_built_pages_load_nothing_from_the_network():
    _built_page("index.html")
    offenders = []
    for page in sorted(HTML.rglob("*.html")):
        for tag in _EXTERNAL.findall(page.read_text(encoding="utf-8")):
            offenders.append(f"{page.relative_to(HTML)}: {tag}")
    assert not offenders, "pages load resources from the network:\n" + "\n".join(offenders)
    guide = _built_page("user_guide/vanishing_gradients.html")
    scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', guide, re.IGNORECASE)
    assert scripts, "the user guide loads no MathJax"
    for src in scripts:
        assert (HTML / "user_guide" / src.split("?")[0]).resolve().is_file(), src
    assert (HTML / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def test_screenshot_check_renders_math_and_methods(tmp_path):
    """doc/screenshot_check.py in headless Chromium (Debian's ``chromium``)."""
    sys.path.insert(0, str(DOC))
    import screenshot_check

    if screenshot_check.find_chromium() is None:
        pytest.skip("Chromium not installed (Debian: apt-get install chromium)")
    _built_page("index.html")
    problems = screenshot_check.check(HTML, tmp_path)
    assert not problems, "\n".join(problems)
    assert len(list(tmp_path.glob("*.png"))) == len(screenshot_check.PAGES)
