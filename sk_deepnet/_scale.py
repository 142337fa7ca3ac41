"""How far data is from standardized: the checks behind a remedy that says "scale X".

A network trains on features and targets of about unit scale (what
``StandardScaler`` gives). Messages that suggest scaling the data suggest it
only when the data is far from that, as these functions measure it.
"""

import math

import numpy as np
import scipy.sparse as sp
from sklearn.utils.sparsefuncs import mean_variance_axis

#: Rows read to estimate a scale: evenly spaced over the data, enough for a
#: standard deviation within a few percent, at a bounded cost and temporary.
SCALE_SAMPLE_ROWS = 10_000

#: A standard deviation above this is far from standardized (StandardScaler
#: gives 1): raw features such as wine's proline (about 315) or diabetes'
#: target (about 77) are far above it.
UNSCALED_STD = 10.0


def largest_std(data):
    """The largest standard deviation of a column of ``data``, estimated on a sample of rows.

    Parameters
    ----------
    data : {ndarray, sparse matrix} of shape (n_samples,) or (n_samples, n_columns)
        Finite values (validated features or targets).

    Returns
    -------
    std : float
        0.0 for data without rows or columns.
    """
    if data.shape[0] == 0 or math.prod(data.shape[1:]) == 0:
        return 0.0
    step = max(1, math.ceil(data.shape[0] / SCALE_SAMPLE_ROWS))
    rows = data[::step]
    if sp.issparse(rows):
        _, variance = mean_variance_axis(sp.csr_matrix(rows), axis=0)
    else:
        variance = np.var(np.asarray(rows), axis=0, dtype=np.float64)
    return float(np.sqrt(np.max(variance)))


def is_unscaled(data):
    """Whether some column of ``data`` has a standard deviation above :data:`UNSCALED_STD`.

    Parameters
    ----------
    data : {ndarray, sparse matrix} of shape (n_samples,) or (n_samples, n_columns)

    Returns
    -------
    unscaled : bool
    """
    return largest_std(data) > UNSCALED_STD
