"""benchmarks/marker_visibility.py: a drawn marker changes the features of the patch under it most."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.benchmark_scripts import load_script

torch = pytest.importorskip("torch")


def _script():
    return load_script("marker_visibility")


def test_a_point_marker_shows_at_its_own_patch(tmp_path):
    from safetensors.torch import save_file

    from spatialforge.train.vision_pretrain import vision_tower

    script = _script()
    torch.manual_seed(0)
    save_file(vision_tower("small", {}).state_dict(), str(tmp_path / "vision.safetensors"))
    rng = np.random.default_rng(0)
    views = []
    for k in range(3):  # smooth images: a marker is the only sharp detail
        ramp = np.linspace(60, 180, 160, dtype=np.float32)[None, :, None] + rng.uniform(0, 20, (1, 1, 3))
        Image.fromarray(np.broadcast_to(ramp, (120, 160, 3)).astype(np.uint8)).save(tmp_path / f"v{k}.png")
        views.append({"image_path": f"v{k}.png"})
    (tmp_path / "scenes.jsonl").write_text(json.dumps({"views": views}) + "\n")
    images = script.view_images(tmp_path / "scenes.jsonl", 3)
    assert [p.name for p in images] == ["v0.png", "v1.png", "v2.png"]
    result = script.measure(script.load_tower(tmp_path, "small"), images, seed=0)
    point = result["point"]
    assert point["views"] == 3
    assert point["marked_patch_p10"] > 3 * point["other_patches_median"]
    assert set(result) == {"point", "box"}


def test_a_missing_tower_or_scenes_file_stops_with_its_path(tmp_path):
    import subprocess
    import sys

    from tests.benchmark_scripts import script_path

    command = [sys.executable, str(script_path("marker_visibility")), "--tower", str(tmp_path / "nope")]
    done = subprocess.run(
        [*command, "--scenes", str(tmp_path), "--out", str(tmp_path / "o.json")],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and f"{tmp_path / 'nope'}: no such file or folder" in done.stderr
