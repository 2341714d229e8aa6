"""The lmms-eval export: the task folder loads the way lmms-eval loads it (YAML with !function tags, the
JSON dataset through HF datasets, utils.py imported from the folder), asks the same prompts as `spatialforge
eval` and, fed eval's replies, reproduces eval's scores and totals - for a built and a published benchmark.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from spatialforge.bench import published
from spatialforge.bench.lmms_export import export_lmms, task_name_for
from spatialforge.evaluate.run import EvalConfig, run_eval
from tests.bench.loaders.test_importer import ROWS, _write
from tests.evaluate.test_run import REPLIES, Scripted, config, write_bench


class _TaskLoader(yaml.SafeLoader):
    """lmms-eval's YAML loader resolves `!function module.name` against the task folder."""


def _load_task(folder: Path, task: str) -> tuple[dict[str, Any], Any]:
    module_name = f"lmms_utils_{abs(hash(str(folder)))}"
    spec = importlib.util.spec_from_file_location(module_name, folder / "utils.py")
    assert spec is not None and spec.loader is not None
    utils = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = utils
    spec.loader.exec_module(utils)

    def function(loader: yaml.Loader, node: yaml.Node) -> Any:
        module, name = loader.construct_scalar(node).split(".")
        assert module == "utils"
        return getattr(utils, name)

    _TaskLoader.add_constructor("!function", function)
    config = yaml.load((folder / f"{task}.yaml").read_text(), Loader=_TaskLoader)
    return config, utils


def _docs(config: dict[str, Any], cache: Path) -> list[dict[str, Any]]:
    import datasets

    data = datasets.load_dataset(config["dataset_path"], cache_dir=str(cache), **config["dataset_kwargs"])
    return list(data[config["test_split"]])


def _run_through_lmms(folder: Path, task: str, replies: dict[str, str], cache: Path) -> dict[str, Any]:
    config, _utils = _load_task(folder, task)
    assert config["task"] == task and config["output_type"] == "generate_until"
    docs = _docs(config, cache)
    kwargs = config["lmms_eval_specific_kwargs"]["default"]
    results: dict[str, list[dict[str, Any]]] = {m["metric"]: [] for m in config["metric_list"]}
    prompts = {}
    for doc in docs:
        visuals = config["doc_to_visual"](doc)
        assert len(visuals) == len(doc["images"]) and all(v.mode == "RGB" for v in visuals)
        prompts[doc["id"]] = config["doc_to_text"](doc, kwargs)
        for metric, line in config["process_results"](doc, [replies.get(doc["id"], "")]).items():
            results[metric].append(line)
    totals = {m["metric"]: m["aggregation"](results[m["metric"]]) for m in config["metric_list"]}
    return {"prompts": prompts, "totals": totals, "n": len(docs)}


def _eval_replies(run: Path) -> tuple[dict[str, str], dict[str, str]]:
    predictions = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    return {p["id"]: p["prediction"] for p in predictions}, {p["id"]: p["prompt"] for p in predictions}


@pytest.mark.parametrize("totals_rule", ["micro", "macro_groups", "macro_tasks"])
def test_built_benchmark_scores_in_lmms_eval_as_in_eval(tmp_path: Path, totals_rule: str) -> None:
    bench = write_bench(tmp_path, totals_rule)
    run = tmp_path / "run"
    report = run_eval(config(bench, run), model=Scripted())
    done = export_lmms(bench, tmp_path / "task")
    assert (done.task, done.n_items, done.n_images) == ("spatialforge_tiny", 6, 6)
    replies, prompts = _eval_replies(run)
    assert replies == REPLIES
    out = _run_through_lmms(done.folder, done.task, replies, tmp_path / "cache")
    assert out["n"] == 6 and out["prompts"] == prompts
    scores = [json.loads(line)["score"] for line in (run / "score" / "items.jsonl").read_text().splitlines()]
    assert out["totals"]["spatialforge_score"] == pytest.approx(sum(scores) / len(scores))
    assert out["totals"]["spatialforge_overall"] == pytest.approx(report.tables["totals"]["overall"])


def test_published_benchmark_keeps_its_official_prompt_and_total(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(published._MODULES, "toy", "tests.bench.loaders.toy_benchmark")
    data = _write(tmp_path / "data", [dict(r) for r in ROWS])
    run = tmp_path / "run"
    cfg = EvalConfig(
        benchmark="toy",
        model="frequency",
        output=str(run),
        data=str(data),
        progress=False,
        report=False,
        bootstrap=20,
    )
    report = run_eval(cfg)
    done = export_lmms(run / "benchmark", tmp_path / "task")
    replies, prompts = _eval_replies(run)
    out = _run_through_lmms(done.folder, done.task, replies, tmp_path / "cache")
    assert out["prompts"] == prompts
    assert (
        out["prompts"]["r2"]
        == "Is the cup on the box?\n(A) yes\n(B) no\n(C) maybe\nAnswer with the option's letter."
    )
    assert out["totals"]["spatialforge_overall"] == pytest.approx(report.tables["totals"]["overall"])
    task_config = json.loads((done.folder / "spatialforge_task.json").read_text())
    assert task_config["scoring"] == {"benchmark": "blink", "variant": None}
    assert task_config["prompt"]["style"] == "plain"


def test_a_wrong_reply_scores_zero_and_pre_post_prompts_wrap_the_prompt(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    done = export_lmms(bench, tmp_path / "task", task="my_task")
    config, _ = _load_task(done.folder, "my_task")
    doc = next(d for d in _docs(config, tmp_path / "cache") if d["id"] == "a1")
    line = config["process_results"](doc, ["The answer is B."])["spatialforge_score"]
    assert (line["score"], line["status"]) == (0.0, "ok")
    assert config["process_results"](doc, ["The answer is A."])["spatialforge_score"]["score"] == 1.0
    text = config["doc_to_text"](doc, {"pre_prompt": "<pre>", "post_prompt": "<post>"})
    assert text.startswith("<pre>[a1] question?") and text.endswith("<post>")


def test_export_refuses_a_folder_holding_something_else(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        export_lmms(bench, tmp_path / "busy")
    export_lmms(bench, tmp_path / "task")
    export_lmms(bench, tmp_path / "task")  # exporting again over an export is fine


def test_task_names() -> None:
    assert task_name_for("SPAR-Bench tiny") == "spatialforge_spar_bench_tiny"
    assert task_name_for("spatialforge_x") == "spatialforge_x"
