"""Property-based tests: whatever users feed the estimators, they never crash,
corrupt a model or silently produce NaN.

Every generated case either fits and predicts finite values of the right shape and
dtype, or (for the invalid cases) raises a ValueError/TypeError that names the
problem. Hypothesis draws shapes, input dtypes (float16/32/64, ints, bools), dense
and every scipy sparse format (matrix and array), label types (ints, strings,
booleans, multilabel indicators), regression targets, and the hyperparameters
(every optimizer, activation, init, normalization, residual, dropout, batch size
from 1 to full batch, pretraining when available).

The number of examples is set by the hypothesis profile (``tests/conftest.py``;
``HYPOTHESIS_PROFILE=dev`` or ``thorough`` explores more).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, note  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor, DivergenceWarning  # noqa: E402
from sk_deepnet._activations import ACTIVATIONS, ALIASES  # noqa: E402
from sk_deepnet._initializers import INITIALIZERS  # noqa: E402
from sk_deepnet.optimizers import OPTIMIZERS  # noqa: E402
from sk_deepnet.schedules import SCHEDULES  # noqa: E402

FLOAT_DTYPES = [np.float32, np.float64]
OTHER_DTYPES = [np.float16, np.int8, np.int32, np.int64, np.uint8, np.bool_]
X_DTYPES = FLOAT_DTYPES + OTHER_DTYPES
SPARSE_FORMATS = ["csr", "csc", "coo", "bsr", "dia", "dok", "lil"]
DENSE_CONTAINERS = ["ndarray", "list", "fortran"]
SPARSE_CONTAINERS = [f"{fmt}_{kind}" for fmt in SPARSE_FORMATS for kind in ("matrix", "array")]
CONTAINERS = DENSE_CONTAINERS + SPARSE_CONTAINERS
LABEL_KINDS = ["int", "negative_int", "str", "bool", "object_str", "multilabel"]
HAS_PRETRAIN = "pretrain" in DeepMLPClassifier._parameter_constraints


# ----------------------------------------------------------------- strategies
def _to_container(X, container):
    """``X`` (a dense ndarray) in the requested container."""
    if container == "ndarray":
        return X
    if container == "list":
        return X.tolist()
    if container == "fortran":
        return np.asfortranarray(X)
    fmt, kind = container.split("_")
    data = X if X.dtype != np.float16 else X.astype(np.float32)  # scipy has no float16
    if kind == "matrix":
        return sp.csr_matrix(data).asformat(fmt)
    return sp.csr_array(data).asformat(fmt)


def _expected_output_dtype(X):
    """Prediction runs in X's precision when it is float32/float64, else float64."""
    dtype = X.dtype if hasattr(X, "dtype") else np.asarray(X).dtype
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


@st.composite
def feature_matrices(draw, n_samples):
    n_features = draw(st.integers(1, 5))
    # half the draws in the float dtypes the estimators keep, half in the others
    dtype = np.dtype(
        draw(st.one_of(st.sampled_from(FLOAT_DTYPES), st.sampled_from(OTHER_DTYPES)))
    )
    values = draw(
        hnp.arrays(
            np.float64,
            (n_samples, n_features),
            elements=st.floats(-50, 50, allow_nan=False, width=16),
        )
    )
    if dtype == np.bool_:
        X = values > 0
    elif np.issubdtype(dtype, np.unsignedinteger):
        X = np.abs(np.round(values)).astype(dtype)
    elif np.issubdtype(dtype, np.integer):
        X = np.round(values).astype(dtype)
    else:
        X = values.astype(dtype)
    container = draw(
        st.one_of(st.sampled_from(DENSE_CONTAINERS), st.sampled_from(SPARSE_CONTAINERS))
    )
    return X, container


@st.composite
def class_labels(draw, n_samples):
    """Targets with at least two classes (or a multilabel indicator matrix)."""
    kind = draw(st.sampled_from(LABEL_KINDS))
    if kind == "multilabel":
        n_labels = draw(st.integers(2, 4))
        return draw(hnp.arrays(np.int64, (n_samples, n_labels), elements=st.integers(0, 1)))
    n_classes = 2 if kind == "bool" else draw(st.integers(2, 4))
    codes = np.array(
        [0, 1] + draw(
            st.lists(st.integers(0, n_classes - 1), min_size=n_samples - 2, max_size=n_samples - 2)
        )
    )
    codes = codes[draw(st.permutations(range(n_samples)))]
    if kind == "int":
        return codes
    if kind == "negative_int":
        return codes * 1000 - 10**9
    if kind == "bool":
        return codes.astype(bool)
    names = np.array(["cat", "dog", "emu", "fox"])[codes]
    return names.astype(object) if kind == "object_str" else names


