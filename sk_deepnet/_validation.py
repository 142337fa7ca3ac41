"""Range checks of the data a model trains on, shared by the estimators and the RBMs,
and of the counts the optimizers and schedules take.

Values that do not fit the training dtype would turn into ``inf`` or ``0`` in
the first mini-batch, and training would then fail far from the cause; these
checks name the input and the fix instead.
"""

from numbers import Integral

import numpy as np


def check_count(value, name):
    """Raise unless ``value`` is a non-negative int (a bool is not): a count.

    Parameters
    ----------
    value : object
        The count (of steps, epochs or samples).
    name : str
        Its argument's name, for the error.

    Raises
    ------
    TypeError
        If ``value`` is not an int.
    ValueError
        If it is negative.
    """
    if type(value) is int and value >= 0:
        return  # the common case, without the costlier Integral check (every epoch)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int; got {value!r}.")
    if value < 0:
        raise ValueError(f"{name} must be >= 0; got {value}.")


def check_representable(values, dtype, name):
    """Raise if float ``values`` do not fit the range of ``dtype``.

    Values beyond its largest number would become inf; data whose every
    nonzero value is below its smallest normal number would become 0 or
    subnormals of few significant bits (``1e-300`` is 0 in float32), and the
    model would train on zeros. Only wider values are checked: those of the
    training dtype fit it.

    Parameters
    ----------
    values : array-like
        The data (for a sparse matrix, its ``data``).
    dtype : numpy dtype
        The training dtype.
    name : str
        How the message calls the values (``"X"``, ``"y"``).
    """
    values = np.asarray(values)
    if not (values.size and values.dtype.kind == "f"):
        return
    info = np.finfo(dtype)
    if np.finfo(values.dtype).max <= info.max:
        return
    largest = max(float(values.max()), -float(values.min()))
    if largest > info.max:
        raise ValueError(
            f"{name} has values beyond the {info.dtype.name} range "
            f"(|{name}| > {info.max:.3g}), which would become infinite in training. "
            f"Scale {name} (e.g. with StandardScaler) or use dtype='float64'."
        )
    if 0 < largest < info.tiny:
        raise ValueError(
            f"{name} underflows the training dtype {info.dtype.name}: its largest "
            f"absolute value, {largest:.3g}, is below the smallest normal "
            f"{info.dtype.name} number ({info.tiny:.3g}), so every value would be 0 "
            f"or lose its precision in training. Rescale {name} (e.g. divide it by "
            "its largest absolute value, as MaxAbsScaler does) or use dtype='float64'."
        )


def sample_weight_in_dtype(sample_weight, dtype):
    """Validated non-negative float64 weights, cast to the training ``dtype``.

    Raises a ValueError that says what went wrong when no weight is positive,
    when the positive weights all underflow ``dtype`` (below its smallest normal
    number they become 0, or denormals of few significant bits: 1e-50 is 0 in
    float32), and when their sum overflows it.
    """
    dtype = np.dtype(dtype)
    largest = float(sample_weight.max()) if sample_weight.size else 0.0
    if not largest > 0:  # scikit-learn < 1.9 lets it through
        raise ValueError("Sample weights must contain at least one non-zero number.")
    tiny = np.finfo(dtype).tiny
    if largest < tiny:
        raise ValueError(
            f"sample_weight underflows the training dtype {dtype.name}: its largest "
            f"value, {largest:.3g}, is below the smallest normal {dtype.name} number "
            f"({tiny:.3g}), so every weight would be 0 or lose its precision in "
            "training. Rescale sample_weight (e.g. divide it by its mean); only the "
            "weights' ratios matter."
        )
    weights = sample_weight.astype(dtype, copy=False)
    if not np.isfinite(weights.sum()):
        raise ValueError(
            f"sample_weight sums to more than the largest {dtype.name} "
            "number; rescale it (e.g. divide it by its mean)."
        )
    return weights
