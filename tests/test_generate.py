"""Generation end to end: shards, manifest, validation, failures counted, resume, CLI errors."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from robotr1_data import cli
from robotr1_data.errors import UsageError
from robotr1_data.generate import GenerateConfig, GenerationError, generate
from robotr1_data.shards import ShardReader, read_manifest, validate_dir
from robotr1_data.tasks import registry
from robotr1_data.tasks.base import Task, Waypoint

PLUGIN_DIR = Path(__file__).parent / "fixtures" / "plugin_pkg"


def _gen(out, **kw):
    cfg = GenerateConfig(tasks=kw.pop("tasks", ["push_button"]), episodes=kw.pop("episodes", 2),
                         out=str(out), seed=kw.pop("seed", 3), cameras=kw.pop("cameras", ["front"]),
                         image_size=(64, 64), **kw)
    return generate(cfg, show_progress=False)


def _arrays(out):
    arrays = {}
    for shard in sorted(Path(out).rglob("*.h5")):
        with ShardReader(shard) as r:
            for ep in r.episodes:
                e = r.load(ep)
                arrays[(shard.name, ep)] = (e.joint_positions, e.gripper_pose, e.keypoints,
                                            e.images.get("front_rgb"))
    return arrays


def test_generate_writes_valid_shards_with_manifest(tmp_path):
    stats = _gen(tmp_path, tasks=["reach_target", "push_button"], episodes=3, episodes_per_shard=2)
    assert stats["reach_target"]["episodes"] == 3 and stats["push_button"]["episodes"] == 3
    manifest = read_manifest(tmp_path)
    assert sorted(e["path"] for e in manifest["shards"]) == [
        "push_button/shard-00000.h5", "push_button/shard-00001.h5",
        "reach_target/shard-00000.h5", "reach_target/shard-00001.h5"]
    assert validate_dir(tmp_path) == []
    with ShardReader(tmp_path / "push_button" / "shard-00000.h5") as r:
        assert r.config["tasks"] == ["reach_target", "push_button"] and r.config["seed"] == 3
        ep = r.load(r.episodes[0])
        assert ep.task == "push_button" and ep.success
        assert ep.images["front_rgb"].shape[1:] == (64, 64, 3)
        assert len(ep.planner_keypoints) == 2 and ep.keypoints[-1] == ep.length - 1
        assert r.attrs(r.episodes[1])["variation"] == 1  # variations cycle


def test_same_seed_same_data_and_resume_skips_complete_shards(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    _gen(a)
    _gen(b)
    A, B = _arrays(a), _arrays(b)
    assert A.keys() == B.keys()
    for k in A:
        for x, y in zip(A[k], B[k]):
            np.testing.assert_array_equal(x, y)
    before = (a / "push_button" / "shard-00000.h5").stat().st_mtime_ns
    stats = _gen(a)
    assert stats["push_button"]["episodes"] == 2, "a resumed run still reports the whole dataset"
    assert "resuming: 1 of 1 shards already complete" in capsys.readouterr().out
    assert (a / "push_button" / "shard-00000.h5").stat().st_mtime_ns == before
    # Another compression changes bytes, not content: the complete shard is kept.
    _gen(a, compression="gzip")
    assert "resuming: 1 of 1 shards already complete" in capsys.readouterr().out
    assert (a / "push_button" / "shard-00000.h5").stat().st_mtime_ns == before
    # Other content settings into the same --out: refused, the existing shard untouched.
    with pytest.raises(UsageError, match=r"shard-00000.h5 was made with other settings "
                                         r"\(seed 3 -> 4\); rerun with the original settings"):
        _gen(a, seed=4)
    assert (a / "push_button" / "shard-00000.h5").stat().st_mtime_ns == before


class _Unreachable(Task):
    name = "unreachable_test_task"

    @classmethod
    def build(cls, scene):
        pass

    def init_task(self):
        pass

    def init_episode(self, index):
        self.waypoints = [Waypoint((2.0, 0.0, 1.0))]  # 2 m away: beyond the Panda's reach
        return ["reach the moon"]

    def variation_count(self):
        return 1


def test_failures_are_counted_and_never_silently_short(tmp_path, monkeypatch, capsys):
    tasks = registry.all_tasks()
    tasks["unreachable_test_task"] = (_Unreachable, "test")
    monkeypatch.setattr(registry, "all_tasks", lambda refresh=False: tasks)
    with pytest.raises(GenerationError, match="1 shard\\(s\\) failed"):
        _gen(tmp_path, tasks=["unreachable_test_task"], episodes=1, cameras=[], max_attempts=3)
    err = capsys.readouterr().err
    assert err.count("expert failed: unreachable_test_task episode 0") == 3
    assert "ik_unreachable" in err
    assert not list(tmp_path.rglob("*.h5")), "a failed shard is not left behind"


@pytest.mark.parametrize("argv, needle", [
    (["generate", "--tasks", "push_buton", "--out", "{tmp}"], "did you mean 'push_button'"),
    (["generate", "--tasks", "push_button", "--out", "{tmp}", "--image-size", "0", "64"],
     "bad --image-size"),
    (["generate", "--tasks", "push_button", "--out", "{file}/sub"], "cannot write"),
    (["generate", "--tasks", "push_button", "--out", "{tmp}", "--cameras", "side"],
     "unknown camera"),
    (["validate", "{tmp}/missing"], "does not exist"),
])
def test_cli_errors_exit_2_with_one_line(tmp_path, capsys, argv, needle):
    afile = tmp_path / "afile"
    afile.write_text("x")
    argv = [a.format(tmp=tmp_path, file=afile) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_validate_cli_reports_corruption(tmp_path, capsys):
    _gen(tmp_path, episodes=1, cameras=[])
    assert cli.main(["validate", str(tmp_path)]) == 0
    shard = tmp_path / "push_button" / "shard-00000.h5"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert cli.main(["validate", str(tmp_path)]) == 1
    assert "sha256 differs from manifest.json" in capsys.readouterr().out


def _install_plugin(tmp_path, monkeypatch):
    """Make the fixture package importable with its entry point, as `pip install` would."""
    site = tmp_path / "site"
    shutil.copytree(PLUGIN_DIR / "robotr1_example_plugin", site / "robotr1_example_plugin")
    info = site / "robotr1_example_plugin-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: robotr1-example-plugin\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        "[robotr1.tasks]\nreach_high = robotr1_example_plugin.reach_high:ReachHigh\n")
    monkeypatch.syspath_prepend(str(site))
    registry.all_tasks(refresh=True)
    yield
    sys.modules.pop("robotr1_example_plugin.reach_high", None)
    sys.modules.pop("robotr1_example_plugin", None)
    # Only forget the plugin here: monkeypatch takes the site dir off sys.path after this runs,
    # so the next all_tasks() rescans without it (refreshing now would register it again).
    registry._cache.clear()


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    yield from _install_plugin(tmp_path, monkeypatch)


def test_plugin_task_is_listed_and_generates(plugin, tmp_path, capsys):
    assert cli.main(["list-tasks"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("reach_high"))
    assert "plugin (robotr1-example-plugin)" in line and "2" in line
    assert any(l.startswith("pick_up_cup") and "built-in" in l for l in out.splitlines())
    stats = _gen(tmp_path / "d", tasks=["reach_high"], episodes=2, cameras=[])
    assert stats["reach_high"]["episodes"] == 2
    assert validate_dir(tmp_path / "d") == []


def test_validate_flags_a_short_dataset(tmp_path):
    _gen(tmp_path, episodes=2, cameras=[], episodes_per_shard=1)
    assert validate_dir(tmp_path) == []
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["shards"] = manifest["shards"][:1]  # as if the second unit had failed
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "push_button" / "shard-00001.h5").unlink()
    problems = validate_dir(tmp_path)
    assert any("task push_button: 1 episodes listed, the generate command asked for 2" in p
               for p in problems), problems


def test_inspect_and_contact_sheet(tmp_path, capsys):
    _gen(tmp_path, episodes=1)
    shard = tmp_path / "push_button" / "shard-00000.h5"
    assert cli.main(["inspect", str(shard)]) == 0
    out = capsys.readouterr().out
    assert "push_button" in out and "front" in out
    png = tmp_path / "sheet.png"
    assert cli.main(["contact-sheet", str(tmp_path), "--out", str(png)]) == 0
    import cv2
    img = cv2.imread(str(png))
    assert img is not None and img.shape[0] >= 64 and img.shape[1] > 64 * 2


def test_uncompressed_shards_hold_the_same_arrays(tmp_path):
    import h5py

    _gen(tmp_path / "gz", episodes=1)
    _gen(tmp_path / "raw", episodes=1, compression=None)
    assert validate_dir(tmp_path / "raw") == []
    with h5py.File(tmp_path / "raw" / "push_button" / "shard-00000.h5") as f:
        rgb = f["episodes/000000/front_rgb"]
        assert rgb.compression is None and rgb.chunks == (1,) + rgb.shape[1:]
    assert _arrays(tmp_path / "gz").keys() == _arrays(tmp_path / "raw").keys()
    for a, b in zip(_arrays(tmp_path / "gz").values(), _arrays(tmp_path / "raw").values()):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
