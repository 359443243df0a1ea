"""Second derivatives and Jacobians: `hvp`, `hessian`, `jacobian`.

`hvp` runs the forward-over-reverse derivative (``f_hvp``, see
s2sad/transforms/second_order.py), which computes f, its gradient and H·v in one pass
without forming H. `hessian` and `jacobian` (forward mode) run the vector forms of the forward
derivatives (``f_vhvp``, ``f_vjvp``: s2sad/transforms/vector_forward.py), one call per block
of at most `LANES` basis vectors of an argument, each carrying that many tangents; where a
function has no vector form they call the single-tangent derivative once per basis vector.
`jacobian` in reverse mode calls the VJP once per output element. Those loops run in Python
around the compiled derivative (docs/higher-order.md gives measurements).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .api import (Bound, Derivative, Wrt, _as_output, _fail, _plain, basis, decorated, outputs,
                  unit_tangents, zeros_like_each)
from .containers import flatten_like, unflatten
from .errors import Unbatched

LANES = 64  # the most basis vectors one call of a vector forward derivative carries
# The fewest columns worth a vector form. Each of its operations allocates a batch (k numbers
# for a number's tangent), which for a loop over numbers costs more than running the loop once
# per column: the Hessian of a 10,000-step scalar oscillator in two parameters took 5.5 ms in
# vector form against 0.2 ms for two HVPs; the 26-column hand-tracking Jacobian, array code,
# 8x less in vector form.
FEWEST_LANES = 16
_PROBES = np.random.default_rng()  # random vectors checking sparse Jacobians (not the user's random state)


class HVP(Derivative):
    """``h(*args, *directions)`` → H·v: the Hessian of f (which returns one float) with respect
    to the `wrt` parameters times one direction per parameter, shaped like it (a container for a
    container); several `wrt` parameters give a tuple, ``Σ_j H_kj v_j`` for each parameter k."""

    kind = "hvp"
    mode_for_transform = "hvp"

    def __call__(self, *args):
        key, quick = self.quick(args, len(self.wrt))
        if quick is not None:
            return self._owned_like(quick.short(*args), 0, args)  # (the products only: `remember`)
        primals, directions = self.split(args, "direction")
        products = self.value_grad_hvp(primals, directions)[2]
        self.remember(key, self.compiled(primals, "hvp"), dropped=1 + len(self.wrt))
        return self._pack(primals.regroup(self.wrt, products))

    def value_grad_hvp(self, primals: list, directions: list) -> tuple[float, list, list]:
        """(f, its gradients, the Hessian-vector products) for bound arguments (`bind`) and one
        direction per leaf of the `wrt` parameters, from one call of the generated code (the
        gradients and products one per leaf too)."""
        primals = primals if isinstance(primals, Bound) else Bound(primals)
        value, *rest = self.generated(primals)(*primals, *directions)
        like = [primals[k] for k in primals.leaves(self.wrt)] * 2
        shaped = [_as_output(r, x) for r, x in zip(rest, like)]
        return _plain(value), shaped[:len(like) // 2], shaped[len(like) // 2:]

    def generated(self, primals: list, repeated: bool = False) -> Callable:
        """``f_hvp(*args, *directions) -> (f, *gradients, *products)`` for these arguments' types
        (`repeated`: every call starting from the state the first saw)."""
        return self.runner(self.compiled(primals, "hvp"), primals, repeated)  # (refused unless f returns a float)


class _OneParameter(Derivative):
    """A derivative with respect to one parameter (`wrt` names one, not a tuple), made of
    products with basis vectors (columns)."""

    def __init__(self, fn: Callable, wrt: Wrt = 0, **options):
        super().__init__(fn, wrt, **options)
        if self.as_tuple:
            raise _fail(fn, f"{self.kind} takes one parameter in wrt (got {wrt!r}); use s2sad.hvp for several")
        self._unbatched: set[tuple] = set()  # signatures whose derivative has no vector form

    def vector_runner(self, primals: Bound, mode: str, columns: int) -> Callable | None:
        """The vector form (`mode` "vforward" or "vhvp") of the derivative for these arguments,
        each call starting from the state the first saw; None for fewer than `FEWEST_LANES`
        `columns`, or where the function has no vector form (`Unbatched`: a tape or a list built
        in a loop), which is remembered."""
        key = self.signature_key(primals, mode)
        if columns < FEWEST_LANES or key in self._unbatched:
            return None
        try:
            derived = self.compiled(primals, mode)
        except Unbatched:
            self._unbatched.add(key)
            return None
        return self.runner(derived, primals, repeated=True)


def basis_blocks(xs: list, lanes: int | None):
    """The basis vectors of the arguments `xs` (arrays or numbers) in blocks of at most `lanes`
    columns of one argument (flat, C order), as (j, columns, seeds): x_j's columns, and a batch
    of seeds (k, *x.shape) per argument, the unit vectors in x_j's and zeros in the others'.
    With `lanes` None, one column at a time, and seeds of each argument's shape (a float for a
    number)."""
    for j, x in enumerate(xs):
        n = int(np.size(x))
        for start in range(0, n, lanes or 1):
            columns = slice(start, min(n, start + (lanes or 1)))
            k = columns.stop - start
            seeds = [np.zeros((k,) + np.shape(y)) for y in xs]
            seeds[j].reshape(k, -1)[np.arange(k), np.arange(start, columns.stop)] = 1.0
            if lanes is None:
                seeds = [s[0] if np.ndim(y) else float(s[0]) for s, y in zip(seeds, xs)]
            yield j, columns, seeds


def put_columns(block: np.ndarray, columns: slice, products) -> None:
    """Write `products`, a batch (k, *out.shape) or one product (for one column), as the
    `columns` of `block` (shape ``out.shape + x.shape``, x flattened)."""
    if block.size:
        k = columns.stop - columns.start
        products = np.asarray(products, dtype=np.float64)
        rows = products.size // k
        block.reshape(rows, -1)[:, columns] = products.reshape(k, rows).T


def put_batch(block: np.ndarray | None, columns: slice, products, x, lanes: int | None) -> np.ndarray:
    """The block of a Jacobian or Hessian (``out.shape + x.shape``) with `products` as its
    `columns`: a view of the batch when it holds every column (nothing copied), else the block
    (made of zeros at the first batch) with the columns written in."""
    if lanes and columns == slice(0, int(np.size(x))):
        return columns_view(products, np.shape(x))
    if block is None:
        block = np.zeros(np.shape(products)[bool(lanes):] + np.shape(x))
    put_columns(block, columns, products)
    return block


def columns_view(products, x_shape: tuple) -> np.ndarray:
    """A batch of products (k, *out.shape), one per column of a Jacobian block of shape
    ``out.shape + x_shape`` (k = x.size), as that block: a view of the batch, not a copy."""
    products = np.asarray(products, dtype=np.float64)
    return np.moveaxis(products, 0, -1).reshape(products.shape[1:] + x_shape)


def nested_blocks(outer, inner, blocks: list[list]) -> Any:
    """A table of blocks (``blocks[i][j]`` for leaf i of a value of structure `outer` and leaf j
    of one of structure `inner`; None for one number or array) as nested containers: `outer`'s
    structure holding, in each leaf, `inner`'s (a float for a block of shape ())."""
    rows = [outputs(inner, [_plain(b[()]) if not np.ndim(b) else b for b in row]) for row in blocks]
    return rows[0] if outer is None else unflatten(outer, rows)


