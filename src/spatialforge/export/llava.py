"""LLaVA conversation JSON (LLaVA-1.5's `llava_v1_5_mix665k.json` layout): one sample per QA record.

    {"id": <qa id>, "image": "<path>" (a list for several images),
     "conversations": [{"from": "human", "value": "<image>\\n<question>"},
                       {"from": "gpt", "value": "<answer>"}],
     "qa_id", "source", "license", "capture_id", "scene_id", "split", "view_ids", "task", "level", "format"}

One `<image>` line per image, in image order, before the question (LLaVA-OneVision's multi-image convention:
its loader pairs the k-th `<image>` token with the k-th path of the "image" list; LLaVA-1.5 reads a single
"image"). A multi-view record's images[0] is its main view, so it is the first path and the first token;
`view_ids` names the scene view of each path. Images are named by `ShardContext.image_refs`: the original
file, or a copy with the record's markers on that image drawn when the question names objects by a marker
("the chair (highlighted by the red box)"), so each picture shows what the question says about it. LLaVA's
loader ignores the extra keys; they carry the provenance. `finalize` writes `llava/llava.json` (one JSON
array, shard order); the parts stay for streaming readers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from spatialforge.export.base import ExportOptions, ShardStats, provenance, register
from spatialforge.export.groups import SceneGroup
from spatialforge.export.jsonl_parts import JsonlPartWriter, iter_parts, replace_atomic

IMAGE_TOKEN = "<image>"
LLAVA_FILE = "llava.json"


def llava_sample(record: dict[str, Any], image_refs: list[str]) -> dict[str, Any]:
    prompt = "\n".join([IMAGE_TOKEN] * len(image_refs) + [record["question"]])
    return {
        "id": record["id"],
        "image": image_refs[0] if len(image_refs) == 1 else image_refs,
        "conversations": [
            {"from": "human", "value": prompt},
            {"from": "gpt", "value": record["answer"]},
        ],
        **provenance(record),
        "task": record["task"],
        "level": record["level"],
        "format": record["format"],
    }


@register
class LlavaWriter(JsonlPartWriter):
    name = "llava"

    def add(self, group: SceneGroup) -> None:
        for record in group.records:
            if self.keep(record):
                self.write(llava_sample(record, self.ctx.image_refs(record)))

    @classmethod
    def finalize(
        cls, output_dir: Path, options: ExportOptions, shards: Sequence[ShardStats]
    ) -> dict[str, Any]:
        def array() -> Iterator[bytes]:
            yield b"["
            for i, line in enumerate(iter_parts(output_dir, shards)):
                yield (b",\n" if i else b"\n") + line.rstrip(b"\n")
            yield b"\n]\n"

        final = output_dir / cls.name / LLAVA_FILE
        final.parent.mkdir(parents=True, exist_ok=True)
        size = replace_atomic(final, array())
        return {"file": f"{cls.name}/{LLAVA_FILE}", "samples": sum(s.samples for s in shards), "bytes": size}


def read_llava(path: str | Path) -> list[dict[str, Any]]:
    """The samples of a llava.json file."""
    return orjson.loads(Path(path).read_bytes())
