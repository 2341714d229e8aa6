"""3DSRBench (ccvl/3DSRBench on Hugging Face), read from its released VLMEvalKit TSV.

Upstream followed: HF dataset ccvl/3DSRBench at revision 5c90e42 (README "Evaluation": run VLMEvalKit on
`3dsrbench_v1_vlmevalkit_circular.tsv`, then `compute_3drbench_results_circular.py`, uploaded in 14ec7ae; a
copy is johnson111788/SpatialReasoner src/eval/compute_3dsrbench_results.py @ 90eeb8e).

Released file. `3dsrbench_v1_vlmevalkit_circular.tsv` (default) holds every presentation of every question:
the flip-augmented questions of `3dsrbench_v1_vlmevalkit.tsv` (FlipEval, paper section 3.4: image mirrored,
answer flipped) times their circular option shifts (CircularEval). Columns (VLMEvalKit layout): index, qid,
question, A, B, C, D, answer, category, image_source, image_url, image (base64). The column order is inferred
from the released script, which reads the VLMEvalKit result sheet by position (qid at 1, category at 8, the
hit at 12 after the 11 non-image columns and `prediction`); the loader reads columns by name.

Presentations. A row's `qid` is "<q>" or "<q>-<n>" (the n-th circular shift), and "<q>-flip" / "<q>-flip-<n>"
for the mirrored image (the format documented by lmms-eval's 3dsrbench task, EvolvingLMMs-Lab/lmms-eval
lmms_eval/tasks/3dsrbench/utils.py `get_qid_key`). Each item carries score_group "<q>" (the question all its
presentations share) and score_meta {"rotation": n, "flipped": bool}, which the `3dsrbench` scoring spec
reads (bench/benchmarks.py `_threedsrbench_totals`). The released script groups rows by qid with a trailing
"-<one char>" removed, so "<q>-flip" rows form a question of their own there: the spec's `released` total
reproduces that number, its `overall` joins each question with its mirrored presentations (both reported).

Prompt. 3DSRBench's README evaluates with VLMEvalKit, whose ImageMCQDataset.build_prompt sends
"Hint: ..." (only when a hint column holds text), "Question: <question>", "Options:", one "<L>. <text>" line
per non-empty option column, and "Please select the correct answer from the options above. " - each line
ending in a newline (open-compass/VLMEvalKit vlmeval/dataset/image_mcq.py).

Task = the released `category` (12 subtypes); report_group = its type (height, location, orientation,
multi_object), as the released script's `mapping`.

Images. The `image` cell is base64; as in VLMEvalKit (ImageBaseDataset), a cell of at most 64 characters is
the `index` of the row whose image it shares. Rows whose image cannot be decoded are skipped by name.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path

from spatialforge.bench.aggregate import THREEDSRBENCH_TYPES
from spatialforge.bench.benchmarks import CHOICE
from spatialforge.bench.published.base import (
    LoaderContext,
    LoaderOption,
    LoaderSkip,
    PublishedBenchmark,
    PublishedItem,
    base64_image,
)
from spatialforge.errors import RecordError

FILES = {
    "circular": "3dsrbench_v1_vlmevalkit_circular.tsv",
    "vanilla": "3dsrbench_v1_vlmevalkit.tsv",
}
REQUIRED_COLUMNS = ("index", "question", "answer", "category", "image")
# VLMEvalKit ImageMCQDataset.build_prompt: the instruction line closing every multiple-choice prompt.
INSTRUCTION = "Please select the correct answer from the options above. \n"
# VLMEvalKit ImageBaseDataset: an image cell this short is the index of the row whose image it shares.
IMAGE_REFERENCE_MAX_CHARS = 64

TYPE_OF = {subtype: kind for kind, subtypes in THREEDSRBENCH_TYPES.items() for subtype in subtypes}
# "<q>", "<q>-<n>", "<q>-flip", "<q>-flip-<n>" (lmms-eval 3dsrbench utils.py get_qid_key).
_QID = re.compile(r"^(?P<question>.+?)(?P<flip>-flip)?(?:-(?P<rotation>[0-9]))?$")


def parse_qid(qid: str) -> tuple[str, int, bool]:
    """(question id shared by all presentations, circular shift, mirrored) of a released qid."""
    match = _QID.match(qid)
    if match is None:  # only an empty qid fails the pattern
        raise ValueError(f"empty qid {qid!r}")
    rotation = int(match["rotation"]) if match["rotation"] else 0
    return match["question"], rotation, match["flip"] is not None


def vlmevalkit_mcq_prompt(question: str, options: list[tuple[str, str]], hint: str | None) -> str:
    """The text VLMEvalKit's ImageMCQDataset.build_prompt sends (image_mcq.py), verbatim."""
    prompt = f"Hint: {hint}\n" if hint else ""
    prompt += f"Question: {question}\n"
    if options:
        prompt += "Options:\n" + "".join(f"{label}. {text}\n" for label, text in options)
        prompt += INSTRUCTION
    return prompt