@st.composite
def regression_targets(draw, n_samples):
    n_outputs = draw(st.sampled_from([0, 1, 3]))  # 0: a 1-d y
    shape = (n_samples,) if n_outputs == 0 else (n_samples, n_outputs)
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int64]))
    y = draw(hnp.arrays(np.float64, shape, elements=st.floats(-10, 10, allow_nan=False)))
    return y.astype(dtype)


@st.composite
def hyperparameters(draw, n_samples):
    depth = draw(st.integers(1, 4))
    width = draw(
        st.one_of(
            st.integers(1, 8),
            st.lists(st.integers(1, 8), min_size=depth, max_size=depth),
        )
    )
    params = dict(
        depth=depth,
        width=width,
        activation=draw(st.sampled_from(sorted(set(ACTIVATIONS) | set(ALIASES)))),
        init=draw(st.sampled_from(["auto", *sorted(INITIALIZERS)])),
        init_scale=draw(st.sampled_from([0.01, 0.1, 1.0])),
        normalization=draw(st.sampled_from([None, "batch", "layer"])),
        dropout=draw(st.sampled_from([0.0, 0.1, 0.5])),
        residual=draw(st.booleans()),
        residual_block_size=draw(st.integers(1, 3)),
        clip_grad_norm=draw(st.sampled_from([None, 1.0])),
        optimizer=draw(st.sampled_from(sorted(OPTIMIZERS))),
        batch_size=draw(
            st.one_of(st.none(), st.just("auto"), st.integers(1, n_samples + 3))
        ),
        lr_schedule=draw(st.sampled_from(SCHEDULES)),
        alpha=draw(st.sampled_from([0.0, 1e-4, 1.0])),
        dtype=draw(st.sampled_from(["float32", "float64"])),
        shuffle=draw(st.booleans()),
        max_iter=draw(st.integers(1, 3)),
        random_state=draw(st.integers(0, 2**31 - 1)),
    )
    if HAS_PRETRAIN and draw(st.booleans()):
        params.update(
            pretrain="rbm",
            pretrain_epochs=draw(st.integers(1, 2)),
            pretrain_batch_size=draw(st.integers(1, n_samples + 3)),
            pretrain_persistent=draw(st.booleans()),
            pretrain_visible=draw(st.sampled_from(["auto", "bernoulli", "gaussian"])),
            pretrain_hidden_units=draw(st.sampled_from(["auto", "sigmoid", "rectified"])),
        )
    return params


@st.composite
def sample_weights(draw, n_samples):
    if not draw(st.booleans()):
        return None
    return np.array(
        draw(st.lists(st.floats(0.1, 10), min_size=n_samples, max_size=n_samples))
    )


# ------------------------------------------------------------------ checks
def _fit_quietly(estimator, X, y, **fit_params):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, y, **fit_params)
    for warning in caught:
        if issubclass(warning.category, DivergenceWarning):
            # a divergence must say what happened and what to try
            message = str(warning.message)
            assert "restored" in message and "learning_rate" in message
    return estimator


def _check_fitted_state(estimator):
    assert all(np.isfinite(c).all() for c in estimator.coefs_)
    assert all(np.isfinite(b).all() for b in estimator.intercepts_)
    assert len(estimator.loss_curve_) == estimator.n_iter_ <= estimator.max_iter
    assert np.isfinite(estimator.loss_curve_).all()
    for attribute in ("running_means_", "running_vars_"):
        for stats in getattr(estimator, attribute, []):
            assert np.isfinite(stats).all()


def _check_no_nan_predictions(output, n_samples, X):
    assert output.shape[0] == n_samples
    assert output.dtype == _expected_output_dtype(X)
    assert np.isfinite(output).all()


