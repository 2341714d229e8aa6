"""SPAR-Bench (HF dataset jasonzhango/SPAR-Bench, and its 1,000-question SPAR-Bench-Tiny), read from the
released parquet.

Upstream followed: HF datasets jasonzhango/SPAR-Bench (revision ee12287) and jasonzhango/SPAR-Bench-Tiny
(revision 4fd1399 / card 74c70df); the evaluation of the released lmms-eval task
(LogosRoboticsGroup/SPAR lmms-eval/lmms_eval/tasks/sparbench/, copied into EvolvingLMMs-Lab/lmms-eval
lmms_eval/tasks/sparbench/utils.py @ 1741440 and _default_template_yaml @ 1c2933a; the same code in
zhangjiayi-ootd/SPARtest @ 04f6b55).

Released files: `data/test-*.parquet`, one row per question, columns (dataset card `dataset_info`): id int64,
img_type string, format_type string, task string, source string, image (a sequence of HF Images: a list of
{bytes, path}), question string, answer string. The tiny set has the same layout; point --data at either
folder.

Prompt (utils.py `sparbench_doc_to_text`, lmms_eval_specific_kwargs "default", pre_prompt ""):
- numeric tasks (NA_QUESTION_TYPES): "\\n<question>\\nPlease answer the question using a single word or
  phrase." (na_post_prompt);
- multiple choice (MCA_QUESTION_TYPES): "\\n<question>\\n<post>\\nAnswer with the option's letter from the
  given choices directly." where <post> is "The values represent the bounding box coordinates normalized to
  a 0-1000 scale, with the top-left corner as the origin of the image." for position_matching and
  camera_motion_infer and empty otherwise;
- view_change_infer: "\\n<question>\\n\\n" (both post prompts empty).
Images are sent in the released order (`sparbench_doc_to_visual` returns doc["image"]).

Answers: multiple-choice golds are option letters and the options are written inside the question (no
option columns); the loader reads them from the question text (lines or inline "A. ...", "(A) ...",
"A) ...", "A: ..."); a question whose options cannot be read, or whose gold is not one of them, is skipped
as `options_not_found` / `unknown_answer` (the scoring core needs the offered letters). Numeric golds are
metres as plain numbers; view_change_infer golds are "move_right:1.2,move_up:0.4,...".

Tasks: the 20 released task names are exactly aggregate.SPARBENCH_TASK_LEVELS (MCA + NA + SPECIAL lists of
utils.py); a row with another task is skipped as `unknown_task`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from spatialforge.bench.aggregate import SPARBENCH_TASK_LEVELS, SPARBENCH_TASK_METRICS
from spatialforge.bench.parsers import parse_view_change
from spatialforge.bench.published.base import (
    LoaderContext,
    LoaderSkip,
    PublishedBenchmark,
    PublishedItem,
    image_cell,
)
from spatialforge.bench.rules import gold_letter
from spatialforge.errors import RecordError

FILES_GLOB = "data/test-*.parquet"
COLUMNS = ["id", "img_type", "format_type", "task", "source", "image", "question", "answer"]

# utils.py sparbench_doc_to_text and the "default" lmms_eval_specific_kwargs of _default_template_yaml.
PRE_PROMPT = ""
NA_POST_PROMPT = "Please answer the question using a single word or phrase."
MCA_POST_PROMPT = "Answer with the option's letter from the given choices directly."
BOX_NOTE = (
    "The values represent the bounding box coordinates normalized to a 0-1000 scale, "
    "with the top-left corner as the origin of the image."
)
BOX_NOTE_TASKS = frozenset({"position_matching", "camera_motion_infer"})

# An option marker: "A." / "A)" / "A:" / "(A)" at the start of a line or after whitespace.
_OPTION = re.compile(r"(?:(?<=\s)|^)\(?([A-H])(?:\)|[.:])\s+", re.MULTILINE)


def official_prompt(task: str, question: str) -> str:
    """The text the released lmms-eval task sends for this question (see module docstring)."""
    metric = SPARBENCH_TASK_METRICS[task]
    if metric == "mra":
        return PRE_PROMPT + "\n" + question + "\n" + NA_POST_PROMPT
    if metric == "accuracy":
        note = BOX_NOTE if task in BOX_NOTE_TASKS else ""
        return PRE_PROMPT + "\n" + question + "\n" + note + "\n" + MCA_POST_PROMPT
    return PRE_PROMPT + "\n" + question + "\n" + "" + "\n" + ""


def options_in_question(question: str) -> tuple[tuple[str, str], ...]:
    """The lettered options written in a question: the last run of markers A, B, C, ... in order, each
    option's text running to the next marker (or the end)."""
    markers = list(_OPTION.finditer(question))
    best: list[re.Match[str]] = []
    run: list[re.Match[str]] = []
    for m in markers:
        expected = chr(ord("A") + len(run))
        if m.group(1) == expected:
            run.append(m)
        elif m.group(1) == "A":
            run = [m]
        else:
            continue
        if len(run) >= 2:
            best = list(run)
    if len(best) < 2:
        return ()
    out = []
    for i, m in enumerate(best):
        end = best[i + 1].start() if i + 1 < len(best) else len(question)
        text = question[m.end() : end].strip()
        if i + 1 == len(best):
            text = text.splitlines()[0].strip() if text else text
        out.append((m.group(1), text.rstrip(",;").strip()))
    return tuple(out)


