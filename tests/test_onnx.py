"""ONNX export (sk_deepnet.onnx): the exported pipelines run in onnxruntime and
predict what the estimators predict, in every configuration of the network.

Each test fits a tiny network for a few epochs inside
``make_pipeline(StandardScaler(), estimator)``, converts the pipeline with
``skl2onnx.to_onnx`` and compares onnxruntime's outputs with the pipeline's
``predict`` and ``predict_proba`` on inputs wider than the training data (so
that saturating activations and large logits are exercised too).
"""

import importlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

from skl2onnx import to_onnx  # noqa: E402

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor  # noqa: E402
from sk_deepnet.onnx import register_onnx_converters  # noqa: E402

ACTIVATIONS = [
    "identity", "sigmoid", "logistic", "tanh", "relu", "leaky_relu", "elu", "selu",
    "gelu", "softplus",
]

# Every part of the network: normalization, residual blocks with identity skips
# (equal widths) and projections (a width change inside), dropout.
STRUCTURES = {
    "plain": dict(depth=2, width=8),
    "batch_norm": dict(depth=2, width=8, normalization="batch"),
    "layer_norm": dict(depth=2, width=8, normalization="layer"),
    "residual_identity": dict(depth=5, width=6, residual=True),
    "residual_projection": dict(
        depth=5, width=[6, 6, 6, 7, 7], residual=True, residual_block_size=2
    ),
    "residual_batch_norm_dropout": dict(
        depth=4, width=[8, 8, 5, 5], residual=True, normalization="batch", dropout=0.2
    ),
    "residual_layer_norm_dropout": dict(
        depth=4, width=[8, 8, 5, 5], residual=True, normalization="layer", dropout=0.2,
        residual_block_size=3,
    ),
}


@pytest.fixture(scope="module", autouse=True)
def converters():
    register_onnx_converters()


def _data(n_samples=80, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features)) * [1, 10, 0.1, 3, 1][:n_features]
    # Evaluation inputs spread wider than the training ones.
    X_eval = 3 * rng.normal(size=(200, n_features)) * [1, 10, 0.1, 3, 1][:n_features]
    return X, X_eval, rng


def _fit(estimator, X, y):
    pipe = make_pipeline(StandardScaler(), estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few epochs only
        return pipe.fit(X, y)


def _run(onx, X):
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


def _check_classifier(pipe, X, atol=1e-5, dtype=np.float32, target_opset=None):
    X = X.astype(dtype)
    options = {id(pipe[-1]): {"zipmap": False}}
    onx = to_onnx(pipe, X[:1], options=options, target_opset=target_opset)
    labels, proba = _run(onx, X)
    expected = pipe.predict(X)
    assert labels.shape == expected.shape
    np.testing.assert_array_equal(labels, expected)
    assert proba.dtype == dtype
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=atol)


def _check_regressor(pipe, X, rtol=1e-5, dtype=np.float32):
    X = X.astype(dtype)
    (predicted,) = _run(to_onnx(pipe, X[:1]), X)
    expected = pipe.predict(X)
    assert predicted.dtype == dtype
    assert predicted.shape == (len(X), pipe[-1].n_outputs_)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(
        predicted.reshape(expected.shape), expected, rtol=0, atol=rtol * scale
    )


def _make(cls, activation="relu", structure="plain", **params):
    return cls(
        activation=activation, max_iter=4, batch_size=16, random_state=0,
        **STRUCTURES[structure], **params,
    )


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_multiclass(activation):
    X, X_eval, rng = _data()
    y = np.array(["cat", "dog", "emu"])[rng.integers(0, 3, len(X))]
    pipe = _fit(_make(DeepMLPClassifier, activation, init_scale=0.5), X, y)
    _check_classifier(pipe, X_eval)


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel"])
def test_every_structure_and_target(structure, target):
    X, X_eval, rng = _data()
    if target == "binary":
        y = rng.integers(0, 2, len(X)) * 5 - 2  # labels -2 and 3
    elif target == "multiclass":
        y = rng.integers(0, 4, len(X))
    else:
        y = (rng.normal(size=(len(X), 3)) > 0).astype(int)
    activation = "tanh" if "batch_norm" in structure else "gelu"
    pipe = _fit(_make(DeepMLPClassifier, activation, structure), X, y)
    network = pipe[-1]._network
    if structure == "residual_projection":  # the structures are what they say
        assert any(proj is not None for proj in network.projections)
        assert any(proj is None for proj in network.projections)
    if "batch_norm" in structure:
        assert not np.allclose(network.running_vars[0], 1)
    _check_classifier(pipe, X_eval)


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_regressor_every_structure(structure, n_outputs):
    X, X_eval, rng = _data()
    y = X @ rng.normal(size=(X.shape[1], n_outputs))
    y = y.ravel() if n_outputs == 1 else y
    pipe = _fit(_make(DeepMLPRegressor, "softplus", structure), X, y)
    _check_regressor(pipe, X_eval)


