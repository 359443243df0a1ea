"""Campaigns: many programs through the oracles, a summary, and minimised failures.

Program k of a campaign with seed S has seed S + k, so any program can be regenerated and
run alone (``python -m tests.fuzz --only S+k``). Runs of more than a handful of programs go to
worker processes (`--jobs`), each replaced after a few dozen programs, since s2sad keeps what
it compiled for every function it has seen.
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .generator import Config, generate
from .minimise import minimise, size
from .oracles import FAILURES, Failure, check
from .program import Program, literal, unload


@dataclass
class Record:
    """One program's outcome, as a campaign keeps it."""

    seed: int
    category: str
    failures: list[dict] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    numba: bool = False
    source: str = ""
    size: int = 0

    @property
    def failed(self) -> bool:
        return self.category in FAILURES


def uses_numba(seed: int, fraction: float) -> bool:
    """Whether program `seed` runs the Numba oracle (a fixed choice per seed)."""
    return fraction > 0 and np.random.default_rng([seed, 7]).random() < fraction


def run_program(program: Program, *, numba: bool = False, timeout: float = 120.0) -> Record:
    """`program` through every oracle."""
    module = program.load()
    try:
        outcome = check(getattr(module, program.entry), program.fresh_args(), numba=numba, timeout=timeout)
    finally:
        unload(module)
    return Record(program.seed, outcome.category, [asdict(f) for f in outcome.ranked], outcome.refusals,
                  outcome.notes, sorted(program.tags), round(outcome.seconds, 3), numba,
                  program.source if outcome.category != "ok" else "", size(program))


def run_seed(seed: int, config: Config | None = None, numba_fraction: float = 0.0, timeout: float = 120.0,
             skip_tags: frozenset[str] = frozenset()) -> Record:
    """Program `seed` through the oracles (not run, "skipped", if it has one of `skip_tags`)."""
    try:
        program = generate(seed, config)
    except RuntimeError as exc:
        return Record(seed, "invalid", notes=[str(exc)])
    if program.tags & skip_tags:
        return Record(seed, "skipped", tags=sorted(program.tags), notes=[", ".join(sorted(program.tags & skip_tags))])
    return run_program(program, numba=uses_numba(seed, numba_fraction), timeout=timeout)


def _run_seed_job(job: tuple) -> Record:
    *job, running = job
    mark = Path(running) / str(os.getpid())
    mark.write_text(str(job[0]))  # (the seed this worker runs: named if the worker dies)
    try:
        return run_seed(*job)
    finally:
        mark.unlink()


def run_many(seeds: Iterable[int], *, config: Config | None = None, numba_fraction: float = 0.0, jobs: int = 1,
             timeout: float = 120.0, skip_tags: frozenset[str] = frozenset()) -> Iterator[Record]:
    """The records of `seeds`, in the order they finish. A worker that dies (a crash of compiled
    code) loses its program; when no program has finished for a while, the campaign stops
    with an error naming the seeds the dead workers were running."""
    with tempfile.TemporaryDirectory(prefix="s2sad-fuzz-running-") as running:
        work = [(seed, config, numba_fraction, timeout, skip_tags, running) for seed in seeds]
        if jobs <= 1 and len(work) <= 5:
            yield from map(_run_seed_job, work)
            return
        with multiprocessing.get_context("spawn").Pool(max(1, jobs), maxtasksperchild=25) as pool:
            results = pool.imap_unordered(_run_seed_job, work)
            for _ in work:
                try:
                    yield results.next(timeout=3 * timeout + 60)
                except multiprocessing.TimeoutError:
                    alive = {str(p.pid) for p in multiprocessing.active_children()}
                    lost = sorted(m.read_text() for m in Path(running).iterdir() if m.name not in alive)
                    raise RuntimeError(f"no program finished in {3 * timeout + 60:.0f} s; workers died running "
                                       f"seeds {', '.join(lost) or '(unknown)'}: run them with --only") from None


# --- minimising -----------------------------------------------------------------------------

@dataclass
class Finding:
    """A failure and the smallest program found that still fails the same way."""

    seed: int
    failure: dict
    source: str
    args: list[tuple[str, str]]         # (name, Python literal of the value)
    entry: str
    message: str = ""

    def text(self) -> str:
        args = "\n".join(f"    {name} = {value}" for name, value in self.args)
        return (f"{self.failure['category']} [{self.failure['oracle']}] (seed {self.seed}): {self.message}\n"
                f"{self.source}\n# arguments of {self.entry}:\n{args}\n")


def minimise_seed(seed: int, failure: dict, config: Config | None = None, budget: float = 300.0,
                  numba: bool = False) -> Finding:
    """Regenerate program `seed` and minimise it for `failure` (a `Failure` as a dict)."""
    program = generate(seed, config)
    small = minimise(program, Failure(**failure), budget=budget, numba=numba)
    module = small.load()
    try:
        outcome = check(getattr(module, small.entry), small.fresh_args(), numba=numba)
    finally:
        unload(module)
    message = next((f.message for f in outcome.failures if (f.category, f.oracle, f.kind) ==
                    (failure["category"], failure["oracle"], failure["kind"])), outcome.describe())
    return Finding(seed, failure, small.source, [(name, literal(value)) for name, value in small.args], small.entry,
                   _strip_paths(message))


def _minimise_job(job: tuple) -> Finding:
    return minimise_seed(*job)


def signature(failure: dict) -> tuple[str, str, str]:
    return (failure["category"], failure["oracle"], failure["kind"])


