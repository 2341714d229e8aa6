"""EmbSpatial-Bench, read from its released JSON file.

Upstream: `embspatial_bench.json` in the Hugging Face dataset `Phineas476/EmbSpatial-Bench` (revision
f1978a6102a3dce419fe68ca41b3268662441316; the authors' repository github.com/mengfeidu/EmbSpatial-Bench
points there and holds no code). The file is one JSON array; each element has question_id ("mp3d_8"),
question, answer_options (4 strings), answer (0-based index into answer_options), relation, image (a base64
JPEG without a data-URI header) and data_source.

Relations (paper arXiv 2406.05756, section 2): close, far, above, under, left, right. A row with any other
relation is skipped (`relation_not_in_benchmark`), as the authors' own loader does for "on top of" / "inside"
(VoCoT locals/datasets/eval/qa.py, EmbSpatialDataset).

Prompt: the authors released no evaluation code. We use the generation template of lmms-eval
(lmms_eval/tasks/embspatial, at 2bb5e98): "Note: You only need to respond with A, B, C, D without providing
any additional information.\\n" + question + "\\n" + one "A) option" line per option.

Scoring: accuracy; the paper's headline is the overall accuracy over all questions (the `embspatial` scoring
spec), with per-relation accuracies as the task table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from spatialforge.bench.benchmarks import CHOICE
from spatialforge.bench.published.base import (
    ImageData,
    LoaderContext,
    LoaderSkip,
    PublishedBenchmark,
    PublishedItem,
    base64_image,
    lettered,
)
from spatialforge.errors import RecordError

RELEASED_FILE = "embspatial_bench.json"
RELATIONS = ("close", "far", "above", "under", "left", "right")
# lmms_eval/tasks/embspatial/_default_template_yaml `pre_prompt` (2bb5e98).
INSTRUCTION = "Note: You only need to respond with A, B, C, D without providing any additional information.\n"
_EXTRA_FIELDS = ("data_source",)


def build_prompt(question: str, options: list[str]) -> str:
    """lmms_eval/tasks/embspatial/utils.py `embspatial_doc_to_text`: instruction, question, then one
    "A) option" line per option."""
    lines = "\n".join(f"{chr(65 + i)}) {option}" for i, option in enumerate(options))
    return f"{INSTRUCTION}{question}\n{lines}"


def _image(text: Any, item_id: str) -> ImageData:
    if not isinstance(text, str) or not text:
        raise RecordError("missing_image", "no image", record=item_id, field="image")
    return base64_image(text, file=RELEASED_FILE, record=item_id, field="image")


def _item(position: int, row: Any) -> PublishedItem | LoaderSkip:
    if not isinstance(row, dict):
        return LoaderSkip(f"element {position}", "wrong_type", "an element of the array is not an object")
    item_id = row.get("question_id")
    if not isinstance(item_id, str) or not item_id.strip():
        return LoaderSkip(f"element {position}", "missing_field", "no question_id")
    relation, question = row.get("relation"), row.get("question")
    if relation not in RELATIONS:
        return LoaderSkip(item_id, "relation_not_in_benchmark", f"relation {relation!r}")
    if not isinstance(question, str) or not question.strip():
        return LoaderSkip(item_id, "missing_field", "no question")
    options = row.get("answer_options")
    if not isinstance(options, list) or not options or not all(isinstance(o, str) for o in options):
        return LoaderSkip(item_id, "missing_field", "answer_options is not a non-empty list of strings")
    answer = row.get("answer")
    # The answer is a 0-based int index (bool is an int in Python and is refused too).
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(options):
        return LoaderSkip(
            item_id, "unknown_answer", f"answer {answer!r} is not an index into the {len(options)} options"
        )
    try:
        image = _image(row.get("image"), item_id)
    except RecordError as e:
        return LoaderSkip(item_id, e.reason, e.detail)
    choices = lettered(options)
    return PublishedItem(
        id=item_id,
        task=relation,
        question=question,
        prompt=build_prompt(question, options),
        images=(image,),
        choices=choices,
        answer=str(answer),
        answer_value=choices[answer][0],
        scoring=CHOICE,
        extra={k: row[k] for k in _EXTRA_FIELDS if isinstance(row.get(k), str)},
    )


def load(ctx: LoaderContext) -> Iterator[PublishedItem | LoaderSkip]:
    path = ctx.require(RELEASED_FILE)
    rows = ctx.read_json(path)
    if not isinstance(rows, list):
        raise RecordError("wrong_type", "expected a JSON array of questions", file=str(path))
    for position, row in enumerate(rows):
        yield _item(position, row)


BENCHMARK = PublishedBenchmark(
    name="embspatial",
    title="EmbSpatial-Bench",
    upstream="huggingface.co/datasets/Phineas476/EmbSpatial-Bench embspatial_bench.json (revision f1978a6)",
    license="CC-BY-4.0 (dataset card); images rendered from MP3D, AI2-THOR and ScanNet under their own terms",
    size="3,640 questions, 6 relations (close, far, above, under, left, right)",
    files=(RELEASED_FILE,),
    scoring="embspatial",
    load=load,
    notes=(
        "prompt: lmms-eval's EmbSpatial template (the authors released no evaluation code)",
        "total: accuracy over all questions (paper); per-relation accuracies in the task table",
    ),
)
