"""`spatialforge synth`: make N synthetic scenes, sharded and resumable like the QA engine.

The run writes a plan (plan.jsonl: one line per scene index, {"scene_id", "index"}), then hands it to the
engine's runner (engine.runner.run_sharded, items="lines"): scenes go to scene-hash buckets, each bucket
renders its scenes, writes their images / depth / masks (synth.world.write_scene_assets) and their Scene
records; a finished bucket leaves a marker, so a killed run resumed with the same arguments redoes only the
unfinished buckets, and the output is identical for any number of workers. Output folder:

    scenes.jsonl      the Scene records, bucket order (feed it to `spatialforge generate --scenes`)
    images/ depth/ masks/    the rendered files (paths in the records are relative to this folder)
    config.json       the resolved config (a resume with other arguments is refused)
    report.json       scenes per setting, objects per category, placements / views not made, by reason
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spatialforge.engine.backends import Backend
from spatialforge.engine.runner import DEFAULT_BUCKETS, RunReport, SceneResult, run_sharded
from spatialforge.jsonl import encode_line
from spatialforge.scene.codec import scene_to_dict
from spatialforge.synth.world import SynthConfig, scene_id, synthesize_scene, write_scene_assets

PLAN_NAME = "plan.jsonl"
SCENES_NAME = "scenes.jsonl"


@dataclass(frozen=True)
class SynthJob:
    """Everything a bucket needs: the scene config and the folder the scenes' files go to."""

    config: SynthConfig
    asset_root: str


def synth_item(item: Any, job: SynthJob) -> SceneResult:
    """Make, render and write one planned scene; its Scene record is the bucket's record."""
    index = item.get("index") if isinstance(item, dict) else None
    if not isinstance(index, int) or index < 0:
        return SceneResult(rejected={"plan_line_without_index": 1})
    synth = synthesize_scene(index, job.config, asset_root=job.asset_root)
    write_scene_assets(synth, Path(job.asset_root))
    scene = synth.scene
    objects_seen = sum(1 for o in scene.objects if o.observations)
    tallies = {
        "objects_per_category": Counter(o.category for o in scene.objects),
        "objects_visible": Counter(
            {"visible in a view": objects_seen, "in no view": len(scene.objects) - objects_seen}
        ),
        "views": Counter({"rendered": len(scene.views)}),
    }
    return SceneResult(records=[scene_to_dict(scene)], rejected=dict(synth.rejected), tallies=tallies)


def write_plan(path: Path, config: SynthConfig, count: int) -> None:
    """plan.jsonl: scene indices 0..count-1 (rewritten identically on a resume, so its size matches)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(count):
            fh.write(encode_line({"scene_id": scene_id(config, i), "index": i}) + "\n")


def run_synth(
    output_dir: str | Path,
    count: int,
    config: SynthConfig | None = None,
    *,
    workers: int = 1,
    n_buckets: int | None = None,
    backend: Backend | None = None,
) -> RunReport:
    """Make `count` scenes of `config` into output_dir (module docstring); `backend` as in
    engine.runner.run_sharded (local process pool or Ray Data; same scenes either way)."""
    config = config if config is not None else SynthConfig()
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    output_dir = Path(output_dir).resolve()
    plan = output_dir / PLAN_NAME
    write_plan(plan, config, count)
    buckets = n_buckets if n_buckets is not None else min(DEFAULT_BUCKETS, max(1, count // 4))
    return run_sharded(
        plan,
        output_dir,
        synth_item,
        config=SynthJob(config, str(output_dir)),
        n_buckets=buckets,
        workers=workers,
        count_keys=("source",),
        items="lines",
        merged_name=SCENES_NAME,
        backend=backend,
    )
