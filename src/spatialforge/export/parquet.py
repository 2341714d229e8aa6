"""Parquet for Hugging Face `datasets` (and pandas, polars, DuckDB, Spark): one row per QA record.

Layout: `parquet/<split>-<shard>.parquet`, one file per (split, shard) holding that shard's records of that
split (`split` None -> "unsplit"), so `datasets.load_dataset("parquet", data_files={"train":
"parquet/train-*.parquet", ...})` gives one HF split per record split. A (split, shard) without rows writes
no file (an empty shard writes nothing; `dataset_info.json` lists only the files that exist). `finalize`
writes `parquet/dataset_info.json`: the HF features, the Arrow column types, and the files and row count of
every split.

Columns (ROW_COLUMNS; one fixed Arrow schema for every shard of an export, so files concatenate): every
field of a QA record (SPEC section 4, qa/records.py) under its own name, with four changes:
- `images[]` = {path, view_id, source_path, marked_path, marked_ref}: `path` is the exported reference of the
  original image (ShardContext.image_ref: absolute, or relative to --image-root), `source_path` the record's
  own path (relative to the scene's asset_root; kept so the record round-trips exactly), `marked_path` the
  record's own marked copy (usually null), `marked_ref` the exported copy with the record's markers drawn
  (ShardContext.image_refs; null for an image without markers), which is what the question shows.
- `answer_value` (number, letter, bool or list: no single Arrow type) is stored as exact JSON in
  `answer_value_json`, plus typed convenience columns, each null unless the value has that type:
  `answer_number` (float64; an int or float that is not a bool), `answer_bool`, `answer_string` (an mcq
  letter or a categorical value). Lists (vectors, orders) are only in the JSON.
- `tolerance.params` (a dict of mixed values) is stored as exact JSON in `tolerance.params_json`.
- with ExportOptions.parquet_images, `image`: one HF Image struct {bytes, path: null} per record image, the
  resized JPEG (media.MediaCache), with the record's markers drawn when it has markers on that image. The
  Arrow schema metadata b"huggingface" declares the HF features, so `datasets` decodes it to PIL images.

`read_records` turns rows back into the records as generate wrote them (== equal dicts; marker coordinates
come back as floats, which compare equal to the ints of the JSON line and are what qa_from_dict reads).

A record that breaks the QA schema (qa_from_dict), a split name that cannot be a file / HF split name, a
seed outside uint64 or a marker that cannot be drawn stops the shard with a RecordError naming the record
and the field: generate never writes one, so it means a corrupted or foreign input, and leaving it out
silently would make this export disagree with the other writers'.

Bytes are deterministic: same groups and options -> same file (no timestamps; the only build-dependent byte
is the `created_by` string naming the pyarrow version).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spatialforge.errors import RecordError
from spatialforge.export.base import (
    PARTIAL,
    ExportOptions,
    ShardContext,
    ShardStats,
    ShardWriter,
    markers_on,
    register,
)
from spatialforge.export.groups import SceneGroup
from spatialforge.export.media import marker_from_dict
from spatialforge.jsonl import encode_line
from spatialforge.qa.draw_markers import MarkerDrawError
from spatialforge.qa.records import qa_from_dict

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

PARQUET_DIR = "parquet"
INFO_FILE = "dataset_info.json"
LAYOUT_VERSION = 1  # bump when a column changes meaning; recorded in dataset_info.json
UNSPLIT = "unsplit"  # file / HF split name of records whose split is None
SPLIT_NAME = re.compile(r"[A-Za-z0-9_]+")  # a file-name-safe HF split name (HF allows \w+(\.\w+)*)
IMAGE_COLUMN = "image"

# A row group is flushed at ROW_GROUP_ROWS rows or, with embedded images, at ROW_GROUP_IMAGE_BYTES of image
# bytes: readers load a row group at a time, and 2,000 rows of text are about 4 MB, while 2,000 embedded
# 640 px JPEGs would be ~150 MB.
ROW_GROUP_ROWS = 2000
ROW_GROUP_IMAGE_BYTES = 64 * 2**20
COMPRESSION = "zstd"
UINT64_MAX = 2**64 - 1

PYARROW_MISSING = "the parquet writer needs pyarrow: pip install 'spatialforge[export]'"


def _pyarrow() -> tuple[Any, Any]:
    """(pyarrow, pyarrow.parquet), imported on first use so the writer registry imports without them."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as err:
        raise ImportError(PYARROW_MISSING) from err
    return pyarrow, pyarrow.parquet


# ---------------------------------------------------------------- schema


