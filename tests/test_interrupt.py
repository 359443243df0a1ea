"""Ctrl-C stops a compiled derivative stuck in a loop, with KeyboardInterrupt, as it stops Python."""

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import optimised

_ENDLESS = """
import sys
import s2sad
sys.path.insert(0, sys.argv[1])
import run_time_funcs as rf
g = s2sad.grad(rf.endless, backend="numba")
assert g(0.25, 0.5) == 0.5  # (compiled, and it returns where the loop does not run)
print("running", flush=True)
g(2.0, 0.5)
"""


def _ctrl_c_as_in_a_terminal() -> None:
    """SIGINT handled by default in the child (a test runner's worker may ignore it, and a child
    inherits that, so that Python would install no KeyboardInterrupt handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.numba
@pytest.mark.skipif(os.name == "nt", reason="signals")
def test_ctrl_c_stops_an_endless_compiled_loop(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", _ENDLESS, os.path.dirname(__file__)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=optimised(tmp_path),
                               preexec_fn=_ctrl_c_as_in_a_terminal)
    try:
        assert process.stdout.readline().strip() == "running"
        time.sleep(1.0)  # (in the compiled loop by now)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert "KeyboardInterrupt" in stderr and process.returncode != 0, stderr
