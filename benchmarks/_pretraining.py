"""The HeartLang pre-training recipe of ``heartlang_probe.py``, shared with ``pretraining_ablation.py``:
its options, the estimator parameters they give, the pre-training rows of ptbxl-2k, and the cached
tokenization, vocabulary fits and frozen-encoder embeddings.

Cache keys hold the settings, the training rows and the package source (``_common.cache_key``), so
a model fitted with other settings or other code is never reused.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _common import DEFAULT_CACHE, cache_key, cached
from heartlang_sk import ECGVocabulary, HeartLangEmbedder, QRSTokenizer
from heartlang_sk.evaluation import protocol_split
from heartlang_sk.preprocessing.window_tokenizer import FixedWindowTokenizer

SCOPE = ("2k-record pre-training on ptbxl-2k folds 1–8, tested on fold 9 — not the paper's corpus "
         "or test fold")


def add_model_arguments(parser):
    """``--size`` and ``--depth``: the encoder of vocabulary and pretrainer."""
    parser.add_argument("--size", default="tiny", help="ECGFormer size of vocabulary and encoder")
    parser.add_argument("--depth", type=int, default=None,
                        help="encoder blocks of the pretrainer (default: the size's depth)")


def add_recipe_arguments(parser):
    """The vocabulary and pre-training settings, with the defaults ``heartlang_probe.md`` reports."""
    # vocabulary (explicit: ECGVocabulary's defaults are being tuned elsewhere)
    parser.add_argument("--vocab-epochs", type=int, default=3)
    parser.add_argument("--n-words", type=int, default=2048)
    parser.add_argument("--word-dim", type=int, default=128)
    parser.add_argument("--vocab-lr", type=float, default=1e-3)
    parser.add_argument("--vocab-batch-size", type=int, default=32,
                        help="32: about 47 updates per epoch on ptbxl-2k, so the quantizer's "
                             "dead-word restart (every 20 updates) fires often within the fit")
    parser.add_argument("--vocab-decay", type=float, default=0.9,
                        help="codebook EMA decay (0.99 lags the encoder on ~50 updates per epoch)")
    parser.add_argument("--encoder-depth", type=int, default=4, help="vocabulary encoder blocks")
    parser.add_argument("--decoder-depth", type=int, default=2, help="vocabulary decoder blocks")
    # masked pre-training
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    parser.add_argument("--pretrain-lr", type=float, default=2e-3)
    parser.add_argument("--pretrain-batch-size", type=int, default=64)
    parser.add_argument("--mask-ratio", type=float, default=0.5)
    parser.add_argument("--warmup-epochs", type=float, default=1.0)
    parser.add_argument("--random-state", type=int, default=0)


def apply_quick(args):
    """``--quick``: one-block models, one epoch, a tiny vocabulary (smoke tests; numbers mean nothing)."""
    if not args.quick:
        return args
    args.vocab_epochs = min(args.vocab_epochs, 1)
    args.pretrain_epochs = min(args.pretrain_epochs, 1)
    args.n_words, args.word_dim = min(args.n_words, 16), min(args.word_dim, 16)
    args.encoder_depth = args.decoder_depth = 1
    args.depth = 1
    return args


def recipe_args(argv):
    """The recipe's settings from ``argv`` (``--data`` required), every other option at the
    defaults of ``heartlang_probe.py``: the same parameters and cache keys as that script."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data", required=True, help="ptbxl-2k folder")
    add_model_arguments(parser)
    add_recipe_arguments(parser)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--cache", default=DEFAULT_CACHE)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--quick-records", type=int, default=12)
    return apply_quick(parser.parse_args(argv))


def vocabulary_params(args):
    """``ECGVocabulary`` parameters of the recipe."""
    return dict(size=args.size, encoder_depth=args.encoder_depth, decoder_depth=args.decoder_depth,
                n_words=args.n_words, word_dim=args.word_dim, max_epochs=args.vocab_epochs,
                batch_size=args.vocab_batch_size, lr=args.vocab_lr, decay=args.vocab_decay,
                random_state=args.random_state, device="cpu")


def pretrainer_params(args):
    """``HeartLangPretrainer`` parameters of the recipe (without the vocabulary)."""
    return dict(size=args.size, depth=args.depth, mask_ratio=args.mask_ratio,
                max_epochs=args.pretrain_epochs, batch_size=args.pretrain_batch_size,
                lr=args.pretrain_lr, warmup_epochs=args.warmup_epochs,
                random_state=args.random_state, device="cpu")


def tokenizers():
    """The QRS tokenizer and the fixed-window ablation's, at ptbxl-2k's 100 Hz."""
    return {"qrs": QRSTokenizer(sampling_rate=100), "window": FixedWindowTokenizer(sampling_rate=100)}


def pretraining_rows(meta):
    """Rows of folds 1-8 used for pre-training, and the held-out (validation-patient) rows."""
    pool, valid, _ = protocol_split(meta)
    return pool, valid


def cache_keys(args, meta):
    """Pre-training and held-out rows, and the cache-key parts of the data and of those rows."""
    train_rows, held_rows = pretraining_rows(meta)
    data_key = [str(Path(args.data).resolve()), len(meta), int(meta.index.to_numpy().sum())]
    rows_key = [len(train_rows), int(train_rows.sum()), len(held_rows), int(held_rows.sum())]
    return train_rows, held_rows, data_key, rows_key


def tokenize(args, X, meta, kind):
    """ECG sentences of every record (cached)."""
    _, _, data_key, _ = cache_keys(args, meta)
    tokenizer = tokenizers()[kind]
    return cached(args.cache, f"sentences-{kind}", cache_key(data_key, repr(tokenizer)),
                  lambda: tokenizer.fit_transform(X))["value"]


def fit_vocabulary(args, meta, S, kind):
    """The vocabulary of one tokenization, fitted on the pre-training records (cached)."""
    train_rows, held_rows, data_key, rows_key = cache_keys(args, meta)
    vparams = vocabulary_params(args)
    return cached(args.cache, f"vocabulary-{kind}", cache_key(data_key, rows_key, kind, vparams),
                  lambda: ECGVocabulary(**vparams, verbose=not args.quick).fit(
                      S[train_rows], validation_sentences=S[held_rows]))


def embed(pretrainer, pooling, S, train_rows):
    """Frozen-encoder embeddings of every sentence, the embedder fitted on the training rows."""
    embedder = HeartLangEmbedder(pretrainer, pooling=pooling, device="cpu")
    return embedder.fit(S[train_rows]).transform(S)

