"""``heartlang-sk embed``: one vector per record from the frozen encoder of a saved pretrainer."""

from __future__ import annotations

import time
from pathlib import Path

from ._common import (_check_finite, _check_writable, _in_chunks, _load_official, _load_pretrainer,
                      _load_sentences, _read_windows, _record_names, _setup_torch, _stage,
                      _tokenizer, _verbose, _window_names)
from ._options import DEFAULT_OUT, _add_trust_pickle, _output_options


def add_parser(commands, inputs):
    """Add the ``embed`` subcommand."""
    embed = commands.add_parser(
        "embed", parents=[_output_options("embeddings file: .csv, .parquet (needs pyarrow) or "
                                          ".npy (default heartlang-sk-output/embeddings.csv)",
                                          f"{DEFAULT_OUT}/embeddings.csv"), inputs],
        help="one vector per record from a pre-trained encoder",
        description="Embed saved sentences, or raw records tokenized on the fly, with the frozen "
                    "encoder of a saved pretrainer. Raw records are tokenized with the tokenizer "
                    "settings the pretrainer was trained with (band-pass, normalisation, truncation, "
                    "t, l) unless --bandpass or --normalize is given; sentences made with other "
                    "settings are refused.")
    embed.add_argument("input", help="the sentences/ folder from 'tokenize', a folder of WFDB "
                                     "records or a .npy array")
    encoder = embed.add_mutually_exclusive_group(required=True)
    encoder.add_argument("--pretrainer", help="pretrainer.safetensors from 'heartlang-sk pretrain'")
    encoder.add_argument("--official-checkpoint", metavar="PATH",
                         help="the released HeartLang masked-pre-training .pth file (read with "
                              "weights_only=True); raw records are then tokenized as for the released "
                              "model (QRSTokenizer.official) unless --bandpass is given")
    embed.add_argument("--pooling", default="mean", choices=("mean", "lead", "cls"),
                       help="how the encoder's tokens become one vector (default mean)")
    embed.add_argument("--window-pooling", default="mean", choices=("mean", "max", "none"),
                       help="sentences cut from windows (--window, or 'tokenize --window'): pool "
                            "each record's window embeddings into one row (mean or max), or keep "
                            "one row per window, named RECORD@STARTs (none) (default mean)")
    embed.add_argument("--device", default="auto", help="auto, cpu, cuda, ... (default auto)")
    _add_trust_pickle(embed)
    embed.set_defaults(run=_embed)


def _embed(args):
    from ..models.heartlang.embedder import HeartLangEmbedder
    from ..io.artifacts import check_embeddings_path, save_embeddings
    from ..io.records import read_records
    from ..io.store import HEADER_FILE

    start = time.perf_counter()
    verbose = _verbose(args)
    check_embeddings_path(args.out)  # before any work
    _check_writable(Path(args.out).parent, "--out")
    _setup_torch(args)
    official = args.official_checkpoint is not None
    pretrainer = (_load_official(args.official_checkpoint, args.device) if official
                  else _load_pretrainer(args.pretrainer, args.trust_pickle, args.device))
    source = Path(args.input)
    if source.is_file() and source.suffix.lower() not in (".joblib", ".npy"):
        raise ValueError(f"{source}: expected a sentences/ folder, a folder of WFDB records or a .npy "
                         f"array, got a {source.suffix or 'plain'} file")
    if source.suffix.lower() == ".joblib" or (source / HEADER_FILE).is_file():
        sentences = _load_sentences(source, args.trust_pickle)  # a store from 'tokenize' (or a pickle)
        names = _record_names(source, len(sentences))
    else:
        if args.window is not None:  # records of any length, one sentence per window
            windows = _read_windows(source, args, verbose)
            X, rate, names = windows.signals, windows.sampling_rate, _window_names(windows)
        else:
            X, rate, names = read_records(source, args.sampling_rate, args.max_records, verbose)
        _check_finite(X, names)
        tokenizer = _tokenizer(rate, args, verbose, args.bandpass)
        trained_with = getattr(pretrainer, "preprocessing_", None)
        if official and args.bandpass is None:
            from ..preprocessing.tokenizer import QRSTokenizer

            tokenizer = QRSTokenizer.official(rate, normalize=tokenizer.normalize, verbose=verbose)
        elif trained_with is not None and args.bandpass is None and args.normalize is None:
            from ..preprocessing.settings import tokenizer_for

            tokenizer = tokenizer_for(trained_with, rate).set_params(verbose=verbose)
            _stage(f"      tokenizing with the pretrainer's settings: bandpass={tokenizer.bandpass}, "
                   f"normalize={tokenizer.normalize}, truncation={tokenizer.truncation!r}", start)
        sentences = tokenizer.fit_transform(X)
        if args.window is not None:
            sentences = windows.mark(sentences)
    embedder = HeartLangEmbedder(pretrainer, pooling=args.pooling, device=args.device)
    embedder.fit(sentences)
    Z = _in_chunks(embedder.transform, sentences, "embed", verbose)
    if getattr(sentences, "record_ids", None) is not None:
        if args.window_pooling == "none":
            names = _window_names(sentences)
        else:
            from ..preprocessing.record_windows import pool_windows

            n_windows = len(Z)
            Z, names = pool_windows(Z, sentences.record_ids, how=args.window_pooling)
            names = [str(name) for name in names]
            print(f"pooled {n_windows} window embeddings into {len(names)} records "
                  f"({args.window_pooling})")
    path = save_embeddings(Z, args.out, index=names, columns=embedder.get_feature_names_out())
    _stage(f"wrote {Z.shape[0]} x {Z.shape[1]} embeddings to {path}", start)
    return 0

