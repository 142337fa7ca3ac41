"""Mini-batches on their own (sk_deepnet._batches.MiniBatches)."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from sk_deepnet._batches import MiniBatches

X = np.arange(44, dtype=np.float64).reshape(22, 2)
Y = np.arange(22).reshape(22, 1).astype(np.float32)


def _epoch(batches, seed=0, shuffle=True):
    # Copies: the batches are views of reused buffers.
    return [
        (xb.toarray() if sp.issparse(xb) else xb.copy(), yb.copy(), None if wb is None else wb.copy())
        for xb, yb, wb in batches.epoch(np.random.default_rng(seed), shuffle)
    ]


def test_an_epoch_covers_the_training_samples_once_in_batches():
    train_idx = np.arange(2, 19)
    batches = MiniBatches(X, Y, None, train_idx, 5, np.float32, merge_small_last=False)
    epoch = _epoch(batches)
    assert [len(yb) for _, yb, _ in epoch] == [5, 5, 5, 2]
    rows = np.concatenate([yb.ravel() for _, yb, _ in epoch])
    assert sorted(rows) == list(train_idx)
    for xb, yb, _ in epoch:
        assert xb.dtype == np.float32  # cast one batch at a time
        assert_array_equal(xb, X[yb.ravel().astype(int)])


def test_shuffling_changes_the_order_not_the_content():
    batches = MiniBatches(X, Y, None, np.arange(20), 20 // 3, np.float64, merge_small_last=False)
    in_order = _epoch(batches, shuffle=False)
    assert_array_equal(np.concatenate([y for _, y, _ in in_order]).ravel(), np.arange(20))
    a, b = _epoch(batches, seed=0), _epoch(batches, seed=1)
    order_a = np.concatenate([y for _, y, _ in a]).ravel()
    order_b = np.concatenate([y for _, y, _ in b]).ravel()
    assert not np.array_equal(order_a, order_b)
    assert sorted(order_a) == sorted(order_b) == list(range(20))


@pytest.mark.parametrize(
    "n, batch_size, merged",
    [(19, 8, [8, 11]), (20, 8, [8, 8, 4]), (21, 10, [10, 11]), (17, 4, [4, 4, 4, 5])],
)
def test_a_small_last_batch_is_merged_when_asked(n, batch_size, merged):
    # Merged: fewer than batch_size / 2 rows, or a single row.
    batches = MiniBatches(X, Y, None, np.arange(n), batch_size, np.float64,
                          merge_small_last=True)
    assert [len(yb) for _, yb, _ in _epoch(batches)] == merged
    unmerged = MiniBatches(X, Y, None, np.arange(n), batch_size, np.float64, False)
    assert sum(len(yb) for _, yb, _ in _epoch(unmerged)) == n


def test_sample_weights_follow_their_rows_and_sparse_x_is_gathered():
    weights = np.linspace(0.5, 2.0, 20)
    batches = MiniBatches(sp.csr_matrix(X), Y, weights, np.arange(20), 6, np.float32, False)
    for xb, yb, wb in _epoch(batches):
        rows = yb.ravel().astype(int)
        assert_array_equal(wb, weights[rows])
        assert_array_equal(xb, X[rows].astype(np.float32))


def test_one_full_batch_of_matching_dtype_is_the_data_itself():
    X32 = X.astype(np.float32)
    batches = MiniBatches(X32, Y, None, np.arange(22), 22, np.float32, False)
    assert batches.direct and batches.full_batch
    (xb, yb, wb), = batches.epoch(np.random.default_rng(0), shuffle=True)
    assert xb is X32 and yb is Y and wb is None


def test_an_epoch_shuffles_the_indices_in_place_and_sorts_them_back():
    """No shuffled copy of the indices (issue 15's memory bound): the order is
    rng.permutation's, and the indices are sorted again after an epoch, even
    one that stops early."""
    train_idx = np.arange(1, 21, dtype=np.int32)
    batches = MiniBatches(X, Y, None, train_idx, 6, np.float64, merge_small_last=False)
    order = np.concatenate([yb for _, yb, _ in _epoch(batches, seed=3)]).ravel()
    assert_array_equal(order, np.random.default_rng(3).permutation(np.arange(1, 21)))
    assert_array_equal(train_idx, np.arange(1, 21))
    epoch = batches.epoch(np.random.default_rng(4), shuffle=True)
    next(epoch)
    assert not np.array_equal(train_idx, np.arange(1, 21))  # shuffled, in place
    epoch.close()  # e.g. a fit that diverged or was interrupted mid-epoch
    assert_array_equal(train_idx, np.arange(1, 21))
