"""The examples run and print what they promise."""

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


@pytest.mark.parametrize("name, expected", [
    ("quickstart.py", "def "),
    ("custom_rule.py", "quantised weights [ 0.5  -1.25  2.  ]"),
])
def test_example_runs(name, expected):
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, name)], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert expected in out.stdout
