"""The BLAS thread policy: one thread for small products, the library's threads for big ones.

OpenBLAS (NumPy's and SciPy's BLAS in the PyPI wheels) runs a product of more
than a few thousand multiply-adds on all its threads, and its threads spin
while they wait for work. On a quiet machine that pays from products of a few
MFLOP on. On a machine that other processes keep busy (a notebook, a browser,
a second search) a spinning thread loses its core and every product waits for
it: the products of a small network then take ten to a hundred times longer
than on one thread (``benchmarks/thread_threshold.py`` measures both).

So the public entry points (``fit``, ``partial_fit``, ``pretrain_fit``, the
prediction methods and the RBMs' ``fit``, ``partial_fit``, ``transform``,
``score_samples``, ``pseudo_log_likelihood`` and ``gibbs``)
decide once per call, from the shapes of the work, how many threads BLAS may
use: one when the products of a layer are too small to take a millisecond on
one thread, where the gain of threads is small next to their risk; else
whatever the library has. The measurement behind :data:`MIN_THREADED_FLOPS` is
recorded on the performance page. :func:`sk_deepnet.set_config` overrides the
policy (``blas_threads``).

The limit never rises above the one in force when the call starts (a user's
``threadpool_limits``, a joblib worker's limits), and the calls made inside one
of these scopes (the validation score of a fit, the RBM pretraining of a fit)
keep the decision of the outermost one. The BLAS thread count belongs to the
whole process: two threads of one process that fit at the same time share it.
"""

import functools
import inspect
import math
import sys
import threading
from contextlib import contextmanager

import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from ._config import get_config
from ._sklearn_compat import _num_features, _num_samples

#: Below this many flops for the products of a network's largest layer on one
#: mini-batch (forward and the two backward products of training: ``6 * batch *
#: fan_in * fan_out``; the forward product of a prediction chunk: ``2 * chunk *
#: fan_in * fan_out``), BLAS runs on one thread. It is 0.6 to 1 ms of products on
#: one thread of the benchmark machine (65 to 104 GFLOP/s, ``thread_threshold.py``),
#: above the measured crossover from which two threads gained at least 1.2x on
#: a quiet machine (6.3 to 12.6 MFLOP), so that the medium products, whose gain is a
#: fraction of a millisecond, never risk the tens of milliseconds per product
#: that spinning threads cost on a busy one.
MIN_THREADED_FLOPS = 64e6

#: The rows a prediction runs through the network at once (``predict_logits``).
_PREDICT_CHUNK = 1024

#: .scope: this thread's outermost call under the policy (a _Scope), or None.
_state = threading.local()
_controllers = {}


def _controller():
    """A cached ThreadpoolController: making one scans the loaded libraries (ms)."""
    if "blas" not in _controllers:
        _controllers["blas"] = ThreadpoolController().select(user_api="blas")
    return _controllers["blas"]


def current_blas_threads():
    """The largest thread count of the loaded BLAS libraries (None if there is none).

    Returns
    -------
    n_threads : int or None
    """
    counts = [lib.num_threads for lib in _controller().lib_controllers]
    return max(counts) if counts else None


def threads_for(flops):
    """The thread limit the policy sets for work whose largest layer does ``flops``.

    Parameters
    ----------
    flops : float or None
        Flops of the products of the largest layer on one mini-batch (None when
        the shapes are unknown: invalid input, which the call rejects).

    Returns
    -------
    limit : int or None
        The limit to set, or None to leave the BLAS threads as they are.
    """
    setting = get_config()["blas_threads"]
    if setting is None or flops is None:
        return None
    if setting == "auto":
        return 1 if flops < MIN_THREADED_FLOPS else None
    return setting


@contextmanager
def blas_limit(limit, saved=None):
    """Hold BLAS to at most ``limit`` threads in the block (never raising it).

    Parameters
    ----------
    limit : int or None
        None leaves the threads as they are. A limit at or above the one in
        force changes nothing.
    saved : list, optional
        Where each library's thread count is recorded before it is lowered,
        and from which it is restored: a caller that keeps the list can
        restore what a Ctrl-C inside the restoring left lowered.

    Yields
    ------
    n_threads : int or None
        The threads BLAS runs in the block (None without a BLAS library).
    """
    saved = [] if saved is None else saved
    libraries = _controller().lib_controllers
    counts = [lib.num_threads for lib in libraries]
    current = max(counts, default=None)
    if limit is None or current is None or limit >= current:
        yield current
        return
    # As threadpoolctl's limit(), with less around it (it runs on every predict).
    try:
        for lib, count in zip(libraries, counts):
            if count > limit:
                saved.append((lib, count))  # first: an interrupt must leave it restorable
                lib.set_num_threads(limit)
        yield limit
    finally:
        _restore_threads(saved)


