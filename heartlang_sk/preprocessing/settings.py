"""Tokenizer settings that travel with the sentences and the models fitted on them.

Contract. A tokenizer's ``transform`` stamps its sentences with :func:`tokenizer_settings` (a small
JSON-able dict: ``ECGSentences.preprocessing``; a sentence store keeps it in its header). An
estimator records the settings of its training sentences at fit (``preprocessing_``) and refuses
sentences made otherwise with a one-line ``ValueError`` naming the setting and both values
(:func:`check_preprocessing`). The settings compared (:data:`COMPARED_SETTINGS`) are the ones that
change what a token holds; the input sampling rate and the QRS detection options are recorded but
not compared, since a model is meant to read records at any rate. Sentences without settings
(pickled or stored before they were recorded, or built by hand) cannot be checked: a model that
knows its settings says so in a warning; a model fitted on such sentences checks nothing.
:func:`tokenizer_for` makes the tokenizer that applies a model's settings to new raw records.

Examples
--------
>>> from heartlang_sk import QRSTokenizer
>>> from heartlang_sk.datasets import make_ecg
>>> X, _ = make_ecg(2, sampling_rate=500, random_state=0)
>>> S = QRSTokenizer(sampling_rate=500, bandpass=(0.5, None)).fit_transform(X)
>>> S.preprocessing["bandpass"], S.preprocessing["sampling_rate_in"]
((0.5, None), 500.0)
>>> tokenizer_for(S.preprocessing, sampling_rate=100)
QRSTokenizer(bandpass=(0.5, None), sampling_rate=100)
"""

from __future__ import annotations

import warnings

__all__ = ["COMPARED_SETTINGS", "check_preprocessing", "normalise_settings", "tokenizer_for",
           "tokenizer_settings"]

COMPARED_SETTINGS = ("tokenizer", "t", "l", "truncation", "bandpass", "filter_order", "normalize")
"""Settings that change the tokens: sentences that differ in one are refused."""

_RECORDED = {
    "QRSTokenizer": ("sampling_rate", "l", "t", "truncation", "bandpass", "filter_order", "normalize",
                     "detection_lead", "detection_fallback"),
    "FixedWindowTokenizer": ("sampling_rate", "l", "t", "stride", "truncation", "bandpass", "filter_order",
                             "normalize"),
}


def normalise_settings(settings):
    """``settings`` with JSON's lists turned back into tuples (``None`` stays ``None``)."""
    if settings is None:
        return None
    settings = dict(settings)
    if settings.get("bandpass") is not None:
        settings["bandpass"] = tuple(settings["bandpass"])
    return settings


def tokenizer_settings(tokenizer):
    """The settings of ``tokenizer`` that made its sentences, as stamped on them."""
    name = type(tokenizer).__name__
    params = tokenizer.get_params()
    keys = _RECORDED.get(name, _RECORDED["QRSTokenizer"])
    settings = {"tokenizer": name}
    for key in keys:
        if key in params:
            settings["sampling_rate_in" if key == "sampling_rate" else key] = params[key]
    settings["sampling_rate_in"] = float(settings["sampling_rate_in"])
    return normalise_settings(settings)


def _differences(expected, given):
    keys = [key for key in COMPARED_SETTINGS if key in expected or key in given]
    if expected.get("bandpass") is None and given.get("bandpass") is None:
        keys = [key for key in keys if key != "filter_order"]  # no filter: its order means nothing
    return [(key, expected.get(key), given.get(key)) for key in keys if expected.get(key) != given.get(key)]


def check_preprocessing(owner, expected, given):
    """Refuse sentences made with other settings than ``owner``'s training sentences.

    Parameters
    ----------
    owner : str
        Who was trained on ``expected`` (for the message), e.g. ``"HeartLangPretrainer"``.
    expected, given : dict or None
        The training sentences' settings and those of the sentences at hand.

    Raises
    ------
    ValueError
        One line naming every differing setting with both values.
    """
    if expected is None:
        return
    if given is None:
        warnings.warn(f"these sentences carry no tokenizer settings (saved before heartlang-sk recorded "
                      f"them, or built by hand): cannot check they were made like {owner}'s training "
                      f"sentences ({_describe(expected)})", UserWarning, stacklevel=4)
        return
    differences = _differences(normalise_settings(expected), normalise_settings(given))
    if differences:
        listed = "; ".join(f"{key}={new!r} here, {old!r} in training" for key, old, new in differences)
        raise ValueError(f"sentences made with other tokenizer settings than {owner}'s training sentences: "
                         f"{listed}. Tokenize the records as the model was trained: "
                         f"heartlang_sk.preprocessing.settings.tokenizer_for(model, sampling_rate=...)")


def _describe(settings):
    return ", ".join(f"{key}={settings.get(key)!r}" for key in COMPARED_SETTINGS if key in settings)


def tokenizer_for(model, sampling_rate):
    """A tokenizer applying ``model``'s tokenizer settings to records at ``sampling_rate`` Hz.

    Parameters
    ----------
    model : fitted estimator, ECGSentences or dict
        Anything with ``preprocessing_`` (a fitted vocabulary, pretrainer, embedder, classifier),
        ``preprocessing`` (sentences), or the settings themselves.
    sampling_rate : float
        Sampling rate of the records to tokenize (theirs, not the training records').

    Returns
    -------
    QRSTokenizer or FixedWindowTokenizer
        Unfitted, with the model's settings.
    """
    settings = getattr(model, "preprocessing_", getattr(model, "preprocessing", model))
    if not isinstance(settings, dict):
        raise ValueError(f"{type(model).__name__} carries no tokenizer settings (fitted on sentences made "
                         f"before heartlang-sk recorded them, or on a plain array of beats)")
    from .tokenizer import QRSTokenizer
    from .window_tokenizer import FixedWindowTokenizer

    settings = normalise_settings(settings)
    kind = {"QRSTokenizer": QRSTokenizer, "FixedWindowTokenizer": FixedWindowTokenizer}[settings["tokenizer"]]
    params = kind().get_params()
    chosen = {key: value for key, value in settings.items() if key in params and key != "sampling_rate"}
    return kind(**dict(chosen, sampling_rate=sampling_rate))