def arrow_schema(images: bool) -> pa.Schema:
    """The Arrow schema of every file of an export (`images`: ExportOptions.parquet_images), with the HF
    features in its metadata."""
    pa, _ = _pyarrow()
    string, f64 = pa.string(), pa.float64()
    fields = [
        ("schema_version", pa.int16()),
        ("id", string),
        ("scene_id", string),
        ("capture_id", string),
        ("source", string),
        ("split", string),
        ("license", string),
        (
            "images",
            pa.list_(
                pa.struct(
                    [
                        ("path", string),
                        ("view_id", string),
                        ("source_path", string),
                        ("marked_path", string),
                        ("marked_ref", string),
                    ]
                )
            ),
        ),
        ("task", string),
        ("level", pa.int8()),
        ("difficulty", string),
        ("format", string),
        ("question", string),
        ("answer", string),
        ("answer_value_json", string),
        ("answer_number", f64),
        ("answer_bool", pa.bool_()),
        ("answer_string", string),
        ("unit", string),
        ("choices", pa.list_(pa.struct([("label", string), ("text", string)]))),
        (
            "objects",
            pa.list_(
                pa.struct(
                    [("object_id", string), ("source_id", string), ("category", string), ("role", string)]
                )
            ),
        ),
        (
            "markers",
            pa.list_(
                pa.struct(
                    [
                        ("kind", string),
                        ("colour", string),
                        ("image_index", pa.int32()),
                        ("geometry_norm", pa.list_(f64)),
                        ("geometry_px", pa.list_(f64)),
                    ]
                )
            ),
        ),
        ("frame", string),
        ("tolerance", pa.struct([("metric", string), ("params_json", string)])),
        ("reasoning", pa.list_(string)),
        ("template_id", string),
        ("seed", pa.uint64()),
    ]
    if images:
        fields.append((IMAGE_COLUMN, pa.list_(pa.struct([("bytes", pa.binary()), ("path", string)]))))
    schema = pa.schema(fields)
    # Key order is the column order (insertion order: deterministic, and what Features.from_dict keeps).
    metadata = {"info": {"features": hf_features(schema)}}
    return schema.with_metadata({b"huggingface": json.dumps(metadata).encode("utf-8")})


# Arrow type -> HF `Value` dtype, for the types the schema uses.
_HF_DTYPES = {
    "string": "string",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "uint64": "uint64",
    "double": "float64",
    "bool": "bool",
    "binary": "binary",
}


def _hf_feature(arrow_type: Any, is_image: bool = False) -> Any:
    """The HF feature dict of one Arrow type, written by hand in the form `datasets` 2.x to 5.x all read
    (a list is `[feature]`; datasets 4+ writes {"_type": "List"}, which 3.x cannot read), so a file's bytes
    do not depend on whether or which `datasets` is installed where it was written."""
    pa, _ = _pyarrow()
    if is_image:
        return {"_type": "Image"}
    if pa.types.is_list(arrow_type):
        return [_hf_feature(arrow_type.value_type)]
    if pa.types.is_struct(arrow_type):
        return {
            arrow_type.field(i).name: _hf_feature(arrow_type.field(i).type)
            for i in range(arrow_type.num_fields)
        }
    return {"dtype": _HF_DTYPES[str(arrow_type)], "_type": "Value"}


def hf_features(schema: pa.Schema) -> dict[str, Any]:
    """HF `Features.to_dict()`-style dict of every column; the image column decodes as a list of Images."""
    pa, _ = _pyarrow()
    out: dict[str, Any] = {}
    for field in schema:
        if field.name == IMAGE_COLUMN:
            out[field.name] = [_hf_feature(field.type.value_type, is_image=True)]
        else:
            out[field.name] = _hf_feature(field.type)
    return out


# ---------------------------------------------------------------- rows


def split_name(record: dict[str, Any]) -> str:
    """The file / HF split name of a record: its split, or UNSPLIT when it has none."""
    split = record["split"]
    if split is None:
        return UNSPLIT
    if not SPLIT_NAME.fullmatch(split):
        raise RecordError(
            "invalid_value",
            f"split {split!r} cannot name a Parquet file / HF split (letters, digits, _ only)",
            record=record["id"],
            field="split",
        )
    return split


def typed_answer(value: Any) -> tuple[float | None, bool | None, str | None]:
    """(answer_number, answer_bool, answer_string): the value in the column of its type, None elsewhere."""
    if isinstance(value, bool):  # before numbers: a bool is an int in Python
        return None, value, None
    if isinstance(value, (int, float)):
        return float(value), None, None
    if isinstance(value, str):
        return None, None, value
    return None, None, None  # a list: answer_value_json only


def checked_record(record: dict[str, Any]) -> dict[str, Any]:
    """`record` itself after the QA schema's checks (qa_from_dict) and the seed's uint64 range."""
    qa_from_dict(record)  # raises RecordError naming the record and the field
    if not 0 <= record["seed"] <= UINT64_MAX:
        raise RecordError("invalid_value", "seed outside uint64", record=record["id"], field="seed")
    return record


