"""Where an estimator points its user: the API docs and the missing monitor.

* The HTML representation (in Jupyter) links each estimator to its page of the
  API reference, as scikit-learn's estimators do (``_doc_link_template``).
  The documentation is built from the sources (``doc/``); its address is
  ``SK_DEEPNET_DOCS_URL`` when that environment variable is set (for instance
  the address where a team serves the built docs), else the local build
  ``doc/_build/html`` of a source checkout when it exists, else there is no
  link.
* ``estimator.gradient_monitor_`` (``curvature_monitor_``) of an estimator
  fitted without a :class:`~sk_deepnet.callbacks.GradientMonitor`
  (:class:`~sk_deepnet.callbacks.CurvatureMonitor`) raises an AttributeError
  that says how to add one, instead of Python's bare "no attribute".
* A class attribute whose descriptor refuses (``partial_fit`` with
  ``optimizer='lbfgs'``) keeps its reason in the error.
"""

import inspect
import os
from pathlib import Path

from ._sklearn_compat import NestedDefaultsHTMLMixin

#: Page of one estimator in the built docs (autosummary's file name).
PAGE = "generated/{estimator_module}.{estimator_name}.html"

#: Fitted attributes that a callback provides: attribute -> the callback's class.
CALLBACK_ATTRIBUTES = {
    "gradient_monitor_": "GradientMonitor",
    "curvature_monitor_": "CurvatureMonitor",
}


def docs_base_url():
    """The address of the built docs, or ``""`` when there is none."""
    url = os.environ.get("SK_DEEPNET_DOCS_URL", "").strip()
    if url:
        return url.rstrip("/")
    local = Path(__file__).resolve().parent.parent / "doc" / "_build" / "html"
    return local.as_uri() if (local / "index.html").is_file() else ""


def _explain_descriptor_error(obj, name):
    """Get the class attribute ``name`` of ``obj`` again; raise why it is missing.

    A descriptor that raised AttributeError brings Python to ``__getattr__``,
    which would replace its error with a bare "no attribute". scikit-learn's
    ``available_if`` (``partial_fit`` with ``optimizer='lbfgs'``) says why
    only in the chained cause: the message raised here says it too.
    """
    cls = type(obj)
    # Most missing names (a fit asks for a dozen not yet set, e.g. loss_) are
    # defined by no class: a look into the dictionaries of the classes and
    # their metaclasses says so at a tenth of getattr_static's cost.
    if not any(name in vars(klass) for klass in cls.__mro__ + type(cls).__mro__):
        return
    descriptor = inspect.getattr_static(cls, name, None)
    if not hasattr(descriptor, "__get__"):
        return
    try:
        descriptor.__get__(obj, cls)
    except AttributeError as exc:
        reason = exc.__cause__
        if not isinstance(reason, AttributeError):
            raise
        raise AttributeError(f"{exc}: {reason}", name=name, obj=obj) from reason


class DocLinkMixin(NestedDefaultsHTMLMixin):
    """The docs link of the HTML repr (the MLPs' and the RBMs').

    Its base marks an ``optimizer__*`` row of the HTML parameter table user-set
    only when the optimizer's parameter differs from its default.
    """

    _doc_link_module = "sk_deepnet"

    @property
    def _doc_link_template(self):
        base = docs_base_url()
        default = f"{base}/{PAGE}" if base else ""
        # The attribute name scikit-learn's setter uses, so that both agree.
        return getattr(self, "__doc_link_template", default)

    @_doc_link_template.setter
    def _doc_link_template(self, value):
        setattr(self, "__doc_link_template", value)


class HelpMixin(DocLinkMixin):
    """The docs link of the HTML repr and the hint for a missing monitor."""

    def __getattr__(self, name):
        # Called only for attributes that do not exist.
        callback = CALLBACK_ATTRIBUTES.get(name)
        cls = type(self).__name__
        if callback is None:
            _explain_descriptor_error(self, name)
            raise AttributeError(f"{cls!r} object has no attribute {name!r}", name=name, obj=self)
        given = self.__dict__.get("callbacks") or []
        if any(type(c).__name__ == callback for c in given):
            # Fitted before set_params(callbacks=...): "not fitted yet" was untrue.
            state = (
                f"it was fitted before callbacks held a {callback}"
                if "n_iter_" in self.__dict__ else "it is not fitted yet"
            )
            advice = f"{state}: fit it, then read {name}."
        else:
            advice = (
                f"it was not given a {callback}. Add one and fit again: "
                f"from sk_deepnet.callbacks import {callback}; "
                f"{cls}(..., callbacks=[{callback}()])."
            )
        raise AttributeError(f"This {cls} has no {name}: {advice}", name=name, obj=self)
