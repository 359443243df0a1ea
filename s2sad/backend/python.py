"""The Python backend: import a generated module from its file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load(path: Path, namespaces: dict | None = None) -> ModuleType:
    """A fresh copy of the module at `path`, with `namespaces` (the user's modules whose globals
    the generated code reads and writes) bound as module attributes.

    Each derivative gets its own copy, so that binding its namespaces, or its compiled core, never
    changes another derivative that happens to share the generated text. The newest copy is
    registered in `sys.modules` under a name fixed by the file: Numba imports the module by that
    name when it loads compiled code from its cache."""
    name = f"s2sad_generated.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    for alias, namespace in (namespaces or {}).items():
        setattr(module, alias, namespace)
    return module
