"""The paper's evaluation: PTB-XL splits and few-label regimes (``splits``), linear probes
(``probes``), the protocol that runs them over embedders and baselines (``protocol``), published
numbers (``published``), and metrics (``metrics``)."""

from .metrics import MacroAUC, macro_auc, qrs_detection_scores
from .probes import PROBE_METHODS, LinearProbe, linear_probe
# _Stateless: pickles of embedders saved before the split name it here.
from .protocol import (_Stateless, baseline_embedders, evaluate_baselines, evaluate_embedders,
                       evaluate_embeddings, random_init_encoder, regime_table, regime_test_scores,
                       summarize)
from .published import PUBLISHED, PUBLISHED_FRACTIONS, published_by_regime, published_table
from .splits import few_shot_indices, patient_groups, protocol_split, regime_name

__all__ = ["PROBE_METHODS", "PUBLISHED", "PUBLISHED_FRACTIONS", "LinearProbe", "MacroAUC",
           "baseline_embedders", "evaluate_baselines", "evaluate_embedders", "evaluate_embeddings", "few_shot_indices",
           "linear_probe", "macro_auc", "patient_groups", "protocol_split", "published_by_regime",
           "published_table", "qrs_detection_scores", "random_init_encoder", "regime_name",
           "regime_table", "regime_test_scores", "summarize"]
