"""heartlang-sk: scikit-learn-style estimators for HeartLang, the self-supervised ECG language model.

HeartLang reads heartbeats as words and a record's rhythm as a sentence. The toolkit's stages:

- :class:`QRSTokenizer` -- 12-lead signals at any sampling rate -> :class:`ECGSentences`.
- :class:`ECGVocabulary` -- vector-quantized heartbeat reconstruction: a codebook of ECG words.
- :class:`HeartLangPretrainer` -- masked-sentence pre-training of the ST-ECGFormer encoder.
- :class:`HeartLangEmbedder` -- frozen encoder -> one vector per record, for a linear probe.
- :class:`HeartLangClassifier` -- full fine-tuning of the encoder with a linear head.
"""

from ._qrs import detect_qrs, detect_qrs_batch
from .sentences import ECGSentences
from .tokenizer import QRSTokenizer
from .classifier import HeartLangClassifier
from .embedder import HeartLangEmbedder
from .pretrainer import HeartLangPretrainer
from .vocabulary import ECGVocabulary

__version__ = "0.1.0.dev0"

__all__ = ["ECGSentences", "ECGVocabulary", "HeartLangClassifier", "HeartLangEmbedder", "HeartLangPretrainer", "QRSTokenizer", "detect_qrs", "detect_qrs_batch", "__version__"]
