"""End to end: `run_eval` against a real OpenAI-compatible HTTP server on loopback that misbehaves.

The server (tests/evaluate/fake_openai_server.py) times out, answers 500 and 429, sends malformed JSON, and
finally hangs; the client process is killed (SIGKILL) once some answers are on disk and the same command is
run again. Nothing may be lost, nothing answered may be asked twice, and the predictions must be the server's
answers. A persistent failure must stay out of the predictions and be asked again by a later run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from spatialforge.evaluate.run import EvalConfig, run_eval
from tests.evaluate.fake_openai_server import FakeOpenAIServer, Fault

CHOICE_RULE = {"answer_type": "choice", "metric": "accuracy"}
LENGTH_RULE = {"answer_type": "number", "metric": "mra", "parse": {"to_unit": "m", "default_unit": "m"}}


def bench_item(n: int, image: str) -> tuple[dict, str]:
    """Item number n (a tag "[qNN]" in its question lets the server tell items apart) and the reply that
    answers it correctly."""
    item_id = f"q{n:02d}"
    common = {"id": item_id, "level": 1, "images": [image], "source": "test", "capture_id": f"cap{n}"}
    if n % 2:
        question = f"[{item_id}] Which object is closer to the camera?\nA. the chair\nB. the table"
        gold = "B" if n % 4 == 1 else "A"
        record = {
            **common,
            "task": "closer",
            "format": "choice",
            "question": question,
            "choices": [{"label": "A", "text": "the chair"}, {"label": "B", "text": "the table"}],
            "answer": gold,
            "answer_value": gold,
            "unit": None,
            "scoring": CHOICE_RULE,
        }
        return record, gold
    distance = round(0.5 * n + 0.25, 2)
    record = {
        **common,
        "task": "distance",
        "format": "number",
        "question": f"[{item_id}] How far is the chair from the camera?",
        "choices": [],
        "answer": f"{distance} m",
        "answer_value": distance,
        "unit": "m",
        "scoring": LENGTH_RULE,
    }
    return record, f"About {distance} meters."


def write_bench(root: Path, n_items: int) -> tuple[Path, dict[str, str]]:
    """A benchmark folder (bench/builder/items.py layout) and {item id: correct reply}."""
    bench = root / "bench"
    (bench / "images").mkdir(parents=True)
    answers: dict[str, str] = {}
    lines = []
    for n in range(1, n_items + 1):
        image = f"images/img{n}.png"
        Image.new("RGB", (8 + n, 6), (20 * n, 100, 200)).save(bench / image, format="PNG")
        record, reply = bench_item(n, image)
        answers[record["id"]] = reply
        lines.append(json.dumps(record))
    (bench / "items.jsonl").write_text("\n".join(lines) + "\n")
    (bench / "benchmark.json").write_text(json.dumps({"name": "t", "preset": None, "n_items": n_items}))
    return bench, answers


def item_server(answers: dict[str, str]) -> FakeOpenAIServer:
    """A server that knows each item by the tag in its prompt and answers it correctly."""

    def key_for(prompt: str) -> str:
        return next(item_id for item_id in answers if f"[{item_id}]" in prompt)

    return FakeOpenAIServer(answer_for=lambda prompt: answers[key_for(prompt)], key_for=key_for)


def complete_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    data = path.read_bytes()
    return [json.loads(line) for line in data.split(b"\n")[:-1] if line.strip()]


def eval_command(bench: Path, spec: str, out: Path) -> list[str]:
    """The user's command, run as its own process so that it can be killed."""
    return [
        sys.executable,
        "-m",
        "spatialforge.cli.main",
        "eval",
        "--benchmark",
        str(bench),
        "--model",
        spec,
        "--output",
        str(out),
        "--max-new-tokens",
        "64",
        "--temperature",
        "0",
        "--no-progress",
    ]


