"""NumPy's indexing with arrays in the lowering: reads and stores through an index array or a mask.

Basic indices (integers, slices, None) are the `getitem` and `setitem` primitives as they are.
An index array makes NumPy copy what it selects, and a store through it writes each selected
element, so these become::

    x[i, idx]               getitem(x, i, idx)          one 1-D array (integers or a mask), with
                                                        integers and slices on the other axes
    x[idx] = v              w = last_writes(idx, n)     NumPy's store: where an index repeats,
                            setitem(x, idx[w], v[w])    the last value written stays
    x[idx] += v             t = x[idx] + v, stored so   (read, added, stored: an index that
                                                        repeats adds once, as in NumPy)
    x[mask] = c             where(mask, c, x)           a mask with x's axes and a number
    x[mask] = v             x.ravel() stored into       a mask with x's axes and an array
    x[rows, cols]           x.ravel()[rows * n + cols]  an integer array (or integer) per axis,
                                                        each checked to be in bounds
    np.add.at(x, idx, v)    index_add(x, idx, v)        repeats add up (the scatter-add that is
                                                        also the adjoint of a gather)
    x[rows, :, cols]        x.ravel()[positions]        any other mix of index arrays, integers,
                                                        slices and None: the positions of the
                                                        selected elements (`positions`)

Only the stores without repeats reach the IR (`last_writes` keeps the last of each), so that the
derivative rules of `setitem` (which read ``g[idx]`` and clear it) hold. Numba compiles one 1-D
index array beside integers and slices; the other forms are read and stored through 1-D arrays of
positions. A mask of two or more axes beside other indices is refused with its line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import primitives as P
from ..ir.builder import const
from ..ir.core import Atom, Const, Var

if TYPE_CHECKING:
    from .lower import Lowering


class IndexLowering:
    """The part of `Lowering` that lowers index arrays and masks (mixed into it)."""

    def read_index(self: "Lowering", base: Atom, spec: tuple, operands: list, node) -> Atom:
        """``base[index]``, where the index may hold an array."""
        position = self.array_position(base, spec, operands, node)
        if position is None:
            return self.emit(P.getitem, [base, *operands], node, spec=spec)
        if position in ("mask", "arrays"):  # (every axis at once: of the elements in C order)
            flat = self.emit(P.ravel, [base], node)
            return self.gather(flat, self.flat_index(base, operands, node), [], node)
        if position == "general":  # (any other mix of index arrays, integers, slices and None)
            return self.gather(self.emit(P.ravel, [base], node), self.positions(base, spec, operands, node), [], node)
        if position == "rows":  # (x[idx] with idx of two or more axes: the rows of x it names, in its shape)
            index = self.emit(P.checked_index, [operands[0], self.axis_length(base, spec, 0, node)], node)
            shape = self.emit(P.shape, [base], node)
            rest = [self.emit(P.getitem, [shape, const(a)], node, spec=("i",)) for a in range(1, base.type.ndim)]
            return self.gather(base, index, rest, node)
        operands = self.checked(base, spec, operands, position, node)
        return self.emit(P.getitem, [base, *operands], node, spec=spec)

    def store_index(self: "Lowering", view: Atom, spec: tuple, index: list, value: Atom, prim, node,
                    name: str) -> bool:
        """``view[index] = value`` (``op=`` when `prim` is the operation) when the index holds an
        array; False when it does not (a basic store)."""
        position = self.array_position(view, spec, index, node)
        if position is None:
            return False
        if prim is None and any(a.type.is_array and a.type.dtype == "bool" for a in index) \
                and isinstance(value, Var) and value.type.is_array and self.mem.storages(value) & self.mem.storages(view):
            raise self.error(node, f"this store copies into '{name}' through a mask from a view of the same memory: "
                                   "NumPy copies each run of selected elements in turn without copying the right "
                                   "side first, so what a run reads may have been written by an earlier one. Copy "
                                   "the right side first (x[m] = x[:k].copy())")
        if position in ("mask", "arrays", "rows", "general"):
            where = self.positions(view, spec, index, node) if position == "general" else None
            self.write(view, self.flat_store(view, index, value, prim, node, rows=position == "rows", where=where),
                       node, name)
            return True
        index = self.checked(view, spec, index, position, node)
        selected = self.emit(P.getitem, [view, *index], node, spec=spec)  # (what the store replaces)
        if prim is not None:  # (x[idx] op= v: read, operate, store, as NumPy does)
            value = self.emit(prim, [selected, value], node)
        at = _operand_at(spec, position)
        array = index[at]
        if array.type.dtype != "bool":  # (the last write of each index, so that none repeats)
            kept = self.emit(P.last_writes, [array, self.axis_length(view, spec, position, node)], node)
            if value.type.is_array:
                value = self.emit(P.broadcast_to, [value, self.emit(P.shape, [selected], node)], node)
                lead = spec[:position].count("s")
                value = self.emit(P.getitem, [value, *[const(None)] * (3 * lead), kept], node,
                                  spec=("s",) * lead + ("i",))
            index = [*index[:at], self.emit(P.getitem, [array, kept], node, spec=("i",)), *index[at + 1:]]
        self.write(view, self.emit(P.setitem, [view, *index, value], node, name, spec=spec), node, name)
        return True

    def add_at(self: "Lowering", args: list, kwargs: dict, node) -> Atom:
        """``np.add.at(x, idx, v)``: v added into x at idx, in place, each repeat adding."""
        if kwargs or len(args) != 3:
            raise self.error(node, "np.add.at takes (x, indices, values)")
        x, index, value = (self.current(a, node) for a in args)
        index = self.listed_index(index, node)
        if not (isinstance(x, Var) and x.type.is_array):
            raise self.error(node, "np.add.at adds into an array")
        if not isinstance(index, (Var, Const)) or index.type.element.kind not in ("i64", "bool") or index.type.ndim > 1:
            raise self.error(node, "np.add.at takes one index: an integer or a one-dimensional index array or mask")
        index = self.checked(x, ("i",), [index], 0, node)[0] if index.type.is_array else \
            self.emit(P.checked_index, [index, self.axis_length(x, ("i",), 0, node)], node)
        value = self.operand(value, node)
        if value.type.is_array:  # (the helper takes the selected shape exactly)
            selected = self.emit(P.getitem, [x, index], node, spec=("i",))
            value = self.emit(P.broadcast_to, [value, self.emit(P.shape, [selected], node)], node)
        self.write(x, self.emit(P.index_add, [x, index, value], node, spec=("i",)), node)
        return const(None)

    def flat_store(self: "Lowering", x: Atom, index: list, value: Atom, prim, node, rows: bool = False,
                   where: Atom | None = None) -> Atom:
        """x's new value after ``x[index] = value`` (or ``op=``) with a mask of x's shape, an
        index array per axis, (`rows`) one integer array naming rows of x, or any index whose
        selected elements are at the positions `where`: a store into a copy of x's elements in C
        order."""
        mask = index[0] if len(index) == 1 and index[0].type.dtype == "bool" and where is None else None
        if mask is not None and not value.type.is_array:  # (a number: wherever the mask is set)
            new = self.emit(prim, [x, value], node) if prim is not None else value
            return self.emit(P.where, [mask, new, x], node)
        if where is None:
            where = self.row_elements(x, index[0], node) if rows else self.flat_index(x, index, node)
        if where.type.ndim > 1:  # (positions in the selection's shape: read, with the values, in C order)
            if value.type.is_array:
                value = self.emit(P.ravel, [self.emit(P.broadcast_to, [value, self.emit(P.shape, [where], node)],
                                                      node)], node)
            where = self.emit(P.ravel, [where], node)
        return self.stored_flat(x, where, value, prim, node, repeats=mask is None)

    def row_elements(self: "Lowering", x: Atom, index: Atom, node) -> Atom:
        """The positions in x's elements (C order) of ``x[index]`` (index: integers naming rows,
        of any shape), in its shape: ``index.shape + x.shape[1:]``."""
        index = self.emit(P.checked_index, [index, self.axis_length(x, ("i",), 0, node)], node)
        if x.type.ndim == 1:
            return index
        shape = self.emit(P.shape, [x], node)
        rest = [self.emit(P.getitem, [shape, const(a)], node, spec=("i",)) for a in range(1, x.type.ndim)]
        row = rest[0]
        for length in rest[1:]:
            row = self.emit(P.mul, [row, length], node)
        offsets = self.emit(P.reshape, [self.emit(P.arange, [row], node), self.emit(P.make_tuple, rest, node)], node)
        for _ in rest:
            index = self.emit(P.expand_dims, [index], node, axis=-1)
        return self.emit(P.add, [self.emit(P.mul, [index, row], node), offsets], node)

    def stored_flat(self: "Lowering", x: Atom, where: Atom, value: Atom, prim, node, repeats: bool) -> Atom:
        """x's new value once its elements in C order at the positions `where` hold `value`
        (``op=`` value); where a position may repeat, the last value written stays."""
        mark = self.mark()
        flat = self.emit(P.copy, [self.emit(P.ravel, [x], node)], node)
        if prim is not None:
            value = self.emit(prim, [self.emit(P.getitem, [flat, where], node, spec=("i",)), value], node)
        if repeats:  # (the last write of each element)
            kept = self.emit(P.last_writes, [where, self.emit(P.size, [x], node)], node)
            if value.type.is_array:
                value = self.emit(P.broadcast_to, [value, self.emit(P.shape, [where], node)], node)
                value = self.emit(P.getitem, [value, kept], node, spec=("i",))
            where = self.emit(P.getitem, [where, kept], node, spec=("i",))
        flat = self.emit(P.setitem, [flat, where, value], node, spec=("i",))
        return self.new_memory(self.emit(P.reshape, [flat, self.emit(P.shape, [x], node)], node), mark, node)

    def flat_along(self: "Lowering", x: Atom, index: Atom, axis: int, node) -> Atom:
        """The positions in x's elements (C order) of ``take_along_axis(x, index, axis)``: index
        (checked) along `axis`, the row or column of each entry along the other."""
        shape = self.emit(P.shape, [x], node)
        lengths = [self.emit(P.getitem, [shape, const(a)], node, spec=("i",)) for a in range(x.type.ndim)]
        along = self.emit(P.checked_index, [index, lengths[axis]], node)
        if x.type.ndim == 1:
            return along
        other = self.emit(P.arange, [lengths[1 - axis]], node)
        other = self.emit(P.expand_dims, [other], node, axis=axis)  # (a column of rows, or a row of columns)
        rows, cols = (other, along) if axis == 1 else (along, other)
        return self.emit(P.add, [self.emit(P.mul, [rows, lengths[1]], node), cols], node)

    def put_along_axis(self: "Lowering", args: list, kwargs: dict, node) -> Atom:
        """``np.put_along_axis(arr, indices, values, axis)``: a store into arr, in place."""
        names = ("arr", "indices", "values", "axis")
        if len(args) + len(kwargs) != 4 or any(k not in names[len(args):] for k in kwargs):
            raise self.error(node, "np.put_along_axis takes (arr, indices, values, axis)")
        arr, indices, values, axis = [*args, *(kwargs[k] for k in names[len(args):])]
        x, index, value = (self.operand(self.current(a, node), node) for a in (arr, indices, values))
        if not (isinstance(x, Var) and index.type.is_array and index.type.dtype == "i64"
                and index.type.ndim == x.type.ndim <= 2 and isinstance(axis, Const) and isinstance(axis.value, int)
                and -x.type.ndim <= axis.value < x.type.ndim):
            raise self.error(node, "np.put_along_axis takes a vector or a matrix, integer indices of as many "
                                   "axes, values, and a literal axis")
        flat = self.flat_along(x, index, axis.value % x.type.ndim, node)
        where = self.emit(P.ravel, [flat], node)
        if value.type.is_array:
            value = self.emit(P.ravel, [self.emit(P.broadcast_to, [value, self.emit(P.shape, [flat], node)], node)],
                              node)
        self.write(x, self.stored_flat(x, where, value, None, node, repeats=True), node)
        return const(None)

    def gather(self: "Lowering", x: Atom, index: Atom, rest: list, node) -> Atom:
        """``x[index]`` along x's first axis, whose other axes have the lengths `rest`: an index
        of two or more axes is read ravelled (Numba compiles 1-D index arrays), then shaped."""
        if index.type.ndim <= 1:
            return self.emit(P.getitem, [x, index], node, spec=("i",))
        taken = self.emit(P.getitem, [x, self.emit(P.ravel, [index], node)], node, spec=("i",))
        shape = self.emit(P.shape, [index], node)
        lengths = [self.emit(P.getitem, [shape, const(a)], node, spec=("i",)) for a in range(index.type.ndim)]
        return self.emit(P.reshape, [taken, self.emit(P.make_tuple, lengths + rest, node)], node)

    def flat_index(self: "Lowering", x: Atom, index: list, node) -> Atom:
        """The index into x's elements in C order that `index` (a mask of x's shape, or an index
        array or integer per axis) selects."""
        if len(index) == 1 and index[0].type.dtype == "bool":
            return self.emit(P.ravel, index, node)
        shape = self.emit(P.shape, [x], node)
        flat = None
        for axis, i in enumerate(index):
            length = self.emit(P.getitem, [shape, const(axis)], node, spec=("i",))
            i = self.emit(P.checked_index, [i, length], node)
            flat = i if flat is None else self.emit(P.add, [self.emit(P.mul, [flat, length], node), i], node)
        return flat

    def positions(self: "Lowering", x: Atom, spec: tuple, operands: list, node) -> Atom:
        """The positions in x's elements (C order) of ``x[index]``, in its shape, for any mix of
        integer arrays, integers, slices and None (NumPy's advanced indexing): the integers and
        arrays select together, their broadcast shape B taking the place of the first of them
        when they are next to one another in the index, else coming first; each slice and None
        keeps its axis in order. The position is the sum over x's axes of the index along the
        axis (an array, or the slice's range, placed on its output axes) times the axis's stride."""
        parts = _parts(spec, operands)
        parts += [("s", [const(None)] * 3)] * (x.type.ndim - sum(kind != "n" for kind, _ in parts))
        picked = [k for k, (kind, _) in enumerate(parts) if kind == "i"]
        together = picked == list(range(picked[0], picked[-1] + 1))
        before = picked[0] if together else 0  # (the output axes ahead of B: the basic parts before it)
        rank = max(ops[0].type.ndim if ops[0].type.is_array else 0 for kind, ops in parts if kind == "i")
        basic = [k for k, (kind, _) in enumerate(parts) if kind != "i"]
        out_ndim = rank + len(basic)
        shape = self.emit(P.shape, [x], node)
        lengths = [self.emit(P.getitem, [shape, const(a)], node, spec=("i",)) for a in range(x.type.ndim)]
        flat, stride, axis = None, const(1), x.type.ndim
        for k in reversed(range(len(parts))):  # (the last axis first: its stride is 1)
            kind, ops = parts[k]
            if kind == "n":
                continue
            axis -= 1
            along = self.along_axis(kind, ops, lengths[axis], node)
            if kind == "i":  # (B's axes, the last ones of B)
                first = before + rank - (along.type.ndim if along.type.is_array else 0)
            else:
                first = basic.index(k) + (rank if k > picked[0] or not together else 0)
            term = self.emit(P.mul, [self.placed(along, first, out_ndim, node), stride], node)
            flat = term if flat is None else self.emit(P.add, [term, flat], node)
            stride = self.emit(P.mul, [stride, lengths[axis]], node)
        return flat

    def along_axis(self: "Lowering", kind: str, ops: list, length: Atom, node) -> Atom:
        """The indices an index part selects along an axis of `length`: an integer or integer
        array (checked), the positions where a mask is set, or a slice's range."""
        if kind == "i" and ops[0].type.dtype == "bool":
            mask = self.emit(P.checked_mask, [ops[0], length], node)
            return self.emit(P.getitem, [self.emit(P.arange, [length], node), mask], node, spec=("i",))
        if kind == "i":
            return self.emit(P.checked_index, [ops[0], length], node)
        indices = self.emit(P.arange, [length], node)
        if all(isinstance(o, Const) and o.value is None for o in ops):  # (a whole axis)
            return indices
        return self.emit(P.getitem, [indices, *ops], node, spec=("s",))

    def placed(self: "Lowering", index: Atom, first: int, out_ndim: int, node) -> Atom:
        """`index` with axes of length 1 around it so that its own axes are the output's axes
        from `first` on, of `out_ndim` in all."""
        if not index.type.is_array:  # (an integer: broadcast as it is)
            return index
        ndim = index.type.ndim
        for _ in range(first):
            index = self.emit(P.expand_dims, [index], node, axis=0)
        for _ in range(out_ndim - first - ndim):
            index = self.emit(P.expand_dims, [index], node, axis=-1)
        return index

    def array_position(self: "Lowering", base: Atom, spec: tuple, operands: list, node):
        """Where the index's array is (its position in `spec`) when it is one vector, "mask" for
        a mask with all of base's axes, "arrays" for an integer array or integer per axis, "rows"
        for one integer array of two or more axes alone, "general" for any other mix of arrays,
        integers, slices and None (`positions`), or None when the index has no array. Refuses a
        mask of two or more axes beside other indices."""
        arrays = [k for k, a in enumerate(_per_part(spec, operands)) if a is not None and a.type.is_array]
        if not arrays:
            return None
        parts = _per_part(spec, operands)
        first = parts[arrays[0]]
        if len(spec) == 1 and first.type.dtype == "bool" and first.type.ndim == base.type.ndim > 1:
            return "mask"
        if len(arrays) > 1 and len(spec) == base.type.ndim and set(spec) == {"i"} \
                and all(p.type.dtype == "i64" for p in parts):
            return "arrays"
        if spec == ("i",) and first.type.dtype == "i64" and first.type.ndim > 1:
            return "rows"
        picked = [k for k, p in enumerate(parts) if p is not None]  # (the arrays and the integers)
        if len(arrays) == 1 and first.type.ndim == 1 and "n" not in spec and \
                (picked == list(range(picked[0], picked[-1] + 1)) or "s" not in spec[:arrays[0]]):
            return arrays[0]  # (its axis where NumPy puts it: in place, or first with no slice before it)
        if any(parts[k].type.dtype == "bool" and parts[k].type.ndim > 1 for k in arrays):
            raise self.error(node, "a mask of two or more axes selects alone (x[mask], with all of x's axes); "
                                   "beside other indices, select with integer arrays")
        return "general"

    def checked(self: "Lowering", base: Atom, spec: tuple, operands: list, position: int, node) -> list:
        """The operands, with the index array checked against the length of its axis: a mask to
        have that length, integers to lie within it (NumPy's IndexError; compiled code would read
        and write past the array), counted from the start."""
        at = _operand_at(spec, position)
        check = P.checked_mask if operands[at].type.dtype == "bool" else P.checked_index
        length = self.axis_length(base, spec, position, node)
        return [*operands[:at], self.emit(check, [operands[at], length], node), *operands[at + 1:]]

    def axis_length(self: "Lowering", base: Atom, spec: tuple, position: int, node) -> Atom:
        """The length of the axis of `base` the index's entry at `position` selects from."""
        return self.emit(P.getitem, [self.emit(P.shape, [base], node), const(position)], node, spec=("i",))


def _parts(spec: tuple, operands: list) -> list[tuple[str, list]]:
    """Each part of an index as (its kind, its operands): "i" and [an integer or array], "s" and
    [start, stop, step], "n" (None) and []."""
    out, pos = [], 0
    for kind in spec:
        count = {"i": 1, "s": 3}.get(kind, 0)
        out.append((kind, operands[pos:pos + count]))
        pos += count
    return out


def _per_part(spec: tuple, operands: list) -> list:
    """The operand of each part of an index: an integer or array, None for a slice or None."""
    out, pos = [], 0
    for kind in spec:
        out.append(operands[pos] if kind == "i" else None)
        pos += {"i": 1, "s": 3}.get(kind, 0)
    return out


def _operand_at(spec: tuple, position: int) -> int:
    """The index among the operands of the operand of the part at `position`."""
    return sum({"i": 1, "s": 3}.get(kind, 0) for kind in spec[:position])
