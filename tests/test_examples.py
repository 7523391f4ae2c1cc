"""Every script in examples/ runs in a fresh interpreter, on small settings, and exits cleanly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DATA_ROOT = Path(os.environ.get("HEARTLANG_DATA", ROOT / ".." / "shared" / "data"))

# Extra arguments per script: fewer epochs than the scripts' defaults keep the suite fast.
ARGUMENTS = {
    "01_tokenize_and_plot.py": ["--out", "{out}"],
    "02_vocabulary.py": ["--out", "{out}", "--epochs", "1"],
    "03_pretrain_and_probe.py": ["--epochs", "1"],
    "04_grid_search.py": ["--epochs", "1"],
    "05_save_and_load.py": ["--out", "{out}"],
    "06_baselines.py": ["--train-folds", "2"],
    "07_long_records.py": ["--epochs", "1"],
    "08_grid_search_cache.py": ["--epochs", "1", "--records", "45"],
}
OUTPUT = {
    "01_tokenize_and_plot.py": "record 2 (normal)",
    "02_vocabulary.py": "held-out reconstruction R2",
    "03_pretrain_and_probe.py": "random-init encoder: macro ROC-AUC",
    "04_grid_search.py": "best: {'embedder__pooling':",
    "05_save_and_load.py": "same probabilities: True",
    "06_baselines.py": "",
    "07_long_records.py": "per-record probe,     pooled 10-s windows: accuracy",
    "08_grid_search_cache.py": "same scores with and without the cache",
}
FILES = {
    "01_tokenize_and_plot.py": {"tokenization_normal.png", "sentence_afib.png"},
    "02_vocabulary.py": {"vocabulary_curves.png", "reconstructions.png", "top_words.png",
                         "vocabulary_map.png"},
    "05_save_and_load.py": {"probe.joblib", "vocabulary.safetensors"},
}


def run_example(name, tmp_path, *extra, data=DATA_ROOT):
    args = [a.format(out=tmp_path / "out") for a in ARGUMENTS[name]] + list(extra)
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg", HEARTLANG_DATA=str(data))
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def test_every_example_is_tested():
    assert sorted(path.name for path in EXAMPLES.glob("*.py")) == sorted(ARGUMENTS)


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_example_runs(name, tmp_path):
    result = run_example(name, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert OUTPUT[name] in result.stdout and result.stdout.strip()
    written = {path.name for path in (tmp_path / "out").glob("*")}
    assert FILES.get(name, set()) <= written
    assert not (tmp_path / "example-output").exists()  # --out is honoured


def test_data_example_exits_cleanly_without_data(tmp_path):
    result = run_example("06_baselines.py", tmp_path, data=tmp_path / "absent")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "not found" in result.stdout and "Nothing to do" in result.stdout
