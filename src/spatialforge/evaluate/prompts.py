"""The text a model is asked: the item's question plus an instruction saying what form the answer takes.

Styles (recorded in eval.json with their instruction texts and PROMPT_VERSION, so a score always says which
prompt produced it):
- "instructed" (default): the question, a blank line, then one short instruction for the answer type. It asks
  for the form our parsers read best but does not depend on it: parsers read free replies too.
- "plain": the question alone (what a benchmark's own harness often sends).

Instructions never mention the answer and are the same for every item of an answer type.
"""

from __future__ import annotations

from spatialforge.bench.builder.items import BenchItem

PROMPT_VERSION = "1.0.0"
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


def build_prompt(item: BenchItem, style: str = "instructed") -> str:
    if style not in PROMPT_STYLES:
        raise ValueError(f"unknown prompt style {style!r}; choose from {PROMPT_STYLES}")
    key = instruction_key(item) if style == "instructed" else None
    return item.question if key is None else f"{item.question}\n\n{INSTRUCTIONS[key]}"


def prompt_record(style: str, system: str | None) -> dict[str, object]:
    """What eval.json states about the prompts of a run."""
    return {
        "version": PROMPT_VERSION,
        "style": style,
        "system": system,
        "instructions": dict(INSTRUCTIONS) if style == "instructed" else {},
    }
