"""Import every writer module so that export.base.WRITERS holds them all (one registry, filled on import)."""

from spatialforge.export import chat, llava, parquet, spar, wds  # noqa: F401
