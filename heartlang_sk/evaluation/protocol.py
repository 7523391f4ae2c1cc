"""HeartLang's evaluation protocol: linear probes on frozen record embeddings, macro ROC-AUC.

The paper (SPEC section 5) freezes the encoder, fits a linear classifier on the embeddings of
1 %, 10 % or 100 % of the PTB-XL training records, selects it on the validation fold and reports the
macro ROC-AUC on the test fold, for four multi-label tasks. This module runs that protocol for any
embedding (a callable ``X -> Z``), with the splits of :mod:`.splits` and the probes of :mod:`.probes`:

- :func:`evaluate_embeddings` -- the whole protocol: patient-grouped validation split from the
  training folds, regimes x seeds x probes, one tidy row per fit; :func:`summarize` gives mean and
  standard deviation per regime;
- :func:`evaluate_embedders` / :func:`evaluate_baselines` -- several named embeddings (the
  hand-made feature and raw-signal baselines of :func:`baseline_embedders` included) through the
  same protocol, and :func:`random_init_encoder`, the no-pre-training encoder;
- :func:`regime_table` and :func:`regime_test_scores` -- the results per model and regime, and one
  regime's test scores for ROC curves.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import clone

from ._labels import _label_matrix
from .probes import PROBE_METHODS, linear_probe
from .splits import few_shot_indices, protocol_split, regime_name

__all__ = ["baseline_embedders", "evaluate_baselines", "evaluate_embedders", "evaluate_embeddings",
           "random_init_encoder", "regime_table", "regime_test_scores", "summarize"]


def _compute_embeddings(embed, X, rows):
    """Embeddings of ``X[rows]``: ``embed`` is precomputed (array), a transformer or a callable."""
    if isinstance(embed, (np.ndarray, pd.DataFrame)):
        if len(embed) != len(X):
            raise ValueError(f"precomputed embeddings have {len(embed)} rows but X has {len(X)}")
        Z = np.asarray(embed)[rows]
    else:
        in_order = len(rows) == len(X) and np.array_equal(rows, np.arange(len(X)))
        subset = X if in_order else X[rows]
        if hasattr(embed, "transform"):
            Z = embed.transform(subset)
        elif callable(embed):
            Z = embed(subset)
        else:
            raise TypeError(f"embed must be a callable X -> Z, a fitted transformer or an array of "
                            f"embeddings; got {type(embed).__name__}")
        if hasattr(Z, "detach"):  # a torch tensor
            Z = Z.detach().cpu().numpy()
    Z = np.asarray(Z)
    if Z.ndim != 2 or len(Z) != len(rows):
        raise ValueError(f"the embedding must return one vector per record, shape ({len(rows)}, "
                         f"n_dims); got {Z.shape}")
    return Z


def evaluate_embeddings(embed, X, Y, meta, *, train_folds=range(1, 9), test_folds=(9,),
                        fractions=(0.01, 0.1, 1.0), seeds=(0, 1, 2), valid_fraction=0.15,
                        methods=("sklearn",), valid_random_state=0, resplit_valid=False,
                        probe_params=None, task=None, name=None, verbose=False):
    """Run the linear-probe protocol of the paper on one embedding of one task.

    1. The embedding is computed once, for every record of ``train_folds`` and ``test_folds``.
    2. A validation set (about ``valid_fraction`` of the patients) is carved out of the training
       folds with ``GroupShuffleSplit`` on ``patient_id`` (seed ``valid_random_state``;
       :func:`protocol_split`), so no patient is in both; a record without patient id is its own
       group. It is the same for every regime and seed, as the paper's fixed validation fold is
       (``resplit_valid=True`` draws a new one per seed instead).
    3. For each fraction and seed, a training set is drawn from the remaining training records
       with :func:`few_shot_indices` (every class represented where possible).
    4. Each probe in ``methods`` is fitted by :func:`linear_probe`, selected on validation, and
       scored (macro ROC-AUC) on the test folds.

    The scikit-learn probe is deterministic, so a draw that repeats with the same validation set
    (the 100 % regime is the same for every seed) is fitted once and its row repeated.

    Parameters
    ----------
    embed : callable, fitted transformer or array-like
        ``embed(X_subset) -> Z`` of shape (n_records, n_dims); an object with ``transform``
        (e.g. a fitted ``HeartLangEmbedder`` or pipeline) is called as ``embed.transform``; an
        array of shape (len(X), n_dims) is taken as precomputed embeddings.
    X : array-like or ECGSentences
        Records, indexable by an integer array (``X[rows]``).
    Y : DataFrame or array-like of shape (n_records, n_classes)
        0/1 labels of the task, aligned with ``X``.
    meta : DataFrame
        ``strat_fold`` and ``patient_id`` per record, aligned with ``X`` (as returned by
        :func:`heartlang_sk.datasets.load_ptbxl2k`); ``meta.attrs["task"]`` names the task.
    train_folds, test_folds : iterable of int, default=1-8 and (9,)
        ``strat_fold`` values to train on (validation included) and to report on.
    fractions : iterable of float, default=(0.01, 0.1, 1.0)
        Training regimes, as fractions of the training records left after validation.
    seeds : iterable of int, default=(0, 1, 2)
        One draw (and torch initialization) per seed.
    valid_fraction : float, default=0.15
        Fraction of the training patients held out for validation.
    methods : iterable of {"sklearn", "torch"}, default=("sklearn",)
    valid_random_state : int, default=0
        Seed of the validation split.
    resplit_valid : bool, default=False
        Draw a new validation split for every seed (with that seed) instead of one fixed split,
        so the spread over seeds includes the choice of validation patients. On small data sets
        with classes of one or two training records (e.g. rhythm on ``ptbxl-2k``) that choice
        decides whether such a class can be learned at all.
    probe_params : dict, optional
        Extra keyword arguments of :func:`linear_probe` (e.g. ``{"Cs": (0.01, 0.1)}``).
    task : str, optional
        Task name in the results; default ``meta.attrs.get("task")``.
    name : str, optional
        Embedding name in the ``model`` column; default the callable's name.
    verbose : bool, default=False
        Progress bar (tqdm) over the fits.

    Returns
    -------
    DataFrame
        One row per (regime, seed, method): ``model``, ``task``, ``regime``, ``fraction``,
        ``seed``, ``method``, ``test_auc``, ``valid_auc``, ``params``, ``n_train``,
        ``n_train_classes``, ``n_valid``, ``n_test``, ``n_test_classes``, ``n_dims``,
        ``fit_seconds``, ``per_class_auc``. ``attrs["embed_seconds"]`` is the embedding time. The
        split is :func:`protocol_split` with the same arguments (``valid_random_state=seed``
        with ``resplit_valid=True``).

    See Also
    --------
    summarize : mean and standard deviation per regime.
    evaluate_embedders : several embeddings through the same protocol.

    Examples
    --------
    A toy protocol on synthetic records (folds and patients made up), the heart-rate feature
    baseline on a one-class-per-record task:

    >>> import numpy as np, pandas as pd
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.evaluation import evaluate_embeddings, summarize
    >>> from heartlang_sk.baselines.features import ECGFeatures
    >>> X, y = make_ecg(120, classes=["normal", "brady", "tachy"], random_state=0)
    >>> Y = pd.get_dummies(pd.Series(y)).astype(int)
    >>> meta = pd.DataFrame({"strat_fold": np.arange(120) % 3 + 1, "patient_id": np.arange(120)})
    >>> embed = lambda X: ECGFeatures(sampling_rate=100).fit_transform(X)[:, :21]  # the rhythm features
    >>> results = evaluate_embeddings(embed, X, Y, meta, train_folds=(1, 2), test_folds=(3,),
    ...                               fractions=(0.1, 1.0), seeds=(0, 1), task="rate", name="rr")
    >>> results[["regime", "seed", "n_train"]].values.tolist()
    [['10%', 0, 7], ['10%', 1, 7], ['100%', 0, 68], ['100%', 1, 68]]
    >>> bool(results.query("regime == '100%'")["test_auc"].min() > 0.9)
    True
    >>> summarize(results)[["regime", "n_seeds"]].values.tolist()
    [['10%', 2], ['100%', 2]]
    """
    methods = tuple(methods)
    for method in methods:
        if method not in PROBE_METHODS:
            raise ValueError(f"methods must be among {PROBE_METHODS}, got {method!r}")
    if not len(X) == len(Y) == len(meta):
        raise ValueError(f"X, Y and meta must be aligned: {len(X)}, {len(Y)} and {len(meta)} rows")
    labels = Y if isinstance(Y, pd.DataFrame) else pd.DataFrame(_label_matrix(Y))
    split_seeds = list(seeds) if resplit_valid else [valid_random_state]
    splits = {split_seed: protocol_split(meta, train_folds=train_folds, test_folds=test_folds,
                                         valid_fraction=valid_fraction,
                                         valid_random_state=split_seed)
              for split_seed in split_seeds}

    # Embed every record of the training and test folds once, in record order (a memory map or a
    # sentence store reads sequentially); the splits pick their rows from it.
    pool_rows, valid_rows, test_rows = splits[split_seeds[0]]
    rows = np.union1d(np.union1d(pool_rows, valid_rows), test_rows)
    start = time.perf_counter()
    Z = _compute_embeddings(embed, X, rows)
    embed_seconds = time.perf_counter() - start

    task = task if task is not None else meta.attrs.get("task")
    name = name if name is not None else getattr(embed, "__name__", type(embed).__name__)
    probe_params = dict(probe_params or {})
    jobs = [(fraction, seed, method) for fraction in fractions for seed in seeds
            for method in methods]
    if verbose:
        from tqdm.auto import tqdm
        jobs = tqdm(jobs, desc=f"{name} {task or ''}".strip(), unit="fit")
    done = {}
    records = []
    for fraction, seed, method in jobs:
        pool_rows, valid_rows, test_rows = splits[seed if resplit_valid else valid_random_state]
        Y_pool = labels.iloc[pool_rows]
        draw = pool_rows[few_shot_indices(Y_pool, fraction, random_state=seed)]
        # The scikit-learn probe is deterministic: a repeated (draw, validation) pair is fitted once.
        key = ((method, draw.tobytes(), valid_rows.tobytes()) if method == "sklearn" else None)
        if key is not None and key in done:
            result = done[key]
        else:
            Z_train, Z_valid, Z_test = (Z[np.searchsorted(rows, part)]
                                        for part in (draw, valid_rows, test_rows))
            result = linear_probe(Z_train, labels.iloc[draw], Z_valid, labels.iloc[valid_rows],
                                  Z_test, labels.iloc[test_rows], method=method,
                                  random_state=seed, **probe_params)
            if key is not None:
                done[key] = result
        records.append({
            "model": name, "task": task, "regime": regime_name(fraction), "fraction": fraction,
            "seed": seed, "method": method, "test_auc": result["test_auc"],
            "valid_auc": result["valid_auc"], "params": result["params"],
            "n_train": result["n_train"], "n_train_classes": result["n_train_classes"],
            "n_valid": len(valid_rows), "n_test": len(test_rows),
            "n_test_classes": len(result["test_classes"]), "n_dims": Z.shape[1],
            "fit_seconds": result["fit_seconds"], "per_class_auc": result["per_class_auc"],
        })
    results = pd.DataFrame.from_records(records)
    results.attrs["embed_seconds"] = embed_seconds
    return results


def summarize(results, by=("model", "task", "method", "regime")):
    """Mean and standard deviation over seeds of the results of :func:`evaluate_embeddings`.

    Parameters
    ----------
    results : DataFrame
        Rows of :func:`evaluate_embeddings` (or several concatenated).
    by : sequence of str, default=("model", "task", "method", "regime")
        Grouping columns (those absent from ``results`` are skipped).

    Returns
    -------
    DataFrame
        One row per group, regimes in increasing fraction: ``test_auc_mean``, ``test_auc_std``
        (sample standard deviation, 0 for one seed), ``valid_auc_mean``, ``n_train`` (mean),
        ``n_seeds``, and ``test_auc``: ``"mean ± std"`` in percent, as the paper reports it.

    Examples
    --------
    >>> import pandas as pd
    >>> from heartlang_sk.evaluation import summarize
    >>> results = pd.DataFrame({"model": "m", "task": "t", "method": "sklearn", "regime": "1%",
    ...                         "fraction": 0.01, "seed": [0, 1], "test_auc": [0.80, 0.84],
    ...                         "valid_auc": [0.8, 0.8], "n_train": [10, 10]})
    >>> summarize(results)["test_auc"].tolist()
    ['82.00 ± 2.83']
    """
    by = [column for column in by if column in results]
    grouped = results.groupby(by, sort=False)
    summary = grouped.agg(
        fraction=("fraction", "first"), test_auc_mean=("test_auc", "mean"),
        test_auc_std=("test_auc", "std"), valid_auc_mean=("valid_auc", "mean"),
        n_train=("n_train", "mean"), n_seeds=("test_auc", "size"),
    ).reset_index()
    summary["test_auc_std"] = summary["test_auc_std"].fillna(0.0)
    summary["test_auc"] = [f"{100 * m:.2f} ± {100 * s:.2f}"
                           for m, s in zip(summary["test_auc_mean"], summary["test_auc_std"])]
    order = [column for column in by if column != "regime"] + ["fraction"]
    return summary.sort_values(order, kind="stable").reset_index(drop=True)


def evaluate_embedders(embedders, X, Y, meta, **protocol):
    """Run :func:`evaluate_embeddings` for each named embedding and stack the results.

    Parameters
    ----------
    embedders : mapping of str to embed
        Name -> embedding (a callable ``X -> Z``, a fitted transformer or precomputed array; see
        :func:`evaluate_embeddings`). HeartLang, random-init and fixed-window embedders plug in
        here beside the baselines of :func:`baseline_embedders`.
    X, Y, meta
        As for :func:`evaluate_embeddings`.
    **protocol
        Keyword arguments of :func:`evaluate_embeddings` (folds, fractions, seeds, methods, ...).

    Returns
    -------
    DataFrame
        The concatenated rows, ``model`` being the name. ``attrs["embed_seconds"]`` maps each name
        to its embedding time.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.evaluation import baseline_embedders, evaluate_embedders
    >>> X, y = make_ecg(90, classes=["normal", "afib", "wide_qrs"], random_state=0)
    >>> Y = pd.get_dummies(pd.Series(y)).astype(int)
    >>> meta = pd.DataFrame({"strat_fold": np.arange(90) % 3 + 1, "patient_id": np.arange(90)})
    >>> results = evaluate_embedders(baseline_embedders(), X, Y, meta, train_folds=(1, 2),
    ...                              test_folds=(3,), fractions=(1.0,), seeds=(0,))
    >>> results["model"].tolist()
    ['features', 'raw']
    >>> bool(results.set_index("model").loc["features", "test_auc"] > 0.9)
    True
    """
    if not isinstance(embedders, Mapping) or not embedders:
        raise ValueError("embedders must be a non-empty mapping name -> embed")
    if "name" in protocol:
        raise TypeError("evaluate_embedders names each run by its key in embedders; drop 'name'")
    parts, seconds = [], {}
    for name, embed in embedders.items():
        part = evaluate_embeddings(embed, X, Y, meta, name=name, **protocol)
        seconds[name] = part.attrs["embed_seconds"]
        parts.append(part)
    results = pd.concat(parts, ignore_index=True)
    results.attrs["embed_seconds"] = seconds
    return results


class _Stateless:
    """A stateless transformer as an embedding callable: ``clone(t).fit_transform(X)``.

    Fitting on the records being embedded is only sound because the transformer learns nothing
    from them (it records the input shape); do not wrap a transformer that learns.
    """

    def __init__(self, transformer):
        self.transformer = transformer

    def __call__(self, X):
        return clone(self.transformer).fit_transform(X)

    def __repr__(self):
        return f"_Stateless({self.transformer!r})"


def baseline_embedders(names=("features", "raw"), *, sampling_rate=100, downsample=10):
    """The non-learned baselines as embedding callables for :func:`evaluate_embedders`.

    - ``"features"``: :class:`heartlang_sk.baselines.features.ECGFeatures` (rhythm, amplitude and spectrum
      features, about 370 per 12-lead record);
    - ``"raw"``: :class:`heartlang_sk.baselines.features.RawSignal` (the signal averaged over
      ``downsample`` samples and flattened).

    Both transformers are stateless, so each callable fits and transforms the records it gets.

    Parameters
    ----------
    names : iterable of {"features", "raw"}, default=("features", "raw")
    sampling_rate : float, default=100
        Sampling rate of the records (``ECGFeatures`` resamples to 100 Hz).
    downsample : int, default=10
        Window of ``RawSignal``.

    Returns
    -------
    dict
        Name -> callable ``X -> Z``.
    """
    from ..baselines.features import ECGFeatures, RawSignal

    available = {
        "features": lambda: ECGFeatures(sampling_rate=sampling_rate),
        "raw": lambda: RawSignal(sampling_rate=sampling_rate,
                                 target_rate=sampling_rate / downsample),
    }
    names = list(names)
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}; available: {sorted(available)}")
    return {name: _Stateless(available[name]()) for name in names}


def evaluate_baselines(X, Y, meta, names=("features", "raw"), *, sampling_rate=100,
                       downsample=10, extra=None, **protocol):
    """Run the named baselines (and any ``extra`` embedders) through the linear-probe protocol.

    Parameters
    ----------
    X, Y, meta
        As for :func:`evaluate_embeddings`.
    names : iterable of {"features", "raw"}, default=("features", "raw")
        Baselines of :func:`baseline_embedders`.
    sampling_rate, downsample
        Passed to :func:`baseline_embedders`.
    extra : mapping of str to embed, optional
        More named embeddings evaluated after the baselines, with the same protocol and probe.
    **protocol
        Keyword arguments of :func:`evaluate_embeddings`.

    Returns
    -------
    DataFrame
        As :func:`evaluate_embedders`.
    """
    embedders = baseline_embedders(names, sampling_rate=sampling_rate, downsample=downsample)
    for name, embed in (extra or {}).items():
        if name in embedders:
            raise ValueError(f"extra embedder name {name!r} clashes with a baseline")
        embedders[name] = embed
    return evaluate_embedders(embedders, X, Y, meta, **protocol)


def regime_table(results, models=None, methods=None, fractions=None):
    """The results of :func:`evaluate_embedders` as one row per model (and probe), one column per
    regime, each cell the ``"mean ± std"`` of :func:`summarize`.

    Parameters
    ----------
    results : DataFrame
        Rows of :func:`evaluate_embeddings` or :func:`evaluate_embedders`.
    models : sequence of str, optional
        Models, in the order of the rows; default their order of appearance in ``results``.
    methods : sequence of str, optional
        Probes; default their order of appearance. With more than one, each row's model is named
        ``"model (probe)"``.
    fractions : sequence of float, optional
        Regimes, in the order of the columns; default the fractions in ``results``, increasing.

    Returns
    -------
    DataFrame
        Column ``model``, then ``"<regime> macro AUC (%)"`` per regime; an empty string where a
        model has no result for a regime.

    Examples
    --------
    >>> import pandas as pd
    >>> from heartlang_sk.evaluation import regime_table
    >>> results = pd.DataFrame({"model": ["b", "b", "a", "a"], "task": "t", "method": "sklearn",
    ...                         "regime": ["1%", "100%"] * 2, "fraction": [0.01, 1.0] * 2,
    ...                         "seed": 0, "test_auc": [0.7, 0.8, 0.6, 0.9],
    ...                         "valid_auc": 0.5, "n_train": 1})
    >>> regime_table(results).values.tolist()
    [['b', '70.00 ± 0.00', '80.00 ± 0.00'], ['a', '60.00 ± 0.00', '90.00 ± 0.00']]
    """
    summary = summarize(results)
    models = list(dict.fromkeys(results["model"])) if models is None else list(models)
    methods = list(dict.fromkeys(results["method"])) if methods is None else list(methods)
    fractions = sorted(set(results["fraction"])) if fractions is None else list(fractions)
    regimes = [regime_name(f) for f in fractions]
    rows = []
    for model in models:
        for probe in methods:
            cells = summary[(summary["model"] == model) & (summary["method"] == probe)]
            cells = cells.set_index("regime")["test_auc"]
            row = {"model": f"{model} ({probe})" if len(methods) > 1 else model}
            row.update({f"{regime} macro AUC (%)": cells.get(regime, "") for regime in regimes})
            rows.append(row)
    return pd.DataFrame(rows)


def regime_test_scores(embeddings, Y, meta, *, train_folds=range(1, 9), test_folds=(9,),
                       fraction=1.0, seed=0, method="sklearn"):
    """Re-fit one regime's probe on each embedding and score every test record, for ROC curves.

    The draw, validation split and probe are those of :func:`evaluate_embeddings` for this
    ``fraction`` and ``seed`` (fixed validation split), so the per-class AUCs are that run's.

    Parameters
    ----------
    embeddings : mapping of str to array-like of shape (n_records, n_dims)
        Precomputed embeddings of every record, aligned with ``Y`` and ``meta``.
    Y : DataFrame or array-like of shape (n_records, n_classes)
        0/1 labels.
    meta : DataFrame
        ``strat_fold`` and ``patient_id`` per record.
    train_folds, test_folds : iterable of int, default=1-8 and (9,)
    fraction : float, default=1.0
        The regime.
    seed : int, default=0
        The draw (and the torch probe's initialization).
    method : {"sklearn", "torch"}, default="sklearn"

    Returns
    -------
    Y_test : DataFrame
        The labels of the test records.
    scores : dict
        Name -> scores of shape (n_test, n_classes): probabilities (``"sklearn"``) or logits
        (``"torch"``).
    per_class : DataFrame
        One row per embedding (column ``model``), the test ROC-AUC per class.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from heartlang_sk.evaluation import regime_test_scores
    >>> rng = np.random.default_rng(0)
    >>> Z = rng.normal(size=(90, 3))
    >>> Y = pd.DataFrame({"a": (Z[:, 0] > 0).astype(int), "b": (Z[:, 1] > 0).astype(int)})
    >>> meta = pd.DataFrame({"strat_fold": np.arange(90) % 3 + 1, "patient_id": np.arange(90)})
    >>> Y_test, scores, per_class = regime_test_scores({"z": Z}, Y, meta, train_folds=(1, 2),
    ...                                                test_folds=(3,))
    >>> len(Y_test), scores["z"].shape, per_class.columns.tolist()
    (30, (30, 2), ['model', 'a', 'b'])
    """
    labels = Y if isinstance(Y, pd.DataFrame) else pd.DataFrame(_label_matrix(Y))
    pool, valid, test_rows = protocol_split(meta, train_folds=train_folds, test_folds=test_folds)
    draw = pool[few_shot_indices(labels.iloc[pool], fraction, random_state=seed)]
    scores, per_class = {}, {}
    for name, Z in embeddings.items():
        Z = np.asarray(Z)
        result = linear_probe(Z[draw], labels.iloc[draw], Z[valid], labels.iloc[valid],
                              Z[test_rows], labels.iloc[test_rows], method=method,
                              random_state=seed)
        model = result["model"]
        if method == "sklearn":
            scores[name] = model.predict_proba(Z[test_rows])
        else:
            import torch

            with torch.no_grad():
                scores[name] = model(torch.as_tensor(Z[test_rows], dtype=torch.float32)).numpy()
        per_class[name] = result["per_class_auc"]
    per_class = pd.DataFrame(per_class).T.reset_index(names="model")
    return labels.iloc[test_rows], scores, per_class


def random_init_encoder(sentences, *, like=None, size="tiny", random_state=0, device="auto"):
    """The no-pre-training baseline: a HeartLang encoder of the same architecture, never trained.

    Parameters
    ----------
    sentences : ECGSentences
        Records the encoder is built for (``fit`` with ``max_epochs=0`` learns nothing from them).
    like : HeartLangPretrainer, optional
        A pretrainer whose ``size``, ``depth``, ``use_cls`` and ``temporal_encoding`` to copy (a
        rhythm-pre-trained encoder is compared with a random one that embeds the rhythm too);
        default ``size`` only.
    size : str, default="tiny"
        Encoder size when ``like`` is not given.
    random_state : int, default=0
        Seed of the random weights.
    device : str, default="auto"

    Returns
    -------
    HeartLangPretrainer
        Fitted with ``max_epochs=0``: random weights, ready for a ``HeartLangEmbedder``.

    Examples
    --------
    >>> from heartlang_sk import QRSTokenizer
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.evaluation import random_init_encoder
    >>> X, _ = make_ecg(4, random_state=0)
    >>> encoder = random_init_encoder(QRSTokenizer(sampling_rate=500).fit_transform(X), device="cpu")
    >>> encoder.size, len(encoder.history_)
    ('tiny', 0)
    """
    from ..models.heartlang.pretrainer import HeartLangPretrainer

    shape = {} if like is None else {"size": like.size, "depth": like.depth, "use_cls": like.use_cls,
                                     "temporal_encoding": getattr(like, "temporal_encoding", "second")}
    params = {"size": size, **shape}
    return HeartLangPretrainer(max_epochs=0, random_state=random_state, device=device,
                               **params).fit(sentences)
