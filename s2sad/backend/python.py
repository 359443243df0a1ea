"""The Python backend: run a generated module from its source."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

from ..cache import content_key
from ..errors import S2SADError

PACKAGE = "s2sad_generated"  # (the package name of every generated module)


def load(path: Path, namespaces: dict | None = None, source: str | None = None) -> ModuleType:
    """A fresh copy of the module at `path`, with `namespaces` (the user's modules whose globals
    the generated code reads and writes) bound as module attributes.

    Each derivative gets its own copy, so that binding its namespaces, or its compiled core, never
    changes another derivative that happens to share the generated text. The newest copy is
    registered in `sys.modules` under a name fixed by the file: Numba imports the module by that
    name when it loads compiled code from its cache.

    The module runs `source` (the text written to `path`), or the file's text when its hash is
    the one in its name; no bytecode file is read or written (cache.py)."""
    name = f"{PACKAGE}.{path.stem}"
    if source is None:
        source = path.read_text()
        if not path.stem.endswith("_" + content_key(source)):
            raise S2SADError(f"the generated module {path} was changed after s2sad wrote it; remove it")
    module = ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)
    for alias, namespace in (namespaces or {}).items():
        setattr(module, alias, namespace)
    return module