@given(data=st.data())
def test_classifier_fits_and_predicts_anything_valid(data):
    n_samples = data.draw(st.integers(2, 30), label="n_samples")
    X, container = data.draw(feature_matrices(n_samples), label="X")
    y = data.draw(class_labels(n_samples), label="y")
    params = data.draw(hyperparameters(n_samples), label="params")
    sample_weight = data.draw(sample_weights(n_samples), label="sample_weight")
    X_in = _to_container(X, container)
    note(f"container={container}, X.dtype={X.dtype}")

    clf = _fit_quietly(DeepMLPClassifier(**params), X_in, y, sample_weight=sample_weight)
    _check_fitted_state(clf)

    proba = clf.predict_proba(X_in)
    _check_no_nan_predictions(proba, n_samples, X_in)
    assert ((proba >= 0) & (proba <= 1)).all()
    multilabel = np.ndim(y) == 2
    if multilabel:
        assert proba.shape == y.shape
    else:
        assert proba.shape == (n_samples, len(np.unique(y)))
        atol = 1e-3 if proba.dtype == np.float32 else 1e-8
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=atol)
        np.testing.assert_array_equal(clf.classes_, np.unique(y))

    pred = clf.predict(X_in)
    assert pred.shape == np.shape(y)
    if multilabel:
        assert set(np.unique(pred)) <= {0, 1}
    else:
        assert pred.dtype == clf.classes_.dtype
        assert set(pred) <= set(clf.classes_)
        # predict agrees with the most probable class of predict_proba
        np.testing.assert_array_equal(pred, clf.classes_[np.argmax(proba, axis=1)])
    assert np.isfinite(clf.predict_log_proba(X_in)[proba > 0]).all()
    assert 0 <= clf.score(X_in, y) <= 1


@given(data=st.data())
def test_regressor_fits_and_predicts_anything_valid(data):
    n_samples = data.draw(st.integers(1, 30), label="n_samples")
    X, container = data.draw(feature_matrices(n_samples), label="X")
    y = data.draw(regression_targets(n_samples), label="y")
    params = data.draw(hyperparameters(n_samples), label="params")
    sample_weight = data.draw(sample_weights(n_samples), label="sample_weight")
    X_in = _to_container(X, container)
    note(f"container={container}, X.dtype={X.dtype}")

    reg = _fit_quietly(DeepMLPRegressor(**params), X_in, y, sample_weight=sample_weight)
    _check_fitted_state(reg)
    pred = reg.predict(X_in)
    _check_no_nan_predictions(pred, n_samples, X_in)
    # as scikit-learn's MLPRegressor: a column y (n, 1) is predicted as (n,)
    assert pred.shape == (y.ravel().shape if y.ndim == 2 and y.shape[1] == 1 else y.shape)
    assert reg.n_outputs_ == (1 if y.ndim == 1 else y.shape[1])


@given(data=st.data())
def test_partial_fit_streams_of_chunks(data):
    """partial_fit over chunks (dense or sparse, any dtype) keeps a finite model."""
    n_chunks = data.draw(st.integers(1, 4), label="n_chunks")
    chunk = data.draw(st.integers(2, 10), label="chunk")
    n_samples = n_chunks * chunk
    X, container = data.draw(feature_matrices(n_samples), label="X")
    y = data.draw(class_labels(n_samples), label="y")
    params = data.draw(hyperparameters(n_samples), label="params")
    params["batch_size"] = "auto"
    clf = DeepMLPClassifier(**params)
    classes = None if np.ndim(y) == 2 else np.unique(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for start in range(0, n_samples, chunk):
            X_chunk = _to_container(X[start : start + chunk], container)
            clf.partial_fit(X_chunk, y[start : start + chunk], classes=classes)
    assert clf.n_iter_ == len(clf.loss_curve_) <= n_chunks
    assert all(np.isfinite(c).all() for c in clf.coefs_)
    X_in = _to_container(X, container)
    proba = clf.predict_proba(X_in)
    _check_no_nan_predictions(proba, n_samples, X_in)


@pytest.mark.parametrize("container", ["ndarray", "csr_matrix", "csc_array", "coo_matrix"])
@pytest.mark.parametrize("batch_size", [None, 7])  # one full batch, or gathered batches
@pytest.mark.parametrize("train_dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_dtype", X_DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_input_dtype_with_every_training_dtype(x_dtype, train_dtype, batch_size, container):
    """The deterministic grid behind the random draws: each input dtype, training
    dtype, batching path and container (a float32 X trained in float64 crashed)."""
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(20, 3)) * 4).astype(x_dtype)
    X_in = _to_container(X, container)
    y = np.arange(20) % 3
    clf = DeepMLPClassifier(depth=2, width=4, max_iter=2, batch_size=batch_size,
                            dtype=train_dtype, random_state=0)
    _fit_quietly(clf, X_in, y)
    _check_fitted_state(clf)
    proba = clf.predict_proba(X_in)
    _check_no_nan_predictions(proba, 20, X_in)
    assert clf._network.dtype == np.dtype(train_dtype)


