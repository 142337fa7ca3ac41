"""ONNX export of fitted :class:`DeepMLPClassifier` and :class:`DeepMLPRegressor`.

An optional module: it needs `skl2onnx <https://onnx.ai/sklearn-onnx/>`_
(``pip install "sk-deepnet[onnx]"``, which also installs onnxruntime to run
the exported models). Call :func:`register_onnx_converters` once; then
``skl2onnx.to_onnx`` converts the estimators alone or inside pipelines, as it
converts scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`::

    from skl2onnx import to_onnx
    from sk_deepnet.onnx import register_onnx_converters

    register_onnx_converters()
    onx = to_onnx(pipeline, X[:1].astype(np.float32))

The graph is the inference-mode forward pass of the fitted network, read from
the estimator's network: dense layers, every hidden activation (GELU exact,
through ``Erf``), batch normalization with the running statistics, layer
normalization, residual blocks with their projections, and no dropout (it is
the identity at inference). A classifier has the two outputs of scikit-learn's
classifiers in skl2onnx: the labels (from the logits, as :meth:`predict`
takes them) and the probabilities of :meth:`predict_proba` (a ZipMap of them
unless ``options={id(clf): {"zipmap": False}}``); a multilabel classifier's
labels are its 0/1 indicator matrix. A classifier fitted on a single class
has the two probability columns of its ``predict_proba``, which a ZipMap of
one class cannot hold: it converts with ``"zipmap": False`` only. A regressor's output is of shape
``(n_samples, n_outputs)``, also for one output (``predict`` ravels that one).

The graph computes in the precision of its input, as ``predict`` does:
float32 for a float32 input, float64 for a float64, integer or boolean one.
A ZipMap holds float32 probabilities only: an integer or boolean input's are
cast to float32 before it, and a float64 input converts with
``"zipmap": False`` or ``"columns"`` only (the conversion says so otherwise).
onnxruntime has no float64 ``Erf`` kernel, so a float64 GELU network evaluates
its ``Erf`` in float32 (its probabilities agree with ``predict_proba`` within
1e-6, those of the other activations within 1e-12).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._activations import LEAKY_RELU_SLOPE, SELU_ALPHA, SELU_SCALE
from ._estimators import DeepMLPClassifier, DeepMLPRegressor

try:
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )
    from skl2onnx.common.utils import check_input_and_output_numbers
    from skl2onnx.common.utils_classifier import get_label_classes
    from skl2onnx.proto import onnx_proto
except ImportError as exc:  # the optional dependency is missing
    raise ImportError(
        "sk_deepnet.onnx needs skl2onnx (and onnxruntime to run the exported "
        'models): install them with pip install "sk-deepnet[onnx]" or '
        "pip install skl2onnx onnxruntime."
    ) from exc

try:  # private: skl2onnx has no public access to its default classifier parser
    from skl2onnx._parse import _parse_sklearn_classifier
except ImportError:  # a later skl2onnx: its own parser, and its error if unfitted
    _parse_sklearn_classifier = None

__all__ = ["register_onnx_converters"]

_ALIASES = {
    DeepMLPClassifier: "SkDeepnetDeepMLPClassifier",
    DeepMLPRegressor: "SkDeepnetDeepMLPRegressor",
}

_PROTO_TYPES = {
    np.dtype(np.float32): onnx_proto.TensorProto.FLOAT,
    np.dtype(np.float64): onnx_proto.TensorProto.DOUBLE,
    np.dtype(np.int64): onnx_proto.TensorProto.INT64,
}


def register_onnx_converters():
    """Register the ONNX converters of the estimators with skl2onnx.

    Afterwards ``skl2onnx.to_onnx`` (and ``convert_sklearn``) converts a fitted
    :class:`~sk_deepnet.DeepMLPClassifier` or
    :class:`~sk_deepnet.DeepMLPRegressor`, alone or in a pipeline. Calling it
    again is harmless.

    The classifier accepts skl2onnx's classifier options ``zipmap``
    (``True``, ``False`` or ``"columns"``), ``nocl`` (labels
    ``0 .. n_classes - 1`` instead of ``classes_``) and
    ``output_class_labels``.

    Examples
    --------
    >>> import numpy as np
    >>> from skl2onnx import to_onnx
    >>> from sk_deepnet import DeepMLPRegressor
    >>> from sk_deepnet.onnx import register_onnx_converters
    >>> register_onnx_converters()
    >>> X = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    >>> reg = DeepMLPRegressor(depth=2, width=8, max_iter=5).fit(X, X.sum(axis=1))
    >>> onx = to_onnx(reg, X[:1])
    >>> [output.name for output in onx.graph.output]
    ['variable']
    """
    update_registered_converter(
        DeepMLPClassifier,
        _ALIASES[DeepMLPClassifier],
        _classifier_shapes,
        _convert_classifier,
        parser=None if _parse_sklearn_classifier is None else _parse_classifier,
        options={
            "zipmap": [True, False, "columns"],
            "output_class_labels": [False, True],
            "nocl": [False, True],
        },
    )
    update_registered_converter(
        DeepMLPRegressor, _ALIASES[DeepMLPRegressor], _regressor_shapes, _convert_regressor
    )


# ----------------------------------------------------------------- parsing
def _parse_classifier(scope, model, inputs, custom_parsers=None):
    """skl2onnx's parser of classifiers (labels, probabilities, ZipMap), once
    the classifier is known to be fitted: the ZipMap reads ``classes_``, and an
    unfitted one would fail there with an error that does not say why."""
    check_is_fitted(model)
    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers=custom_parsers)


# ------------------------------------------------------------------ shapes
def _compute_dtype(input_type):
    """The precision of the graph: as ``predict``, float32 for a float32 input,
    else float64 (``predict`` converts integers and booleans to float64)."""
    if isinstance(input_type, FloatTensorType):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _tensor_type(dtype):
    return DoubleTensorType if dtype == np.float64 else FloatTensorType


def _check_input(operator):
    check_is_fitted(operator.raw_operator)  # NotFittedError before any fitted attribute
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=None)
    input_type = operator.inputs[0].type
    accepted = (FloatTensorType, DoubleTensorType, Int64TensorType, BooleanTensorType)
    if not isinstance(input_type, accepted):
        raise TypeError(
            f"{type(operator.raw_operator).__name__} converts a tensor of float32, "
            f"float64, int64 or booleans to ONNX; got an input of type {input_type}. "
            "Cast X to one of them (e.g. X.astype(np.float32))."
        )


def _classifier_shapes(operator):
    """Declare the labels and the probabilities of a classifier."""
    _check_input(operator)
    check_input_and_output_numbers(operator, output_count_range=2)
    clf = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    classes = _class_labels(operator.scope_inst, clf)
    label_type = StringTensorType if classes.dtype.kind in "OSU" else Int64TensorType
    y_type = clf._label_binarizer.y_type_
    operator.outputs[0].type = label_type(
        [n, len(classes)] if y_type == "multilabel-indicator" else [n]
    )
    # Binary targets have two probability columns, also with a single class.
    n_columns = 2 if y_type == "binary" else len(classes)
    if n_columns != len(classes):
        _check_no_zipmap(operator.scope_inst, clf)
    dtype = _probability_dtype(operator.scope_inst, clf, operator.inputs[0].type)
    operator.outputs[1].type = _tensor_type(dtype)([n, n_columns])


def _zipmap_option(scope, clf):
    """The classifier's ``zipmap`` option: False, True or ``"columns"``."""
    return scope.get_options(clf, dict(zipmap=True))["zipmap"]


