"""Every refused construct raises S2SADError located at the construct (file and line).

The functions below are the test inputs: each marks the offending line with a ``# <-`` comment,
and the tests compute the expected line number from the source with inspect.
"""

import inspect
import os

import numpy as np
import pytest

import s2sad
from s2sad import S2SADError


def line_of(fn, marker="# <-"):
    """The absolute line number of the first line of `fn` containing `marker`."""
    lines, first = inspect.getsourcelines(fn)
    hits = [first + i for i, text in enumerate(lines) if marker in text]
    assert hits, f"no {marker!r} in {fn.__name__}"
    return hits[0]


# --- refused constructs ---------------------------------------------------------------------

def uses_try(x):
    y = x * 2.0
    try:  # <-
        y = np.log(x)
    except ValueError:
        y = 0.0
    return y


def uses_with(x, lock):
    with lock:  # <-
        y = x * 2.0
    return y


def uses_yield(x):
    y = x * 2.0
    z = yield y  # <-
    return z


def uses_starred_unpack(x):
    w, *rest = (x, x * 2.0, x)  # <-
    return w + rest[0]


def uses_lambda(x):
    y = x * 2.0
    sq = lambda t, p=2: t ** p  # <-  # noqa: E731
    return sq(y)


def uses_class(x):
    y = x * 2.0
    class Local:  # <-
        pass
    return y


def uses_nested_def(x):
    y = x * 2.0
    def helper(t):  # <-
        return t * t
    return helper(y)


def uses_list(x):
    y = np.sum([x, x * 2.0] * 2)  # <- (Python repeats the list)
    return y


def uses_listcomp(x):
    y = x + 1.0
    z = np.sum([t * t for t in y if t > 0.0])  # <-
    return z


def uses_string(x):
    label = "scale"  # <-
    return x


def uses_fft(x):
    y = x * 2.0
    z = np.fft.fft(y)  # <-
    return np.sum(z)


def uses_undefined(x):
    y = x * 2.0
    return y + undefined_name  # <-  # noqa: F821


def recursive(x):
    y = x * 0.5
    return recursive(y)  # <-


def one_branch(x):
    if x > 0:
        y = x * 2.0
    z = y + 1.0  # <-
    return z


def bad_helper(t):
    return t * "oops"  # <-


def calls_bad_helper(x):
    y = x * 2.0
    return bad_helper(y)


def clip_no_bound(x):
    return np.sum(np.clip(x, None, None))  # <-


def linspace_of_arrays(x):
    return np.sum(np.linspace(x, x + 1.0, 4))  # <-


def expand_two_axes(x):
    return np.sum(np.expand_dims(x, (0, 1)))  # <-


def concatenate_numbers(x):
    return np.sum(np.concatenate((x[0, 0], x[0, 1])))  # <-


def stack_beyond_the_axes(x):
    return np.sum(np.stack((x, x), axis=3))  # <-


def cumsum_of_a_number(x):
    return np.sum(np.cumsum(x[0, 0]))  # <-


def transpose_too_many_axes(x):
    return np.sum(np.transpose(x, (1, 0, 2)))  # <-


def swapaxes_out_of_range(x):
    return np.sum(np.swapaxes(x, 0, 3))  # <-


def moveaxis_out_of_range(x):
    return np.sum(np.moveaxis(x, 0, 2))  # <-


def moveaxis_twice(x):
    return np.sum(np.moveaxis(x, (0, 0), (1, 0)))  # <-


def hstack_numbers(x):
    return np.sum(np.hstack((x[0, 0], x[0, 1])))  # <-


def broadcast_to_fewer_axes(x):
    return np.sum(np.broadcast_to(x, ()))  # <-


def tile_negative(x):
    return np.sum(np.tile(x, -1))  # <-


def tile_computed_reps(x):
    return np.sum(np.tile(x, len(x)))  # <-


def repeat_counts_array(x):
    return np.sum(np.repeat(x, np.arange(2) + 1, axis=0))  # <-


def repeat_beyond_the_axes(x):
    return np.sum(np.repeat(x, 2, axis=-3))  # <-


