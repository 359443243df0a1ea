"""The Python backend: import a generated module from its file and return its function."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Callable


def load(path: Path, name: str, namespaces: dict | None = None) -> Callable:
    """The function `name` of the module at `path`, with `namespaces` (the user's modules whose
    globals the generated code reads and writes) bound as module attributes."""
    module_name = f"s2sad_generated.{path.stem}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[module_name] = module
    for alias, namespace in (namespaces or {}).items():
        setattr(module, alias, namespace)
    return getattr(module, name)