@pytest.mark.parametrize("activation", ["selu", "elu", "leaky_relu", "gelu", "softplus"])
def test_regressor_activations_far_from_zero(activation):
    # Large weights put the pre-activations far into both tails.
    X, X_eval, rng = _data()
    regressor = _make(DeepMLPRegressor, activation, init_scale=3.0, init="normal")
    pipe = _fit(regressor, X, X[:, 0])
    _check_regressor(pipe, X_eval)


@pytest.mark.parametrize("depth", [0, 2])
def test_poisson_regressor_exports_its_log_link(depth):
    X, X_eval, rng = _data()
    y = rng.poisson(np.exp(0.3 * X[:, 0] / X[:, 0].std()))
    pipe = _fit(DeepMLPRegressor(loss="poisson", depth=depth, width=8, max_iter=5,
                                 random_state=0), X, y)
    assert (pipe.predict(X_eval) > 0).all()
    _check_regressor(pipe, X_eval)


@pytest.mark.parametrize("cls", [DeepMLPClassifier, DeepMLPRegressor])
def test_depth_zero(cls):
    X, X_eval, rng = _data()
    y = rng.integers(0, 3, len(X)) if cls is DeepMLPClassifier else X[:, :2]
    estimator = cls(depth=0, max_iter=3, random_state=0)
    try:
        pipe = _fit(estimator, X, y)
    except ValueError:  # InvalidParameterError: a version without depth=0
        pytest.skip("this version of sk_deepnet has no depth=0 networks")
    if cls is DeepMLPClassifier:
        _check_classifier(pipe, X_eval)
    else:
        _check_regressor(pipe, X_eval)


@pytest.mark.parametrize("activation", ["gelu", "selu", "softplus", "tanh"])
@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel", "regression"])
def test_float64(activation, target):
    X, X_eval, rng = _data()
    # float64 GELU evaluates erf in float32 (onnxruntime has no float64 Erf).
    tol = 1e-6 if activation == "gelu" else 1e-12
    if target == "regression":
        structure = "residual_batch_norm_dropout"
        pipe = _fit(_make(DeepMLPRegressor, activation, structure, dtype="float64"), X, X[:, :2])
        _check_regressor(pipe, X_eval, rtol=tol, dtype=np.float64)
        return
    y = {
        "binary": rng.integers(0, 2, len(X)),
        "multiclass": rng.integers(0, 3, len(X)),
        "multilabel": (rng.normal(size=(len(X), 2)) > 0).astype(int),
    }[target]
    structure = "residual_layer_norm_dropout"
    pipe = _fit(_make(DeepMLPClassifier, activation, structure, dtype="float64"), X, y)
    _check_classifier(pipe, X_eval, atol=tol, dtype=np.float64)


def test_float32_input_of_a_float64_network():
    # predict computes in X's precision: float32 here, as the ONNX graph does.
    X, X_eval, rng = _data()
    y = rng.integers(0, 3, len(X))
    pipe = _fit(_make(DeepMLPClassifier, "elu", "layer_norm", dtype="float64"), X, y)
    _check_classifier(pipe, X_eval, dtype=np.float32)


@pytest.mark.parametrize("target_opset", [15, 17])
def test_older_opsets(target_opset):
    # ReduceMean takes its axes as an attribute before opset 18.
    X, X_eval, rng = _data()
    y = rng.integers(0, 3, len(X))
    pipe = _fit(_make(DeepMLPClassifier, "gelu", "residual_layer_norm_dropout"), X, y)
    _check_classifier(pipe, X_eval, target_opset=target_opset)