def roll_fractional_shift(x):
    return np.sum(np.roll(x, 1.5) * x)  # <-


def roll_beyond_the_axes(x):
    return np.sum(np.roll(x, 1, axis=2) * x)  # <-


def triu_of_vector(x):
    return np.sum(np.triu(x[0]))  # <-


def tril_computed_k(x):
    return np.sum(np.tril(x, len(x)))  # <-


def pad_edge(x):
    return np.sum(np.pad(x, 1, mode="edge"))  # <-


def pad_three_pairs(x):
    return np.sum(np.pad(x, ((1, 2), (3, 4), (5, 6))))  # <-


def pad_negative(x):
    return np.sum(np.pad(x, -1))  # <-


def pad_values_per_side(x):
    return np.sum(np.pad(x, 1, constant_values=(0.0, 1.0)))  # <-


def take_float_indices(x):
    return np.sum(np.take(x, x[0]))  # <-


def take_mask(x):
    return np.sum(np.take(x, x[0] > 0.0))  # <-


def take_matrix_of_indices(x):
    return np.sum(np.take(x, np.reshape(np.arange(4), (2, 2))))  # <-


def take_beyond_the_axes(x):
    return np.sum(np.take(x, 1, axis=2))  # <-
def cumprod_beyond_the_axes(x):
    return np.sum(np.cumprod(x, axis=2))  # <-


# np.einsum and np.tensordot: the patterns that are not lowered are refused, naming the pattern
EINSUM_SPEC = "ij->ji"


def einsum_ellipsis(x):
    y = x * 2.0
    return np.sum(np.einsum('...j->j', y))  # <-


def einsum_three_operands(x):
    return np.einsum('ij,jk,ki->', x, x.T, x)  # <-


def einsum_repeated_index(x):
    return np.sum(np.einsum('iij->j', np.stack((x, x))))  # <-


def einsum_computed_subscripts(x):
    return np.sum(np.einsum(EINSUM_SPEC + "", x))  # <-


def einsum_wrong_number_of_axes(x):
    return np.sum(np.einsum('ijk->i', x))  # <-


def einsum_unknown_output(x):
    return np.sum(np.einsum('ij->ik', x))  # <-


def einsum_keyword(x):
    return np.sum(np.einsum('ij->i', x, optimize=True))  # <-


def tensordot_too_many_axes(x):
    return np.sum(np.tensordot(x, x, axes=3))  # <-


def tensordot_unpaired_axes(x):
    return np.sum(np.tensordot(x, x, axes=((0, 1), (0,))))  # <-


def tensordot_axis_twice(x):
    return np.sum(np.tensordot(x, x.T, axes=((1, 1), (0, 0))))  # <-


CONTRACTION_REFUSALS = [
    (einsum_ellipsis, "np.einsum('...j->j', ...): an ellipsis"),
    (einsum_three_operands, "np.einsum('ij,jk,ki->', ...): 3 operands"),
    (einsum_repeated_index, "'iij' repeats an index"),
    (einsum_computed_subscripts, "subscripts of np.einsum must be written as a literal"),
    (einsum_wrong_number_of_axes, "operand 0 has 2 axes but 'ijk' names 3"),
    (einsum_unknown_output, "output index 'k' is in no operand"),
    (einsum_keyword, "no keywords"),
    (tensordot_too_many_axes, "np.tensordot(..., axes=3): both operands need at least 3 axes"),
    (tensordot_unpaired_axes, "pairs 2 axes of a with 1 of b"),
    (tensordot_axis_twice, "an axis is named twice"),
]
def eigh_of_a_vector(x):
    return np.sum(np.linalg.eigh(x[0])[0])  # <-


def eigh_of_the_upper_triangle(x):
    return np.sum(np.linalg.eigh(x, UPLO="U")[0])  # <-


def eigvalsh_of_many_axes(x):
    return np.sum(np.linalg.eigvalsh(x[None, None]))  # <-


def cholesky_upper(x):
    return np.sum(np.linalg.cholesky(x, upper=True))  # <-


def svd_hermitian(x):
    return np.sum(np.linalg.svd(x, hermitian=True)[1])  # <-


