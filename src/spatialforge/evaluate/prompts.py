"""The text a model is asked: the item's question plus an instruction saying what form the answer takes.

Styles (recorded in eval.json with their instruction texts and PROMPT_VERSION, so a score always says which
prompt produced it):
- "instructed" (default): the question, a blank line, then one short instruction for the answer type. It asks
  for the form our parsers read best but does not depend on it: parsers read free replies too.
- "plain": the question alone (what a benchmark's own harness often sends).

Instructions never mention the answer and are the same for every item of an answer type.

Several images (multi-view questions): the backends send them in the item's order, all before the text
(images[0], the main viewpoint, first), as SPAR's training data places one `<image>` per image before the
question. No per-image labels are sent by default: a question that says "the first image" is answered from
the order alone. Where the question names images by number ("the chair (red box in image 2)", "frame 3"),
the instructed style puts one line before the question saying how they are numbered - "Images 1 to 3 are
given in the order shown." (IMAGE_ORDER_NOTE) - so "image 2" cannot be read as 0-based or as an image
outside the set. The plain style never adds it (the question alone).
"""

from __future__ import annotations

import re

from spatialforge.bench.builder.items import BenchItem

# 1.1.0: the image-numbering line for multi-image questions that name images by number.
PROMPT_VERSION = "1.1.0"
# A question naming an image by its number: "image 2", "Image 3", "frame 4", "view 1", "picture #2".
IMAGE_NUMBER = re.compile(r"\b(?:image|frame|view|picture)s?\s*#?\s*\d+", re.IGNORECASE)
IMAGE_ORDER_NOTE = "Images 1 to {n} are given in the order shown."
PROMPT_STYLES = ("instructed", "plain")

# answer_type -> instruction; numbers get the unit hint from the item (metres, cubic metres, a count).
INSTRUCTIONS: dict[str, str] = {
    "choice": "Answer with the letter of the correct option.",
    "yes_no": "Answer yes or no.",
    "number_length": "Answer with a number and a unit of length, e.g. 1.5 meters.",
    "number_volume": "Answer with a number and a unit of volume, e.g. 0.2 cubic meters.",
    "number_count": "Answer with a single whole number.",
    "vector": "Answer with three numbers (x, y, z).",
    "angle": "Answer with an angle in degrees.",
    "clock": "Answer with a clock direction, e.g. 3 o'clock.",
}


def instruction_key(item: BenchItem) -> str | None:
    """Which instruction an item gets (None: no instruction for its answer type)."""
    answer_type = item.scoring.answer_type
    if answer_type == "number":
        if item.unit == "m^3":
            return "number_volume"
        if item.unit is None:
            return "number_count"
        return "number_length"
    return answer_type if answer_type in INSTRUCTIONS else None


def image_order_note(item: BenchItem) -> str | None:
    """The numbering line for an item with several images whose question names images by number, else
    None (a single image, or images referred to by order words only)."""
    if len(item.images) < 2 or not IMAGE_NUMBER.search(item.question):
        return None
    return IMAGE_ORDER_NOTE.format(n=len(item.images))


def build_prompt(item: BenchItem, style: str = "instructed") -> str:
    if style not in PROMPT_STYLES:
        raise ValueError(f"unknown prompt style {style!r}; choose from {PROMPT_STYLES}")
    if style == "plain":
        return item.question
    note = image_order_note(item)
    question = item.question if note is None else f"{note}\n{item.question}"
    key = instruction_key(item)
    return question if key is None else f"{question}\n\n{INSTRUCTIONS[key]}"


def prompt_record(style: str, system: str | None) -> dict[str, object]:
    """What eval.json states about the prompts of a run."""
    return {
        "version": PROMPT_VERSION,
        "style": style,
        "system": system,
        "instructions": dict(INSTRUCTIONS) if style == "instructed" else {},
        "image_order_note": IMAGE_ORDER_NOTE if style == "instructed" else None,
    }
