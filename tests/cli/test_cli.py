"""The command line as a user runs it: exit codes, messages, files written."""

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from spatialforge.cli.main import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_sources_lists_every_adapter():
    result = run("sources")
    assert result.exit_code == 0
    for name in ("kitti", "sunrgbd", "omni3d", "scenes"):
        assert name in result.output


def test_ingest_validate_inspect_round_trip(tmp_path):
    out = tmp_path / "kitti.jsonl"
    result = run("ingest", "--format", "kitti", "--input", FIXTURES / "kitti" / "training", "--output", out)
    assert result.exit_code == 0, result.output
    assert "wrote 4 scenes" in result.output
    report = json.loads(Path(str(out) + ".report.json").read_text())
    assert report["written"] == 4 and report["skipped"] == {}
    assert run("validate", out).exit_code == 0
    result = run("inspect", out, "--output", tmp_path / "png", "--scene-id", "kitti/training/000114")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        "kitti_training_000114__000114__image.png",
        "kitti_training_000114__000114__inspect.png",
        "kitti_training_000114__topdown.png",
    ]


def _broken_kitti(tmp_path: Path) -> Path:
    root = tmp_path / "training"
    shutil.copytree(FIXTURES / "kitti" / "training", root)
    label = root / "label_2" / "000005.txt"
    # A NaN height in an otherwise well-formed line.
    label.write_text(
        "Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 nan 0.48 1.20 1.84 1.47 8.41 0.01\n"
    )
    return root


def test_ingest_stops_on_bad_record_naming_file_and_field(tmp_path):
    root = _broken_kitti(tmp_path)
    out = tmp_path / "k.jsonl"
    result = run("ingest", "-f", "kitti", "-i", root, "-o", out)
    assert result.exit_code == 2
    assert "label_2/000005.txt" in result.output and "field line 1" in result.output
    assert "[non_finite]" in result.output
    assert not out.exists()  # nothing that looks complete


def test_ingest_skip_invalid_counts_and_keeps_good_records(tmp_path):
    root = _broken_kitti(tmp_path)
    out = tmp_path / "k.jsonl"
    result = run("ingest", "-f", "kitti", "-i", root, "-o", out, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "wrote 3 scenes" in result.output and "skipped records" in result.output
    report = json.loads(Path(str(out) + ".report.json").read_text())
    assert report["written"] == 3 and sum(report["skipped"].values()) == 1
    assert len(out.read_text().splitlines()) == 3


def test_unknown_format_is_a_clear_error(tmp_path):
    result = run("ingest", "-f", "nope", "-i", tmp_path, "-o", tmp_path / "x.jsonl")
    assert result.exit_code == 2
    assert "unknown source format 'nope'" in result.output


def test_validate_reports_problems_by_reason(tmp_path):
    out = tmp_path / "kitti.jsonl"
    assert run("ingest", "-f", "kitti", "-i", FIXTURES / "kitti" / "training", "-o", out).exit_code == 0
    lines = out.read_text().splitlines()
    bad = json.loads(lines[0])
    bad["objects"][0]["box"]["size_m"][1] = 0.0
    out.write_text("\n".join([json.dumps(bad), *lines[1:], lines[1][:40]]) + "\n")
    result = run("validate", out)
    assert result.exit_code == 1
    assert "non_positive_size" in result.output and "objects[0].box.size_m" in result.output
    assert "invalid_json" in result.output or "truncated_line" in result.output


def test_demo_runs_end_to_end(tmp_path):
    result = run("demo", "--output", tmp_path / "demo")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "demo" / "demo_report.json").read_text())
    # The synthetic part: every setting made, rendered and seen; QA generated; a gallery to open.
    synth = {r["setting"]: r for r in report["synthetic"]}
    assert set(synth) == {"indoor", "tabletop", "street"}
    assert all(r["scenes"] > 0 and r["objects_visible"] >= 2 * r["scenes"] for r in synth.values())
    assert synth["indoor"]["views"] >= 1.8 * synth["indoor"]["scenes"]  # two-view trajectories
    qa = (tmp_path / "demo" / "qa" / "data.jsonl").read_text().splitlines()
    tasks = {json.loads(line)["task"] for line in qa}
    assert len(qa) > 300 and len(tasks) >= 20
    gallery = tmp_path / "demo" / "gallery"
    assert (gallery / "index.html").exists() and len(list(gallery.glob("*.png"))) == 24
    assert "gallery (open in a browser)" in result.output
    # The export: every writer wrote every record; the datasheet is there.
    for name in ("llava", "chat", "spar"):
        assert report["export"][name] == len(qa)
    assert 0 < report["export"]["webdataset"] <= len(qa)  # one sample per image, all its records in it
    assert (tmp_path / "demo" / "export" / "datasheet.md").exists() and "exported:" in result.output
    # The fixture datasets: ingested with every check, boxes agree with their 2D boxes, drawn.
    by_source = {r["source"]: r for r in report["fixtures"]}
    assert set(by_source) == {"kitti", "sunrgbd", "omni3d/KITTI"}
    rows = list(by_source.values())
    assert all(r["scenes"] > 0 and r["skipped"] == 0 for r in rows)
    assert by_source["kitti"]["iou_mean"] > 0.9
    assert by_source["omni3d/KITTI"]["iou_mean"] > 0.9
    assert len(list((tmp_path / "demo" / "inspect").glob("*__inspect.png"))) == sum(r["scenes"] for r in rows)


