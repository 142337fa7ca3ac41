"""Losses fused with their output activation.

A loss works on the raw output-layer values (logits) of one batch. ``loss_and_delta``
returns the sample-weighted mean loss and writes the gradient of that loss with
respect to the logits into ``delta``. Fusing the output activation with the loss
gradient gives the simple and stable form ``delta = (p - y) * w / sum(w)`` and never
takes the log of a rounded probability.
"""

import numpy as np
from scipy.special import expit, xlogy


def _weighted_mean(values, sample_weight, weight_sum):
    if sample_weight is None:
        return float(np.add.reduce(values)) / weight_sum  # values.sum() of a vector
    return float(values @ sample_weight) / weight_sum


def _scale_delta(delta, sample_weight, weight_sum):
    if sample_weight is None:
        delta /= weight_sum
    else:
        delta *= (sample_weight / weight_sum)[:, None]


#: Rows per block of :func:`_weighted_row_sum`: its temporaries stay small
#: (a few hundred KiB) however many samples a fit has.
_ROW_BLOCK = 4096


def zero_output_loss(loss, Y, sample_weight, n_outputs, rows=None):
    """The loss of an output of zeros (all logits 0) on every sample, in closed form.

    What a well-scaled initialization starts near: ``log(n_classes)`` for
    uniform class probabilities, ``n_labels * log(2)`` for probabilities of
    1/2, half the weighted mean squared norm of ``y`` for a prediction of 0,
    and the half Poisson deviance of a rate of 1. ``loss`` is one of
    :data:`LOSSES`' classes, ``Y`` and ``sample_weight`` the training targets
    and weights as it takes them, ``rows`` the indices of the samples to
    average over (all if None: early stopping holds the others out). No
    logits are made: the squared error and the deviance read ``Y`` a block
    of rows at a time. None when the samples weigh nothing.
    """
    weight_sum = _weight_sum(len(Y), sample_weight, rows)
    if weight_sum <= 0:
        return None
    if loss is SoftmaxCrossEntropy:
        return float(np.log(n_outputs))
    if loss is LogisticCrossEntropy:
        return float(n_outputs * np.log(2.0))
    if loss is SquaredError:
        per_row = lambda y: 0.5 * np.einsum("ij,ij->i", y, y)  # noqa: E731
    else:  # the Poisson deviance at a rate of exp(0) = 1
        per_row = lambda y: (xlogy(y, y) - y + 1.0).sum(axis=1)  # noqa: E731
    return float(_weighted_row_sum(per_row, Y, sample_weight, rows)) / weight_sum


def constant_output_loss(loss, Y, sample_weight, n_outputs, rows=None):
    """The least loss of an output that is the same for every sample, in closed form.

    What a model that learned nothing from ``X`` reaches at best: the
    entropy of the weighted class frequencies for the softmax, the sum of
    each label's binary entropy for independent sigmoids, half the weighted
    variance of ``y`` summed over outputs for the squared error (the
    prediction is the mean, as for an :math:`R^2` of 0), and the half
    Poisson deviance of the mean rate. Arguments as
    :func:`zero_output_loss`'s; ``Y`` is read a block of rows at a time.
    None when the samples weigh nothing.
    """
    weight_sum = _weight_sum(len(Y), sample_weight, rows)
    if weight_sum <= 0:
        return None
    if loss is SoftmaxCrossEntropy and np.ndim(Y) == 1:  # class codes
        frequencies = _class_weights(Y, sample_weight, n_outputs, rows) / weight_sum
        return float(-xlogy(frequencies, frequencies).sum())
    means = _weighted_row_sum(lambda y: y, Y, sample_weight, rows) / weight_sum
    if loss is SoftmaxCrossEntropy:  # a one-hot matrix
        return float(-xlogy(means, means).sum())
    if loss is LogisticCrossEntropy:
        return float(-(xlogy(means, means) + xlogy(1 - means, 1 - means)).sum())
    if loss is SquaredError:  # about the means: no cancellation of large squares
        per_row = lambda y: 0.5 * np.square(y - means).sum(axis=1)  # noqa: E731
    else:  # each term of the deviance at the mean rate is nonnegative
        per_row = lambda y: (  # noqa: E731
            xlogy(y, y) - xlogy(y, means) - y + means
        ).sum(axis=1)
    return float(_weighted_row_sum(per_row, Y, sample_weight, rows)) / weight_sum


def _blocks(values, rows, n_samples):
    """``values`` (its ``rows``, if given; None for no values) of a set of
    ``n_samples`` samples, :data:`_ROW_BLOCK` rows at a time."""
    n_rows = n_samples if rows is None else len(rows)
    for start in range(0, n_rows, _ROW_BLOCK):
        part = slice(start, start + _ROW_BLOCK)
        if values is None:
            yield None
        else:
            yield values[part] if rows is None else values[rows[part]]


def _weight_sum(n_samples, sample_weight, rows):
    """The summed weight of the ``rows`` (all if None), in float64."""
    if sample_weight is None:
        return n_samples if rows is None else len(rows)
    blocks = _blocks(sample_weight, rows, n_samples)
    return sum(float(np.sum(w, dtype=np.float64)) for w in blocks)


