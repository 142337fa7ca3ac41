"""The network: hidden layers and an output layer over ONE flat parameter vector.

All trainable values live in ``params`` (and their gradients in ``grads``), laid out
as ``[every weight matrix | every bias | every normalization scale and shift]``.
Layers only hold views into these two vectors. This gives

* one vectorized optimizer step for the whole network, whatever its depth;
* L2 regularization as a single operation on the contiguous weight block;
* global-norm gradient clipping as one dot product;
* cheap snapshots (one copy) for early stopping and divergence recovery.

A hidden layer is ``dense -> [normalization] -> activation -> [dropout]``. With
``residual=True`` the first hidden layer is a stem and the following layers are
grouped into blocks of ``residual_block_size`` layers; each block adds its input
(through a linear projection when the widths differ) to its output, the branch
scaled by ``1 / n_blocks`` so the residual stream stays bounded at initialization
however deep the network is (see :func:`_residual_scale`).
"""

import math

import numpy as np

from ._activations import (
    ACTIVATIONS, DERIVATIVES, GAINS, OUTPUT_DERIVATIVES, OUTPUT_MASKS, USES_ZEROS,
)
from ._initializers import INITIALIZERS
from ._jacobian import block_jvp, block_vjp, layer_jvp, layer_vjp
from ._layers import BatchNorm, Dense, LayerNorm, batch_weights, dropout_mask
from ._losses import LOSSES


#: Weights per term of the L2 penalty's squared norm (a float32 dot product
#: each, summed in float64): fixed, since the loss depends on it.
_L2_BLOCK = 2**17
#: Size of the scratch that holds ``scale * W`` for a piece of the weights.
#: Any size gives the same gradient (the step is elementwise). 2**16 values
#: (256 KiB in float32, half of what a block took) still hold all the weights
#: of a deep-narrow network (10 x 64 units: 41600) in one piece: 2**14 made its
#: penalty 3 pieces and about 10 us slower per batch (of about 270 us; see
#: benchmarks/design_choices.py --only memory_workspace). Without callbacks
#: the scratch is a buffer the backward pass has freed, when one is that large
#: (see :meth:`Network._add_training_buffers`).
_L2_STEP = 2**16
#: Largest ``batch x width`` (values) for which relu, elu and selu get an
#: array of zeros of the batch's shape: at 32 x 64 ``np.maximum(z, zeros)``
#: took 0.85 us against 1.9 us with one broadcast row of zeros, at 256 x 512
#: 17 us against 25 us (69 us with a scalar 0). Above it the row is used: the
#: full array would be a whole activation buffer more (0.5 MiB for the wide
#: network) for about 0.1% of its training time (benchmarks/design_choices.py
#: --only relu_forms).
_FULL_ZEROS = 2**14


