"""Package-wide settings: ``set_config``, ``get_config`` and ``config_context``.

They mirror :func:`sklearn.set_config` and :func:`sklearn.config_context`. The
one setting, ``blas_threads``, governs how many threads the BLAS library may use
while sk_deepnet trains and predicts (see :mod:`sk_deepnet._threadpool`). The
BLAS thread count is a property of the whole process, so this setting is too:
it is not thread-local, unlike scikit-learn's settings. Blocks of
``config_context`` in several threads may end in any order: once all have
ended, the settings are those they found.
"""

import threading
from contextlib import contextmanager
from numbers import Integral

_config = {"blas_threads": "auto"}

_UNCHANGED = object()  # set_config's default: None is a meaningful value here

#: The config_context blocks in force, oldest first (several threads may
#: have one each), and the lock that orders their entries and exits.
_contexts = []
_contexts_lock = threading.Lock()


class _Context:
    """A config_context block in force: what it found on entry, what it set."""

    __slots__ = ("found", "settings")

    def __init__(self, found, settings):
        self.found = found
        self.settings = settings


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

    The settings are the whole process's (see :func:`set_config`): a block
    in one thread sets them for every thread while it lasts. Blocks in
    several threads may end in any order; once all have ended, the settings
    are those they found.

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
    settings = {}
    if blas_threads is not _UNCHANGED:
        settings["blas_threads"] = _check_blas_threads(blas_threads)
    with _contexts_lock:
        context = _Context(get_config(), settings)
        _contexts.append(context)
        _config.update(settings)
    try:
        yield
    finally:
        with _contexts_lock:
            _leave(context)


def _leave(context):
    """Undo a config_context block's settings, in whatever order blocks end.

    The innermost block restores what it found (a ``set_config`` inside it
    ends with it, as in scikit-learn). Threads make blocks overlap without
    nesting: a block that ends while one entered after it is still in force
    hands what it found to the later blocks, which would otherwise restore
    its values when they end, for good.
    """
    index = next(i for i, entered in enumerate(_contexts) if entered is context)
    del _contexts[index]
    if index == len(_contexts):
        _config.clear()
        _config.update(context.found)
        return
    undone = {name: context.found[name] for name in context.settings}
    for later in _contexts[index:]:
        later.found.update(undone)
        undone = {name: v for name, v in undone.items() if name not in later.settings}
    _config.update(undone)  # the settings no later block overrides
