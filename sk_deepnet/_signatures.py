"""The names of a class's constructor parameters, read once per ``__init__``.

scikit-learn's ``get_params`` reads them from the signature of ``__init__`` at
every call; a fit calls it several times, for the estimator (0.1 ms each for
its 40 parameters) and for each optimizer it makes and validates (45 us each).
A signature does not change, so both keep the names here, by ``__init__``.
"""

import weakref

#: __init__ -> the names of its parameters. Weak keys: a class made at run
#: time is not kept alive by its names (its __init__'s __class__ cell holds it).
_PARAM_NAMES = weakref.WeakKeyDictionary()


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
    init = cls.__init__
    try:
        names = _PARAM_NAMES.get(init)
    except TypeError:  # not weakly referable (object.__init__'s slot wrapper)
        return list(read())
    if names is None:
        names = _PARAM_NAMES[init] = tuple(read())
    return list(names)
