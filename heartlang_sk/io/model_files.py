"""Model files that load no code: tensors in safetensors, everything else as JSON.

``joblib``/``pickle`` files run whatever code they name when loaded, so a model file from someone else
is a program. A heartlang-sk model file is one ``.safetensors`` file: the tensors (network weights and
fitted arrays) in the safetensors format, which holds only numbers, and a JSON description in its
header: the estimator's class, parameters and fitted attributes, nested models included. Loading
builds the estimator from an allow-list of classes — the package's registered model classes and
torch modules defined in ``heartlang_sk`` — sets the parameters, rebuilds its network and loads the
tensors, strictly: a key or a shape that disagrees with the parameters is an error naming it.

scikit-learn's ``skops.io`` was the other candidate; skops 0.16 cannot even write a fitted
:class:`~heartlang_sk.ECGVocabulary` ("no default __reduce__ due to non-trivial __cinit__" on the
torch objects of the skorch net), so whole pipelines with torch inside are out of its reach.

What a file holds
-----------------
- fitted arrays (``codebook_``, ``classes_`` of numbers, ...) as tensors; strings as JSON lists;
- ``history_`` tables as JSON columns;
- nested estimators (a pre-trainer's vocabulary, an embedder's pre-trainer) described recursively;
- a skorch net as its torch module's class, constructor parameters and ``state_dict`` — not its
  optimiser, which only resuming needs (that is what ``checkpoint_dir`` is for).
"""

from __future__ import annotations

import importlib
import json
import numbers
import os
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_path

__all__ = ["MODEL_FILE_FORMAT", "load_model", "register_model_class", "save_model"]

MODEL_FILE_FORMAT = "heartlang-sk/model"
MODEL_FILE_VERSION = 1
_METADATA_KEY = "heartlang_sk"
#: Parameters that describe one machine's run, not the model: not saved, defaults on load.
_MACHINE_PARAMS = {"accelerator": None, "checkpoint_dir": None}

_MODEL_CLASSES = {}


def register_model_class(cls):
    """Allow ``cls`` in model files (a class decorator; neural estimators register themselves).

    An estimator is saved as its parameters and fitted attributes; any other registered class (a
    fitted text tokenizer, say) as its instance attributes, which must be values a model file holds.
    """
    _MODEL_CLASSES[cls.__name__] = cls
    return cls


