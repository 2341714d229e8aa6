"""Chat-messages JSONL with image references: the layout of HF transformers chat templates and TRL's
vision SFT data (a "messages" list with typed content parts, plus an "images" list), one sample per QA record.

    {"id": <qa id>,
     "messages": [
        {"role": "user",
         "content": [{"type": "image", "path": "<image>"}, ..., {"type": "text", "text": "<q>"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "<answer>"}]}],
     "images": ["<image>", ...],
     "qa_id", "source", "license", "capture_id", "scene_id", "split", "view_ids", "task", "level", "format"}

Image parts come first, in image order, as processors expect (`processor.apply_chat_template(messages)` loads
a part's "path"; TRL pairs "images" with the image parts by order). OpenAI's fine-tuning format differs only
in spelling: an image part {"type": "image_url", "image_url": {"url": ...}} -- `to_openai(sample)` converts
one sample (a file URL for a local path). Images are named by `ShardContext.image_refs` (marked copies
where the question names objects by a marker). Shards stay as `chat/parts/part-<shard>.jsonl`;
`datasets.load_dataset("json", data_files="chat/parts/*.jsonl")` reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spatialforge.export.base import provenance, register
from spatialforge.export.groups import SceneGroup
from spatialforge.export.jsonl_parts import JsonlPartWriter


def chat_sample(record: dict[str, Any], image_refs: list[str]) -> dict[str, Any]:
    user = [{"type": "image", "path": ref} for ref in image_refs]
    user.append({"type": "text", "text": record["question"]})
    return {
        "id": record["id"],
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": [{"type": "text", "text": record["answer"]}]},
        ],
        "images": image_refs,
        **provenance(record),
        "task": record["task"],
        "level": record["level"],
        "format": record["format"],
    }


def to_openai(sample: dict[str, Any]) -> dict[str, Any]:
    """One chat sample in OpenAI's fine-tuning spelling (image_url parts; strings for text-only turns)."""

    def part(p: dict[str, Any]) -> dict[str, Any]:
        if p["type"] != "image":
            return p
        ref = p["path"]
        url = ref if "://" in ref else Path(ref).resolve().as_uri()
        return {"type": "image_url", "image_url": {"url": url}}

    messages = []
    for m in sample["messages"]:
        parts = [part(p) for p in m["content"]]
        text_only = all(p["type"] == "text" for p in parts)
        content: Any = "\n".join(p["text"] for p in parts) if text_only else parts
        messages.append({"role": m["role"], "content": content})
    return {"messages": messages}


@register
class ChatWriter(JsonlPartWriter):
    name = "chat"

    def add(self, group: SceneGroup) -> None:
        for record in group.records:
            if self.keep(record):
                self.write(chat_sample(record, self.ctx.image_refs(record)))