def _probability_dtype(scope, clf, input_type):
    """The dtype of the probabilities: the graph's, except where a ZipMap takes them.

    skl2onnx declares the ZipMap's values in the type it guesses from the
    input: float32 for an integer or boolean input, whose graph computes in
    float64, so the probabilities are cast to float32 there. For a float64
    input it declares float64 maps, which ONNX's ZipMap cannot make (it takes
    float32 only): such a graph would not load, so it is refused by name.
    """
    dtype = _compute_dtype(input_type)
    zipmap = _zipmap_option(scope, clf)
    if zipmap is False or dtype == np.float32:
        return dtype
    if not isinstance(input_type, DoubleTensorType):  # integers, booleans
        return np.dtype(np.float32)
    if zipmap != "columns":
        raise ValueError(
            f"{type(clf).__name__} cannot put its probabilities in a ZipMap for a "
            "float64 input: ONNX's ZipMap holds float32 values only, and skl2onnx "
            "declares float64 ones, so onnxruntime would refuse to load the graph. "
            "Convert it with options={id(clf): {'zipmap': False}} (the "
            "probabilities as a float64 array) or {'zipmap': 'columns'}, or with "
            "a float32 input (X[:1].astype(np.float32))."
        )
    return dtype


def _check_no_zipmap(scope, clf):
    """Refuse a ZipMap of a one-class classifier, which cannot hold its probabilities.

    ``predict_proba`` has two columns, as in scikit-learn's MLP, but a ZipMap
    has one key per class, and onnxruntime refuses more columns than keys.
    """
    if _zipmap_option(scope, clf) is not False:
        raise ValueError(
            f"{type(clf).__name__} was fitted on a single class "
            f"(classes_={clf.classes_.tolist()}) and its predict_proba has two "
            "columns, which a ZipMap of one class cannot hold. Convert it with "
            "options={id(clf): {'zipmap': False}} to get the probabilities as "
            "an array of shape (n_samples, 2)."
        )


