"""Progress of a long run: tqdm's bar when tqdm is installed (the bench extra), otherwise one line
on stderr per item, so that the scripts run, and answer --help, without it."""

from __future__ import annotations

import sys
from typing import Iterable, Iterator


class _Lines:
    """The part of tqdm's interface the scripts use, printing a line per item and stage."""

    def __init__(self, items: Iterable, unit: str) -> None:
        self.items, self.unit, self.position = list(items), unit, 0

    def __enter__(self) -> "_Lines":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __iter__(self) -> Iterator:
        for self.position, item in enumerate(self.items, 1):
            yield item

    def set_postfix_str(self, text: str) -> None:
        print(f"[{self.position}/{len(self.items)} {self.unit}s] {text}", file=sys.stderr, flush=True)


def bar(items: Iterable, unit: str):
    """A progress bar over `items` on stderr."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _Lines(items, unit)
    return tqdm(items, unit=unit, file=sys.stderr)
