"""Data sets: PTB-XL, the ptbxl-2k arrays, MIT-BIH and synthetic ECG."""
from .mitdb import MITBIHRecord, load_mitdb  # noqa: F401
from .ptbxl import (  # noqa: F401
    FORM_CLASSES,
    LEAD_NAMES,
    RHYTHM_CLASSES,
    SUBCLASSES,
    SUPERCLASSES,
    TASK_CLASSES,
    load_ptbxl,
)
from .ptbxl2k import load_ptbxl2k  # noqa: F401
from .synthetic import ECG_CLASSES, make_ecg  # noqa: F401