def _regressor_shapes(operator):
    """Declare the ``(n_samples, n_outputs)`` predictions of a regressor."""
    _check_input(operator)
    check_input_and_output_numbers(operator, output_count_range=1)
    reg = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    dtype = _compute_dtype(operator.inputs[0].type)
    operator.outputs[0].type = _tensor_type(dtype)([n, reg.n_outputs_])


def _class_labels(scope, clf):
    """The labels as ONNX holds them: int64 (from ints, whole floats, booleans), or strings.

    skl2onnx's ``get_label_classes`` applies the option ``nocl`` (labels
    ``0 .. n_classes - 1`` instead of ``classes_``). Float labels are whole
    numbers: the classifier refuses continuous targets.
    """
    classes = np.asarray(get_label_classes(scope, clf))
    if classes.dtype.kind in "OSU":
        return classes.astype(str)
    return classes.astype(np.int64)


# ---------------------------------------------------------------- the graph
class _Graph:
    """Adds the nodes and constants of one precision to a skl2onnx container."""

    def __init__(self, scope, container, dtype):
        self.scope = scope
        self.container = container
        self.dtype = np.dtype(dtype)
        self.opset = container.target_opset
        self._scalars = {}

    def const(self, value, dtype=None, name="const"):
        """An initializer holding ``value`` (in the graph's dtype by default)."""
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        var = self.scope.get_unique_variable_name(name)
        if array.dtype.kind == "U":
            content = [label.encode("utf-8") for label in array.ravel()]
            proto = onnx_proto.TensorProto.STRING
        else:
            content, proto = array.ravel(), _PROTO_TYPES[array.dtype]
        self.container.add_initializer(var, proto, list(array.shape), content)
        return var

    def scalar(self, value):
        """A scalar constant of the graph's dtype, made once per value."""
        if value not in self._scalars:
            self._scalars[value] = self.const(value, name="scalar")
        return self._scalars[value]

    def node(self, op_type, *inputs, **attrs):
        """Add one node; return the name of its (single) output."""
        out = self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(
            op_type, list(inputs), out,
            name=self.scope.get_unique_operator_name(op_type), **attrs,
        )
        return out

    def cast(self, x, dtype):
        return self.node("Cast", x, to=_PROTO_TYPES[np.dtype(dtype)])

    def reduce_mean_rows(self, x):
        """The mean of each row of ``x``, kept as a column."""
        if self.opset >= 18:  # axes became an input in opset 18
            return self.node("ReduceMean", x, self.const([1], np.int64), keepdims=1)
        return self.node("ReduceMean", x, axes=[1], keepdims=1)


