"""Defaults that win: sk_deepnet's defaults against scikit-learn's MLP.

Two tables, each over data sets from scikit-learn's bundled loaders and
generators (nothing is downloaded), every model in
``make_pipeline(StandardScaler(), model)``, test score (accuracy or R^2 on a
25 % split) averaged over seeds (each seed draws the split, the generated data
and both models' random state):

1. **default vs default**: ``DeepMLPClassifier()`` / ``DeepMLPRegressor()``
   against ``MLPClassifier()`` / ``MLPRegressor()``. Target: on every set, our
   mean score is at least scikit-learn's minus 0.005.
2. **same architecture**: our defaults against
   ``MLP*(hidden_layer_sizes=(width,) * depth)`` with our default depth and
   width. Target: our fit time at most 0.8x scikit-learn's.

Fits of the two libraries alternate (ours, theirs, ours, ...), each is timed
``--repeats`` times and the best time is kept, so that a busy machine slows
both alike; the time ratio of a set is the ratio of the two best times and
the per-seed ratios give its range. BLAS runs ``--threads`` threads (1 by
default: the same for both, and stable on a shared machine).

Run ``python benchmarks/defaults.py`` (``--quick`` for a fast smoke run on
small subsets with few epochs, whose numbers mean nothing; ``--only`` for
some data sets; ``--ours depth=1`` to measure another setting of ours
against scikit-learn's defaults).
"""

import argparse
import ast
import platform
import time
import warnings

import numpy as np
import sklearn
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor


def _friedman1(seed):
    return datasets.make_friedman1(3000, noise=0.5, random_state=seed)


def _friedman3(seed):
    return datasets.make_friedman3(2000, noise=0.05, random_state=seed)


def _classification(seed):
    return datasets.make_classification(
        2000, 20, n_informative=10, n_classes=3, random_state=seed
    )


def _moons(seed):
    return datasets.make_moons(1000, noise=0.3, random_state=seed)


def _regression(seed):
    return datasets.make_regression(1000, 20, n_informative=10, noise=10.0, random_state=seed)


def _multilabel(seed):
    return datasets.make_multilabel_classification(1000, random_state=seed)


def _loader(load):
    return lambda seed: load(return_X_y=True)


#: name -> (task, function of the seed returning X, y)
DATA_SETS = {
    "digits": ("classification", _loader(datasets.load_digits)),
    "breast_cancer": ("classification", _loader(datasets.load_breast_cancer)),
    "wine": ("classification", _loader(datasets.load_wine)),
    "iris": ("classification", _loader(datasets.load_iris)),
    "make_classification": ("classification", _classification),
    "make_moons": ("classification", _moons),
    "diabetes": ("regression", _loader(datasets.load_diabetes)),
    "friedman1": ("regression", _friedman1),
    "friedman3": ("regression", _friedman3),
    "make_regression": ("regression", _regression),
    # Scored by subset accuracy (every label right), as both classifiers' score.
    "make_multilabel": ("multilabel", _multilabel),
}


def _models(task, same_architecture, quick, our_params=None):
    """(ours, scikit-learn's) unfitted pipelines for ``task``; ``our_params``
    override our defaults (``--ours``)."""
    regression = task == "regression"
    ours = (DeepMLPRegressor if regression else DeepMLPClassifier)(**(our_params or {}))
    theirs = (MLPRegressor if regression else MLPClassifier)()
    if same_architecture:
        theirs.set_params(hidden_layer_sizes=(ours.width,) * ours.depth)
    if quick:
        ours.set_params(max_iter=5)
        theirs.set_params(max_iter=5)
    return ours, theirs


def _fit_score(model, seed, split):
    """Fit time and test score of ``model`` in a StandardScaler pipeline."""
    X_train, X_test, y_train, y_test = split
    pipe = make_pipeline(StandardScaler(), model.set_params(random_state=seed))
    start = time.perf_counter()
    pipe.fit(X_train, y_train)
    return pipe.score(X_test, y_test), time.perf_counter() - start


def run_set(name, same_architecture, seeds, repeats, quick, our_params=None):
    """Per-seed scores and best times of both libraries on one data set."""
    task, make = DATA_SETS[name]
    rows = []
    for seed in seeds:
        X, y = make(seed)
        if quick:
            X, y = X[:200], y[:200]
        split = train_test_split(
            X, y, test_size=0.25, random_state=seed,
            stratify=y if task == "classification" else None,
        )
        ours, theirs = _models(task, same_architecture, quick, our_params)
        our_time = their_time = np.inf
        for _ in range(repeats):  # alternate, so that a load change hits both alike
            our_score, elapsed = _fit_score(ours, seed, split)
            our_time = min(our_time, elapsed)
            their_score, elapsed = _fit_score(theirs, seed, split)
            their_time = min(their_time, elapsed)
        rows.append((our_score, their_score, our_time, their_time))
    return len(X), np.array(rows)


