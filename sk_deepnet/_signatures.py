"""The names of a class's constructor parameters, read once per ``__init__``.

scikit-learn's ``get_params`` reads them from the signature of ``__init__`` at
every call; a fit calls it several times, for the estimator (0.1 ms each for
its 40 parameters) and for each optimizer it makes and validates (45 us each).
A signature does not change, so both keep the names here, by ``__init__``.
"""

#: __init__ -> the names of its parameters.
_PARAM_NAMES = {}


def init_parameter_names(cls, read):
    """The names of ``cls.__init__``'s parameters, from ``read()`` the first time.

    Parameters
    ----------
    cls : type
        The class whose constructor parameters are asked for.
    read : callable
        Returns the names (an iterable of str, or a dict keyed by them), read
        from the signature.

    Returns
    -------
    names : list of str
        A new list at each call (callers may change it).
    """
    names = _PARAM_NAMES.get(cls.__init__)
    if names is None:
        names = _PARAM_NAMES[cls.__init__] = tuple(read())
    return list(names)