def _class_weights(codes, sample_weight, n_classes, rows):
    """The summed weight of each class, :data:`_ROW_BLOCK` codes at a time
    (``bincount`` copies its input to intp: 8 bytes per sample at once)."""
    total = np.zeros(n_classes)
    blocks = zip(_blocks(codes, rows, len(codes)), _blocks(sample_weight, rows, len(codes)))
    for block, w in blocks:
        total += np.bincount(block, w, n_classes)
    return total


def _weighted_row_sum(per_row, Y, sample_weight, rows=None):
    """``sum_i w_i per_row(Y)_i`` over the ``rows`` (all if None) in float64,
    :data:`_ROW_BLOCK` rows at a time.

    ``per_row`` maps a block of rows to a value per row, or to a vector per
    row (then the sum is a vector).
    """
    total = 0.0
    for block, w in zip(_blocks(Y, rows, len(Y)), _blocks(sample_weight, rows, len(Y))):
        block = np.asarray(block, dtype=np.float64).reshape(-1, _n_columns(Y))
        values = per_row(block)
        total = total + (values.sum(axis=0) if w is None else w @ values)
    return total


def _n_columns(Y):
    """The columns of a target matrix (1 for a vector)."""
    return 1 if np.ndim(Y) == 1 else Y.shape[1]


def softmax(logits, out):
    """Row-wise softmax of ``logits`` written to ``out``; returns log-sum-exp."""
    # The ufuncs' reduce, as ndarray.max and .sum call it, without their
    # Python wrappers (a microsecond each on a small batch, at every batch).
    row_max = np.maximum.reduce(logits, axis=1, keepdims=True)
    np.subtract(logits, row_max, out=out)
    np.exp(out, out=out)
    row_sum = np.add.reduce(out, axis=1, keepdims=True)
    out /= row_sum
    return (np.log(row_sum) + row_max).ravel()


class SoftmaxCrossEntropy:
    """Multiclass log-loss on softmax outputs.

    ``y`` is either the integer class codes, of shape (n_samples,), which
    ``fit`` passes so that no one-hot matrix of n_samples * n_classes values is
    ever made, or the one-hot matrix itself.
    """

    out_activation = "softmax"

    @staticmethod
    def predict(logits):
        proba = np.empty_like(logits)
        softmax(logits, proba)
        return proba

    @staticmethod
    def loss_and_delta(logits, y, sample_weight, weight_sum, delta):
        log_sum_exp = softmax(logits, delta)
        # -log p_true = logsumexp(z) - z_true
        if y.ndim == 1:
            # Flat indices of the true classes: take/put are the fastest gathers.
            true = np.arange(0, logits.size, logits.shape[1])
            true += y
            per_sample = log_sum_exp - logits.take(true)
            delta.put(true, delta.take(true) - 1)
        else:
            per_sample = log_sum_exp - np.einsum("ij,ij->i", logits, y)
            delta -= y
        _scale_delta(delta, sample_weight, weight_sum)
        return _weighted_mean(per_sample, sample_weight, weight_sum)


class LogisticCrossEntropy:
    """Binary / multilabel log-loss on independent sigmoid outputs."""

    out_activation = "logistic"

    @staticmethod
    def predict(logits):
        return expit(logits)

    @staticmethod
    def loss_and_delta(logits, y, sample_weight, weight_sum, delta):
        # -[y log p + (1 - y) log(1 - p)] = softplus(z) - y z, stable for all z
        per_sample = (np.logaddexp(0, logits) - y * logits).sum(axis=1)
        expit(logits, out=delta)
        delta -= y
        _scale_delta(delta, sample_weight, weight_sum)
        return _weighted_mean(per_sample, sample_weight, weight_sum)


class SquaredError:
    """Half squared error summed over outputs: 0.5 * ||f(x) - y||^2."""

    out_activation = "identity"

    @staticmethod
    def predict(logits):
        return logits

    @staticmethod
    def loss_and_delta(logits, y, sample_weight, weight_sum, delta):
        np.subtract(logits, y, out=delta)
        per_sample = 0.5 * np.einsum("ij,ij->i", delta, delta)
        _scale_delta(delta, sample_weight, weight_sum)
        return _weighted_mean(per_sample, sample_weight, weight_sum)


class PoissonDeviance:
    """Half Poisson deviance with a log link, summed over outputs.

    The prediction is ``exp(z)``; per sample and output the loss is
    ``y log(y / exp(z)) - y + exp(z)`` (scikit-learn's ``poisson_loss``, whose
    minimum is 0), and its gradient with respect to ``z`` is ``exp(z) - y``.
    The ``y log y`` term is computed with ``xlogy`` so that ``y = 0`` counts 0.
    """

    out_activation = "exp"

    @staticmethod
    def predict(logits):
        return np.exp(logits)

    @staticmethod
    def loss_and_delta(logits, y, sample_weight, weight_sum, delta):
        np.exp(logits, out=delta)  # the prediction; inf where z overflows
        # y log(y / mu) = xlogy(y, y) - y z: no division by a rounded mu
        per_sample = (xlogy(y, y) - y * logits - y + delta).sum(axis=1)
        delta -= y
        _scale_delta(delta, sample_weight, weight_sum)
        return _weighted_mean(per_sample, sample_weight, weight_sum)


LOSSES = {
    "softmax_cross_entropy": SoftmaxCrossEntropy,
    "logistic_cross_entropy": LogisticCrossEntropy,
    "squared_error": SquaredError,
    "poisson": PoissonDeviance,
}