@pytest.mark.parametrize("cls", [DeepMLPClassifier, DeepMLPRegressor])
def test_integer_input_computes_in_float64_as_predict(cls):
    X, _, rng = _data()
    X = np.round(X).astype(np.int64)
    y = rng.integers(0, 3, len(X)) if cls is DeepMLPClassifier else X[:, 1] - X[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = _make(cls, "gelu", "batch_norm").fit(X, y)
    options = {"zipmap": False} if cls is DeepMLPClassifier else None
    outputs = _run(to_onnx(est, X[:1], options=options), X)
    assert outputs[-1].dtype == np.float64
    if cls is DeepMLPClassifier:
        np.testing.assert_array_equal(outputs[0], est.predict(X))
        np.testing.assert_allclose(outputs[1], est.predict_proba(X), rtol=0, atol=1e-6)
    else:
        expected = est.predict(X)  # float32 GELU's erf: 1e-6 of the scale
        np.testing.assert_allclose(
            outputs[0].ravel(), expected, rtol=0, atol=1e-6 * np.abs(expected).max()
        )


def test_an_unsupported_input_type_is_named_with_the_types_that_convert():
    X, _, _ = _data()
    est = DeepMLPRegressor(depth=1, width=4, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, X[:, 0])
    # "floats, ints or booleans" read as if int32 converted too.
    with pytest.raises(TypeError, match=r"float32, float64, int64 or booleans.*Int32Tensor"):
        to_onnx(est, X[:1].astype(np.int32))


def test_zipmap_output():
    X, X_eval, rng = _data()
    y = np.array(["no", "yes"])[rng.integers(0, 2, len(X))]
    pipe = _fit(_make(DeepMLPClassifier, "relu", "batch_norm"), X, y)
    X_eval = X_eval.astype(np.float32)
    labels, proba_maps = _run(to_onnx(pipe, X_eval[:1]), X_eval)
    np.testing.assert_array_equal(labels, pipe.predict(X_eval))
    proba = np.array([[row["no"], row["yes"]] for row in proba_maps])
    np.testing.assert_allclose(proba, pipe.predict_proba(X_eval), rtol=0, atol=1e-5)


def test_bare_estimator_and_float_labels():
    # Float labels that are whole numbers become int64, as in skl2onnx.
    X, X_eval, rng = _data()
    y = rng.integers(0, 3, len(X)).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = _make(DeepMLPClassifier).fit(X, y)
    X_eval = X_eval.astype(np.float32)
    labels, proba = _run(to_onnx(clf, X_eval[:1], options={"zipmap": False}), X_eval)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, clf.predict(X_eval).astype(np.int64))
    np.testing.assert_allclose(proba, clf.predict_proba(X_eval), rtol=0, atol=1e-5)


@pytest.mark.parametrize("target", ["binary", "multiclass"])
def test_options_nocl_class_labels_and_zipmap_columns(target):
    X, X_eval, rng = _data()
    y = np.array(["b", "a", "c"])[rng.integers(0, 2 if target == "binary" else 3, len(X))]
    pipe = _fit(_make(DeepMLPClassifier, "selu", "layer_norm"), X, y)
    X_eval = X_eval.astype(np.float32)
    options = {id(pipe[-1]): {"zipmap": False, "nocl": True}}
    codes, proba = _run(to_onnx(pipe, X_eval[:1], options=options), X_eval)
    expected = np.searchsorted(pipe.classes_, pipe.predict(X_eval))
    np.testing.assert_array_equal(codes, expected)
    options = {id(pipe[-1]): {"zipmap": False, "output_class_labels": True}}
    labels, proba, classes = _run(to_onnx(pipe, X_eval[:1], options=options), X_eval)
    np.testing.assert_array_equal(labels, pipe.predict(X_eval))
    np.testing.assert_array_equal(classes, pipe.classes_)
    options = {id(pipe[-1]): {"zipmap": "columns"}}
    labels, *columns = _run(to_onnx(pipe, X_eval[:1], options=options), X_eval)
    np.testing.assert_array_equal(labels, pipe.predict(X_eval))
    np.testing.assert_allclose(
        np.column_stack(columns), pipe.predict_proba(X_eval), rtol=0, atol=1e-5
    )