class Hessian(_OneParameter, HVP):
    """``H(*args)`` → the Hessian of f with respect to one parameter, of shape
    ``arg.shape + arg.shape`` (a float for a scalar parameter): one HVP per basis vector. For a
    container parameter, a container of containers: ``H[a][b]`` of shape
    ``a.shape + b.shape`` holds ∂²f/∂a∂b for leaves a and b (``H['W']['b']`` for a dict)."""

    kind = "hessian"

    def __call__(self, *args, **kwargs):
        primals = self.bind(args, kwargs)
        wrt = primals.leaves(self.wrt)
        xs = [primals[k] for k in wrt]
        blocks = [[np.zeros(np.shape(a) + np.shape(b)) if np.size(b) == 0 else None for b in xs] for a in xs]
        run = self.vector_runner(primals, "vhvp", sum(int(np.size(x)) for x in xs))
        lanes = LANES if run is not None else None
        run = run or self.generated(primals, repeated=True)
        for j, columns, seeds in basis_blocks(xs, lanes):
            for i, product in enumerate(run(*primals, *seeds)[1 + len(xs):]):
                blocks[i][j] = put_batch(blocks[i][j], columns, product, xs[j], lanes)
        tree = primals.trees[self.wrt[0]]
        return nested_blocks(tree, tree, blocks)


