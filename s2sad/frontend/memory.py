"""NumPy's memory semantics in the lowering: views, aliases and in-place updates.

In NumPy a name refers to an array, several names and views (``v = x``, ``x[1:]``, ``A.T``,
``A[:, 0]``, a helper's parameter) may look into the same memory, and an update in place through
any of them (``v += 1.0``, ``v[0] = 5.0``, a helper's ``a -= 1.0``) is seen through all the
others. The IR has immutable values instead, so the lowering keeps, for every array value, where
its memory comes from, and turns an update into new values::

    v = x[1:]                 v: f64[:] = getitem(x; 1:)
    v += 1.0                  t: f64[:] = add(v, 1.0)
                              x.1: f64[:] = setitem(x, t; 1:)       x's memory, written through v
    return np.sum(x * x)      ... mul(x.1, x.1)

Terms:

* A **storage** is one block of memory: a parameter, a module's array, or the result of an
  operation that makes a new array. It is named by the IR value that first held it. Once it has
  been written into, the environment holds its latest value under the key `Latest(storage)`,
  beside the names, so that branches and loops carry and join it like a variable.
* A **view** is an array made from another by an operation that does not copy (basic indexing,
  transposes, ``np.diag`` of a matrix, ...). `Memory.steps` records how (`Step`), so that a view
  whose storage has been written into since it was made is made again from the storage's latest
  value when it is next read (`MemoryLowering.current`), and so that a write through a view
  becomes a write into its base (`MemoryLowering.write_through`).
* A value that an ``if`` or a loop binds to one array on some paths and to another on others has
  no static relation to either: it is **ambiguous** (`Ambiguous`). It may be read as long as no
  storage it may share has been written into since, and it may not be written through; either
  would make the result depend on the path, and is refused at its line.

The IR stays functional: codegen's copy insertion later decides where the new values may be
written in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import primitives as P
from ..ir.core import TEMP, Atom, Const, Eqn, Loc, Var
from .values import DictVal, RecordVal, TupleVal, contents, with_contents

# Operations whose result is a view of their first operand, and how a write into the view
# reaches the base. Read-only views (NumPy refuses to write into them) have no way back.
_READ_ONLY = {P.diag: "np.diag gives a read-only view", P.broadcast_to: "np.broadcast_to gives a read-only view",
              P.stop: "a custom rule's body may not write into its arguments"}
_LAYOUT = {P.reshape, P.ravel}  # a view only when the base is contiguous, else a copy
_CONTIGUOUS = {P.zeros, P.ones, P.empty, P.full, P.eye, P.arange, P.linspace}  # new C-ordered arrays
# (not P.copy: np.copy(x), x * 1.0, +x and x.astype(float) keep the layout of x, NumPy's order='K', so
# a copy of a Fortran-ordered matrix is Fortran-ordered; the method x.copy(), order='C', is marked
# contiguous where it is lowered)


@dataclass(frozen=True)
class Latest:
    """The environment key under which the latest value of a storage is kept."""

    storage: Var


@dataclass(eq=False)
class Step:
    """A view made from `base` by ``prim(base, *operands; params)``."""

    base: Var
    prim: P.Primitive
    operands: tuple
    params: dict

    def same_as(self, other: "Step") -> bool:
        """Do both steps make the same view of the same base (equal operands and parameters)?"""
        return self.prim is other.prim and self.params == other.params \
            and len(self.operands) == len(other.operands) \
            and all(_same_atom(a, b) for a, b in zip(self.operands, other.operands))


@dataclass
class Ambiguous:
    """A value that may share memory with `versions`' storages (each at the value it had when
    this one was bound), or may not; bound at `loc` by an if or a loop."""

    versions: dict = field(default_factory=dict)  # storage → its value then
    loc: Loc | None = None


class Memory:
    """What the lowerings of one function (its regions and inlined helpers) know about memory."""

    def __init__(self):
        self.steps: dict[Var, Step] = {}       # a view → how it was made
        self.storage: dict[Var, Var] = {}      # a later value of a storage → the storage
        self.ambiguous: dict[Var, Ambiguous] = {}
        self.external: set[Var] = set()        # storages the caller sees: parameters
        self.module: dict[Var, str] = {}       # storages that are a module's arrays → their names
        self.contiguous: set[Var] = set()      # storages known to be C-ordered
        self.appended: set[Var] = set()        # storages of arrays appended to a list (never written after)
        self.list_rows: dict[Var, str] = {}    # storages of a list's rows read in its loop → the list's name
        self.lists: dict[object, object] = {}  # a list the function made (its ident) → the region that made it
        self.published: dict[Var, dict] = {}   # storages assigned to a module global → {env key: (name, space)}
        self.numbers_in: dict[int, int] = {}   # id of a parameter that is a number → its index
        self.updated: set[int] = set()         # those updated in place (x += ...: NumPy's update of a 0-d array)
        self.numpy_ints: set[Var] = set()      # integers NumPy made (an array's element, and arithmetic on it)

    def chain(self, v: Var) -> tuple[Var, list[Step]]:
        """(the value of the storage `v` looks into, the steps from it to `v`, in order)."""
        steps = []
        while v in self.steps:
            step = self.steps[v]
            steps.append(step)
            v = step.base
        return v, steps[::-1]

    def storage_of(self, v: Var) -> Var:
        root, _ = self.chain(v)
        return self.storage.get(root, root)

    def unsure(self, v: Var) -> Ambiguous | None:
        """The `Ambiguous` record of what `v` looks into (v, or the value it is a view of), if any."""
        return self.ambiguous.get(self.chain(v)[0])

    def storages(self, value) -> set[Var]:
        """The storages `value` (an atom, a tuple, anything an environment holds) may look into."""
        if isinstance(value, (TupleVal, DictVal, RecordVal)):
            return set().union(*(self.storages(v) for v in contents(value)))
        if not (isinstance(value, Var) and value.type.is_array):
            return set()
        root, _ = self.chain(value)
        if root in self.ambiguous:
            return {root, *self.ambiguous[root].versions}
        return {self.storage.get(root, root)}

    def is_view(self, prim: P.Primitive, ins: list[Atom], out) -> bool:
        """Does NumPy's operation give a view of its first operand here?"""
        if not (isinstance(out, Var) and out.type.is_array and ins and isinstance(ins[0], Var)
                and ins[0].type.is_array):
            return False
        if prim is P.getitem:
            return not any(a.type.is_array for a in ins[1:])  # an index array makes a copy
        if prim is P.diag:
            return ins[0].type.ndim == 2  # (of a vector, np.diag makes a new matrix)
        if prim in (P.list_rows, P.list_grow):
            return False  # (a list's rows: the array it returns is the list's alone)
        return prim.aliases or prim in _READ_ONLY

    def contiguous_view(self, v: Var) -> bool:
        """Is `v` known to be C-contiguous (so that NumPy's reshape of it is a view)?"""
        root, steps = self.chain(v)
        if self.storage.get(root, root) not in self.contiguous:
            return False
        return all(s.prim in _LAYOUT or s.prim in (P.expand_dims, P.squeeze)
                   or s.prim is P.getitem and _leading_integers(s.params["spec"]) for s in steps)


