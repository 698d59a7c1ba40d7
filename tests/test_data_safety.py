"""Data-safety guarantees of generate/render/validate (issue: corruption blessed by a rerun,
short datasets that validate, disk full, deleting others' files, lost statistics)."""

import json
import os
from pathlib import Path

import pytest

from robotr1_data import cli
from robotr1_data.generate import GenerateConfig, generate
from robotr1_data.shards import read_manifest, validate_dir


def _gen(out, **kw):
    cfg = GenerateConfig(tasks=kw.pop("tasks", ["push_button"]), episodes=kw.pop("episodes", 1),
                         out=str(out), seed=kw.pop("seed", 3), cameras=kw.pop("cameras", []),
                         image_size=(32, 32), **kw)
    return generate(cfg, show_progress=False)


def test_generate_removes_only_its_own_temp_files(tmp_path):
    user = tmp_path / "push_button" / ".draft.2024.tmp"
    user.parent.mkdir(parents=True)
    user.write_text("the user's draft")
    top = tmp_path / ".notes.17.tmp"
    top.write_text("also the user's")
    _gen(tmp_path)
    assert user.read_text() == "the user's draft" and top.read_text() == "also the user's"


def test_generate_removes_temp_files_a_killed_run_left(tmp_path):
    from robotr1_data.shards import _spec as S
    left = S.temp_path(tmp_path / "push_button" / "shard-00000.h5")
    left.parent.mkdir(parents=True)
    left.write_bytes(b"half a shard")
    _gen(tmp_path)
    assert not left.exists()


def test_validate_without_manifest_says_incomplete_and_how_to_finish(tmp_path, capsys):
    _gen(tmp_path, episodes=2, episodes_per_shard=1)
    (tmp_path / "manifest.json").unlink()  # as if killed before the end
    (tmp_path / "push_button" / "shard-00001.h5").unlink()
    problems = validate_dir(tmp_path)
    assert any("incomplete" in p and "rerun the same command" in p for p in problems), problems
    line = next(p for p in problems if "incomplete" in p)
    assert "robotr1-data generate --tasks push_button --episodes 2" in line
    assert cli.main(["validate", str(tmp_path)]) == 1
    assert "incomplete" in capsys.readouterr().out


def test_validate_flags_fewer_episodes_than_asked_as_incomplete(tmp_path, capsys):
    _gen(tmp_path, episodes=2, episodes_per_shard=1)
    m = json.loads((tmp_path / "manifest.json").read_text())
    m["config"]["episodes"] = 5  # the command asked for more than the run finished
    (tmp_path / "manifest.json").write_text(json.dumps(m))
    assert cli.main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "incomplete" in out and "rerun the same command" in out


def _flip(path: Path, offset=None):
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_rerun_never_adopts_a_shard_whose_bytes_differ_from_the_manifest(tmp_path, capsys):
    _gen(tmp_path, episodes=1, cameras=["front"])
    shard = tmp_path / "push_button" / "shard-00000.h5"
    good = shard.read_bytes()
    _flip(shard)
    assert validate_dir(tmp_path), "the flip is visible to validate"
    capsys.readouterr()
    _gen(tmp_path, episodes=1, cameras=["front"])  # validate's advice
    out = capsys.readouterr().out
    assert "differ from manifest.json" in out and "shard-00000.h5" in out
    assert shard.read_bytes() == good, "the corrupt shard was regenerated, not re-blessed"
    assert validate_dir(tmp_path) == []


def test_render_rerun_rewrites_an_output_whose_bytes_differ_from_its_manifest(tmp_path, capsys):
    _gen(tmp_path / "src")
    argv = ["render", str(tmp_path / "src"), "--out", str(tmp_path / "r"), "--cameras", "front",
            "--image-size", "16", "16", "--quiet"]
    assert cli.main(argv) == 0
    shard = tmp_path / "r" / "push_button" / "shard-00000.h5"
    good = shard.read_bytes()
    _flip(shard)
    capsys.readouterr()
    assert cli.main(argv) == 0
    assert "differ from manifest.json" in capsys.readouterr().out
    assert shard.read_bytes() == good and validate_dir(tmp_path / "r") == []


