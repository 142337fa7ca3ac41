"""Refuse, before allocating anything, a model that cannot fit in the memory the process may use.

Without this, a parameter set too large for the machine failed in one of
three ways, none naming the parameter: NumPy refused one huge array ("Unable
to allocate 7.28 TiB for an array with shape (2000008000001,)"), or raised
"array is too big" / "Maximum allowed dimension exceeded" beyond the address
space, or, for ``depth=10**9``, the list of layer widths and then the layers
themselves were allocated one by one until the operating system killed the
process. The checks here take a lower bound of what the model needs, so that
they never refuse a model that would fit, against the least of the machine's
memory and swap, the limits of the process's cgroup and of those above it (a
container's or a batch job's, usually far below the machine's) plus that swap,
and ``ulimit -v``.
"""

import os
from pathlib import Path

try:  # Unix only: the address-space limit of ``ulimit -v``
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None

#: Below this many bytes the limits are not read (24 us a check, twice a fit):
#: no process that runs NumPy, SciPy and scikit-learn has less memory.
ALWAYS_FITS_BYTES = 2**26

#: Bytes a hidden layer costs beyond its arrays' data (array headers, views,
#: list entries): about 1.7 KiB measured on a network of width 1; a lower bound.
LAYER_OVERHEAD_BYTES = 1024


#: Where Linux tells the swap space (a model that spills into it still
#: trains, slowly: it must not be refused).
MEMINFO = "/proc/meminfo"


def physical_memory():
    """The machine's physical memory and swap in bytes, or None where unknown.

    Returns
    -------
    n_bytes : int or None
        ``SC_PHYS_PAGES * SC_PAGE_SIZE`` (Linux, macOS), plus the swap space
        of ``/proc/meminfo`` (Linux); None elsewhere (Windows).
    """
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    if pages <= 0 or page_size <= 0:
        return None
    return pages * page_size + swap_space()


def swap_space():
    """The swap space in bytes (``SwapTotal`` of ``/proc/meminfo``); 0 if unknown.

    Returns
    -------
    n_bytes : int
    """
    try:
        lines = Path(MEMINFO).read_text(errors="replace").splitlines()
    except OSError:
        return 0
    for line in lines:
        name, _, value = line.partition(":")
        fields = value.split()
        if name == "SwapTotal" and fields and fields[0].isdigit():
            return int(fields[0]) * 1024  # in kB
    return 0


#: The memory limit files at the roots of the cgroup hierarchies: v2, then v1
#: (in a container, the container's own limit).
CGROUP_LIMIT_FILES = (
    "/sys/fs/cgroup/memory.max",
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
)

#: Where Linux tells the process's own cgroups (``hierarchy:controllers:path``).
PROC_CGROUP = "/proc/self/cgroup"

#: The mount points of the cgroup hierarchies: v2 (unified), v1 (memory).
CGROUP_V2_ROOT, CGROUP_V1_ROOT = "/sys/fs/cgroup", "/sys/fs/cgroup/memory"


def cgroup_limit_files():
    """The memory limit files of the process's cgroup and of each cgroup above it.

    A batch system (Slurm) or systemd limits a cgroup below the root, and a
    limit applies to every cgroup under it: the files of the process's own
    cgroup and its ancestors (from ``/proc/self/cgroup``), then
    :data:`CGROUP_LIMIT_FILES`.

    Returns
    -------
    paths : list of str
    """
    try:
        lines = Path(PROC_CGROUP).read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    paths = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":  # cgroup v2, the unified hierarchy
            root, name = CGROUP_V2_ROOT, "memory.max"
        elif "memory" in controllers.split(","):
            root, name = CGROUP_V1_ROOT, "memory.limit_in_bytes"
        else:
            continue
        parts = [part for part in path.split("/") if part]
        paths += [
            "/".join([root, *parts[:depth], name]) for depth in range(len(parts), 0, -1)
        ]
    return paths + list(CGROUP_LIMIT_FILES)


def cgroup_memory_limit():
    """The memory limit of the process's cgroup (a container's, a batch job's), or None.

    Returns
    -------
    n_bytes : int or None
        The least limit in :func:`cgroup_limit_files`; None without one
        ("max" in cgroup v2, no such file outside Linux).
    """
    limits = []
    for path in cgroup_limit_files():
        try:
            text = Path(path).read_text(errors="replace").strip()
        except OSError:
            continue
        if text.isdigit():
            limits.append(int(text))
    return min(limits, default=None)


def address_space_limit():
    """The soft address-space limit of the process (``ulimit -v``), or None.

    Returns
    -------
    n_bytes : int or None
    """
    if resource is None:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY or soft < 0 else soft


def memory_limit():
    """The least of the memory limits that apply to the process, and what sets it.

    Returns
    -------
    limit : tuple of (int, str) or None
        The bytes and the phrase that names their source (the machine's
        memory and swap, the container's limit and the machine's swap,
        ``ulimit -v``); None if none can be read.
    """
    container = cgroup_memory_limit()
    limits = [
        (physical_memory(), "of memory and swap this machine has"),
        # Its processes may swap beyond it (Docker's --memory=1g allows as much
        # swap again): the machine's swap on top is an upper bound.
        (container and container + swap_space(),
         "that this process's container (cgroup) allows, swap included"),
        (address_space_limit(), "of address space that ulimit -v allows"),
    ]
    known = [(n_bytes, source) for n_bytes, source in limits if n_bytes]
    return min(known, default=None)


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
    """Raise MemoryError if ``n_bytes`` exceeds the memory the process may use.

    That is the least of the machine's physical memory and swap, the
    container's limit plus that swap, and ``ulimit -v`` (:func:`memory_limit`).

    Parameters
    ----------
    n_bytes : int
        A lower bound of the bytes the model needs.
    what : str
        The start of the message: the model and its size, e.g.
        "DeepMLPClassifier with depth=3 and width=1000000 has 2e+12 parameters
        in its hidden layers alone: with their gradients, training needs".
    remedy : str
        The parameters to reduce.

    Raises
    ------
    MemoryError
        Naming the model, the bytes it needs at least and the limit.
    """
    if n_bytes < ALWAYS_FITS_BYTES:
        return
    limit = memory_limit()
    if limit is not None and n_bytes > limit[0]:
        raise MemoryError(
            f"{what} at least {format_bytes(n_bytes)}, more than the "
            f"{format_bytes(limit[0])} {limit[1]}. {remedy}"
        )
