"""Training through Hugging Face Accelerate: two CPU processes (gloo) started by torchrun.

``accelerate launch --cpu`` starts a single process (CPU multi-processing goes through MPI there),
so the test starts the two processes with ``torchrun --standalone``, whose environment the
``Accelerator`` reads the same way; on GPUs ``accelerate launch --multi_gpu`` does the same.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

pytest.importorskip("accelerate")

from heartlang_sk import ECGVocabulary, HeartLangEmbedder, QRSTokenizer  # noqa: E402
from heartlang_sk.datasets import make_ecg  # noqa: E402
from heartlang_sk.training.distributed import AcceleratedHeartLangNet, make_net  # noqa: E402
from heartlang_sk.training import HeartLangNet  # noqa: E402

SCRIPT = Path(__file__).with_name("distributed_fit_script.py")
N_RECORDS, BATCH_SIZE, WORLD_SIZE = 16, 4, 2  # as in the script
TINY = dict(n_words=16, word_dim=8, encoder_depth=1, decoder_depth=1, max_epochs=2,
            batch_size=BATCH_SIZE, random_state=0)


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    out = tmp_path_factory.mktemp("distributed")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", str(WORLD_SIZE), str(SCRIPT), str(out)]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore::FutureWarning")
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                               check=False)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def sentences():
    return QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(N_RECORDS, random_state=0)[0])


def test_both_processes_finish_each_on_its_share_of_the_batches(two_processes):
    for rank in range(WORLD_SIZE):
        summary = json.loads((two_processes / f"rank{rank}.json").read_text())
        assert summary["world_size"] == WORLD_SIZE
        per_process = -(-N_RECORDS // (BATCH_SIZE * WORLD_SIZE))
        assert summary["vocabulary_batches"] == [per_process] * 2
        assert summary["pretrainer_batches"] == [per_process] * 2
        assert np.isfinite(summary["vocabulary_loss"] + summary["pretrainer_loss"]).all()


def test_codebook_and_weights_are_identical_across_processes(two_processes):
    # The script turns DDP's buffer broadcast off: the quantizer's all-reduce / broadcast hooks
    # alone keep the EMA codebook in step (without them the codebooks differ).
    ranks = [np.load(two_processes / f"rank{rank}.npz") for rank in range(WORLD_SIZE)]
    for name in ("codebook", "words", "encoder", "embeddings"):
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name], err_msg=name)
    assert np.isfinite(ranks[0]["embeddings"]).all()


def test_the_fitted_estimator_works_in_a_plain_process(two_processes, sentences):
    pretrainer = joblib.load(two_processes / "pretrainer.joblib")
    rank0 = np.load(two_processes / "rank0.npz")
    assert not pretrainer.net_._prepared  # no DDP wrapper left: plain module
    quantizer = pretrainer.vocabulary_.net_.module_.model.quantizer
    assert quantizer.all_reduce_fn is None and quantizer.broadcast_fn is None
    np.testing.assert_array_equal(pretrainer.vocabulary_.transform(sentences), rank0["words"])
    embeddings = HeartLangEmbedder(pretrainer, device="cpu").fit(sentences).transform(sentences)
    np.testing.assert_array_equal(embeddings, rank0["embeddings"])
    assert 0.0 <= pretrainer.score(sentences) <= 1.0


@pytest.fixture
def accelerator():
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    yield Accelerator(cpu=True)
    AcceleratorState._reset_state(True)  # accelerate's state is process-wide


def test_one_process_accelerator_trains_as_the_plain_net(sentences, accelerator, tmp_path):
    accelerated = ECGVocabulary(**TINY, accelerator=accelerator).fit(sentences)
    plain = ECGVocabulary(**TINY).fit(sentences)
    assert isinstance(accelerated.net_, AcceleratedHeartLangNet)
    np.testing.assert_array_equal(accelerated.codebook_, plain.codebook_)
    np.testing.assert_array_equal(accelerated.history_["train_loss"], plain.history_["train_loss"])
    # The weights-only file leaves the accelerator out: it loads as a plain vocabulary.
    accelerated.save_weights(tmp_path / "vocabulary.safetensors")
    loaded = ECGVocabulary.load_weights(tmp_path / "vocabulary.safetensors", device="cpu")
    assert loaded.accelerator is None
    np.testing.assert_array_equal(loaded.transform(sentences), accelerated.transform(sentences))


def test_classifier_trains_through_an_accelerator_as_the_plain_net(sentences, accelerator):
    # The classifier builds its net through the shared base now, so it can train on several GPUs too.
    from heartlang_sk import HeartLangClassifier

    y = np.arange(len(sentences)) % 2
    params = dict(depth=1, max_epochs=1, batch_size=8, random_state=0, device="cpu")
    accelerated = HeartLangClassifier(**params, accelerator=accelerator).fit(sentences, y)
    plain = HeartLangClassifier(**params).fit(sentences, y)
    assert isinstance(accelerated.net_, AcceleratedHeartLangNet)
    np.testing.assert_allclose(accelerated.predict_proba(sentences), plain.predict_proba(sentences), atol=1e-6)


def test_make_net_without_accelerator_is_the_plain_net():
    from heartlang_sk.models.heartlang.objectives import VocabularyObjective

    assert type(make_net(VocabularyObjective, device="cpu")) is HeartLangNet
