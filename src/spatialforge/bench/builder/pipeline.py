"""`spatialforge bench build`: held-out scenes in, a benchmark folder out (layout: bench/builder/items.py).

1. Split (bench/builder/split.py): scenes go to train or benchmark by capture, after the leakage guard's
   exclusion lists; `held_out=True` takes every (non-excluded) input scene as a benchmark scene instead.
   The split is written to `work/split/` (train.scenes.jsonl is what training data should be generated from).
2. Generate (engine/generate.py) QA on the benchmark scenes with the preset's tasks and formats, the task
   weights proportional to the quotas, into `work/qa/` (resumable).
3. Select (bench/builder/select.py): preset filter, ambiguity filter, dedup, answer balance, quotas.
4. Write: images copied by content hash into `images/` (a question that marks its objects shows a copy with
   the markers drawn), `items.jsonl`, `benchmark.json`, `captures.json`, `datasheet.md` / `.json`.
   A multi-image question lists every image in its record's order (images[0] the main view); each image
   with markers is a copy with its own markers drawn, each image without is the original copied as is
   (item_images; extra["marked_images"] names the marked ones, extra["view_ids"] the views).
The same scenes, preset, quotas and seed give byte-identical items.jsonl.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from spatialforge.bench.builder.exclusions import ExclusionList
from spatialforge.bench.builder.items import (
    BENCH_CAPTURES_FILE,
    BENCH_ITEMS_FILE,
    BENCH_MANIFEST_FILE,
    BenchItem,
)
from spatialforge.bench.builder.presets import Preset, PresetTask, get_preset
from spatialforge.bench.builder.select import (
    Selection,
    chosen_in_order,
    preset_formats,
    quotas_for,
    scoring_rule,
    select_items,
    source_tasks,
    task_weights,
)
from spatialforge.bench.builder.split import BENCHMARK, SplitConfig, split_scenes
from spatialforge.engine.backends import Backend
from spatialforge.engine.generate import GenerateConfig, run_generate
from spatialforge.export.groups import iter_qa_file
from spatialforge.export.media import marker_from_dict
from spatialforge.files import write_atomic
from spatialforge.jsonl import JsonlWriter
from spatialforge.qa.draw_markers import MarkerDrawError, draw_markers
from spatialforge.scene.io import SceneWriter, iter_scene_lines
from spatialforge.scene.records import Scene
from spatialforge.tasks.registry import get_task

BENCH_FORMAT_VERSION = 1
DATASHEET_MD, DATASHEET_JSON = "datasheet.md", "datasheet.json"


@dataclass(frozen=True)
class BuildConfig:
    scenes: str
    output: str
    preset: str
    seed: int = 0
    scale: float = 1.0
    n_per_task: int | None = None
    split: SplitConfig = field(default_factory=SplitConfig)
    held_out: bool = False
    exclusions: tuple[str, ...] = ()  # built-in list names (resolved by the caller into ExclusionLists)
    exclusion_files: tuple[str, ...] = ()
    max_qa_per_scene: int = 48
    workers: int = 1
    name: str | None = None


@dataclass
class BuildReport:
    config: BuildConfig
    items: int
    per_task: dict[str, int]
    shortfall: dict[str, int]
    rejected: dict[str, int]
    split: dict[str, Any]
    generate: dict[str, Any]
    images: int
    image_skips: Counter = field(default_factory=Counter)


def _hash_name(data: bytes, suffix: str) -> str:
    return f"images/{hashlib.sha256(data).hexdigest()[:20]}{suffix}"


class ImageStore:
    """Copies images into the benchmark folder under content-hash names (each file once)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "images").mkdir(parents=True, exist_ok=True)
        self.written: set[str] = set()

    def put(self, data: bytes, suffix: str) -> str:
        rel = _hash_name(data, suffix)
        if rel not in self.written:
            target = self.root / rel
            if not target.exists():
                write_atomic(target, data)
            self.written.add(rel)
        return rel

    def original(self, path: Path) -> str:
        return self.put(path.read_bytes(), path.suffix.lower() or ".png")

    def marked(self, path: Path, markers: list[dict[str, Any]]) -> str:
        with Image.open(path) as im:
            drawn = draw_markers(im.convert("RGB"), [marker_from_dict(m) for m in markers])
        buf = io.BytesIO()
        drawn.save(buf, format="PNG", optimize=False)
        return self.put(buf.getvalue(), ".png")


