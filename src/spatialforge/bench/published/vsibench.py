"""VSI-Bench (Yang et al., "Thinking in Space", arXiv 2412.14171): spatial questions about indoor videos.

Released files (HF dataset nyu-visionx/VSI-Bench), read from the data folder as downloaded and unzipped:
- questions: `test-00000-of-00001.parquet` (revision 668dd47863a49c6ee50946df1bf085a039fc95cd, the release
  the paper and vision-x-nyu/thinking-in-space evaluate) or `test.jsonl` (the same rows, added in revision
  d7cb1a3 with VSI-Bench-Debiased); with `subset=debiased`, `test_debiased.parquet` of that revision
  (create_pq.py there: test.jsonl rows not pruned by Iterative Bias Pruning, plus a boolean `pruned` column).
  Fields: id (int), dataset, scene_name, question_type, question, ground_truth (text), options (a list of
  "A. text" strings for multiple choice, null for numerical answers);
- videos: `arkitscenes/`, `scannet/`, `scannetpp/` (the three zips unpacked), each `<scene_name>.mp4`, the
  path the official task opens (utils.py `vsibench_doc_to_visual`: dataset + "/" + scene_name + ".mp4").
  A folder `<dataset>/<scene_name>/` of numbered frame images is accepted instead of the mp4 (see video.py);
  when both exist the mp4 is used.

Prompt and scoring follow the released lmms-eval task, vision-x-nyu/thinking-in-space
lmms_eval/tasks/vsibench/utils.py + vsibench.yaml (identical in ellisbrown/thinking-in-space a99d5c34 and in
EvolvingLMMs-Lab/lmms-eval): `vsibench_doc_to_text` with the yaml's default kwargs; multiple-choice answers
by exact match of the option letter, numerical answers by MRA over 10 thresholds; the total is the mean of
the 8 task scores with the three object_rel_direction difficulties averaged first
(`vsibench_aggregate_results`), which is the `vsibench` scoring spec (bench/benchmarks.py, aggregate.py).

The frames: `frames` (default 32) sampled uniformly from each video as lmms-eval does (video.py), so every
item carries the same frames its scene's other questions do; the count and the chosen frame indices are in
each item's `extra`, and the option in the import report. 32 is the frame count of the open models in the
paper's evaluation script (thinking-in-space evaluate_all_in_one.sh: num_frames=32; GPT-4o there used 16,
InternVL2 8) and the default of lmms-eval's multi-image VSI-Bench task.

Each video is decoded once per import: questions are grouped by scene (scenes in order of first appearance,
questions in released order within a scene), so at most one scene's frames are held in memory.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spatialforge.bench.benchmarks import VSI_NUMERIC_UNITS
from spatialforge.bench.published import video
from spatialforge.bench.published.base import (
    LoaderContext,
    LoaderOption,
    LoaderSkip,
    PublishedBenchmark,
    PublishedItem,
)
from spatialforge.errors import RecordError

# utils.py MCA_QUESTION_TYPES / NA_QUESTION_TYPES: the released question_type values.
MCA_QUESTION_TYPES: tuple[str, ...] = (
    "object_rel_direction_easy",
    "object_rel_direction_medium",
    "object_rel_direction_hard",
    "object_rel_distance",
    "route_planning",
    "obj_appearance_order",
)
NA_QUESTION_TYPES: tuple[str, ...] = (
    "object_abs_distance",
    "object_counting",
    "object_size_estimation",
    "room_size_estimation",
)

# utils.py vsibench_doc_to_text with vsibench.yaml lmms_eval_specific_kwargs.default: pre_prompt is "" there,
# so the function's fallback "These are frames of a video." is what is sent.
PRE_PROMPT = "These are frames of a video."
MCA_POST_PROMPT = "Answer with the option's letter from the given choices directly."
NA_POST_PROMPT = "Please answer the question using a single word or phrase."

REQUIRED_FIELDS: tuple[str, ...] = (
    "id",
    "dataset",
    "scene_name",
    "question_type",
    "question",
    "ground_truth",
    "options",
)
FULL_PARQUET = "test-*.parquet"
FULL_JSONL = "test.jsonl"
DEBIASED_PARQUET = "test_debiased.parquet"
SUBSETS = ("full", "debiased")
DEFAULT_FRAMES = 32
DEFAULT_JPEG_QUALITY = 90

# A released option: "A. sofa" (letter, full stop, text).
_OPTION = re.compile(r"([A-Z])\.\s*(.*)", re.DOTALL)
# dataset and scene_name become one path component each; anything else could walk out of the data folder.
_PATH_COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class _Question:
    """A released row that passed validation, waiting for its scene's frames."""

    id: str
    dataset: str
    scene: str
    task: str
    question: str
    prompt: str
    ground_truth: str
    options: list[str] | None
    choices: tuple[tuple[str, str], ...]
    answer_value: str | float
    released: dict[str, Any] = field(default_factory=dict)