# ------------------------------------------------------- invalid hyperparameters
INVALID_PARAMS = {
    "depth": [-1, 1.5, "3", True],
    "width": [0, -3, "wide", [2, 0], [4], [2.5, 3], True, [True, 3]],
    "activation": ["relux", None],
    "init": ["zeros", 3],
    "init_scale": [0, -1.0, np.inf, np.nan],
    "normalization": ["group", True],
    "dropout": [1.0, -0.1, np.nan],
    "residual": ["yes", 2],
    "residual_block_size": [0, 1.5],
    "clip_grad_norm": [0, -1.0, np.nan],
    "optimizer": ["bfgs", None],
    "learning_rate": [0, -0.1, np.nan, np.inf, "fast"],
    "momentum": [1.0, -0.1],
    "beta_1": [1.0, -0.5],
    "beta_2": [1.5, np.nan],
    "epsilon": [0, -1e-8],
    "rho": [1.0, -0.1],
    "weight_decay": [-1.0, np.inf],
    "momentum_decay": [-1.0],
    "batch_size": [0, -5, 1.5, "all", True],
    "alpha": [-1.0, np.nan],
    "lr_schedule": ["linear"],
    "power_t": [-1.0],
    "lr_step_size": [0],
    "lr_gamma": [0, 1.5],
    "max_iter": [0, -1, 2.5, False],
    "tol": [-1.0, np.nan],
    "n_iter_no_change": [0, np.nan, -np.inf, True],
    "max_fun": [0, 2.5, True],
    "early_stopping": ["yes"],
    "validation_fraction": [0.0, 1.0],
    "shuffle": ["no"],
    "random_state": ["seed", 1.5],
    "dtype": ["float16", np.float32],
    "callbacks": ["cb", ["cb"], [None]],
    # pretraining (sk_deepnet.pretraining)
    "pretrain": ["dbn", True],
    "pretrain_epochs": [0, 1.5],
    "pretrain_learning_rate": [0, -1.0, "fast"],
    "pretrain_cd_steps": [0],
    "pretrain_batch_size": [0, None],
    "pretrain_momentum": [1.0, -0.1],
    "pretrain_weight_decay": [-1.0],
    "pretrain_persistent": ["yes"],
    "pretrain_visible": ["poisson"],
    "pretrain_hidden_units": ["relu", None],
}
INVALID_CASES = [(name, value) for name, values in INVALID_PARAMS.items() for value in values]


def test_invalid_parameter_table_covers_every_hyperparameter():
    constrained = set(DeepMLPClassifier._parameter_constraints)
    untested = constrained - set(INVALID_PARAMS) - {"verbose", "warm_start"}
    assert not untested, f"add invalid values of {sorted(untested)} to INVALID_PARAMS"


@pytest.mark.parametrize("estimator_class", [DeepMLPClassifier, DeepMLPRegressor])
@pytest.mark.parametrize("name, value", INVALID_CASES, ids=[f"{n}={v!r}" for n, v in INVALID_CASES])
def test_invalid_hyperparameters_are_named_in_the_error(name, value, estimator_class):
    params = {"depth": 2, "width": 3, "max_iter": 2, name: value}
    X = np.random.default_rng(0).normal(size=(12, 3))
    y = np.arange(12) % 2
    with pytest.raises((ValueError, TypeError)) as excinfo:
        estimator_class(**params).fit(X, y)
    assert name in str(excinfo.value)


# ---------------------------------------------------------------- divergence
@given(
    optimizer=st.sampled_from(sorted(OPTIMIZERS)),
    learning_rate=st.floats(1e2, 1e30),
    init=st.sampled_from(["auto", "normal"]),
    init_scale=st.floats(1.0, 1e15),
    activation=st.sampled_from(["relu", "identity", "tanh", "elu", "softplus"]),
    dtype=st.sampled_from(["float32", "float64"]),
    regression=st.booleans(),
    max_iter=st.integers(1, 4),
)
def test_absurd_settings_never_leave_nan_weights(
    optimizer, learning_rate, init, init_scale, activation, dtype, regression, max_iter
):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    y = rng.normal(size=40) if regression else np.arange(40) % 3
    estimator = (DeepMLPRegressor if regression else DeepMLPClassifier)(
        depth=3, width=8, optimizer=optimizer, learning_rate=learning_rate, init=init,
        init_scale=init_scale, activation=activation, dtype=dtype, max_iter=max_iter,
        batch_size=10, random_state=0,
    )
    try:
        _fit_quietly(estimator, X, y)
    except ValueError as exc:
        # only when even the initial weights overflow: no finite state ever existed
        assert "before any training step" in str(exc) and "init_scale" in str(exc)
        assert init == "normal"
        return
    _check_fitted_state(estimator)
    for X_pred in (X, X.astype(np.float32)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            output = (estimator.predict if regression else estimator.predict_proba)(X_pred)
        if not np.isfinite(output).all():
            # never silently: huge (finite) weights may overflow on rows the fit's
            # checks did not see, and predict then says so
            assert any("outputs overflow" in str(w.message) for w in caught)
