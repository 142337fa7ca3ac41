"""Persistence: pickles record the sk_deepnet version, load across versions with a
warning, and a committed release pickle still predicts what it predicted then.

The fixture is made by ``tests/fixtures/make_persistence_fixture.py``.
"""

import copy
import os
import pickle
import warnings

import joblib
import numpy as np
import pytest
import sklearn.exceptions
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

import sk_deepnet
import sk_deepnet.pretraining as pretraining
from sk_deepnet import DeepMLPClassifier, DeepMLPRegressor, InconsistentVersionWarning
from sk_deepnet._persistence import VERSION_KEY

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
RELEASE = "0.1.0"
RELEASE_PICKLE = os.path.join(FIXTURES, f"deepmlp_classifier_v{RELEASE}.pkl")
RELEASE_EXPECTED = os.path.join(FIXTURES, f"deepmlp_classifier_v{RELEASE}_expected.npz")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3)).astype(np.float32)
Y = np.array(["no", "yes"])[(X[:, 0] > 0).astype(int)]


@pytest.fixture
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        return DeepMLPClassifier(depth=2, width=5, max_iter=5, normalization="batch",
                                 random_state=0).fit(X, Y)


def _load_release_pickle():
    if np.lib.NumpyVersion(np.__version__) < "1.26.0":
        pytest.skip("the fixture was pickled by NumPy 2, which NumPy < 1.26 cannot load")
    with open(RELEASE_PICKLE, "rb") as f:
        return f.read()


def test_release_fixture_is_small():
    assert os.path.getsize(RELEASE_PICKLE) < 100_000