def build_prompt(question_type: str, question: str, options: list[str] | None) -> str:
    """The text utils.py `vsibench_doc_to_text` returns (default kwargs): numerical questions get
    pre_prompt, question and na_post_prompt on three lines; multiple choice adds "Options:" and the released
    option strings, one per line, before mca_post_prompt."""
    if question_type in NA_QUESTION_TYPES:
        return PRE_PROMPT + "\n" + question + "\n" + NA_POST_PROMPT
    if question_type in MCA_QUESTION_TYPES:
        listed = "Options:\n" + "\n".join(options or [])
        return "\n".join([PRE_PROMPT, question, listed, MCA_POST_PROMPT])
    raise ValueError(f"unknown VSI-Bench question type {question_type!r}")


def _choices(options: list[str]) -> tuple[tuple[str, str], ...] | None:
    """("A", "sofa"), ... from the released "A. sofa" strings; None unless they are lettered A, B, C, ...
    in order (a row that breaks this cannot be scored by letter)."""
    choices = []
    for position, option in enumerate(options):
        match = _OPTION.fullmatch(option.strip()) if isinstance(option, str) else None
        if match is None or match.group(1) != chr(ord("A") + position):
            return None
        choices.append((match.group(1), match.group(2).strip()))
    return tuple(choices)


def _question(row: Any, where: str) -> _Question | LoaderSkip:
    """A released row checked field by field; a bad row is a skip naming the field."""
    if not isinstance(row, dict):
        return LoaderSkip(where, "bad_row", f"{where}: a row must be an object, got {type(row).__name__}")
    raw_id = row.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, (int, str)) or str(raw_id).strip() == "":
        return LoaderSkip(where, "missing_field", f"{where}: no usable 'id' ({raw_id!r})")
    item_id = str(raw_id).strip()
    missing = [k for k in REQUIRED_FIELDS if k not in row]
    if missing:
        return LoaderSkip(item_id, "missing_field", f"{where}: no {missing[0]!r}")
    texts: dict[str, str] = {}
    for key in ("dataset", "scene_name", "question_type", "question", "ground_truth"):
        value = row[key]
        # ARKitScenes scene names and numerical answers are numbers written as text; accept them unquoted.
        if (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and key in ("scene_name", "ground_truth")
        ):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            return LoaderSkip(item_id, "missing_field", f"{where}: {key!r} is empty or not text ({value!r})")
        texts[key] = value
    task = texts["question_type"]
    if task not in MCA_QUESTION_TYPES and task not in NA_QUESTION_TYPES:
        return LoaderSkip(item_id, "unknown_task", f"{where}: question_type {task!r} is not a VSI-Bench task")
    for key in ("dataset", "scene_name"):
        if not _PATH_COMPONENT.fullmatch(texts[key]):
            return LoaderSkip(item_id, "unsafe_path", f"{where}: {key} {texts[key]!r} is not a plain name")
    gold = texts["ground_truth"].strip()
    options = row["options"]
    choices: tuple[tuple[str, str], ...] = ()
    answer_value: str | float
    if task in MCA_QUESTION_TYPES:
        if not isinstance(options, (list, tuple)) or len(options) < 2:
            return LoaderSkip(item_id, "bad_options", f"{where}: multiple choice needs a list of options")
        options = list(options)
        parsed = _choices(options)
        if parsed is None:
            return LoaderSkip(item_id, "bad_options", f"{where}: options are not 'A. ...', 'B. ...' in order")
        choices = parsed
        # exact_match compares the reply's first word with ground_truth, case-insensitively: the letter.
        letter = gold.upper()
        if letter not in {label for label, _ in choices}:
            return LoaderSkip(
                item_id, "unknown_answer", f"{where}: ground_truth {gold!r} is not one of the option letters"
            )
        answer_value = letter
    else:
        # to_float(ground_truth) in utils.py; a gold that is no finite number cannot be scored by MRA.
        try:
            number = float(gold)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            return LoaderSkip(item_id, "bad_answer", f"{where}: ground_truth {gold!r} is not a finite number")
        answer_value = number
        options = list(options) if isinstance(options, (list, tuple)) else None
    released = {k: v for k, v in row.items() if k not in REQUIRED_FIELDS}
    return _Question(
        id=item_id,
        dataset=texts["dataset"],
        scene=texts["scene_name"],
        task=task,
        question=texts["question"],
        prompt=build_prompt(task, texts["question"], options),
        ground_truth=texts["ground_truth"],
        options=options,
        choices=choices,
        answer_value=answer_value,
        released=released,
    )


