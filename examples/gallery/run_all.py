"""Run every gallery script, each in its own process, and report which passed.

Each script checks its derivatives and exits non-zero when a check fails (or when it raises);
this runner prints one line per script with its time and its check lines, the output of any
script that failed, and exits non-zero if one did. The pictures all go to one directory.

    python examples/gallery/run_all.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def scripts() -> list[str]:
    """The gallery's scripts (every .py file here but this runner and the shared module), by name."""
    return sorted(name for name in os.listdir(HERE)
                  if name.endswith(".py") and not name.startswith("_") and name != "run_all.py")


def run(name: str, quick: bool, out: str) -> tuple[bool, float, str]:
    """Run one script; (passed, seconds, its output: stdout, then stderr)."""
    command = [sys.executable, os.path.join(HERE, name), "--out", out] + (["--quick"] if quick else [])
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return done.returncode == 0, time.perf_counter() - start, done.stdout + done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run each script at its small size")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="the directory for the pictures (default: a new temporary directory)")
    options = parser.parse_args(argv)
    out = options.out or tempfile.mkdtemp(prefix="s2sad-gallery-")
    os.makedirs(out, exist_ok=True)
    failed = []
    start = time.perf_counter()
    for name in scripts():
        passed, seconds, output = run(name, options.quick, out)
        print(f"{'pass' if passed else 'FAIL'}  {name:24s} {seconds:6.1f} s", flush=True)
        for line in output.splitlines():
            if line.startswith("check:") or line.startswith("picture skipped"):
                print(f"      {line}")
        if not passed:
            failed.append(name)
            print("      --- its output ---")
            print("\n".join("      " + line for line in output.replace("\r", "\n").splitlines()[-40:]))
    total = len(scripts())
    print(f"{total} scripts in {time.perf_counter() - start:.0f} s; pictures in {out}")
    print(f"gallery: {total - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
