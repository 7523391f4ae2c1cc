"""Size of a saved (joblib) fitted probe pipeline, and what it is made of (issue 17, item 5).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/model_size.py --data ../shared/data/ptbxl-2k \\
        [--records 256] [--epochs 1] [--label after] [--out benchmarks/results/model_size.md]

Fits the README example's model at its sizes -- ``QRSTokenizer`` + ``HeartLangEmbedder(
HeartLangPretrainer(ECGVocabulary()))`` (tiny encoder, 8,192 words of 128 dimensions) + a logistic
regression -- on the first ``--records`` ptbxl-2k records (NORM vs rest), saves it with
``joblib.dump`` and reports the file size, then the pickled size of the parts: each skorch net's
module and optimizer state, the vocabulary's quantizer buffers, and the fitted attributes. The
sizes do not depend on the number of records or epochs (one epoch already fills the optimizer
state). Appends one section, headed ``--label``, to ``--out`` with the command that produced it.
"""

from __future__ import annotations

import argparse
import io
import platform
import shlex
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

import joblib
import numpy as np


def pickled_mb(obj):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return len(buffer.getvalue()) / 2**20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ptbxl-2k"))
    parser.add_argument("--records", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--label", default="current")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/model_size.md"))
    args = parser.parse_args(argv)

    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    import heartlang_sk
    from heartlang_sk import ECGVocabulary, HeartLangEmbedder, HeartLangPretrainer, QRSTokenizer
    from heartlang_sk.datasets import load_ptbxl2k

    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)
    X, Y, _ = load_ptbxl2k(args.data, task="super", folds=[1, 2])
    X, y = X[:args.records], Y.iloc[:args.records, 1].to_numpy()
    S = QRSTokenizer(sampling_rate=100).fit_transform(X)
    vocab = ECGVocabulary(max_epochs=args.epochs, random_state=0).fit(S)
    pre = HeartLangPretrainer(vocab, max_epochs=args.epochs, random_state=0).fit(S)
    probe = make_pipeline(QRSTokenizer(sampling_rate=100), HeartLangEmbedder(pre),
                          LogisticRegression(max_iter=1000)).fit(X, y)
    path = Path("/tmp/heartlang-model-size.joblib")
    joblib.dump(probe, path)
    loaded = joblib.load(path)
    agree = float(np.abs(loaded.predict_proba(X) - probe.predict_proba(X)).max())

    rows = [("probe pipeline, joblib file", path.stat().st_size / 2**20)]
    for name, estimator in (("ECGVocabulary", vocab), ("HeartLangPretrainer (without its vocabulary)", pre)):
        net = estimator.net_
        optimizer_state = net.optimizer_.state_dict()["state"]
        if name.startswith("HeartLangPretrainer"):
            rest = {k: v for k, v in estimator.__dict__.items() if k not in ("vocabulary", "vocabulary_")}
            rows.append((name, pickled_mb(rest)))
        else:
            rows.append((name, pickled_mb(estimator)))
        rows.append(("  module weights and buffers", pickled_mb(net.module_.state_dict())))
        rows.append(("  optimizer state (AdamW moments)", pickled_mb(optimizer_state)))
        for attribute in ("codebook_", "encoder_"):
            if attribute in estimator.__dict__:
                saved = attribute in estimator.__getstate__()
                rows.append((f"  {attribute} ({'pickled again beside the net' if saved else 'not pickled: a view of the net'})",
                             pickled_mb(estimator.__dict__[attribute]) if saved else 0.0))
    quantizer = vocab.net_.module_.model.quantizer
    for buffer in ("codebook", "embed_sum", "_recent"):  # the last two are released after fit
        rows.append((f"  quantizer.{buffer} {tuple(getattr(quantizer, buffer).shape)}",
                     pickled_mb(getattr(quantizer, buffer))))

    command = "OMP_NUM_THREADS=1 python benchmarks/model_size.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    lines = [f"## {args.label}", "", f"Command: `{command}`", "",
             f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; heartlang-sk {heartlang_sk.__version__}; "
             f"Python {platform.python_version()}, torch {torch.__version__}; {args.records} ptbxl-2k records, "
             f"{args.epochs} epoch(s). Reloaded pipeline's predict_proba differs by {agree:.1g}.", "",
             "| what | MB |", "|---|---:|"]
    lines += [f"| {what} | {mb:.2f} |" for what, mb in rows]
    text = "\n".join(lines) + "\n\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not args.out.exists():
        args.out.write_text("# Size of a saved fitted probe pipeline (issue 17, item 5)\n\n"
                            "Sizes in MiB (2^20 bytes) of `joblib.dump` output; parts are pickled on their own.\n\n")
    with args.out.open("a") as file:
        file.write(text)


if __name__ == "__main__":
    main()