def pick_for_minimising(records: list[Record], per_group: int) -> list[tuple[int, dict, bool]]:
    """Up to `per_group` of the smallest failing programs for each failure signature (every
    failure of a program counts, not only the first)."""
    groups: dict[tuple, list[tuple[int, Record, dict]]] = collections.defaultdict(list)
    for record in records:
        for failure in record.failures:
            groups[signature(failure)].append((record.size, record, failure))
    chosen = []
    for _, members in sorted(groups.items()):
        for _, record, failure in sorted(members, key=lambda m: (m[0], m[1].seed))[:per_group]:
            chosen.append((record.seed, failure, record.numba))
    return chosen


def minimise_many(records: list[Record], *, config: Config | None = None, per_group: int = 3, budget: float = 300.0,
                  jobs: int = 1) -> list[Finding]:
    """Minimised failures, one per distinct minimised program."""
    work = [(seed, failure, config, budget, numba) for seed, failure, numba in pick_for_minimising(records, per_group)]
    if jobs <= 1:
        findings = list(map(_minimise_job, work))
    else:
        with multiprocessing.get_context("spawn").Pool(jobs, maxtasksperchild=4) as pool:
            findings = list(pool.imap_unordered(_minimise_job, work))
    distinct: dict[tuple, Finding] = {}
    for finding in sorted(findings, key=lambda f: (len(f.source), f.seed)):
        distinct.setdefault((signature(finding.failure), finding.source), finding)
    return list(distinct.values())


# --- summaries --------------------------------------------------------------------------------

_PATH = re.compile(r"^\S*?\.py:\d+: ")


def _strip_paths(message: str) -> str:
    return re.sub(r"\S*/(fuzz_program_\w+\.py)", r"\1", message)


def refusal_kind(refusal: str) -> str:
    """A refusal message without its stage, file, line and names, so that alike ones group."""
    stage, _, message = refusal.partition(": ")
    message = _PATH.sub("", message)
    message = re.sub(r"'[^']*'", "'…'", message)
    message = re.sub(r"use \w+ = \w+\.copy\(\)", "use … = ….copy()", message)
    message = re.sub(r"\bline \d+", "line N", message)
    message = re.sub(r"fuzz_program_\w+", "…", message)
    return f"{message} [{stage}]" if stage.startswith(("checkpoint", "numba")) else message


@dataclass
class Summary:
    count: int
    seconds: float
    outcomes: dict[str, int]
    failures_by_oracle: dict[str, int]
    refusals: list[tuple[str, int]]
    fallbacks: int
    numba_compared: int
    fd_skipped_programs: int
    failing: list[dict]

    def text(self) -> str:
        lines = [f"{self.count} programs in {self.seconds:.0f} s"]
        lines += [f"  {name:15} {self.outcomes.get(name, 0)}" for name in ("ok", "refused") + FAILURES
                  if name in self.outcomes or name in ("ok", "refused")]
        for name in ("skipped", "invalid"):
            if name in self.outcomes:
                lines.append(f"  {name:15} {self.outcomes[name]}")
        lines.append(f"Numba compared on {self.numba_compared} programs; {self.fallbacks} backend fallbacks; "
                     f"finite differences skipped somewhere in {self.fd_skipped_programs} programs")
        if self.failures_by_oracle:
            lines.append("failures by oracle (every failure of a program):")
            lines += [f"  {count:5}  {name}" for name, count in self.failures_by_oracle.items()]
        if self.refusals:
            lines.append("refusals by message:")
            lines += [f"  {count:5}  {message}" for message, count in self.refusals]
        if self.failing:
            lines.append("failing programs (seed: category [oracle]):")
            lines += [f"  {f['seed']}: {f['category']} [{f['oracle']}] {f['message'][:150]}" for f in self.failing]
        return "\n".join(lines)


def summarise(records: list[Record], seconds: float) -> Summary:
    outcomes = collections.Counter(r.category for r in records)
    by_oracle = collections.Counter(f"{f['category']} [{f['oracle']}]" + (f" {f['kind']}" if f["kind"] else "")
                                    for r in records for f in r.failures)
    refusals = collections.Counter(refusal_kind(r.refusals[0]) for r in records if r.refusals)
    failing = [dict(seed=r.seed, **{k: r.failures[0][k] for k in ("category", "oracle")},
                    message=_strip_paths(r.failures[0]["message"]))
               for r in sorted(records, key=lambda r: r.seed) if r.failed]
    return Summary(len(records), seconds, dict(outcomes), dict(by_oracle.most_common()), refusals.most_common(),
                   sum(any(n.startswith("fallback") for n in r.notes) for r in records),
                   sum("numba: compared" in r.notes for r in records),
                   sum(any(n.startswith("fd:") for n in r.notes) for r in records), failing)


def campaign(count: int, seed: int, *, config: Config | None = None, numba_fraction: float = 0.05, jobs: int = 1,
             timeout: float = 120.0, skip_tags: frozenset[str] = frozenset(),
             progress: Callable[[int, Record], None] | None = None) -> tuple[list[Record], Summary]:
    """Programs `seed` .. `seed + count - 1` through the oracles: their records and a summary."""
    started = time.perf_counter()
    records = []
    for k, record in enumerate(run_many(range(seed, seed + count), config=config, numba_fraction=numba_fraction,
                                        jobs=jobs, timeout=timeout, skip_tags=skip_tags)):
        records.append(record)
        if progress:
            progress(k + 1, record)
    records.sort(key=lambda r: r.seed)
    return records, summarise(records, time.perf_counter() - started)


def write_report(path: str, records: list[Record], summary: Summary, findings: list[Finding], **settings) -> None:
    report = dict(settings=settings, summary=asdict(summary), findings=[asdict(f) for f in findings],
                  records=[asdict(r) for r in records])
    with open(path, "w") as out:
        json.dump(report, out, indent=1, default=str)
