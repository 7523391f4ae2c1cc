"""Signals to ECG sentences: QRS detection (numpy/scipy only), beat segmentation, resampling and the
tokenizers (:class:`QRSTokenizer`, beats cut at QRS complexes; :class:`FixedWindowTokenizer`, the
fixed-window ablation)."""

from .qrs import detect_qrs, detect_qrs_batch
from .tokenizer import QRSTokenizer
from .window_tokenizer import FixedWindowTokenizer

__all__ = ["FixedWindowTokenizer", "QRSTokenizer", "detect_qrs", "detect_qrs_batch"]
