"""User-facing errors.

Every error the compiler raises for a user's mistake or an unsupported construct is an
`S2SADError`: it names the user's file and line, quotes the construct, and says what to do
instead. A failure inside the compiler itself (a bug of s2sad's, not the user's) reaches the user
as an `InternalError`, a kind of `S2SADError` that says so, names the function being
differentiated and chains the original exception.
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


class Unbatched(S2SADError):
    """A construct the vector forward transform does not carry k tangents through (it would
    cost more than k sweeps); `jacobian` and `hessian` then run one tangent per sweep."""


class InternalError(S2SADError):
    """A failure inside s2sad while it differentiated a function: a bug to report, not a mistake
    in the user's code. The original exception is chained (``__cause__``)."""


def internal_error(exc: BaseException, what: str, filename: str | None, lineno: int | None) -> InternalError:
    """An `InternalError` for `exc`, raised while s2sad was making `what` (the user's function
    at `filename`:`lineno`), located at the user's line the failure concerns when it carries one."""
    loc = getattr(exc, "loc", None)
    if loc is not None:
        filename, lineno = loc.filename, loc.lineno
    return InternalError(f"internal error in s2sad while differentiating {what} ({type(exc).__name__}: {exc}); "
                         "this is a bug in s2sad, not in your code: please report it with this function",
                         filename, lineno, getattr(loc, "source_line", ""))


class DerivativeError(S2SADError):
    """An exception raised while a derivative ran (a shape mismatch, an index out of range, a
    singular matrix…), located at the user's statement whose code raised it. The original
    exception is chained (``__cause__``), and the error is also an instance of the original's
    type (`raised_in`), so that ``except IndexError:`` around a call still catches it, as it
    would around the NumPy function."""

    def __reduce__(self):
        kind = type(self).__bases__[-1] if type(self) is not DerivativeError else None
        return (raised_in, (kind, self.message, self.filename, self.lineno, self.source_line))


_KINDS: dict[type, type] = {}


def raised_in(kind: type | None, message: str, filename: str | None = None, lineno: int | None = None,
              source_line: str = "") -> DerivativeError:
    """A `DerivativeError` that is also a `kind` of exception (when the two can be one class)."""
    if kind is not None and kind not in _KINDS:
        try:
            _KINDS[kind] = type("DerivativeError", (DerivativeError, kind), {"__module__": __name__})
            _KINDS[kind](message)  # (a kind whose instances need other arguments cannot be one)
        except Exception:
            _KINDS[kind] = DerivativeError
    return _KINDS.get(kind, DerivativeError)(message, filename, lineno, source_line)
