"""Mini-batches of one training set, gathered by index into preallocated buffers.

X is never copied or upcast as a whole: each epoch shuffles an index vector, and
each batch's rows are gathered (``np.take(..., out=...)`` for dense X, row
slicing for CSR) into buffers allocated once per fit, in the training dtype.
"""

import numpy as np
import scipy.sparse as sp


class MiniBatches:
    """The mini-batches of the samples ``train_idx`` of ``(X, Y, sample_weight)``.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs) in ``dtype``, or of shape (n_samples,)
        The targets; integer class codes for a softmax output.
    sample_weight : ndarray of shape (n_samples,) or None
    train_idx : ndarray of int
        The samples to train on (the others are held out for validation), in
        increasing order. Each shuffled epoch shuffles this array in place
        and sorts it back at its end.
    batch_size : int
        Rows per batch (at most ``len(train_idx)``).
    dtype : numpy dtype
        Training precision; batches of X are cast to it.
    merge_small_last : bool
        Join a last batch of fewer than ``batch_size / 2`` rows, or of a
        single row, to the previous one. Batch normalization needs it:
        statistics of a handful of samples are degenerate (on digits a
        3-sample last batch had gradient norms 14x (median) to 600x those of
        the full batches and wrecked training).
    """

    def __init__(self, X, Y, sample_weight, train_idx, batch_size, dtype, merge_small_last):
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.train_idx = train_idx
        self.dtype = np.dtype(dtype)
        n_train = len(train_idx)
        ends = list(range(batch_size, n_train, batch_size)) + [n_train]
        if merge_small_last and len(ends) > 1 and n_train - ends[-2] < max(2, batch_size / 2):
            del ends[-2]
        self._ends = np.array(ends)  # where each batch stops (8 bytes a batch)
        self.full_batch = len(ends) == 1
        self._sparse = sp.issparse(X)
        # One full batch of all samples needs no gathering when X is dense in dtype.
        self.direct = (
            self.full_batch
            and n_train == X.shape[0]
            and not self._sparse
            and X.dtype == self.dtype
        )
        if not self.direct:
            largest = int(np.max(np.diff(ends, prepend=0)))
            self._X_buffer = None if self._sparse else np.empty((largest, X.shape[1]), dtype)
            self._Y_buffer = np.empty((largest,) + Y.shape[1:], Y.dtype)

    def epoch(self, rng, shuffle):
        """Yield the ``(X_batch, Y_batch, weight_batch)`` of one epoch."""
        if self.direct:
            yield self.X, self.Y, self.sample_weight
            return
        # A full batch is the same whatever its row order: keeping the data's order
        # makes it identical to the direct path.
        shuffle = shuffle and not self.full_batch
        if not shuffle:
            yield from self._batches(self.train_idx)
            return
        # train_idx itself is shuffled, not a copy of it (one index a sample,
        # issue 15): the same draws and the same order as
        # rng.permutation(train_idx), which shuffles a copy. Sorting puts it
        # back after the epoch, finished or not (the generator's close; one
        # held by an exception's traceback closes when that is freed, and
        # nothing but this generator reads train_idx in the meantime).
        order = self.train_idx
        rng.shuffle(order)
        try:
            yield from self._batches(order)
        finally:
            order.sort()

    def _batches(self, order):
        # One slice at a time: np.split would hold a view object per batch
        # (25 KiB for the 235 batches of 60000 samples).
        start = 0
        for stop in self._ends:
            yield self._gather(order[start:stop])
            start = stop

    def _gather(self, idx):
        X, n = self.X, len(idx)
        if self._sparse:
            X_batch = X[idx]
            if X_batch.dtype != self.dtype:
                X_batch = X_batch.astype(self.dtype)
        elif X.dtype == self.dtype:
            # mode="clip": idx is valid, and "raise" would buffer the copy
            X_batch = X.take(idx, axis=0, out=self._X_buffer[:n], mode="clip")
        else:  # np.take casts badly into an out of another dtype
            X_batch = self._X_buffer[:n]
            X_batch[...] = X[idx]  # one batch of X in its own dtype
        Y_batch = self.Y.take(idx, axis=0, out=self._Y_buffer[:n], mode="clip")
        weights = None if self.sample_weight is None else self.sample_weight[idx]
        return X_batch, Y_batch, weights
