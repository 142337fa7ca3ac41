"""The public API's docstrings parse as numpydoc: no stray text in a Parameters section.

numpydoc turns a paragraph left between two parameters into a bogus
parameter named after its first line, which the API reference then renders as
one (PR02, "unknown parameter").
"""

import importlib
import inspect

import pytest

PUBLIC_MODULES = ("sk_deepnet", "sk_deepnet.callbacks", "sk_deepnet.plotting",
                  "sk_deepnet.optimizers", "sk_deepnet.schedules", "sk_deepnet.pretraining",
                  "sk_deepnet.exceptions", "sk_deepnet.onnx")


def _public_objects():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                yield f"{module_name}.{name}"


@pytest.mark.parametrize("name", sorted(set(_public_objects())))
def test_no_unknown_parameters_in_docstring(name):
    validate = pytest.importorskip("numpydoc.validate").validate
    errors = [message for code, message in validate(name)["errors"] if code == "PR02"]
    assert not errors, errors


def _public_members():
    """The public classes, functions and their public methods and properties."""
    for name in sorted(set(_public_objects())):
        yield name
        module_name, _, attr = name.rpartition(".")
        obj = getattr(importlib.import_module(module_name), attr)
        if inspect.isclass(obj):
            for member, value in vars(obj).items():
                public = not member.startswith("_")
                if public and (inspect.isfunction(value) or isinstance(value, property)):
                    yield f"{name}.{member}"


#: What every public docstring must have: a docstring (GL08), every
#: parameter documented (PR01) and none unknown (PR02), types and returns
#: described (PR07, RT01, RT03) and the closing quotes on their own line (GL02).
REQUIRED = ("GL02", "GL08", "PR01", "PR02", "PR07", "RT01", "RT03")


@pytest.mark.parametrize("name", sorted(set(_public_members())))
def test_public_docstrings_complete(name):
    validate = pytest.importorskip("numpydoc.validate").validate
    errors = [f"{code}: {message}" for code, message in validate(name)["errors"]
              if code in REQUIRED]
    assert not errors, errors


def test_hook_overrides_inherit_parameter_docs():
    """A callback's one-line hook docstring gains the base hook's parameters,
    only those its signature names."""
    from sk_deepnet.callbacks import Callback

    class Counter(Callback):
        def on_epoch_end(self, estimator, epoch, **kwargs):
            """Count the epochs."""

    doc = Counter.on_epoch_end.__doc__
    assert doc.startswith("Count the epochs.")
    assert "epoch : int" in doc and "**kwargs : dict" in doc
    assert "loss : float" not in doc  # not in this override's signature
    assert "stop : bool or None" in doc  # the base's Returns section
