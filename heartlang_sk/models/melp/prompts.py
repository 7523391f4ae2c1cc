"""Class descriptions (prompts) for zero-shot classification of PTB-XL's ``super`` and ``rhythm`` tasks.

Contract: ``PTBXL_PROMPTS[task]`` is a dict whose keys are exactly the class names of
:data:`heartlang_sk.datasets.SUPERCLASSES` / :data:`~heartlang_sk.datasets.RHYTHM_CLASSES` (the
label columns of ``load_ptbxl`` and ``load_ptbxl2k``), in that order, and whose values are
non-empty lists of descriptions. They are written from the SCP-ECG statement descriptions of
``scp_statements.csv`` (the statements each class aggregates: the diagnostic statements of a
superclass, the rhythm statement itself), in English and in the German clinical wording of
PTB-XL's reports, lower case — never from any record's labels or reports. A zero-shot classifier
scores a class by the cosine similarity of an ECG to the mean of its descriptions' vectors.
"""

from __future__ import annotations

__all__ = ["PTBXL_PROMPTS"]

_SUPER = {
    # diagnostic_class HYP: LVH, RVH, SEHYP, LAO/LAE, RAO/RAE
    "HYP": [
        "left ventricular hypertrophy",
        "right ventricular hypertrophy",
        "left atrial enlargement",
        "linksventrikulaere hypertrophie",
        "rechtsventrikulaere hypertrophie",
        "linkshypertrophie",
        "p-verbreiterung, linksatriale vergroesserung",
    ],
    # NORM: normal ECG
    "NORM": [
        "normal ecg",
        "normales ekg",
        "sinus rhythm. normal ecg.",
        "sinusrhythmus normales ekg",
    ],
    # MI: anterior/inferior/lateral/posterior myocardial infarction, subendocardial injury
    "MI": [
        "myocardial infarction",
        "anteroseptal myocardial infarction",
        "inferior myocardial infarction, age undetermined",
        "myokardinfarkt",
        "anteroseptaler infarkt",
        "inferiorer infarkt alter unbest.",
        "qrs(t) abnormal, infarkt",
    ],
    # CD: bundle branch blocks, fascicular blocks, AV blocks, WPW, IVCD
    "CD": [
        "complete right bundle branch block",
        "complete left bundle branch block",
        "left anterior fascicular block",
        "first degree av block",
        "rechtsschenkelblock",
        "linksschenkelblock",
        "linksanteriorer hemiblock",
        "av block i. grades",
        "intraventrikulaere leitungsstoerung",
    ],
    # STTC: non-specific ST changes, ischaemia, non-diagnostic T abnormalities, long QT, digitalis
    "STTC": [
        "non-specific st changes",
        "ischemic st-t changes",
        "t wave abnormality",
        "st-senkung",
        "t abnormal",
        "st-t veraenderung, ischaemie",
        "qt-verlaengerung",
    ],
}

_RHYTHM = {
    "SVARR": ["supraventricular arrhythmia", "supraventrikulaere arrhythmie",
              "supraventrikulaere extrasystolen"],
    "BIGU": ["bigeminal pattern", "bigeminy", "bigeminus"],
    "STACH": ["sinus tachycardia", "sinustachykardie"],
    "SARRH": ["sinus arrhythmia", "sinusarrhythmie", "sinus arrhythmie"],
    "SBRAD": ["sinus bradycardia", "sinusbradykardie"],
    "TRIGU": ["trigeminal pattern", "trigeminy", "trigeminus"],
    "AFIB": ["atrial fibrillation", "vorhofflimmern"],
    "SR": ["sinus rhythm", "sinusrhythmus"],
    "SVTAC": ["supraventricular tachycardia", "supraventrikulaere tachykardie"],
    "PSVT": ["paroxysmal supraventricular tachycardia", "paroxysmale supraventrikulaere tachykardie"],
    "AFLT": ["atrial flutter", "vorhofflattern"],
    "PACE": ["normal functioning artificial pacemaker", "pacemaker ecg", "schrittmacher ekg",
             "schrittmacherrhythmus"],
}

#: Prompt tables by task: class name -> list of descriptions.
PTBXL_PROMPTS = {"super": _SUPER, "rhythm": _RHYTHM}