class Jacobian(_OneParameter):
    """``J(*args)`` → ∂f/∂args[wrt] for f returning one float or one float array, of shape
    ``out.shape + arg.shape``: one JVP per element of the argument (forward mode) or one VJP per
    element of the result (reverse mode; f is called once, in Python, for the result's shape, and
    the state it changes is put back). All columns belong to one call of f: each starts from the
    state the first saw, and the state ends as one call leaves it. For a container result or
    parameter, containers of blocks: the result's structure outside, the parameter's inside
    (``J['h']['W']`` is ∂h/∂W, of shape ``h.shape + W.shape``).

    With `sparsity` (the entries that may be non-zero, as a matrix of ``out.size`` rows and
    ``arg.size`` columns: `scipy.sparse` or dense, true or non-zero where an entry may be), a
    `scipy.sparse.csr_matrix` of that shape: columns that share no row are found together, one
    JVP for each group (forward mode; rows that share no column, one VJP each, in reverse mode),
    as many as a greedy colouring of the pattern needs (`colour_groups`), and one more product
    with a random vector to check the result: an entry the pattern lacks is refused. With
    ``sparsity="auto"`` the first call for arguments of given shapes computes the dense Jacobian
    and keeps its non-zero entries as the pattern; a later call whose check finds an entry the
    pattern lacks (one that was zero at the first point, as x·y at y = 0, or on a branch not
    taken) computes the dense Jacobian again and adds its entries to the pattern."""

    kind = "jacobian"

    def __init__(self, fn: Callable, wrt: Wrt = 0, *, sparsity=None, **options):
        super().__init__(fn, wrt, **options)
        self.detect = isinstance(sparsity, str)
        if self.detect and sparsity != "auto":
            raise _fail(fn, f'sparsity is a matrix or "auto", not {sparsity!r}')
        self.sparsity = None if sparsity is None or self.detect else _pattern(fn, sparsity)
        self._found: dict[tuple, Any] = {}  # ("auto") the derivative and shapes → the pattern found so far
        self._plans: dict[tuple, tuple] = {}  # (mode, id of a pattern) → (the pattern, its plan)
        self._shapes: dict[tuple, tuple] = {}  # (arguments' shapes) → the result's shape (reverse mode)

    def options(self) -> dict:
        return {**super().options(), "sparsity": "auto" if self.detect else self.sparsity}

    @property
    def mode_for_transform(self) -> str:
        return self.mode

    def __call__(self, *args, **kwargs):
        primals = self.bind(args, kwargs)
        derived = self.compiled(primals, self.mode)
        results = derived.outline.results
        wrong = [r for r in results if not r.type.differentiable]
        if wrong or not results:
            what = f"a value of type {wrong[0].type}" if wrong else "no value"
            raise _fail(self.fn, f"jacobian needs a function returning float numbers or float arrays (or "
                                 f"containers of them), but {self.fn.__name__} returns {what}")
        wrt = primals.leaves(self.wrt)
        run = self.runner(derived, primals, repeated=True)
        if self.sparsity is not None or self.detect:
            return self._compressed(derived, run, primals, wrt)
        blocks = self._forward(run, primals, wrt, len(results)) if self.mode == "forward" else \
            self._reverse(derived, run, primals, wrt)
        return nested_blocks(derived.outline.out_tree, primals.trees[self.wrt[0]], blocks)

    def _compressed(self, derived, run: Callable, primals: list, wrt: list[int]):
        """The sparse Jacobian: one JVP per group of columns that share no row (forward mode),
        or one VJP per group of rows that share no column (reverse mode). Of the pattern's
        lines (columns, or rows), each product gives the entries of every line of its group.
        One more product, with a random vector, checks the result (`_agrees`): an entry the
        pattern lacks is refused for a pattern given, and makes an "auto" pattern learn it."""
        if len(wrt) != 1 or len(derived.outline.results) != 1:
            raise _fail(self.fn, "a sparse jacobian is of one array (or number) result with respect to one "
                                 "array (or number) argument")
        forward = self.mode == "forward"
        x = primals[wrt[0]]
        shape = None if forward else self._result_shape(derived, primals)
        key = (id(derived), np.shape(x))
        pattern = self._found.get(key) if self.detect else self.sparsity
        if pattern is None:
            return self._learned(key, derived, run, primals, wrt)
        m, n = pattern.shape
        if n != np.size(x) or (shape is not None and m != int(np.prod(shape))):
            raise _fail(self.fn, f"the sparsity pattern is {m}×{n}, but the result has "
                                 f"{'?' if shape is None else int(np.prod(shape))} elements and the argument "
                                 f"{np.size(x)}")
        data = np.empty(pattern.nnz)
        product = (lambda seed: run(*primals, seed.reshape(np.shape(x)) if np.ndim(x) else seed[0])[1]) if forward \
            else (lambda seed: self._statistics(run(*primals, seed.reshape(shape) if shape else seed[0]), 2)[1])
        for group, entries, put, found in self._plan(pattern, forward):
            seed = np.zeros(n if forward else m)
            seed[group] = 1.0
            values = np.ravel(product(seed))
            data[put] = values[entries]
            outside = np.flatnonzero(~found & (values != 0.0))
            if outside.size and self.detect:
                return self._learned(key, derived, run, primals, wrt)
            if outside.size:
                where = f"row {outside[0]}" if forward else f"column {outside[0]}"
                raise self._outside(where, f"the product of the {'columns' if forward else 'rows'} "
                                           f"{group[:4].tolist()}...")
        import scipy.sparse
        J = scipy.sparse.csr_matrix((data, pattern.indices, pattern.indptr), shape=(m, n))
        wrong = self._agrees(J, product, forward)
        if wrong is not None and self.detect:
            return self._learned(key, derived, run, primals, wrt)
        if wrong is not None:
            raise self._outside(f"{'row' if forward else 'column'} {wrong}", "found by a product with a random "
                                "vector")
        return J

    def _outside(self, where: str, how: str):
        return _fail(self.fn, f"the Jacobian has a non-zero entry outside the sparsity pattern given, in {where} "
                              f"({how}); the pattern must hold every entry that may be non-zero")

    @staticmethod
    def _agrees(J, product: Callable, forward: bool) -> int | None:
        """Check the compressed Jacobian J against one more product, with a random vector r (J·r
        in forward mode, rᵀJ in reverse): None when they agree to rounding, else the first row
        (column) where they differ. An entry the pattern lacks that another line of its group
        holds is otherwise invisible; here it changes J·r unless r is orthogonal to it, which a
        random r is not (with probability 1)."""
        r = _PROBES.standard_normal(J.shape[1] if forward else J.shape[0])
        expected = np.ravel(product(r))
        got, scale = (J @ r, abs(J) @ np.abs(r)) if forward else (J.T @ r, abs(J).T @ np.abs(r))
        close = (np.abs(got - expected) <= 1e-9 * (scale + np.abs(expected))) | (got == expected) \
            | (np.isnan(got) & np.isnan(expected))
        wrong = np.flatnonzero(~close)
        return int(wrong[0]) if wrong.size else None

    def _learned(self, key: tuple, derived, run: Callable, primals: list, wrt: list[int]):
        """("auto") The dense Jacobian, whose non-zero entries join the pattern kept for these
        shapes (the next calls use it), returned as a sparse matrix."""
        import scipy.sparse
        block = (self._forward(run, primals, wrt, 1) if self.mode == "forward" else
                 self._reverse(derived, run, primals, wrt))[0][0]
        dense = np.reshape(block, (-1, int(np.size(primals[wrt[0]]))))
        pattern = scipy.sparse.csr_matrix(dense != 0.0)
        old = self._found.pop(key, None)
        if old is not None:
            pattern = (pattern + old).astype(bool)
            self._plans = {k: v for k, v in self._plans.items() if v[0] is not old}
        pattern.sort_indices()
        self._found[key] = pattern
        return scipy.sparse.csr_matrix(dense)

    def _plan(self, pattern, forward: bool) -> list[tuple]:
        """For each group of lines (columns in forward mode, rows in reverse) that share no
        entry: the lines, the entries of the product they hold, where those go in the pattern's
        data (CSR order), and which of the product's entries they are. Made once per pattern."""
        key = (forward, id(pattern))
        if key not in self._plans or self._plans[key][0] is not pattern:
            import scipy.sparse
            order = scipy.sparse.csr_matrix((np.arange(1, pattern.nnz + 1), pattern.indices, pattern.indptr),
                                            shape=pattern.shape)  # (each entry's position, plus one)
            lines = (order.T if forward else order).tocsr()
            size = pattern.shape[0] if forward else pattern.shape[1]
            plan = []
            for group in colour_groups(lines):
                spans = [slice(lines.indptr[line], lines.indptr[line + 1]) for line in group]
                entries = np.concatenate([lines.indices[s] for s in spans]) if spans else np.zeros(0, int)
                found = np.zeros(size, dtype=bool)
                found[entries] = True
                plan.append((np.array(group), entries, np.concatenate([lines.data[s] for s in spans]) - 1, found))
            self._plans[key] = (pattern, plan)
        return self._plans[key][1]

    def _result_shape(self, derived, primals: list) -> tuple:
        """The shape of f's one result, kept for arguments of the same shapes (and integers)."""
        key = (id(derived), *((np.shape(a), a if isinstance(a, (int, np.integer)) else None) for a in primals))
        if key not in self._shapes:
            self._shapes[key] = self._result_shapes(derived, primals)[0]
        return self._shapes[key]

    def _result_shapes(self, derived, primals: list) -> list[tuple]:
        """The shapes of f's results, from one call of f whose effects are undone."""
        undo = derived.effects.save(primals)
        out = self.call_original(primals.structured())
        undo()
        tree = derived.outline.out_tree
        return [np.shape(v) for v in ([out] if tree is None else [v for _, v in flatten_like(tree, out, "", "")])]

    def _forward(self, run: Callable, primals: Bound, wrt: list[int], m: int) -> list[list]:
        """J[..., i] = J e_i, for each result (blocks[result][leaf]): blocks of columns from one
        call of the vector forward derivative each, or one JVP per column (`run`) where the
        function has no vector form."""
        xs = [primals[k] for k in wrt]
        lanes_run = self.vector_runner(primals, "vforward", sum(int(np.size(x)) for x in xs))
        lanes = LANES if lanes_run is not None else None
        run = lanes_run or run
        blocks = [[None] * len(wrt) for _ in range(m)]
        for j, columns, seeds in basis_blocks(xs, lanes):
            for i, dot in enumerate(run(*primals, *seeds)[m:]):
                blocks[i][j] = put_batch(blocks[i][j], columns, dot, xs[j], lanes)
        if any(b is None for row in blocks for b in row):  # (an empty argument: the result's shape from one call)
            zeros = [np.zeros((1,) + np.shape(x)) for x in xs] if lanes else zeros_like_each(xs)
            values = run(*primals, *zeros)[:m]
            blocks = [[np.zeros(np.shape(v) + np.shape(x)) if b is None else b for b, x in zip(row, xs)]
                      for row, v in zip(blocks, values)]
        return blocks

    def _reverse(self, derived, fn: Callable, primals: list, wrt: list[int]) -> list[list]:
        """Row by row: J[i] = e_iᵀ J, for each result (whose shapes come from a call of f, whose
        effects are undone)."""
        shapes = self._result_shapes(derived, primals)
        blocks = [[np.zeros(shape + np.shape(primals[k])) for k in wrt] for shape in shapes]
        zeros = zeros_like_each(np.zeros(shape) for shape in shapes)
        for i, shape in enumerate(shapes):
            for index, e in basis(shape):
                row = self._statistics(fn(*primals, *unit_tangents(zeros, range(len(shapes)), i, e)),
                                       len(shapes) + len(wrt))[len(shapes):]
                for j, (g, k) in enumerate(zip(row, wrt)):
                    blocks[i][j][index] = _as_output(g, primals[k])
        return blocks


