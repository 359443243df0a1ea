"""The gallery (examples/gallery/): cheap checks only. The scripts themselves are run by
`python examples/gallery/run_all.py --quick` (in .ci/run), not here: they train models."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
GALLERY = os.path.join(ROOT, "examples", "gallery")
SCRIPTS = sorted(name for name in os.listdir(GALLERY)
                 if name.endswith(".py") and not name.startswith("_") and name != "run_all.py")

# Runs a script with --help where matplotlib and tqdm cannot be imported (as if not installed),
# then fails if the script imported them anyway.
HELP_WITHOUT_MATPLOTLIB = """
import runpy, sys
path = sys.argv[1]
sys.modules["matplotlib"] = None
sys.modules["tqdm"] = None
sys.path.insert(0, sys.argv[2])
sys.argv = [path, "--help"]
try:
    runpy.run_path(path, run_name="__main__")
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
"""


def test_the_gallery_has_its_applications():
    assert len(SCRIPTS) >= 12, SCRIPTS


@pytest.mark.parametrize("name", SCRIPTS + ["run_all.py"])
def test_help_works_without_matplotlib(name):
    path = os.path.join(GALLERY, name)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    done = subprocess.run([sys.executable, "-c", HELP_WITHOUT_MATPLOTLIB, path, GALLERY], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout and "--out" in done.stdout, done.stdout
    if name != "run_all.py":
        assert "--quick" in done.stdout, done.stdout


def test_every_script_has_its_picture_and_command_in_the_docs():
    with open(os.path.join(ROOT, "docs", "gallery.md"), encoding="utf-8") as f:
        text = f.read()
    for name in SCRIPTS:
        stem = name[:-3]
        picture = f"gallery/{stem}.png"
        assert re.search(rf"!\[[^\]]*\]\({re.escape(picture)}\)", text), f"docs/gallery.md shows no {picture}"
        assert os.path.isfile(os.path.join(ROOT, "docs", picture)), f"docs/{picture} is missing"
        assert f"python examples/gallery/{name}" in text, f"docs/gallery.md gives no command for {name}"
