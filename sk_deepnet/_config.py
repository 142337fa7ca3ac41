"""Package-wide settings: ``set_config``, ``get_config`` and ``config_context``.

They mirror :func:`sklearn.set_config` and :func:`sklearn.config_context`. The
one setting, ``blas_threads``, governs how many threads the BLAS library may use
while sk_deepnet trains and predicts (see :mod:`sk_deepnet._threadpool`). The
BLAS thread count is a property of the whole process, so this setting is too:
it is not thread-local, unlike scikit-learn's settings.
"""

from contextlib import contextmanager
from numbers import Integral

_config = {"blas_threads": "auto"}

_UNCHANGED = object()  # set_config's default: None is a meaningful value here


def _check_blas_threads(value):
    if value is None or value == "auto":
        return value
    if isinstance(value, Integral) and not isinstance(value, bool) and value >= 1:
        return int(value)
    raise ValueError(
        f"blas_threads must be 'auto', None or an int >= 1; got {value!r}."
    )


def get_config():
    """The current values of sk_deepnet's settings.

    Returns
    -------
    config : dict
        Keys are the parameter names of :func:`set_config`.

    See Also
    --------
    set_config : Set sk_deepnet's settings.
    config_context : Set them within a ``with`` block.
    """
    return dict(_config)


def set_config(blas_threads=_UNCHANGED):
    """Set sk_deepnet's settings, for the whole process.

    Parameters
    ----------
    blas_threads : 'auto', None or int, default='auto'
        How many threads the BLAS library (OpenBLAS, MKL...) may use inside
        ``fit``, ``partial_fit``, ``pretrain_fit``, the prediction methods
        and the RBMs' ``fit``, ``partial_fit`` and ``transform``.

        * ``'auto'`` (the default): one thread when the network's matrix
          products are too small to gain from more (measured; see the
          performance page), else the threads the library already has;
        * ``None``: leave the BLAS threads as they are;
        * an int: at most this many threads.

        The limit applies for the duration of the call and is then restored.
        It never raises the limit in force: inside
        ``threadpoolctl.threadpool_limits(1)``, or in a joblib worker that
        limits its BLAS, a fit keeps that lower limit whatever this setting.
        Leave a setting unchanged by not passing it.

    See Also
    --------
    get_config : The current settings.
    config_context : Set them within a ``with`` block.

    Examples
    --------
    >>> import sk_deepnet
    >>> sk_deepnet.set_config(blas_threads=1)
    >>> sk_deepnet.get_config()["blas_threads"]
    1
    >>> sk_deepnet.set_config(blas_threads="auto")
    """
    if blas_threads is not _UNCHANGED:
        _config["blas_threads"] = _check_blas_threads(blas_threads)


@contextmanager
def config_context(*, blas_threads=_UNCHANGED):
    """Set sk_deepnet's settings within a ``with`` block, then restore them.

    Parameters
    ----------
    blas_threads : 'auto', None or int, default=unchanged
        See :func:`set_config`.

    Yields
    ------
    None

    See Also
    --------
    set_config : Set the settings for the rest of the process.
    get_config : The current settings.

    Examples
    --------
    >>> import sk_deepnet
    >>> with sk_deepnet.config_context(blas_threads=None):
    ...     sk_deepnet.get_config()["blas_threads"] is None
    True
    >>> sk_deepnet.get_config()["blas_threads"]
    'auto'
    """
    old = get_config()
    set_config(blas_threads=blas_threads)
    try:
        yield
    finally:
        _config.clear()
        _config.update(old)
