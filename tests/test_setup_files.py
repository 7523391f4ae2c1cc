"""Set-up a new user runs first: pyproject.toml builds without warnings, make says what it does."""

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_gives_setuptools_no_deprecation_warning():
    setuptools = pytest.importorskip("setuptools")
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip("the SPDX licence string needs setuptools >= 77 (the build requirement)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        distribution = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    assert [str(w.message).splitlines()[0] for w in caught] == []
    assert distribution.metadata.license_expression == "MIT"


def test_pyproject_requires_a_setuptools_that_reads_the_licence_string():
    if sys.version_info < (3, 11):
        pytest.skip("tomllib is Python >= 3.11")
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_install_goes_to_the_given_venv_and_says_each_step(tmp_path):
    venv = tmp_path / "elsewhere"
    result = subprocess.run(["make", "-n", "install", f"VENV={venv}"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert f"python3 -m venv {venv}" in lines
    steps = [line for line in lines if line.startswith('echo "==> [')]
    assert len(steps) == 4 and "torch" in steps[2]
    installs = [line for line in lines if " install " in line and "--upgrade pip" not in line]
    assert len(installs) == 2 and not any("--quiet" in line or " -q" in line for line in installs)
    assert all(line.startswith(f"{venv}/bin/pip") for line in installs)


def test_readme_says_where_the_venv_goes():
    readme = (ROOT / "README.md").read_text()
    assert "make install VENV=" in readme and "PYTHON=" in readme
