"""HeartLang as released by its authors: the official architecture and its checkpoints.

The networks reproduce the official forward pass exactly (:mod:`.ecgformer`, :mod:`.vqhbr`); their
``state_dict`` keys are the official ones, so the released ``.pth`` files load with
:func:`read_official_checkpoint` (``weights_only=True``) and files written by
:func:`write_official_checkpoint` load in the official scripts.
"""

from .ecgformer import OFFICIAL_HEAD_DIM, RELEASED_PRETRAINING_CONFIG, OfficialECGFormer, OfficialOutput
from .vqhbr import RELEASED_VQHBR_CONFIG, OfficialQuantizer, OfficialVQHBR, OfficialVQHBROutput
from .weights import (PRETRAINING, VQHBR, OfficialCheckpoint, build_official_network, infer_official_config,
                      read_official_checkpoint, write_official_checkpoint)

__all__ = ["OFFICIAL_HEAD_DIM", "PRETRAINING", "RELEASED_PRETRAINING_CONFIG", "RELEASED_VQHBR_CONFIG", "VQHBR",
           "OfficialCheckpoint", "OfficialECGFormer", "OfficialOutput", "OfficialQuantizer", "OfficialVQHBR",
           "OfficialVQHBROutput", "build_official_network", "infer_official_config", "read_official_checkpoint",
           "write_official_checkpoint"]
