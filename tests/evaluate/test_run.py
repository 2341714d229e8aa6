"""The evaluation runner on a tiny hand-made benchmark with an injected backend: resume, identity checks,
failures, subsets, concurrency, and tables checked by hand.

The benchmark (`ITEMS`) and the replies (`REPLIES`) score:

    t_a  level 1  group G1  choice / accuracy           1 item   A right                    -> 1/1
    t_b  level 1  group G1  yes_no / accuracy           3 items  right, wrong, wrong        -> 1/3
    t_c  level 2  group G2  number / spatialrgpt (m)    2 items  10 m vs 2 m, 1 m vs 4 m     -> 0/2

so micro = 2/6, macro_tasks = (1 + 1/3 + 0) / 3 = 4/9, macro_groups = (G1 2/4 + G2 0) / 2 = 1/4;
level 1 = 2/4, level 2 = 0.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from spatialforge.evaluate.models.base import ModelBackend, ModelError, Reply, Request
from spatialforge.evaluate.prompts import INSTRUCTIONS
from spatialforge.evaluate.run import EvalConfig, run_eval

CHOICE = {"answer_type": "choice", "metric": "accuracy"}
YES_NO = {"answer_type": "yes_no", "metric": "accuracy"}
DISTANCE = {"answer_type": "number", "metric": "spatialrgpt", "parse": {"to_unit": "m", "default_unit": None}}


def _item(item_id: str, task: str, level: int, group: str, scoring: dict, value: Any, **kw: Any) -> dict:
    return {
        "id": item_id,
        "task": task,
        "level": level,
        "group": group,
        "format": kw.pop("format", "tf"),
        "question": f"[{item_id}] question?",
        "images": [f"images/{item_id}.png"],
        "choices": kw.pop("choices", []),
        "answer": str(value),
        "answer_value": value,
        "unit": kw.pop("unit", None),
        "scoring": scoring,
        "capture_id": f"cap-{item_id}",
        **kw,
    }


ITEMS = [
    _item(
        "a1",
        "t_a",
        1,
        "G1",
        CHOICE,
        "A",
        format="mcq",
        choices=[{"label": "A", "text": "the mug"}, {"label": "B", "text": "the cup"}],
    ),
    _item("b1", "t_b", 1, "G1", YES_NO, True),
    _item("b2", "t_b", 1, "G1", YES_NO, False),
    _item("b3", "t_b", 1, "G1", YES_NO, True),
    _item("c1", "t_c", 2, "G2", DISTANCE, 2.0, format="free", unit="m"),
    _item("c2", "t_c", 2, "G2", DISTANCE, 4.0, format="free", unit="m"),
]
IDS = [i["id"] for i in ITEMS]
REPLIES = {"a1": "A", "b1": "yes", "b2": "Yes.", "b3": "no", "c1": "about 10 meters", "c2": "1 m"}


def write_bench(root: Path, totals_rule: str = "micro", items: list[dict] = ITEMS) -> Path:
    bench = root / "bench"
    (bench / "images").mkdir(parents=True, exist_ok=True)
    for n, item in enumerate(items):
        Image.new("RGB", (4, 4), (n * 30, 0, 0)).save(bench / item["images"][0], format="PNG")
    (bench / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    manifest = {"name": "tiny", "preset": None, "totals_rule": totals_rule, "n_items": len(items)}
    (bench / "benchmark.json").write_text(json.dumps(manifest))
    return bench


class Scripted(ModelBackend):
    """Replies from a table; an exception in the table is raised instead. Thread-safe; counts calls."""

    kind = "scripted"

    def __init__(
        self, replies: dict[str, Any] | None = None, concurrency: int = 1, delay: float = 0.0
    ) -> None:
        self.replies = dict(REPLIES if replies is None else replies)
        self.max_concurrency = concurrency
        self.delay = delay
        self.asked: list[str] = []
        self.requests: list[Request] = []
        self.active = self.peak = 0
        self.closed = False
        self._lock = threading.Lock()

    def answer(self, request: Request) -> Reply:
        with self._lock:
            self.asked.append(request.item_id)
            self.requests.append(request)
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            if self.delay:
                time.sleep(self.delay)
            reply = self.replies[request.item_id]
            if isinstance(reply, BaseException):
                raise reply
            return Reply(reply, model="scripted-1", usage={"completion_tokens": 1})
        finally:
            with self._lock:
                self.active -= 1

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": 1}

    def close(self) -> None:
        self.closed = True


def config(bench: Path, out: Path, **kw: Any) -> EvalConfig:
    base = {"model": "scripted:v=1", "progress": False, "report": False, "bootstrap": 50}
    return EvalConfig(benchmark=str(bench), output=str(out), **{**base, **kw})


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def decisions(out: Path) -> dict[str, dict]:
    return {d["id"]: d for d in jsonl(out / "score" / "items.jsonl")}


# ------------------------------------------------------------------ tables


@pytest.mark.parametrize(
    ("rule", "overall"), [("micro", 2 / 6), ("macro_tasks", 4 / 9), ("macro_groups", 1 / 4)]
)
def test_tables_hand_checked(tmp_path: Path, rule: str, overall: float) -> None:
    bench = write_bench(tmp_path, rule)
    report = run_eval(config(bench, tmp_path / "out"), model=Scripted())
    tables = json.loads((tmp_path / "out" / "tables.json").read_text())
    assert tables == report.tables
    assert (tables["n_items"], tables["answered"], tables["unanswered"]) == (6, 6, 0)
    assert tables["totals_rule"] == rule
    # G1 under macro_tasks: the mean of its task scores (1 + 1/3) / 2, else its item mean 2/4.
    g1 = 2 / 3 if rule == "macro_tasks" else 0.5
    assert tables["totals"] == pytest.approx({"overall": overall, "G1": g1, "G2": 0.0})
    rows = {t["task"]: t for t in tables["tasks"]}
    assert [t["task"] for t in tables["tasks"]] == ["t_a", "t_b", "t_c"]  # by level, then name
    assert {k: (v["level"], v["group"], v["metric"], v["n"]) for k, v in rows.items()} == {
        "t_a": (1, "G1", "accuracy", 1),
        "t_b": (1, "G1", "accuracy", 3),
        "t_c": (2, "G2", "spatialrgpt", 2),
    }
    assert [rows[t]["score"] for t in ("t_a", "t_b", "t_c")] == pytest.approx([1.0, 1 / 3, 0.0])
    assert rows["t_b"]["parse_status"] == {"ok": 3}
    for row in tables["tasks"] + tables["levels"] + tables["groups"]:
        lo, hi = row["ci"]
        assert 0.0 <= lo <= row["score"] <= hi <= 1.0
    assert [(lv["level"], lv["n"]) for lv in tables["levels"]] == [(1, 4), (2, 2)]
    assert [lv["score"] for lv in tables["levels"]] == pytest.approx([0.5, 0.0])
    assert [(g["group"], g["n"]) for g in tables["groups"]] == [("G1", 4), ("G2", 2)]
    assert [g["score"] for g in tables["groups"]] == pytest.approx([g1, 0.0])
    assert (tables["overall_ci"] is not None) is (rule == "micro")
    md = (tmp_path / "out" / "tables.md").read_text()
    assert f"| overall | {100 * overall:.1f} |" in md
    scored = decisions(tmp_path / "out")
    assert {k: v["score"] for k, v in scored.items()} == {
        "a1": 1.0,
        "b1": 1.0,
        "b2": 0.0,
        "b3": 0.0,
        "c1": 0.0,
        "c2": 0.0,
    }


def test_macro_tasks_group_totals_are_means_over_tasks(tmp_path: Path) -> None:
    """SPAR-Bench's Low / High are means over the level's tasks (preset sparbench_single's notes,
    bench/aggregate.py): G1 = (t_a 1 + t_b 1/3) / 2, not the item mean 2/4."""
    bench = write_bench(tmp_path, "macro_tasks")
    tables = run_eval(config(bench, tmp_path / "out"), model=Scripted()).tables
    assert tables["totals"]["G1"] == pytest.approx(2 / 3)


def test_eval_json_records_the_run(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    backend = Scripted()
    run_eval(config(bench, tmp_path / "out", max_new_tokens=64, system="Be brief."), model=backend)
    record = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert record["benchmark"]["name"] == "tiny" and record["benchmark"]["n_items"] == 6
    assert len(record["benchmark"]["items_sha256"]) == 64
    assert record["model"] == {"spec": "scripted:v=1", "kind": "scripted", "version": 1}
    assert record["settings"] == {"temperature": 0.0, "max_new_tokens": 64, "top_p": 1.0, "seed": 0}
    assert record["prompt"]["style"] == "instructed" and record["prompt"]["system"] == "Be brief."
    assert record["prompt"]["instructions"] == INSTRUCTIONS
    assert record["status"] == {
        "n_items": 6,
        "answered": 6,
        "failed": 0,
        "failed_by_reason": {},
        "asked_this_run": 6,
        "torn_lines_dropped": 0,
    }
    assert record["parser_version"] and record["started"] <= record["finished"]
    assert backend.closed
    predictions = {p["id"]: p for p in jsonl(tmp_path / "out" / "predictions.jsonl")}
    assert set(predictions) == set(IDS)
    c1 = predictions["c1"]
    assert c1["task"] == "t_c" and c1["prediction"] == "about 10 meters" and c1["model"] == "scripted-1"
    assert c1["prompt"] == "[c1] question?\n\n" + INSTRUCTIONS["number_length"]
    assert c1["images"] == ["c1.png"] and c1["attempts"] == 1 and c1["usage"] == {"completion_tokens": 1}
    # The request carried the system prompt, the settings and the absolute image path.
    request = next(r for r in backend.requests if r.item_id == "c1")
    assert request.system == "Be brief." and request.settings.max_new_tokens == 64
    assert [p.resolve() for p in request.images] == [(bench / "images" / "c1.png").resolve()]


# ------------------------------------------------------------------ resume


def test_resume_asks_only_unanswered_items(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    out = tmp_path / "out"
    first = Scripted()
    report = run_eval(config(bench, out, limit=2), model=first)
    assert first.asked == IDS[:2] and report.n_items == 2 and report.tables["n_items"] == 2
    second = Scripted()
    report = run_eval(config(bench, out), model=second)
    assert sorted(second.asked) == sorted(IDS[2:]) and report.asked_this_run == 4
    third = Scripted()
    report = run_eval(config(bench, out), model=third)
    assert third.asked == [] and report.asked_this_run == 0 and report.answered == 6
    assert sorted(p["id"] for p in jsonl(out / "predictions.jsonl")) == sorted(IDS)  # each once
    assert json.loads((out / "eval.json").read_text())["resumed"] is True


def test_a_torn_prediction_is_asked_again(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    out = tmp_path / "out"
    run_eval(config(bench, out), model=Scripted())
    path = out / "predictions.jsonl"
    data = path.read_bytes()
    last = json.loads(data.splitlines()[-1])["id"]
    path.write_bytes(data[:-7])  # killed in the middle of writing the last reply
    again = Scripted()
    report = run_eval(config(bench, out), model=again)
    assert again.asked == [last] and report.torn_lines == 1 and report.answered == 6


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"model": "scripted:v=2"}, "model"),
        ({"max_new_tokens": 32}, "settings"),
        ({"temperature": 0.7}, "settings"),
        ({"seed": 1}, "settings"),
        ({"prompt_style": "plain"}, "prompt"),
        ({"system": "You are a robot."}, "prompt"),
    ],
)
def test_a_different_run_in_the_same_folder_is_refused(tmp_path: Path, change: dict, key: str) -> None:
    bench = write_bench(tmp_path)
    out = tmp_path / "out"
    run_eval(config(bench, out, limit=3), model=Scripted())
    before = (out / "predictions.jsonl").read_bytes()
    backend = Scripted()
    with pytest.raises(ValueError, match=key):
        run_eval(config(bench, out, **change), model=backend)
    assert backend.asked == [] and (out / "predictions.jsonl").read_bytes() == before


def test_a_changed_benchmark_is_refused(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    out = tmp_path / "out"
    run_eval(config(bench, out), model=Scripted())
    changed = [dict(i) for i in ITEMS]
    changed[1]["answer_value"] = False
    write_bench(tmp_path, items=changed)
    with pytest.raises(ValueError, match="items_sha256"):
        run_eval(config(bench, out), model=Scripted())


def test_predictions_for_items_the_benchmark_lacks_are_refused(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    out = tmp_path / "out"
    run_eval(config(bench, out, limit=1), model=Scripted())
    with open(out / "predictions.jsonl", "a") as fh:
        fh.write(json.dumps({"id": "zz", "prediction": "A"}) + "\n")
    with pytest.raises(ValueError, match="zz"):
        run_eval(config(bench, out), model=Scripted())


# ------------------------------------------------------------------ failures


def test_model_errors_go_to_failures_and_are_asked_again(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    out = tmp_path / "out"
    failing = Scripted({**REPLIES, "b2": ModelError("http_500", "server error", retryable=True, attempts=3)})
    report = run_eval(config(bench, out), model=failing)
    assert dict(report.failed) == {"http_500": 1} and report.answered == 5
    assert "b2" not in {p["id"] for p in jsonl(out / "predictions.jsonl")}
    (failure,) = jsonl(out / "failures.jsonl")
    assert failure == {
        "id": "b2",
        "task": "t_b",
        "reason": "http_500",
        "message": "server error [http_500]",
        "attempts": 3,
    }
    # Unanswered items are scored 0 (an empty reply) and counted.
    tables = report.tables
    assert (tables["answered"], tables["unanswered"]) == (5, 1)
    b2 = decisions(out)["b2"]
    assert b2["score"] == 0.0 and b2["parse_status"] == "no_answer"
    assert json.loads((out / "eval.json").read_text())["status"]["failed_by_reason"] == {"http_500": 1}
    again = Scripted()
    report = run_eval(config(bench, out), model=again)
    assert again.asked == ["b2"] and report.answered == 6 and not report.failed
    assert (out / "failures.jsonl").read_text() == ""


def test_a_backend_raising_a_plain_exception_is_recorded_not_fatal(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    out = tmp_path / "out"
    report = run_eval(config(bench, out), model=Scripted({**REPLIES, "c1": RuntimeError("boom")}))
    assert dict(report.failed) == {"backend_exception:RuntimeError": 1} and report.answered == 5
    (failure,) = jsonl(out / "failures.jsonl")
    assert failure["id"] == "c1" and failure["message"] == "boom"


def test_a_missing_image_is_a_failure_and_the_model_is_not_asked(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    (bench / "images" / "b3.png").unlink()
    backend = Scripted()
    report = run_eval(config(bench, tmp_path / "out"), model=backend)
    assert "b3" not in backend.asked and dict(report.failed) == {"missing_image": 1}
    (failure,) = jsonl(tmp_path / "out" / "failures.jsonl")
    assert failure["id"] == "b3" and failure["reason"] == "missing_image" and failure["attempts"] == 0


def test_an_image_linked_out_of_the_benchmark_is_not_sent(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    secret = tmp_path / "private.png"
    Image.new("RGB", (4, 4)).save(secret)
    image = bench / "images" / "b3.png"
    image.unlink()
    image.symlink_to(secret)
    backend = Scripted()
    report = run_eval(config(bench, tmp_path / "out"), model=backend)
    assert "b3" not in backend.asked and report.answered == 5
    (failure,) = jsonl(tmp_path / "out" / "failures.jsonl")
    assert failure["id"] == "b3" and failure["reason"] == "image_outside_benchmark"


# ------------------------------------------------------------------ subsets and concurrency


def test_task_subset_and_limit(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    backend = Scripted()
    report = run_eval(config(bench, tmp_path / "a", tasks=("t_b", "t_a")), model=backend)
    assert sorted(backend.asked) == ["a1", "b1", "b2", "b3"] and report.tables["n_items"] == 4
    backend = Scripted()
    run_eval(config(bench, tmp_path / "b", tasks=("t_b",), limit=2), model=backend)
    assert backend.asked == ["b1", "b2"]
    with pytest.raises(ValueError, match="t_z"):
        run_eval(config(bench, tmp_path / "c", tasks=("t_z",)), model=Scripted())


def test_at_most_max_concurrency_requests_in_flight(tmp_path: Path) -> None:
    items = [_item(f"q{n}", "t_b", 1, "G1", YES_NO, n % 2 == 0) for n in range(12)]
    bench = write_bench(tmp_path, items=items)
    backend = Scripted({i["id"]: "yes" for i in items}, concurrency=3, delay=0.03)
    report = run_eval(config(bench, tmp_path / "out"), model=backend)
    assert report.answered == 12 and sorted(backend.asked) == sorted(i["id"] for i in items)
    assert 2 <= backend.peak <= 3
    assert report.tables["tasks"][0]["score"] == pytest.approx(0.5)