def parquet_row(
    record: dict[str, Any], image_paths: list[str], marked_refs: list[str | None]
) -> dict[str, Any]:
    """The row of a checked record; image_paths / marked_refs: per image, the exported original and marked
    copy (None without markers)."""
    number, boolean, string = typed_answer(record["answer_value"])
    return {
        "schema_version": record["schema_version"],
        "id": record["id"],
        "scene_id": record["scene_id"],
        "capture_id": record["capture_id"],
        "source": record["source"],
        "split": record["split"],
        "license": record["license"],
        "images": [
            {
                "path": path,
                "view_id": im["view_id"],
                "source_path": im["path"],
                "marked_path": im.get("marked_path"),
                "marked_ref": marked,
            }
            for im, path, marked in zip(record["images"], image_paths, marked_refs, strict=True)
        ],
        "task": record["task"],
        "level": record["level"],
        "difficulty": record["difficulty"],
        "format": record["format"],
        "question": record["question"],
        "answer": record["answer"],
        "answer_value_json": encode_line(record["answer_value"]),
        "answer_number": number,
        "answer_bool": boolean,
        "answer_string": string,
        "unit": record["unit"],
        "choices": record["choices"],
        "objects": record["objects"],
        "markers": record["markers"],
        "frame": record["frame"],
        "tolerance": {
            "metric": record["tolerance"]["metric"],
            "params_json": encode_line(record["tolerance"]["params"]),
        },
        "reasoning": record["reasoning"],
        "template_id": record["template_id"],
        "seed": record["seed"],
    }


def record_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """Inverse of parquet_row: the QA record as generate wrote it (export-only columns dropped)."""
    images = []
    for im in row["images"]:
        image = {"path": im["source_path"], "view_id": im["view_id"]}
        if im["marked_path"] is not None:  # absent from the JSONL line when unset (qa_to_dict)
            image["marked_path"] = im["marked_path"]
        images.append(image)
    return {
        "schema_version": row["schema_version"],
        "id": row["id"],
        "scene_id": row["scene_id"],
        "capture_id": row["capture_id"],
        "source": row["source"],
        "split": row["split"],
        "license": row["license"],
        "images": images,
        "task": row["task"],
        "level": row["level"],
        "difficulty": row["difficulty"],
        "format": row["format"],
        "question": row["question"],
        "answer": row["answer"],
        "answer_value": json.loads(row["answer_value_json"]),
        "unit": row["unit"],
        "choices": row["choices"],
        "objects": row["objects"],
        "markers": row["markers"],
        "frame": row["frame"],
        "tolerance": {
            "metric": row["tolerance"]["metric"],
            "params": json.loads(row["tolerance"]["params_json"]),
        },
        "reasoning": row["reasoning"],
        "template_id": row["template_id"],
        "seed": row["seed"],
    }


# ---------------------------------------------------------------- writer


class _SplitFile:
    """The Parquet file of one split of a shard: rows buffered into row groups, written to final.partial."""

    def __init__(self, final: Path, schema: pa.Schema) -> None:
        self.final = final
        self.schema = schema
        self.rows: list[dict[str, Any]] = []
        self.image_bytes = 0
        self.count = 0
        self.writer: pq.ParquetWriter | None = None

    def add(self, row: dict[str, Any], image_bytes: int) -> None:
        self.rows.append(row)
        self.image_bytes += image_bytes
        self.count += 1
        if len(self.rows) >= ROW_GROUP_ROWS or self.image_bytes >= ROW_GROUP_IMAGE_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        pa, pq = _pyarrow()
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.final.with_name(self.final.name + PARTIAL), self.schema, compression=COMPRESSION
            )
        table = pa.Table.from_pylist(self.rows, schema=self.schema)
        self.writer.write_table(table, row_group_size=len(self.rows))  # one flush = one row group
        self.rows, self.image_bytes = [], 0

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        self.final.with_name(self.final.name + PARTIAL).unlink(missing_ok=True)