class Network:
    """A feed-forward network with a flat parameter vector.

    Parameters
    ----------
    layer_sizes : list of int
        ``[n_features, width_1, ..., width_depth, n_outputs]``.
    activation : str
        Canonical hidden activation name (a key of ``ACTIVATIONS``).
    loss : str
        Key of ``LOSSES``; fixes the output activation.
    normalization : {None, "batch", "layer"}
    dropout : float
    residual : bool
    residual_block_size : int
    dtype : numpy dtype
    """

    def __init__(
        self,
        layer_sizes,
        activation,
        loss,
        normalization=None,
        dropout=0.0,
        residual=False,
        residual_block_size=2,
        dtype=np.float32,
    ):
        self.layer_sizes = list(layer_sizes)
        self.activation = activation
        self.loss = loss
        self.normalization = normalization
        self.dropout = dropout
        self.residual = residual
        self.residual_block_size = residual_block_size
        # How a residual branch is scaled: "linear" (1 / n_blocks) since 0.2;
        # networks pickled before keep their "sqrt" (see __setstate__).
        self.residual_scaling = "linear"
        self.dtype = np.dtype(dtype)
        self.blocks = self._residual_blocks()
        self._layout()
        self.params = np.zeros(self.n_params, dtype=self.dtype)
        self.grads = np.zeros(self.n_params, dtype=self.dtype)
        self.batches_computed = 0  # training batches whose gradient is complete
        self.running_means = [np.zeros(w, self.dtype) for w in self.hidden_sizes]
        self.running_vars = [np.ones(w, self.dtype) for w in self.hidden_sizes]
        if normalization != "batch":
            self.running_means = self.running_vars = []
        self._bind()

    # ----------------------------------------------------------------- structure
    @property
    def depth(self):
        return len(self.layer_sizes) - 2

    @property
    def hidden_sizes(self):
        return self.layer_sizes[1:-1]

    def _residual_blocks(self):
        """List of ``(first_layer, last_layer)`` hidden-layer indices of each block."""
        if not self.residual or self.depth < 2:
            return []
        size = self.residual_block_size
        return [
            (start, min(start + size, self.depth) - 1)
            for start in range(1, self.depth, size)
        ]

    def _layout(self):
        """Assign each array an offset in the flat vector: weights, biases, norms."""
        sizes = self.layer_sizes
        self._weight_shapes = [(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
        self._projection_shapes = [
            (sizes[start], sizes[end + 1])  # block input -> block output width
            for start, end in self.blocks
        ]
        shapes = [("W", s) for s in self._weight_shapes]
        shapes += [("P", s) for s in self._projection_shapes if s[0] != s[1]]
        self.n_weights = sum(a * b for _, (a, b) in shapes)
        shapes += [("b", (s[1],)) for s in self._weight_shapes]
        shapes += self._norm_shapes()
        self._shapes = shapes
        self.n_params = sum(math.prod(s) for _, s in shapes)

    def _norm_shapes(self):
        """The normalization scales and shifts of the layout (none without)."""
        if self.normalization is None:
            return []
        return [("gamma", (w,)) for w in self.hidden_sizes] + [
            ("beta", (w,)) for w in self.hidden_sizes
        ]

    def _views(self, flat):
        """Split a flat vector into named lists of shaped views."""
        views = {"W": [], "P": [], "b": [], "gamma": [], "beta": []}
        offset = 0
        for name, shape in self._shapes:
            size = math.prod(shape)
            # An inference-only copy has no gradient vector: its views are None.
            view = flat[offset : offset + size].reshape(shape) if flat.size else None
            views[name].append(view)
            offset += size
        return views

    def _bind(self):
        """(Re)create the layers as views into ``params`` and ``grads``."""
        p, g = self._views(self.params), self._views(self.grads)
        self.coefs, self.intercepts = p["W"], p["b"]
        self.coef_grads, self.intercept_grads = g["W"], g["b"]
        self.dense = [
            Dense(w, b, gw, gb) for w, b, gw, gb in zip(p["W"], p["b"], g["W"], g["b"])
        ]
        self.projections = self._bind_projections(p, g)
        self.norms = self._bind_norms(p, g)
        self.residual_scale = _residual_scale(len(self.blocks), self.residual_scaling)
        self._block_ending_at = {end: k for k, (_, end) in enumerate(self.blocks)}
        self._block_starting_at = {start: k for k, (start, _) in enumerate(self.blocks)}
        self._loss = LOSSES[self.loss]
        self._act = ACTIVATIONS[self.activation]
        self._act_in_place = self.activation in OUTPUT_DERIVATIVES
        self._act_uses_zeros = self.activation in USES_ZEROS
        self._dact = DERIVATIVES[self.activation]
        self._act_mask = OUTPUT_MASKS.get(self.activation)
        self._hidden_dense = self.dense[:-1]
        # Dense layers and activations only: forward and backward take a
        # shorter path (see _forward_plain).
        self._plain = not (self.norms or self.blocks or self.dropout > 0)
        self._workspace = None
        self._last_batch = None

    #: What :meth:`_bind` rebuilds: views, layers, tables and scratch buffers.
    _DERIVED = (
        "coefs", "intercepts", "coef_grads", "intercept_grads", "dense",
        "projections", "norms", "residual_scale", "_block_ending_at",
        "_block_starting_at", "_loss", "_act", "_act_in_place", "_act_uses_zeros",
        "_dact", "_act_mask", "_hidden_dense", "_plain", "_workspace", "_last_batch",
    )

    def _bind_projections(self, p, g):
        """The skip connection of each block: None (identity) or a projection."""
        available = iter(zip(p["P"], g["P"]))
        projections = []
        for fan_in, fan_out in self._projection_shapes:
            if fan_in == fan_out:  # identity skip connection
                projections.append(None)
            else:
                weight, weight_grad = next(available)
                projections.append(Dense(weight, None, weight_grad, None))
        return projections

    def _bind_norms(self, p, g):
        """The normalization layer of each hidden layer (none without)."""
        views = zip(p["gamma"], p["beta"], g["gamma"], g["beta"])
        if self.normalization == "batch":
            return [
                BatchNorm(*args, mean, var)
                for args, mean, var in zip(views, self.running_means, self.running_vars)
            ]
        if self.normalization == "layer":
            return [LayerNorm(*args) for args in views]
        return []

    def __getstate__(self):
        # Only the flat vectors, the statistics and plain values travel (the
        # dtype as its name): a state of arrays, lists, strings and numbers that
        # skops loads without trusting any numpy or private type.
        state = {k: v for k, v in self.__dict__.items() if k not in self._DERIVED}
        state["dtype"] = self.dtype.name
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.dtype = np.dtype(self.dtype)
        self.__dict__.setdefault("batches_computed", 0)  # pickled before 0.2.0
        self.__dict__.setdefault("residual_scaling", "sqrt")  # pickled before 0.2.0
        self._bind()

    # ------------------------------------------------------------ initialization
    def initialize(self, rng, init, init_scale=0.01, output_init=None, drawn_biases=None):
        """Draw every weight with scheme ``init``; zero biases; unit norm scales.

        ``init`` is one scheme name, or a list of one per weight matrix
        (hidden layers, then output). ``output_init``, if given, is the scheme
        of the output layer instead. ``drawn_biases`` (one bool per weight
        matrix) draws those layers' biases from ``U(-l, l)``, ``l = sqrt(6 /
        (fan_in + fan_out))``, as scikit-learn's MLP does, instead of zero.
        """
        n_layers = len(self.coefs)
        schemes = [init] * n_layers if isinstance(init, str) else list(init)
        if output_init is not None:
            schemes[-1] = output_init
        self._draw_weights(rng, schemes, init_scale)
        self._draw_biases(rng, [False] * n_layers if drawn_biases is None else drawn_biases)
        for norm in self.norms:
            norm.gamma[...] = 1
            norm.beta[...] = 0
        for mean, var in zip(self.running_means, self.running_vars):
            mean[...] = 0
            var[...] = 1

    def _draw_weights(self, rng, schemes, init_scale):
        """Each weight matrix with its scheme (hidden layers with the activation's gain)."""
        gain = GAINS[self.activation]
        for i, (weight, (fan_in, fan_out)) in enumerate(
            zip(self.coefs, self._weight_shapes)
        ):
            layer_gain = gain if i < self.depth else 1.0
            weight[...] = INITIALIZERS[schemes[i]](
                rng, fan_in, fan_out, self.dtype, init_scale, layer_gain
            )
        for proj in self.projections:
            if proj is not None:
                fan_in, fan_out = proj.weight.shape
                proj.weight[...] = INITIALIZERS["glorot_uniform"](rng, fan_in, fan_out, self.dtype)

    def _draw_biases(self, rng, drawn_biases):
        """Zero biases, or ``U(-l, l)`` with Glorot's limit where ``drawn_biases`` says so."""
        for b, drawn, shape in zip(self.intercepts, drawn_biases, self._weight_shapes):
            limit = np.sqrt(6.0 / sum(shape))
            b[...] = rng.uniform(-limit, limit, b.shape) if drawn else 0

    # ------------------------------------------------------------------ buffers
    def _new_workspace(self, n_samples, train, shared_deltas=False):
        """Scratch arrays for a batch of up to ``n_samples`` rows.

        ``shared_deltas`` (training only, a plain network: see
        :meth:`_shared_deltas`) writes the backward pass's deltas into buffers
        it no longer needs instead of one buffer per layer.

        Every buffer holds one sample per row (C order), so its first ``n`` rows
        are a contiguous view: a smaller batch (the last one of an epoch, the last
        chunk of a prediction) runs in :meth:`_rows` views of the same memory.
        """
        dt, n = self.dtype, n_samples
        hidden = self.hidden_sizes
        none = [None] * len(hidden)
        # One array of zeros per width, shared by the layers (read only), for
        # the activations that compare with 0: a single row where a whole
        # batch of them would be large (see _FULL_ZEROS).
        zeros = {
            w: np.zeros((n if n * w <= _FULL_ZEROS else 1, w), dt) for w in set(hidden)
        } if self._act_uses_zeros else {}
        ws = {
            "n": n,
            "z": [np.empty((n, w), dt) for w in hidden],  # dense outputs
            "a": list(none),  # activations
            "zeros": [zeros.get(w) for w in hidden],
            "logits": np.empty((n, self.layer_sizes[-1]), dt),
            "norm_out": list(none),
            "norm_cache": list(none),
            "dropped": list(none),
            "dropout_mask": list(none),
            "block_out": list(none),
            "row_views": {},
            "shared_deltas": shared_deltas,
        }
        for i, w in enumerate(hidden):
            self._add_layer_buffers(ws, i, w, train)
        if train:
            self._add_training_buffers(ws)
        return ws

    def _add_training_buffers(self, ws):
        """The buffers of the backward pass and the L2 penalty."""
        dt, n, hidden = self.dtype, ws["n"], self.hidden_sizes
        ws["delta_out"] = np.empty((n, self.layer_sizes[-1]), dt)
        # d loss / d dense output of each hidden layer (the deltas).
        if ws["shared_deltas"]:
            ws["grad_z"] = self._shared_deltas(ws)
        else:
            ws["grad_z"] = [np.empty((n, w), dt) for w in hidden]
        # d loss / d output of each hidden layer. It is turned into the delta
        # in place, so it is the same buffer, except at the end of a residual
        # block, whose unscaled gradient also flows back through the skip.
        ws["grad_out"] = [
            np.empty((n, w), dt) if i in self._block_ending_at else ws["grad_z"][i]
            for i, w in enumerate(hidden)
        ]
        ws["grad_skip"] = [
            None if proj is None else np.empty((n, proj.weight.shape[0]), dt)
            for proj in self.projections
        ]
        ws["ones"] = np.ones(n, dt)  # bias gradients as the product ones @ delta
        ws["l2_step"] = self._l2_scratch(ws)

    def _l2_scratch(self, ws):
        """The L2 penalty's scratch: ``min(n_weights, _L2_STEP)`` values.

        With shared deltas nobody reads the dense outputs once the backward
        pass is done (the batch record keeps neither them nor the deltas), and
        the penalty runs after it: the largest of them is the scratch when it
        is large enough (the wide network's 256 x 512), else one of its own.
        """
        size = min(self.n_weights, _L2_STEP)
        if ws["shared_deltas"]:
            freed = max(ws["z"], key=np.size)
            if freed.size >= size:
                return freed.reshape(-1)[:size]
        return np.empty(size, self.dtype)

    def _shared_deltas(self, ws):
        """The plain backward pass's deltas, each in a buffer free when it is written.

        Going down, the delta of hidden layer ``i`` is written once layer
        ``i + 1``'s delta has its activation derivative applied: from then on
        layer ``i + 1``'s dense output (its activation too, when computed in
        place) is read by nobody, so its buffer takes the delta when large
        enough. Other deltas (the last hidden layer's, and those of a layer
        wider than the next) go to a spare buffer that does not hold the delta
        being back-propagated. For relu (:data:`OUTPUT_MASKS`) each delta goes
        over its own layer's output instead, and there is no spare at all. The
        deltas are no longer kept (the batch record's error signals), so
        callbacks get per-layer buffers.
        """
        n, hidden = ws["n"], self.hidden_sizes
        if self._act_mask is not None:
            # Each delta overwrites its own layer's output, once that output's
            # weight gradient is computed and its derivative mask taken (see
            # _backward_plain): no spare buffer at all.
            return list(ws["z"])
        size = n * max(hidden)
        spares, deltas = [], [None] * len(hidden)
        for i in range(len(hidden) - 1, -1, -1):
            above = ws["z"][i + 1] if i + 1 < len(hidden) else None
            if above is not None and above.size >= n * hidden[i]:
                flat = above.reshape(-1)
            else:
                busy = None if above is None else deltas[i + 1]
                flat = _free_spare(spares, busy, size, self.dtype)
            deltas[i] = flat[: n * hidden[i]].reshape(n, hidden[i])
        return deltas

    def _add_layer_buffers(self, ws, i, width, train):
        """The buffers of hidden layer ``i`` that depend on its options."""
        dt, shape = self.dtype, (ws["n"], width)
        if self.normalization is not None:
            ws["norm_out"][i] = np.empty(shape, dt)
            if train:
                ws["norm_cache"][i] = {"normalized": np.empty(shape, dt)}
        # An activation whose derivative needs only its output overwrites its
        # input: one buffer less per layer, and less memory traffic.
        pre_activation = ws["z"][i] if self.normalization is None else ws["norm_out"][i]
        ws["a"][i] = pre_activation if self._act_in_place else np.empty(shape, dt)
        if train and self.dropout > 0:
            ws["dropped"][i] = np.empty(shape, dt)
            ws["dropout_mask"][i] = np.empty(shape, dt)
        if i in self._block_ending_at:
            ws["block_out"][i] = np.empty(shape, dt)

    #: Workspace entries that hold one sample per row (see :meth:`_rows`).
    _ROW_BUFFERS = (
        "z", "a", "zeros", "logits", "norm_out", "norm_cache", "dropped", "dropout_mask",
        "block_out", "delta_out", "grad_z", "grad_out", "grad_skip", "ones",
    )

    def _rows(self, ws, n):
        """The workspace ``ws`` restricted to its first ``n`` rows.

        ``ws`` itself when it has exactly ``n`` rows; else views of its first
        ``n`` rows, made once per ``n`` and kept in ``ws``. Per-batch results
        (inputs, masks, deltas) are recorded in the dictionary returned.
        """
        if ws["n"] == n:
            return ws
        views = ws["row_views"].get(n)
        if views is None:
            views = {key: _first_rows(ws[key], n) for key in self._ROW_BUFFERS if key in ws}
            views["n"] = n
            for key in ("l2_step", "shared_deltas"):
                if key in ws:
                    views[key] = ws[key]
            ws["row_views"][n] = views
        return views

    def _training_workspace(self, n_samples, keep_deltas=True):
        ws = self._workspace
        shared = not keep_deltas and self._plain and self.depth > 0
        if ws is None or ws["n"] < n_samples or ws.get("shared_deltas") != shared:
            ws = self._workspace = self._new_workspace(n_samples, True, shared)
        return self._rows(ws, n_samples)

    # ------------------------------------------------------------- computation
    def forward(self, X, ws, train=False, rng=None, sample_weight=None):
        """Forward pass; returns the output-layer logits (a view into ``ws``).

        Also records in ``ws`` (in its :meth:`_rows` views for a smaller batch)
        the per-layer inputs (``inputs``), the dropout masks (``mask``) and the
        block inputs needed by :meth:`backward`.
        """
        ws = self._rows(ws, X.shape[0])
        if self._plain:
            return self._forward_plain(X, ws)
        h = X
        ws["inputs"] = inputs = []
        ws["block_in"] = block_in = {}
        ws["mask"] = masks = [None] * self.depth
        dropout = train and self.dropout > 0
        act = self._act
        weights = self._batch_norm_weights(train, sample_weight)
        layers = zip(self._hidden_dense, ws["z"], ws["a"], ws["zeros"])
        for i, (dense, z, a, zeros) in enumerate(layers):
            k = self._block_starting_at.get(i)
            if k is not None:
                block_in[k] = h
            inputs.append(h)
            dense.forward(h, z)
            if self.norms:
                cache = None
                if train:
                    cache = ws["norm_cache"][i]
                    cache["batch_weights"] = weights
                z = self.norms[i].forward(z, ws["norm_out"][i], cache, train)
            act(z, a, zeros)
            h = a
            if dropout:
                mask = masks[i] = dropout_mask(
                    rng, a.shape, self.dropout, self.dtype, out=ws["dropout_mask"][i]
                )
                h = np.multiply(a, mask, out=ws["dropped"][i])
            k = self._block_ending_at.get(i)
            if k is not None:
                out = ws["block_out"][i]
                np.multiply(h, self.residual_scale, out=out)
                skip = block_in[k]
                if self.projections[k] is None:
                    out += skip
                else:
                    out += skip @ self.projections[k].weight
                h = out
        inputs.append(h)
        return self.dense[-1].forward(h, ws["logits"])

    def _batch_norm_weights(self, train, sample_weight):
        """Batch norm's weights of a training batch, normalized once for all its layers."""
        if train and self.normalization == "batch":
            return batch_weights(sample_weight, self.dtype)
        return None

    def backward(self, delta_out, ws):
        """Back-propagate ``delta_out`` (d loss / d logits); fills ``self.grads``.

        ``ws["deltas"]`` keeps, per weight layer, d loss / d (dense output): the
        back-propagated error signal that a gradient monitor inspects.
        """
        ws = self._rows(ws, delta_out.shape[0])
        _record_deltas(ws, delta_out)
        if self._plain:
            return self._backward_plain(delta_out, ws)
        inputs, grad_out, ones = ws["inputs"], ws["grad_out"], ws["ones"]
        n_hidden = self.depth
        self.dense[-1].backward(
            inputs[-1], delta_out, grad_out[-1] if n_hidden else None, ones
        )
        grad_z, masks, activations = ws["grad_z"], ws["mask"], ws["a"]
        pre_activations = ws["norm_out"] if self.norms else ws["z"]
        act_grad = self._dact
        pending_skip = {}
        for i in range(n_hidden - 1, -1, -1):
            g = grad_z[i]  # holds d loss / d output, unless a block ends here
            k = self._block_ending_at.get(i)
            if k is not None:
                pending_skip[k] = self._backward_block_end(k, grad_out[i], g, ws)
            if masks[i] is not None:
                g *= masks[i]
            act_grad(pre_activations[i], activations[i], g)
            if self.norms:
                self.norms[i].backward(g, ws["norm_cache"][i])
            self.dense[i].backward(inputs[i], g, grad_out[i - 1] if i > 0 else None, ones)
            k = self._block_starting_at.get(i)
            if k is not None:
                grad_out[i - 1] += pending_skip.pop(k)

    def _backward_block_end(self, k, g_out, g, ws):
        """At the end of block ``k``: the skip's gradient, and ``g`` of the branch.

        Returns the gradient the skip connection adds at the block's input
        (``g_out`` itself for an identity skip: it is not overwritten before
        the block start).
        """
        proj = self.projections[k]
        skip = g_out
        if proj is not None:
            proj.backward(ws["block_in"][k], g_out, ws["grad_skip"][k])
            skip = ws["grad_skip"][k]
        np.multiply(g_out, self.residual_scale, out=g)
        return skip

    # A network of dense layers and activations only (the common case, and the
    # deep-narrow benchmark) runs these two instead: the same NumPy calls as
    # forward() and backward(), with the products and bias additions inline
    # instead of in Dense's methods, and no checks for normalization, dropout
    # or residual blocks. design_choices.py times both paths: about 7 us of the
    # 180 us of the deep-narrow network's passes (10 layers of 64, batch 32).
    def _forward_plain(self, X, ws):
        ws["inputs"] = inputs = [X]
        ws["block_in"], ws["mask"] = {}, [None] * self.depth
        first, logits = self.dense[0], ws["logits"]
        if not self.depth:
            return first.forward(X, logits)
        act, dot = self._act, np.dot
        pre_activations, activations, zeros = ws["z"], ws["a"], ws["zeros"]
        first.forward(X, pre_activations[0])  # X may be sparse
        h = activations[0]
        act(pre_activations[0], h, zeros[0])
        inputs.append(h)
        layers = zip(
            self.coefs[1:], self.intercepts[1:], pre_activations[1:], activations[1:], zeros[1:]
        )
        for weight, bias, z, a, zero in layers:
            dot(h, weight, out=z)
            z += bias
            act(z, a, zero)
            inputs.append(a)
            h = a
        dot(h, self.coefs[-1], out=logits)
        logits += self.intercepts[-1]
        return logits

    def _backward_plain(self, delta_out, ws):
        inputs, ones = ws["inputs"], ws["ones"]
        act_grad, dot = self._dact, np.dot
        if ws["shared_deltas"] and self._act_mask is not None:
            act_grad = None  # each delta goes over its own layer's output
        # Every layer but the first, from the output down: its parameter
        # gradients, then the delta of the layer below.
        layers = zip(
            self.coefs[:0:-1], self.coef_grads[:0:-1], self.intercept_grads[:0:-1],
            inputs[:0:-1], ws["z"][::-1], ws["a"][::-1], ws["grad_z"][::-1],
        )
        delta = delta_out
        for weight, weight_grad, bias_grad, x, z, a, g in layers:
            dot(x.T, delta, out=weight_grad)
            dot(ones, delta, out=bias_grad)
            if act_grad is None:  # g is a: x (= a) is read for the last time
                mask = self._act_mask(a)
                dot(delta, weight.T, out=g)
                g *= mask  # the same product as act_grad's
                mask = None  # not alive beside the next layer's
            else:
                dot(delta, weight.T, out=g)  # d loss / d input of this layer
                act_grad(z, a, g)  # ... and of the layer below's dense output
            delta = g
        self.dense[0].backward(inputs[0], delta, None, ones)  # X may be sparse

    def loss_and_gradient(
        self, X, Y, sample_weight, weight_sum, alpha=0.0, rng=None, keep_deltas=True
    ):
        """Forward + backward on one batch in training mode.

        Returns the sample-weighted mean loss (plus the L2 penalty
        ``alpha / (2 * sum(w)) * ||W||^2`` on the weight matrices, as scikit-learn's
        MLP); ``self.grads`` then holds its gradient, and ``self.last_penalty``
        the penalty (0.0 without ``alpha``). With ``keep_deltas=False``
        the workspace afterwards holds neither the deltas nor the activations
        (see :meth:`_shared_deltas`): less memory, for a fit without callbacks.
        """
        ws = self._last_batch = self._training_workspace(X.shape[0], keep_deltas)
        logits = self.forward(X, ws, train=True, rng=rng, sample_weight=sample_weight)
        delta = ws["delta_out"]
        loss = self._loss.loss_and_delta(logits, Y, sample_weight, weight_sum, delta)
        self.backward(delta, ws)
        penalty = 0.0
        if alpha > 0:
            penalty = self._add_l2_penalty(alpha / weight_sum, ws["l2_step"])
        self.last_penalty = penalty
        self.batches_computed += 1
        return loss + penalty

    def _add_l2_penalty(self, scale, scratch):
        """Add ``scale * W`` to the weight gradients; return ``scale / 2 * ||W||^2``.

        The contiguous weight block is scaled ``scratch.size`` values at a
        time, so that no temporary larger than the small scratch is made; its
        squared norm sums the dot products of blocks of ``_L2_BLOCK`` values.
        """
        weights, grads = self.params[: self.n_weights], self.grads[: self.n_weights]
        squared_norm = 0.0
        for start in range(0, self.n_weights, _L2_BLOCK):
            block = weights[start : start + _L2_BLOCK]
            squared_norm += float(block @ block)
            # Pieces of the block while it is in cache; they never cross its
            # end (scratch.size divides _L2_BLOCK or holds every weight).
            for first in range(start, start + block.size, scratch.size):
                piece = weights[first : first + scratch.size]
                grads[first : first + scratch.size] += np.multiply(
                    piece, scale, out=scratch[: piece.size]
                )
        return 0.5 * scale * squared_norm

    def has_finite_state(self):
        """Whether every parameter and every running statistic is finite.

        A network can have finite weights and still predict one constant (or
        NaN) for every row: batch norm's running variances can overflow on
        their own (float32 inputs near 1e19 gave infinite ``running_vars``).
        The divergence guard and every restore of a snapshot check this.
        """
        return _all_finite(self.params) and all(
            _all_finite(stat) for stat in self.running_means + self.running_vars
        )

    # ------------------------------------------- Jacobian-vector products
    def jvp_layer(self, layer, h, v, train=True):
        """Weight layer ``layer``'s output at ``h`` and its Jacobian times ``v``.

        Side-effect free (see :mod:`sk_deepnet._jacobian`): no buffer, running
        statistic or gradient changes. ``layer`` runs from 0 (the first hidden
        layer) to ``depth`` (the output layer); ``train`` picks batch
        normalization's batch (True) or running statistics.

        Returns
        -------
        out, jvp : ndarray of shape (n_samples, fan_out)
        """
        return layer_jvp(self, layer, h, v, train)

    def vjp_layer(self, layer, h, u, train=True):
        """Weight layer ``layer``'s output at ``h`` and ``u`` times its Jacobian.

        Returns
        -------
        out : ndarray of shape (n_samples, fan_out)
        vjp : ndarray of shape (n_samples, fan_in)
        """
        return layer_vjp(self, layer, h, u, train)

    def jvp_block(self, block, h, v, train=True):
        """Residual block ``block``'s output at its input ``h`` and its JVP with ``v``."""
        return block_jvp(self, block, h, v, train)

    def vjp_block(self, block, h, u, train=True):
        """Residual block ``block``'s output at its input ``h`` and ``u`` times its Jacobian."""
        return block_vjp(self, block, h, u, train)

    @property
    def last_batch(self):
        """The workspace of the last training batch (inputs, activations, deltas).

        ``batches_computed`` counts the batches whose loss and gradient were
        completed since the network was built (copies and pickles keep it).
        """
        return self._last_batch

    def astype(self, dtype):
        """A copy of the network computing in ``dtype`` (for inference)."""
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        return self._cast_copy(dtype, trainable=False)

    def trainable_copy(self, dtype, dropout=None):
        """A copy computing in ``dtype`` with a gradient vector of its own.

        Its parameters and running statistics are new arrays (casts of this
        network's, exact when widening): nothing done with the copy changes
        this network. ``dropout``, if given, replaces the dropout rate.
        """
        return self._cast_copy(np.dtype(dtype), trainable=True, dropout=dropout)

    def _cast_copy(self, dtype, trainable, dropout=None):
        state = self.__getstate__()
        state["dtype"] = dtype
        state["params"] = self.params.astype(dtype)  # always a copy
        state["grads"] = np.zeros(self.n_params if trainable else 0, dtype)
        state["running_means"] = [m.astype(dtype) for m in self.running_means]
        state["running_vars"] = [v.astype(dtype) for v in self.running_vars]
        if dropout is not None:
            state["dropout"] = dropout
        return Network.from_state(state)

    @classmethod
    def from_state(cls, state):
        """A network from a :meth:`__getstate__` dict (how estimators pickle it)."""
        network = cls.__new__(cls)
        network.__setstate__(dict(state))
        return network

    def predict_logits(self, X, chunk_size=1024):
        """Inference-mode logits, computed in the precision of X (float32 or float64).

        Thread-safe: it allocates its own scratch buffers and never writes to the
        network. Like scikit-learn's MLP, a float64 X is predicted in float64 (the
        weights are cast, X never is), a float32 X in float32.
        """
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else self.dtype
        network = self.astype(dtype)
        n = X.shape[0]
        out = np.empty((n, self.layer_sizes[-1]), dtype)
        ws = network._new_workspace(min(n, chunk_size), train=False)
        for start in range(0, n, chunk_size):
            stop = min(start + chunk_size, n)
            # The products write into buffers of dtype (np.dot(out=...) does not
            # cast), so other inputs (integers, float16) are cast chunk by chunk.
            chunk = X[start:stop].astype(dtype, copy=False)
            out[start:stop] = network.forward(chunk, ws, train=False)
        return out


def _residual_scale(n_blocks, scaling):
    """The factor of every residual branch: ``1 / n_blocks`` (or its square root).

    A branch ending in an activation such as relu is positive and correlated
    with the stream it is added to, so variances do not simply add; by the
    triangle inequality the stream's root mean square grows at most by a factor
    ``(1 + rho / n_blocks) ** n_blocks <= exp(rho)`` over the whole network,
    ``rho`` bounding each branch's gain, whatever that correlation. This is the
    step size of the forward-Euler view of a residual network (Haber & Ruthotto,
    2017; Chen et al., 2018). ``"sqrt"`` (``1 / sqrt(n_blocks)``, Hayou et al.,
    2021) is what networks pickled before 0.2.0 used: it bounds the growth only
    for zero-mean branches uncorrelated with the stream.
    """
    if not n_blocks:
        return 1.0
    return 1.0 / (n_blocks if scaling == "linear" else np.sqrt(n_blocks))


def _record_deltas(ws, delta_out):
    """Keep the batch's deltas in ``ws["deltas"]``, unless the pass overwrites them."""
    if ws.get("shared_deltas"):
        ws.pop("deltas", None)  # overwritten on the way down: not kept
    else:
        ws["deltas"] = [*ws["grad_z"], delta_out]


def _free_spare(spares, busy, size, dtype):
    """A flat buffer of ``spares`` that does not hold ``busy`` (one added if none)."""
    for spare in spares:
        if busy is None or not np.shares_memory(spare, busy):
            return spare
    spares.append(np.empty(size, dtype))
    return spares[-1]


def _all_finite(values):
    """Whether every value of a float array is finite, with no temporary array.

    ``np.isfinite(values).all()`` makes a boolean array as long as ``values``:
    for the parameter vector, checked twice at every epoch end, a quarter of
    a model on top of the fit's peak memory. The minimum and maximum reduce in
    place, propagate NaN and are infinite exactly when an infinite value is
    present. (The ufuncs' reduce, without the Python wrappers of
    ``ndarray.min`` and ``.max``. A squared norm, one pass, overflows for
    finite values beyond 1e19 in float32, and NumPy warns of it outside a
    fit's ``errstate``.)
    """
    return values.size == 0 or (
        math.isfinite(np.minimum.reduce(values, axis=None))
        and math.isfinite(np.maximum.reduce(values, axis=None))
    )


#: Values per piece of :func:`flush_subnormals`: its temporaries (the
#: piece's absolute values and a mask, 80 KB in float32) stay below the fit's
#: other transients however large the model, so they do not raise its peak
#: memory (pieces of 2**16 raised the memory row of run_benchmarks.py from
#: 199.9 to 200.1 MiB; a pass over 2.8 million values takes 0.8 ms).
_FLUSH_BLOCK = 2**14


def flush_subnormals(values):
    """Set the subnormal values of a float array to zero, in place.

    A weight that only the L2 penalty moves (into a dead relu unit) shrinks
    geometrically under Adam and ends subnormal (below ``finfo.tiny``, 1.2e-38
    in float32), and so do its optimizer moments. Arithmetic on subnormals
    takes the processor's slow path: a 200 x 100 by 100 x 100 float32 product
    took 1647 us with 706 subnormal weights, 27 us with them zero, and a
    make_multilabel_classification fit with ``alpha=1`` 2.3 times as long.
    Zero differs from them by less than ``tiny``. The array is read a block of
    :data:`_FLUSH_BLOCK` values at a time (no model-sized temporary).
    """
    flat = values.reshape(-1)
    tiny = np.finfo(flat.dtype).tiny
    for start in range(0, flat.size, _FLUSH_BLOCK):
        block = flat[start : start + _FLUSH_BLOCK]
        block[np.abs(block) < tiny] = 0.0


def _first_rows(buffers, n):
    """The same lists and dicts of buffers, each array replaced by its first n rows."""
    if isinstance(buffers, np.ndarray):
        return buffers[:n]
    if isinstance(buffers, list):
        return [_first_rows(b, n) for b in buffers]
    if isinstance(buffers, dict):
        return {key: _first_rows(b, n) for key, b in buffers.items()}
    return buffers  # None
