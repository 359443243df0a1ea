"""User-facing errors.

Every error the compiler raises for a user's mistake or an unsupported construct is an
`S2SADError`: it names the user's file and line, quotes the construct, and says what to do
instead. Internal bugs stay ordinary exceptions.
"""

from __future__ import annotations


class S2SADError(Exception):
    """An error located in the user's source.

    Attributes:
        message:  what is wrong and what is supported instead.
        filename: the user's file (or None when the error is not tied to source).
        lineno:   line number in that file (or None).
        source_line: the offending line of source, stripped (may be empty).
    """

    def __init__(self, message: str, filename: str | None = None, lineno: int | None = None,
                 source_line: str = ""):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.source_line = source_line.strip()
        super().__init__(str(self))

    @property
    def location(self) -> str:
        if self.filename is None:
            return ""
        return f"{self.filename}:{self.lineno}" if self.lineno else self.filename

    def one_line(self) -> str:
        """The error as one line: ``file.py:12: message``."""
        return f"{self.location}: {self.message}" if self.location else self.message

    def __str__(self) -> str:
        text = self.one_line()
        return f"{text}\n    {self.source_line}" if self.source_line else text

    def __reduce__(self):
        return (type(self), (self.message, self.filename, self.lineno, self.source_line))


def located(message: str, loc) -> S2SADError:
    """An `S2SADError` at `loc` (an `ir.core.Loc` or None)."""
    if loc is None:
        return S2SADError(message)
    return S2SADError(message, loc.filename, loc.lineno, loc.source_line)
