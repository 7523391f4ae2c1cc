"""HeartLang as this toolkit implements it: the estimators (:class:`ECGVocabulary`,
:class:`HeartLangPretrainer`, :class:`HeartLangEmbedder`, :class:`HeartLangClassifier`) and their
networks (ST-ECGFormer, VQ-HBR, heads, training objectives)."""

from .classifier import HeartLangClassifier
from .embedder import HeartLangEmbedder
from .pretrainer import HeartLangPretrainer
from .recipes import PRETRAINING_RECIPES
from .vocabulary import ECGVocabulary

__all__ = ["PRETRAINING_RECIPES", "ECGVocabulary", "HeartLangClassifier", "HeartLangEmbedder", "HeartLangPretrainer"]
