"""The paper's evaluation: PTB-XL splits and few-label regimes, linear probes, the protocol that runs
them over embedders and baselines, published numbers, and metrics."""

from .metrics import qrs_detection_scores
from .protocol import (PROBE_METHODS, PUBLISHED, PUBLISHED_FRACTIONS, MacroAUC, _Stateless, baseline_embedders, evaluate_baselines, evaluate_embedders,
                       evaluate_embeddings, few_shot_indices, linear_probe, macro_auc, patient_groups,
                       protocol_split, published_table, regime_name, summarize)

__all__ = ["PROBE_METHODS", "PUBLISHED", "PUBLISHED_FRACTIONS", "MacroAUC", "baseline_embedders", "evaluate_baselines", "evaluate_embedders",
           "evaluate_embeddings", "few_shot_indices", "linear_probe", "macro_auc", "patient_groups",
           "protocol_split", "published_table", "qrs_detection_scores", "regime_name", "summarize"]
