"""Run by tests/test_distributed.py under ``accelerate launch --cpu --num_processes 2``.

Fits an ECGVocabulary and a HeartLangPretrainer through an accelerate.Accelerator on tiny synthetic
ECG and saves, per process, what the test compares across processes: the codebook, the encoder
weights, the words and embeddings of the data, the per-epoch batch counts. Process 0 also saves the
fitted pretrainer with joblib for the test to load in a plain, single process.

Usage: python distributed_fit_script.py OUTPUT_FOLDER
"""

import json
import sys
from pathlib import Path

import joblib
import numpy as np
import torch

from heartlang_sk import ECGVocabulary, HeartLangEmbedder, HeartLangPretrainer, QRSTokenizer
from heartlang_sk.datasets import make_ecg

N_RECORDS, BATCH_SIZE = 16, 4


def main(out):
    # Imported here: pytest imports this file for doctests, also where accelerate is not installed.
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    torch.set_num_threads(1)
    # No DDP buffer broadcast: the quantizer's own all-reduce / broadcast hooks alone must keep the
    # EMA codebook identical across processes.
    accelerator = Accelerator(cpu=True, kwargs_handlers=[
        DistributedDataParallelKwargs(broadcast_buffers=False)])
    rank = accelerator.process_index
    X, _ = make_ecg(N_RECORDS, random_state=0)
    sentences = QRSTokenizer(sampling_rate=100).fit_transform(X)
    vocabulary = ECGVocabulary(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1, max_epochs=2,
                               batch_size=BATCH_SIZE, random_state=0, accelerator=accelerator)
    vocabulary.fit(sentences)
    pretrainer = HeartLangPretrainer(vocabulary, depth=1, max_epochs=2, batch_size=BATCH_SIZE,
                                     random_state=0, accelerator=accelerator).fit(sentences)
    embeddings = HeartLangEmbedder(pretrainer, device="cpu").fit(sentences).transform(sentences)
    encoder = torch.cat([p.detach().flatten() for p in pretrainer.encoder_.parameters()]).numpy()
    np.savez(out / f"rank{rank}.npz", codebook=vocabulary.codebook_,
             words=vocabulary.transform(sentences), encoder=encoder, embeddings=embeddings)
    summary = {
        "world_size": accelerator.num_processes,
        "vocabulary_batches": [row["train_batch_count"] for row in vocabulary.net_.history],
        "pretrainer_batches": [row["train_batch_count"] for row in pretrainer.net_.history],
        "vocabulary_loss": vocabulary.history_["train_loss"].tolist(),
        "pretrainer_loss": pretrainer.history_["train_loss"].tolist(),
    }
    (out / f"rank{rank}.json").write_text(json.dumps(summary))
    if accelerator.is_main_process:
        joblib.dump(pretrainer, out / "pretrainer.joblib")
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
