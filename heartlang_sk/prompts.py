"""Prompt tables for zero-shot ECG classification: ``PTBXL_PROMPTS[task]`` (class -> descriptions).

The public import path of :mod:`heartlang_sk.models.melp.prompts`; see there for how the tables
were written.

Examples
--------
>>> from heartlang_sk.prompts import PTBXL_PROMPTS
>>> from heartlang_sk.datasets import RHYTHM_CLASSES
>>> tuple(PTBXL_PROMPTS["rhythm"]) == RHYTHM_CLASSES
True
>>> PTBXL_PROMPTS["rhythm"]["AFIB"]
['atrial fibrillation', 'vorhofflimmern']
"""

from .models.melp.prompts import PTBXL_PROMPTS

__all__ = ["PTBXL_PROMPTS"]