def _referenced_images(ctx: LoaderContext, path: Path) -> dict[str, str]:
    """index -> base64 image of the rows other rows point to (VLMEvalKit's shared-image cells)."""
    wanted = {
        row["image"].strip()
        for _, row in ctx.read_tsv(path)
        if row.get("image") and len(row["image"].strip()) <= IMAGE_REFERENCE_MAX_CHARS
    }
    if not wanted:
        return {}
    return {
        row["index"]: row["image"]
        for _, row in ctx.read_tsv(path)
        if row.get("index") in wanted and len(row.get("image") or "") > IMAGE_REFERENCE_MAX_CHARS
    }


def load(ctx: LoaderContext) -> Iterator[PublishedItem | LoaderSkip]:
    path = ctx.require(FILES[ctx.option_choice("file", tuple(FILES))])
    file = str(path)
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise RecordError(
            "missing_field", f"no column(s) {missing} (VLMEvalKit TSV)", file=file, field=missing[0]
        )
    option_columns = [c for c in string.ascii_uppercase if c in header]
    shared = _referenced_images(ctx, path)

    for number, row in ctx.read_tsv(path):
        record = f"row {number}"
        index = (row.get("index") or "").strip()
        qid = (row.get("qid") or "").strip() or index
        item_id = qid or record
        if not index:
            yield LoaderSkip(item_id, "missing_field", f"{record}: empty index")
            continue
        question, category = (row.get("question") or "").strip(), (row.get("category") or "").strip()
        if not question:
            yield LoaderSkip(item_id, "missing_field", f"{record}: empty question")
            continue
        if category not in TYPE_OF:
            yield LoaderSkip(
                item_id, "unknown_category", f"{record}: category {category!r} is no 3DSRBench subtype"
            )
            continue
        # VLMEvalKit offers every option column that is not NaN (an empty TSV cell), in column order.
        options = [(c, row[c].strip()) for c in option_columns if (row.get(c) or "").strip()]
        answer = (row.get("answer") or "").strip()
        if answer.upper() not in {label for label, _ in options}:
            yield LoaderSkip(
                item_id, "unknown_answer", f"{record}: answer {answer!r} is not an offered option"
            )
            continue
        cell = (row.get("image") or "").strip()
        if len(cell) <= IMAGE_REFERENCE_MAX_CHARS and cell:
            if cell not in shared:
                yield LoaderSkip(
                    item_id, "unreadable_image", f"{record}: image refers to missing row {cell!r}"
                )
                continue
            cell = shared[cell]
        if not cell:
            yield LoaderSkip(item_id, "missing_image", f"{record}: empty image cell")
            continue
        try:
            image = base64_image(cell, file=file, record=record, field="image")
        except RecordError as e:
            yield LoaderSkip(item_id, "unreadable_image", f"{record}: {e}")
            continue
        group, rotation, flipped = parse_qid(qid)
        hint = (row.get("hint") or "").strip() or None
        yield PublishedItem(
            id=qid,
            task=category,
            question=question,
            prompt=vlmevalkit_mcq_prompt(question, options, hint),
            images=(image,),
            choices=tuple(options),
            answer=answer,
            answer_value=answer.upper(),
            scoring=CHOICE,
            score_group=group,
            score_meta={"rotation": rotation, "flipped": flipped},
            report_group=TYPE_OF[category],
            extra={
                key: row[key].strip()
                for key in ("index", "qid", "image_source", "image_url")
                if (row.get(key) or "").strip()
            },
        )


BENCHMARK = PublishedBenchmark(
    name="3dsrbench",
    title="3DSRBench",
    upstream="HF dataset ccvl/3DSRBench (revision 5c90e42; evaluation script uploaded in 14ec7ae)",
    license="CC-BY-4.0 (dataset card); images from MS-COCO",
    size="2,772 questions; 11,686 presentations in the circular TSV (12 subtypes in 4 types)",
    files=tuple(FILES.values()),
    scoring="3dsrbench",
    load=load,
    options={
        "file": LoaderOption(
            "circular",
            "circular: 3dsrbench_v1_vlmevalkit_circular.tsv (every option shift; the released protocol); "
            "vanilla: 3dsrbench_v1_vlmevalkit.tsv (flip-augmented, original option order)",
        )
    },
    notes=(
        "score_group / score_meta come from the released qid; the spec's `overall` (= `released`) is the "
        "released script's number, `joint_circular_flip` the stricter joint CircularEval + FlipEval.",
    ),
)
