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
