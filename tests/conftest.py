"""Shared fixtures: where the real ECG data lives, and skipping cleanly when it does not."""

import os
from pathlib import Path

import pytest

DATA_ROOT = Path(os.environ.get("HEARTLANG_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))


def _data_dir(name):
    path = (DATA_ROOT / name).resolve()
    if not path.exists():
        pytest.skip(f"real data not available: {path} (set HEARTLANG_DATA)")
    return path


@pytest.fixture(scope="session")
def mitdb_path():
    return _data_dir("mitdb")


@pytest.fixture(scope="session")
def ptbxl_path():
    return _data_dir("ptbxl")


@pytest.fixture(scope="session")
def ptbxl2k_path():
    return _data_dir("ptbxl-2k")


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    # The test models are tiny: one intra-op thread avoids OpenMP barrier waits, which on a busy
    # machine cost a scheduler time slice (~10 ms) per operation.
    import torch

    torch.set_num_threads(1)
