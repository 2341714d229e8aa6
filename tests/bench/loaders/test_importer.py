"""The importer of published benchmarks, on a toy benchmark: folder layout, reuse, refusals, skips, and an
end-to-end eval + score with the official totals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialforge.bench import published
from spatialforge.bench.builder.items import read_bench_items
from spatialforge.bench.published.importer import import_published
from spatialforge.errors import RecordError
from spatialforge.evaluate.run import EvalConfig, run_eval
from tests.bench.loaders.e2e import run_end_to_end

ROWS = [
    {
        "id": "d1",
        "subtask": "Depth",
        "question": "Which point is closer?",
        "options": ["A", "B"],
        "answer": "A",
    },
    {
        "id": "d2",
        "subtask": "Depth",
        "question": "Which point is closer?",
        "options": ["A", "B"],
        "answer": "B",
    },
    {
        "id": "r1",
        "subtask": "Relation",
        "question": "Is the cup left of the box?",
        "options": ["yes", "no"],
        "answer": "A",
    },
    {
        "id": "r2",
        "subtask": "Relation",
        "question": "Is the cup on the box?",
        "options": ["yes", "no", "maybe"],
        "answer": "C",
    },
]


@pytest.fixture(autouse=True)
def toy_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(published._MODULES, "toy", "tests.bench.loaders.toy_benchmark")


def _write(root: Path, rows: list[dict]) -> Path:
    (root / "images").mkdir(parents=True, exist_ok=True)
    for n, row in enumerate(rows):
        row.setdefault("image", f"images/{row['id']}.png")
        pixels = np.full((12, 16, 3), 20 * n, np.uint8)
        if not row["image"].startswith(("/", "..")):
            Image.fromarray(pixels).save(root / row["image"])
    (root / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_import_writes_a_benchmark_folder_with_official_prompts(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", [dict(r) for r in ROWS])
    report = import_published("toy", data, tmp_path / "bench")
    assert (report.n_items, report.reused, dict(report.per_task)) == (4, False, {"Depth": 2, "Relation": 2})
    items = {i.id: i for i in read_bench_items(tmp_path / "bench")}
    r2 = items["r2"]
    assert (
        r2.question == "Is the cup on the box?\n(A) yes\n(B) no\n(C) maybe\nAnswer with the option's letter."
    )
    assert r2.extra["question"] == "Is the cup on the box?" and r2.extra["released"] == {"line": 4}
    assert (r2.level, r2.format, r2.answer, r2.answer_value, r2.source) == (
        None,
        "mcq",
        "(C)",
        "C",
        "Toy-Bench",
    )
    assert all((tmp_path / "bench" / p).is_file() for i in items.values() for p in i.images)
    manifest = json.loads((tmp_path / "bench" / "benchmark.json").read_text())
    assert manifest["scoring"] == {"benchmark": "blink", "variant": None}
    assert manifest["totals_rule"] == "official" and manifest["skipped"] == {}
    assert manifest["published"]["options"] == {"suffix": "\nAnswer with the option's letter."}


def test_same_import_is_reused_and_another_is_refused(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", [dict(r) for r in ROWS])
    import_published("toy", data, tmp_path / "bench")
    before = (tmp_path / "bench" / "items.jsonl").stat().st_mtime_ns
    again = import_published("toy", data, tmp_path / "bench")
    assert again.reused and again.n_items == 4
    assert (tmp_path / "bench" / "items.jsonl").stat().st_mtime_ns == before
    with pytest.raises(ValueError, match="another benchmark import.*options"):
        import_published("toy", data, tmp_path / "bench", {"suffix": ""})


def test_unknown_option_and_missing_files_are_named(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", [dict(r) for r in ROWS])
    with pytest.raises(ValueError, match="no option.*frames.*suffix"):
        import_published("toy", data, tmp_path / "bench", {"frames": "8"})
    (data / "rows.jsonl").unlink()
    with pytest.raises(RecordError, match="Toy-Bench file not found") as err:
        import_published("toy", data, tmp_path / "bench")
    assert err.value.reason == "missing_file" and err.value.file.endswith("rows.jsonl")
    with pytest.raises(RecordError, match="data folder does not exist"):
        import_published("toy", tmp_path / "nowhere", tmp_path / "bench")
    with pytest.raises(KeyError, match="unknown published benchmark 'nope'"):
        import_published("nope", data, tmp_path / "bench")


def test_bad_rows_are_skipped_by_reason_and_counted(tmp_path: Path) -> None:
    rows = [dict(r) for r in ROWS]
    rows.append(dict(ROWS[0]))  # the same id again
    rows.append({**ROWS[1], "id": "hostile", "image": "../../etc/passwd"})
    rows.append({**ROWS[1], "id": "absolute", "image": "/etc/passwd"})
    rows.append({**ROWS[1], "id": "gone", "image": "images/none.png"})
    data = _write(tmp_path / "data", rows)
    (data / "images" / "none.png").unlink(missing_ok=True)
    report = import_published("toy", data, tmp_path / "bench")
    assert report.n_items == 4
    assert dict(report.skipped) == {"duplicate_id": 1, "unsafe_path": 2, "missing_image": 1}
    manifest = json.loads((tmp_path / "bench" / "benchmark.json").read_text())
    assert manifest["skipped_examples"]["unsafe_path"][0]["id"] == "hostile"


def test_nothing_importable_is_an_error_not_an_empty_benchmark(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", [{**ROWS[0], "image": "../x.png"}])
    with pytest.raises(RecordError, match="no Toy-Bench item could be imported.*unsafe_path"):
        import_published("toy", data, tmp_path / "bench")
    assert not (tmp_path / "bench" / "benchmark.json").exists()


def test_a_rule_the_spec_does_not_give_is_a_loader_bug(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", [{**ROWS[0], "wrong_rule": True}])
    with pytest.raises(RuntimeError, match="the blink spec scores it with"):
        import_published("toy", data, tmp_path / "bench")


def test_end_to_end_eval_and_score_agree_on_the_official_total(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", [dict(r) for r in ROWS])
    tables = run_end_to_end("toy", data, tmp_path, model="frequency")
    assert tables["totals_rule"] == "official" and tables["levels"] == []
    # BLINK's total is the macro mean of subtask accuracies.
    by_task = {t["task"]: t["score"] for t in tables["tasks"]}
    assert tables["totals"]["overall"] == pytest.approx((by_task["Depth"] + by_task["Relation"]) / 2)


def test_eval_by_name_needs_data_and_refuses_data_for_a_folder(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", [dict(r) for r in ROWS])
    with pytest.raises(ValueError, match="give their folder with --data"):
        run_eval(EvalConfig(benchmark="toy", model="chance", output=str(tmp_path / "a"), progress=False))
    with pytest.raises(ValueError, match="neither a benchmark folder nor a published benchmark"):
        run_eval(EvalConfig(benchmark="tooy", model="chance", output=str(tmp_path / "b"), progress=False))
    run = tmp_path / "c"
    run_eval(
        EvalConfig(
            benchmark="toy",
            model="chance",
            output=str(run),
            data=str(data),
            progress=False,
            report=False,
            bootstrap=20,
        )
    )
    with pytest.raises(ValueError, match="already a benchmark folder"):
        run_eval(
            EvalConfig(
                benchmark=str(run / "benchmark"),
                model="chance",
                output=str(tmp_path / "d"),
                data=str(data),
                progress=False,
            )
        )
    # The official prompt is sent verbatim.
    predictions = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    d1 = next(p for p in predictions if p["id"] == "d1")
    assert d1["prompt"] == "Which point is closer?\n(A) A\n(B) B\nAnswer with the option's letter."


def test_cli_import_lists_and_exports(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from spatialforge.cli.main import app

    runner = CliRunner()
    data = _write(tmp_path / "data", [dict(r) for r in ROWS] + [{**ROWS[0], "id": "x", "image": "../x.png"}])
    listed = runner.invoke(app, ["bench", "published"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0 and "toy" in listed.output and "rows.jsonl" in listed.output
    args = ["bench", "import", "toy", "--data", str(data), "--output", str(tmp_path / "bench")]
    first = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert first.exit_code == 0, first.output
    assert "toy: 4 items, 4 images imported" in first.output and "unsafe_path" in first.output
    again = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert "already imported" in again.output
    bad = runner.invoke(app, [*args[:-1], str(tmp_path / "other"), "--option", "frames=2"])
    assert bad.exit_code == 2 and "no option(s) ['frames']" in bad.output
    exported = runner.invoke(
        app, ["bench", "export-lmms", str(tmp_path / "bench"), "--output", str(tmp_path / "task")]
    )
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "task" / "spatialforge_toy.yaml").is_file()
