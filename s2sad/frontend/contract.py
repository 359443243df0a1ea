"""``np.einsum`` and ``np.tensordot``, lowered into primitives s2sad already differentiates.

Numba compiles neither function, and each is a composition of simpler operations, so a call
becomes those operations while the function is lowered; its derivatives and its Numba code
follow from theirs. With the subscripts of one or two operands, each operand's indices distinct
(``np.tensordot`` is given subscripts too, from its ``axes``):

* an operand written ``'ii'`` (a repeated index, only as a matrix's two axes) is its diagonal
  (`diag`), once the matrix is checked to be square (`square_matrix`), as NumPy checks it;
* an index that only one operand has, and the output lacks, is summed over first (`sum`);
* two operands sharing an index that is summed over and none that is kept (no batch index)
  are a matrix product: each operand's axes are ordered (`transpose`), merged into one axis for
  its kept indices and one for the summed ones where there are several (`flatten`, `reshape`), and
  multiplied (`matmul`); several kept indices are split out again (`reshape`);
* any other pair (a batch index, or nothing summed) is multiplied with broadcasting, each
  operand's axes ordered and widened to all the indices (`transpose`, `expand_dims`, `mul`),
  and the shared indices the output lacks are summed over (`sum`);
* the result's axes are put in the output's order (`transpose`).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Callable, Sequence

from .. import primitives as P
from ..ir.builder import const
from ..ir.core import Atom

Emit = Callable[..., Atom]  # emit(prim, operands, **params) -> the result
# What each function may be lowered into (`s2sad rules` lists it): tensordot sums only inside
# matrix products and has no diagonal.
TENSORDOT_PRIMITIVES = (P.transpose, P.expand_dims, P.mul, P.flatten, P.reshape, P.matmul)
EINSUM_PRIMITIVES = (P.diag, P.square_matrix, P.sum) + TENSORDOT_PRIMITIVES
_LETTERS = string.ascii_letters


class Refused(ValueError):
    """A contraction that is not supported (the message says why)."""


@dataclass(frozen=True)
class Spec:
    """Subscripts: one string of indices per operand, and the output's."""

    inputs: tuple[str, ...]
    output: str


@dataclass(frozen=True)
class Term:
    """A value with one index per axis."""

    letters: str
    value: Atom


# --- the subscripts ----------------------------------------------------------------------------

def parse_einsum(subscripts: str, ndims: Sequence[int]) -> Spec:
    """The `Spec` of ``np.einsum(subscripts, ...)`` for operands with `ndims` axes, or `Refused`."""
    text = subscripts.replace(" ", "")
    if "." in text:
        raise Refused("an ellipsis (...) is not supported; name every axis")
    lhs, arrow, output = text.partition("->")
    if set(lhs + output) - set(_LETTERS + ",") or "->" in output:
        raise Refused("subscripts are letters, a comma between operands and an optional '->output'")
    inputs = tuple(lhs.split(","))
    if len(ndims) > 2:
        raise Refused(f"{len(ndims)} operands: at most two are supported; contract them two at a time")
    if len(inputs) != len(ndims):
        raise Refused(f"the subscripts name {len(inputs)} operands but {len(ndims)} are given")
    for k, (letters, ndim) in enumerate(zip(inputs, ndims)):
        _check_operand(k, letters, ndim)
    if not arrow:  # implicit output: the indices used once, in alphabetical order
        return Spec(inputs, "".join(sorted(c for c in set(lhs) - {","} if lhs.count(c) == 1)))
    if len(set(output)) < len(output):
        raise Refused(f"the output '{output}' repeats an index")
    if set(output) - set(lhs):
        raise Refused(f"the output index '{sorted(set(output) - set(lhs))[0]}' is in no operand")
    return Spec(inputs, output)


def _check_operand(k: int, letters: str, ndim: int) -> None:
    if len(letters) != ndim:
        raise Refused(f"operand {k} has {ndim} axes but '{letters}' names {len(letters)}")
    if len(set(letters)) < len(letters) and not (ndim == 2 and letters[0] == letters[1]):
        raise Refused(f"'{letters}' repeats an index; within one operand only a matrix's diagonal "
                      "('ii') is supported")


def tensordot_spec(ndim_a: int, ndim_b: int, axes) -> Spec:
    """The einsum `Spec` of ``np.tensordot(a, b, axes)``: `axes` is a number N (the last N axes
    of a with the first N of b) or a pair of axis lists (an integer standing for a list of one)."""
    if isinstance(axes, int) and not isinstance(axes, bool):
        if not 0 <= axes <= min(ndim_a, ndim_b):
            raise Refused(f"both operands need at least {axes} axes")
        pairs = list(zip(range(ndim_a - axes, ndim_a), range(axes)))
    else:
        pairs = list(zip(*_axis_lists(axes, ndim_a, ndim_b)))
    a = _LETTERS[:ndim_a]
    fresh = iter(_LETTERS[ndim_a:])
    paired = {j: a[i] for i, j in pairs}
    b = "".join(paired[j] if j in paired else next(fresh) for j in range(ndim_b))
    summed = set(paired.values())
    return Spec((a, b), "".join(c for c in a + b if c not in summed))


def _axis_lists(axes, ndim_a: int, ndim_b: int) -> tuple[list[int], list[int]]:
    if not isinstance(axes, (tuple, list)) or len(axes) != 2:
        raise Refused("axes must be an integer or a pair of axis lists")
    lists = [list(side) if isinstance(side, (tuple, list)) else [side] for side in axes]
    if len(lists[0]) != len(lists[1]):
        raise Refused(f"pairs {len(lists[0])} axes of a with {len(lists[1])} of b")
    normal = []
    for side, ndim in zip(lists, (ndim_a, ndim_b)):
        try:
            for axis in side:
                P.check_axis(axis, ndim)
        except TypeError as exc:
            raise Refused(str(exc)) from None
        side = [axis % ndim for axis in side]
        if len(set(side)) < len(side):
            raise Refused("an axis is named twice")
        normal.append(side)
    return normal[0], normal[1]