def test_release_pickle_loads_and_predicts_as_recorded():
    data = _load_release_pickle()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = pickle.loads(data)
    ours = [w for w in caught if issubclass(w.category, InconsistentVersionWarning)]
    if sk_deepnet.__version__ == RELEASE:
        assert not ours
    else:  # a later version loads the release's pickle, and says so
        assert ours and ours[0].message.original_version == RELEASE
    expected = np.load(RELEASE_EXPECTED, allow_pickle=False)
    assert_array_equal(clf.classes_, expected["classes"])
    proba = clf.predict_proba(expected["X"])
    assert proba.dtype == np.float32
    assert_allclose(proba, expected["proba"], rtol=1e-4, atol=1e-6)
    assert_array_equal(clf.predict(expected["X"]), expected["labels"])
    # Parameters added since the release take their defaults: get_params, repr
    # and clone raised AttributeError (max_fun), and so did a continued fit.
    assert clf.get_params()["max_fun"] == DeepMLPClassifier().max_fun
    assert "DeepMLPClassifier(" in repr(clf)
    assert clone(clf).get_params() == clf.get_params()
    # the loaded model is whole: its weights are views again, it keeps training
    assert all(np.shares_memory(c, clf._network.params) for c in clf.coefs_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        clf.partial_fit(expected["X"], expected["labels"])
    assert np.isfinite(clf.predict_proba(expected["X"])).all()


def test_pickle_records_the_version(fitted):
    state = fitted.__getstate__()
    assert state[VERSION_KEY] == sk_deepnet.__version__
    loaded = pickle.loads(pickle.dumps(fitted))
    assert not hasattr(loaded, VERSION_KEY)  # popped on load, not an attribute


def test_same_version_round_trip_is_silent_and_exact(fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for loaded in (
            pickle.loads(pickle.dumps(fitted)),
            copy.deepcopy(fitted),
        ):
            assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
            assert_array_equal(loaded.predict(X), fitted.predict(X))
            for a, b in zip(loaded.running_means_, fitted.running_means_):
                assert_array_equal(a, b)
        clone(fitted)  # clone pickles nothing but must not warn either


def test_joblib_round_trip(fitted, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path, compress=3)
    loaded = joblib.load(path)
    assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_a_model_loaded_read_only_keeps_training_on_a_copy(tmp_path):
    from sk_deepnet.callbacks import GradientMonitor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        model = DeepMLPClassifier(depth=2, width=5, max_iter=3, warm_start=True,
                                  normalization="batch", random_state=0,
                                  callbacks=[GradientMonitor(warn=False)]).fit(X, Y)
        path = tmp_path / "model.joblib"
        joblib.dump(model, path)  # uncompressed: its arrays can be memory-mapped
        loaded = joblib.load(path, mmap_mode="r")
        assert not loaded._network.params.flags.writeable
        proba = loaded.predict_proba(X)
        loaded.partial_fit(X, Y)
        loaded.fit(X, Y)
    assert loaded.n_iter_ == 3  # the last fit's epochs
    assert len(loaded.loss_curve_) == len(loaded.gradient_monitor_.grad_norms_) == 7
    assert not np.allclose(loaded.predict_proba(X), proba)
    assert_array_equal(joblib.load(path).predict_proba(X), proba)  # the file is intact


@pytest.mark.parametrize("rbm_class", ["BernoulliRBM", "GaussianBernoulliRBM"])
def test_an_rbm_loaded_read_only_keeps_training_on_a_copy(rbm_class, tmp_path):
    # partial_fit failed inside NumPy ("output array is read-only", then
    # "assignment destination is read-only" from undoing the epoch).
    data = (np.abs(X) > 0.5).astype(float)
    rbm = getattr(pretraining, rbm_class)(n_components=3, n_iter=2, random_state=0).fit(data)
    path = tmp_path / "rbm.joblib"
    joblib.dump(rbm, path)  # uncompressed: its arrays can be memory-mapped
    loaded = joblib.load(path, mmap_mode="r")
    assert not loaded.components_.flags.writeable
    in_memory = joblib.load(path)
    loaded.partial_fit(data)
    in_memory.partial_fit(data)
    assert loaded.n_iter_ == 3
    assert_array_equal(loaded.components_, in_memory.components_)
    assert_array_equal(joblib.load(path).components_, rbm.components_)  # the file is intact


def test_pickle_of_another_version_warns(fitted, monkeypatch):
    monkeypatch.setattr(sk_deepnet._version, "__version__", "0.0.9")
    data = pickle.dumps(fitted)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning, match="from sk_deepnet version 0.0.9") as rec:
        loaded = pickle.loads(data)
    warning = rec[0].message
    assert warning.estimator_name == "DeepMLPClassifier"
    assert warning.original_version == "0.0.9"
    assert warning.current_version == sk_deepnet.__version__
    # it still loads and predicts
    assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_release_pickle_with_a_modified_version_string_warns():
    data = _load_release_pickle()
    # the version is a short unicode string in the pickle: patch it in place
    original = b"\x8c\x05" + RELEASE.encode()
    assert data.count(original) == 1
    modified = data.replace(original, b"\x8c\x059.9.9")
    with pytest.warns(InconsistentVersionWarning, match="version 9.9.9"):
        clf = pickle.loads(modified)
    assert np.isfinite(clf.predict_proba(np.load(RELEASE_EXPECTED)["X"])).all()


def test_pickle_without_a_version_stamp_warns(fitted):
    state = fitted.__getstate__()
    del state[VERSION_KEY]  # as pickled before versions were recorded
    loaded = DeepMLPRegressor.__new__(DeepMLPClassifier)
    with pytest.warns(InconsistentVersionWarning, match="without a version stamp"):
        loaded.__setstate__(state)
    assert_array_equal(loaded.predict(X), fitted.predict(X))


def test_version_warning_is_scikit_learns_and_can_refuse_loading(fitted, monkeypatch):
    assert issubclass(InconsistentVersionWarning, sklearn.exceptions.InconsistentVersionWarning)
    monkeypatch.setattr(sk_deepnet._version, "__version__", "0.0.9")
    data = pickle.dumps(fitted)
    monkeypatch.undo()
    with warnings.catch_warnings():
        # the filter users already set for scikit-learn models also covers ours
        warnings.simplefilter("error", sklearn.exceptions.InconsistentVersionWarning)
        with pytest.raises(InconsistentVersionWarning):
            pickle.loads(data)


def test_unfitted_estimator_round_trips():
    est = DeepMLPRegressor(depth=4, width=[3, 4, 5, 6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = pickle.loads(pickle.dumps(est))
    assert loaded.get_params() == est.get_params()


def test_pickling_leaves_the_pickled_model_intact(fitted):
    """Python >= 3.11 hands __getstate__ the live __dict__: it must not be edited."""
    before = set(vars(fitted))
    pickle.dumps(fitted)
    joblib.dump(fitted, os.devnull)
    assert set(vars(fitted)) == before
    assert all(np.shares_memory(c, fitted._network.params) for c in fitted.coefs_)
    assert len(fitted.running_means_) == 2


# ----------------------------------------------- standalone RBMs, skops
def _rbms():
    from sk_deepnet.pretraining import BernoulliRBM, GaussianBernoulliRBM

    X_unit = (X - X.min()) / (X.max() - X.min())
    return [BernoulliRBM(n_components=3, n_iter=2, random_state=0).fit(X_unit),
            GaussianBernoulliRBM(n_components=3, n_iter=2, random_state=0).fit(X)]


@pytest.mark.parametrize("index", [0, 1], ids=["BernoulliRBM", "GaussianBernoulliRBM"])
def test_rbm_pickle_records_the_version_and_warns_from_another(index, monkeypatch):
    rbm = _rbms()[index]
    assert rbm.__getstate__()[VERSION_KEY] == sk_deepnet.__version__
    loaded = pickle.loads(pickle.dumps(rbm))  # same version: silent
    assert not hasattr(loaded, VERSION_KEY)
    assert_array_equal(loaded.transform(X), rbm.transform(X))
    monkeypatch.setattr(sk_deepnet._version, "__version__", "0.0.9")
    data = pickle.dumps(rbm)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning, match="from sk_deepnet version 0.0.9"):
        pickle.loads(data)


def test_fitted_state_holds_no_numpy_dtype(fitted):
    # The dtype travels as its name: a pickle or skops file names no numpy.dtype.
    state = fitted.__getstate__()
    assert state["_network"]["dtype"] == "float32"
    assert state["_fitted_architecture"]["dtype"] == "float32"
    loaded = pickle.loads(pickle.dumps(fitted))
    assert loaded._network.dtype == np.float32
    assert loaded.predict_proba(X).dtype == np.float32


def _skops_models():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sk_deepnet.callbacks import CurvatureMonitor, GradientMonitor

    small = dict(depth=2, width=4, max_iter=2, random_state=0)
    y_reg = X[:, 0].astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {
            "classifier": DeepMLPClassifier(**small).fit(X, Y),
            "regressor": DeepMLPRegressor(**small).fit(X, y_reg),
            "monitor": DeepMLPClassifier(**small, callbacks=[GradientMonitor()]).fit(X, Y),
            "curvature": DeepMLPClassifier(
                **small, callbacks=[CurvatureMonitor(n_iter=4, probe_size=8, random_state=0)]
            ).fit(X, Y),
            "batchnorm_residual": DeepMLPClassifier(
                **{**small, "depth": 3}, normalization="batch", residual=True
            ).fit(X, Y),
            "pipeline": make_pipeline(StandardScaler(), DeepMLPClassifier(**small)).fit(X, Y),
            "pretrained": DeepMLPClassifier(**small, pretrain="rbm",
                                            pretrain_epochs=2).pretrain_fit(X).fit(X, Y),
            "lbfgs": DeepMLPClassifier(**small, optimizer="lbfgs").fit(X, Y),
        }
    models["BernoulliRBM"], models["GaussianBernoulliRBM"] = _rbms()
    return models


#: The types ``skops.io.get_untrusted_types`` reports: public, stable paths only
#: (doc/user_guide/_skops_types.rst lists them for users). A change here is a
#: change users must make to their ``trusted=`` lists: update the docs with it.
ESTIMATOR_TYPES = ["sk_deepnet.optimizers.Adam", "sk_deepnet.schedules.LRSchedule"]
SKOPS_UNTRUSTED = {
    "classifier": ["sk_deepnet.DeepMLPClassifier", *ESTIMATOR_TYPES],
    "regressor": ["sk_deepnet.DeepMLPRegressor", *ESTIMATOR_TYPES],
    "monitor": ["sk_deepnet.DeepMLPClassifier", "sk_deepnet.callbacks.GradientMonitor",
                *ESTIMATOR_TYPES],
    "curvature": ["sk_deepnet.DeepMLPClassifier", "sk_deepnet.callbacks.CurvatureMonitor",
                  *ESTIMATOR_TYPES],
    "batchnorm_residual": ["sk_deepnet.DeepMLPClassifier", *ESTIMATOR_TYPES],
    "pipeline": ["sk_deepnet.DeepMLPClassifier", *ESTIMATOR_TYPES],
    "pretrained": ["sk_deepnet.DeepMLPClassifier", *ESTIMATOR_TYPES],
    "lbfgs": ["sk_deepnet.DeepMLPClassifier", "sk_deepnet.optimizers.LBFGS"],
    "BernoulliRBM": ["sk_deepnet.pretraining.BernoulliRBM"],
    "GaussianBernoulliRBM": ["sk_deepnet.pretraining.GaussianBernoulliRBM"],
}


def test_skops_untrusted_types_are_pinned_and_load_works():
    sio = pytest.importorskip("skops.io")
    for name, model in _skops_models().items():
        data = sio.dumps(model)
        untrusted = sio.get_untrusted_types(data=data)
        assert sorted(untrusted) == sorted(SKOPS_UNTRUSTED[name]), name
        loaded = sio.loads(data, trusted=untrusted)
        if hasattr(model, "predict_proba"):
            assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
        elif hasattr(model, "predict"):
            assert_array_equal(loaded.predict(X), model.predict(X))
        else:
            assert_array_equal(loaded.transform(X), model.transform(X))
        if hasattr(model, "partial_fit") and not hasattr(model, "transform"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                target = Y if hasattr(model, "classes_") else X[:, 0].astype(np.float64)
                loaded.partial_fit(X, target)  # a whole model: it keeps training
        with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
            sio.loads(data)  # nothing is trusted by default


def test_other_optimizers_are_public_types_too():
    sio = pytest.importorskip("skops.io")
    from sk_deepnet import optimizers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DeepMLPClassifier(depth=1, width=3, max_iter=1, optimizer="rmsprop",
                                  lr_schedule="cosine").fit(X, Y)
    untrusted = sio.get_untrusted_types(data=sio.dumps(model))
    assert "sk_deepnet.optimizers.RMSprop" in untrusted
    assert all(t.split(".")[1] in ("optimizers", "schedules", "DeepMLPClassifier")
               for t in untrusted)
    # Every optimizer a fit can make is pickled under its public path.
    for cls in optimizers.OPTIMIZERS.values():
        assert cls.__module__ == "sk_deepnet.optimizers"
        assert getattr(optimizers, cls.__name__) is cls


def test_every_public_callback_class_is_pickled_under_its_public_path():
    # A class left under its private module would be named by that path in
    # every pickle and skops file (and in users' trusted= lists), so moving
    # the private module would break loading saved models.
    import inspect

    from sk_deepnet import callbacks

    for name in callbacks.__all__:
        obj = getattr(callbacks, name)
        if inspect.isclass(obj) and not issubclass(obj, Warning):
            assert obj.__module__ == "sk_deepnet.callbacks", name


def test_a_model_pickled_before_a_parameter_existed_gets_its_default():
    # As a release's pickle lacks a parameter added since: get_params (repr,
    # clone, GridSearchCV) and a continued fit's validation need it.
    from sk_deepnet.pretraining import BernoulliRBM

    X = (np.random.RandomState(0).rand(20, 4) > 0.5).astype(float)
    for model, added in [(BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(X),
                          "hidden_units"),
                         (DeepMLPRegressor(depth=1, width=3, max_iter=1).fit(X, X[:, 0]),
                          "loss")]:
        state = model.__getstate__()
        del state[added]
        old = type(model).__new__(type(model))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
            old.__setstate__(state)
            assert old.get_params() == model.get_params()
            if added == "hidden_units":
                old.partial_fit(X)
            else:
                old.partial_fit(X, X[:, 0])