def test_generate_then_export_cli(tmp_path):
    scenes = tmp_path / "s"
    assert (
        run(
            "synth", "-o", scenes, "-n", "2", "--setting", "tabletop", "--width", "96", "--height", "72"
        ).exit_code
        == 0
    )
    assert (
        run("generate", "-s", scenes / "scenes.jsonl", "-o", tmp_path / "qa", "--buckets", "2").exit_code == 0
    )
    assert (tmp_path / "qa" / "datasheet.md").exists()
    result = run(
        "export", "-r", tmp_path / "qa", "-o", tmp_path / "out", "--to", "llava,spar", "--formats", "free"
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert set(manifest["writers"]) == {"llava", "spar"}
    kept = manifest["writers"]["llava"]["records"]
    assert (
        kept > 0 and manifest["writers"]["llava"]["skipped"]["format_filtered"] == manifest["records"] - kept
    )
    again = run(
        "export", "-r", tmp_path / "qa", "-o", tmp_path / "out", "--to", "llava,spar", "--formats", "free"
    )
    assert again.exit_code == 0 and "shards resumed" in again.output
    other = run("export", "-r", tmp_path / "qa", "-o", tmp_path / "out", "--to", "chat")
    assert other.exit_code != 0 and "different config" in other.output
    bad = run("export", "-r", tmp_path / "qa", "-o", tmp_path / "x", "--to", "tiktok")
    assert bad.exit_code != 0 and "writers must be" in bad.output
    bad_backend = run("generate", "-s", scenes / "scenes.jsonl", "-o", tmp_path / "q2", "--backend", "spark")
    assert bad_backend.exit_code != 0 and "backend must be" in bad_backend.output


def test_synth_then_generate_then_gallery(tmp_path):
    out = tmp_path / "synth"
    args = (
        "synth",
        "--output",
        out,
        "--count",
        "3",
        "--setting",
        "street",
        "--width",
        "96",
        "--height",
        "64",
    )
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "3 scenes" in result.output
    assert len((out / "scenes.jsonl").read_text().splitlines()) == 3
    again = run(*args)  # resumable: everything is done already
    assert again.exit_code == 0 and "buckets resumed" in again.output
    bad = run("synth", "--output", tmp_path / "x", "--count", "2", "--setting", "moon")
    assert bad.exit_code == 2 and "setting must be one of" in bad.output
    qa = tmp_path / "qa"
    assert run("generate", "--scenes", out / "scenes.jsonl", "--output", qa).exit_code == 0
    gallery = tmp_path / "gallery"
    result = run(
        "gallery", "--qa", qa / "data.jsonl", "--scenes", out / "scenes.jsonl", "--output", gallery, "-n", "4"
    )
    assert result.exit_code == 0, result.output
    assert len(list(gallery.glob("*.png"))) == 4
