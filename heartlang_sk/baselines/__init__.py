"""Baselines a learned representation must beat: hand-made ECG features and the raw signal."""

from .features import ECGFeatures
from .raw_signal import RawSignal

__all__ = ["ECGFeatures", "RawSignal"]
