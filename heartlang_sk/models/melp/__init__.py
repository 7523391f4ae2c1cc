"""MELP: ECG–report pre-training at three scales and zero-shot ECG classification.

:class:`ECGReportAligner` trains the ECG tower (HeartLang's ST-ECGFormer over QRS-cut beats) and a
text tower on (ECG, report) pairs with MELP's global, local and caption losses;
:class:`ZeroShotECGClassifier` classifies ECGs by their similarity to class descriptions
(:data:`heartlang_sk.prompts.PTBXL_PROMPTS`). Text preprocessing for German/English/Swedish reports
is in :mod:`.text`, the built-in tokenizer in :mod:`.tokenizer`, the towers in :mod:`.text_towers`,
the losses in :mod:`.losses` and the network in :mod:`.network`.
"""

from .aligner import ECGReportAligner
from .prompts import PTBXL_PROMPTS
from .zeroshot import ZeroShotECGClassifier

__all__ = ["ECGReportAligner", "PTBXL_PROMPTS", "ZeroShotECGClassifier"]
