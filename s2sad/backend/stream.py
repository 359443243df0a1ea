"""NumPy's global random stream, lent to the code Numba compiled.

NumPy's legacy functions (`np.random.normal`, `np.random.uniform`, `np.random.seed`, …) draw from
one global `RandomState`: a Mersenne Twister (MT19937) and a cached second Gaussian (the polar
method makes normal draws in pairs). Numba compiles the same functions with the same algorithms,
but on a state of its own (one per thread), which NumPy's seed never reaches. So, around each
call of compiled code that draws from the global stream, `run_on_numpys_stream` copies NumPy's
state into Numba's, and after the call (also when it raises) copies Numba's state back into
NumPy's and puts Numba's own back: the compiled code draws the numbers NumPy would draw, and
leaves NumPy's stream where NumPy would leave it. Numba's own stream, which the user's own Numba
functions may use, is left as it was. The bit generator's lock is held for the whole call, as
NumPy holds it for each draw.

Neither library offers a fast public way to read and write all of that state
(`np.random.get_state()` and `set_state()` copy the key word by word, about 35 µs each), so the
three records are read and written where they are in memory:

- Numba's ``rnd_state_t`` (index, key, has_gauss, gauss, is_initialized; `numba._random.c`, also
  described by `numba.cpython.randomimpl.rnd_state_t`), at `_helperlib.rnd_get_np_state_ptr()`;
- NumPy's ``mt19937_state`` (key, pos), at the bit generator's ``ctypes.state_address``;
- NumPy's ``aug_bitgen_t`` (a pointer to the RandomState's ``bitgen_t``, has_gauss, gauss),
  inside the RandomState object: found once, as the pointer to the RandomState's copy of the
  ``bitgen_t``, whose first field is the state address.

Each layout is checked once against the libraries' public accessors (NumPy's `get_state` and
`set_state`, Numba's `rnd_get_state`). If a check fails, or the global stream is not an MT19937
(`np.random.set_bit_generator`), the stream cannot be lent: `StreamUnavailable` is raised before
anything runs, and the backend runs the Python derivative instead (or refuses, with
``backend="numba"``).
"""

from __future__ import annotations

import ctypes
import threading
from typing import Callable

import numpy as np

_N = 624  # words in a Mersenne Twister's key


class StreamUnavailable(RuntimeError):
    """Compiled code cannot draw from NumPy's global stream here."""


class _NumbaState(ctypes.Structure):
    _fields_ = [("index", ctypes.c_int), ("key", ctypes.c_uint32 * _N), ("has_gauss", ctypes.c_int),
                ("gauss", ctypes.c_double), ("is_initialized", ctypes.c_int)]


class _Twister(ctypes.Structure):  # NumPy's mt19937_state
    _fields_ = [("key", ctypes.c_uint32 * _N), ("pos", ctypes.c_int)]


class _Gauss(ctypes.Structure):  # NumPy's aug_bitgen_t
    _fields_ = [("bitgen", ctypes.c_void_p), ("has_gauss", ctypes.c_int), ("gauss", ctypes.c_double)]


def run_on_numpys_stream(fn: Callable, *args):
    """``fn(*args)`` (a call of compiled code) run on NumPy's global random stream, as described
    above; `StreamUnavailable` if it cannot be, before anything runs."""
    rs = np.random.mtrand._rand
    bitgen = rs._bit_generator
    if type(bitgen) is not np.random.MT19937:
        raise StreamUnavailable(f"NumPy's global random stream is a {type(bitgen).__name__}, not the MT19937 "
                                "that compiled code draws with")
    with bitgen.lock:  # one call is one use of the stream, as for each NumPy draw
        numba_state, twister, gauss = _records(rs)
        own = _NumbaState.from_buffer_copy(numba_state)
        _copy(twister, gauss, numba_state)
        try:
            return fn(*args)
        finally:
            _copy_back(numba_state, twister, gauss)
            ctypes.pointer(numba_state)[0] = own


def _copy(twister: _Twister, gauss: _Gauss, numba_state: _NumbaState) -> None:
    """NumPy's stream into Numba's state."""
    numba_state.key = twister.key
    numba_state.index = twister.pos
    numba_state.has_gauss = gauss.has_gauss
    numba_state.gauss = gauss.gauss
    numba_state.is_initialized = 1


def _copy_back(numba_state: _NumbaState, twister: _Twister, gauss: _Gauss) -> None:
    """Numba's state into NumPy's stream (a Gaussian used up reads 0.0 in NumPy, as it does there)."""
    twister.key = numba_state.key
    twister.pos = numba_state.index
    gauss.has_gauss = numba_state.has_gauss
    gauss.gauss = numba_state.gauss if numba_state.has_gauss else 0.0


_thread = threading.local()  # .records: (key, records) of the last call in this thread
_offsets: dict = {}          # RandomState class → offset of its aug_bitgen_t in the object


def _records(rs) -> tuple[_NumbaState, _Twister, _Gauss]:
    """The calling thread's Numba state, and the MT19937 and Gaussian records of `rs` (the
    layouts checked at the first call, which sets and restores `rs`'s state: under the lock)."""
    key = (id(rs), rs._bit_generator.ctypes.state_address)
    cached = getattr(_thread, "records", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    from numba import _helperlib

    if type(rs) not in _offsets:
        _offsets[type(rs)] = _checked_layout(rs)
    records = (_NumbaState.from_address(_helperlib.rnd_get_np_state_ptr()), _Twister.from_address(key[1]),
               _Gauss.from_address(id(rs) + _offsets[type(rs)]))
    _thread.records = (key, records)
    return records


def _checked_layout(rs) -> int:
    """The offset of `rs`'s Gaussian record, after checking the three records' layouts against
    the public accessors (leaving every state as it was); `StreamUnavailable` if one differs."""
    from numba import _helperlib

    offset = _gauss_offset(rs)
    ptr = _helperlib.rnd_get_np_state_ptr()
    index, key = _helperlib.rnd_get_state(ptr)
    numba_state = _NumbaState.from_address(ptr)
    if numba_state.index != index or list(numba_state.key) != key:
        raise StreamUnavailable("Numba's random state is not laid out as expected")
    saved = rs.get_state(legacy=False)
    twister = _Twister.from_address(rs._bit_generator.ctypes.state_address)
    try:
        for has_gauss, value in ((1, 0.3125), (0, 0.0)):
            rs.set_state({**saved, "state": {"key": np.arange(_N, dtype=np.uint32), "pos": 7},
                          "has_gauss": has_gauss, "gauss": value})
            gauss = _Gauss.from_address(id(rs) + offset) if offset is not None else None
            if gauss is None or (gauss.has_gauss, gauss.gauss) != (has_gauss, value) \
                    or twister.pos != 7 or list(twister.key) != list(range(_N)):
                raise StreamUnavailable("NumPy's random state is not laid out as expected")
    finally:
        rs.set_state(saved)
    return offset


def _gauss_offset(rs) -> int | None:
    """Where `rs` holds its aug_bitgen_t: the word pointing at its copy of the bitgen_t, which is
    the word holding the MT19937's state address."""
    size = ctypes.sizeof(ctypes.c_void_p)
    words = list((ctypes.c_void_p * (type(rs).__basicsize__ // size)).from_address(id(rs)))
    state = rs._bit_generator.ctypes.state_address
    for i, word in enumerate(words):
        if word == state and id(rs) + i * size in words:
            return words.index(id(rs) + i * size) * size
    return None