def svd_vectors_without_values(x):
    return np.sum(np.linalg.svd(x, compute_uv=0)[1])  # <-


def qr_complete(x):
    return np.sum(np.linalg.qr(x, mode="complete")[0])  # <-


def split_in_computed_sections(x):
    a, b = np.split(x[0], x.shape[0])  # <-
    return np.sum(a * b)


def polyval_of_an_array(x):
    return np.sum(np.polyval(x[0], x[1]))  # <-


def matrix_power_computed(x):
    return np.sum(np.linalg.matrix_power(x[:, :2], int(x[0, 0])))  # <-


def fill_diagonal_statement(x):
    A = np.outer(x[0], x[0])
    np.fill_diagonal(A, 1.0)  # <-
    return np.sum(A)


def subtract_at_statement(x):
    y = x * 1.0
    np.subtract.at(y, np.array([0, 0]), 1.0)  # <- (it writes into y: not a statement without effect)
    return np.sum(y)


def diagonal_of_a_vector(x):
    return np.sum(np.diagonal(x[0]))  # <-


def sum_over_an_axis_twice(x):
    return np.sum(np.max(x, axis=(1, -1)))  # <- (NumPy raises ValueError; not the maximum over axis 1)


def mean_over_an_axis_out_of_range(x):
    return np.sum(x.mean(axis=(0, 2)))  # <- (NumPy raises AxisError; not the mean over both axes)


def squeeze_without_an_axis(x):
    return np.sum(np.squeeze(x[None]))  # <-


def sum_over_no_axis(x):
    return np.sum(np.sum(x, axis=()))  # <-


def lstsq_of_many_axes(x):
    return np.sum(np.linalg.lstsq(x[None, None], x[0], rcond=None)[0])  # <-


# (type rules: what NumPy would refuse, or what the rules cannot differentiate, is refused
# with the line, not left to fail when the derivative runs)
SHAPE_REFUSALS = [
    (clip_no_bound, "needs a bound"),
    (linspace_of_arrays, "numbers for start and stop"),
    (expand_two_axes, "axis=(0, 1) is not an axis"),
    (concatenate_numbers, "axis=0 is not an axis of an array with 0 axes"),
    (stack_beyond_the_axes, "axis=3 is not an axis of an array with 3 axes"),
    (cumsum_of_a_number, "takes an array"),
    (transpose_too_many_axes, "axis=2 is not an axis of an array with 2 axes"),
    (swapaxes_out_of_range, "axis=3 is not an axis"),
    (moveaxis_out_of_range, "destination: axis=2 is not an axis of an array with 2 axes"),
    (moveaxis_twice, "each once"),
    (hstack_numbers, "np.hstack takes an array"),
    (broadcast_to_fewer_axes, "cannot broadcast an array with 2 axes to a shape with 0"),
    (tile_negative, "reps=(1, -1) must be one count"),
    (tile_computed_reps, "reps must be a literal"),
    (repeat_counts_array, "repeats must be one integer"),
    (repeat_beyond_the_axes, "axis=-3 is not an axis"),
    (roll_fractional_shift, "shift must be one integer"),
    (roll_beyond_the_axes, "axis=2 is not an axis"),
    (triu_of_vector, "at least two axes"),
    (tril_computed_k, "'k' argument of tril must be a literal"),
    (pad_edge, "mode='constant' only, not 'edge'"),
    (pad_three_pairs, "pair for each of the 2 axes"),
    (pad_negative, "pair of counts (integers from 0) per axis"),
    (pad_values_per_side, "constant_values must be one number"),
    (take_float_indices, "one integer or a vector of integers"),
    (take_mask, "one integer or a vector of integers"),
    (take_matrix_of_indices, "one integer or a vector of integers"),
    (take_beyond_the_axes, "axis=2 is not an axis"),
    (cumprod_beyond_the_axes, "axis=2 is not an axis of an array with 2 axes"),
    (eigh_of_a_vector, "takes a matrix"),
    (eigh_of_the_upper_triangle, "unexpected keyword argument 'UPLO'"),
    (eigvalsh_of_many_axes, "takes a matrix"),
    (cholesky_upper, "upper=True is not supported"),
    (svd_hermitian, "unexpected keyword argument 'hermitian'"),
    (svd_vectors_without_values, "must be True or False"),
    (qr_complete, "unexpected keyword argument 'mode'"),
    (lstsq_of_many_axes, "takes a matrix A"),
    (split_in_computed_sections, "the sections or indices of np.split must be a literal"),
    (polyval_of_an_array, "coefficients as a list or tuple"),
    (matrix_power_computed, "the power of np.linalg.matrix_power must be a literal"),
    (fill_diagonal_statement, "numpy.fill_diagonal is not supported"),
    (subtract_at_statement, "numpy.subtract.at is not supported (a call made for what it writes"),
    (diagonal_of_a_vector, "np.diagonal takes a matrix"),
    (sum_over_an_axis_twice, "axis=(1, -1) names an axis twice"),
    (mean_over_an_axis_out_of_range, "axis=2 is not an axis of an array with 2 axes"),
    (sum_over_no_axis, "axis=() reduces no axis"),
    (squeeze_without_an_axis, "name the axis to remove"),
] + CONTRACTION_REFUSALS

