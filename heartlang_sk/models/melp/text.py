"""Text preprocessing of ECG reports: normalisation, words, and the split into phrases.

Contract: every function here takes report text as PTB-XL stores it (mostly German machine or
cardiologist reports, some English and Swedish; lower case with stray upper-case umlauts such as
``verlÄngerung``; statements separated by runs of spaces, commas or full stops) and returns plain
Python strings or lists of them, never tensors. The same normalisation is applied to training
reports, prompts and any text given to :meth:`ECGReportAligner.encode_text`, so that ``"Vorhofflimmern"``,
``"vorhofflimmern"`` and ``"VORHOFFLIMMERN"`` are one word, and ``"ü"``/``"ue"`` spellings meet.

:func:`check_reports` is the one place where bad report input (empty, NaN, not a string, the
wrong number of reports) is turned into a one-line ``ValueError`` naming the problem.
"""

from __future__ import annotations

import math
import re
import unicodedata
from numbers import Real

__all__ = ["check_reports", "normalize_report", "report_words", "split_report"]

# German umlauts and sharp s are folded to their two-letter spellings (as in "ueberdrehter", which
# PTB-XL itself writes both ways); every other accent (Swedish å/ä/ö too) is stripped after that.
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"[a-z0-9]+")
# Where a report's statements end: a full stop, semicolon, colon or comma followed by a space (not
# a decimal point as in "4.46"), a line break, or a run of two or more spaces (PTB-XL's German
# machine reports separate statements by runs of spaces).
_PHRASE_BREAK = re.compile(r"(?:[.;:,!?](?:\s+|$))|\n+|\s{2,}")


def normalize_report(text):
    """Lower-case, fold umlauts and accents, keep letters/digits/basic punctuation, squeeze spaces.

    Runs of two or more spaces are kept as two spaces, because they separate statements in
    PTB-XL's German reports (:func:`split_report` reads them).

    Parameters
    ----------
    text : str

    Returns
    -------
    str

    Examples
    --------
    >>> normalize_report("Sinusrhythmus  QT-VerlÄngerung, Überdrehter Linkstyp")
    'sinusrhythmus  qt-verlaengerung, ueberdrehter linkstyp'
    >>> normalize_report("sinusrytm  normalt EKG; förmaksflimmer")
    'sinusrytm  normalt ekg; foermaksflimmer'
    """
    text = text.lower().translate(_FOLD)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^a-z0-9.,;:!?()/+\-%\n ]", " ", text)
    text = re.sub(r"\t", " ", text)
    text = re.sub(r" {3,}", "  ", text)
    return text.strip()


def report_words(text):
    """The words of a report after :func:`normalize_report`: runs of letters and digits.

    Examples
    --------
    >>> report_words("Sinusrhythmus, QRS(T) abnormal.")
    ['sinusrhythmus', 'qrs', 't', 'abnormal']
    """
    return _WORD.findall(normalize_report(text))


def split_report(text):
    """Split a report into its statements (phrases), each as a list of words.

    A statement ends at a full stop, semicolon, colon or comma followed by a space, at a line break
    or at a run of two or more spaces. Phrases without a word are dropped; a report that has words
    always gives at least one phrase.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of list of str

    Examples
    --------
    >>> split_report("sinusrhythmus linkstyp t abnormal, wahrscheinlich    inferiorer myokardschaden")
    [['sinusrhythmus', 'linkstyp', 't', 'abnormal'], ['wahrscheinlich'], ['inferiorer', 'myokardschaden']]
    >>> split_report("Sinus rhythm. Normal ECG. QRS 4.46 mV")
    [['sinus', 'rhythm'], ['normal', 'ecg'], ['qrs', '4', '46', 'mv']]
    """
    phrases = (_WORD.findall(part) for part in _PHRASE_BREAK.split(normalize_report(text)))
    return [words for words in phrases if words]


def _problem(report):
    if report is None:
        return "None"
    if isinstance(report, Real) and not isinstance(report, bool) and math.isnan(report):
        return "NaN"
    if not isinstance(report, str):
        return f"not a string ({type(report).__name__})"
    if not _WORD.search(normalize_report(report)):
        return "empty (no letter or digit)"
    return None


def check_reports(reports, n_records=None, *, name="reports"):
    """Validate free-text reports: a list of non-empty strings, one per record.

    Parameters
    ----------
    reports : sequence of str (list, tuple, ndarray or pandas Series)
    n_records : int, optional
        The number of ECG records the reports belong to; a different count is an error.
    name : str, default="reports"
        What the error messages call the input.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        A one-line message naming the problem: a count that differs from ``n_records``, or the
        number and first position of reports that are None, NaN, not strings or empty.

    Examples
    --------
    >>> check_reports(["sinusrhythmus normales ekg"], 1)
    ['sinusrhythmus normales ekg']
    >>> check_reports(["ok", float("nan"), ""], 3)
    Traceback (most recent call last):
    ...
    ValueError: 2 of 3 reports are unusable: position 1 is NaN, position 2 is empty (no letter or digit)
    """
    if isinstance(reports, str):
        raise ValueError(f"{name} must be a sequence of strings, one per record, got a single string")
    try:
        reports = list(reports)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of strings, got {type(reports).__name__}") from None
    if n_records is not None and len(reports) != n_records:
        raise ValueError(f"got {len(reports)} {name} for {n_records} ECG records; give exactly one report per record")
    if not reports:
        raise ValueError(f"no {name}: got an empty sequence")
    problems = [(i, p) for i, p in ((i, _problem(r)) for i, r in enumerate(reports)) if p is not None]
    if problems:
        shown = ", ".join(f"position {i} is {p}" for i, p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ValueError(f"{len(problems)} of {len(reports)} {name} are unusable: {shown}{more}")
    return [str(r) for r in reports]