def _new_vector(prim: P.Primitive, out: Var) -> bool:
    """Is `out` a vector NumPy makes new (`x * 2.0`, `np.sin(x)`, `x[idx]`)? Such a vector is
    contiguous, whatever its operands' layout (a module's array read is not new)."""
    return out.type.ndim == 1 and not prim.aliases and prim is not P.global_read


def _leading_integers(spec: tuple) -> bool:
    """Does an index of this spec select whole trailing axes (``X[i]``, ``X[i, j]``)?"""
    return all(s == "i" for s in spec)


def _same_atom(a: Atom, b: Atom) -> bool:
    return a is b or (not isinstance(a, Var) and not isinstance(b, Var) and a == b)


class MemoryLowering:
    """The part of `Lowering` that keeps NumPy's memory semantics (mixed into it)."""

    mem: Memory
    env: dict
    remade: dict  # (a stale view, its storage's latest value) → the view made again

    # --- reading: views made again from their storage's latest value ---------------------------

    def current(self, value, node=None, name: str = TEMP):
        """`value` as it reads now: a view whose storage has been written into since it was made,
        made again from the storage's latest value (values that are not views pass through)."""
        if isinstance(value, (TupleVal, DictVal, RecordVal)):  # (a container's arrays, each as it reads now)
            return with_contents(value, (self.current(v, node, name) for v in contents(value)))
        if not (isinstance(value, Var) and value.type.is_array):
            return value
        unsure = self.mem.unsure(value)
        if unsure is not None:
            self.check_unwritten(unsure, node, name)
            return value
        root, steps = self.mem.chain(value)
        storage = self.mem.storage.get(root, root)
        latest = self.latest(storage)
        if latest is root:
            return value
        key = (value, latest)
        if key not in self.remade:
            self.check_layout(value, steps, node, name, "read after its array was written into")
            out = latest
            for step in steps:
                out = self.emit(step.prim, [out, *step.operands], node, name if step is steps[-1] else TEMP,
                                **step.params)
            self.remade[key] = out
        return self.remade[key]

    def latest(self, storage: Var) -> Var:
        return self.env.get(Latest(storage), storage)

    def check_unwritten(self, amb: Ambiguous, node, name: str) -> None:
        """Refuse to read an ambiguous value (or a view of one) once a storage it may share has
        been written into."""
        for storage, then in amb.versions.items():
            if self.latest(storage) is not then:
                raise self.error(node, f"{_called(name)} may or may not share memory with another array (it is bound "
                                       f"{_where(amb.loc)} to one array on some paths and to another on others), "
                                       "and that array has been written into since: NumPy's value here depends on "
                                       "the path taken. Bind it with .copy() to make it an array of its own")

    def check_layout(self, value: Var, steps: list[Step], node, name: str, what: str) -> None:
        """Refuse a reshaped view whose base may not be contiguous: NumPy's reshape is then a copy."""
        if any(s.prim in _LAYOUT for s in steps) and not self.mem.contiguous_view(value):
            raise self.error(node, f"{_called(name)} is a reshape of an array that is {what}; NumPy's reshape gives "
                                   "a view or a copy depending on the array's memory layout, which is not known here. "
                                   "Use .copy() to make it an array of its own, or reshape after the write")

    # --- writing: an update through any name reaches the storage --------------------------------

    def write(self, target: Var, new: Var, node, name: str = TEMP) -> None:
        """The memory `target` (a current value) looks into now holds `new` where target was."""
        amb = self.mem.unsure(target)
        if amb is not None:
            raise self.error(node, f"{_called(name)} may or may not share memory with another array (it is bound "
                                   f"{_where(amb.loc)} to one array on some paths and to another on others), so "
                                   "NumPy's result of writing into it depends on the path taken; bind it with "
                                   ".copy() to make it an array of its own")
        root, steps = self.mem.chain(target)
        self.check_layout(target, steps, node, name, "written through")
        for step in reversed(steps):
            new = self.write_through(step, new, node, name)
        storage = self.mem.storage.get(root, root)
        if storage in self.mem.appended:
            raise self.error(node, f"{_called(name)} was appended to a list, which holds the array itself: writing "
                                   "into it would change the list's item too; append a copy (.copy())")
        if storage in self.mem.list_rows:
            listed = self.mem.list_rows[storage]
            raise self.error(node, f"{_called(name)} is an item of the list {listed}, which is the array that was "
                                   "put in the list: writing into it would change that array too, which s2sad does "
                                   f"not follow; work on a copy ({listed}[-1].copy())")
        if storage in self.mem.module:
            raise self.error(node, f"this writes into '{self.mem.module[storage]}', an array from outside the "
                                   "function (a module global or a closure variable), which s2sad does not do; pass the array as an argument, or work on a copy "
                                   f"({self.mem.module[storage]}.copy())")
        if new is root:
            return
        if new in self.mem.steps or new in self.mem.storage or new in self.mem.ambiguous:
            raise AssertionError(f"a write's new value {new!r} already belongs to another array")
        self.mem.storage[new] = storage
        self.env[Latest(storage)] = new
        self.republish(storage, node)

    def publish(self, value, key: str, name: str, space: str) -> None:
        """Note that the module global `name` (the environment key `key`) now refers to `value`'s
        memory: NumPy's module then holds that very array, and sees later writes into it."""
        if isinstance(value, Var) and value.type.is_array:
            self.mem.published.setdefault(self.mem.storage_of(value), {})[key] = (name, space)

    def republish(self, storage: Var, node) -> None:
        """After a write into `storage`, give the module globals that refer to its memory the new
        contents (the IR's values are not memory: the module would keep the value before the
        write). A global that may or may not refer to it, depending on the path taken, is refused."""
        for key, (name, space) in self.mem.published.get(storage, {}).items():
            bound = self.env.get(key)
            if not (isinstance(bound, Var) and bound.type.is_array):
                continue
            if self.mem.unsure(bound) is not None and storage in self.mem.storages(bound):
                raise self.error(node, f"this writes into an array that the global '{name}' may or may not refer to "
                                       f"(it is assigned {_where(self.mem.unsure(bound).loc)} on some paths only), so "
                                       "NumPy's module would see the write on some paths only; assign the global a copy (.copy()) "
                                       "or assign it after the last write")
            if self.mem.storage_of(bound) is not storage:
                continue  # (the global was assigned another array since)
            now = self.current(bound, node, name)  # (the key keeps `bound`: reads make it again, as names)
            self.b.append(Eqn([], P.global_write, [now], {"name": name, "space": space}, self.src.loc(node)))

    def republish_params(self, written: list[Var], node) -> None:
        """At the end of the function: a module global that refers to the memory of a parameter the
        function wrote into (``G = x[1:]``, before or after ``x *= 2.0``) is made that view of the
        caller's array again, which the writeback leaves as NumPy would: NumPy's module holds a view
        of the caller's array, not a copy, so the caller's later writes reach it. One that may or may
        not refer to it, depending on the path taken, is refused."""
        for p in written:
            for key, (name, space) in self.mem.published.get(p, {}).items():
                bound = self.env.get(key)
                if not (isinstance(bound, Var) and bound.type.is_array) or p not in self.mem.storages(bound):
                    continue
                if self.mem.unsure(bound) is not None:
                    raise self.error(node, f"the global '{name}' may or may not refer to the memory of an argument "
                                           f"the function writes into (it is assigned {_where(self.mem.unsure(bound).loc)} "
                                           "on some paths only), so whether NumPy's module sees the caller's array "
                                           "depends on the path taken; assign the global a copy (.copy())")
                view = p
                for step in self.mem.chain(bound)[1]:
                    view = self.emit(step.prim, [view, *step.operands], node, TEMP, **step.params)
                self.b.append(Eqn([], P.global_write, [view], {"name": name, "space": space}, self.src.loc(node)))

    def check_overlap(self, dst: Var, spec: tuple, index: list, value, node, name: str) -> None:
        """Refuse ``x[idx] = v`` where ``x[idx]`` is one-dimensional and `v` a view of x's memory
        with other strides. NumPy copies into a one-dimensional destination element by element
        without copying `v` first (it only picks the direction in which to go), so an element
        may be read after it was written: ``x[1] = x[:, 2]`` stores x[1, 2]'s new value at x[1, 1].
        A shift along one axis (``x[1:] = x[:-1]``) comes out as if `v` were copied first, as do
        a view running the other way (``x[:] = x[::-1]``) and all stores into more axes (NumPy
        copies `v` when they overlap)."""
        if not (isinstance(value, Var) and value.type.is_array and value.type.ndim >= 1) \
                or P.index_result_type(dst.type, [a.type for a in index], spec).ndim != 1 \
                or not self.mem.storages(value) & self.mem.storages(dst):
            return
        root, steps = self.mem.chain(dst)
        target = _strides(root, [*steps, Step(dst, P.getitem, tuple(index), {"spec": spec})])
        source = None if self.mem.unsure(value) is not None else _strides(*self.mem.chain(value))
        if source is not None and target is not None and source[0] is target[0] \
                and _opposite_steps(source[1], target[1]):
            return  # (NumPy copies `v` first when the strides run in opposite directions: x[:] = x[::-1])
        if source is None or target is None or source[0] is not target[0] or not _same_stride(source[1], target[1]):
            raise self.error(node, f"this store copies into {_called(name)} from a view of the same memory with other "
                                   "strides, which may overlap the elements written: NumPy copies into a "
                                   "one-dimensional region element by element, so its result depends on the order "
                                   "of the elements in memory. Copy the right side first (x[1] = x[:, 2].copy())")

    def write_through(self, step: Step, new: Var, node, name: str) -> Var:
        """The value of `step.base` once its view made by `step` holds `new`."""
        if step.prim in _READ_ONLY:
            raise self.error(node, f"{_called(name)} cannot be written into: {_READ_ONLY[step.prim]} "
                                   "(NumPy raises an error); make a copy with .copy() first")
        base, emit = step.base, self.b.emit
        if step.prim is P.getitem:
            if "n" in step.params["spec"]:
                raise self.error(node, f"{_called(name)} is a view made with None (np.newaxis) in its index; "
                                       "writing through it is not supported: write into the array it views")
            return emit(P.setitem, [base, *step.operands, new], spec=step.params["spec"])
        if step.prim is P.transpose:
            axes = step.params.get("axes")
            return emit(P.transpose, [new], axes=None if axes is None else tuple(int(a) for a in np.argsort(axes)))
        if step.prim in (P.swapaxes, P.flip):
            return emit(step.prim, [new], **step.params)
        if step.prim in (P.expand_dims, P.squeeze) or step.prim in _LAYOUT:
            return emit(P.reshape, [new, emit(P.shape, [base])])
        raise self.error(node, f"writing through a view made by {step.prim.name} is not supported; "
                               "make a copy with .copy() first")

    def register(self, prim: P.Primitive, ins: list, out, params: dict) -> None:
        """Record what an emitted operation's result is: a view of its operand, or new memory."""
        if self.mem.is_view(prim, ins, out):
            self.mem.steps[out] = Step(ins[0], prim, tuple(ins[1:]), dict(params))
        elif isinstance(out, Var) and out.type.is_array and (prim in _CONTIGUOUS or _new_vector(prim, out)):
            self.mem.contiguous.add(out)

    def new_memory(self, value, mark: int, node):
        """`value`, made at or after `mark`, as an array of its own: what NumPy gives for a function
        that copies, even where the operations it is lowered to would view their operand."""
        if not (isinstance(value, Var) and value.type.is_array):
            return value
        if value.id < mark:
            return self.emit(P.copy, [value], node)
        self.mem.steps.pop(value, None)
        return value

    # --- joins: what a value bound by an if or a loop is -------------------------------------------

    def references(self, storage: Var, envs, but: object) -> bool:
        """Does any value in `envs` other than the key `but` look into `storage`?"""
        return any(key != but and not isinstance(key, Latest) and storage in self.mem.storages(value)
                   for env in envs for key, value in env.items())

    def sole(self, value, key, envs) -> bool:
        """Is `value` (bound to `key`) the only way to its memory: not ambiguous, not the caller's
        or a module's memory, and looked into by no other value in `envs`? (It may be a view of an
        array nothing else refers to: writes through it are seen through it alone.)"""
        if not (isinstance(value, Var) and value.type.is_array):
            return True
        if self.mem.unsure(value) is not None:
            return False
        storage = self.mem.storage_of(value)
        return storage not in self.mem.external and storage not in self.mem.module \
            and not self.references(storage, envs, key)

    def ambiguous(self, out: Var, values: list, loc: Loc | None, mark: int) -> None:
        """Make `out` ambiguous between `values`: it may look into their storages that were made
        before `mark` (at their latest values here), or be new memory."""
        storages = set().union(*(self.mem.storages(v) for v in values))
        self.mem.ambiguous[out] = Ambiguous({s: self.latest(s) for s in storages if s.id < mark}, loc)

    def same_view(self, a, b, mark: int) -> list[Step] | None:
        """The steps shared by two views (the values of two branches) of one storage made before
        `mark`, made the same way from operands made before `mark`; None if there are none."""
        if not (isinstance(a, Var) and isinstance(b, Var) and a.type.is_array and b.type.is_array) \
                or self.mem.unsure(a) is not None or self.mem.unsure(b) is not None:
            return None
        (ra, sa), (rb, sb) = self.mem.chain(a), self.mem.chain(b)
        storage = self.mem.storage.get(ra, ra)
        if storage is not self.mem.storage.get(rb, rb) or storage.id >= mark or len(sa) != len(sb) \
                or not all(x.same_as(y) for x, y in zip(sa, sb)) \
                or any(isinstance(o, Var) and o.id >= mark for step in sa for o in step.operands):
            return None
        return sa

    def view_again(self, storage: Var, steps: list[Step], node, name: str) -> Atom:
        """The view `steps` make of `storage`'s latest value (after a join)."""
        out = self.latest(storage)
        for step in steps:
            out = self.emit(step.prim, [out, *step.operands], node, name if step is steps[-1] else TEMP, **step.params)
        return out


