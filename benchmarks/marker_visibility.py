"""Does a frozen pretrained vision tower see the markers that questions point at?

Questions refer to points and objects by drawn markers ("the red point", "the chair (highlighted by the red
box)"; qa/draw_markers.py). `pretrain-vision` trains the `small` tower on clean views (per-patch category,
depth and facing; train/vision_pretrain.py), and the proof runs keep it frozen, so nothing trains it to keep
a marker in its features. This script draws one red point or one red box on each of --views scene views and
compares the tower's patch features with and without it: per view, the change at the patch under the marker
(the point's patch, a patch on the box's left edge) and at every other patch, as a fraction of the median
patch-feature norm of the clean view. A change at the marked patch far above the others' means the marker
reaches the decoder's input.

    python benchmarks/marker_visibility.py --tower TOWER/vision.safetensors --scenes SCENES.jsonl \
        --views 200 --out marker_visibility.json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from spatialforge.qa.draw_markers import draw_markers
from spatialforge.qa.records import Marker
from spatialforge.train.vision_pretrain import VISION_FILE, vision_tower

KINDS = ("point", "box")


def load_tower(path: Path, model: str) -> torch.nn.Module:
    from safetensors.torch import load_file

    tower = vision_tower(model, {})
    tower.load_state_dict(load_file(str(path / VISION_FILE if path.is_dir() else path)))
    return tower.eval()


def view_images(scenes: Path, count: int) -> list[Path]:
    root, found = scenes.parent, []
    with open(scenes, encoding="utf-8") as handle:
        for line in handle:
            found += [root / view["image_path"] for view in json.loads(line)["views"]]
            if len(found) >= count:
                break
    return found[:count]


def random_marker(
    kind: str, width: int, height: int, rng: random.Random
) -> tuple[Marker, tuple[float, float]]:
    """A red marker of `kind` inside the image and the pixel (x, y) whose patch it covers."""
    if kind == "point":
        x, y = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height
        return Marker("point", "red", 0, (x / width * 1000, y / height * 1000), (x, y)), (x, y)
    w, h = rng.uniform(0.15, 0.35) * width, rng.uniform(0.15, 0.35) * height
    x0, y0 = rng.uniform(0, width - w), rng.uniform(0, height - h)
    box_px = (x0, y0, x0 + w, y0 + h)
    box_norm = (x0 / width * 1000, y0 / height * 1000, (x0 + w) / width * 1000, (y0 + h) / height * 1000)
    return Marker("box", "red", 0, box_norm, box_px), (x0, y0 + h / 2)


def patch_changes(tower: torch.nn.Module, clean: Image.Image, marked: Image.Image) -> torch.Tensor:
    """(patches,) feature change per patch token, over the clean view's median patch-feature norm."""
    transform = tower.image_transform
    pixels = torch.from_numpy(np.stack([transform.image(clean), transform.image(marked)]))
    with torch.no_grad():
        features = tower(pixels).float()  # (2, tokens, width)
    grid = (transform.size // tower.settings["patch_size"]) ** 2
    features = features[:, -grid:]  # the patch tokens (any leading tokens dropped)
    return (features[1] - features[0]).norm(dim=-1) / features[0].norm(dim=-1).median()


def measure(tower: torch.nn.Module, images: list[Path], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    side = tower.image_transform.size // tower.settings["patch_size"]
    rows: dict[str, list[tuple[float, float, float]]] = {kind: [] for kind in KINDS}
    for path in images:
        clean = Image.open(path).convert("RGB")
        width, height = clean.size
        for kind in KINDS:
            marker, (x, y) = random_marker(kind, width, height, rng)
            change = patch_changes(tower, clean, draw_markers(clean, [marker]))
            at = min(int(y / height * side), side - 1) * side + min(int(x / width * side), side - 1)
            others = torch.cat([change[:at], change[at + 1 :]])
            rows[kind].append((change[at].item(), others.median().item(), others.max().item()))
    out = {}
    for kind, values in rows.items():
        table = np.asarray(values)
        out[kind] = {
            "views": len(table),
            "marked_patch_median": round(float(np.median(table[:, 0])), 4),
            "marked_patch_p10": round(float(np.percentile(table[:, 0], 10)), 4),
            "other_patches_median": round(float(np.median(table[:, 1])), 4),
            "other_patches_max_median": round(float(np.median(table[:, 2])), 4),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tower", type=Path, required=True, help="A pretrain-vision folder or its weights.")
    parser.add_argument("--scenes", type=Path, required=True, help="Scene JSONL whose views are drawn on.")
    parser.add_argument("--model", default="small", help="Named config the tower was pretrained for.")
    parser.add_argument("--views", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    for path in (args.tower, args.scenes):
        if not path.exists():
            raise SystemExit(f"{path}: no such file or folder")
    torch.manual_seed(args.seed)
    result = measure(load_tower(args.tower, args.model), view_images(args.scenes, args.views), args.seed)
    for kind, row in result.items():
        print(f"{kind}: {row}")
    record = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "results": result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
