"""JSON-lines shard parts: the common body of the LLaVA, chat and SPAR writers.

Each shard writes `<writer>/parts/part-<shard>.jsonl` (one sample per line, orjson, keys in a fixed order);
`finalize` of a writer then builds its consumer's layout from the parts, in shard order, streaming (memory
does not grow with the dataset).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

from spatialforge.export.base import PARTIAL, ShardContext, ShardStats, ShardWriter

PARTS_DIR = "parts"


class JsonlPartWriter(ShardWriter):
    """A ShardWriter whose shard is one JSONL part; subclasses implement add() with self.write(sample)."""

    def __init__(self, ctx: ShardContext) -> None:
        super().__init__(ctx)
        self.final = self.dir / PARTS_DIR / f"part-{ctx.shard_name}.jsonl"
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] | None = open(self.partial_path(self.final), "wb")

    def write(self, sample: dict[str, Any], records: int = 1) -> None:
        assert self._fh is not None, "writer already closed"
        self._fh.write(orjson.dumps(sample) + b"\n")
        self.stats.samples += 1
        self.stats.records += records

    def close(self) -> ShardStats:
        assert self._fh is not None, "writer already closed"
        self._fh.close()
        self._fh = None
        self.commit(self.final)
        return self.stats

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self.partial_path(self.final).unlink(missing_ok=True)


def iter_parts(output_dir: Path, shards: Sequence[ShardStats]) -> Iterator[bytes]:
    """Every line of the shards' parts, shards in shard order (the order the manifest lists them)."""
    for stats in sorted(shards, key=lambda s: s.shard):
        for name in stats.files:
            with open(output_dir / name, "rb") as fh:
                yield from fh


def replace_atomic(final: Path, chunks: Iterator[bytes]) -> int:
    """Write `chunks` to final.partial and rename it to final; returns the byte count."""
    partial = final.with_name(final.name + PARTIAL)
    size = 0
    with open(partial, "wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
            size += len(chunk)
    partial.replace(final)
    return size
