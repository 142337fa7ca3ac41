"""The scale checks behind the remedies that say "scale X" or "scale y"."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor, DivergenceWarning
from sk_deepnet import _scale
from sk_deepnet._scale import column_scale, scaling_remedies
from sk_deepnet._warnings import or_list


@pytest.mark.parametrize("kind", ["dense", "csr", "coo", "float32"])
def test_column_scale_estimates_the_largest_mean_and_std(kind):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((25_000, 3)) * [1.0, 50.0, 0.1] + [0.0, 3.0, -2000.0]
    data = {"dense": X, "csr": sp.csr_matrix(X), "coo": sp.coo_matrix(X),
            "float32": X.astype(np.float32)}[kind]
    # Estimated on 2000 evenly spaced rows: within 3% of the exact values.
    largest_mean, largest_std = column_scale(data)
    assert largest_mean == pytest.approx(2000.0, rel=0.03)
    assert largest_std == pytest.approx(50.0, rel=0.03)
    assert column_scale(X[:0]) == column_scale(X[:, :0]) == (0.0, 0.0)
    assert column_scale(np.arange(5.0)) == pytest.approx((2.0, np.std(np.arange(5.0))))


def test_column_scale_sums_a_few_rows_at_a_time(monkeypatch):
    # The same values whether the rows are summed 7 or all at a time.
    X = np.random.default_rng(1).standard_normal((1000, 4)) * 30 + 5
    expected = column_scale(X)
    monkeypatch.setattr(_scale, "_CHUNK_VALUES", 7 * 4)
    assert column_scale(X) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx((np.abs(X.mean(0)).max(), X.std(0).max()), rel=1e-12)


def test_column_scale_temporaries_are_small_beside_a_batch():
    # The check runs while a fit still holds its batch buffers: on the memory
    # benchmark's 60000 x 784 float32 X, its temporaries must stay far below a
    # batch of 256 rows (0.77 MiB), so that they do not raise the fit's peak.
    X = np.ones((6000, 784), dtype=np.float32)
    tracemalloc.start()
    try:
        column_scale(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 160 * 1024


def _remedies(estimator, X, Y):
    return " | ".join(scaling_remedies(estimator, X, Y))


def test_scaling_remedies_name_what_is_far_from_standardized():
    rng = np.random.default_rng(0)
    scaled, y = rng.standard_normal((200, 3)), rng.standard_normal(200)
    assert _remedies(DeepMLPRegressor(), scaled, y) == ""
    # An offset without spread (a year) is as far from standardized as a spread.
    offset = scaled + [0.0, 2000.0, 0.0]
    assert _remedies(DeepMLPRegressor(), offset, y) == (
        "scaling X (StandardScaler; a feature's mean is 2e+03)"
    )
    assert "its std is 77" in _remedies(DeepMLPRegressor(), scaled, 77 * y)
    assert "its std is 77" in _remedies(DeepMLPRegressor(), scaled, 77 * y[:, None])
    # A target within 0.1 of 0 (daily returns) is far too; a constant is not.
    assert "its std is 0.01" in _remedies(DeepMLPRegressor(), scaled, 0.01 * y)
    assert _remedies(DeepMLPRegressor(), scaled, np.zeros(200)) == ""
    assert _remedies(DeepMLPRegressor(), scaled, 5 + 0.01 * y) == ""  # mean 5
    assert _remedies(DeepMLPRegressor(), 0.01 * scaled, y) == ""  # not X
    # One tiny column among standardized ones is enough.
    assert "a target's std is 0.01" in _remedies(DeepMLPRegressor(), scaled, np.c_[y, 0.01 * y])
    assert "a target's mean is 3e+03" in _remedies(
        DeepMLPRegressor(), scaled, np.c_[y, y + 3000]
    )
    # Not y of a classifier (class codes) or of a poisson regressor (counts).
    assert _remedies(DeepMLPClassifier(), scaled, 77 * y) == ""
    assert _remedies(DeepMLPRegressor(loss="poisson"), scaled, 500 + y) == ""
    # A sparse X cannot be centered: a scaler that keeps it sparse.
    sparse = sp.csr_matrix(np.where(scaled > 1, 100 * scaled, 0.0))
    assert _remedies(DeepMLPRegressor(), sparse, y).startswith(
        "scaling X (MaxAbsScaler or StandardScaler(with_mean=False); a feature's std"
    )


def test_a_memory_error_drops_the_hint_not_the_message(monkeypatch):
    def no_memory(data):
        raise MemoryError

    monkeypatch.setattr(_scale, "column_scale", no_memory)
    assert scaling_remedies(DeepMLPRegressor(), np.ones((3, 2)), np.ones(3)) == []


def test_a_diverged_fit_on_an_offset_feature_suggests_scaling_x():
    # A year-like feature (mean 2000, std 5) makes the first steps diverge.
    rng = np.random.default_rng(0)
    X = np.c_[rng.standard_normal((100, 2)), 2000 + 5 * rng.standard_normal(100)]
    y = X[:, 0] + rng.standard_normal(100)
    reg = DeepMLPRegressor(depth=3, width=16, optimizer="nesterov", learning_rate=10.0,
                           max_iter=20, random_state=0)
    with pytest.warns(DivergenceWarning) as record:
        reg.fit(X, y)
    message = str(record[0].message)
    assert "Try scaling X (StandardScaler; a feature's mean is 2e+03)" in message


def test_lbfgs_suggests_scaling_only_data_that_is_far_from_standardized():
    # X so large that the line search's trial point overflows float64.
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    reg = DeepMLPRegressor(depth=3, width=8, max_iter=5, optimizer="lbfgs", dtype="float64",
                           random_state=0)
    with pytest.warns(DivergenceWarning) as record:
        reg.fit(X * 1e150, y)
    message = str(record[0].message)
    assert "Try scaling X (StandardScaler; a feature's std is" in message
    assert "scaling y" not in message and "dtype='float64'" not in message


def test_the_convergence_warning_says_what_to_scale():
    # Raw wine (proline's std is about 315) stopped by max_iter: the warning
    # names X; standardized, it says what scikit-learn's says.
    X, y = load_wine(return_X_y=True)
    clf = DeepMLPClassifier(depth=1, width=8, max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning) as record:
        clf.fit(X, y)
    message = str(record[0].message)
    assert message.startswith("Stochastic optimizer: maximum iterations (2) reached")
    # The scale first: the model that it left near the class frequencies' loss
    # is said after it (tests/test_constant_output.py).
    scale = message.index(
        "Networks converge faster on standardized data: try scaling X "
        "(StandardScaler; a feature's std is 314)."
    )
    assert scale < message.index("that of the best constant prediction")
    with pytest.warns(ConvergenceWarning) as record:
        clf.set_params(max_iter=10).fit(StandardScaler().fit_transform(X), y)
    assert str(record[0].message).endswith("hasn't converged yet.")
    assert or_list(["a", "b", "c"]) == "a, b or c" and or_list(["a"]) == "a"


def test_a_wide_sparse_input_is_never_made_dense(monkeypatch):
    # A hashed X of 2**20 columns: one dense row is 8 MB, and 10000 of them
    # took tens of seconds when the estimate densified a row at a time.
    rng = np.random.default_rng(0)
    rows, columns = rng.integers(2000, size=20_000), rng.integers(2**20, size=20_000)
    X = sp.csr_matrix((rng.random(20_000) * 100, (rows, columns)), shape=(2000, 2**20))

    def densify(*args, **kwargs):
        raise AssertionError("made dense")

    for cls in (sp.csr_matrix, sp.csr_array, sp.coo_matrix):
        monkeypatch.setattr(cls, "toarray", densify)
    largest_mean, largest_std = column_scale(X)
    monkeypatch.undo()
    columns = X[:, np.unique(X.indices)].toarray()  # the columns with a nonzero
    assert largest_mean == pytest.approx(np.abs(columns.mean(axis=0)).max())
    assert largest_std == pytest.approx(columns.std(axis=0).max())