def _strides(root: Var, steps: list[Step]) -> tuple[Var, tuple] | None:
    """(root, (axis, step)) for a one-dimensional view made from `root` by basic indexes (integers
    and slices, one after another: ``v = x[1:]`` then ``v[:]``, a row ``B[0]`` then ``[1:]``): the
    axis of root it runs along and the step it takes there; None for any other view."""
    axes: list[tuple[int, object]] = [(axis, None) for axis in range(root.type.ndim)]
    for k, step in enumerate(steps):
        if step.prim is not P.getitem or (k == 0 and step.base is not root):
            return None
        spec, operands = step.params["spec"], list(step.operands)
        if "n" in spec or any(a.type.is_array for a in operands):
            return None
        kept, pos = [], 0
        for axis, kind in enumerate(spec):
            if kind == "s":
                along = _times(axes[axis][1], operands[pos + 2])
                if along is _UNKNOWN:
                    return None
                kept.append((axes[axis][0], along))
            pos += 3 if kind == "s" else 1
        axes = kept + axes[len(spec):]
    return (root, axes[0]) if len(axes) == 1 else None


_UNKNOWN = object()


def _times(a, b):
    """The step of a slice with step `b` taken of a view with step `a` (None, a literal, or an
    atom computed at run time); _UNKNOWN when it cannot be written as one of these."""
    a, b = (s.value if isinstance(s, Const) else s for s in (a, b))
    if a is None or a == 1:
        return b
    if b is None or b == 1:
        return a
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    return _UNKNOWN


def _same_stride(a: tuple, b: tuple) -> bool:
    """Do two (axis, step) pairs give views with the same stride?"""
    def step(s):
        s = s.value if isinstance(s, Const) else s
        return 1 if s is None else s
    (axis_a, step_a), (axis_b, step_b) = a, b
    return axis_a == axis_b and _same_atom(step(step_a), step(step_b))


def _opposite_steps(a: tuple, b: tuple) -> bool:
    """Do two (axis, step) pairs give views along the same axis whose steps are literals of
    opposite signs?"""
    def step(s):
        s = s.value if isinstance(s, Const) else s
        return 1 if s is None else s
    (axis_a, step_a), (axis_b, step_b) = a, b
    a, b = step(step_a), step(step_b)
    return axis_a == axis_b and isinstance(a, int) and isinstance(b, int) and a * b < 0


def _called(name: str) -> str:
    return f"'{name}'" if name and name != TEMP else "this array"


def _where(loc: Loc | None) -> str:
    return f"at line {loc.lineno}" if loc is not None else "by an if or a loop"

