"""Sphinx configuration of the sk_deepnet documentation.

Build (from the repository root), with zero warnings allowed::

    python -m sphinx -W --keep-going -b html doc doc/_build/html

The example gallery runs every ``examples/plot_*.py`` and
``examples/grid_search_depth_optimizer.py`` and renders their real figures. For a
fast draft build (a few seconds per example, small figures), set
``SK_DEEPNET_EXAMPLES_SMOKE=1``. No network access is needed: intersphinx is not
used.
"""

import os
import sys
from pathlib import Path

# The examples train small networks: one BLAS thread is the fastest, and several
# threads slow them down badly when the machine is busy. Set before numpy loads;
# an explicit setting in the environment wins.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # sk_deepnet itself, even when not installed
sys.path.insert(0, str(HERE / "sphinxext"))

import sk_deepnet  # noqa: E402

# -- Project -----------------------------------------------------------------
project = "sk_deepnet"
author = "the sk_deepnet developers"
copyright = "the sk_deepnet developers, BSD-3-Clause"
release = sk_deepnet.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
# No sphinx.ext.intersphinx: the build must not touch the network.

# Math renders without internet: MathJax comes from the pip package
# sphinx-mathjax-offline (in the ``docs`` extra), which copies MathJax 3 into
# ``_static/mathjax`` of the build; sphinx.ext.mathjax would otherwise load it
# from a CDN and an offline reader would see raw LaTeX.
mathjax_path = "mathjax/tex-chtml.js"

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "sphinxext", "user_guide/_*.rst"]
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"

# -- autodoc / autosummary / numpydoc -----------------------------------------
autosummary_generate = True
# "fit()" rather than "DeepMLPClassifier.fit()" in a page's table of contents:
# the long form does not fit the sidebar.
toc_object_entries_show_parents = "hide"
autodoc_typehints = "none"
numpydoc_show_class_members = False  # autosummary templates list the members
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- sphinx-gallery ------------------------------------------------------------
SMOKE = bool(os.environ.get("SK_DEEPNET_EXAMPLES_SMOKE"))
if SMOKE:
    print("sk_deepnet docs: SK_DEEPNET_EXAMPLES_SMOKE is set, the gallery runs "
          "its examples in quick smoke mode.")

# sphinx-gallery re-runs an example only when its source changed. After a smoke
# build, a full build would therefore keep the smoke outputs (and the other way
# round), and a change in sk_deepnet would keep outputs computed by the old
# code: when the mode or the package's sources change, drop the generated
# gallery so that every example runs again. The stamp of the last build is kept
# in GALLERY_MODE_FILE (see sphinxext/gallery_stamp.py; tests/test_docs.py
# compares the user guide's quotes with a full gallery of the current sources).
import shutil  # noqa: E402

from gallery_stamp import gallery_stamp  # noqa: E402

GALLERY_DIR = HERE / "auto_examples"
GALLERY_MODE_FILE = GALLERY_DIR / "gallery_mode.txt"
_stamp = gallery_stamp(SMOKE)
_previous = GALLERY_MODE_FILE.read_text().strip() if GALLERY_MODE_FILE.is_file() else None
if _previous != _stamp and GALLERY_DIR.is_dir():
    shutil.rmtree(GALLERY_DIR)
GALLERY_DIR.mkdir(exist_ok=True)
# Execution-time pages left by an older build (see write_computation_times).
for _stale in (HERE / "sg_execution_times.rst", GALLERY_DIR / "sg_execution_times.rst"):
    _stale.unlink(missing_ok=True)
GALLERY_MODE_FILE.write_text(_stamp + "\n")

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Execute the plot_* examples and the grid-search example (which has no
    # plot_ prefix); any other file of examples/ is shown without running it.
    "filename_pattern": r"[\\/](plot_[^\\/]*|grid_search_depth_optimizer)\.py$",
    "within_subsection_order": "sk_deepnet_gallery.ExampleOrder",
    "doc_module": ("sk_deepnet",),
    "backreferences_dir": "gen_modules/backreferences",
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "plot_gallery": "True",
    "abort_on_example_error": False,
    # The execution-time pages load jQuery and DataTables from CDNs: the docs
    # must not need the network (tests/test_docs.py checks the built HTML).
    "write_computation_times": False,
    "only_warn_on_example_error": False,
}

# -- HTML --------------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401

    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_toc_level": 2,
        "secondary_sidebar_items": ["page-toc"],
    }
except ImportError:  # pragma: no cover - depends on the installed extras
    html_theme = "alabaster"
    html_theme_options = {}

html_title = f"sk_deepnet {release}"
html_show_sourcelink = False
html_static_path = ["_static"]
# Report tables, warnings and long API names fit the content column.
html_css_files = ["sk_deepnet.css"]


# -- Docstrings inherited from scikit-learn ------------------------------------
# The estimators inherit methods such as ``score``, ``set_params`` or
# ``set_fit_request`` whose docstrings link into scikit-learn's own user guide
# and glossary (``:ref:`metadata_routing```, ``:term:`meta-estimator```). Those
# targets exist only in scikit-learn's documentation and intersphinx is off, so
# such links are turned into plain text in docstrings that come from sklearn.
import re  # noqa: E402

_SKLEARN_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<[^`>]*>)?`", re.DOTALL)


def _unlink_sklearn_refs(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if not module.startswith("sklearn"):
        return
    text = _SKLEARN_ROLE.sub(lambda m: m.group(1).strip(), "\n".join(lines))
    lines[:] = text.split("\n")


def _drop_stale_execution_times(app):
    # Their pages from an older build stay in the output folder otherwise.
    for page in ("sg_execution_times.html", "auto_examples/sg_execution_times.html"):
        (Path(app.outdir) / page).unlink(missing_ok=True)


def setup(app):
    app.connect("builder-inited", _drop_stale_execution_times)
    # Before numpydoc (priority 500) reformats the docstring.
    app.connect("autodoc-process-docstring", _unlink_sklearn_refs, priority=400)
