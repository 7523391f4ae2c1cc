"""load_ptbxl2k returns PTB-XL's free-text reports in meta when reports.csv sits beside the arrays."""

import warnings


from heartlang_sk.datasets import load_ptbxl2k


def test_reports_join_the_metadata_by_ecg_id(ptbxl2k_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, Y, meta = load_ptbxl2k(ptbxl2k_path, task="rhythm", folds=[9], drop_unlabelled=False)
    assert len(X) == len(Y) == len(meta) == 259
    assert meta.attrs["n_reports"] == int(meta["report"].notna().sum()) == 103
    assert meta.loc[meta["report"].notna(), "report"].map(type).eq(str).all()


def test_first_records_carry_their_known_reports(ptbxl2k_path):
    _, _, meta = load_ptbxl2k(ptbxl2k_path, task="super", folds=[1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert meta.loc[1, "report"] == "sinusrhythmus periphere niederspannung"
    assert meta.loc[2, "report"] == "sinusbradykardie sonst normales ekg"


def test_without_reports_csv_the_return_value_is_unchanged(ptbxl2k_path, tmp_path):
    for name in ("signals_100hz.npy", "labels.csv"):
        (tmp_path / name).symlink_to(ptbxl2k_path / name)
    _, _, meta = load_ptbxl2k(tmp_path, task="super", folds=[9])
    assert "report" not in meta and "n_reports" not in meta.attrs
    assert list(meta.columns) == ["patient_id", "strat_fold", "labelled"]