def _released_rows(ctx: LoaderContext, subset: str) -> Iterator[tuple[str, Any]]:
    """(where, row) of the question file(s) of `subset`: for "full", the parquet shards when present, else
    test.jsonl (never both: they hold the same rows)."""
    if subset == "debiased":
        paths = [ctx.require(DEBIASED_PARQUET)]
    else:
        paths = ctx.find(FULL_PARQUET)
        if not paths:
            jsonl = ctx.root / FULL_JSONL
            if not jsonl.is_file():
                raise RecordError(
                    "missing_file",
                    f"VSI-Bench questions not found: expected {FULL_PARQUET} or {FULL_JSONL} (HF dataset "
                    "nyu-visionx/VSI-Bench)",
                    file=str(ctx.root),
                )
            for number, row in ctx.read_jsonl(ctx.path(FULL_JSONL)):
                yield f"{FULL_JSONL} line {number}", row
            return
    for path in paths:
        for index, row in ctx.read_parquet(path):
            if index == 0:
                missing = [k for k in REQUIRED_FIELDS if k not in row]
                if missing:
                    raise RecordError(
                        "missing_field",
                        f"no column {missing[0]!r}: not a VSI-Bench question file",
                        file=str(path),
                        field=missing[0],
                    )
            yield f"{path.name} row {index}", row


def _scene_frames(
    ctx: LoaderContext, dataset: str, scene: str, frames: int, quality: int
) -> video.SampledFrames:
    """The sampled frames of one scene, from `<dataset>/<scene>.mp4` or the frame folder `<dataset>/<scene>/`.
    Raises RecordError(unsafe_path / missing_video) or video.VideoUnreadable."""
    clip = ctx.path(f"{dataset}/{scene}.mp4", record=scene, field="scene_name")
    if clip.is_file():
        return video.sample_video(clip, frames, jpeg_quality=quality)
    folder = ctx.path(f"{dataset}/{scene}", record=scene, field="scene_name")
    if folder.is_dir():
        files = video.frame_files(folder)
        for file in files:
            if not file.resolve().is_relative_to(ctx.root):
                raise RecordError(
                    "unsafe_path", f"frame {file.name!r} links out of the data folder", record=scene
                )
        return video.sample_frame_folder([f.resolve() for f in files], frames)
    raise RecordError("missing_video", f"neither {dataset}/{scene}.mp4 nor a frame folder {dataset}/{scene}/")


