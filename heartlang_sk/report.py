"""The per-run report: one Markdown file with the pictures of the run saved beside it.

:class:`Report` collects headings, paragraphs, tables and matplotlib figures; each figure is
saved as a PNG in the report's folder (and closed) the moment it is added, and :meth:`Report.write`
writes ``report.md`` referencing them by file name, so the folder can be moved or zipped as a whole.
:func:`markdown_table` formats a DataFrame as a GitHub-flavoured Markdown table without extra
dependencies.
"""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .io.atomic import save_figure_atomic, write_text_atomic

__all__ = ["Report", "markdown_table", "run_details"]


def _cell(value, float_format):
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else float_format.format(value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame, float_format="{:.3f}", index=False):
    """Format a DataFrame as a Markdown table (numeric columns right-aligned).

    Parameters
    ----------
    frame : DataFrame
    float_format : str, default="{:.3f}"
        Format of float cells; NaN is left empty.
    index : bool, default=False
        Include the index as the first column.

    Returns
    -------
    str
        The table, one line per row, without a trailing newline.

    Examples
    --------
    >>> import pandas as pd
    >>> from heartlang_sk.report import markdown_table
    >>> print(markdown_table(pd.DataFrame({"model": ["features", "raw"], "auc": [0.9012, 0.5]})))
    | model | auc |
    |---|---:|
    | features | 0.901 |
    | raw | 0.500 |
    """
    if index:
        frame = frame.reset_index()
    header = "| " + " | ".join(str(column) for column in frame.columns) + " |"
    align = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(frame[column]) else "---"
                           for column in frame.columns) + "|"
    rows = ["| " + " | ".join(_cell(value, float_format) for value in row) + " |"
            for row in frame.itertuples(index=False, name=None)]
    return "\n".join([header, align, *rows])


def run_details(command=None, device=None):
    """What a reader needs to reproduce a run: command, date, machine and package versions.

    Parameters
    ----------
    command : str, optional
        The command line of the run.
    device : str, optional
        The torch device the models ran on.

    Returns
    -------
    dict
        Ordered name -> value, for :class:`Report`'s ``details``.

    Examples
    --------
    >>> from heartlang_sk.report import run_details
    >>> details = run_details("heartlang-sk demo", device="cpu")
    >>> list(details)[:3]
    ['command', 'date', 'machine']
    """
    import sklearn
    import torch

    from . import __version__

    details = {}
    if command is not None:
        details["command"] = f"`{command}`"
    details["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    details["machine"] = f"{platform.platform()}, Python {platform.python_version()}"
    if device is not None:
        details["device"] = device
    details["versions"] = (f"heartlang-sk {__version__}, torch {torch.__version__}, scikit-learn "
                           f"{sklearn.__version__}, numpy {np.__version__}")
    return details


class Report:
    """A self-contained Markdown report whose pictures are saved beside it.

    The report reads: title, run details, summary (:meth:`summary`, e.g. the results table), then
    the sections, paragraphs, tables and figures in the order they were added.

    Parameters
    ----------
    folder : str or path-like
        Where ``report.md`` and the PNGs go (created if missing).
    title : str
        Top heading.
    details : dict, optional
        Name -> value pairs listed under the title (see :func:`run_details`); entries can be
        added until :meth:`write`.

    Attributes
    ----------
    figures : list of pathlib.Path
        PNGs saved so far, in order.

    Examples
    --------
    >>> import tempfile
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from heartlang_sk.report import Report
    >>> report = Report(tempfile.mkdtemp(), "A run", details={"records": 12})
    >>> report.section("Probes", "Linear probes on the embeddings.")
    >>> fig, ax = plt.subplots()
    >>> report.figure(fig, "roc.png", "ROC curves.")
    'roc.png'
    >>> report.summary("Macro ROC-AUC:", pd.DataFrame({"model": ["features"], "AUC": [0.91]}))
    >>> print(report.write().read_text())
    # A run
    <BLANKLINE>
    - records: 12
    <BLANKLINE>
    Macro ROC-AUC:
    <BLANKLINE>
    | model | AUC |
    |---|---:|
    | features | 0.910 |
    <BLANKLINE>
    ## Probes
    <BLANKLINE>
    Linear probes on the embeddings.
    <BLANKLINE>
    ![ROC curves.](roc.png)
    <BLANKLINE>
    *ROC curves.*
    <BLANKLINE>
    """

    def __init__(self, folder, title, details=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.title = title
        self.details = dict(details or {})
        self.figures = []
        self._summary = []
        self._blocks = []

    def summary(self, text, frame=None, float_format="{:.3f}"):
        """Put a paragraph (and a table) at the top, under the details: the run's outcome."""
        self._summary.append(str(text).strip())
        if frame is not None:
            self._summary.append(markdown_table(frame, float_format=float_format))

    def section(self, heading, text=None):
        """Start a section (``##`` heading), optionally with a first paragraph."""
        self._blocks.append(f"## {heading}")
        if text:
            self.text(text)

    def text(self, paragraph):
        """Add a paragraph (Markdown)."""
        self._blocks.append(str(paragraph).strip())

    def table(self, frame, float_format="{:.3f}", index=False):
        """Add a DataFrame as a Markdown table (see :func:`markdown_table`)."""
        self._blocks.append(markdown_table(frame, float_format=float_format, index=index))

    def figure(self, fig, filename, caption, show=True):
        """Save ``fig`` as ``folder/filename`` (PNG), close it, and show it here with a caption.

        With ``show=False`` the PNG is saved beside the report but not shown in it.

        Returns
        -------
        str
            ``filename``, as referenced in the report.
        """
        from matplotlib import pyplot as plt

        path = self.folder / filename
        try:
            save_figure_atomic(fig, path, dpi=110)
        finally:
            plt.close(fig)
        self.figures.append(path)
        if show:
            self._blocks.append(f"![{caption}]({filename})\n\n*{caption}*")
        return filename

    def write(self, filename="report.md"):
        """Write the report; returns its path."""
        lines = [f"# {self.title}"]
        if self.details:
            lines.append("\n".join(f"- {name}: {value}" for name, value in self.details.items()))
        path = self.folder / filename
        write_text_atomic(path, "\n\n".join(lines + self._summary + self._blocks) + "\n")
        return path
