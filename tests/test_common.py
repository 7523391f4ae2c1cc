"""Checks every public estimator of the package must pass, found automatically (a new estimator in
any subpackage is checked without being listed here): numpydoc docstrings that document every
parameter and every fitted attribute, with Examples, See Also and References sections, and the
house rules (``__init__`` stores parameters only; every neural estimator declares a constraint for
each parameter). scikit-learn's own estimator checks run per family, beside each estimator's tests.
"""

import importlib
import inspect
import pkgutil
import re
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from skorch import NeuralNet

import heartlang_sk
from heartlang_sk.datasets import make_ecg


def public_estimators():
    """Estimator classes exported in the ``__all__`` of a public (sub)package or module."""
    found = {}
    for info in pkgutil.walk_packages(heartlang_sk.__path__, "heartlang_sk."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]) or ".cli" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if (inspect.isclass(obj) and issubclass(obj, BaseEstimator) and not issubclass(obj, NeuralNet)
                    and obj.__module__.startswith("heartlang_sk")):
                found[obj.__name__] = obj
    return [found[name] for name in sorted(found)]


ESTIMATORS = public_estimators()


def sections(doc):
    """A numpydoc docstring's sections: {title: [lines]}."""
    lines = inspect.cleandoc(doc).splitlines()
    result, title = {"Summary": []}, "Summary"
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and lines[i + 1].strip() and set(lines[i + 1].strip()) == {"-"} and line.strip():
            title = line.strip()
            result[title] = []
        elif not (line.strip() and set(line.strip()) == {"-"}):
            result[title].append(line)
    return result


def documented_names(lines):
    """Names in a Parameters/Attributes section: ``name : type`` or ``a, b : type`` at column 0."""
    names = set()
    for line in lines:
        match = re.match(r"^([A-Za-z_][\w, ]*?)\s*:", line)
        if match and not line.startswith(" "):
            names.update(n.strip() for n in match.group(1).split(","))
    return names


def test_the_package_has_the_estimators_it_promises():
    names = {e.__name__ for e in ESTIMATORS}
    assert {"QRSTokenizer", "FixedWindowTokenizer", "ECGVocabulary", "HeartLangPretrainer", "HeartLangEmbedder",
            "HeartLangClassifier", "ECGFeatures", "RawSignal"} <= names


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: e.__name__)
def test_docstring_documents_every_parameter_and_has_the_standard_sections(estimator):
    doc = sections(estimator.__doc__)
    params = [p for p in inspect.signature(estimator.__init__).parameters if p != "self"]
    missing = set(params) - documented_names(doc.get("Parameters", []))
    assert not missing, f"{estimator.__name__}: parameters not documented: {sorted(missing)}"
    for section in ("Attributes", "See Also", "References", "Examples"):
        assert doc.get(section), f"{estimator.__name__}: no {section} section"


def _fitted(estimator_class):
    """A fitted tiny instance on synthetic ECG, where the class can be fitted without other models."""
    from heartlang_sk import ECGVocabulary, HeartLangPretrainer, QRSTokenizer

    X, y = make_ecg(12, classes=["normal", "afib"], random_state=0)
    tiny = {"ECGVocabulary": dict(n_words=8, word_dim=4, encoder_depth=1, decoder_depth=1, max_epochs=1),
            "HeartLangPretrainer": dict(vocabulary=None, max_epochs=0, depth=1),
            "HeartLangClassifier": dict(depth=1, max_epochs=1)}
    params = dict(tiny.get(estimator_class.__name__, {}))
    signature = inspect.signature(estimator_class.__init__).parameters
    if "sampling_rate" in signature:
        params["sampling_rate"] = 100
    if "random_state" in signature:
        params["random_state"] = 0
    estimator = estimator_class(**params)
    takes_signals = estimator_class.__module__.startswith(("heartlang_sk.preprocessing", "heartlang_sk.baselines"))
    data = X if takes_signals else QRSTokenizer(sampling_rate=100).fit_transform(X)
    if estimator_class.__module__.startswith("heartlang_sk.evaluation"):  # probes take embeddings
        data = X.reshape(len(X), -1)[:, ::100]
    if estimator_class.__name__ == "ZeroShotECGClassifier":  # needs a fitted aligner and prompts
        from heartlang_sk import ECGReportAligner

        params["aligner"] = ECGReportAligner(depth=1, text_depth=1, max_epochs=1, random_state=0).fit(data, y)
        params["prompts"] = {"normal": ["normal"], "afib": ["afib"]}
        estimator, y = estimator_class(**params), None
    required = [p for p, v in signature.items() if p != "self" and v.default is inspect.Parameter.empty
                and p not in params]
    if required:
        pytest.skip(f"{estimator_class.__name__} needs {required} to be built")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(data, y), ECGVocabulary, HeartLangPretrainer


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: e.__name__)
def test_every_fitted_attribute_is_documented(estimator):
    fitted = _fitted(estimator)[0]
    learned = {name for name in vars(fitted) if name.endswith("_") and not name.startswith("_")}
    documented = documented_names(sections(estimator.__doc__).get("Attributes", []))
    missing = learned - documented
    assert not missing, f"{estimator.__name__}: fitted attributes not documented: {sorted(missing)}"


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: e.__name__)
def test_init_stores_parameters_only(estimator):
    source = inspect.getsource(estimator.__init__)
    params = [p for p in inspect.signature(estimator.__init__).parameters if p != "self"]
    for param in params:
        assert re.search(rf"self\.{param} = {param}\b", source), f"{estimator.__name__}.__init__ must store {param}"
    assert not re.search(r"self\.\w+_ = ", source), f"{estimator.__name__}.__init__ sets a fitted attribute"


@pytest.mark.parametrize("estimator", [e for e in ESTIMATORS if hasattr(e, "COMMON_CONSTRAINTS")],
                         ids=lambda e: e.__name__)
def test_neural_estimators_declare_a_constraint_for_every_parameter(estimator):
    params = {p for p in inspect.signature(estimator.__init__).parameters if p != "self"}
    assert params == set(estimator._parameter_constraints), (
        f"{estimator.__name__}: undeclared {sorted(params - set(estimator._parameter_constraints))}, "
        f"stale {sorted(set(estimator._parameter_constraints) - params)}")
    assert np.all([callable(getattr(estimator, m, None)) for m in ("fit", "__sklearn_tags__")])
