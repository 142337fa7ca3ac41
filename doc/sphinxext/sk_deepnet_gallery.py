"""Order of the examples in the sphinx-gallery gallery.

From the problem (vanishing gradients) to its remedies, then the optimizers, then
scikit-learn tooling. Examples not listed here come after these, by file name, so
a new example appears in the gallery without editing this list.
"""

from pathlib import Path

ORDER = [
    "plot_vanishing_gradients.py",
    "plot_gradient_flow.py",
    "plot_rbm_pretraining.py",
    "plot_optimizer_trajectories.py",
    "plot_optimizer_comparison.py",
    "plot_sparse_features.py",
    "grid_search_depth_optimizer.py",
]


class ExampleOrder:
    """sphinx-gallery ``within_subsection_order`` key: ``ORDER``, then file name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = Path(filename).name
        rank = ORDER.index(name) if name in ORDER else len(ORDER)
        return f"{rank:03d}_{name}"

    def __repr__(self):
        return "<ExampleOrder>"