def returns_on_one_path(x):
    if x > 0.0:  # <-
        return x * x


REFUSED = SHAPE_REFUSALS + [
    (uses_try, "try/except"),
    (uses_with, "with"),
    (uses_yield, "yield"),
    (uses_starred_unpack, "unpacking into a starred name"),
    (uses_lambda, "a lambda takes plain parameters"),
    (uses_class, "class"),
    (uses_nested_def, "nested function"),
    (uses_list, "list"),
    (uses_listcomp, "list comprehension"),
    (uses_string, "str"),
    (uses_fft, "fft"),
    (uses_undefined, "undefined_name"),
    (recursive, "recursive"),
    (one_branch, "'y' is assigned in only one branch"),
    (returns_on_one_path, "returns a value on some paths and nothing (None) on others"),
]

ARRAY_ARGS = {uses_listcomp, uses_fft} | {f for f, _ in SHAPE_REFUSALS}


def _args(fn):
    x = np.array([[1.0, 2.0, 3.0], [0.5, 1.5, 2.5]]) if fn in ARRAY_ARGS else 1.5
    return (x, 2.0) if fn is uses_with else (x,)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fn, words", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_refused_construct_is_located(fn, words, mode):
    with pytest.raises(S2SADError) as info:
        s2sad.grad(fn, mode=mode)(*_args(fn))
    err = info.value
    assert os.path.samefile(err.filename, __file__)
    assert err.lineno == line_of(fn), err
    assert words.lower() in err.message.lower(), err.message
    assert str(err).startswith(f"{err.filename}:{err.lineno}: ")