# --- the composition ---------------------------------------------------------------------------

def contract(spec: Spec, operands: Sequence[Atom], emit: Emit) -> Atom:
    """The value of the contraction `spec` of `operands`, emitted as primitives."""
    terms = [_diagonal(Term(letters, x), emit) for letters, x in zip(spec.inputs, operands)]
    terms = [_sum_out(t, spec.output + "".join(o.letters for j, o in enumerate(terms) if j != k), emit)
             for k, t in enumerate(terms)]
    if len(terms) == 1:
        result = terms[0]
    elif _is_matrix_product(*terms, spec.output):
        result = _matrix_product(*terms, spec.output, emit)
    else:
        result = _broadcast_product(*terms, spec.output, emit)
    return _arrange(result, spec.output, emit)


def _diagonal(term: Term, emit: Emit) -> Term:
    """``'ii'`` is the diagonal of a matrix (the subscripts were checked), which NumPy requires
    square."""
    letters = term.letters
    if len(letters) == 2 and letters[0] == letters[1]:
        emit(P.square_matrix, _dims(term.value, range(2), emit))
        return Term(letters[0], emit(P.diag, [term.value]))
    return term


def _sum_out(term: Term, keep: str, emit: Emit) -> Term:
    """`term` summed over its indices not in `keep`."""
    drop = tuple(k for k, c in enumerate(term.letters) if c not in keep)
    if not drop:
        return term
    rest = "".join(c for c in term.letters if c in keep)
    if not rest:
        return Term("", emit(P.sum, [term.value]))
    return Term(rest, emit(P.sum, [term.value], axis=drop[0] if len(drop) == 1 else drop))


def _arrange(term: Term, order: str, emit: Emit) -> Atom:
    """`term`'s value with its axes in `order` (a permutation of its indices)."""
    if term.letters == order:
        return term.value
    return emit(P.transpose, [term.value], axes=tuple(term.letters.index(c) for c in order))


def _free(term: Term, other: Term, output: str) -> str:
    """`term`'s indices the output keeps and `other` lacks, in the output's order."""
    return "".join(c for c in output if c in term.letters and c not in other.letters)


def _is_matrix_product(a: Term, b: Term, output: str) -> bool:
    """Whether the pair is a matrix product: something summed, no batch index, and the kept
    indices need no reordering once the product has been split back into axes."""
    shared = set(a.letters) & set(b.letters)
    free_a, free_b = _free(a, b, output), _free(b, a, output)
    return bool(shared) and not shared & set(output) and \
        (len(free_a) <= 1 and len(free_b) <= 1 or output == free_a + free_b)


def _matrix_product(a: Term, b: Term, output: str, emit: Emit) -> Term:
    summed = "".join(c for c in a.letters if c in b.letters)
    free_a, free_b = _free(a, b, output), _free(b, a, output)
    left, right = _arrange(a, free_a + summed, emit), _arrange(b, summed + free_b, emit)
    product = emit(P.matmul, [_merge(left, [len(free_a), len(summed)], emit),
                              _merge(right, [len(summed), len(free_b)], emit)])
    if len(free_a) <= 1 and len(free_b) <= 1:
        return Term(free_a + free_b, product)
    dims = _dims(left, range(len(free_a)), emit) + _dims(right, range(len(summed), len(summed + free_b)), emit)
    return Term(free_a + free_b, emit(P.reshape, [product, emit(P.make_tuple, dims)]))


def _merge(value: Atom, runs: list[int], emit: Emit) -> Atom:
    """`value` with each run of ``runs[k]`` consecutive axes merged into one axis (a run of 0
    gives no axis). It is flattened first, into a new array, and so is its tangent: the axes may
    be a transposed view, which Numba cannot reshape."""
    if all(n <= 1 for n in runs):
        return value
    flat = emit(P.flatten, [value])
    if sum(1 for n in runs if n) == 1:
        return flat
    sizes, start = [], 0
    for n in runs:
        if n:
            sizes.append(_product(_dims(value, range(start, start + n), emit), emit))
        start += n
    return emit(P.reshape, [flat, emit(P.make_tuple, sizes)])


def _dims(value: Atom, positions: range, emit: Emit) -> list[Atom]:
    """The lengths of `value`'s axes at `positions`."""
    shape = emit(P.shape, [value])
    return [emit(P.getitem, [shape, const(k)], spec=("i",)) for k in positions]


def _product(factors: list[Atom], emit: Emit) -> Atom:
    total = factors[0]
    for f in factors[1:]:
        total = emit(P.mul, [total, f])
    return total


def _broadcast_product(a: Term, b: Term, output: str, emit: Emit) -> Term:
    order = output + "".join(c for c in a.letters if c in b.letters and c not in output)
    product = emit(P.mul, [_widen(a, order, emit), _widen(b, order, emit)])
    return _sum_out(Term(order, product), output, emit)


def _widen(term: Term, order: str, emit: Emit) -> Atom:
    """`term`'s value with its axes in the order of `order` and a length-1 axis for each index
    of `order` it lacks, ready to broadcast against another operand (a number stays one)."""
    present = "".join(c for c in order if c in term.letters)
    value = _arrange(term, present, emit)
    if not present:
        return value
    for k, c in enumerate(order):
        if c not in term.letters:
            value = emit(P.expand_dims, [value], axis=k)
    return value