def colour_groups(lines) -> list[list[int]]:
    """The lines (rows of `lines`, a CSR matrix) in groups of which no two share an entry: a
    greedy colouring of their conflict graph, in order (each line to the first group it fits)."""
    groups: list[list[int]] = []
    group_of_entry: dict[int, set[int]] = {}  # entry → the groups holding it
    for line in range(lines.shape[0]):
        entries = lines.indices[lines.indptr[line]:lines.indptr[line + 1]].tolist()
        busy = set().union(*(group_of_entry.get(e, ()) for e in entries))
        g = next((g for g in range(len(groups)) if g not in busy), len(groups))
        if g == len(groups):
            groups.append([])
        groups[g].append(line)
        for e in entries:
            group_of_entry.setdefault(e, set()).add(g)
    return groups


def _pattern(fn: Callable, sparsity):
    """`sparsity` as a CSR matrix of booleans (refused unless it is a matrix)."""
    import scipy.sparse
    pattern = scipy.sparse.csr_matrix(sparsity, dtype=bool) if not scipy.sparse.issparse(sparsity) else \
        sparsity.tocsr().astype(bool)
    if pattern.ndim != 2:
        raise _fail(fn, "sparsity is a matrix: a row per result element, a column per argument element")
    pattern.eliminate_zeros()
    pattern.sort_indices()
    return pattern


