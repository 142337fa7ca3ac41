"""Regenerate ``doc/_static/gradient_flow.png``, the README's figure.

The figure is the first plot of the gallery example
``examples/plot_gradient_flow.py`` (per-layer gradient norms of a 10-layer
sigmoid network and a 5-layer relu network): this script runs that example as
it is, in full (not in smoke mode), and saves its first figure. Run it from the
repository root after changing the example or the plotting code::

    python doc/readme_figure.py
"""

import os
import runpy
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "doc" / "_static" / "gradient_flow.png"


def main():
    if os.environ.get("SK_DEEPNET_EXAMPLES_SMOKE"):
        sys.exit("unset SK_DEEPNET_EXAMPLES_SMOKE: the README shows the full example")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # as doc/conf.py does for the gallery
    sys.path.insert(0, str(ROOT))
    runpy.run_path(str(ROOT / "examples" / "plot_gradient_flow.py"), run_name="__main__")
    plt.figure(1).savefig(OUTPUT, dpi=100)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
