"""The demo's zero-shot row: an ECG-report aligner fitted on synthetic template reports, scored by class
descriptions worded differently from those reports.

Contract: :func:`synthetic_reports` gives every training record of :func:`~heartlang_sk.datasets.make_ecg`
one report, drawn (seeded) from :data:`SYNTHETIC_REPORTS`: short template texts in the style of
PTB-XL's English reports, written here from the generator's class definitions. They are the class
labels in words, not recorded reports, and the demo says so. :func:`zero_shot_row` fits a small
:class:`~heartlang_sk.models.melp.ECGReportAligner` on (training ECG, report) pairs, then a
:class:`~heartlang_sk.models.melp.ZeroShotECGClassifier` with :data:`SYNTHETIC_DESCRIPTIONS` (other
wording: no description equals a report sentence) scores the held-out records, which the aligner never
saw; the row carries accuracy (top class) and macro ROC-AUC, one vs rest.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SYNTHETIC_DESCRIPTIONS", "SYNTHETIC_REPORTS", "synthetic_reports", "zero_shot_row"]

SYNTHETIC_REPORTS = {
    "normal": ["sinus rhythm. normal ecg.", "sinus rhythm. no abnormality detected."],
    "brady": ["sinus bradycardia. otherwise normal ecg.", "sinus bradycardia, heart rate below 60."],
    "tachy": ["sinus tachycardia. otherwise normal ecg.", "sinus tachycardia, heart rate above 100."],
    "afib": ["atrial fibrillation with irregular ventricular response.",
             "atrial fibrillation. no p waves, rr intervals irregular."],
    "wide_qrs": ["sinus rhythm. complete bundle branch block.", "sinus rhythm. qrs widened, bundle branch block."],
    "st_shift": ["sinus rhythm. st elevation or depression, consider injury.",
                 "sinus rhythm. st segment changes, possible ischemia."],
}
"""Template reports per synthetic class (``make_ecg``'s class names), PTB-XL English style."""

SYNTHETIC_DESCRIPTIONS = {
    "normal": ["normal electrocardiogram", "regular sinus rhythm without abnormality"],
    "brady": ["bradycardia", "slow sinus heart rate"],
    "tachy": ["tachycardia", "fast sinus heart rate"],
    "afib": ["fibrillation of the atria", "irregularly irregular rhythm"],
    "wide_qrs": ["bundle branch block", "wide qrs complex"],
    "st_shift": ["st segment elevation", "st depression, ischaemia or injury"],
}
"""Class descriptions for zero-shot scoring, worded unlike :data:`SYNTHETIC_REPORTS`."""


def synthetic_reports(labels, random_state=None):
    """One template report per record, drawn from its class's templates.

    Parameters
    ----------
    labels : array-like of str
        ``make_ecg`` class names.
    random_state : int or None

    Returns
    -------
    list of str

    Examples
    --------
    >>> synthetic_reports(["afib", "normal"], random_state=0)[1] in SYNTHETIC_REPORTS["normal"]
    True
    """
    draw = np.random.default_rng(random_state)
    return [str(draw.choice(SYNTHETIC_REPORTS[str(label)])) for label in labels]


def zero_shot_row(S_train, y_train, S_test, y_test, *, size, depth, epochs, device, random_state, verbose=False):
    """Fit the aligner on the training records' template reports and score the test records zero-shot.

    Returns
    -------
    aligner : ECGReportAligner
    scores : ndarray of shape (n_test, n_classes)
        Cosine similarities, columns in the sorted class order of ``y_test``.
    accuracy, macro_auc : float
    """
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.preprocessing import label_binarize

    from ..models.melp import ECGReportAligner, ZeroShotECGClassifier

    classes = sorted(map(str, set(y_train)))
    aligner = ECGReportAligner(size=size, depth=depth, text_depth=1, embed_dim=64, max_epochs=epochs,
                               batch_size=32, lr=2e-3, device=device, random_state=random_state,
                               verbose=verbose)
    aligner.fit(S_train, synthetic_reports(y_train, random_state))
    classifier = ZeroShotECGClassifier(aligner, {c: SYNTHETIC_DESCRIPTIONS[c] for c in classes}).fit(S_test)
    scores = classifier.decision_function(S_test)
    y_test = np.asarray(y_test).astype(str)
    accuracy = accuracy_score(y_test, classifier.classes_[scores.argmax(1)].astype(str))
    # One vs rest on the cosine columns, as the probe rows' ``roc_auc_score(multi_class="ovr")``.
    macro_auc = roc_auc_score(label_binarize(y_test, classes=classes), scores, average="macro")
    return aligner, scores, float(accuracy), float(macro_auc)

