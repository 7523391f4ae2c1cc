"""Data sets: PTB-XL, the ptbxl-2k arrays, MIT-BIH and synthetic ECG."""
from .mitdb import MITBIHRecord, load_mitdb  # noqa: F401
