"""Lead names of the baselines' feature names."""

from __future__ import annotations

from sklearn.utils.validation import _check_feature_names_in

from ..datasets.ptbxl import LEAD_NAMES


def _lead_names(estimator, input_features):
    """Lead names for feature names: ``input_features`` (3-D input only), the standard 12, or lead1..."""
    input_features = _check_feature_names_in(estimator, input_features, generate_names=False)
    if input_features is not None and estimator.n_leads_ == estimator.n_features_in_:
        return [str(name) for name in input_features]
    if estimator.n_leads_ == len(LEAD_NAMES):
        return list(LEAD_NAMES)
    return [f"lead{k + 1}" for k in range(estimator.n_leads_)]