def _flaky(monkeypatch, fail_every_episode_once=True, always=False):
    """The expert fails the first attempt at each episode ('collision'), or every attempt."""
    from robotr1_data.expert import DemoError
    from robotr1_data.backends.mujoco import demo_source
    real = demo_source.MujocoDemoSource.record
    seen = set()

    def record(self, variation, seed):
        if always or seed not in seen and len(seen) % 2 == 0:
            seen.add(seed)
            raise DemoError("collision", "test")
        seen.add(seed)
        return real(self, variation, seed)
    monkeypatch.setattr(demo_source.MujocoDemoSource, "record", record)


def _summary(out):
    return json.loads((Path(out) / "summary.json").read_text())


def test_each_shard_carries_its_statistics_and_summary_rebuilds_from_disk(tmp_path,
                                                                          monkeypatch):
    _flaky(monkeypatch)
    stats = _gen(tmp_path, episodes=2, episodes_per_shard=1)
    want = {k: stats["push_button"][k] for k in ("episodes", "attempts", "failures", "frames",
                                                 "keypoints")}
    assert want["failures"] == {"collision": 2} and want["attempts"] == 4
    # A kill before the end of a later run leaves no (or an empty) summary.json.
    (tmp_path / "summary.json").write_text("{}")
    again = _gen(tmp_path, episodes=2, episodes_per_shard=1)  # resumes every shard
    assert {k: again["push_button"][k] for k in want} == want
    assert _summary(tmp_path)["tasks"]["push_button"]["failures"] == {"collision": 2}


def test_a_unit_that_exhausts_max_attempts_is_counted(tmp_path, monkeypatch, capsys):
    from robotr1_data.generate import GenerationError
    _flaky(monkeypatch, always=True)
    with pytest.raises(GenerationError):
        _gen(tmp_path, episodes=1, max_attempts=3)
    t = _summary(tmp_path)["tasks"]["push_button"]
    assert t["failures"] == {"collision": 3} and t["attempts"] == 3 and t["episodes"] == 0
    with pytest.raises(GenerationError):  # the rerun retries, and still counts
        _gen(tmp_path, episodes=1, max_attempts=3)
    assert _summary(tmp_path)["tasks"]["push_button"]["failures"] == {"collision": 3}


@pytest.fixture
def tiny_fs(tmp_path):
    """A 1 MiB tmpfs (room for one 2-episode shard at 64x64, not two), unmounted afterwards."""
    import subprocess
    mnt = tmp_path / "fs"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}); needs root")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_during_generate_is_one_line_exit_2_and_a_rerun_completes(tiny_fs):
    import subprocess
    import sys
    out = tiny_fs / "d"
    cmd = [sys.executable, "-m", "robotr1_data.cli", "generate", "--tasks", "push_button",
           "--episodes", "4", "--episodes-per-shard", "2", "--cameras", "front",
           "--image-size", "64", "64", "--out", str(out), "--quiet"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2, (r.returncode, r.stderr[-3000:])
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err[-3000:]
    assert "no space left on device writing" in err and "shard-00001.h5" in err
    assert "free space and rerun the same command" in err
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert left == [".generate.lock", "push_button/shard-00000.h5"], left  # no partial file
    subprocess.run(["mount", "-o", "remount,size=8m", str(tiny_fs)], check=True)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert validate_dir(out) == []


def test_disk_full_writing_the_manifest_is_one_line(tmp_path, monkeypatch):
    import errno
    from robotr1_data.errors import UsageError
    from robotr1_data import files
    from robotr1_data.shards import _spec as S

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(UsageError, match="no space left on device writing .*manifest.json; free "
                                         "space and rerun the same command"):
        S.atomic_write_text(tmp_path / "manifest.json", "{}")
    assert list(tmp_path.iterdir()) == []


def test_rerun_without_manifest_rewrites_a_shard_whose_content_fails_its_digest(tmp_path,
                                                                                 capsys):
    import h5py
    _gen(tmp_path, episodes=1, cameras=["front"])
    shard = tmp_path / "push_button" / "shard-00000.h5"
    good = shard.read_bytes()
    (tmp_path / "manifest.json").unlink()  # killed before the manifest: nothing to compare with
    with h5py.File(shard, "r") as f:
        off = f["episodes/000000/front_camera_far"].id.get_offset()
    _flip(shard, off + 2)
    capsys.readouterr()
    _gen(tmp_path, episodes=1, cameras=["front"])
    assert "differs from the digests" in capsys.readouterr().out
    assert shard.read_bytes() == good and validate_dir(tmp_path, full=True) == []