def _number(answer: str) -> float | None:
    try:
        value = float(answer)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _item(ctx: LoaderContext, file: str, index: int, row: dict[str, Any]) -> PublishedItem | LoaderSkip:
    record = f"row {index}"
    raw_id = row.get("id")
    item_id = str(raw_id) if raw_id is not None else record
    task = row.get("task")
    question = row.get("question")
    answer = row.get("answer")
    if raw_id is None or not isinstance(question, str) or not question.strip() or not isinstance(answer, str):
        return LoaderSkip(item_id, "missing_field", f"{record}: id, question and answer are required")
    if task not in SPARBENCH_TASK_LEVELS:
        return LoaderSkip(item_id, "unknown_task", f"{record}: task {task!r} is not a SPAR-Bench task")
    cells = row.get("image") or []
    if not cells:
        return LoaderSkip(item_id, "missing_image", f"{record}: no images")
    try:
        # Bytes only: the stored `path` of an HF Image cell is a name, never read (it may point anywhere).
        images = tuple(
            image_cell(cell, file=file, record=record, field=f"image[{i}]") for i, cell in enumerate(cells)
        )
    except RecordError as e:
        return LoaderSkip(item_id, "unreadable_image", f"{record}: {e}")

    metric = SPARBENCH_TASK_METRICS[task]
    gold = answer.strip()
    choices: tuple[tuple[str, str], ...] = ()
    unit: str | None = None
    value: Any
    if metric == "accuracy":
        choices = options_in_question(question)
        if not choices:
            return LoaderSkip(item_id, "options_not_found", f"{record}: no lettered options in the question")
        value = gold_letter(gold)
        if value not in {label for label, _ in choices}:
            return LoaderSkip(
                item_id, "unknown_answer", f"{record}: answer {answer!r} is not an offered option"
            )
    elif metric == "mra":
        value = _number(gold)
        if value is None:
            return LoaderSkip(item_id, "invalid_answer", f"{record}: answer {answer!r} is not a number")
        unit = "m"
    else:
        parsed = parse_view_change(gold)
        if not parsed.ok:
            return LoaderSkip(
                item_id, "invalid_answer", f"{record}: {answer!r} is no view change ({parsed.detail})"
            )
        value = gold
    return PublishedItem(
        id=item_id,
        task=task,
        question=question,
        prompt=official_prompt(task, question),
        images=images,
        choices=choices,
        answer=answer,
        answer_value=value,
        scoring=ctx.benchmark.rule_for(item_id, task, value, choices, unit),
        unit=unit,
        report_group=SPARBENCH_TASK_LEVELS[task],
        extra={k: row[k] for k in ("img_type", "format_type", "source") if row.get(k) is not None},
    )


def load(ctx: LoaderContext) -> Iterator[PublishedItem | LoaderSkip]:
    files = ctx.find(FILES_GLOB)
    if not files:
        ctx.require("data/test-00000-of-00001.parquet")  # names the missing file and the upstream
    for path in files:
        for index, row in ctx.read_parquet(path, columns=COLUMNS):
            yield _item(ctx, str(path), index, row)


BENCHMARK = PublishedBenchmark(
    name="sparbench",
    title="SPAR-Bench",
    upstream="HF datasets jasonzhango/SPAR-Bench (ee12287) / jasonzhango/SPAR-Bench-Tiny (4fd1399)",
    license="not stated on the dataset cards; images from ScanNet, ScanNet++, Structured3D (their terms)",
    size="7,207 questions in 20 tasks (SPAR-Bench-Tiny: 1,000, 50 per task)",
    files=(FILES_GLOB,),
    scoring="sparbench",
    load=load,
    notes=(
        "multiple-choice options are read from the question text; rows whose options cannot be read are "
        "skipped as options_not_found",
    ),
)
