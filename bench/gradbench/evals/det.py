"""GradBench's ``det`` eval (cmpad's ``det_by_minor``): the determinant of an ℓ × ℓ matrix by
expansion by minors, and its gradient with respect to the matrix by s2sad's reverse mode.

The expansion is written without recursion (s2sad refuses a function that calls itself, as
docs/language.md says): every minor that the expansion along the first rows meets is the
determinant of the last k rows restricted to a set S of k columns, and

    D(S) = Σ_{j ∈ S} (−1)^{position of j in S} A[ℓ − k, j] D(S \\ {j}),   D(∅) = 1,

so the minors are computed once each, smallest first, in an array indexed by the bit mask of S:
ℓ·2^ℓ products instead of the ℓ! of the recursive expansion, which computes the same minors again
and again. The result is the same expansion, summed in the same order within each minor.
"""

from __future__ import annotations

import numpy as np
import s2sad

from .common import Job, derivative, primal


def det_by_minors(A: np.ndarray, members: np.ndarray, sizes: np.ndarray, bits: np.ndarray) -> float:
    """det A by expansion by minors along the first rows. `members[S, j]` is 1 where column j is
    in the set with bit mask S, `sizes[S]` the size of that set, `bits[j]` is 2**j."""
    n = A.shape[0]
    count = members.shape[0]
    minors = np.zeros(count)
    minors[0] = 1.0
    for S in range(1, count):
        row = n - sizes[S]
        total = 0.0
        sign = 1.0
        for j in range(n):
            if members[S, j] == 1:
                total = total + sign * A[row, j] * minors[S - bits[j]]
                sign = -sign
        minors[S] = total
    return minors[count - 1]


def tables(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The integer tables `det_by_minors` reads: which columns each subset holds, its size,
    and the bit of each column."""
    masks = np.arange(2 ** n)
    bits = 2 ** np.arange(n)
    members = ((masks[:, None] // bits[None, :]) % 2).astype(np.int64)
    return members, members.sum(axis=1), bits.astype(np.int64)


def _args(input: dict) -> tuple:
    n = int(input["ell"])
    A = np.array(input["A"], dtype=np.float64).reshape(n, n)
    return (A, *tables(n))


def _primal(input: dict) -> Job:
    args, f = _args(input), primal(det_by_minors)
    return Job(lambda: f(*args), float)


def _gradient(input: dict) -> Job:
    args, g = _args(input), derivative(s2sad.grad, det_by_minors)
    return Job(lambda: g(*args), lambda r: r.ravel().tolist())


FUNCTIONS = {"primal": _primal, "gradient": _gradient}