class _Writer:
    def __init__(self):
        self.tensors = {}

    def tensor(self, key, value):
        self.tensors[key] = value.detach().cpu().contiguous().clone()
        return {"tensor": key}

    def value(self, value, key):
        """JSON for ``value``; arrays go to the tensor table under ``key``."""
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real):
            return float(value)
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biuf":
                return {"array": self.tensor(key, torch.from_numpy(np.ascontiguousarray(value)))["tensor"],
                        "dtype": value.dtype.str}
            return {"strings": [str(v) for v in value.ravel()], "shape": list(value.shape),
                    "dtype": value.dtype.str if value.dtype.kind == "U" else "object"}
        if torch.is_tensor(value):
            return self.tensor(key, value)
        if isinstance(value, tuple):
            return {"tuple": [self.value(v, f"{key}.{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.value(v, f"{key}.{i}") for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {"dict": {str(k): self.value(v, f"{key}.{k}") for k, v in value.items()}}
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            return {"frame": {str(c): [None if _isnan(v) else v for v in value[c].tolist()] for c in value.columns}}
        if _MODEL_CLASSES.get(type(value).__name__) is type(value):
            if not hasattr(value, "get_params"):  # a registered plain object: its attributes
                return {"object": type(value).__name__,
                        "state": {k: self.value(v, f"{key}.{k}") for k, v in vars(value).items()}}
            return {"estimator": self.estimator(value, key)}
        raise TypeError(f"cannot save {key}: a {type(value).__name__} is not something a model file holds")

    def estimator(self, estimator, prefix):
        name = type(estimator).__name__
        if _MODEL_CLASSES.get(name) is not type(estimator):
            raise TypeError(f"cannot save a {name}: only heartlang-sk models ({', '.join(sorted(_MODEL_CLASSES))})"
                            " have a model file; use joblib for other objects")
        params = {k: None if k in _MACHINE_PARAMS else self.value(v, f"{prefix}.params.{k}")
                  for k, v in estimator.get_params(deep=False).items()}
        description = {"class": name, "params": params, "fitted": {}, "derived": []}
        for attr, value in vars(estimator).items():
            if not attr.endswith("_") or attr.startswith("_"):
                continue
            if attr == "net_":
                description["net"] = self.net(value, f"{prefix}.net_")
            elif isinstance(value, torch.nn.Module):
                description["derived"].append(attr)  # a view into net_, rebuilt on load
            else:
                description["fitted"][attr] = self.value(value, f"{prefix}.{attr}")
        return description

    def net(self, net, prefix):
        module = net.module_
        klass = type(module)
        module_params = {k[len("module__"):]: v for k, v in net.get_params().items()
                         if k.startswith("module__") and "__" not in k[len("module__"):]}
        state = {k: self.tensor(f"{prefix}.state.{k}", v)["tensor"] for k, v in module.state_dict().items()}
        return {"module": f"{klass.__module__}:{klass.__qualname__}",
                "module_params": self.value(module_params, f"{prefix}.module_params"), "state": state}


def _isnan(value):
    return isinstance(value, float) and value != value


def save_model(estimator, path):
    """Write a fitted heartlang-sk estimator to ``path`` (a ``.safetensors`` file), atomically.

    Parameters
    ----------
    estimator : a heartlang-sk model (ECGVocabulary, HeartLangPretrainer, HeartLangClassifier,
        HeartLangEmbedder, ...)
    path : str or Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from heartlang_sk import ECGVocabulary, QRSTokenizer
    >>> from heartlang_sk.datasets import make_ecg
    >>> from heartlang_sk.io.model_files import load_model, save_model
    >>> S = QRSTokenizer(sampling_rate=100).fit_transform(make_ecg(12, random_state=0)[0])
    >>> vocab = ECGVocabulary(n_words=8, word_dim=4, encoder_depth=1, decoder_depth=1, max_epochs=1,
    ...                       random_state=0).fit(S)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "vocabulary.safetensors"
    >>> save_model(vocab, path)
    >>> bool((load_model(path, device="cpu").transform(S) == vocab.transform(S)).all())
    True
    """
    from safetensors.torch import save_file

    writer = _Writer()
    description = writer.estimator(estimator, "model")
    header = {"format": MODEL_FILE_FORMAT, "version": MODEL_FILE_VERSION, "model": description}
    from .. import __version__

    header["heartlang_sk_version"] = __version__
    with atomic_path(path) as temporary:
        save_file(writer.tensors, str(temporary), metadata={_METADATA_KEY: json.dumps(header)})


class _Reader:
    def __init__(self, tensors, path, device):
        self.tensors, self.path, self.device = tensors, path, device

    def fail(self, message):
        raise ValueError(f"{self.path}: {message}")

    def tensor(self, key):
        if key not in self.tensors:
            self.fail(f"tensor {key!r} is missing")
        return self.tensors[key]

    def value(self, value):
        if not isinstance(value, dict):
            return [self.value(v) for v in value] if isinstance(value, list) else value
        if "array" in value:
            return self.tensor(value["array"]).numpy().astype(np.dtype(value["dtype"]), copy=False)
        if "tensor" in value:
            return self.tensor(value["tensor"])
        if "strings" in value:
            return np.array(value["strings"], dtype=np.dtype(value.get("dtype", "object"))).reshape(value["shape"])
        if "tuple" in value:
            return tuple(self.value(v) for v in value["tuple"])
        if "dict" in value:
            return {k: self.value(v) for k, v in value["dict"].items()}
        if "frame" in value:
            import pandas as pd

            return pd.DataFrame(value["frame"])
        if "estimator" in value:
            return self.estimator(value["estimator"])
        if "object" in value:
            cls = _MODEL_CLASSES.get(value["object"])
            if cls is None or hasattr(cls, "get_params"):
                self.fail(f"class {value['object']!r} is not a heartlang-sk model class")
            obj = cls.__new__(cls)
            for attr, item in value["state"].items():
                setattr(obj, attr, self.value(item))
            return obj
        self.fail(f"unknown entry {sorted(value)}")

    def estimator(self, description, expected=None):
        name = description.get("class")
        if name not in _MODEL_CLASSES:
            self.fail(f"class {name!r} is not a heartlang-sk model class")
        cls = _MODEL_CLASSES[name]
        if expected is not None and not issubclass(cls, expected):
            self.fail(f"holds a {name}, not a {expected.__name__}")
        params = {k: self.value(v) for k, v in description["params"].items()}
        if "device" in params and self.device is not None:
            params["device"] = self.device
        try:
            estimator = cls(**params)
        except TypeError as error:
            self.fail(f"parameters do not fit {name}: {error}")
        for attr, value in description["fitted"].items():
            setattr(estimator, attr, self.value(value))
        if "net" in description:
            estimator.net_ = self.net(estimator, description["net"])
        if description["derived"]:
            estimator._restore_derived()
            missing = [a for a in description["derived"] if not hasattr(estimator, a)]
            if missing:
                self.fail(f"{name} could not rebuild {missing}")
        return estimator

    def module_class(self, qualified):
        module_name, _, class_name = qualified.partition(":")
        if not module_name.startswith("heartlang_sk.") or "." in class_name:
            self.fail(f"network class {qualified!r} is not one of heartlang-sk's")
        klass = getattr(importlib.import_module(module_name), class_name, None)
        if not (isinstance(klass, type) and issubclass(klass, torch.nn.Module)):
            self.fail(f"network class {qualified!r} is not one of heartlang-sk's")
        return klass

    def net(self, estimator, description):
        module = self.module_class(description["module"])
        net = estimator._make_net(module, self.value(description["module_params"]), seed=0, validation=None)
        net.initialize()
        state = {k: self.tensor(key) for k, key in description["state"].items()}
        try:
            net.module_.load_state_dict(state, strict=True)
        except RuntimeError as error:
            first = str(error).split("\n\t", 1)[-1].split("\n")[0].strip()
            self.fail(f"its parameters and its tensors disagree ({first})")
        return net


def load_model(path, device="auto", expected=None):
    """Read a model file written by :func:`save_model`; no code in the file is run.

    Parameters
    ----------
    path : str or Path
    device : str or None, default="auto"
        Device of the loaded model (``None`` keeps the saved parameter).
    expected : type, optional
        The class the file must hold (e.g. :class:`~heartlang_sk.HeartLangPretrainer`).

    Raises
    ------
    ValueError
        The file is not a heartlang-sk model file, holds another class than ``expected``, or its
        tensors disagree with its parameters; the message names the file and the first problem.
    """
    from safetensors import SafetensorError, safe_open

    import heartlang_sk  # noqa: F401  (registers the model classes)

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"{path} is not a heartlang-sk model file ({str(error).splitlines()[0]})") from None
    try:
        header = json.loads(metadata[_METADATA_KEY])
    except (KeyError, ValueError):
        raise ValueError(f"{path} is not a heartlang-sk model file (a safetensors file without its "
                         "heartlang-sk description)") from None
    if header.get("format") != MODEL_FILE_FORMAT:
        raise ValueError(f"{path} is not a heartlang-sk model file (format {header.get('format')!r})")
    if header.get("version", 0) > MODEL_FILE_VERSION:
        raise ValueError(f"{path} was written by a newer heartlang-sk ({header.get('heartlang_sk_version')});"
                         " upgrade the package to read it")
    with torch.device("cpu"):
        return _Reader(tensors, path, device).estimator(header["model"], expected)