def _restore_threads(saved):
    """Give back the thread counts in ``saved``, emptying it as each is restored."""
    while saved:
        lib, count = saved[-1]
        lib.set_num_threads(count)
        saved.pop()


def _shape(X):
    """``(n_samples, n_features)`` of X as given, or None if it has no such shape."""
    try:
        return _num_samples(X), _num_features(X)
    except (TypeError, ValueError):
        return None


def _largest_layer(sizes):
    return max((p * q for p, q in zip(sizes[:-1], sizes[1:])), default=0)


def _blas_sizes(sizes, X):
    """The layer widths whose products run in BLAS, for the network's input X.

    A sparse X's first layer multiplies in SciPy's sparse kernels (``X @ W``
    and ``X.T @ delta``), on one thread and without BLAS: however wide X is,
    the threads can only speed up the layers above it.
    """
    return sizes[1:] if _becomes_sparse(X) else sizes


def _becomes_sparse(X):
    """Whether X is, or validation makes it, a sparse matrix.

    scikit-learn's ``check_array`` turns a DataFrame whose columns are all
    sparse (those with the ``.sparse`` accessor) into a sparse matrix; the
    policy decides before that validation.
    """
    return sp.issparse(X) or (getattr(X, "ndim", 0) == 2 and hasattr(X, "sparse"))


def fit_flops(estimator, X):
    """Flops of the largest layer's three products on one mini-batch of a fit.

    The layers counted are those whose products run in BLAS (not the first
    layer of a sparse X). With ``pretrain="rbm"``, the RBM pretraining that
    runs inside the fit counts too (:func:`pretrain_flops`: its RBMs train on
    dense copies of the batches, a sparse X's too).

    Parameters
    ----------
    estimator : BaseDeepMLP
        A DeepMLPClassifier or DeepMLPRegressor with validated parameters.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The training data as given (not yet validated).

    Returns
    -------
    flops : float or None
        None when the shapes cannot be read from X (the fit rejects it).
    """
    shape = _shape(X)
    try:
        sizes = [shape[1], *estimator._hidden_sizes()]
    except (TypeError, ValueError):  # no shape, or a bad width: fit says why
        return None
    flops = 6.0 * _fit_batch_size(estimator, shape[0]) * _largest_layer(_blas_sizes(sizes, X))
    if estimator.pretrain == "rbm":  # its RBMs train inside the fit, under its decision
        flops = max(flops, pretrain_flops(estimator, X))
    return flops


def _fit_batch_size(estimator, n_samples):
    """The mini-batch size a fit on ``n_samples`` rows trains with.

    L-BFGS takes every row at once. The other optimizers take ``batch_size``
    of the training rows: with ``early_stopping`` (never in ``partial_fit``,
    which refuses it), those that ``validation_fraction`` leaves, counted as
    ``train_test_split`` counts them (``ceil(fraction * n)`` held out).
    """
    if isinstance(estimator.optimizer, str) and estimator.optimizer == "lbfgs":
        return n_samples
    n_train = n_samples
    if estimator.early_stopping:
        n_train -= math.ceil(estimator.validation_fraction * n_samples)
    return estimator._batch_size(n_train, warn=False)


def predict_flops(estimator, X):
    """Flops of the largest layer's forward product on one chunk of a prediction.

    As in :func:`fit_flops`, a sparse X's first layer is not counted.

    Parameters
    ----------
    estimator : BaseDeepMLP
    X : {array-like, sparse matrix} of shape (n_samples, n_features)

    Returns
    -------
    flops : float or None
        None when the estimator is not fitted or X has no readable shape.
    """
    network = getattr(estimator, "_network", None)
    if network is None:
        return None
    shape = _shape(X)
    if shape is None:
        return None
    largest = _largest_layer(_blas_sizes(network.layer_sizes, X))
    return 2.0 * min(shape[0], _PREDICT_CHUNK) * largest


def rbm_fit_flops(rbm, X):
    """Flops of one mini-batch of an RBM's contrastive divergence (CD-1).

    The hidden probabilities of the data and of the reconstruction, the
    reconstruction itself and the two-phase weight gradient: 5 products of
    ``batch * n_features * n_components``, so ``10 * batch * p * q`` flops.

    Parameters
    ----------
    rbm : BernoulliRBM or GaussianBernoulliRBM
    X : {array-like, sparse matrix} of shape (n_samples, n_features)

    Returns
    -------
    flops : float or None
    """
    shape = _shape(X)
    if shape is None:
        return None
    batch = min(rbm.batch_size, shape[0])
    return 10.0 * batch * shape[1] * rbm.n_components


