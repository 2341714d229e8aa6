"""Multi-turn spatial conversations: several QA records about one image chained into one dialogue.

SpatialLLM (paper 001, section 3.2 "Data" and Fig. 4) instruction-tunes on "3D-informed conversation data":
multi-turn dialogues about the spatial relationships in one image (3DI-Ft-1M). Ours are built from the QA
records `spatialforge generate` wrote, so every turn keeps its exact, geometry-computed answer and traces back
to its QA record (`turns[].qa_id`) and from there to the raw labels.

Rules (each rejection is counted by name in the report):
- One conversation = records of one scene and one image list (`images`), never mixed.
- Turns are free-form, SPAR sentence and true/false records: a dialogue answers in words, not by option
  letter, nor with SPAR fill's bare values after an "answer only" line ("not_a_turn_format"). Of a
  true/false pair (both polarities of one fact) at most one record is used ("tf_pair_partner"): the second
  would repeat the first with the answer flipped.
- Markers must tell one story: within a conversation a colour names one box or point, and a box or point
  has one colour ("marker_conflict"), because the turns share one picture.
- Turn counts are drawn uniformly in [min_turns, max_turns]; records left over that cannot make a
  conversation of min_turns are counted ("too_few_turns"). Which records go together is drawn by a
  random.Random seeded from (seed, scene_id, "__conversations__") (engine.seeds), so the output is a
  function of the input file and the seed.

The input is read as a stream: records of a scene are contiguous in a generate output (engine/runner.py
writes a scene's records together), so memory holds one scene at a time; a scene id seen again after another
scene is an error, not a silent split.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spatialforge.engine.seeds import rng_for
from spatialforge.jsonl import JsonlWriter, encode_line
from spatialforge.qa.io import iter_scene_runs

CONVERSATION_SCHEMA_VERSION = 1
CONVERSATION_SEED_KEY = "__conversations__"
TURN_FORMATS = ("free", "sentence", "tf")
DEFAULT_MIN_TURNS = 2
DEFAULT_MAX_TURNS = 6
# Fields a turn keeps from its QA record: enough to show it and to score it.
TURN_FIELDS = ("task", "level", "format", "question", "answer", "answer_value", "unit", "frame", "tolerance")
# Fields shared by every record of one scene and image list: the conversation's own.
SHARED_FIELDS = ("scene_id", "capture_id", "source", "split", "license", "images")
CONVERSATION_ID_HEX_DIGITS = 20

NOT_A_TURN_FORMAT = "not_a_turn_format"
TF_PAIR_PARTNER = "tf_pair_partner"
MARKER_CONFLICT = "marker_conflict"
TOO_FEW_TURNS = "too_few_turns"


@dataclass
class ConversationReport:
    """What one pass made: conversations, turns per conversation, and the records left out by reason."""

    records_read: int = 0
    conversations: int = 0
    turns: Counter[int] = field(default_factory=Counter)
    left_out: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["turns"] = {str(k): v for k, v in sorted(self.turns.items())}
        out["left_out"] = dict(sorted(self.left_out.items()))
        return out


def _marker_keys(record: dict[str, Any]) -> list[tuple[str, tuple[str, int, tuple[float, ...]]]]:
    """(colour, (kind, image index, pixel geometry)) of each marker of a record."""
    return [
        (m["colour"], (m["kind"], m["image_index"], tuple(m["geometry_px"])))
        for m in record.get("markers", ())
    ]


class _MarkerStory:
    """The colour <-> shape pairing of one conversation; a record fits if it keeps the pairing one-to-one."""

    def __init__(self) -> None:
        self.shape_of: dict[str, tuple] = {}
        self.colour_of: dict[tuple, str] = {}

    def fits(self, record: dict[str, Any]) -> bool:
        for colour, shape in _marker_keys(record):
            if self.shape_of.get(colour, shape) != shape or self.colour_of.get(shape, colour) != colour:
                return False
        return True

    def add(self, record: dict[str, Any]) -> None:
        for colour, shape in _marker_keys(record):
            self.shape_of[colour] = shape
            self.colour_of[shape] = colour


def _fact_key(record: dict[str, Any]) -> tuple:
    """What the two records of a true/false pair share (they differ only in the question and answer)."""
    objects = tuple((o["object_id"], o["role"]) for o in record["objects"])
    return (record["task"], record["template_id"], record["seed"], objects)


def _conversation_id(turn_ids: Sequence[str]) -> str:
    digest = hashlib.blake2b(
        "\x1f".join(turn_ids).encode("utf-8"), digest_size=CONVERSATION_ID_HEX_DIGITS // 2
    )
    return digest.hexdigest()


def _conversation(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    first = records[0]
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    markers: dict[tuple, dict[str, Any]] = {}
    for r in records:
        for o in r["objects"]:
            objects.setdefault((o["object_id"], o["role"]), o)
        for m, key in zip(r.get("markers", ()), _marker_keys(r), strict=True):
            markers.setdefault(key, m)
    turns = [{"qa_id": r["id"], **{k: r[k] for k in TURN_FIELDS}} for r in records]
    return {
        "schema_version": CONVERSATION_SCHEMA_VERSION,
        "id": _conversation_id([r["id"] for r in records]),
        **{k: first[k] for k in SHARED_FIELDS},
        "turns": turns,
        "objects": list(objects.values()),
        "markers": list(markers.values()),
    }


def conversations_of_scene(
    records: Sequence[dict[str, Any]],
    rng: random.Random,
    report: ConversationReport,
    *,
    min_turns: int = DEFAULT_MIN_TURNS,
    max_turns: int = DEFAULT_MAX_TURNS,
) -> list[dict[str, Any]]:
    """The conversations of one scene's QA records (see the module docstring); counts go to `report`."""
    if not 1 <= min_turns <= max_turns:
        raise ValueError(f"need 1 <= min_turns <= max_turns, got {min_turns}, {max_turns}")
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r["format"] not in TURN_FORMATS:
            report.left_out[NOT_A_TURN_FORMAT] += 1
            continue
        groups.setdefault(encode_line(r["images"]), []).append(r)
    out = []
    for _, group in sorted(groups.items()):
        pool = _one_per_tf_pair(group, rng, report)
        rng.shuffle(pool)
        while pool:
            target = rng.randint(min_turns, max_turns)
            story = _MarkerStory()
            chosen, rest = [], []
            for r in pool:
                if len(chosen) < target and story.fits(r):
                    story.add(r)
                    chosen.append(r)
                else:
                    rest.append(r)
            if len(chosen) < min_turns:
                # Nothing left can reach min_turns: whatever remains either conflicts or is too few.
                reason = TOO_FEW_TURNS if len(pool) < min_turns else MARKER_CONFLICT
                report.left_out[reason] += len(pool)
                break
            out.append(_conversation(chosen))
            report.conversations += 1
            report.turns[len(chosen)] += 1
            pool = rest
    return out