def print_table(title, same_architecture, names, seeds, repeats, quick, our_params=None):
    print(f"\n{title}")
    print(
        f"{'data set':<20} {'n':>5}  {'sklearn':>8} {'ours':>8} {'diff':>7}  "
        f"{'(se)':>6}  {'sklearn s':>9} {'ours s':>8} {'ratio':>6} {'(range)':>13}  target"
    )
    n_pass = 0
    for name in names:
        n, rows = run_set(name, same_architecture, seeds, repeats, quick, our_params)
        ours, theirs = rows[:, 0].mean(), rows[:, 1].mean()
        our_time, their_time = rows[:, 2].min(), rows[:, 3].min()
        ratio = our_time / their_time
        per_seed = rows[:, 2] / rows[:, 3]
        # Standard error of the mean paired difference: the seed draws the
        # data, the split and both initializations, so the seeds' score
        # differences, not the two means, carry the comparison's noise.
        diffs = rows[:, 0] - rows[:, 1]
        se = diffs.std(ddof=1) / np.sqrt(len(diffs)) if len(diffs) > 1 else np.nan
        met = ratio <= 0.8 if same_architecture else ours >= theirs - 0.005
        n_pass += met
        print(
            f"{name:<20} {n:>5}  {theirs:>8.4f} {ours:>8.4f} {ours - theirs:>+7.4f} "
            f"{se:>6.4f}  "
            f"{their_time:>9.3f} {our_time:>8.3f} {ratio:>6.2f} "
            f"{f'({per_seed.min():.2f}-{per_seed.max():.2f})':>13}  "
            f"{'PASS' if met else 'MISS'}"
        )
    target = "time ratio <= 0.8" if same_architecture else "ours >= sklearn - 0.005"
    print(f"{n_pass}/{len(names)} sets meet the target ({target})")


def _parse_overrides(items, parser):
    """``["depth=1", "dropout=0.2"]`` -> ``{"depth": 1, "dropout": 0.2}``."""
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--ours takes PARAM=VALUE; got {item!r}")
        try:
            params[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name] = value  # a bare string: --ours activation=tanh
    return params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small subsets, 5 epochs, 1 seed: a smoke run")
    parser.add_argument(
        "--seeds", type=int, default=10,
        help="seeds per data set (10: the paired difference's standard error "
        "is then about the 0.005 tolerance; with 3 it is about twice that)",
    )
    parser.add_argument("--repeats", type=int, default=1,
                        help="fits per model and seed; the best time is kept")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--only", nargs="*", choices=sorted(DATA_SETS),
                        help="run only these data sets")
    parser.add_argument("--table", choices=["defaults", "architecture", "both"],
                        default="both")
    parser.add_argument(
        "--ours", nargs="*", default=[], metavar="PARAM=VALUE",
        help="override our defaults, e.g. --ours depth=1 dropout=0.2 (values "
        "are Python literals): what a change of default would do",
    )
    args = parser.parse_args(argv)
    our_params = _parse_overrides(args.ours, parser)
    seeds = range(1 if args.quick else args.seeds)
    names = args.only or list(DATA_SETS)
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(
        f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
        f"python {platform.python_version()}, {len(seeds)} seed(s), "
        f"best of {args.repeats} fit(s), {args.threads} BLAS thread(s)"
    )
    print("our parameters:", our_params or "the defaults")
    print("BLAS:", ", ".join(sorted({i["internal_api"] for i in threadpool_info()})))
    with threadpool_limits(args.threads):
        if args.table in ("defaults", "both"):
            print_table(
                "Default vs default: DeepMLP*() against MLP*(), StandardScaler pipelines",
                False, names, seeds, args.repeats, args.quick, our_params,
            )
        if args.table in ("architecture", "both"):
            ours = DeepMLPClassifier()
            print_table(
                f"Same architecture: DeepMLP*() against "
                f"MLP*(hidden_layer_sizes=({ours.width},) * {ours.depth})",
                True, names, seeds, args.repeats, args.quick, our_params,
            )


if __name__ == "__main__":
    main()