def rbm_transform_flops(rbm, X):
    """Flops of an RBM's ``transform``: one product of all of X with the weights.

    Parameters
    ----------
    rbm : BernoulliRBM or GaussianBernoulliRBM
    X : {array-like, sparse matrix} of shape (n_samples, n_features)

    Returns
    -------
    flops : float or None
    """
    shape = _shape(X)
    return None if shape is None else 2.0 * shape[0] * shape[1] * rbm.n_components


def rbm_gibbs_flops(rbm, X):
    """Flops of an RBM's ``gibbs`` step: the product to the hidden units and back.

    Parameters
    ----------
    rbm : BernoulliRBM or GaussianBernoulliRBM
    X : {array-like, sparse matrix} of shape (n_samples, n_features)

    Returns
    -------
    flops : float or None
    """
    flops = rbm_transform_flops(rbm, X)
    return None if flops is None else 2.0 * flops


def pretrain_flops(estimator, X):
    """Flops of one mini-batch of CD-1 on the largest RBM that ``pretrain_fit`` trains.

    The RBM of hidden layer ``l`` maps the widths ``sizes[l] -> sizes[l + 1]``
    in mini-batches of ``pretrain_batch_size`` (not the fit's ``batch_size``),
    as :func:`rbm_fit_flops` counts them.

    Parameters
    ----------
    estimator : BaseDeepMLP
        A DeepMLPClassifier or DeepMLPRegressor with validated parameters.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The unlabeled data as given (not yet validated).

    Returns
    -------
    flops : float or None
        None when the shapes cannot be read from X (``pretrain_fit`` rejects it).
    """
    shape = _shape(X)
    try:
        sizes = [shape[1], *estimator._hidden_sizes()]
    except (TypeError, ValueError):  # no shape, or a bad width: pretrain_fit says why
        return None
    batch = min(estimator.pretrain_batch_size, shape[0])
    return 10.0 * batch * _largest_layer(sizes)


def _in_policy_scope():
    """Whether an outer call of this thread runs under the policy already.

    The scope holds the frame of that call, checked to be on the stack: a
    Ctrl-C between setting a flag and its ``try`` (or in the ``finally`` that
    clears it) left a flag set for good, and every later fit of the thread
    ran without the policy (found by the line-level interrupt sweep of
    ``tests/test_fault_injection.py``). A stale scope is cleared, and the
    thread counts it had lowered and not given back are restored.
    """
    scope = getattr(_state, "scope", None)
    if scope is None:
        return False
    frame = sys._getframe(2)  # the caller of the wrapper that asks
    while frame is not None:
        if frame is scope.frame:
            return True
        frame = frame.f_back
    _restore_threads(scope.saved)  # left lowered by an interrupted call
    _state.scope = None
    return False


class _Scope:
    """A thread's outermost call under the policy: its frame, and the BLAS
    thread counts to give back (recorded before each is lowered)."""

    __slots__ = ("frame", "saved")

    def __init__(self, frame):
        self.frame, self.saved = frame, []


def blas_policy(flops_of):
    """Decorate a method ``(self, X, ...)``: run it under the policy's BLAS limit.

    Parameters
    ----------
    flops_of : callable
        ``flops_of(self, X)``, the flops the policy decides from (see
        :func:`threads_for`).

    Returns
    -------
    decorator : callable
    """

    def decorator(method):
        # X by its own name too: gibbs(v=...) is scikit-learn's spelling.
        name = list(inspect.signature(method).parameters)[1]

        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if _in_policy_scope():  # an outer call decided
                return method(self, *args, **kwargs)
            X = args[0] if args else kwargs.get(name)
            limit = threads_for(flops_of(self, X))
            scope = _state.scope = _Scope(sys._getframe())
            try:
                with blas_limit(limit, scope.saved):
                    return method(self, *args, **kwargs)
            finally:
                # What blas_limit could not give back (a Ctrl-C in its finally);
                # one here leaves the scope stale, for the next call to restore.
                _restore_threads(scope.saved)
                # The frame holds the scope in its locals: the cycle kept X and
                # the estimator alive until the garbage collector ran.
                scope.frame = None
                _state.scope = None

        return wrapper

    return decorator
