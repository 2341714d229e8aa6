"""The trainer on the tiny test-small model (CPU): learning, accumulation = big batch, exact resume, frozen
components, LoRA, DDP / FSDP with two gloo processes, config loading and its errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from spatialforge.errors import RecordError
from spatialforge.models.vlm import SpatialVLM
from spatialforge.train.config import TrainConfig, load_config, recipe_names
from spatialforge.train.trainer import (
    build_training_model,
    checkpoint_dirs,
    component_parameters,
    learning_rate,
    make_optimizer,
    sample_index,
    set_learning_rate,
    train,
)
from tests.train.ddp_worker import PROBE_EXAMPLES, TinyDataset, logged, tiny_config

torch.set_num_threads(1)
WORKER = Path(__file__).with_name("ddp_worker.py")


def run(tmp: Path, name: str, dataset: TinyDataset | None = None, **sections: dict) -> tuple[Path, object]:
    output = tmp / name
    result = train(load_config(tiny_config(**sections)), output, datasets=[dataset or TinyDataset()])
    return output, result


def initial_state(config: TrainConfig) -> dict[str, torch.Tensor]:
    torch.manual_seed(config.train.seed)  # what train() does before building
    model = build_training_model(config)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def last_weights(output: Path) -> dict[str, torch.Tensor]:
    return load_file(str(checkpoint_dirs(output)[-1] / "model.safetensors"))


def test_loss_decreases_and_writes_the_run_folder(tmp_path: Path) -> None:
    output, result = run(tmp_path, "run", train={"steps": 8})
    curve = logged(output, "loss")
    assert len(curve) == 8
    assert curve[-1] < curve[0] - 1.0, curve
    assert result.steps == 8 and result.final_loss == pytest.approx(curve[-1])
    record = json.loads((output / "log.jsonl").read_text().splitlines()[-1])
    assert record["samples"] == 8 * 4 and record["tokens"] > record["target_tokens"] > 0
    assert record["mfu"] is None and record["samples_per_s"] > 0  # no MFU on a CPU
    assert json.loads((output / "config.json").read_text())["train"]["steps"] == 8
    assert "families" in json.loads((output / "mixture.json").read_text())
    final = SpatialVLM.from_pretrained(output / "final")
    weights = last_weights(output)
    for name, tensor in final.state_dict().items():
        if name in weights:
            assert torch.equal(tensor, weights[name]), name


def test_accumulation_gives_the_big_batch_gradient(tmp_path: Path) -> None:
    # Adam's first step is lr * g / (|g| + eps): with the default eps it is lr * sign(g), which flips on the
    # rounding noise of near-zero gradients; eps = 1 makes the update ~ g, so weights compare the gradients.
    optim = {"lr": 1.0, "eps": 1.0}
    one, _ = run(tmp_path, "micro4", train={"steps": 1, "micro_batch": 4}, optim=optim)
    accumulated, _ = run(tmp_path, "micro2x2", train={"steps": 1, "micro_batch": 2}, optim=optim)
    single, _ = run(tmp_path, "micro1x4", train={"steps": 1, "micro_batch": 1}, optim=optim)
    a, b, c = last_weights(one), last_weights(accumulated), last_weights(single)
    start = initial_state(load_config(tiny_config()))
    moved = 0
    for name, tensor in a.items():
        torch.testing.assert_close(b[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
        torch.testing.assert_close(c[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
        moved += not torch.equal(tensor, start[name])
    assert moved > 10  # the step did move the weights
    assert logged(one, "loss") == pytest.approx(logged(accumulated, "loss"), rel=1e-6)


def test_resume_after_a_crash_continues_the_same_curve(tmp_path: Path) -> None:
    straight, _ = run(tmp_path, "straight", train={"steps": 6}, checkpoint={"every": 3})

    class Crash(RuntimeError):
        pass

    def crash_at_5(record: dict) -> None:
        if record["step"] == 5:
            raise Crash

    config = load_config(tiny_config(train={"steps": 6}, checkpoint={"every": 3}))
    output = tmp_path / "crashed"
    with pytest.raises(Crash):
        train(config, output, datasets=[TinyDataset()], on_log=crash_at_5)
    assert [p.name for p in checkpoint_dirs(output)] == ["step-0000003"]
    assert logged(output, "step") == [1, 2, 3, 4, 5]
    # The resumed run also uses two loader workers: the data must not depend on it.
    resumed = load_config(tiny_config(train={"steps": 6}, checkpoint={"every": 3}, data={"num_workers": 2}))
    result = train(resumed, output, datasets=[TinyDataset()])
    assert result.resumed_from == 3
    assert logged(output, "step") == [1, 2, 3, 4, 5, 6]  # the crashed steps 4-5 are logged once
    assert logged(output, "loss") == pytest.approx(logged(straight, "loss"), rel=1e-6, abs=1e-7)
    a, b = last_weights(straight), last_weights(output)
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=0, atol=1e-6, msg=name)
    state = json.loads((checkpoint_dirs(output)[-1] / "trainer_state.json").read_text())
    assert state["step"] == 6 and state["samples"] == 24
    assert [p.name for p in checkpoint_dirs(output)] == ["step-0000003", "step-0000006"]


def test_resume_refuses_a_different_config(tmp_path: Path) -> None:
    output, _ = run(tmp_path, "run", train={"steps": 2})
    changed = load_config(tiny_config(train={"steps": 2}, optim={"lr": 1e-2}))
    with pytest.raises(ValueError, match=r"optim\.lr"):
        train(changed, output, datasets=[TinyDataset()])
    result = train(changed, output, datasets=[TinyDataset()], allow_config_change=True)
    assert result.resumed_from == 2
    # log and checkpoint cadence may change freely
    free = load_config(tiny_config(train={"steps": 3}, log={"every": 2}, checkpoint={"every": 1, "keep": 1}))
    with pytest.raises(ValueError, match=r"train\.steps"):  # steps shape the schedule
        train(free, output, datasets=[TinyDataset()])
    fresh = train(free, output, datasets=[TinyDataset()], resume=False)
    assert fresh.resumed_from is None and [p.name for p in checkpoint_dirs(output)] == ["step-0000003"]


def test_frozen_components_do_not_move(tmp_path: Path) -> None:
    sections = {"model": {"config": "test-small", "freeze": ["vision", "language"]}, "train": {"steps": 2}}
    output, _ = run(tmp_path, "frozen", **sections)
    config = load_config(tiny_config(**sections))
    start, end = initial_state(config), last_weights(output)
    model = build_training_model(config)
    names = {id(p): n for n, p in model.named_parameters()}
    parts = {c: [names[id(p)] for p in ps] for c, ps in component_parameters(model).items()}
    assert parts["vision"] and parts["language"] and parts["geometry"] and parts["connector"]
    for name in parts["vision"] + parts["language"]:
        assert torch.equal(end[name], start[name]), name
    for component in ("geometry", "connector"):
        assert any(not torch.equal(end[n], start[n]) for n in parts[component]), component


def test_lr_scale_gives_each_component_its_own_rate(tmp_path: Path) -> None:
    scales = {"vision": 1e-9, "connector": 4.0}
    sections = {"optim": {"lr_scale": scales}, "train": {"steps": 2}}
    config = load_config(tiny_config(**sections))
    model = build_training_model(config)
    parts = component_parameters(model)
    optimizer = make_optimizer(model, config, parts)
    set_learning_rate(optimizer, 0.5)
    rate = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    for component, params in parts.items():
        assert {rate[id(p)] for p in params} == {0.5 * scales.get(component, 1.0)}, component
    decay = {id(p): g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    assert {decay[id(p)] for p in parts["connector"] if p.ndim < 2} == {0.0}  # still no decay on biases
    # A run: the vision tower, at a billionth of the rate, stays put while the rest moves.
    output, _ = run(tmp_path, "scaled", **sections)
    start, end = initial_state(config), last_weights(output)
    names = {id(p): n for n, p in model.named_parameters()}
    vision = [names[id(p)] for p in parts["vision"]]
    assert max(float((end[n] - start[n]).abs().max()) for n in vision) < 1e-7
    for component in ("geometry", "connector", "language"):
        assert any(not torch.equal(end[names[id(p)]], start[names[id(p)]]) for p in parts[component])
    assert logged(output, "lr") == pytest.approx([3e-3, 3e-3])  # the log keeps the scheduled (unscaled) rate
    with pytest.raises(ValueError, match="components"):
        make_optimizer(model, config)


def test_lora_recipe_trains_only_adapters_and_saves_a_merged_model(tmp_path: Path) -> None:
    pytest.importorskip("peft")
    sections = {
        "model": {"config": "test-small", "freeze": ["vision", "geometry", "connector", "language"]},
        "train": {"steps": 2},
    }
    raw = {**tiny_config(**sections), "lora": {"target": "vision", "r": 4, "alpha": 8}}
    output = tmp_path / "lora"
    train(load_config(raw), output, datasets=[TinyDataset()])
    config = load_config(raw)
    start, end = initial_state(config), last_weights(output)
    adapters = [n for n in end if "lora_" in n]
    assert adapters and all(".vision." in n or n.startswith("backbone.vision") for n in adapters)
    assert any(not torch.equal(end[n], start[n]) for n in adapters if "lora_B" in n)
    for name in end:
        if "lora_" not in name:
            assert torch.equal(end[name], start[name]), name
    final = SpatialVLM.from_pretrained(output / "final")
    assert not any("lora" in n for n in final.state_dict())
    base = initial_state(load_config(tiny_config(**sections)))  # no LoRA: the weights before training
    merged_moved = [n for n, t in final.state_dict().items() if not torch.equal(t, base[n])]
    assert merged_moved and all(n.startswith("backbone.vision.blocks") for n in merged_moved)


def test_blank_inputs_ask_for_blanked_samples(tmp_path: Path) -> None:
    dataset = TinyDataset()
    run(tmp_path, "blank", dataset=dataset, train={"steps": 1}, data={"blank_inputs": True})
    assert dataset.blank_calls == 4


def test_schedule_and_sample_indices() -> None:
    config = load_config(tiny_config(train={"steps": 100}, optim={"lr": 1.0, "warmup_fraction": 0.05}))
    assert [learning_rate(s, config) for s in (0, 4, 5, 99)] == pytest.approx([0.2, 1.0, 1.0, 1.0])
    cosine = load_config(
        tiny_config(train={"steps": 100}, optim={"lr": 1.0, "warmup_fraction": 0.0, "schedule": "cosine"})
    )
    assert learning_rate(0, cosine) == 1.0 and learning_rate(50, cosine) == pytest.approx(0.5)
    # A step reads the same contiguous index range whatever world size and micro batch are.
    for world, micro in ((1, 8), (2, 4), (4, 1)):
        accum = 8 // (world * micro)
        got = {
            sample_index(3, m, r, j, accum, world, micro)
            for m in range(accum)
            for r in range(world)
            for j in range(micro)
        }
        assert got == set(range(24, 32))


def test_global_batch_must_divide(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="global_batch"):
        run(tmp_path, "bad", train={"steps": 1, "micro_batch": 3})


# -- distributed ------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Two processes started by torchrun, or by `accelerate launch --multi_gpu`, which starts them through
# torch.distributed.run with the same environment (on a machine without GPUs the ranks run on the CPU over
# gloo; accelerate's `--cpu` would start one process only, its multi-CPU mode needing MPI).
LAUNCHERS = {
    "torchrun": ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port"],
    "accelerate": [
        "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
    ],
}  # fmt: skip


def _torchrun(
    output: Path, strategy: str, steps: int, micro: int, global_batch: int, launcher: str = "torchrun"
) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(WORKER.parents[2]), env.get("PYTHONPATH", "")])
    command = [
        sys.executable, *LAUNCHERS[launcher], str(_free_port()),
        str(WORKER), str(output), strategy, str(steps), str(micro), str(global_batch),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize(
    ("strategy", "launcher"), [("ddp", "torchrun"), ("fsdp", "torchrun"), ("ddp", "accelerate")]
)
def test_two_processes_match_one(tmp_path: Path, strategy: str, launcher: str) -> None:
    single, _ = run(tmp_path, "single", train={"steps": 2, "micro_batch": 4}, log={"probe": PROBE_EXAMPLES})
    output = tmp_path / strategy
    _torchrun(output, strategy, steps=2, micro=1, global_batch=4, launcher=launcher)  # 2 ranks x 2 of 1
    state = json.loads((checkpoint_dirs(output)[-1] / "trainer_state.json").read_text())
    assert state["world_size"] == 2
    assert logged(output, "loss") == pytest.approx(logged(single, "loss"), rel=1e-5)
    # the probe ran on both ranks
    for one, two in zip(logged(single, "probe"), logged(output, "probe"), strict=True):
        assert [two["loss"], two["loss_swapped"]] == pytest.approx(
            [one["loss"], one["loss_swapped"]], rel=1e-4
        )
    assert [p.name for p in checkpoint_dirs(output)] == ["step-0000002"]
    a, b = last_weights(single), last_weights(output)
    assert set(a) == set(b)
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=1e-4, atol=1e-5, msg=name)
    SpatialVLM.from_pretrained(output / "final")


# -- config -----------------------------------------------------------------------------------------------


def test_config_round_trips_and_recipes_load() -> None:
    assert {"hispatial", "spatialllm_stage0", "spatialllm_stage1", "spatialllm_stage2"} <= set(recipe_names())
    hispatial = load_config("hispatial")
    assert (hispatial.optim.lr, hispatial.optim.weight_decay, hispatial.optim.warmup_fraction) == (
        2e-5,
        0.1,
        0.01,
    )
    assert (hispatial.optim.schedule, hispatial.optim.clip, hispatial.train.global_batch) == (
        "constant",
        1.0,
        256,
    )
    assert hispatial.train.precision == "bf16" and hispatial.model.freeze == ("vision",)
    assert hispatial.data.mixture.spatial_general_ratio == [7, 1]
    assert hispatial.data.mixture.task_weights == "hispatial"
    stage0, stage1, stage2 = (load_config(f"spatialllm_stage{i}") for i in range(3))
    assert stage0.lora is not None and stage0.lora.target == "vision"
    assert set(stage0.model.freeze) == {"vision", "geometry", "connector", "language"}
    assert set(stage1.model.freeze) == {"vision", "language"} and stage1.optim.lr == 1e-3
    assert stage2.model.freeze == ("vision",) and stage2.train.global_batch == 128
    assert {stage1.optim.schedule, stage2.optim.schedule} == {"cosine"}
    for config in (hispatial, stage0, stage1, stage2):
        assert TrainConfig.from_dict(config.to_dict()) == config
        assert "paper" in config.description


def test_extends_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "qa").mkdir()
    file = tmp_path / "mine.json"
    file.write_text(
        json.dumps(
            {
                "extends": "hispatial",
                "model": {"config": "test-small"},
                "data": {"sources": [{"path": "qa", "format": "engine", "scenes": "scenes.jsonl"}]},
                "train": {"steps": 5},
            }
        )
    )
    config = load_config(file, overrides=["train.micro_batch=2", "optim.schedule=cosine", "log.every=3"])
    assert config.model.config == "test-small" and config.model.freeze == ("vision",)  # merged, not replaced
    assert config.train.steps == 5 and config.train.global_batch == 256 and config.train.micro_batch == 2
    assert config.optim.schedule == "cosine" and config.log.every == 3
    assert config.data.sources[0].path == str(tmp_path / "qa")  # relative to the config file
    assert config.data.mixture.spatial_general_ratio == [7, 1]


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["train.stepz=3"], "train.stepz"),
        (["optimiser.lr=1"], "optimiser"),
        (["optim.schedule=linear"], "optim"),
        (['model.freeze=["eyes"]'], "model"),
        (["data.mixture.ratio=[1,1]"], "ratio"),
        (["lora.rank=4", "lora.target=vision"], "lora.rank"),
        (['optim.lr_scale={"eyes": 2}'], "optim"),
        (['optim.lr_scale={"vision": 0}'], "optim"),
        (["log.probe=-1"], "log"),
        (["log.probe=true"], "log"),
    ],
)
def test_config_errors_name_the_key(overrides: list[str], key: str) -> None:
    with pytest.raises(RecordError) as error:
        load_config("hispatial", overrides=overrides)
    assert key in str(error.value)


def test_unknown_recipe_and_bad_override() -> None:
    with pytest.raises(RecordError, match="recipes: hispatial"):
        load_config("no-such-recipe")
    with pytest.raises(RecordError, match="key=value"):
        load_config("hispatial", overrides=["train.steps"])
