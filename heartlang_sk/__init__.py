"""heartlang-sk: scikit-learn-style estimators for HeartLang, the self-supervised ECG language model.

HeartLang reads heartbeats as words and a record's rhythm as a sentence. The toolkit's stages:

- :class:`QRSTokenizer` -- 12-lead signals at any sampling rate -> :class:`ECGSentences`.
- :class:`ECGVocabulary` -- vector-quantized heartbeat reconstruction: a codebook of ECG words.
- :class:`HeartLangPretrainer` -- masked-sentence pre-training of the ST-ECGFormer encoder.
- :class:`HeartLangEmbedder` -- frozen encoder -> one vector per record, for a linear probe.
- :class:`HeartLangClassifier` -- full fine-tuning of the encoder with a linear head.
- :class:`ECGReportAligner` -- MELP: ECG-report pre-training (global, local and caption losses).
- :class:`ZeroShotECGClassifier` -- classify ECGs by similarity to class descriptions.
"""

from . import _moved_modules
from .preprocessing.qrs import detect_qrs, detect_qrs_batch
from .sentences import ECGSentences
from .preprocessing.tokenizer import QRSTokenizer
from .models.heartlang.classifier import HeartLangClassifier
from .models.heartlang.embedder import HeartLangEmbedder
from .models.heartlang.pretrainer import HeartLangPretrainer
from .models.heartlang.vocabulary import ECGVocabulary
from .models.melp.aligner import ECGReportAligner
from .models.melp.zeroshot import ZeroShotECGClassifier

__version__ = "0.1.0.dev0"

_moved_modules.install()

__all__ = ["ECGReportAligner", "ECGSentences", "ECGVocabulary", "HeartLangClassifier", "HeartLangEmbedder", "HeartLangPretrainer", "QRSTokenizer", "ZeroShotECGClassifier", "detect_qrs", "detect_qrs_batch", "__version__"]
