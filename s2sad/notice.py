"""One line on stderr when a first call keeps the user waiting.

Making a derivative (lowering, transforming, generating code) and compiling it with Numba take
from a fraction of a second to many seconds, all at the first call. When that call is still
running after `SLOW` seconds, s2sad says what it is doing, once, and that the result is cached;
a quick call prints nothing, and ``S2SAD_QUIET=1`` silences the notice altogether.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator

SLOW = 2.0  # seconds


@contextlib.contextmanager
def if_slow(message: str, active: bool = True) -> Iterator[None]:
    """Print ``s2sad: {message}`` on stderr if the block is still running after SLOW seconds."""
    if not active or os.environ.get("S2SAD_QUIET"):
        yield
        return
    if SLOW <= 0:  # (always: said at once)
        _say(message)
        yield
        return
    timer = threading.Timer(SLOW, _say, (message,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _say(message: str) -> None:
    print(f"s2sad: {message} (S2SAD_QUIET=1 silences this)", file=sys.stderr, flush=True)
