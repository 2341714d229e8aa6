"""`bench pointmaps`: every image of a built benchmark gets its view's point map, as the model reads it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spatialforge.bench.builder.items import read_bench_items
from spatialforge.bench.builder.pointmaps import BENCH_SCENES, write_benchmark_point_maps
from spatialforge.cli.main import app
from spatialforge.errors import RecordError
from spatialforge.models.pointmap import point_map_for_view, read_point_map_file
from spatialforge.scene.io import read_scenes


def test_each_image_gets_its_views_point_map(bench_builds: dict[str, Path], tmp_path: Path) -> None:
    bench = bench_builds["hispatial"]
    out = tmp_path / "pointmaps"
    report = write_benchmark_point_maps(bench, out)
    items = read_bench_items(bench)
    stems = {Path(image).stem for item in items for image in item.images}
    assert report.written == len(stems) and not report.skipped
    assert {p.stem for p in out.glob("*.npz")} == stems
    scenes = {s.scene_id: s for s in read_scenes(bench / BENCH_SCENES)}
    checked = 0
    for item in items:
        for image, view_id in zip(item.images, item.extra["view_ids"], strict=True):
            scene = scenes[item.scene_id]
            view = next(v for v in scene.views if v.view_id == view_id)
            expected = point_map_for_view(scene, view)
            stored = read_point_map_file(out / f"{Path(image).stem}.npz")
            assert np.array_equal(stored.valid, expected.valid)
            # float16 storage: relative error <= 2^-11
            np.testing.assert_allclose(
                stored.xyz[stored.valid], expected.xyz[expected.valid], rtol=2.0**-11, atol=1e-6
            )
            checked += 1
    assert checked >= len(items)
    # Resumable: a second run writes nothing new.
    again = write_benchmark_point_maps(bench, out)
    assert again.written == 0 and again.already_there == len(stems)


def test_missing_scenes_and_cli(bench_builds: dict[str, Path], tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    shutil.copytree(bench_builds["spatialvqa"], bench)
    result = CliRunner().invoke(app, ["bench", "pointmaps", str(bench)])
    assert result.exit_code == 0, result.output
    assert "written" in result.output and any((bench / "pointmaps").glob("*.npz"))
    (bench / BENCH_SCENES).unlink()
    with pytest.raises(RecordError, match="no scenes file"):
        write_benchmark_point_maps(bench, tmp_path / "elsewhere")
    result = CliRunner().invoke(app, ["bench", "pointmaps", str(bench)])
    assert result.exit_code != 0 and "scenes" in result.output
