"""benchmarks/proof_of_learning.py: the per-level comparisons it records (separate CIs and paired)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spatialforge.evaluate.report.compare import compare_runs
from tests.benchmark_scripts import load_script
from tests.evaluate.report_fixtures import DEFAULT_REPLIES, all_right_replies, make_eval_dir


@pytest.fixture(scope="module")
def proof():
    return load_script("proof_of_learning")


def _tables(levels: dict[int, tuple[float, list[float]]]) -> dict:
    tasks = [{"task": "near", "level": 0}, {"task": "far", "level": 0}, {"task": "above", "level": 2}]
    rows = [{"level": level, "score": score, "ci": ci} for level, (score, ci) in levels.items()]
    return {"tables": {"tasks": tasks, "levels": rows + [{"level": None, "score": 0.5, "ci": [0.4, 0.6]}]}}


def test_compare_says_above_only_when_the_intervals_separate(proof):
    results = {
        "metric": _tables({0: (0.6, [0.55, 0.65]), 2: (0.5, [0.4, 0.6])}),
        "blank": _tables({0: (0.4, [0.35, 0.45]), 2: (0.45, [0.35, 0.55])}),
    }
    out = proof.compare(results, "metric", "blank")
    assert out["L0"]["non_overlapping_above"] is True
    assert out["L2"]["non_overlapping_above"] is False
    assert out["L0"]["metric"] == 0.6 and out["L0"]["blank_ci"] == [0.35, 0.45]
    assert proof.compare(results, "metric", "rgb") == {}


def test_paired_levels_are_the_comparisons_level_rows(proof, tmp_path):
    evals = tmp_path / "evals"
    wrong = dict(DEFAULT_REPLIES, **{f"rel-{i}": "B" if i < 3 else "A" for i in range(4)})
    make_eval_dir(evals, "blank", replies=wrong)
    make_eval_dir(evals, "metric", replies=all_right_replies())
    results = {"metric": _tables({}), "blank": _tables({})}
    out = proof.paired_levels(evals, results, "metric", "blank")
    rows = compare_runs([evals / "blank", evals / "metric"])["pairs"][0]["levels"]
    assert set(out) == {f"L{row['level']}" for row in rows if row["level"] is not None} and out
    for row in rows:
        level = out[f"L{row['level']}"]
        assert (level["n"], level["metric_minus_blank"], level["ci"]) == (row["n"], row["diff"], row["ci"])
        assert level["above_zero"] == (row["ci"][0] > 0)
    assert any(level["above_zero"] for level in out.values())  # the relation items: wrong -> right


def test_paired_levels_is_empty_without_both_arms_evaluations(proof, tmp_path):
    results = {"metric": _tables({}), "blank": _tables({})}
    make_eval_dir(tmp_path / "evals", "metric")
    evals = tmp_path / "evals"
    assert proof.paired_levels(evals, results, "metric", "blank") == {}  # blank was evaluated elsewhere
    assert proof.paired_levels(evals, {"metric": results["metric"]}, "metric", "blank") == {}


def _arm_args(**changes: object):
    """The proof script's parsed options that arm_configs reads, at a toy size."""
    from argparse import Namespace

    options = {
        "image_size": None,
        "text_width": None,
        "text_layers": None,
        "lr": 1e-3,
        "schedule": "cosine",
        "steps": 40,
        "batch": 8,
        "loader_workers": 0,
        "vision_lr_scale": 1.0,
        "geometry_norm": "none",
        "answer_balance": 0.0,
        "probe": 32,
        "log_records": 100,
        "vision_pretrain_steps": 0,
        "vision_pretrain_batch": 128,
        "freeze_vision": False,
        "tasks": "",
        "eval_batch": 16,
    }
    return Namespace(**{**options, **changes})


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_arm_configs_load_and_carry_the_vision_lr_scale(proof, tmp_path, scale):
    from spatialforge.train.config import TrainConfig

    args = _arm_args(vision_lr_scale=scale)
    want = {} if scale == 1.0 else {"vision": scale, "geometry": scale, "connector": scale}
    for arm in proof.ARMS:
        configs = proof.arm_configs(args, tmp_path, arm)
        for raw in configs:
            config = TrainConfig.from_dict(raw)
            assert config.optim.lr_scale == want, (arm, raw["name"])
            assert config.optim.lr == 1e-3 and config.train.steps in (40, 10)
            assert config.log.probe == 32
        assert configs[-1]["data"]["blank_inputs"] is (arm == "blank")