# Hidden activations, each the graph of its NumPy forward in _activations.py.
# onnxruntime has float64 kernels for Relu, Sigmoid and Tanh but not for Elu,
# Selu, LeakyRelu, Softplus or Erf, so those are built from elementary ops.
def _negative_part_expm1(g, z):
    """``exp(min(z, 0)) - 1``: the ELU of the negative part."""
    return g.node("Sub", g.node("Exp", g.node("Min", z, g.scalar(0.0))), g.scalar(1.0))


def _elu(g, z):
    return g.node("Add", g.node("Max", z, g.scalar(0.0)), _negative_part_expm1(g, z))


def _selu(g, z):
    negative = g.node("Mul", _negative_part_expm1(g, z), g.scalar(SELU_ALPHA))
    elu = g.node("Add", g.node("Max", z, g.scalar(0.0)), negative)
    return g.node("Mul", elu, g.scalar(SELU_SCALE))


def _leaky_relu(g, z):
    return g.node("Max", z, g.node("Mul", z, g.scalar(LEAKY_RELU_SLOPE)))


def _softplus(g, z):
    # log(1 + exp(z)) = max(z, 0) + log(1 + exp(-|z|)), which never overflows.
    tail = g.node("Exp", g.node("Neg", g.node("Abs", z)))
    log1p_tail = g.node("Log", g.node("Add", tail, g.scalar(1.0)))
    return g.node("Add", g.node("Max", z, g.scalar(0.0)), log1p_tail)


def _gelu(g, z):
    # Exact GELU: z * Phi(z) = z * (1 + erf(z / sqrt(2))) / 2.
    scaled = g.node("Mul", z, g.scalar(float(np.sqrt(0.5))))
    if g.dtype == np.float32:
        erf = g.node("Erf", scaled)
    else:  # no float64 Erf kernel in onnxruntime
        erf = g.cast(g.node("Erf", g.cast(scaled, np.float32)), g.dtype)
    phi = g.node("Mul", g.node("Add", erf, g.scalar(1.0)), g.scalar(0.5))
    return g.node("Mul", z, phi)


_ACTIVATIONS = {
    "identity": lambda g, z: z,
    "sigmoid": lambda g, z: g.node("Sigmoid", z),
    "tanh": lambda g, z: g.node("Tanh", z),
    "relu": lambda g, z: g.node("Relu", z),
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "selu": _selu,
    "gelu": _gelu,
    "softplus": _softplus,
}


def _dense(g, h, weight, bias=None):
    out = g.node("MatMul", h, g.const(weight, name="weight"))
    return out if bias is None else g.node("Add", out, g.const(bias.reshape(1, -1), name="bias"))


def _batch_norm(g, z, norm):
    # As BatchNorm.forward at inference: the running statistics, the same
    # inverse standard deviation (computed here in the graph's dtype).
    inv_std = (1.0 / np.sqrt(norm.running_var + norm.eps)).astype(g.dtype, copy=False)
    normalized = g.node("Mul", g.node("Sub", z, g.const(norm.running_mean)), g.const(inv_std))
    return g.node("Add", g.node("Mul", normalized, g.const(norm.gamma)), g.const(norm.beta))


def _layer_norm(g, z, norm):
    centered = g.node("Sub", z, g.reduce_mean_rows(z))
    var = g.reduce_mean_rows(g.node("Mul", centered, centered))
    inv_std = g.node("Reciprocal", g.node("Sqrt", g.node("Add", var, g.scalar(norm.eps))))
    normalized = g.node("Mul", centered, inv_std)
    return g.node("Add", g.node("Mul", normalized, g.const(norm.gamma)), g.const(norm.beta))


def _normalize(g, z, norm):
    if hasattr(norm, "running_var"):
        return _batch_norm(g, z, norm)
    return _layer_norm(g, z, norm)