def item_images(scene: Scene, record: dict[str, Any], store: ImageStore) -> tuple[list[str], list[int]]:
    """Benchmark-relative image paths of a record, in the record's order, and the indices of the marked ones.

    An image the record puts markers on is a copy with those markers drawn (only its own: a marker is drawn
    on images[marker.image_index] alone); an image without markers is the original file, copied as is. Raises
    OSError / MarkerDrawError / ValueError for an image that cannot be used."""
    paths: list[str] = []
    marked: list[int] = []
    for index, image in enumerate(record["images"]):
        source = scene.resolve(image["path"])
        markers = [m for m in record.get("markers") or () if m["image_index"] == index]
        if markers:
            paths.append(store.marked(source, markers))
            marked.append(index)
        else:
            paths.append(store.original(source))
    return paths, marked


def bench_item(
    entry: PresetTask,
    record: dict[str, Any],
    images: list[str],
    marked: bool,
    preset: Preset,
    marked_images: list[int] | None = None,
) -> BenchItem:
    """The benchmark item of a selected record. images: item_images' paths; marked: whether any image is
    marked; marked_images: the indices of the marked images (extra["marked_images"]; all of them when None
    and marked, none when not marked)."""
    if marked_images is None:
        marked_images = list(range(len(images))) if marked else []
    value = record["answer_value"]
    return BenchItem(
        id=f"{preset.name}/{entry.name}/{record['id']}",
        task=entry.name,
        level=int(record["level"]),
        format=record["format"],
        question=record["question"],
        images=tuple(images),
        choices=tuple((c["label"], c["text"]) for c in record.get("choices") or ()),
        answer=record["answer"],
        answer_value=tuple(value) if isinstance(value, list) else value,
        unit=record.get("unit"),
        scoring=scoring_rule(record, entry.scoring),
        group=entry.group,
        difficulty=record.get("difficulty"),
        source=record.get("source"),
        license=record.get("license"),
        capture_id=record.get("capture_id"),
        scene_id=record.get("scene_id"),
        qa_id=record["id"],
        template_id=record.get("template_id"),
        objects=tuple({"category": o["category"], "role": o["role"]} for o in record.get("objects") or ()),
        extra={
            "source_task": record["task"],
            "source_family": get_task(record["task"]).family,
            "source_images": [im["path"] for im in record["images"]],
            "view_ids": [im["view_id"] for im in record["images"]],
            "marked": marked,
            "marked_images": marked_images,
            "frame": record.get("frame"),
        },
    )


