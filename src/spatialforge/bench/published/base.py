"""What a loader of a published benchmark is, and what it yields.

A loader reads a benchmark's *released* files from a local folder (nothing is downloaded) and yields one
`PublishedItem` per question, or a `LoaderSkip` naming why a released row cannot be asked (counted, never
silently dropped). `importer.import_published` turns the items into a benchmark folder (items.jsonl, images/,
benchmark.json) that `spatialforge eval` runs like any benchmark we build, with the benchmark's official
prompt and its official totals (the scoring spec named by `PublishedBenchmark.scoring`).

A loader touches files only through its `LoaderContext`: paths are resolved inside the data folder (a
released file naming `../../etc/passwd` is refused), and the context's readers name the file and the row in
every error.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spatialforge.bench.benchmarks import get_benchmark
from spatialforge.bench.items import PredictionItem
from spatialforge.bench.rules import ScoringRule
from spatialforge.errors import RecordError


@dataclass(frozen=True)
class ImageData:
    """An image held in memory (decoded from a parquet cell, a base64 TSV column, a video frame, or drawn
    on): encoded bytes and the file suffix they are written under (".png", ".jpg")."""

    data: bytes
    suffix: str


# An item's image: a file inside the data folder (already resolved by LoaderContext.path) or bytes.
ImageInput = Path | ImageData


@dataclass(frozen=True)
class PublishedItem:
    """One question of a published benchmark, as our benchmark folder stores it.

    id: the released id (unique within the benchmark; an import refuses duplicates);
    task: the benchmark's own task / subtask name (the key its official aggregation groups by);
    question: the question as released, without options;
    prompt: the complete text the official harness sends (question, options, the benchmark's instruction),
      which `eval --prompt-style official` (the default for published benchmarks) sends verbatim;
    images: in the order the prompt refers to them (video: the sampled frames in time order);
    choices: (label, text) pairs for multiple choice, () otherwise;
    answer: the reference answer as released (text); answer_value: what the scoring rule compares
      (option letter, "yes"/"no", a number in `unit`, a polygon ...);
    scoring: the rule; must equal what the benchmark's scoring spec gives for this item;
    score_group: items that are right only together (3DSRBench CircularEval / FlipEval), None otherwise;
    score_meta: fields the official totals read (CV-Bench "source", 3DSRBench "rotation" / "flipped");
    report_group: a reporting column (e.g. 3DSRBench's four main types), None when the benchmark has none;
    extra: released fields kept for reference (never read by scoring).
    """

    id: str
    task: str
    question: str
    prompt: str
    images: tuple[ImageInput, ...]
    choices: tuple[tuple[str, str], ...]
    answer: str
    answer_value: Any
    scoring: ScoringRule
    unit: str | None = None
    score_group: str | None = None
    score_meta: dict[str, Any] = field(default_factory=dict)
    report_group: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoaderSkip:
    """A released row that is not asked: reason is a stable snake_case key (counted in the import report)."""

    item_id: str
    reason: str
    detail: str


@dataclass(frozen=True)
class LoaderOption:
    """An option a loader takes (`--option key=value`); default as text, parsed by the loader."""

    default: str
    help: str


@dataclass(frozen=True)
class PublishedBenchmark:
    """A published benchmark we can load.

    upstream: where the released files come from and which revision the loader and its fixtures follow;
    files: the released files the loader reads, relative to the data folder (glob patterns allowed);
    scoring / variant: the scoring spec (bench/benchmarks.py) whose rules and totals are the official ones;
    size: the released size as the authors state it (for the docs and the import report);
    version: the loader's version; changing what a loader yields must bump it (an eval run records it).
    """

    name: str
    title: str
    upstream: str
    license: str
    size: str
    files: tuple[str, ...]
    scoring: str
    load: Callable[[LoaderContext], Iterator[PublishedItem | LoaderSkip]]
    variant: str | None = None
    options: Mapping[str, LoaderOption] = field(default_factory=dict)
    version: str = "1"
    notes: tuple[str, ...] = ()

    def read(
        self, data: str | Path, options: Mapping[str, str] | None = None
    ) -> Iterator[PublishedItem | LoaderSkip]:
        """The items (and named skips) of the released files in `data`, without importing them."""
        return self.load(LoaderContext(self, Path(data), options or {}))

    def rule_for(
        self,
        item_id: str,
        task: str,
        gold: Any,
        choices: tuple[tuple[str, str], ...] = (),
        unit: str | None = None,
    ) -> ScoringRule:
        """The rule this benchmark's scoring spec gives a question (for loaders whose rule depends on the
        task or the gold; the importer checks every item against the same spec)."""
        gold = tuple(gold) if isinstance(gold, list) else gold
        probe = PredictionItem(item_id, task, "", gold, dict(choices) or None, unit)
        return get_benchmark(self.scoring, self.variant).rule_for(probe)


class LoaderContext:
    """The data folder and options of one import, with safe readers.

    options: the resolved options (every declared option, given or default), as text.
    """

    def __init__(self, benchmark: PublishedBenchmark, data: Path, options: Mapping[str, str]) -> None:
        unknown = sorted(set(options) - set(benchmark.options))
        if unknown:
            known = ", ".join(sorted(benchmark.options)) or "none"
            raise ValueError(f"{benchmark.name} has no option(s) {unknown}; its options: {known}")
        if not data.is_dir():
            raise RecordError("missing_file", "the benchmark's data folder does not exist", file=str(data))
        self.benchmark = benchmark
        self.root = data.resolve()
        self.options = {k: options.get(k, o.default) for k, o in benchmark.options.items()}

    # --- options -------------------------------------------------------------------------------------------
    def option_int(self, key: str, *, low: int = 1) -> int:
        text = self.options[key]
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"option {key}={text!r} is not a whole number") from None
        if value < low:
            raise ValueError(f"option {key}={value} must be at least {low}")
        return value

    def option_choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.options[key]
        if value not in choices:
            raise ValueError(f"option {key}={value!r}: choose from {', '.join(choices)}")
        return value

    # --- files ---------------------------------------------------------------------------------------------
    def path(self, relative: str, *, record: str | None = None, field: str | None = None) -> Path:
        """`relative` resolved inside the data folder; a path that escapes it (absolute, '..', a link out)
        is refused as `unsafe_path`, naming the record and field that gave it."""
        rel = str(relative).replace("\\", "/")
        candidate = (self.root / rel).resolve()
        if rel.startswith("/") or not candidate.is_relative_to(self.root):
            raise RecordError(
                "unsafe_path",
                f"path {relative!r} leaves the data folder {self.root}",
                file=None,
                record=record,
                field=field,
            )
        return candidate

    def find(self, pattern: str) -> list[Path]:
        """Files matching a glob under the data folder, sorted (a loader's released files)."""
        return sorted(p for p in self.root.glob(pattern) if p.is_file())

    def require(self, relative: str) -> Path:
        """A released file that must exist; its absence names the file and the benchmark's upstream."""
        path = self.path(relative)
        if not path.is_file():
            raise RecordError(
                "missing_file",
                f"{self.benchmark.title} file not found (expected the released files of "
                f"{self.benchmark.upstream})",
                file=str(path),
            )
        return path

    def read_json(self, path: Path) -> Any:
        try:
            return json.loads(path.read_bytes())
        except json.JSONDecodeError as e:
            raise RecordError("invalid_json", str(e), file=str(path)) from None

    def read_jsonl(self, path: Path) -> Iterator[tuple[int, Any]]:
        """(line number, decoded object) for every non-empty line."""
        with open(path, "rb") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as e:
                    raise RecordError(
                        "invalid_json", str(e), file=str(path), record=f"line {number}"
                    ) from None

    def read_tsv(self, path: Path) -> Iterator[tuple[int, dict[str, str]]]:
        """(row number, row) of a tab-separated file with a header (VLMEvalKit's layout); cells may be large
        (base64 images), so the csv field limit is lifted for this reader."""
        csv.field_size_limit(1 << 31)
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            yield from enumerate(reader, start=2)

    def read_parquet(
        self, path: Path, columns: list[str] | None = None
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """(row index, row) of a parquet file, read a batch at a time (HF datasets' released files). An HF
        Image cell is a dict {"bytes", "path"}; `image_cell` turns it into ImageData."""
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ImportError(
                f"reading {path.name} needs pyarrow: pip install 'spatialforge[benchmarks]'"
            ) from None
        try:
            parquet = pq.ParquetFile(path)
        except Exception as e:  # pyarrow raises its own error types for a damaged file
            raise RecordError("unreadable_file", f"not a parquet file: {e}", file=str(path)) from None
        missing = sorted(set(columns or ()) - set(parquet.schema_arrow.names))
        if missing:
            raise RecordError("missing_field", f"no column(s) {missing}", file=str(path), field=missing[0])
        index = 0
        for batch in parquet.iter_batches(batch_size=256, columns=columns):
            for row in batch.to_pylist():
                yield index, row
                index += 1


def image_cell(cell: Any, *, file: str, record: str, field: str) -> ImageData:
    """An HF datasets Image cell ({"bytes": ..., "path": ...}) as ImageData; the suffix comes from the
    bytes' signature (PNG / JPEG / WebP / BMP / GIF), not from the stored name."""
    data = cell.get("bytes") if isinstance(cell, Mapping) else cell
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise RecordError("missing_field", "image cell has no bytes", file=file, record=record, field=field)
    return ImageData(bytes(data), image_suffix(bytes(data), file=file, record=record, field=field))


_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF8", ".gif"),
    (b"BM", ".bmp"),
)


def image_suffix(data: bytes, *, file: str, record: str, field: str) -> str:
    """The suffix an image's bytes belong under; bytes that are no image we know are refused."""
    for signature, suffix in _SIGNATURES:
        if data.startswith(signature):
            return suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    raise RecordError(
        "unreadable_image",
        "bytes are not a PNG/JPEG/GIF/BMP/WebP image",
        file=file,
        record=record,
        field=field,
    )


def base64_image(text: str, *, file: str | None, record: str, field: str) -> ImageData:
    """An image released as a base64 cell (VLMEvalKit TSVs, EmbSpatial's JSON); text that is not base64, or
    decodes to nothing, is `unreadable_image`."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RecordError(
            "unreadable_image", "image is not base64", file=file, record=record, field=field
        ) from None
    if not data:
        raise RecordError("unreadable_image", "image is empty", file=file, record=record, field=field)
    return ImageData(data, image_suffix(data, file=file, record=record, field=field))


# A released answer written as a bracketed option letter: "(B)" (BLINK, CV-Bench).
_BRACKETED_LETTER = re.compile(r"^\(([A-Z])\)$")


def choices_and_bracketed_answer(
    item_id: str, choices: Any, answer: Any
) -> tuple[tuple[tuple[str, str], ...], str] | LoaderSkip:
    """The options lettered A, B, ... from a released list of option texts and the letter of a released
    "(B)" answer; a skip (`missing_field`, `unknown_answer`) when either is malformed."""
    if not isinstance(choices, list) or not choices or not all(isinstance(c, str) for c in choices):
        return LoaderSkip(item_id, "missing_field", "choices is not a non-empty list of strings")
    options = lettered(choices)
    match = _BRACKETED_LETTER.match(answer) if isinstance(answer, str) else None
    if match is None or match.group(1) not in dict(options):
        return LoaderSkip(
            item_id, "unknown_answer", f"answer {answer!r} is not one of the {len(choices)} options"
        )
    return options, match.group(1)


def png_bytes(image: Any) -> ImageData:
    """A PIL image encoded as PNG (images a loader draws on: region boxes, flipped copies)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return ImageData(buf.getvalue(), ".png")


def lettered(options: list[str]) -> tuple[tuple[str, str], ...]:
    """Options as (A, text), (B, text), ... in the released order."""
    return tuple((chr(ord("A") + i), str(text)) for i, text in enumerate(options))
