"""Machine and package facts that benchmark reports print beside their figures."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

__all__ = ["cpu_name", "package_version"]


def package_version(package):
    """Installed version of ``package``, or ``"not installed"``.

    Examples
    --------
    >>> package_version("numpy") != "not installed"
    True
    """
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_name():
    """The CPU model from ``/proc/cpuinfo`` (Linux), else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
