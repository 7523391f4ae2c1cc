"""Torch modules of HeartLang: the ST-ECGFormer backbone, the ECG-word quantizer,
the VQ heartbeat reconstructor and the pre-training / classification heads.

Input convention (an ECG sentence batch from the tokenizer): ``tokens`` float
(B, l, t) beats; ``leads`` int64 (B, l), 1..12 and 0 for padding; ``times``
int64 (B, l), second of the R peak (1..), 0 for padding. Padding is
``leads == 0``.
"""

from .attention import RotarySelfAttention, key_padding_attention_mask
from .ecgformer import (
    ECGFORMER_SIZES,
    ECGFormer,
    ECGFormerOutput,
    count_parameters,
    ecgformer_config,
    resolve_ecgformer_config,
)
from .embedding import BeatConvStem, LeadTimeEmbedding, LinearStem
from .heads import ClassificationHead, ECGFormerClassifier, MaskedWordPredictor, masked_word_loss
from .kmeans import cosine_nearest, spherical_kmeans
from .masking import random_lead_mask, random_token_mask
from .objectives import ClassificationObjective, PretrainingObjective, VocabularyObjective, reconstruction_sums
from .pooling import masked_mean
from .quantizer import NormEMAQuantizer, QuantizerOutput, perplexity
from .rope import RotaryEmbedding, apply_rotary
from .transformer import DropPath, FeedForward, TransformerBlock
from .vqhbr import VQHBROutput, VQHeartbeatReconstructor, vqhbr_loss

__all__ = [
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
