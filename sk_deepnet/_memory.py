"""Refuse, before allocating anything, a model that cannot fit in the machine's memory.

Without this, a parameter set too large for the machine failed in one of
three ways, none naming the parameter: NumPy refused one huge array ("Unable
to allocate 7.28 TiB for an array with shape (2000008000001,)"), or raised
"array is too big" / "Maximum allowed dimension exceeded" beyond the address
space, or, for ``depth=10**9``, the list of layer widths and then the layers
themselves were allocated one by one until the operating system killed the
process. The checks here take a lower bound of what the model needs, so that
they never refuse a model that would fit.
"""

import os

#: Bytes a hidden layer costs beyond its arrays' data (array headers, views,
#: list entries): about 1.7 KiB measured on a network of width 1; a lower bound.
LAYER_OVERHEAD_BYTES = 1024


def physical_memory():
    """The machine's physical memory in bytes, or None where it cannot be read.

    Returns
    -------
    n_bytes : int or None
        ``SC_PHYS_PAGES * SC_PAGE_SIZE`` (Linux, macOS); None elsewhere (Windows).
    """
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


def format_bytes(n_bytes):
    """``n_bytes`` in the largest binary unit that keeps it at least 1 (e.g. '7.3 TiB').

    Parameters
    ----------
    n_bytes : int or float

    Returns
    -------
    text : str
    """
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.3g} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024


def check_fits_in_memory(n_bytes, what, remedy):
    """Raise MemoryError if ``n_bytes`` exceeds the machine's physical memory.

    Parameters
    ----------
    n_bytes : int
        A lower bound of the bytes the model needs.
    what : str
        The start of the message: the model and its size, e.g.
        "DeepMLPClassifier(depth=10, width=10**6) has 9.0e+12 parameters:
        training needs".
    remedy : str
        The parameters to reduce.

    Raises
    ------
    MemoryError
        Naming the model, the bytes it needs at least and the machine's memory.
    """
    total = physical_memory()
    if total is not None and n_bytes > total:
        raise MemoryError(
            f"{what} at least {format_bytes(n_bytes)}, more than the "
            f"{format_bytes(total)} of memory this machine has. {remedy}"
        )