def _one_per_tf_pair(
    group: Sequence[dict[str, Any]], rng: random.Random, report: ConversationReport
) -> list[dict[str, Any]]:
    """The group with one record of each true/false pair, drawn by rng (order of the group kept)."""
    pairs: dict[tuple, list[int]] = {}
    for i, r in enumerate(group):
        if r["format"] == "tf":
            pairs.setdefault(_fact_key(r), []).append(i)
    dropped = set()
    for members in pairs.values():
        keep = members[rng.randrange(len(members))]
        dropped.update(i for i in members if i != keep)
    report.left_out[TF_PAIR_PARTNER] += len(dropped)
    return [r for i, r in enumerate(group) if i not in dropped]


def write_conversations(
    qa_path: str | Path,
    output_path: str | Path,
    *,
    seed: int = 0,
    min_turns: int = DEFAULT_MIN_TURNS,
    max_turns: int = DEFAULT_MAX_TURNS,
) -> ConversationReport:
    """Read a generate output (data.jsonl), write its conversations (JSONL) and a report beside them
    (<output stem>.report.json). The output appears only when complete (JsonlWriter renames on success)."""
    qa_path, output_path = Path(qa_path), Path(output_path)
    report = ConversationReport()
    with JsonlWriter(output_path, dict) as writer:
        for scene_id, records in iter_scene_runs(qa_path):
            report.records_read += len(records)
            rng = rng_for(seed, scene_id, CONVERSATION_SEED_KEY)
            writer.write_all(
                conversations_of_scene(records, rng, report, min_turns=min_turns, max_turns=max_turns)
            )
    config = {"qa": str(qa_path), "seed": seed, "min_turns": min_turns, "max_turns": max_turns}
    report_path = output_path.with_name(output_path.stem + ".report.json")
    report_path.write_text(encode_line({"config": config, **report.as_dict()}) + "\n", encoding="utf-8")
    return report
