"""What every plotting module shares: matplotlib, imported only when a plot is asked for (and a
one-line error naming the extra to install when it is missing), and the names of the leads."""

from __future__ import annotations

from ..datasets.ptbxl import LEAD_NAMES


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'heartlang-sk[plot]'") from error
    return plt


def _lead_name(index, n_leads):
    return LEAD_NAMES[index] if n_leads == len(LEAD_NAMES) else f"lead {index + 1}"
