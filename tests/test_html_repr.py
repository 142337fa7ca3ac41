"""The HTML repr (Jupyter): user-set rows of nested optimizers (tester s4t2 #3), and the
RBMs' doc links (#4)."""

import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_html_repr

from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor
from sk_deepnet import _help as help_module
from sk_deepnet.optimizers import Adam, Nesterov
from sk_deepnet.pretraining import BernoulliRBM, GaussianBernoulliRBM


def _user_set(html):
    """Names of the rows that the parameter table marks user-set, in table order."""
    rows = re.findall(r'<tr class="([^"]*)">(.*?)</tr>', html, re.S)
    names = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).split()[0]
             for cls, body in rows]
    return [name for (cls, _), name in zip(rows, names) if "user-set" in cls.split()], names


@pytest.mark.parametrize("Estimator", [DeepMLPClassifier, DeepMLPRegressor])
def test_only_the_changed_optimizer_parameters_are_user_set(Estimator):
    est = Estimator(depth=5, optimizer=Adam(learning_rate=0.1, beta_2=0.99))
    user_set, names = _user_set(est._repr_html_())
    assert user_set == ["depth", "optimizer", "optimizer__learning_rate", "optimizer__beta_2"]
    # Every row is still shown, user-set ones first.
    assert {"optimizer__beta_1", "optimizer__epsilon", "optimizer__weight_decay"} <= set(names)
    assert names[:len(user_set)] == user_set
    # The same inside a pipeline, and for other optimizers and values of other types.
    nesterov = Nesterov(momentum=0.5, weight_decay=1e-3)
    pipe = make_pipeline(StandardScaler(), Estimator(optimizer=nesterov))
    user_set, _ = _user_set(estimator_html_repr(pipe))
    assert "optimizer__momentum" in user_set and "optimizer__weight_decay" in user_set
    assert "optimizer__learning_rate" not in user_set
    # Defaults as sklearn compares them (np.array_equal): 0.9 equals 0.9 of another type.
    user_set, _ = _user_set(Estimator(optimizer=Adam(beta_1=np.float32(0.5)))._repr_html_())
    assert user_set == ["optimizer", "optimizer__beta_1"]


def test_a_table_without_nested_rows_is_unchanged():
    table = DeepMLPClassifier(depth=2)._get_params_html()
    assert table.non_default == ("depth",)
    table = DeepMLPClassifier()._get_params_html()
    assert table.non_default == ()


@pytest.mark.parametrize("RBM", [BernoulliRBM, GaussianBernoulliRBM])
def test_the_rbms_html_repr_links_to_their_api_page(RBM, monkeypatch):
    monkeypatch.setenv("SK_DEEPNET_DOCS_URL", "https://docs.example/sk_deepnet/")
    url = f"https://docs.example/sk_deepnet/generated/sk_deepnet.pretraining.{RBM.__name__}.html"
    assert RBM()._get_doc_link() == url
    assert f'href="{url}"' in RBM()._repr_html_()
    assert f'href="{url}"' in estimator_html_repr(make_pipeline(RBM(), DeepMLPClassifier()))
    # The page name is the one the API reference generates (doc/api.rst).
    api = (Path(__file__).resolve().parent.parent / "doc" / "api.rst").read_text()
    section = api[api.index(".. currentmodule:: sk_deepnet.pretraining\n"):]
    assert f"   {RBM.__name__}\n" in section[:section.index("currentmodule", 10)]
    # A link can be set per estimator, as scikit-learn allows; none without docs.
    rbm = RBM()
    rbm._doc_link_template = "https://mirror.example/{estimator_name}.html"
    assert rbm._get_doc_link() == f"https://mirror.example/{RBM.__name__}.html"
    monkeypatch.setenv("SK_DEEPNET_DOCS_URL", "")
    monkeypatch.setattr(help_module, "docs_base_url", lambda: "")
    assert RBM()._get_doc_link() == ""


def test_an_unknown_table_form_is_left_as_scikit_learn_made_it(monkeypatch):
    # The method overridden is scikit-learn's private one: a table of another
    # form, or a failure while comparing, leaves scikit-learn's table.
    from sk_deepnet import _sklearn_compat

    est = DeepMLPClassifier(optimizer=Adam(learning_rate=0.1))
    html = est._repr_html_()

    def fails(*args):
        raise TypeError("another form")

    monkeypatch.setattr(_sklearn_compat, "_mark_nested_defaults", fails)
    user_set, _ = _user_set(est._repr_html_())
    assert "optimizer__beta_1" in user_set  # scikit-learn's own marking
    assert "optimizer__beta_1" not in _user_set(html)[0]
