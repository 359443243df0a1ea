"""``python -m tests.fuzz``: run a fuzzing campaign, or one program.

    python -m tests.fuzz --count 2000 --seed 0 --jobs 2 --numba-fraction 0.05 --minimise --out report.json
    python -m tests.fuzz --only 1234 --minimise      # program 1234: its source, outcome, minimised failure
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict, replace

from .campaign import Record, campaign, minimise_many, minimise_seed, run_program, uses_numba, write_report
from .generator import SMALL, Config, generate


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="programs to run (seeds seed .. seed+count-1)")
    parser.add_argument("--seed", type=int, default=0, help="the first program's seed")
    parser.add_argument("--only", type=int, action="append", help="run only this seed (repeatable); prints it")
    parser.add_argument("--numba-fraction", type=float, default=0.05, help="share of programs also compiled by Numba")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--minimise", action="store_true", help="minimise failing programs")
    parser.add_argument("--per-group", type=int, default=3,
                        help="programs minimised per failure signature (category, oracle, exception)")
    parser.add_argument("--minimise-budget", type=float, default=300.0, help="seconds spent minimising one program")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one s2sad call may take")
    parser.add_argument("--statements", type=int, nargs=2, metavar=("MIN", "MAX"),
                        help="top-level statements of generated functions (default 3 9)")
    parser.add_argument("--small", action="store_true", help="smaller programs (those of tests/test_fuzz.py)")
    parser.add_argument("--passing", action="store_true", help="print the seeds of the programs that passed")
    parser.add_argument("--skip-tags", default="", help="comma-separated tags: programs using one are not run")
    parser.add_argument("--skip-open", action="store_true",
                        help="skip the programs using a construct with an open finding (tests/test_fuzz_findings.py)")
    parser.add_argument("--out", help="write a JSON report here")
    parser.add_argument("--quiet", action="store_true", help="no progress line per failing program")
    return parser


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    os.environ.setdefault("S2SAD_QUIET", "1")  # (a campaign's calls are many first calls: no notices of slow ones)
    config = SMALL if options.small else Config()
    if options.statements:
        config = replace(config, statements=tuple(options.statements))
    if options.only:
        return _only(options, config)
    skip = {tag for tag in options.skip_tags.split(",") if tag}
    if options.skip_open:
        from ..test_fuzz_findings import OPEN_FINDINGS
        skip |= OPEN_FINDINGS.keys()
    records, summary = campaign(options.count, options.seed, config=config, numba_fraction=options.numba_fraction,
                                jobs=options.jobs, timeout=options.timeout, skip_tags=frozenset(skip),
                                progress=None if options.quiet else _progress(options.count))
    print(summary.text())
    if options.passing:
        print("passing seeds:", [r.seed for r in records if r.category == "ok"])
    findings = []
    if options.minimise and any(r.failed for r in records):
        print("\nminimising ...", flush=True)
        findings = minimise_many(records, config=config, per_group=options.per_group,
                                 budget=options.minimise_budget, jobs=options.jobs)
        print(f"\n{len(findings)} distinct minimised failures:\n")
        for finding in findings:
            print(finding.text())
    if options.out:
        write_report(options.out, records, summary, findings, count=options.count, seed=options.seed,
                     numba_fraction=options.numba_fraction, config=asdict(config))
    return 1 if any(r.failed for r in records) else 0


def _progress(count: int):
    def report(done: int, record: Record) -> None:
        if record.failed:
            first = record.failures[0]
            print(f"[{done}/{count}] seed {record.seed}: {record.category} [{first['oracle']}]", flush=True)
        elif done % 100 == 0:
            print(f"[{done}/{count}]", flush=True)
    return report


def _only(options, config: Config) -> int:
    failed = False
    for seed in options.only:
        program = generate(seed, config)
        print(f"# seed {seed}\n{program.source}\n# arguments:")
        for name, value in program.args:
            print(f"#   {name} = {value!r}")
        numba = uses_numba(seed, options.numba_fraction) or options.numba_fraction >= 1.0
        record = run_program(program, numba=numba, timeout=options.timeout)
        print(f"\noutcome: {record.category}")
        for failure in record.failures:
            print(f"  {failure['category']} [{failure['oracle']}]: {failure['message']}")
        for line in record.refusals + record.notes:
            print(f"  {line}")
        if record.failed and options.minimise:
            finding = minimise_seed(seed, record.failures[0], config, options.minimise_budget, numba)
            print("\nminimised:\n" + finding.text())
        failed |= record.failed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
