"""What every neural estimator of every model family shares.

:class:`NeuralEstimator` holds the parts that the vocabulary, the pre-trainer, the classifier (and
the families after them) would otherwise each repeat: the declared parameter checks, the seed, the
default callbacks (warm-up + cosine schedule, gradient clipping, per-epoch loss terms, progress bar,
per-epoch checkpoints), building the skorch net (on one device, or on several through an
``accelerate.Accelerator``), training it with a resumable checkpoint that only resumes the same run,
``is_fitted``, and cloning that keeps fitted sub-models (a frozen vocabulary or pre-trained encoder)
instead of refitting them. A family adds its network, its inputs and its fitted attributes.

The fit skeleton a subclass writes::

    self._check_params()
    sentences = check_sentences(self, X, reset=True)
    seed = self._seed()
    self._fit_module(Objective, module_params, sentences, dataset, seed, validation)
    ...  # fitted attributes from self.net_

A fitted estimator keeps what inference needs: ``_fit_module`` ends by dropping the optimizer's
state and the modules' training-only buffers (:mod:`heartlang_sk.training.inference_state`), and
fitted attributes that are views of the net (``_net_views``) are pickled once, inside the net. To
resume a run exactly, use ``checkpoint_dir``; training a fitted net further (``net_.partial_fit``,
``init_from``) restarts the optimizer.
"""

from __future__ import annotations

import inspect

import torch
from sklearn.base import BaseEstimator, clone
from skorch.callbacks import Checkpoint, GradientNormClipping, PassthroughScoring, ProgressBar

from .._param_validation import Boolean, Estimator, Integer, Options, PathLike, RandomState, Real, validate_params
from ..io.model_files import load_model, register_model_class, save_model
from ..training.checkpoints import check_resumable, run_fingerprint, write_run_file
from ..training.inference_state import drop_training_state
from ..training.net import WarmupCosine, fit_net, history_frame, make_net, resolve_device, torch_seed

__all__ = ["NeuralEstimator", "is_fitted", "share_fitted_params"]


class _Device(Options):
    """``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a :class:`torch.device`."""

    def __init__(self):
        super().__init__("auto", "cpu", "cuda", "mps")

    def is_satisfied_by(self, value):
        return (isinstance(value, torch.device) or super().is_satisfied_by(value)
                or isinstance(value, str) and value.startswith("cuda:") and value[5:].isdigit())

    def describe(self):
        return "'auto', 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device"


def is_fitted(estimator):
    """True when ``estimator`` has been fitted (scikit-learn's check, without raising)."""
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except Exception:  # NotFittedError, or an estimator without fitted attributes yet
        return False
    return True


def share_fitted_params(estimator, names):
    """A clone of ``estimator`` that shares the *fitted* estimators among parameters ``names``.

    ``clone`` would replace a fitted vocabulary or pre-trained encoder by an unfitted copy, so that
    ``cross_val_score`` or ``GridSearchCV`` would refit (or fail on) the model a user meant to start
    from. These sub-models are read, never changed, by the estimator's fit, so sharing them is safe.
    """
    params = estimator.get_params(deep=False)
    return type(estimator)(**{name: value if name in names and value is not None and is_fitted(value)
                              else clone(value, safe=False) for name, value in params.items()})