def _logits(g, x, network):
    """The graph of ``Network.forward(train=False)``: returns the logits' name.

    Dropout is the identity at inference, so it has no node.
    """
    activation = _ACTIVATIONS[network.activation]
    block_start = {start: k for k, (start, _) in enumerate(network.blocks)}
    block_end = {end: k for k, (_, end) in enumerate(network.blocks)}
    block_in = {}
    h = x
    for i in range(network.depth):
        if i in block_start:
            block_in[block_start[i]] = h
        z = _dense(g, h, network.coefs[i], network.intercepts[i])
        if network.norms:
            z = _normalize(g, z, network.norms[i])
        h = activation(g, z)
        if i in block_end:
            k = block_end[i]
            skip = block_in[k]
            if network.projections[k] is not None:
                skip = _dense(g, skip, network.projections[k].weight)
            h = g.node("Add", g.node("Mul", h, g.scalar(float(network.residual_scale))), skip)
    return _dense(g, h, network.coefs[-1], network.intercepts[-1])


def _network_logits(scope, operator, container):
    """The graph, the estimator's network in the graph's dtype, and its logits."""
    estimator = operator.raw_operator
    dtype = _compute_dtype(operator.inputs[0].type)
    g = _Graph(scope, container, dtype)
    network = estimator._network.astype(dtype)  # as predict: the weights in X's precision
    x = operator.inputs[0].full_name
    if not isinstance(operator.inputs[0].type, _tensor_type(dtype)):
        x = g.cast(x, dtype)
    return g, _logits(g, x, network)


# ------------------------------------------------------------- converters
def _convert_regressor(scope, operator, container):
    g, logits = _network_logits(scope, operator, container)
    # loss="poisson" predicts through its log link: exp of the output layer
    link = "Exp" if operator.raw_operator.out_activation_ == "exp" else "Identity"
    g.container.add_node(link, [logits], [operator.outputs[0].full_name])


def _convert_classifier(scope, operator, container):
    clf = operator.raw_operator
    g, logits = _network_logits(scope, operator, container)
    label_out = operator.outputs[0].full_name
    y_type = clf._label_binarizer.y_type_
    _add_probabilities(g, logits, y_type, operator.outputs[1])
    if y_type == "multiclass":
        index = g.node("ArgMax", logits, axis=1, keepdims=0)
    else:  # binary and multilabel: sigmoid outputs, thresholded at logit 0
        index = g.cast(g.node("Greater", logits, g.scalar(0.0)), np.int64)
    if y_type == "multilabel-indicator":
        container.add_node("Identity", [index], [label_out])
        return
    if y_type == "binary":
        index = g.node("Reshape", index, g.const([-1], np.int64))
    classes = _class_labels(scope, clf)
    if len(classes) == 1:
        # One class (fitted as scikit-learn's MLP fits it): predict says that
        # class whatever the logit, as LabelBinarizer.inverse_transform does.
        index = g.node("Mul", index, g.const(0, np.int64))
    classes = g.const(classes, dtype=classes.dtype, name="classes")
    container.add_node("Gather", [classes, index], [label_out], axis=0)


def _add_probabilities(g, logits, y_type, output):
    """Write ``predict_proba`` to ``output``, cast to its declared dtype.

    The declared dtype is float32 where a ZipMap takes the probabilities of a
    graph computing in float64 (see ``_probability_dtype``).
    """
    if y_type == "multiclass":
        proba = g.node("Softmax", logits, axis=1)
    else:  # binary and multilabel: sigmoid outputs
        proba = g.node("Sigmoid", logits)
        if y_type == "binary":
            proba = g.node("Concat", g.node("Sub", g.scalar(1.0), proba), proba, axis=1)
    dtype = np.float64 if isinstance(output.type, DoubleTensorType) else np.float32
    if dtype != g.dtype:
        proba = g.cast(proba, dtype)
    g.container.add_node("Identity", [proba], [output.full_name])
