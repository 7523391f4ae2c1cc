"""2-D ``.npy`` records: one-lead records, except 12 rows, which are refused as one 12-lead record."""

import numpy as np
import pytest

from heartlang_sk.cli import main
from heartlang_sk.datasets import make_ecg
from heartlang_sk.io.records import read_records


@pytest.fixture(scope="module")
def one_record(tmp_path_factory):
    X, _ = make_ecg(3, sampling_rate=100, random_state=0)
    folder = tmp_path_factory.mktemp("npy")
    np.save(folder / "one.npy", X[0].astype(np.float32))  # (12, 1000): one 12-lead record
    np.save(folder / "leads.npy", X[:, 0].astype(np.float32))  # (3, 1000): three one-lead records
    return folder


def test_read_records_refuses_12_rows_naming_x_none(one_record):
    with pytest.raises(ValueError, match=r"reads as 12 one-lead records; if it is one 12-lead record, save X\[None\]"):
        read_records(one_record / "one.npy", 100)


def test_read_records_gives_2d_arrays_a_lead_axis(one_record):
    X, rate, names = read_records(one_record / "leads.npy", 100)
    assert X.shape == (3, 1, 1000) and rate == 100 and names == ["0", "1", "2"]


def test_cli_2d_npy_is_a_one_line_error_not_a_traceback(one_record, tmp_path, capsys):
    assert main(["tokenize", str(one_record / "one.npy"), "--sampling-rate", "100", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and error.startswith("heartlang-sk: error:") and "X[None]" in error
    assert main(["tokenize", str(one_record / "leads.npy"), "--sampling-rate", "100", "--out", str(tmp_path),
                 "--plots", "0"]) == 0
