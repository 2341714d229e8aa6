"""One registry of source adapters, loud on name collisions."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from spatialforge.sources.base import SourceAdapter

_SOURCES: dict[str, type[SourceAdapter]] = {}


def register_source(name: str) -> Callable[[type[SourceAdapter]], type[SourceAdapter]]:
    def decorate(cls: type[SourceAdapter]) -> type[SourceAdapter]:
        if name in _SOURCES and _SOURCES[name] is not cls:
            raise ValueError(f"source adapter {name!r} already registered by {_SOURCES[name].__qualname__}")
        cls.name = name
        _SOURCES[name] = cls
        return cls

    return decorate


_BUILTIN_MODULES = ("ca1m", "imagenet3d", "kitti", "omni3d", "scannet", "scenes_jsonl", "sunrgbd")


def _load_builtin() -> None:
    # Importing a module registers its adapter; kept lazy so `import spatialforge` stays cheap.
    for module in _BUILTIN_MODULES:
        importlib.import_module(f"spatialforge.sources.{module}")


def get_source(name: str) -> type[SourceAdapter]:
    _load_builtin()
    try:
        return _SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source format {name!r}; available: {', '.join(sorted(_SOURCES))}") from None


def available_sources() -> dict[str, type[SourceAdapter]]:
    _load_builtin()
    return dict(sorted(_SOURCES.items()))