def _held_out_scenes(scenes: str, out: Path, exclusions: list[ExclusionList]) -> dict[str, Any]:
    """Every non-excluded input scene is a benchmark scene (no split)."""
    from spatialforge.bench.builder.exclusions import ExclusionMatcher

    matcher = ExclusionMatcher(exclusions)
    if exclusions:
        matcher.prepare(s for s in iter_scene_lines(scenes) if not isinstance(s, Exception))
    out.mkdir(parents=True, exist_ok=True)
    kept, captures = 0, set()
    with SceneWriter(out / f"{BENCHMARK}.scenes.jsonl") as w:
        for entry in iter_scene_lines(scenes):
            if isinstance(entry, Exception):
                raise entry
            if matcher.excluded_by(entry) is None:
                w.write(entry)
                kept += 1
                captures.add(entry.capture_id)
    report = {
        "held_out": True,
        "scenes": {BENCHMARK: kept},
        "captures": {BENCHMARK: len(captures)},
        "excluded_scenes": dict(matcher.counts),
        "exclusion_lists": matcher.summaries(),
    }
    (out / "split.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def build_benchmark(
    cfg: BuildConfig, exclusions: list[ExclusionList], *, backend: Backend | None = None
) -> BuildReport:
    preset = get_preset(cfg.preset)
    quotas = quotas_for(preset, cfg.scale, cfg.n_per_task)
    out = Path(cfg.output)
    _check_rebuild(out, cfg)
    work = out / "work"
    split_dir = work / "split"
    if cfg.held_out:
        split_report = _held_out_scenes(cfg.scenes, split_dir, exclusions)
    else:
        split_report = split_scenes(cfg.scenes, split_dir, cfg.split, exclusions).as_dict()
    bench_scenes = split_dir / f"{BENCHMARK}.scenes.jsonl"

    formats = preset_formats(preset)
    gen_config = GenerateConfig(
        seed=cfg.seed,
        tasks=source_tasks(preset),
        formats=formats,
        format_profile=preset.format_profile,
        format_weights=tuple((f, 1.0) for f in formats),
        task_weights=task_weights(preset, quotas),
        max_qa_per_scene=cfg.max_qa_per_scene,
    )
    qa_dir = work / "qa"
    gen_report = run_generate(bench_scenes, qa_dir, gen_config, workers=cfg.workers, backend=backend)

    groups = list(iter_qa_file(qa_dir / "data.jsonl", bench_scenes))
    records = (r for g in groups for r in g.records)
    selection = select_items(records, preset, quotas, cfg.seed)
    scene_of = {g.scene.scene_id: g.scene for g in groups}

    store = ImageStore(out)
    items: list[BenchItem] = []
    image_skips: Counter = Counter()
    for entry, record in chosen_in_order(selection, preset):
        try:
            images, marked = item_images(scene_of[record["scene_id"]], record, store)
        except (OSError, MarkerDrawError, ValueError) as e:
            image_skips[f"image_{type(e).__name__}"] += 1
            continue
        items.append(bench_item(entry, record, images, bool(marked), preset, marked))

    with JsonlWriter(out / BENCH_ITEMS_FILE, BenchItem.to_json) as writer:
        writer.write_all(items)
    per_task = Counter(i.task for i in items)
    captures = sorted({i.capture_id for i in items if i.capture_id})
    (out / BENCH_CAPTURES_FILE).write_text(json.dumps({"capture_ids": captures}, indent=2) + "\n")
    manifest = _manifest(
        cfg, preset, quotas, items, selection, split_report, gen_report.as_dict(), image_skips
    )
    (out / BENCH_MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    _write_datasheet(out, manifest, items)
    return BuildReport(
        config=cfg,
        items=len(items),
        per_task=dict(per_task),
        shortfall=manifest["shortfall"],
        rejected=dict(selection.rejected),
        split=split_report,
        generate={"scenes": gen_report.scenes, "records": gen_report.records},
        images=len(store.written),
        image_skips=image_skips,
    )


def _check_rebuild(out: Path, cfg: BuildConfig) -> None:
    """A folder holding a benchmark is rebuilt only with the same configuration: another one would rewrite
    work/split (whose train side training data is generated from) before generation refuses the mismatch."""
    path = out / BENCH_MANIFEST_FILE
    if not path.is_file():
        return
    old = json.loads(path.read_text()).get("config", {})
    new = json.loads(json.dumps(_config_dict(cfg)))
    differing = sorted(k for k in new if old.get(k) != new[k])
    if differing:
        raise ValueError(
            f"{out} holds a benchmark built with different {', '.join(differing)}; "
            "use a new --output folder (or delete this one) to build differently"
        )


def _manifest(
    cfg: BuildConfig,
    preset: Preset,
    quotas: dict[str, int],
    items: list[BenchItem],
    selection: Selection,
    split_report: dict[str, Any],
    gen_report: dict[str, Any],
    image_skips: Counter,
) -> dict[str, Any]:
    per_task = Counter(i.task for i in items)
    return {
        "format_version": BENCH_FORMAT_VERSION,
        "name": cfg.name or preset.name,
        "preset": preset.name,
        "description": preset.description,
        "source": preset.source,
        "notes": list(preset.notes),
        "totals_rule": preset.totals_rule,
        "n_items": len(items),
        "tasks": [
            {
                "name": t.name,
                "source_task": t.source_task,
                "group": t.group,
                "formats": list(t.formats),
                "variants": list(t.variants),
                "quota": quotas[t.name],
                "items": per_task.get(t.name, 0),
                "candidates": selection.candidates.get(t.name, 0),
                "answer_classes": selection.classes.get(t.name, {}),
            }
            for t in preset.tasks
        ],
        "shortfall": {
            t.name: quotas[t.name] - per_task.get(t.name, 0)
            for t in preset.tasks
            if per_task.get(t.name, 0) < quotas[t.name]
        },
        "rejected": dict(sorted(selection.rejected.items())),
        "image_skips": dict(image_skips),
        "split": {k: v for k, v in split_report.items() if k != "benchmark_capture_ids"},
        "generate": {
            "scenes": gen_report["scenes"],
            "records": gen_report["records"],
            "rejected": gen_report["rejected"],
        },
        "config": _config_dict(cfg),
    }


def _config_dict(cfg: BuildConfig) -> dict[str, Any]:
    data = asdict(cfg)
    data["split"] = asdict(cfg.split)
    return data


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def _write_datasheet(out: Path, manifest: dict[str, Any], items: list[BenchItem]) -> None:
    """datasheet.json (composition, sources, licences, balance, filters) and its markdown rendering."""
    n = len(items)
    sheet = {
        "benchmark": {k: manifest[k] for k in ("name", "preset", "description", "source", "n_items")},
        "notes": manifest["notes"],
        "by_task": {t["name"]: t for t in manifest["tasks"]},
        "by_level": dict(sorted(Counter(str(i.level) for i in items).items())),
        "by_format": dict(sorted(Counter(i.format for i in items).items())),
        "by_source": dict(sorted(Counter(str(i.source) for i in items).items())),
        "by_license": dict(sorted(Counter(str(i.license) for i in items).items())),
        "marked_items": sum(bool(i.extra.get("marked")) for i in items),
        "captures": len({i.capture_id for i in items}),
        "scenes": len({i.scene_id for i in items}),
        "shortfall": manifest["shortfall"],
        "rejected": manifest["rejected"],
        "split": manifest["split"],
        "config": manifest["config"],
    }
    (out / DATASHEET_JSON).write_text(json.dumps(sheet, indent=2) + "\n")
    lines = [
        f"# Datasheet: {manifest['name']} (preset {manifest['preset']})",
        "",
        manifest["description"] + ".",
        f"Structure from: {manifest['source']}.",
        "",
        *[f"- {note}" for note in manifest["notes"]],
        "",
        "## Composition",
        "",
        f"{n} items from {sheet['scenes']} scenes in {sheet['captures']} captures; "
        f"{sheet['marked_items']} items show an image with markers drawn.",
        "",
        "| task | our task | group | formats | items | quota | candidates | answer classes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in manifest["tasks"]:
        classes = ", ".join(f"{k} {v}" for k, v in t["answer_classes"].items())
        lines.append(
            f"| {t['name']} | {t['source_task']} | {t['group'] or ''} | {', '.join(t['formats'])} | "
            f"{t['items']} | {t['quota']} | {t['candidates']} | {classes} |"
        )
    lines += ["", "| level | items | share |", "|---|---|---|"]
    lines += [f"| {k} | {v} | {_pct(v, n)} |" for k, v in sheet["by_level"].items()]
    lines += ["", "| format | items |", "|---|---|"] + [
        f"| {k} | {v} |" for k, v in sheet["by_format"].items()
    ]
    lines += ["", "## Sources and licences", "", "| source | items |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sheet["by_source"].items()]
    lines += ["", "| licence | items |", "|---|---|"] + [
        f"| {k} | {v} |" for k, v in sheet["by_license"].items()
    ]
    split = manifest["split"]
    lines += [
        "",
        "## Split and leakage guard",
        "",
        "Scenes were split by capture id, never by image"
        + (
            " (all input scenes held out)"
            if split.get("held_out")
            else f": {json.dumps(split.get('config'))}"
        )
        + f"; scenes per side {split.get('scenes')}, captures per side {split.get('captures')}.",
        f"Excluded scenes by list: {split.get('excluded_scenes') or 'none'}.",
        "Exclusion lists applied: "
        + (", ".join(str(lst["name"]) for lst in split.get("exclusion_lists", [])) or "none")
        + ". `captures.json` lists this benchmark's captures: give it to `bench split --exclude-list` or "
        "`bench leakage` to keep training data clear of them.",
        "",
        "## What was left out, and why",
        "",
        "| reason | records |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in manifest["rejected"].items()],
        "",
        f"Shortfall against the quotas: {manifest['shortfall'] or 'none'}.",
        "",
        "## Build configuration",
        "",
        "```json",
        json.dumps(manifest["config"], indent=2),
        "```",
    ]
    (out / DATASHEET_MD).write_text("\n".join(lines) + "\n")