def test_geometry_norm_reaches_every_arm_with_a_point_map_tower(proof, tmp_path):
    from spatialforge.models.config import named_config
    from spatialforge.train.config import TrainConfig

    args = _arm_args(geometry_norm="layernorm")
    for arm in proof.ARMS:
        config = TrainConfig.from_dict(proof.arm_configs(args, tmp_path, arm)[0])
        geometry = named_config("small", **config.model.options).geometry
        want_kind = {"rgb": "none", "relative_depth": "relative_depth"}.get(arm, "metric_xyz")
        assert geometry.kind == want_kind, arm
        if geometry.enabled:
            assert geometry.output_norm == "layernorm", arm


def test_answer_balance_reaches_every_training_run_of_every_arm(proof, tmp_path):
    from spatialforge.train.config import TrainConfig

    for balance in (0.0, 1.0):
        for arm in proof.ARMS:
            for raw in proof.arm_configs(_arm_args(answer_balance=balance), tmp_path, arm):
                assert TrainConfig.from_dict(raw).data.mixture.answer_balance == balance, (arm, raw["name"])


def test_decoder_size_options_reach_every_arm_and_leave_the_tower_alone(proof, tmp_path):
    from spatialforge.models.config import named_config
    from spatialforge.train.config import TrainConfig

    small = named_config("small").backbone
    assert proof.model_options(_arm_args()) == {}
    assert proof.model_options(_arm_args(text_width=small["text"]["width"])) == {}  # the config's own size
    args = _arm_args(text_width=384, text_layers=6, image_size=128)
    for arm in proof.ARMS:
        config = TrainConfig.from_dict(proof.arm_configs(args, tmp_path, arm)[0])
        backbone = named_config("small", **config.model.options).backbone
        assert backbone["text"] == {**small["text"], "width": 384, "layers": 6}, arm
        assert backbone["vision"] == {**small["vision"], "image_size": 128}, arm
    from spatialforge.models.vlm import build_model

    decoder = build_model(named_config("small", **config.model.options)).backbone.decoder
    assert len(decoder.blocks) == 6 and tuple(decoder.embed.weight.shape) == (small["vocab_size"], 384)
    only_layers = proof.model_options(_arm_args(text_layers=8))["backbone"]
    assert only_layers == {"text": {**small["text"], "layers": 8}}
    with pytest.raises(SystemExit, match="--text-width 250 is not a multiple of the decoder's 4 heads"):
        proof.model_options(_arm_args(text_width=250))


def test_a_pretrained_tower_reaches_every_arm(proof, tmp_path):
    from spatialforge.train.config import TrainConfig

    plain = _arm_args()
    assert proof.vision_pretrain_dir(plain, tmp_path) is None
    assert "vision_weights" not in proof.arm_configs(plain, tmp_path, "metric")[0]["model"]
    args = _arm_args(vision_pretrain_steps=500, freeze_vision=True, image_size=128)
    tower = tmp_path / "vision_pretrain_500x128_px128"
    assert proof.vision_pretrain_dir(args, tmp_path) == tower
    for arm in proof.ARMS:
        configs = [TrainConfig.from_dict(raw) for raw in proof.arm_configs(args, tmp_path, arm)]
        assert configs[0].model.vision_weights == str(tower), arm
        assert all("vision" in (c.model.freeze or ()) for c in configs), arm
        if len(configs) == 2:  # stage 2 starts from stage 1's saved model, which holds the tower
            assert configs[1].model.vision_weights is None, arm


