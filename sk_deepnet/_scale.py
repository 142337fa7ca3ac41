"""How far data is from standardized: the checks behind a remedy that says "scale X".

A network trains on features and targets of about zero mean and unit spread
(what ``StandardScaler`` gives). The messages of a fit that diverged or
overflowed suggest scaling X or y only when that data is far from it, as
:func:`column_scale` measures it.
"""

import math

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.utils.sparsefuncs import mean_variance_axis

from ._warnings import or_list

#: Rows read to estimate a scale: evenly spaced over the data, enough for a
#: mean and a standard deviation within a few percent (a decision about a
#: factor of 10 needs no more), for about 5 ms on 784 float32 features.
SCALE_SAMPLE_ROWS = 2_000

#: Values summed at a time (rows times columns, at least one row): the
#: temporaries (the gathered rows and their float64 copy) stay about 100 KiB
#: however large the data, small beside a training batch's buffers, which the
#: fit still holds when a warning checks the scale.
_CHUNK_VALUES = 2**13

#: A column whose mean or standard deviation is above this (in absolute value)
#: is far from standardized (StandardScaler gives 0 and 1): wine's proline
#: (std about 315), a year (mean about 2000) or diabetes' target (std 77).
UNSCALED = 10.0


def column_scale(data):
    """The largest absolute mean and the largest standard deviation of a column of ``data``.

    ``data`` is as :func:`column_moments` takes it; both are 0.0 for data
    without rows or columns.
    """
    return _largest(*column_moments(data))


def _largest(mean, std):
    """The largest absolute mean and the largest std of columns' ``mean`` and ``std``."""
    if mean.size == 0:
        return 0.0, 0.0
    return float(np.max(np.abs(mean))), float(np.max(std))


def column_moments(data):
    """The mean and the standard deviation of each column of ``data``.

    Estimated on at most :data:`SCALE_SAMPLE_ROWS` evenly spaced rows: of a
    dense array summed in float64 a few rows at a time (temporaries of about
    100 KiB), of a sparse matrix without making it dense.

    Parameters
    ----------
    data : {ndarray, sparse matrix} of shape (n_samples,) or (n_samples, n_columns)
        Finite values (validated features or targets).

    Returns
    -------
    mean, std : ndarray of shape (n_columns,)
        Empty for data without rows or columns.
    """
    sparse = sp.issparse(data)
    data = sp.csr_matrix(data) if sparse else np.asarray(data)  # CSR slices rows
    if data.shape[0] == 0 or math.prod(data.shape[1:]) == 0:
        return np.empty(0), np.empty(0)
    step = max(1, math.ceil(data.shape[0] / SCALE_SAMPLE_ROWS))
    if sparse:  # never dense: a hashed X can have a million columns
        mean, variance = mean_variance_axis(data[::step].astype(np.float64), axis=0)
        return mean, np.sqrt(variance)
    rows = range(0, data.shape[0], step)
    chunk_rows = max(1, _CHUNK_VALUES // math.prod(data.shape[1:]))
    total = squares = 0.0
    for start in range(0, len(rows), chunk_rows):
        chunk = data[rows[start : start + chunk_rows]]
        chunk = chunk.astype(np.float64, copy=False).reshape(chunk.shape[0], -1)
        total = total + chunk.sum(axis=0)
        squares = squares + np.einsum("ij,ij->j", chunk, chunk)
    mean = total / len(rows)
    return mean, np.sqrt(np.maximum(squares / len(rows) - mean**2, 0.0))


def _far_from_standardized(data, what, scale=None):
    """How ``data`` is far from standardized, for a message ("its std is 315"), or None.

    ``scale`` is ``column_scale(data)`` when the caller has it already.
    """
    try:
        largest_mean, largest_std = column_scale(data) if scale is None else scale
    except MemoryError:  # a message must not fail for want of its hint
        return None
    if largest_std > UNSCALED:
        return f"{what} std is {largest_std:.3g}"
    if largest_mean > UNSCALED:
        return f"{what} mean is {largest_mean:.3g}"
    return None


def _far_target(Y, what):
    """How the targets ``Y`` are far from standardized, for a message, or None.

    As the features (:func:`_far_from_standardized`), and also when a column's
    mean and std are both below ``1 / UNSCALED`` (and it is not constant):
    such a target (daily returns, std 0.014) is far from the outputs of about
    1 that a network starts from. Its moments are read once for both tests.
    """
    try:
        mean, std = column_moments(Y)
    except MemoryError:  # a message must not fail for want of its hint
        return None
    far = _far_from_standardized(Y, what, _largest(mean, std))
    if far is not None:
        return far
    tiny = (std > 0) & (std < 1 / UNSCALED) & (np.abs(mean) < 1 / UNSCALED)
    if not tiny.any():
        return None
    return f"{what} std is {float(std[np.flatnonzero(tiny)[0]]):.3g}"


def scaling_remedies(estimator, X, Y, x_scale=None):
    """The remedies "scale X" and "scale y", each when that data is far from standardized.

    Not y of a classifier (class codes) nor of ``loss="poisson"``, whose
    counts must stay non-negative.

    Parameters
    ----------
    estimator : BaseDeepMLP
        The estimator being fitted.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Its validated training data.
    Y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Its training targets.
    x_scale : tuple of float, default=None
        ``column_scale(X)``, when the caller has computed it.

    Returns
    -------
    remedies : list of str
        Empty when both are near standardized.
    """
    remedies = []
    far = _far_from_standardized(X, "a feature's", x_scale)
    if far is not None:
        # StandardScaler cannot center a sparse matrix.
        scaler = "MaxAbsScaler or StandardScaler(with_mean=False)" if sp.issparse(X) else (
            "StandardScaler"
        )
        remedies.append(f"scaling X ({scaler}; {far})")
    if not is_classifier(estimator) and getattr(estimator, "loss", None) != "poisson":
        what = "a target's" if np.ndim(Y) > 1 and np.shape(Y)[1] > 1 else "its"
        far = _far_target(Y, what)
        if far is not None:
            remedies.append(f"scaling y (TransformedTargetRegressor with StandardScaler; {far})")
    return remedies


def scaling_hint(estimator, X, Y):
    """A sentence for a ConvergenceWarning: what to scale, or "" when X and y are near standardized.

    Parameters
    ----------
    estimator : BaseDeepMLP
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples,) or (n_samples, n_outputs)

    Returns
    -------
    hint : str
        Starts with a space, to follow the warning's own sentences.
    """
    remedies = scaling_remedies(estimator, X, Y)
    if not remedies:
        return ""
    return f" Networks converge faster on standardized data: try {or_list(remedies)}."