def hvp(f: Callable | None = None, wrt: Wrt = 0, *, backend: str = "auto", checkpoint=None) -> HVP:
    """``h(*args, v)`` → H·v, the Hessian of `f` (returning one float) with respect to
    ``args[wrt]`` times `v` (shaped like that argument), by forward over reverse without
    forming H. With a tuple `wrt`, ``h(*args, *vs)`` returns a tuple. `checkpoint` is the policy
    of the reverse sweep, as for `grad`."""
    return decorated(HVP, f, wrt, backend=backend, checkpoint=checkpoint)


def hessian(f: Callable | None = None, wrt: Wrt = 0, *, backend: str = "auto", checkpoint=None) -> Hessian:
    """``H(*args)`` → the Hessian of `f` (returning one float) with respect to ``args[wrt]``, of
    shape ``arg.shape + arg.shape`` (a float for a scalar argument), from one `hvp` per basis
    vector."""
    return decorated(Hessian, f, wrt, backend=backend, checkpoint=checkpoint)


def jacobian(f: Callable | None = None, wrt: Wrt = 0, *, mode: str = "forward", backend: str = "auto",
             checkpoint=None, sparsity=None) -> Jacobian:
    """``J(*args)`` → ∂f/∂args[wrt] of shape ``out.shape + arg.shape`` for `f` returning one
    float or float array: one JVP per argument element (``mode="forward"``, the default, cheaper
    when the argument is the smaller) or one VJP per result element (``mode="reverse"``). With
    `sparsity` (a matrix of ``out.size`` rows and ``arg.size`` columns, true where an entry may
    be non-zero), a `scipy.sparse.csr_matrix` from one product per group of columns (or rows)
    that share no entry, checked by one more product with a random vector; with
    ``sparsity="auto"``, the pattern is the non-zero entries of the dense Jacobian at the first
    call, which later calls use and extend where the check finds an entry it lacks."""
    return decorated(Jacobian, f, wrt, mode=mode, backend=backend, checkpoint=checkpoint, sparsity=sparsity)
