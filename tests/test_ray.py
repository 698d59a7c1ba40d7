"""`--ray`: the same units as Ray tasks on a local Ray instance give the same shards, byte for
byte, as local processes; a rerun resumes."""

import os

import pytest

ray = pytest.importorskip("ray")

from robotr1_data.generate import GenerateConfig, generate  # noqa: E402
from robotr1_data.shards import read_manifest, validate_dir  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _cfg(out, **kw):
    return GenerateConfig(tasks=["reach_target", "push_button"], episodes=2, out=str(out), seed=5,
                          cameras=["front"], image_size=(32, 32), episodes_per_shard=1, **kw)


def _shas(out):
    return {e["path"]: e["sha256"] for e in read_manifest(out)["shards"]}


def test_ray_matches_local_processes_and_resumes(tmp_path, local_ray, capsys):
    stats = generate(_cfg(tmp_path / "ray", ray="auto"), show_progress=False)
    assert stats["reach_target"]["episodes"] == 2 and stats["push_button"]["episodes"] == 2
    assert validate_dir(tmp_path / "ray") == []
    generate(_cfg(tmp_path / "local"), show_progress=False)
    assert _shas(tmp_path / "ray") == _shas(tmp_path / "local")  # same bytes, any engine
    assert ray.is_initialized(), "a Ray instance the caller started is left running"

    (tmp_path / "ray" / "push_button" / "shard-00001.h5").unlink()
    capsys.readouterr()
    stats = generate(_cfg(tmp_path / "ray", ray="auto"), show_progress=False)
    assert "resuming: 3 of 4 shards already complete" in capsys.readouterr().out
    assert stats["push_button"]["episodes"] == 2  # the summary describes the whole dataset
    assert _shas(tmp_path / "ray") == _shas(tmp_path / "local")
