"""Machine code loaded from Numba's cache without the rest of Numba's start-up.

Numba loads a function's cached machine code only after refreshing its target context, which
imports every implementation it has (and SciPy's BLAS with them): about 0.25 s in a new process,
more than the rest of a warm first call. Loading needs none of it: the machine code is linked
against Numba's runtime (its NRT and C helpers, which this module initialises) and the C library,
and nothing else. So `load_cached` reads the cache entry as Numba would, checks that every
symbol its code calls is already known to the linker, and only then loads it without the
refresh; an entry calling anything else (a symbol that one of Numba's implementations registers
when it is imported) is loaded after Numba's full refresh, as Numba itself would.

Compiling still needs all of Numba: numba_runtime.py prepares it before the first compile of the
process.
"""

from __future__ import annotations

import itertools
import struct


def load_cached(jitted, args: tuple) -> bool:
    """Load `jitted`'s machine code for the types of `args` from the cache, if it is there, as
    Numba's own ``Dispatcher.compile`` does before compiling."""
    try:
        signature = tuple(jitted.typeof_pyval(a) for a in args)
    except Exception:  # (a value Numba has no type for: the call meets it)
        return False
    return load_signature(jitted, signature)


def load_signature(jitted, signature: tuple) -> bool:
    """`load_cached` for the Numba types of the arguments."""
    from numba.core.compiler_lock import global_compiler_lock

    with global_compiler_lock:
        if signature in jitted.overloads:
            return True
        try:
            cres = _load(jitted, signature)
        except Exception:  # an unreadable cache file: the compile replaces it
            return False
        if cres is None:
            return False
        jitted._cache_hits[signature] += 1
        jitted.targetctx.insert_user_function(cres.entry_point, cres.fndesc, [cres.library])
        jitted.add_overload(cres)
        return True


def float_arrays_returned(jitted) -> set:
    """The Numba types of the float arrays `jitted`'s loaded machine code may return (any
    memory layout: a view comes back as a view), for loading what checks them."""
    from numba.core import types

    found = set()
    for cres in jitted.overloads.values():
        returned = cres.signature.return_type
        for t in returned.types if isinstance(returned, types.BaseTuple) else (returned,):
            if isinstance(t, types.Array) and isinstance(t.dtype, types.Float):
                found.update(t.copy(layout=layout) for layout in "CA")
    return found


def _load(jitted, signature: tuple):
    """The compile result cached for `signature`, or None; the target context refreshed only if
    its code calls a symbol the linker does not know yet."""
    from numba.core.runtime import rtsys

    cache, context = jitted._cache, jitted.targetctx
    if not getattr(cache, "_enabled", False):  # (not cached: `NullCache`)
        return None
    data = cache._cache_file.load(cache._index_key(signature, context.codegen()))
    if data is None:
        return None
    rtsys.initialize(context)  # (Numba's runtime, which every cached entry links against)
    if not _linkable(data[0], context.codegen()):
        context.refresh()
    return cache._impl.rebuild(context, data)


def _linkable(library: tuple, codegen) -> bool:
    """Is every symbol that the serialized `library` (Numba's ``(name, kind, data)``) needs from
    outside known to the linker? (LLVM stops the process on one it cannot find.) Read from the
    object code's symbol table where it is ELF (`undefined_symbols`), else from the declarations
    of its bitcode, which LLVM parses (a tenth of a second for a large derivative)."""
    import llvmlite.binding as ll
    from numba.core.codegen import RuntimeLinker

    _, kind, data = library
    needed = undefined_symbols(data[0]) if kind == "object" else None
    if needed is None:
        module = ll.parse_bitcode(data[1] if kind == "object" else data)
        needed = [s.name for s in itertools.chain(module.functions, module.global_variables)
                  if s.is_declaration and not s.name.startswith("llvm.")]
    defined = codegen._engine._defined_symbols
    return all(name.startswith(RuntimeLinker.PREFIX) or name in defined or ll.address_of_symbol(name)
               for name in needed)


def undefined_symbols(elf: bytes) -> list[str] | None:
    """The global symbols a 64-bit little-endian ELF object file uses without defining (weak ones
    aside, which may stay unresolved), or None for any other kind of file."""
    if elf[:6] != b"\x7fELF\x02\x01":
        return None
    section_table, = struct.unpack_from("<Q", elf, 0x28)
    entry_size, count = struct.unpack_from("<HH", elf, 0x3A)
    sections = [struct.unpack_from("<IIQQQQII", elf, section_table + k * entry_size) for k in range(count)]
    names = []
    for _, kind, _, _, offset, size, link, _ in sections:
        if kind != 2:  # (SHT_SYMTAB)
            continue
        strings = sections[link][4]
        for start in range(offset, offset + size, 24):
            name, info, _, section = struct.unpack_from("<IBBH", elf, start)
            if section == 0 and name and info >> 4 == 1:  # (undefined, named, global)
                names.append(elf[strings + name:elf.index(b"\0", strings + name)].decode())
    return names
