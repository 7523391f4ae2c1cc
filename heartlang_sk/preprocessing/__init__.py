"""Signals to ECG sentences: QRS detection (numpy/scipy only), beat segmentation, resampling and the
tokenizers (:class:`QRSTokenizer`, beats cut at QRS complexes; :class:`FixedWindowTokenizer`, the
fixed-window ablation); long records cut into windows of the model's length and pooled back
(:func:`split_windows`, :func:`pool_windows`)."""

from .qrs import detect_qrs, detect_qrs_batch
from .record_windows import RecordWindows, pool_windows, split_windows
from .tokenizer import QRSTokenizer
from .window_tokenizer import FixedWindowTokenizer

__all__ = ["FixedWindowTokenizer", "QRSTokenizer", "RecordWindows", "detect_qrs", "detect_qrs_batch",
           "pool_windows", "split_windows"]
