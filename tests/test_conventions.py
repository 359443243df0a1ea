"""What every script and the package promise: --help without the optional extras, and type hints
shipped (py.typed)."""

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p for p in (ROOT / "bench").glob("*.py"))
EXTRAS = ("tqdm", "matplotlib", "torch", "jax", "tensorflow", "autograd")


@pytest.fixture(scope="module")
def without_extras(tmp_path_factory) -> dict:
    """An environment in which importing any of the bench extra's packages fails."""
    blocked = tmp_path_factory.mktemp("blocked")
    for name in EXTRAS:
        (blocked / name).mkdir()
        (blocked / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed')\n")
    path = os.pathsep.join([str(blocked), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PYTHONPATH=path)


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_help_works_without_the_optional_extras(script, without_extras):
    out = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120,
                         env=without_extras)
    assert out.returncode == 0, out.stderr
    assert "usage:" in out.stdout


def test_the_package_ships_its_type_hints():
    assert resources.files("s2sad").joinpath("py.typed").is_file()
    assert 'py.typed' in (ROOT / "pyproject.toml").read_text()
