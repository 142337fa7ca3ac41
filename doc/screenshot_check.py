"""Look at the built docs in a real browser: headless Chromium.

Serves the built HTML (``doc/_build/html``) on a local port, and for each page
of ``PAGES`` (the index, a user-guide page with math, API pages) takes
a screenshot and dumps the DOM after the page's scripts ran, then checks:

* the math is typeset: MathJax's output elements (``mjx-container``) are in
  the DOM, as many as the page has math, and no raw ``\\(`` or ``\\[`` LaTeX is
  left in a math element;
* the API class page lists the methods (``fit``, ``predict``, ...);
* nothing is loaded from the network (Chromium runs with the network features
  it has switched off, and the page's own references are checked by
  tests/test_docs.py).

Needs Chromium (Debian: ``apt-get install chromium``) and built docs
(``python -m sphinx -W --keep-going -b html doc doc/_build/html``). Run from
the repository root::

    python doc/screenshot_check.py [--html doc/_build/html] [--out DIR]

It prints the screenshots' paths (look at them) and exits non-zero with the
problems found. ``tests/test_docs.py`` runs it when Chromium and the built docs
are there, and skips otherwise.
"""

import argparse
import functools
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: page -> what it must show: "math" (typeset math) or the methods listed;
#: "height": the window's height when not WINDOW's.
PAGES = {
    "index.html": {},
    "user_guide/vanishing_gradients.html": {"math": True},
    "generated/sk_deepnet.DeepMLPClassifier.html": {
        "methods": ("sk_deepnet.DeepMLPClassifier", [
            "fit", "predict", "predict_proba", "partial_fit", "pretrain_fit", "score",
        ]),
    },
    # A long API title, and the previous/next links at the bottom of a short page.
    "generated/sk_deepnet.callbacks.make_gradient_health_scorer.html": {},
    # The gradient monitor's reports and warnings in an example's output, and
    # its figures: a tall window to see them all.
    "auto_examples/plot_gradient_flow.html": {"height": 9000},
}

WINDOW = (1280, 2400)
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--hide-scrollbars", "--disable-dev-shm-usage",
    # Let the page's scripts (MathJax) finish before the screenshot or the dump.
    "--virtual-time-budget=20000",
]
TIMEOUT = 180


def find_chromium():
    """The Chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def _serve(root):
    """A local HTTP server of ``root`` in a thread; returns (server, base URL)."""
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _chromium(chromium, profile, height, *args):
    window = f"--window-size={WINDOW[0]},{height}"
    command = [chromium, *CHROMIUM_FLAGS, window, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)


def _check_math(page, source, dom):
    expected = len(re.findall(r'class="math[ "]', source))
    typeset = dom.count("<mjx-container")
    problems = []
    if expected == 0:
        problems.append(f"{page}: the page has no math to check")
    if typeset < expected:
        problems.append(f"{page}: {typeset} typeset formulas (mjx-container) of {expected}")
    raw = re.findall(r'class="math[^"]*">\s*(\\[(\[])', dom)
    if raw:
        problems.append(f"{page}: {len(raw)} math elements still show raw LaTeX")
    return problems


def _check_methods(page, dom, prefix, methods):
    missing = [name for name in methods if f'id="{prefix}.{name}"' not in dom]
    return [f"{page}: methods not listed: {missing}"] if missing else []


def check(html_root, out_dir):
    """Screenshot and check every page of ``PAGES``; return the problems found."""
    chromium = find_chromium()
    if chromium is None:
        return ["Chromium not found (Debian: apt-get install chromium)"]
    html_root, out_dir = Path(html_root), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    problems = []
    server, base = _serve(html_root)
    try:
        with tempfile.TemporaryDirectory() as profile:
            for page, wanted in PAGES.items():
                source_path = html_root / page
                if not source_path.is_file():
                    problems.append(f"{page}: not built")
                    continue
                url = f"{base}/{page}"
                shot = out_dir / (page.replace("/", "_").removesuffix(".html") + ".png")
                height = wanted.get("height", WINDOW[1])
                result = _chromium(chromium, profile, height, f"--screenshot={shot}", url)
                if not shot.is_file():
                    problems.append(f"{page}: no screenshot ({result.stderr[-500:]})")
                    continue
                print(f"screenshot: {shot}")
                dom = _chromium(chromium, profile, height, "--dump-dom", url).stdout
                if "</html>" not in dom:
                    problems.append(f"{page}: Chromium dumped no DOM")
                    continue
                if wanted.get("math"):
                    source = source_path.read_text(encoding="utf-8")
                    problems.extend(_check_math(page, source, dom))
                if "methods" in wanted:
                    problems.extend(_check_methods(page, dom, *wanted["methods"]))
    finally:
        server.shutdown()
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", default=str(HERE / "_build" / "html"))
    parser.add_argument("--out", default=None, help="folder of the screenshots")
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="sk_deepnet_screens_")
    problems = check(args.html, out)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if problems:
        sys.exit(1)
    print(f"all pages render: math typeset, methods listed (screenshots in {out})")


if __name__ == "__main__":
    main()
