"""BatchRecord: a read-only view of the training batch, for callbacks.

The network computes a batch in preallocated buffers that the next batch
reuses, some of them in place (an activation overwrites its pre-activation
where its derivative needs only its output). A callback that read those
buffers directly would depend on that private layout; it reads this record
instead, whose names and meanings are documented and stay.
"""

import numpy as np

__all__ = ["BatchRecord"]


def _readonly(array):
    """A read-only view of ``array`` (None and sparse matrices pass through)."""
    if not isinstance(array, np.ndarray):
        return array
    view = array.view()
    view.flags.writeable = False
    return view


class BatchRecord:
    """What the network computed on the current mini-batch, read-only.

    The training loop passes it to the ``on_grad_computed`` and
    ``on_batch_end`` hooks as the keyword argument ``record`` (and to
    ``on_fit_end``, for the last batch of the fit). Every array is a
    read-only view of the network's buffers: valid during the hook only, as
    the next batch overwrites them (copy what you keep). Weight layer ``l``
    maps the input of layer ``l`` to its dense output; layers ``0`` to
    ``depth - 1`` are hidden, layer ``depth`` is the output layer.

    Parameters
    ----------
    network : object
        The network being trained. The training loop builds the record and
        passes it to the hooks; callbacks do not make their own.

    Attributes
    ----------
    n_samples : int
        Rows of the batch.
    batch_count : int
        Training batches whose gradient the network has computed since it was
        built (this batch included): tells one batch from the next.
    inputs : list of arrays
        ``inputs[l]``: the input of weight layer ``l``, shape
        ``(n_samples, fan_in)``; ``inputs[0]`` is the batch of X (sparse if X
        is), ``inputs[l]`` for ``l > 0`` the output of hidden layer ``l - 1``
        (after dropout and residual additions).
    pre_activations : list of ndarray or None
        ``pre_activations[l]``: the input of hidden layer ``l``'s activation
        (after normalization), or None where the activation was computed in
        place over it (identity, sigmoid, tanh and relu, whose derivatives
        need only their output).
    activations : list of ndarray
        ``activations[l]``: the output of hidden layer ``l``'s activation
        (before dropout), shape ``(n_samples, width_l)``.
    logits : ndarray
        The output layer's dense output, before the output activation.
    error_signals : list of ndarray
        ``error_signals[l]``: d loss / d (dense output of weight layer ``l``),
        the back-propagated deltas (the last is d loss / d logits).
    weights, intercepts : list of ndarray
        Weight matrix ``(fan_in, fan_out)`` and bias of each weight layer.
    weight_grads, intercept_grads : list of ndarray
        Their gradients: in ``on_grad_computed`` the batch's gradient (L2
        penalty included, before clipping); in ``on_batch_end`` after clipping.
    coef_block, coef_grad_block : ndarray
        Every weight matrix (and its gradient) as one flat vector, layer after
        layer: ``weights[l].ravel()`` is ``coef_block[offsets[l]:offsets[l+1]]``
        with ``offsets`` the cumulative sizes. Per-layer statistics of all
        layers at once (``np.add.reduceat``) read these.
    params, grads : ndarray
        Every trainable value and its gradient (weights, projections, biases,
        normalization scales and shifts), flat.
    """

    def __init__(self, network):
        self._network = network

    @property
    def _ws(self):
        return self._network.last_batch

    @property
    def complete(self):
        """Whether the batch's gradient was computed (False before the first batch)."""
        ws = self._ws
        return ws is not None and "deltas" in ws

    @property
    def n_samples(self):
        """int: rows of the batch."""
        return self._ws["deltas"][-1].shape[0]

    @property
    def batch_count(self):
        """int: batches whose gradient the network has computed, this one included."""
        return self._network.batches_computed

    @property
    def inputs(self):
        """list of arrays: the input of each weight layer (``inputs[0]`` is the batch of X)."""
        return [_readonly(x) for x in self._ws["inputs"]]

    @property
    def pre_activations(self):
        """list of ndarray or None: each hidden activation's input, None where computed in place."""
        ws, network = self._ws, self._network
        if network._act_in_place:  # the activations overwrote them
            return [None] * network.depth
        pre = ws["norm_out"] if network.normalization is not None else ws["z"]
        n = self.n_samples
        return [_readonly(p[:n]) for p in pre]

    @property
    def activations(self):
        """list of ndarray: each hidden layer's activation output, before dropout."""
        n = self.n_samples
        return [_readonly(a[:n]) for a in self._ws["a"]]

    @property
    def logits(self):
        """ndarray: the output layer's dense output, before the output activation."""
        return _readonly(self._ws["logits"][: self.n_samples])

    @property
    def error_signals(self):
        """list of ndarray: d loss / d (dense output) of each weight layer."""
        return [_readonly(d) for d in self._ws["deltas"]]

    @property
    def weights(self):
        """list of ndarray: the weight matrix ``(fan_in, fan_out)`` of each weight layer."""
        return [_readonly(w) for w in self._network.coefs]

    @property
    def intercepts(self):
        """list of ndarray: the bias of each weight layer."""
        return [_readonly(b) for b in self._network.intercepts]

    @property
    def weight_grads(self):
        """list of ndarray: the gradient of each weight matrix."""
        return [_readonly(g) for g in self._network.coef_grads]

    @property
    def intercept_grads(self):
        """list of ndarray: the gradient of each bias."""
        return [_readonly(g) for g in self._network.intercept_grads]

    @property
    def coef_block(self):
        """ndarray: every weight matrix as one flat vector, layer after layer."""
        network = self._network
        return _readonly(network.params[: _n_coefs(network)])

    @property
    def coef_grad_block(self):
        """ndarray: the gradients of ``coef_block``, in the same order."""
        network = self._network
        return _readonly(network.grads[: _n_coefs(network)])

    @property
    def params(self):
        """ndarray: every trainable value, flat."""
        return _readonly(self._network.params)

    @property
    def grads(self):
        """ndarray: the gradient of every trainable value, flat."""
        return _readonly(self._network.grads)

    def __repr__(self):
        sizes = self._network.layer_sizes
        return f"BatchRecord(layer_sizes={sizes}, batch_count={self.batch_count})"


def _n_coefs(network):
    """Values of the weight matrices, which lead the flat vector."""
    return sum(w.size for w in network.coefs)