def test_training_summary_keeps_the_input_gain_per_level(proof, tmp_path):
    def probe(gain: float) -> dict:
        level = {"examples": 3, "loss": 1.0, "loss_swapped": 1.0 + gain, "gain": gain}
        return {**level, "examples": 6, "by_level": {"0": level, "2": {**level, "gain": gain / 2}}}

    rows = [{"step": s, "loss": 2.0 - s / 10, "probe": probe(s / 100)} for s in (1, 2, 3)]
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = proof.training_summary(log)
    assert summary["probe_examples"] == 6
    assert summary["final_input_gain"] == {"all": 0.03, "0": 0.03, "2": 0.015}
    assert [step for step, _ in summary["input_gain_curve"]] == [1, 2, 3]
    log.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "probe"}) + "\n" for r in rows))
    assert "final_input_gain" not in proof.training_summary(log)  # runs without the probe


def test_staged_arms_differ_only_in_stage_one_data_and_train_the_random_decoder_in_both(proof, tmp_path):
    from spatialforge.train.config import TrainConfig

    args = _arm_args(vision_pretrain_steps=500, freeze_vision=True)
    stages = {arm: proof.arm_configs(args, tmp_path, arm) for arm in ("stage_3d_late", "stage_3d_early")}
    for arm, (stage1, stage2) in stages.items():
        for raw in (stage1, stage2):
            assert TrainConfig.from_dict(raw).model.freeze == ("vision",), (arm, raw["name"])
        assert stage1["train"]["steps"] == 10 and stage2["train"]["steps"] == 40
        assert stage2["model"]["config"] == str(tmp_path / "runs" / f"{arm}_stage1" / "final")
    late, early = stages["stage_3d_late"][0], stages["stage_3d_early"][0]
    assert late["data"]["mixture"]["spatial_general_ratio"] == [0, 1]
    assert early["data"]["mixture"]["spatial_general_ratio"] == [1, 1]
    assert set(early["data"]["mixture"]["task_weights"]) >= {"object_depth", "object_size"}
    assert {k: v for k, v in late.items() if k not in ("name", "data")} == {
        k: v for k, v in early.items() if k not in ("name", "data")
    }


def test_focus_tasks_restrict_training_and_scoring_in_their_own_folders(proof, tmp_path, monkeypatch):
    from spatialforge.train.config import TrainConfig

    full = _arm_args()
    assert proof.focus_tasks(full) == [] and proof.focus_key(full) == ""
    assert proof.runs_root(full, tmp_path) == tmp_path / "runs" / ""  # the full mix keeps runs/<arm>
    args = _arm_args(tasks=" object_depth,point_xyz ,object_depth")
    assert proof.focus_tasks(args) == ["object_depth", "point_xyz"]
    key = proof.focus_key(args)
    assert key.startswith("tasks-2-") and key == proof.focus_key(_arm_args(tasks="point_xyz,object_depth"))
    assert key != proof.focus_key(_arm_args(tasks="object_depth"))
    for arm in proof.ARMS:
        configs = proof.arm_configs(args, tmp_path, arm)
        mixture = TrainConfig.from_dict(configs[-1]).data.mixture
        assert mixture.task_weights == {"task:object_depth": 1.0, "task:point_xyz": 1.0}, arm
        if len(configs) == 2:
            assert configs[1]["model"]["config"] == str(tmp_path / "runs" / key / f"{arm}_stage1" / "final")
    assert proof.model_spec(args, tmp_path, "blank", "cpu") == (
        f"spatialforge:{tmp_path / 'runs' / key / 'blank' / 'final'},blank=true,device=cpu,batch_size=16"
    )
    commands: list[list[str]] = []
    monkeypatch.setattr(proof, "run", lambda command, log: commands.append(command))
    out = proof.evaluate(args, tmp_path, "chance", "chance", [])
    assert out == tmp_path / "evals" / key / "chance" / "tables.json"
    assert commands[0][-4:] == ["--task", "object_depth", "--task", "point_xyz"]
    with pytest.raises(SystemExit, match="--tasks: nowhere, object_depth_mv not single-view tasks"):
        proof.focus_tasks(_arm_args(tasks="object_depth,nowhere,object_depth_mv"))