def _item(q: _Question, sampled: video.SampledFrames, frames: int, source: str) -> PublishedItem:
    unit = VSI_NUMERIC_UNITS.get(q.task)
    unit = None if unit in (None, "none") else unit
    choices = q.choices
    return PublishedItem(
        id=q.id,
        task=q.task,
        question=q.question,
        prompt=q.prompt,
        images=sampled.images,
        choices=choices,
        answer=q.ground_truth,
        answer_value=q.answer_value,
        # The spec holds VSI-Bench's rules (MCA: letter, accuracy; NA: first number, MRA, in the task's unit).
        scoring=BENCHMARK.rule_for(q.id, q.task, q.answer_value, choices, unit),
        unit=unit,
        extra={
            "dataset": q.dataset,
            "scene_name": q.scene,
            "options": q.options,
            "frames": frames,
            "frame_indices": list(sampled.indices),
            "video_frames": sampled.total,
            "frame_source": source,
            **q.released,
        },
    )


def load(ctx: LoaderContext) -> Iterator[PublishedItem | LoaderSkip]:
    frames = ctx.option_int("frames")
    quality = ctx.option_int("jpeg_quality")
    if quality > 100:
        raise ValueError(f"option jpeg_quality={quality} must be at most 100")
    subset = ctx.option_choice("subset", SUBSETS)
    scenes: dict[tuple[str, str], list[_Question]] = {}
    for where, row in _released_rows(ctx, subset):
        checked = _question(row, where)
        if isinstance(checked, LoaderSkip):
            yield checked
            continue
        scenes.setdefault((checked.dataset, checked.scene), []).append(checked)
    for (dataset, scene), questions in scenes.items():
        try:
            sampled = _scene_frames(ctx, dataset, scene, frames, quality)
        except RecordError as e:
            for q in questions:
                yield LoaderSkip(q.id, e.reason, f"{dataset}/{scene}: {e.detail}")
            continue
        except video.VideoUnreadable as e:
            for q in questions:
                yield LoaderSkip(q.id, "unreadable_video", f"{dataset}/{scene}: {e}")
            continue
        source = "frame_folder" if sampled.images and isinstance(sampled.images[0], Path) else "video"
        for q in questions:
            yield _item(q, sampled, frames, source)


BENCHMARK = PublishedBenchmark(
    name="vsibench",
    title="VSI-Bench",
    upstream=(
        "HF dataset nyu-visionx/VSI-Bench, revision 668dd47863a49c6ee50946df1bf085a039fc95cd "
        "(test.jsonl / test_debiased.parquet: revision d7cb1a3); prompt and scoring: "
        "vision-x-nyu/thinking-in-space lmms_eval/tasks/vsibench/utils.py"
    ),
    license="Apache-2.0 (questions); videos from ScanNet, ScanNet++ and ARKitScenes under their own terms",
    size="5,130 questions over 288 videos (ScanNet 88, ScanNet++ 50, ARKitScenes 150)",
    files=(
        FULL_PARQUET,
        FULL_JSONL,
        DEBIASED_PARQUET,
        "arkitscenes/*.mp4",
        "scannet/*.mp4",
        "scannetpp/*.mp4",
    ),
    scoring="vsibench",
    load=load,
    options={
        "frames": LoaderOption(
            str(DEFAULT_FRAMES),
            "frames sampled uniformly per video (lmms-eval: linspace(0, total-1, N) truncated; "
            "32 as for the open models in the paper)",
        ),
        "jpeg_quality": LoaderOption(str(DEFAULT_JPEG_QUALITY), "JPEG quality (1-100) of the sampled frames"),
        "subset": LoaderOption(
            "full", "full: all released questions; debiased: VSI-Bench-Debiased (test_debiased.parquet)"
        ),
    },
    version="1",
    notes=(
        "frames are sampled uniformly per video: indices linspace(0, total-1, N) truncated (lmms-eval)",
        "replies are parsed by spatialforge's parsers, not lmms-eval's first-word float(); see docs",
    ),
)
