"""Old module paths of the flat first layout, still importable.

Models saved with joblib before the move to subpackages name their classes by the old paths
(``heartlang_sk.vocabulary.ECGVocabulary``, ``heartlang_sk.nn.ecgformer.ECGFormer``, ...), and so may
users' imports. A finder on ``sys.meta_path`` answers an old path with the module that now holds the
code: the same module object, imported on first use, so there is one class per name and old pickles
load as instances of today's classes.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: Old module path -> the module that holds its code now.
MOVED_MODULES = {
    f"heartlang_sk.{old}": f"heartlang_sk.{new}"
    for old, new in {
        "_qrs": "preprocessing.qrs",
        "_segmentation": "preprocessing._segmentation",
        "_signals": "preprocessing._signals",
        "tokenizer": "preprocessing.tokenizer",
        "window_tokenizer": "preprocessing.window_tokenizer",
        "_inputs": "_validation",
        "store": "io.store",
        "features": "baselines.features",
        "callbacks": "training.callbacks",
        "distributed": "training.distributed",
        "vocabulary": "models.heartlang.vocabulary",
        "pretrainer": "models.heartlang.pretrainer",
        "embedder": "models.heartlang.embedder",
        "classifier": "models.heartlang.classifier",
        "nn.ecgformer": "models.heartlang.ecgformer",
        "nn.vqhbr": "models.heartlang.vqhbr",
        "nn.heads": "models.heartlang.heads",
        "nn.objectives": "models.heartlang.objectives",
        "models.heartlang.rhythm_objective": "models.heartlang.auxiliary_objective",
        "metrics": "evaluation.metrics",
        "plotting_vocabulary": "plotting.vocabulary",
        "plotting_training": "plotting.training",
        "plotting_evaluation": "plotting.evaluation",
    }.items()
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolve an old module path to the module object at its new path."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module(MOVED_MODULES[spec.name])
        # The import system sets __spec__ on what we return; keep the module's own.
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__.loader_state


def install():
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