def test_exclusive_makes_a_second_holder_wait_until_the_first_is_done(proof, tmp_path):
    import threading

    if proof.fcntl is None:
        pytest.skip("no flock on this platform")
    lock = tmp_path / "work" / ".shared_steps.lock"
    entered = threading.Event()

    def second() -> None:
        with proof.exclusive(lock):
            entered.set()

    with proof.exclusive(lock):
        thread = threading.Thread(target=second)
        thread.start()
        assert not entered.wait(0.3)  # held: the second invocation waits
    assert entered.wait(10)
    thread.join(10)


def test_sibling_arms_adopts_only_arms_another_invocation_finished(proof, tmp_path):
    """Arms run side by side as separate invocations: the last to finish records the others' finished arms
    (trained and evaluated in the same work folder), never an arm still training or not evaluated."""
    args = _arm_args(steps=8)
    work = tmp_path / "work"
    evals = proof.evals_root(args, work)
    for name in ("blank", "rgb", "relative_depth"):  # relative_depth is trained but not evaluated yet
        (evals / name).mkdir(parents=True, exist_ok=True)
        run_dir = proof.runs_root(args, work) / name
        (run_dir / "final").mkdir(parents=True)
        (run_dir / "log.jsonl").write_text(json.dumps({"step": 8, "loss": 0.5}) + "\n")
        if name != "rgb":  # rgb: evaluated, but its run has no final model (still training)
            (run_dir / "final" / "config.json").write_text("{}")
    (evals / "blank" / "tables.json").write_text(json.dumps({"levels": [{"level": 0, "score": 1.0}]}))
    (evals / "rgb" / "tables.json").write_text("{}")
    results = {"metric": _tables({0: (0.6, [0.55, 0.65])})}
    assert proof.sibling_arms(args, work, results) == ["blank"]
    assert set(results) == {"metric", "blank"}
    assert results["blank"]["tables"] == {"levels": [{"level": 0, "score": 1.0}]}
    assert results["blank"]["from_work_folder"] is True
    assert results["blank"]["training"]["runs"][0]["run"] == "blank"
    assert results["blank"]["training"]["runs"][0]["final_loss"] == 0.5
    assert proof.sibling_arms(args, work, results) == []  # already recorded: not adopted twice


def test_compare_tasks_flags_separation_and_names_the_best_reference(proof):
    def tasks(rows: dict[str, tuple[int, float, list[float]]]) -> dict:
        listed = [{"task": t, "level": lv, "score": sc, "ci": ci} for t, (lv, sc, ci) in rows.items()]
        return {"tables": {"tasks": listed}}

    results = {
        "metric": tasks({"near": (0, 0.7, [0.65, 0.75]), "above": (2, 0.5, [0.44, 0.56])}),
        "blank": tasks({"near": (0, 0.3, [0.25, 0.35]), "above": (2, 0.4, [0.35, 0.46])}),
        "chance": tasks({"near": (0, 0.0, [0.0, 0.0]), "above": (2, 0.55, [0.5, 0.6])}),
        "blind": tasks({"near": (0, 0.05, [0.0, 0.1]), "above": (2, 0.45, [0.4, 0.5])}),
    }
    out = proof.compare_tasks(results, "metric", "blank")
    assert list(out) == ["near", "above"]  # by level, then name
    assert out["near"]["non_overlapping_above"] is True
    assert (out["near"]["best_reference"], out["near"]["best_reference_score"]) == ("blind", 0.05)
    # ahead of blank but the CIs overlap (0.44 < 0.46), and below chance: no skill shown on the task
    assert out["above"]["non_overlapping_above"] is False
    assert (out["above"]["best_reference"], out["above"]["best_reference_score"]) == ("chance", 0.55)
    assert out["above"]["metric_ci"] == [0.44, 0.56] and out["above"]["blank"] == 0.4
    assert (out["near"]["metric_unread"], out["near"]["blank_unread"]) == (0, 0)  # no parse_status: none
    results["blank"]["tables"]["tasks"][1]["parse_status"] = {"ok": 233, "ambiguous": 61, "no_answer": 6}
    assert proof.compare_tasks(results, "metric", "blank")["above"]["blank_unread"] == 67
    del results["chance"], results["blind"]
    assert proof.compare_tasks(results, "metric", "blank")["near"]["best_reference"] is None
    assert proof.compare_tasks(results, "metric", "rgb") == {}


