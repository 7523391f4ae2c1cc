"""Shared torch layers: attention with RoPE, transformer blocks, beat and lead/time embeddings,
pooling, masking, k-means and the ECG-word quantizer. No scikit-learn in here.

The HeartLang networks built from them (ST-ECGFormer, VQ-HBR, heads, training objectives) live in
:mod:`heartlang_sk.models.heartlang`; their names are still importable from here, resolved on first use.

Input convention (an ECG sentence batch from the tokenizer): ``tokens`` float
(B, l, t) beats; ``leads`` int64 (B, l), 1..12 and 0 for padding; ``times``
int64 (B, l), second of the R peak (1..), 0 for padding. Padding is
``leads == 0``.
"""

from .attention import RotarySelfAttention, key_padding_attention_mask
from .embedding import BeatConvStem, LeadTimeEmbedding, LinearStem
from .kmeans import cosine_nearest, spherical_kmeans
from .masked_words import MaskedWordObjective, masked_word_loss
from .masking import random_lead_mask, random_token_mask
from .pooling import masked_mean
from .quantizer import NormEMAQuantizer, QuantizerOutput, perplexity
from .rope import RotaryEmbedding, apply_rotary
from .transformer import DropPath, FeedForward, TransformerBlock

__all__ = [
    "MaskedWordObjective",
    "ClassificationObjective",
    "PretrainingObjective",
    "VocabularyObjective",
    "reconstruction_sums",
    "ECGFORMER_SIZES",
    "BeatConvStem",
    "ClassificationHead",
    "DropPath",
    "ECGFormer",
    "ECGFormerClassifier",
    "ECGFormerOutput",
    "FeedForward",
    "LeadTimeEmbedding",
    "LinearStem",
    "MaskedWordPredictor",
    "NormEMAQuantizer",
    "QuantizerOutput",
    "RotaryEmbedding",
    "RotarySelfAttention",
    "TransformerBlock",
    "VQHBROutput",
    "VQHeartbeatReconstructor",
    "apply_rotary",
    "cosine_nearest",
    "count_parameters",
    "ecgformer_config",
    "key_padding_attention_mask",
    "masked_mean",
    "masked_word_loss",
    "perplexity",
    "random_lead_mask",
    "random_token_mask",
    "resolve_ecgformer_config",
    "spherical_kmeans",
    "vqhbr_loss",
]

# Names of the HeartLang networks that lived in this package before they moved to
# heartlang_sk.models.heartlang; resolved lazily so that importing the shared layers never imports
# a model family (the family imports these layers).
_MOVED = {
    "ecgformer": ("ECGFORMER_SIZES", "ECGFormer", "ECGFormerOutput", "count_parameters", "ecgformer_config",
                  "resolve_ecgformer_config"),
    "heads": ("ClassificationHead", "ECGFormerClassifier", "MaskedWordPredictor"),
    "objectives": ("ClassificationObjective", "PretrainingObjective", "VocabularyObjective",
                   "reconstruction_sums"),
    "vqhbr": ("VQHBROutput", "VQHeartbeatReconstructor", "vqhbr_loss"),
}
_MOVED_NAMES = {name: module for module, names in _MOVED.items() for name in names}


def __getattr__(name):
    if name in _MOVED_NAMES:
        import importlib

        module = importlib.import_module(f"heartlang_sk.models.heartlang.{_MOVED_NAMES[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
