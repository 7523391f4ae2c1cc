"""HeartLang as this toolkit implements it: the estimators (:class:`ECGVocabulary`,
:class:`HeartLangPretrainer`, :class:`HeartLangEmbedder`, :class:`HeartLangClassifier`) and their
networks (ST-ECGFormer, VQ-HBR, heads, training objectives)."""

from .classifier import HeartLangClassifier
from .embedder import HeartLangEmbedder
from .pretrainer import HeartLangPretrainer
from .vocabulary import ECGVocabulary

__all__ = ["ECGVocabulary", "HeartLangClassifier", "HeartLangEmbedder", "HeartLangPretrainer"]