@pytest.mark.parametrize(
    "argv",
    [
        ["--work", "w", "--arms", "metric,blank", "--side-by-side", "--out", "all.json", "--steps", "8"],
        ["--work", "w", "--arms=metric,blank", "--out=all.json", "--side-by-side", "--steps", "8"],
        [
            "--work",
            "w",
            "--pack-evals",
            "e.tar.gz",
            "--arms",
            "metric,blank",
            "--out",
            "all.json",
            "--steps",
            "8",
        ],
        ["--work", "w", "--arms=metric,blank", "--pack-evals=e.tar.gz", "--out=all.json", "--steps", "8"],
    ],
)
def test_child_argv_names_one_arm_and_its_own_record(proof, argv):
    child = proof.child_argv(argv, "blank", Path("all.blank.json"))
    assert child == ["--work", "w", "--steps", "8", "--arms", "blank", "--out", "all.blank.json"]


def test_pack_evals_keeps_replies_scores_and_tables_of_each_evaluation(proof, tmp_path):
    import tarfile

    evals = tmp_path / "evals"
    for name in ("metric", "blank"):
        (evals / name / "score").mkdir(parents=True)
        for relative in (*proof.PACKED_EVAL_FILES, "score_input.jsonl", "failures.jsonl"):
            (evals / name / relative).write_text(f"{name} {relative}\n")
    archive = tmp_path / "out" / "evals.tar.gz"
    members = proof.pack_evals(evals, ["blank", "metric", "never_evaluated"], archive)
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
        replies = tar.extractfile("metric/predictions.jsonl").read().decode()
    assert (
        names
        == sorted(members)
        == sorted(f"{n}/{r}" for n in ("metric", "blank") for r in proof.PACKED_EVAL_FILES)
    )
    assert replies == "metric predictions.jsonl\n"


class _FakeProcess:
    def __init__(self, returncode: int | None, interrupt: bool = False) -> None:
        self.returncode, self.interrupt, self.terminated = returncode, interrupt, False

    def wait(self) -> int:
        if self.interrupt:
            raise KeyboardInterrupt
        return self.returncode

    def poll(self) -> int | None:
        return self.returncode

    def terminate(self) -> None:
        self.terminated = True


def _side_by_side(proof, tmp_path, monkeypatch, processes: list[_FakeProcess]) -> list[dict]:
    launched = iter(processes)
    monkeypatch.setattr(proof.subprocess, "Popen", lambda *a, **k: next(launched))
    argv = ["proof_of_learning.py", "--arms", "metric,blank", "--side-by-side"]
    monkeypatch.setattr(proof.sys, "argv", argv)
    args = _arm_args(work=tmp_path, out=tmp_path / "all.json")
    (tmp_path / "all.metric.json").write_text(json.dumps({"commands": [{"command": "train metric"}]}))
    log: list[dict] = []
    proof.run_side_by_side(args, ["metric", "blank"], log)
    return log


def test_side_by_side_joins_the_arms_commands_and_names_a_failed_arm(proof, tmp_path, monkeypatch):
    log = _side_by_side(proof, tmp_path, monkeypatch, [_FakeProcess(0), _FakeProcess(0)])
    assert log == [{"command": "train metric"}]  # blank wrote no record: nothing to join
    with pytest.raises(SystemExit, match=r"blank \(output: .*side_by_side_blank.log\)"):
        _side_by_side(proof, tmp_path, monkeypatch, [_FakeProcess(0), _FakeProcess(3)])


def test_side_by_side_stops_the_arms_still_running_when_interrupted(proof, tmp_path, monkeypatch):
    running = _FakeProcess(None)
    with pytest.raises(KeyboardInterrupt):
        _side_by_side(proof, tmp_path, monkeypatch, [_FakeProcess(None, interrupt=True), running])
    assert running.terminated