def wait_for_lines(path: Path, count: int, process: subprocess.Popen, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while len(complete_lines(path)) < count:
        if process.poll() is not None:
            raise AssertionError(f"the eval exited ({process.returncode}) early: {process.stderr.read()!r}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not reach {count} lines in {deadline_s} s")
        time.sleep(0.02)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_run_resumes_without_losing_or_repeating_answers(tmp_path: Path) -> None:
    n_items, answers_before_hang = 8, 4
    bench, answers = write_bench(tmp_path, n_items)
    out = tmp_path / "run"
    predictions = out / "predictions.jsonl"
    with item_server(answers) as server:
        server.script("q01", Fault("sleep", seconds=1.5))  # past the client's 1 s timeout
        server.script("q02", Fault("status", status=500), Fault("status", status=500))
        server.script("q03", Fault("malformed"))
        server.script("q04", Fault("status", status=429, retry_after="0"))
        server.script("q05", Fault("no_choices"))
        server.hang_after(answers_before_hang)
        spec = f"openai:base_url={server.base_url},model=m,concurrency=2,timeout=1,backoff=0.05,max_retries=4"

        first = subprocess.Popen(
            eval_command(bench, spec, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            wait_for_lines(predictions, answers_before_hang, first, deadline_s=30)
            time.sleep(0.2)  # the server hangs now: no further line may appear before the kill
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
            first.communicate()
        assert first.returncode == -signal.SIGKILL
        before_kill = complete_lines(predictions)
        answered_before = {p["id"] for p in before_kill}
        requests_before = server.stats()["requests"]
        assert len(before_kill) == len(answered_before) == answers_before_hang

        server.release()
        second = subprocess.run(eval_command(bench, spec, out), capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        requests_after = server.stats()["requests"]

    final = complete_lines(predictions)
    assert predictions.read_bytes().endswith(b"\n")
    ids = [p["id"] for p in final]
    assert sorted(ids) == sorted(answers) and len(ids) == len(set(ids)) == n_items  # none lost, none twice
    assert final[: len(before_kill)] == before_kill  # the first run's lines are kept as they were
    for item_id in answered_before:  # answered before the kill: never asked again
        assert requests_after[item_id] == requests_before[item_id], item_id
    for p in final:
        assert p["prediction"] == answers[p["id"]]
        assert p["model"] == "fake-vlm-1"
    # every scripted fault was met and retried through
    by_id = {p["id"]: p for p in final}
    assert requests_after["q02"] >= 3 and requests_after["q01"] >= 2 and requests_after["q05"] >= 2
    assert by_id["q02"]["attempts"] == 3 and by_id["q03"]["attempts"] == 2 and by_id["q04"]["attempts"] == 2

    status = json.loads((out / "eval.json").read_text())["status"]
    assert (status["answered"], status["failed"], status["asked_this_run"]) == (n_items, 0, n_items - 4)
    assert (out / "failures.jsonl").read_text() == ""
    written = (
        "score/items.jsonl",
        "score/summary.json",
        "score/tasks.csv",
        "tables.json",
        "tables.md",
        "report.html",
    )
    for name in written:
        assert (out / name).is_file(), name
    decisions = complete_lines(out / "score" / "items.jsonl")
    assert len(decisions) == n_items and all(d["score"] == 1.0 for d in decisions)
    assert json.loads((out / "tables.json").read_text())["totals"]["overall"] == pytest.approx(1.0)


def test_persistent_failure_is_kept_out_of_predictions_and_asked_again_later(tmp_path: Path) -> None:
    bench, answers = write_bench(tmp_path, 4)
    out = tmp_path / "run"
    with item_server(answers) as server:
        server.always("q02", Fault("status", status=500))
        spec = f"openai:base_url={server.base_url},model=m,concurrency=2,timeout=5,backoff=0,max_retries=1"
        cfg = EvalConfig(
            benchmark=str(bench),
            model=spec,
            output=str(out),
            max_new_tokens=64,
            progress=False,
            bootstrap=50,
            report=False,
        )
        run_eval(cfg)

        first = {p["id"]: p for p in complete_lines(out / "predictions.jsonl")}
        assert sorted(first) == ["q01", "q03", "q04"]
        [failure] = complete_lines(out / "failures.jsonl")
        assert (failure["id"], failure["reason"], failure["attempts"]) == ("q02", "http_500", 2)
        assert "injected HTTP 500" in failure["message"]
        decisions = {d["id"]: d for d in complete_lines(out / "score" / "items.jsonl")}
        assert decisions["q02"]["score"] == 0 and decisions["q02"]["parse_status"] == "no_answer"
        assert json.loads((out / "tables.json").read_text())["unanswered"] == 1
        assert server.requests["q02"] == 2

        server.clear()
        run_eval(cfg)
        requests = server.stats()["requests"]

    final = complete_lines(out / "predictions.jsonl")
    assert [p["id"] for p in final][3:] == ["q02"]  # appended by the second run
    assert {p["id"]: p["prediction"] for p in final} == answers
    assert (out / "failures.jsonl").read_text() == ""
    assert requests == {"q01": 1, "q02": 3, "q03": 1, "q04": 1}  # only the failed item was asked again
    assert all(d["score"] == 1.0 for d in complete_lines(out / "score" / "items.jsonl"))
