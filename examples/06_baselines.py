"""The baselines a learned ECG embedding must beat, through the PTB-XL linear-probe protocol.

Hand-made ECG features (heart rate and RR variability, per-lead amplitude statistics, a log power
spectrum; ``heartlang_sk.baselines.features.ECGFeatures``) and the raw down-sampled signal (``RawSignal``) go
through the paper's protocol of ``heartlang_sk.evaluation``: a training regime drawn from folds
1-8 (``--train-folds``), a probe selected on a patient-disjoint validation split, macro ROC-AUC on fold 9.

This example needs real data: the ``ptbxl-2k`` folder (2,032 PTB-XL records as arrays), found under
``--data``, else ``$HEARTLANG_DATA``, else ``../shared/data`` beside the project. Without it, it
says so and exits cleanly.

    python examples/06_baselines.py --data /path/to/data
"""

import argparse
import os
import sys
import warnings
from pathlib import Path

from heartlang_sk.datasets import load_ptbxl2k
from heartlang_sk.evaluation import evaluate_baselines, summarize

DEFAULT_DATA = os.environ.get("HEARTLANG_DATA",
                              Path(__file__).resolve().parents[1] / ".." / "shared" / "data")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(DEFAULT_DATA),
                        help="folder holding ptbxl-2k/ (default $HEARTLANG_DATA or ../shared/data)")
    parser.add_argument("--task", default="super", choices=("super", "sub", "form", "rhythm"))
    parser.add_argument("--train-folds", type=int, default=8,
                        help="train on folds 1 to this one (default 8); fold 9 is the test fold")
    args = parser.parse_args()
    folder = args.data / "ptbxl-2k"
    if not (folder / "signals_100hz.npy").exists():
        print(f"ptbxl-2k data not found in {folder.resolve()}: set --data or HEARTLANG_DATA to the "
              f"folder holding ptbxl-2k/. Nothing to do.")
        return 0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # records without a label for the task
        train_folds = range(1, args.train_folds + 1)
        X, Y, meta = load_ptbxl2k(folder, task=args.task, folds=[*train_folds, 9])
    print(f"{len(X)} records, task {args.task!r}: classes {list(Y.columns)}")
    results = evaluate_baselines(X, Y, meta, train_folds=train_folds, test_folds=(9,),
                                 fractions=(0.1, 1.0), seeds=(0,))
    print(summarize(results)[["model", "regime", "n_train", "test_auc"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
