"""Fitted attributes that are views of the network's arrays.

``coefs_``, ``intercepts_`` and the batch-normalization statistics of the
estimators are not copies: the network keeps every parameter in one flat vector,
and these attributes list views of it. Reading them is free, editing them edits
the model, and assigning them copies the new values in, as scikit-learn's MLP
users expect.
"""

import numpy as np


class NetworkArrays:
    """A fitted attribute that lists views of the network's arrays.

    Reading it gives the views: editing them in place edits the model.
    Assigning a list of arrays of the same shapes, or one of them
    (``est.coefs_[i] = W``), copies them into the network, so that the
    predictions change as they do for scikit-learn's MLP (the network keeps
    its one flat parameter vector).
    """

    def __init__(self, source, batch_norm_only=False):
        self.source = source  # the Network attribute holding the list
        self.batch_norm_only = batch_norm_only

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, estimator, owner=None):
        if estimator is None:
            return self
        network = estimator.__dict__.get("_network")
        if network is None or (self.batch_norm_only and network.normalization != "batch"):
            raise AttributeError(f"{type(estimator).__name__!r} object has no attribute {self.name!r}")
        return _Views(getattr(network, self.source), self.name)

    def __set__(self, estimator, values):
        if "_network" not in estimator.__dict__:
            raise AttributeError(f"{self.name} can only be assigned once the model is fitted.")
        _copy_into(self.__get__(estimator), list(values), self.name)


class _Views(list):
    """The list a ``NetworkArrays`` attribute gives: ``views[i] = array`` copies
    the array into the network, as assigning ``mlp.coefs_[i]`` does in
    scikit-learn."""

    def __init__(self, views, name):
        super().__init__(views)
        self.name = name

    def __setitem__(self, index, value):
        views = super().__getitem__(index)
        if isinstance(index, slice):
            _copy_into(views, list(value), f"{self.name}[{index.start}:{index.stop}]")
        else:
            _copy_into([views], [value], f"{self.name}[{index}]")


def _copy_into(views, values, name):
    """Copy ``values`` into the network's ``views``, refusing other shapes."""
    shapes = [view.shape for view in views]
    if [np.shape(value) for value in values] != shapes:
        raise ValueError(
            f"{name} must be {len(shapes)} array(s) of shape(s) {shapes}, the "
            f"network's; got shape(s) {[np.shape(value) for value in values]}."
        )
    for view, value in zip(views, values):
        np.copyto(view, value, casting="same_kind")  # no NaN from a string
