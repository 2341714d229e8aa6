"""Loading a script of benchmarks/ as a module, for the tests of its functions."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def script_path(name: str) -> Path:
    """benchmarks/NAME.py."""
    return BENCHMARKS / f"{name}.py"


def load_script(name: str) -> ModuleType:
    """benchmarks/NAME.py imported as the module NAME (not registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, script_path(name))
    assert spec is not None and spec.loader is not None, name
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