@pytest.mark.parametrize("label", [3, "only"])
def test_one_class_classifier(label):
    # Fitted on a single class as scikit-learn's MLP: predict_proba has two
    # columns, predict says that class. The graph gives the same.
    X, X_eval, _ = _data()
    clf = _fit(_make(DeepMLPClassifier), X, np.full(len(X), label))
    assert clf.predict_proba(X_eval).shape == (len(X_eval), 2)
    _check_classifier(clf, X_eval)
    X_eval = X_eval.astype(np.float32)
    options = {id(clf[-1]): {"zipmap": False, "nocl": True}}
    codes, _ = _run(to_onnx(clf, X_eval[:1], options=options), X_eval)
    np.testing.assert_array_equal(codes, np.zeros(len(X_eval)))
    # A ZipMap has a key per class: it cannot hold the two columns.
    for zipmap in [True, "columns"]:
        with pytest.raises(ValueError, match=r"single class.*'zipmap': False"):
            to_onnx(clf, X_eval[:1], options={id(clf[-1]): {"zipmap": zipmap}})


@pytest.mark.parametrize("cls, options", [
    (DeepMLPClassifier, None), (DeepMLPClassifier, {"zipmap": False}), (DeepMLPRegressor, None),
])
def test_unfitted_estimator_raises_not_fitted_error(cls, options):
    X = np.zeros((2, 3), np.float32)
    for model in [cls(), make_pipeline(StandardScaler().fit(X), cls())]:
        with pytest.raises(NotFittedError, match=f"This {cls.__name__} instance is not fitted"):
            to_onnx(model, X, options=options)


def test_missing_skl2onnx_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # import skl2onnx fails
    monkeypatch.delitem(sys.modules, "sk_deepnet.onnx")
    with pytest.raises(ImportError, match=r'pip install "sk-deepnet\[onnx\]"'):
        importlib.import_module("sk_deepnet.onnx")


def test_api_reference_lists_the_module():
    import sk_deepnet.onnx

    api = Path(__file__).resolve().parent.parent / "doc" / "api.rst"
    if not api.is_file():
        pytest.skip("no doc/ directory")
    text = api.read_text(encoding="utf-8").split(".. currentmodule:: sk_deepnet.onnx", 1)
    assert len(text) == 2, "doc/api.rst has no sk_deepnet.onnx section"
    for name in sk_deepnet.onnx.__all__:
        assert f"\n   {name}\n" in text[1], f"doc/api.rst does not list {name}"


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
@pytest.mark.parametrize("zipmap", [True, "columns"])
def test_zipmap_of_an_integer_or_boolean_input(dtype, zipmap):
    # The graph computes in float64, but skl2onnx's ZipMap takes float32
    # probabilities for these inputs: the graph did not load in onnxruntime.
    X, _, rng = _data()
    X = (X > 0).astype(dtype) if dtype is np.bool_ else np.round(X).astype(dtype)
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, len(X))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = _make(DeepMLPClassifier).fit(X, y)
    labels, *probabilities = _run(to_onnx(clf, X[:1], options={"zipmap": zipmap}), X)
    np.testing.assert_array_equal(labels, clf.predict(X))
    if zipmap is True:
        probabilities = [[row[label] for label in clf.classes_] for row in probabilities[0]]
    else:
        assert probabilities[0].dtype == np.float32
        probabilities = np.column_stack(probabilities)
    np.testing.assert_allclose(probabilities, clf.predict_proba(X), rtol=0, atol=1e-6)


def test_zipmap_of_a_float64_input_is_refused_with_the_ways_out():
    # ONNX's ZipMap takes float32 only, and skl2onnx declares float64 maps for
    # a float64 input: the graph converted, then onnxruntime refused to load it.
    X, _, rng = _data()
    pipe = _fit(_make(DeepMLPClassifier), X, rng.integers(0, 3, len(X)))
    with pytest.raises(ValueError, match=r"ZipMap.*float64.*'zipmap': False.*float32"):
        to_onnx(pipe, X[:1])
    for options in [{"zipmap": False}, {"zipmap": "columns"}]:
        outputs = _run(to_onnx(pipe, X[:1], options={id(pipe[-1]): options}), X)
        np.testing.assert_array_equal(outputs[0], pipe.predict(X))