@pytest.mark.parametrize("fn, words", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_refused_by_derivative_source_and_ir_source(fn, words):
    types = ["f64[:]" if fn in ARRAY_ARGS else "f64"] + (["f64"] if fn is uses_with else [])
    for call in (lambda: s2sad.derivative_source(fn, types=types), lambda: s2sad.ir_source(fn, types=types)):
        with pytest.raises(S2SADError) as info:
            call()
        assert info.value.lineno == line_of(fn)


# --- refused by a derivative rule: the value is computed, but has no derivative here ---------------

def svd_full_vectors(x):
    u, s, vt = np.linalg.svd(x)  # <-
    return np.sum(u * u * 2.0)


def lstsq_residuals(x):
    return np.sum(np.linalg.lstsq(x.T, x[0], rcond=None)[1])  # <-


RULE_REFUSALS = [(svd_full_vectors, "full_matrices=False"), (lstsq_residuals, "lstsq_residuals cannot be")]
X23 = np.array([[1.0, 2.0, 3.0], [0.5, 1.5, 2.5]])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fn, words", RULE_REFUSALS, ids=[f.__name__ for f, _ in RULE_REFUSALS])
def test_refused_by_a_rule_is_located(fn, words, mode):
    for call in (lambda: s2sad.grad(fn, mode=mode)(X23),
                 lambda: s2sad.derivative_source(fn, types=["f64[:, :]"], mode=mode)):
        with pytest.raises(S2SADError) as info:
            call()
        assert info.value.lineno == line_of(fn), info.value
        assert words in info.value.message, info.value.message


def test_values_refused_by_a_rule_are_computed():
    """Without a derivative through them, the values refused above are computed as NumPy does."""
    assert s2sad.grad(lambda_free_svd, wrt=1)(X23, 2.0) == pytest.approx(np.sum(np.linalg.svd(X23)[0] ** 2))


def lambda_free_svd(x, c):
    u = np.linalg.svd(x)[0]
    return np.sum(u * u) * c


# --- loops and array stores: supported, so differentiated exactly ---------------------------------

def uses_for(x):
    s = 0.0
    for i in range(3):  # <-
        s = s + x * i
    return s


def uses_while(x):
    while x > 1.0:  # <-
        x = x / 2.0
    return x


def stores_item(x):
    y = x * 2.0
    y[0] = 1.0  # <-
    return np.sum(y * x)


def augments_item(x):
    y = x * 2.0
    y[0] += x[1]  # <-
    return np.sum(y * x)


X3 = np.array([1.0, 2.0, 3.0])
LOOPS_AND_STORES = [
    (uses_for, (1.5,), 3.0),
    (uses_while, (5.0,), 0.125),
    (stores_item, (X3,), [1.0, 8.0, 12.0]),
    (augments_item, (X3,), [6.0, 9.0, 12.0]),
]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fn, args, expected", LOOPS_AND_STORES, ids=[f.__name__ for f, *_ in LOOPS_AND_STORES])
def test_loops_and_stores_are_differentiated(fn, args, expected, mode):
    np.testing.assert_allclose(s2sad.grad(fn, mode=mode)(*args), expected, rtol=1e-12)


# --- refusals that only loops and stores have -------------------------------------------------------

def tuple_changed_in_loop(x):
    sh = x.shape
    for i in range(4):  # <-
        x = np.reshape(np.sin(x), sh) + 0.1
        sh = (sh[0],)
    return np.sum(x)


def for_else(x):
    for i in range(3):  # <-
        x = x * 2.0
    else:
        x = x + 1.0
    return x


def used_after_loop_only(x):
    for i in range(3):
        if i > 0:  # (not in the first iteration, which a loop whose name is read after it is lowered apart)
            y = x * i
    return y  # <-


LOOP_REFUSALS = [
    (tuple_changed_in_loop, (X3,), "is a tuple at the end of the loop body"),
    (for_else, (1.0,), "for-else"),
    (used_after_loop_only, (1.0,), "only inside the loop"),
]


@pytest.mark.parametrize("fn, args, words", LOOP_REFUSALS, ids=[f.__name__ for f, *_ in LOOP_REFUSALS])
def test_loop_refusals_are_located(fn, args, words):
    with pytest.raises(S2SADError) as info:
        s2sad.grad(fn)(*args)
    assert os.path.samefile(info.value.filename, __file__)
    assert info.value.lineno == line_of(fn), info.value
    assert words in info.value.message


def test_error_inside_inlined_helper_points_at_the_helper():
    with pytest.raises(S2SADError, match="str constants") as info:
        s2sad.grad(calls_bad_helper)(1.0)
    assert os.path.samefile(info.value.filename, __file__)
    assert info.value.lineno == line_of(bad_helper)


def test_one_branch_message_names_the_if_line():
    with pytest.raises(S2SADError) as info:
        s2sad.grad(one_branch)(1.0)
    assert f"the if at line {line_of(one_branch, 'if x > 0')}" in info.value.message


def test_unsupported_numpy_function_message():
    with pytest.raises(S2SADError) as info:
        s2sad.grad(uses_fft)(np.ones(3))
    assert info.value.message.startswith("numpy.fft.fft is not supported; `s2sad rules` lists what is")
    assert "s2sad.custom_rule" in info.value.message
    assert info.value.lineno == line_of(uses_fft, "np.fft.fft")
    assert "0x" not in info.value.message


# --- API misuse -----------------------------------------------------------------------------------

def array_out(x):
    return x * 2.0


def pair_out(x):
    y = x * 2.0
    z = x * 3.0
    return y, z


def scalar(x, y):
    return x * y


def vector(x):
    return np.sum(x ** 2)


DEF_LINE = {f: f.__code__.co_firstlineno for f in (array_out, pair_out, scalar, vector)}


def _located_at_def(err, fn):
    assert os.path.samefile(err.filename, __file__)
    assert err.lineno == DEF_LINE[fn]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_of_array_output_suggests_vjp(mode):
    with pytest.raises(S2SADError, match="vjp") as info:
        s2sad.grad(array_out, mode=mode)(np.ones(3))
    _located_at_def(info.value, array_out)
    with pytest.raises(S2SADError, match="vjp"):
        s2sad.grad(pair_out, mode=mode)(1.0)


@pytest.mark.parametrize("bad", ["a string", object(), {1, 2}, 1 + 2j],
                         ids=["str", "object", "set", "complex"])
def test_bad_argument_value_names_the_argument(bad):
    with pytest.raises(S2SADError, match="argument 'y'") as info:
        s2sad.grad(scalar)(1.0, bad)
    _located_at_def(info.value, scalar)
    with pytest.raises(S2SADError, match="argument 'x'"):
        s2sad.grad(scalar, mode="forward")(bad, 1.0)


def test_a_masked_array_is_refused_rather_than_its_mask_ignored():
    with pytest.raises(S2SADError, match="'y' is a masked array, whose mask s2sad would ignore"):
        s2sad.grad(scalar)(1.0, np.ma.masked_array([1.0, 2.0], mask=[0, 1]))


def with_keywords(x, **options):
    return x * 2.0


def with_positionals(x, *rest):
    return x * 2.0


async def awaited(x):
    return x


@pytest.mark.parametrize("fn, words", [(with_keywords, r"takes \*\*options; s2sad differentiates functions with named"),
                                       (with_positionals, r"takes \*rest"),
                                       (awaited, "is an async function, which cannot be differentiated")])
def test_functions_differentiation_cannot_take_are_refused_at_their_def(fn, words):
    with pytest.raises(S2SADError, match=words) as info:
        s2sad.grad(fn)(1.0)
    assert str(info.value).startswith(f"{__file__}:{fn.__code__.co_firstlineno}:")


def reciprocal(x):
    return 1 / x


def long_steps(x, n):
    for i in range(n):
        x = np.sin(x) + 1.0  # (its reverse sweep reads every step's x: a tape of n numbers)
    return x


@pytest.mark.parametrize("backend", ["python", pytest.param("numba", marks=pytest.mark.numba)])
def test_a_division_by_zero_gives_numpys_infinity_and_a_warning(backend):
    with pytest.warns(RuntimeWarning):
        assert s2sad.value_and_grad(reciprocal, backend=backend)(0.0) == (np.inf, -np.inf)


@pytest.mark.parametrize("backend", ["python", pytest.param("numba", marks=pytest.mark.numba)])
def test_a_tape_larger_than_memory_suggests_checkpointing(backend):
    with pytest.raises(S2SADError, match=r"out of memory .*checkpoint=s2sad.Binomial"):
        s2sad.grad(long_steps, backend=backend)(1.0, 10 ** 14)


def pixels_shifted(w, image, labels):
    hits = np.sum(w * image[labels])  # (a gather and floats: the same in any integer type)
    return hits + np.sum(np.abs(image - 5) * w)  # <-


def integer_counts(w, counts):
    return np.sum(counts) * w  # (a sum of signed integers: int64 in NumPy too)


@pytest.mark.parametrize("backend", ["python", pytest.param("numba", marks=pytest.mark.numba)])
def test_integer_arithmetic_on_another_integer_type_is_refused_at_its_line(backend):
    """NumPy computes uint8 - 5 in uint8 (3 - 5 is 254), s2sad in int64 (compiled code gave -2, so
    abs gave 2): refused at the line, with the conversion to make; int64 arrays are computed."""
    image, labels = np.array([200, 3, 1], dtype=np.uint8), np.array([0, 2], dtype=np.int32)
    with pytest.raises(S2SADError, match=r"'image' \('sub' here\), an array of uint8: NumPy computes in uint8") as info:
        s2sad.value_and_grad(pixels_shifted, backend=backend)(0.5, image, labels)
    assert info.value.lineno == line_of(pixels_shifted)
    value, grad = s2sad.value_and_grad(pixels_shifted, backend=backend)(0.5, image.astype(np.int64), labels)
    assert value == pixels_shifted(0.5, image.astype(np.int64), labels)
    counts = np.array([2 ** 30] * 3, dtype=np.int32)
    assert s2sad.value_and_grad(integer_counts, backend=backend)(0.5, counts) == (3 * 2 ** 29, 3 * 2 ** 30)
    with pytest.raises(S2SADError, match="an array of uint32"):
        s2sad.value_and_grad(integer_counts, backend=backend)(0.5, counts.astype(np.uint32))


def test_bool_argument_cannot_be_differentiated():
    with pytest.raises(S2SADError, match="'x'.*bool"):
        s2sad.grad(scalar)(True, 1.0)


@pytest.mark.parametrize("wrt, words", [("z", "'z' is not a parameter"), (2, "out of range"),
                                        (-3, "out of range"), ((0, "q"), "'q'"), ((), "at least one"),
                                        (1.0, "wrt=1.0: give a parameter's index or name"),
                                        (True, "wrt=True: give a parameter's index or name"),
                                        ((0, 0), "names the parameter 'x' twice"),
                                        ((1, "x", -2), "names the parameter 'x' twice")])
def test_bad_wrt(wrt, words):
    for make in (s2sad.grad, s2sad.value_and_grad, s2sad.jvp, s2sad.vjp, s2sad.hvp, s2sad.jacobian):
        with pytest.raises(S2SADError, match=words) as info:
            make(scalar, wrt=wrt)
        _located_at_def(info.value, scalar)
    with pytest.raises(S2SADError, match=words):
        s2sad.derivative_source(scalar, wrt=wrt)


def test_wrt_may_be_a_numpy_integer():
    assert s2sad.grad(scalar, wrt=np.int64(1), backend="python")(2.0, 3.0) == \
        s2sad.grad(scalar, wrt=1, backend="python")(2.0, 3.0)


def test_bad_options():
    with pytest.raises(S2SADError, match="mode='sideways'"):
        s2sad.grad(scalar, mode="sideways")
    with pytest.raises(S2SADError, match="backend"):
        s2sad.grad(scalar, backend="jax")
    with pytest.raises(S2SADError, match="checkpoint"):
        s2sad.grad(scalar, checkpoint="all")
    with pytest.raises(S2SADError, match="differentiates Python functions"):
        s2sad.grad(np.sin)


def test_wrong_number_of_arguments():
    with pytest.raises(S2SADError, match="scalar"):
        s2sad.grad(scalar)(1.0)
    with pytest.raises(S2SADError, match="scalar"):
        s2sad.grad(scalar)(1.0, 2.0, 3.0)
    with pytest.raises(S2SADError, match="1 tangent"):
        s2sad.jvp(scalar)(1.0, 2.0)
    with pytest.raises(S2SADError, match="one cotangent"):
        s2sad.vjp(scalar)(1.0, 2.0)
    with pytest.raises(S2SADError, match="tuple of 2 cotangents"):
        s2sad.vjp(pair_out)(1.0, 1.0)


def test_jvp_tangent_shape_mismatch():
    with pytest.raises(S2SADError, match=r"shape \(2,\).*shape \(3,\)") as info:
        s2sad.jvp(vector)(np.ones(3), np.ones(2))
    _located_at_def(info.value, vector)
    with pytest.raises(S2SADError, match="shape"):
        s2sad.jvp(scalar)(1.0, 2.0, np.ones(2))


def test_vjp_cotangent_shape_mismatch():
    with pytest.raises(S2SADError, match="shape"):
        s2sad.vjp(array_out)(np.ones(3), np.ones(2))


# --- the error type ---------------------------------------------------------------------------------

def test_error_type():
    assert issubclass(S2SADError, Exception)
    err = S2SADError("bad thing", "model.py", 12, "  y = x  ")
    assert (err.filename, err.lineno, err.message, err.source_line) == ("model.py", 12, "bad thing", "y = x")
    assert err.one_line() == "model.py:12: bad thing"
    assert str(err) == "model.py:12: bad thing\n    y = x"
    bare = S2SADError("no place")
    assert (bare.filename, bare.lineno) == (None, None) and str(bare) == "no place"
    import pickle
    again = pickle.loads(pickle.dumps(err))
    assert (again.filename, again.lineno, again.message) == (err.filename, err.lineno, err.message)


def test_error_carries_source_line():
    with pytest.raises(S2SADError) as info:
        s2sad.grad(uses_try)(3.0)
    assert info.value.source_line == "try:  # <-"
    assert str(info.value).endswith("\n    try:  # <-")


# --- failures inside the compiler ----------------------------------------------------------------

def plain(x):
    y = x * 2.0
    return np.sin(y)


def test_a_failure_inside_the_compiler_is_an_internal_error_naming_the_function(monkeypatch):
    def broken(fn):
        raise KeyError("a bug")
    monkeypatch.setattr(s2sad.pipeline, "cse", broken)
    with pytest.raises(s2sad.InternalError) as info:
        s2sad.grad(plain, backend="python")(1.0)
    error = info.value
    assert isinstance(error, S2SADError)
    assert "internal error in s2sad while differentiating plain" in error.message and "please report" in error.message
    assert error.filename == __file__ and error.lineno == inspect.getsourcelines(plain)[1]
    assert isinstance(error.__cause__, KeyError)


def test_an_ir_the_verifier_rejects_is_an_internal_error_at_the_statement(monkeypatch):
    from s2sad.ir.core import Eqn
    from s2sad.ir.types import I64

    def corrupt(fn):  # (a result typed wrongly, as a buggy pass might leave it)
        for stmt in fn.body.stmts:
            if isinstance(stmt, Eqn) and stmt.prim.name == "sin":
                stmt.outs[0].type = I64
        return fn
    monkeypatch.setattr(s2sad.pipeline, "cse", corrupt)
    with pytest.raises(s2sad.InternalError) as info:
        s2sad.grad(plain, backend="python")(1.0)
    assert info.value.source_line == "return np.sin(y)"
    assert "VerifyError" in info.value.message


def test_a_source_file_changed_since_the_function_was_defined_is_refused(tmp_path, monkeypatch):
    """inspect reads the file as it is now: differentiating what is there would be another function."""
    import importlib
    path = tmp_path / "edited_model.py"
    path.write_text("import numpy as np\n\n\ndef f(x):\n    return x * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("edited_model")
    path.write_text("import numpy as np\n\n\ndef g(x, y):\n    return x * y\n\n\ndef f(x):\n    return x * x\n")
    with pytest.raises(S2SADError, match="has changed since it was defined"):
        s2sad.grad(module.f, backend="python")(1.0)


def test_a_slow_derivation_says_so_on_stderr_once(monkeypatch, capfd):
    """Making a derivative that takes longer than notice.SLOW seconds prints one line naming the
    function and mode (the threshold is 0 here); the next call, and S2SAD_QUIET, print nothing."""
    from s2sad import notice

    def cube(x):
        return x * x * x
    monkeypatch.setattr(notice, "SLOW", 0.0)
    monkeypatch.delenv("S2SAD_QUIET", raising=False)
    grad = s2sad.grad(cube, backend="python")
    assert grad(2.0) == 12.0
    assert capfd.readouterr().err.count("s2sad: making the reverse-mode derivative of") == 1
    grad(3.0)
    assert capfd.readouterr().err == ""
    monkeypatch.setenv("S2SAD_QUIET", "1")
    s2sad.grad(cube, backend="python", mode="forward")(2.0)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("options, message", [
    ({"mode": "jvp"}, "compile_ahead takes one of reverse, forward, hvp"),
    ({"types": {"q": "f64"}}, "unknown parameters: q"),
])
def test_compile_ahead_refuses_bad_options(options, message):
    def square(x):
        return x * x
    with pytest.raises(S2SADError, match=message):
        s2sad.compile_ahead(square, **options)
