"""The comparison benchmark: s2sad's compiled gradients against autograd, PyTorch, JAX and
TensorFlow on the same workloads, each gradient checked before it is timed.

    python bench/run.py                      # every workload, full sizes
    python bench/run.py --quick              # small sizes, short timing: a few minutes
    python bench/run.py --only gmm --tools s2sad,jax --out gmm-results

Writes DIR/results.json, DIR/results.md and DIR/times.png, DIR/ratios.png (DIR: --out, default
bench/results). bench/README.md says what is measured and how to read it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(1, str(REPO))  # the s2sad of this checkout, before any installed one
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up messages

from suite import report, tools, workloads  # noqa: E402
from suite.progress import bar as progress_bar  # noqa: E402
from suite.measure import WorkloadResult, measure  # noqa: E402


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and short timing blocks")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="directory for the results")
    parser.add_argument("--only", default="", help="the workloads whose name contains this text")
    parser.add_argument("--tools", default=None,
                        help=f"comma-separated tools to run (default all: {','.join(t.name for t in tools.TOOLS)}); "
                             "s2sad always runs, it is the reference")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds (default 5, quick 3)")
    parser.add_argument("--block", type=float, default=None,
                        help="seconds each callable runs per round (default 0.3, quick 0.1)")
    options = parser.parse_args(argv)
    try:
        tools.select(options.tools)
    except ValueError as exc:
        parser.error(str(exc))
    options.rounds = options.rounds or (3 if options.quick else 5)
    options.block = options.block or (0.1 if options.quick else 0.3)
    return options


def run(options: argparse.Namespace) -> tuple[list[WorkloadResult], dict[str, str | None]]:
    chosen = workloads.select(options.only)
    if not chosen:
        raise SystemExit(f"no workload matches {options.only!r}; the workloads: "
                         f"{', '.join(w.name for w in workloads.WORKLOADS)}")
    selected = tools.select(options.tools)
    versions = {t.name: t.version() for t in selected}
    results = []
    with progress_bar(chosen, unit="workload") as bar:
        for work in bar:
            def progress(stage: str, name: str = work.name) -> None:
                bar.set_postfix_str(f"{name}: {stage}")
            results.append(measure(work, options.quick, selected, versions, options.rounds, options.block, progress))
    return results, versions


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    with tempfile.TemporaryDirectory(prefix="s2sad-bench-") as cache:
        os.environ["S2SAD_CACHE_DIR"] = cache  # an empty cache: s2sad's first call really compiles
        results, versions = run(options)
    data = {
        "machine": report.machine(REPO),
        "options": {"quick": options.quick, "only": options.only, "rounds": options.rounds, "block": options.block,
                    "tools": list(versions)},
        "tools": {name: {"version": v, "installed": v is not None} for name, v in versions.items()},
        "workloads": [r.as_dict() for r in results],
        "summary": report.summary(results, tools.PEERS),
    }
    for path in report.write(options.out, data, results, tools.PEERS):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
