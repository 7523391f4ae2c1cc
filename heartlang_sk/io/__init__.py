"""Reading and writing: ECG records (WFDB folders, arrays), the memory-mapped sentence store, and the
artefacts the command line writes (fitted models, embeddings)."""

from .artifacts import EMBEDDING_FORMATS, check_embeddings_path, load_artifact, save_embeddings
from .records import read_records, read_windows
from .store import STORE_FORMAT, load_sentences, release_mapped_pages, save_sentences, tokenize_to_store
from .wfdb_records import WFDBRecords

__all__ = ["EMBEDDING_FORMATS", "STORE_FORMAT", "WFDBRecords", "check_embeddings_path", "load_artifact",
           "load_sentences", "read_records", "read_windows", "release_mapped_pages", "save_embeddings", "save_sentences",
           "tokenize_to_store"]
