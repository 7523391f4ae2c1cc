"""Report text preprocessing and the built-in report tokenizer, on real PTB-XL report wording."""

import numpy as np
import pandas as pd
import pytest

from heartlang_sk.models.melp.text import check_reports, normalize_report, report_words, split_report
from heartlang_sk.models.melp.tokenizer import BOS, EOS, PAD, UNK, ReportTokenizer


def test_normalisation_folds_case_umlauts_and_sharp_s():
    assert normalize_report("QT-VerlÄngerung") == "qt-verlaengerung"
    assert normalize_report("Überdrehter Linkstyp") == "ueberdrehter linkstyp"
    assert normalize_report("Größe") == "groesse"
    # the two spellings PTB-XL uses meet
    assert report_words("überdrehter") == report_words("ueberdrehter")
    # Swedish accents are stripped after the German folding
    assert normalize_report("förmaksflimmer, å") == "foermaksflimmer, a"


def test_normalisation_keeps_statement_breaks_and_squeezes_other_whitespace():
    text = "sinusrhythmus\tlinkstyp      t abnormal"
    assert normalize_report(text) == "sinusrhythmus linkstyp  t abnormal"


def test_german_machine_report_splits_at_runs_of_spaces_and_commas():
    report = ("sinusrhythmus linkstyp qrs(t) abnormal    inferiorer infarkt     alter unbest.")
    assert split_report(report) == [["sinusrhythmus", "linkstyp", "qrs", "t", "abnormal"],
                                    ["inferiorer", "infarkt"], ["alter", "unbest"]]


def test_english_report_splits_at_full_stops_but_not_decimal_points():
    assert split_report("sinus rhythm. left atrial enlargement. qrs 4.46 mv.") == [
        ["sinus", "rhythm"], ["left", "atrial", "enlargement"], ["qrs", "4", "46", "mv"]]


@pytest.mark.parametrize("bad, problem", [
    (float("nan"), "NaN"), (None, "None"), (3, "not a string (int)"), ("", "empty"), (" . ", "empty")])
def test_check_reports_names_the_problem(bad, problem):
    with pytest.raises(ValueError, match=rf"1 of 2 reports are unusable: position 1 is {problem.split()[0]}"):
        check_reports(["sinusrhythmus", bad], 2)


def test_check_reports_counts_against_the_records_and_accepts_a_series():
    with pytest.raises(ValueError, match="got 2 reports for 3 ECG records"):
        check_reports(["a", "b"], 3)
    with pytest.raises(ValueError, match="single string"):
        check_reports("sinusrhythmus", 1)
    assert check_reports(pd.Series(["a", "b"], index=[10, 11]), 2) == ["a", "b"]


def test_tokenizer_vocabulary_ngrams_and_phrases():
    reports = ["sinusrhythmus normales ekg", "sinusrhythmus  vorhofflimmern", "vorhofflimmern"]
    tok = ReportTokenizer(max_words=6).fit(reports)
    assert tok.words_[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert tok.words_[4:6] == ["sinusrhythmus", "vorhofflimmern"]  # by frequency
    arrays = tok.transform(["Sinusrhythmus  Vorhofflattern, normales EKG"])
    ids = arrays["text_ids"][0]
    assert ids[:4].tolist() == [tok.vocabulary_["sinusrhythmus"], UNK, tok.vocabulary_["normales"],
                                tok.vocabulary_["ekg"]]
    assert ids[4:].tolist() == [PAD, PAD]
    assert arrays["text_phrases"][0].tolist() == [0, 1, 2, 2, -1, -1]
    # an unseen word shares character n-grams with a known one
    flimmern, flattern = (set(arrays_row[arrays_row > 0]) for arrays_row in (
        tok.transform(["vorhofflimmern"])["text_ngrams"][0, 0], arrays["text_ngrams"][0, 1]))
    assert len(flimmern & flattern) >= 5
    assert tok.decode([tok.vocabulary_["ekg"], EOS, 7]) == "ekg"
    assert BOS == 2


def test_tokenizer_truncates_and_counts_long_reports():
    tok = ReportTokenizer(max_words=3).fit(["a b c d e", "a b"])
    assert tok.n_truncated_ == 1
    assert (tok.transform(["a b c d e"])["text_ids"] > 0).sum() == 3


def test_real_ptbxl2k_reports_all_tokenize(ptbxl2k_path):
    reports = pd.read_csv(ptbxl2k_path / "reports.csv")["report"]
    usable = [r for r in reports if isinstance(r, str) and report_words(r)]
    assert len(reports) - len(usable) == 1  # one report is a lone punctuation mark
    tok = ReportTokenizer().fit(usable)
    arrays = tok.transform(usable)
    assert (arrays["text_ids"][:, 0] > 3).all()  # every report starts with a real word
    assert tok.n_truncated_ == 0
    assert np.median(arrays["text_phrases"].max(axis=1) + 1) >= 2  # reports have several statements
