"""engine/backends.py: the same jobs give the same results on every backend; Ray Data runs the generator,
the synthetic world and the export with byte-identical output (the issue's equivalence test)."""

from __future__ import annotations

import pytest

from spatialforge.engine.backends import Backend, run_jobs
from spatialforge.engine.generate import GenerateConfig, run_generate
from spatialforge.export.base import ExportOptions
from spatialforge.export.parquet import read_records
from spatialforge.export.run import run_export
from spatialforge.synth.run import run_synth
from spatialforge.synth.world import SynthConfig


def square(job: int) -> dict:
    return {"job": job, "square": job * job}


def fail_on_three(job: int) -> dict:
    if job == 3:
        raise RuntimeError("job 3 failed")
    return {"job": job}


def test_local_backends_return_results_in_job_order():
    jobs = list(range(7))
    expected = [{"job": j, "square": j * j} for j in jobs]
    assert run_jobs(square, jobs, Backend()) == expected
    assert run_jobs(square, jobs, Backend("local", 2)) == expected
    assert run_jobs(square, [], Backend("local", 2)) == []


def test_a_failing_job_is_re_raised():
    with pytest.raises(RuntimeError, match="job 3"):
        run_jobs(fail_on_three, list(range(5)), Backend("local", 2))


@pytest.mark.parametrize(
    "kwargs", [{"name": "spark"}, {"workers": 0}, {"cpus_per_task": 0}, {"cpus_per_task": -1}]
)
def test_bad_backend_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        Backend(**kwargs)


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_runs_jobs_like_the_local_backend(ray_session):
    jobs = list(range(5))
    assert run_jobs(square, jobs, Backend("ray", 2)) == run_jobs(square, jobs, Backend())
    with pytest.raises(Exception, match="job 3"):
        run_jobs(fail_on_three, jobs, Backend("ray", 2))


def test_synth_and_generate_on_ray_write_the_same_files(ray_session, tmp_path):
    config = SynthConfig(setting="tabletop", views=2, width=96, height=72)
    run_synth(tmp_path / "synth_local", 4, config, n_buckets=2)
    run_synth(tmp_path / "synth_ray", 4, config, n_buckets=2, backend=Backend("ray", 2))
    for sub in ("images", "depth", "masks"):
        local = sorted((tmp_path / "synth_local" / sub).rglob("*.*"))
        assert local and [p.read_bytes() for p in local] == [
            (tmp_path / "synth_ray" / p.relative_to(tmp_path / "synth_local")).read_bytes() for p in local
        ]
    scenes = tmp_path / "synth_local" / "scenes.jsonl"
    config = GenerateConfig(seed=11, max_qa_per_scene=12)
    a = run_generate(scenes, tmp_path / "local", config, n_buckets=4)
    b = run_generate(scenes, tmp_path / "ray", config, n_buckets=4, backend=Backend("ray", 2))
    assert a.records == b.records > 0
    assert (tmp_path / "local" / "data.jsonl").read_bytes() == (tmp_path / "ray" / "data.jsonl").read_bytes()
    # A run started locally resumes on Ray (the backend is not part of the config).
    (tmp_path / "local" / "buckets" / "bucket-00001.done.json").unlink()
    c = run_generate(scenes, tmp_path / "local", config, n_buckets=4, backend=Backend("ray", 2))
    assert c.buckets_resumed == 3
    assert (tmp_path / "local" / "data.jsonl").read_bytes() == (tmp_path / "ray" / "data.jsonl").read_bytes()
    # The export on Ray writes the same files as the local one.
    options = ExportOptions(writers=("llava", "spar", "webdataset", "parquet"), max_side=48)
    run_export(tmp_path / "ray", tmp_path / "export_local", options)
    run_export(tmp_path / "ray", tmp_path / "export_ray", options, backend=Backend("ray", 2))
    for path in sorted((tmp_path / "export_local").rglob("*")):
        if path.is_file() and path.suffix in (".jsonl", ".tar"):
            other = tmp_path / "export_ray" / path.relative_to(tmp_path / "export_local")
            local_bytes = path.read_bytes().replace(str(tmp_path / "export_local").encode(), b"<out>")
            assert local_bytes == other.read_bytes().replace(str(tmp_path / "export_ray").encode(), b"<out>")
    # Parquet pages are compressed, so the folder name cannot be set aside in bytes: compare the records.
    assert list(read_records(tmp_path / "export_local")) == list(read_records(tmp_path / "export_ray"))