@register
class ParquetWriter(ShardWriter):
    name = "parquet"

    def __init__(self, ctx: ShardContext) -> None:
        super().__init__(ctx)
        self.schema = arrow_schema(ctx.options.parquet_images)  # raises the pip hint without pyarrow
        self.files: dict[str, _SplitFile] = {}

    def add(self, group: SceneGroup) -> None:
        for record in group.records:
            if self.keep(record):
                self._add_record(checked_record(record))

    def _add_record(self, record: dict[str, Any]) -> None:
        split = split_name(record)
        paths = [self.ctx.image_ref(self.ctx.media.image_path(im["view_id"])) for im in record["images"]]
        try:
            marked = self._marked_refs(record)
            row = parquet_row(record, paths, marked)
            image_bytes = 0
            if self.ctx.options.parquet_images:
                row[IMAGE_COLUMN] = self._embedded_images(record)
                image_bytes = sum(len(im["bytes"]) for im in row[IMAGE_COLUMN])
        except MarkerDrawError as err:
            raise RecordError(
                err.rejection.reason, err.rejection.detail, record=record["id"], field="markers"
            ) from err
        if split not in self.files:
            final = self.dir / f"{split}-{self.ctx.shard_name}.parquet"
            self.files[split] = _SplitFile(final, self.schema)
        self.files[split].add(row, image_bytes)
        self.stats.samples += 1
        self.stats.records += 1

    def _marked_refs(self, record: dict[str, Any]) -> list[str | None]:
        """Per image: the exported marked copy (ShardContext.marked_image) where the record has markers on
        it, else None."""
        return [self.ctx.marked_ref(record, index) for index in range(len(record["images"]))]

    def _embedded_images(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """HF Image structs: the resized JPEG of each image, with the record's markers on it drawn."""
        media = self.ctx.media
        out = []
        for index, image in enumerate(record["images"]):
            markers = [marker_from_dict(m) for m in markers_on(record, index)]
            view_id = image["view_id"]
            data = media.marked_jpeg(view_id, markers) if markers else media.jpeg(view_id)
            # path None: the bytes are a resized (maybe marked) JPEG, not the file any path names.
            out.append({"bytes": data, "path": None})
        return out

    def close(self) -> ShardStats:
        rows: dict[str, int] = {}
        for split in sorted(self.files):
            split_file = self.files[split]
            split_file.close()
            self.commit(split_file.final)
            rows[split] = split_file.count
        self.files = {}
        self.stats.extra["rows"] = rows
        return self.stats

    def abort(self) -> None:
        for split_file in self.files.values():
            split_file.abort()
        self.files = {}

    @classmethod
    def finalize(
        cls, output_dir: Path, options: ExportOptions, shards: Sequence[ShardStats]
    ) -> dict[str, Any]:
        """Write parquet/dataset_info.json; returns {"data_files": split -> files (relative to output_dir,
        shard order), "num_rows": split -> rows}."""
        data_files: dict[str, list[str]] = {}
        num_rows: dict[str, int] = {}
        for stats in sorted(shards, key=lambda s: s.shard):
            for name in stats.files:
                split = Path(name).name.rsplit("-", 1)[0]
                data_files.setdefault(split, []).append(name)
            for split, rows in stats.extra.get("rows", {}).items():
                num_rows[split] = num_rows.get(split, 0) + rows
        schema = arrow_schema(options.parquet_images)
        info = {
            "layout_version": LAYOUT_VERSION,
            "images": options.parquet_images,
            "features": hf_features(schema),
            "columns": [[field.name, str(field.type)] for field in schema],  # in file order
            "splits": {
                split: {
                    "num_rows": num_rows.get(split, 0),
                    # relative to this file's folder, e.g. "train-00003.parquet"
                    "files": [Path(name).name for name in data_files[split]],
                }
                for split in sorted(data_files)
            },
        }
        folder = output_dir / PARQUET_DIR
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / INFO_FILE
        partial = final.with_name(final.name + PARTIAL)
        partial.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        os.replace(partial, final)
        return {
            "data_files": {split: data_files[split] for split in sorted(data_files)},
            "num_rows": {split: num_rows.get(split, 0) for split in sorted(data_files)},
            "info": f"{PARQUET_DIR}/{INFO_FILE}",
        }


# ---------------------------------------------------------------- reading back


def parquet_files(path: str | Path) -> list[Path]:
    """A .parquet file, or the .parquet files of a folder (an export's parquet/ folder, or the export folder
    itself), sorted by name (split, then shard)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no Parquet file or folder at {path}")
    files = sorted(path.glob("*.parquet"))
    if not files and (path / PARQUET_DIR).is_dir():
        files = sorted((path / PARQUET_DIR).glob("*.parquet"))
    return files


def read_records(path: str | Path, batch_size: int = 1024) -> Iterator[dict[str, Any]]:
    """The QA records of a Parquet file or folder (parquet_files order; within a file, the order written),
    as generate wrote them: record_from_row of every row, without reading the image column."""
    _, pq = _pyarrow()
    for file in parquet_files(path):
        parquet = pq.ParquetFile(file)
        columns = [name for name in parquet.schema_arrow.names if name != IMAGE_COLUMN]
        for batch in parquet.iter_batches(batch_size=batch_size, columns=columns):
            for row in batch.to_pylist():
                yield record_from_row(row)
