"""``heartlang-sk vocabulary`` and ``heartlang-sk pretrain``: fit the ECG vocabulary or the masked-sentence
pre-trainer on saved sentences; save the model, its history CSV and pictures.

The helpers that build the estimators from the options serve the ``demo`` too."""

from __future__ import annotations

import time

from ._common import (_apply_params, _folder, _load_sentences, _load_vocabulary,
                      _pretraining_pictures, _setup_torch, _stage, _verbose, _vocabulary_pictures,
                      _write_csv)
from ._options import _add_fit_inputs, _add_recipe


def add_parsers(commands, output, training):
    """Add the ``vocabulary`` and ``pretrain`` subcommands."""
    vocabulary = commands.add_parser(
        "vocabulary", parents=[output, training], help="learn the ECG vocabulary",
        description="Fit an ECGVocabulary on saved sentences; save it with its history and "
                    "pictures (reconstructions, top words, vocabulary map, training curves).")
    _add_fit_inputs(vocabulary, "ECGVocabulary", "encoder_depth=2")
    vocabulary.add_argument("--n-words", type=int, default=None,
                            help="vocabulary size (default: the estimator's, 8192)")
    vocabulary.add_argument("--word-dim", type=int, default=None,
                            help="word vector dimension (default: the estimator's, 128)")
    vocabulary.add_argument("--map", default="pca", choices=("pca", "tsne"),
                            help="2-D projection of the vocabulary map (default pca)")
    vocabulary.set_defaults(run=_vocabulary)

    pretrain = commands.add_parser(
        "pretrain", parents=[output, training], help="masked-sentence pre-training",
        description="Fit a HeartLangPretrainer on saved sentences with a saved vocabulary; save "
                    "it with its history and training curves.")
    _add_fit_inputs(pretrain, "HeartLangPretrainer", "mask_ratio=0.4")
    _add_recipe(pretrain)
    pretrain.add_argument("--vocabulary", required=True,
                          help="vocabulary.safetensors from 'heartlang-sk vocabulary'")
    pretrain.add_argument("--depth", type=int, default=None,
                          help="transformer blocks (default: the size's depth)")
    pretrain.set_defaults(run=_pretrain)


def _new_vocabulary(args, verbose, **params):
    """An unfitted ECGVocabulary from the options (``None`` keeps the estimator's default)."""
    from ..models.heartlang.vocabulary import ECGVocabulary

    vocabulary = ECGVocabulary(args.size, device=args.device, random_state=args.seed,
                               verbose=verbose, **{k: v for k, v in params.items() if v is not None})
    return _apply_params(vocabulary, getattr(args, "param", None))


def _new_pretrainer(vocabulary, args, verbose, **params):
    """An unfitted HeartLangPretrainer from the options: ``--recipe``'s parameters, ``params``
    (``None`` keeps the default), then ``--param`` overrides."""
    from ..models.heartlang.pretrainer import HeartLangPretrainer

    from ..models.heartlang.recipes import PRETRAINING_RECIPES

    recipe = PRETRAINING_RECIPES[getattr(args, "recipe", "paper")]
    pretrainer = HeartLangPretrainer(vocabulary, args.size, device=args.device,
                                     random_state=args.seed, verbose=verbose, **recipe,
                                     **{k: v for k, v in params.items() if v is not None})
    return _apply_params(pretrainer, getattr(args, "param", None))


def _vocabulary_summary(vocabulary):
    line = (f"{vocabulary.n_active_words_} of {vocabulary.codebook_.shape[0]} words in use, "
            f"perplexity {vocabulary.perplexity_:.0f}")
    if "train_r2" in vocabulary.history_:
        line = f"reconstruction R2 {vocabulary.history_['train_r2'].iloc[-1]:.3f}, " + line
    return line


def _pretrainer_summary(pretrainer):
    last = pretrainer.history_.iloc[-1]
    return f"masked-word accuracy {last.train_masked_accuracy:.3f}, loss {last.train_loss:.3f}"


def _fit_and_save(args, estimator, sentences, *, doing, model_file, history_file, title, draw,
                  summary, start):
    """The tail shared by ``vocabulary`` and ``pretrain``: fit, write the model, its history CSV and
    a report (``draw(report)`` adds the pictures), print ``summary()`` (unless empty) and the
    stage's time."""
    from ..report import Report

    print(f"{doing} on {sentences}")
    estimator.fit(sentences)
    out = _folder(args.out)
    estimator.save_weights(out / model_file)  # a model file that loads no code (atomic write)
    _write_csv(estimator.history_, out / history_file)
    report = Report(out, title)
    draw(report)
    line = summary()
    if line:
        print(line)
    _stage(f"wrote {model_file}, {history_file} and {len(report.figures)} PNG(s) to {out}/", start)
    return 0


def _vocabulary(args):
    start = time.perf_counter()
    verbose = _verbose(args)
    _setup_torch(args)
    _folder(args.out, create=False)
    sentences = _load_sentences(args.sentences, args.trust_pickle)
    vocabulary = _new_vocabulary(args, verbose, n_words=args.n_words, word_dim=args.word_dim,
                                 max_epochs=args.epochs)
    return _fit_and_save(args, vocabulary, sentences, doing="fitting the ECG vocabulary",
                         model_file="vocabulary.safetensors", history_file="vocabulary_history.csv",
                         title="ECG vocabulary", start=start,
                         draw=lambda report: _vocabulary_pictures(report, vocabulary, sentences,
                                                                  map_method=args.map),
                         summary=lambda: _vocabulary_summary(vocabulary))


def _pretrain(args):
    start = time.perf_counter()
    verbose = _verbose(args)
    _setup_torch(args)
    _folder(args.out, create=False)
    sentences = _load_sentences(args.sentences, args.trust_pickle)
    vocabulary = _load_vocabulary(args.vocabulary, args.trust_pickle, args.device)
    pretrainer = _new_pretrainer(vocabulary, args, verbose, depth=args.depth,
                                 max_epochs=args.epochs)
    return _fit_and_save(args, pretrainer, sentences, doing="pre-training",
                         model_file="pretrainer.safetensors", history_file="pretraining_history.csv",
                         title="pre-training", start=start,
                         draw=lambda report: _pretraining_pictures(report, pretrainer),
                         summary=lambda: (None if pretrainer.history_.empty
                                          else _pretrainer_summary(pretrainer)))