class NeuralEstimator(BaseEstimator):
    """Base of the estimators that train a torch network through skorch (not public).

    Subclasses declare ``_parameter_constraints`` (extending :attr:`COMMON_CONSTRAINTS`), the loss
    terms their network returns (``_logged_terms``: ``(name, lower_is_better)``), the optimiser's
    betas and the parameters holding fitted sub-models that clones share (``_frozen_params``).
    """

    #: Constraints of the training parameters every neural estimator has.
    COMMON_CONSTRAINTS = {
        "max_epochs": Integer(0),
        "batch_size": Integer(1),
        "lr": Real(0, None, closed="neither"),
        "min_lr": Real(0),
        "weight_decay": Real(0),
        "warmup_epochs": Real(0),
        "gradient_clip": (Real(0, None, closed="neither"), None),
        "valid_fraction": Real(0, 1, closed="left"),
        "checkpoint_dir": (PathLike(), None),
        "resume": Boolean(),
        "device": _Device(),
        "precision": Options("auto", "bf16", "fp16", "fp32"),
        "random_state": RandomState(),
        "verbose": (Boolean(), Integer(0)),
        "accelerator": (Estimator("Accelerator"), None),
    }
    _parameter_constraints = COMMON_CONSTRAINTS
    _logged_terms = ()
    _optimizer_betas = (0.9, 0.999)
    _frozen_params = ()
    #: Fitted attributes that are views of ``net_`` (e.g. its encoder): left out of pickles, where
    #: the net holds them already, and set again by :meth:`_restore_derived` on load.
    _net_views = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register_model_class(cls)  # allowed in model files (heartlang_sk.io.model_files)

    # -- scikit-learn protocol ---------------------------------------------------------------------
    def __sklearn_clone__(self):
        return share_fitted_params(self, self._frozen_params)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def __setstate__(self, state):
        # A model saved before a parameter existed loads with that parameter's default.
        for name, parameter in inspect.signature(type(self).__init__).parameters.items():
            if name != "self" and parameter.default is not inspect.Parameter.empty:
                state.setdefault(name, parameter.default)
        super().__setstate__(state)
        if "net_" in self.__dict__ and not all(name in self.__dict__ for name in self._net_views):
            self._restore_derived()

    def __getstate__(self):
        state = dict(super().__getstate__())  # object.__getstate__ gives __dict__ itself
        if "net_" in state:
            for name in self._net_views:
                state.pop(name, None)
        return state

    # -- files that load no code ------------------------------------------------------------------
    def save_weights(self, path):
        """Write the fitted model to a ``.safetensors`` file that loads without running any code.

        The file holds the network weights and fitted arrays as tensors and the parameters as JSON
        (see :mod:`heartlang_sk.io.model_files`), not the optimiser state. Read it back with
        :meth:`load_weights`; ``joblib`` stays available for trusted files of your own.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        save_model(self, path)

    @classmethod
    def load_weights(cls, path, device="auto"):
        """Rebuild a fitted model from :meth:`save_weights`; a file of another kind raises ``ValueError``."""
        return load_model(path, device=device, expected=cls)

    def _restore_derived(self):
        """Set fitted attributes that are views into ``net_`` (``_net_views``): after fit, after
        unpickling, after loading a model file."""

    # -- the fit skeleton --------------------------------------------------------------------------
    def _check_params(self):
        """Check every parameter against ``_parameter_constraints``; subclasses add cross-checks."""
        validate_params(self)

    def _seed(self):
        """One seed from ``random_state`` for torch's global generator and the batch shuffling."""
        seed = torch_seed(self.random_state)
        torch.manual_seed(seed)
        return seed

    def _extra_callbacks(self):
        """Callbacks of this estimator beyond the defaults (e.g. codebook monitoring)."""
        return []

    def _callbacks(self, validation):
        callbacks = [*self._extra_callbacks(), WarmupCosine(self.warmup_epochs, self.min_lr)]
        for term, lower_is_better in self._logged_terms:
            callbacks.append(PassthroughScoring(f"train_{term}", lower_is_better=lower_is_better, on_train=True))
            if validation is not None:
                callbacks.append(PassthroughScoring(f"valid_{term}", lower_is_better=lower_is_better))
        if self.gradient_clip:
            callbacks.append(GradientNormClipping(self.gradient_clip))
        if self.verbose:
            callbacks.append(ProgressBar())
        if self.checkpoint_dir is not None:
            # Every epoch, so that an interrupted fit resumes where it stopped.
            callbacks.append(Checkpoint(dirname=str(self.checkpoint_dir), monitor=None, f_criterion=None))
        return callbacks

    def _make_net(self, module, module_params, seed, validation):
        """The skorch net: AdamW, the default callbacks, ``device``/``precision``/``accelerator``."""
        return make_net(
            module, **{f"module__{k}": v for k, v in module_params.items()}, accelerator=self.accelerator,
            optimizer=torch.optim.AdamW, optimizer__betas=self._optimizer_betas,
            optimizer__weight_decay=self.weight_decay, lr=self.lr, max_epochs=self.max_epochs,
            batch_size=self.batch_size, train_split=validation, callbacks=self._callbacks(validation),
            iterator_train__shuffle=True, iterator_train__generator=torch.Generator().manual_seed(seed),
            device=resolve_device(self.device), precision=self.precision, verbose=int(self.verbose))

    def _fit_module(self, module, module_params, sentences, dataset, seed, validation=None, initial_state=None,
                    targets=None):
        """Build ``self.net_`` and train it for ``max_epochs`` (resuming a matching checkpoint).

        ``initial_state(module)`` warm-starts the freshly built module (not called on resume);
        ``targets`` (labels) join the run's fingerprint. Sets ``net_`` and ``history_``.
        """
        self.net_ = self._make_net(module, module_params, seed, validation)
        resume = False
        if self.checkpoint_dir is not None:
            fingerprint = run_fingerprint(self, sentences, targets)
            resume = check_resumable(self.checkpoint_dir, fingerprint, self.resume)
            write_run_file(self.checkpoint_dir, fingerprint)
        # check_resumable has cleared a folder it should not resume from, so fit_net's resume
        # finds only a checkpoint of this very run.
        net = fit_net(self.net_, dataset, self.checkpoint_dir, resume, initial_state)
        self.history_ = history_frame(net)
        drop_training_state(net)
        return net
