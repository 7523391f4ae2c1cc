"""Named pre-training recipes: the paper's objective, and the one this toolkit recommends.

Contract: :data:`PRETRAINING_RECIPES` maps a recipe name to ``HeartLangPretrainer`` parameters (and
nothing else), so that ``HeartLangPretrainer(vocabulary, **PRETRAINING_RECIPES[name])`` is an
ordinary estimator that ``clone``, ``GridSearchCV`` and joblib treat like any other.

- ``"paper"`` — HeartLang as published (the estimator's defaults): whole-second time index, masked
  words only.
- ``"rhythm"`` — beyond the paper, measured in ``benchmarks/results/pretraining_ablation_issue13.md``
  (ptbxl-2k fold 9, tiny encoder, 3 pre-training seeds against 5 random-initialised encoders of the
  same architecture): each beat's R-peak time and RR intervals embedded, each masked beat's RR
  intervals and samples as targets beside its word. It adds 6.8 / 5.2 AUC points on PTB-XL rhythm at
  10 % / 100 % labels over the random encoder where the paper's objective loses 4.1 / 1.3, and
  leaves PTB-XL super where the paper's objective leaves it (within a point of the random encoder).
  ``heartlang-sk demo`` and ``pretrain`` use it unless given ``--recipe paper``. Needs
  ``architecture="heartlang"`` (the released architecture reads whole seconds only).
"""

__all__ = ["PRETRAINING_RECIPES"]

#: Recipe name -> ``HeartLangPretrainer`` parameters (see the module docstring).
PRETRAINING_RECIPES = {
    "paper": {"temporal_encoding": "second", "rhythm_target": "none", "waveform_weight": 0.0},
    "rhythm": {"temporal_encoding": "rhythm", "rhythm_target": "beat", "waveform_weight": 1.0},
}
