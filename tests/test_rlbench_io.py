"""RLBench interop: import both dataset_generator layouts written the way RLBench writes them,
refuse malicious pickles, export loadable by RLBench's own classes, and round-trip arrays.

The fixtures are written in a subprocess by the fake `rlbench` package in tests/fake_rlbench
(RLBench's class paths `rlbench.backend.observation.Observation`, `rlbench.demo.Demo`) and plain
`pickle` + PIL, with the depth and mask encodings coded here independently of robotr1's codec.
"""

import dataclasses
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robotr1_data import cli
from robotr1_data.generate import GenerateConfig, generate
from robotr1_data.rlbench_io import UnsafePickleError, safe_load, safe_loads
from robotr1_data.rlbench_io.importer import import_rlbench
from robotr1_data.shards import ShardReader, validate_dir
from robotr1_data.shards._spec import decode_depth, encode_depth

FAKE_RLBENCH = Path(__file__).parent / "fake_rlbench"  # the same fake the backend tests use

# Writes an RLBench dataset as dataset_generator does; argv: root layout
WRITER = """
import os, pickle, sys
import numpy as np
from PIL import Image
from rlbench.backend.observation import Observation
from rlbench.demo import Demo

root, layout = sys.argv[1], sys.argv[2]
CAMS = ["front", "wrist"]
T, H, W, NEAR, FAR = 12, 16, 20, 0.01, 4.5
S = 2 ** 24 - 1

def depth_png(d01):   # RLBench utils.float_array_to_rgb_image, red the high byte
    q = np.floor(d01 * S + 0.5).astype(np.uint32)
    return Image.fromarray(np.stack([q // 65536, (q // 256) % 256, q % 256], -1).astype(np.uint8))

def mask_png(handles):  # RGB-coded handles: R + 256 G + 65536 B
    h = handles.astype(np.int64)
    return Image.fromarray(np.stack([h % 256, (h // 256) % 256, h // 65536], -1).astype(np.uint8))

for v in (0, 1):
    for e in range(2):
        rng = np.random.default_rng(100 * v + e)
        if layout == "variation":
            vdir = os.path.join(root, "reach_target", "variation%d" % v)
            edir = os.path.join(vdir, "episodes", "episode%d" % e)
        else:
            vdir = os.path.join(root, "reach_target", "all_variations")
            edir = os.path.join(vdir, "episodes", "episode%d" % (2 * v + e))
        os.makedirs(edir)
        descs = ["reach the %s target" % ("red", "blue")[v], "touch the %s ball" % ("red", "blue")[v]]
        if layout == "variation":
            with open(os.path.join(vdir, "variation_descriptions.pkl"), "wb") as f:
                pickle.dump(descs, f)
        else:
            with open(os.path.join(edir, "variation_number.pkl"), "wb") as f:
                pickle.dump(v, f)
            with open(os.path.join(edir, "variation_descriptions.pkl"), "wb") as f:
                pickle.dump(descs, f)
        obs = []
        jv = rng.normal(size=(T, 7))
        jv[5:7] = 0.0  # a stop: keypoints come from the rule
        truth = {"rgb": {}, "depth": {}, "mask": {}}
        for i in range(T):
            misc = {"variation_index": v}
            for cam in CAMS:
                rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
                d01 = rng.random((H, W))
                handles = rng.integers(0, 300000, (H, W))
                for kind, img in (("rgb", Image.fromarray(rgb)), ("depth", depth_png(d01)),
                                  ("mask", mask_png(handles))):
                    os.makedirs(os.path.join(edir, "%s_%s" % (cam, kind)), exist_ok=True)
                    img.save(os.path.join(edir, "%s_%s" % (cam, kind), "%d.png" % i))
                truth["rgb"][(cam, i)] = rgb
                truth["depth"][(cam, i)] = NEAR + d01 * (FAR - NEAR)
                truth["mask"][(cam, i)] = handles
                ext = np.eye(4); ext[:3, 3] = [0.1 * i, 0.0, 1.5]
                misc["%s_camera_extrinsics" % cam] = ext
                misc["%s_camera_intrinsics" % cam] = np.array([[-20.0, 0, W / 2], [0, -20.0, H / 2], [0, 0, 1]])
                misc["%s_camera_near" % cam] = NEAR
                misc["%s_camera_far" % cam] = FAR
            misc["joint_position_action"] = rng.normal(size=8)
            q = rng.normal(size=4); q /= np.linalg.norm(q)
            kw = {"%s_%s" % (c, k): None for c in ["left_shoulder", "right_shoulder", "overhead", "wrist", "front"]
                  for k in ["rgb", "depth", "mask", "point_cloud"]}
            obs.append(Observation(
                joint_velocities=jv[i], joint_positions=rng.normal(size=7),
                joint_forces=rng.normal(size=7), gripper_open=1.0 if i < 8 else 0.0,
                gripper_pose=np.concatenate([rng.normal(size=3), q]), gripper_matrix=np.eye(4),
                gripper_joint_positions=np.array([0.04, 0.04]), gripper_touch_forces=np.zeros(6),
                task_low_dim_state=rng.normal(size=6), ignore_collisions=np.array(float(i % 2)),
                misc=misc, **kw))
        demo = Demo(obs, random_seed=np.random.get_state())
        with open(os.path.join(edir, "low_dim_obs.pkl"), "wb") as f:
            pickle.dump(demo, f)
        with open(os.path.join(edir, "truth.npz"), "wb") as f:
            np.savez(f, **{"%s|%s|%d" % (k, c, i): a for k, d in truth.items() for (c, i), a in d.items()})
"""

# Loads an exported folder with RLBench's classes and plain pickle; argv: episode dir
READER = """
import pickle, sys, numpy as np
from PIL import Image
import rlbench.demo, rlbench.backend.observation as o
edir = sys.argv[1]
with open(edir + "/low_dim_obs.pkl", "rb") as f:
    demo = pickle.load(f)
assert type(demo) is rlbench.demo.Demo and type(demo[0]) is o.Observation, type(demo)
ob = demo[3]
near, far = ob.misc["front_camera_near"], ob.misc["front_camera_far"]
img = np.asarray(Image.open(edir + "/front_depth/3.png")).astype(np.int64)
d = near + (img[..., 0] * 65536 + img[..., 1] * 256 + img[..., 2]) / (2 ** 24 - 1) * (far - near)
np.save(sys.argv[2], d)
print(len(demo), ob.gripper_pose.tolist(), ob.gripper_open, ob.front_rgb)
"""


@pytest.fixture(scope="module")
def fake_rlbench():
    return FAKE_RLBENCH


def _run(fake, script, *args):
    env = dict(os.environ, PYTHONPATH=str(fake), OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", script, *map(str, args)], env=env,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.fixture(scope="module")
def rlbench_dirs(fake_rlbench, tmp_path_factory):
    out = {}
    for layout in ("variation", "all_variations"):
        root = tmp_path_factory.mktemp(f"rlb_{layout}")
        _run(fake_rlbench, WRITER, root, layout)
        out[layout] = root
    return out


@pytest.mark.parametrize("layout", ["variation", "all_variations"])
def test_import_both_layouts(rlbench_dirs, tmp_path, layout, capsys):
    root = rlbench_dirs[layout]
    assert cli.main(["import-rlbench", str(root), "--out", str(tmp_path / "s"),
                     "--episodes-per-shard", "3"]) == 0
    assert f"imported 4 episodes ({layout} layout)" in capsys.readouterr().out
    assert validate_dir(tmp_path / "s") == []
    shards = sorted((tmp_path / "s" / "reach_target").glob("*.h5"))
    assert [p.name for p in shards] == ["shard-00000.h5", "shard-00001.h5"]
    eps = []
    for shard in shards:
        with ShardReader(shard) as r:
            eps += [r.load(n) for n in r.episodes]
    assert [e.variation for e in eps] == [0, 0, 1, 1]
    assert eps[2].descriptions == ["reach the blue target", "touch the blue ball"]
    if layout == "variation":
        dirs = [root / "reach_target" / f"variation{v}" / "episodes" / f"episode{e}"
                for v in (0, 1) for e in (0, 1)]
    else:
        dirs = [root / "reach_target" / "all_variations" / "episodes" / f"episode{e}"
                for e in range(4)]
    for ep, d in zip(eps, dirs):
        truth = np.load(d / "truth.npz")
        demo = safe_load(d / "low_dim_obs.pkl")
        assert ep.length == 12 and ep.image_frames.tolist() == list(range(12))
        np.testing.assert_array_equal(ep.joint_positions, [o.joint_positions for o in demo])
        np.testing.assert_array_equal(ep.gripper_pose, [o.gripper_pose for o in demo])
        np.testing.assert_array_equal(ep.gripper_open, [o.gripper_open for o in demo])
        np.testing.assert_array_equal(ep.task_low_dim_state, [o.task_low_dim_state for o in demo])
        assert ep.sim_state.shape == (12, 0)
        from robotr1_data.keypoints import discover_keypoints
        np.testing.assert_array_equal(ep.keypoints,
                                      discover_keypoints(ep.joint_velocities, ep.gripper_open))
        assert 8 in ep.keypoints.tolist()  # the gripper closes at frame 8
        for cam in ("front", "wrist"):
            for i in (0, 7, 11):
                np.testing.assert_array_equal(ep.images[f"{cam}_rgb"][i], truth[f"rgb|{cam}|{i}"])
                np.testing.assert_array_equal(ep.images[f"{cam}_mask"][i], truth[f"mask|{cam}|{i}"])
                # depth in metres, within one step of the 24-bit encoding plus half a step of
                # the shard's fixed-point depth
                np.testing.assert_allclose(ep.images[f"{cam}_depth"][i], truth[f"depth|{cam}|{i}"],
                                           atol=(4.5 - 0.01) / (2 ** 24 - 1) + 2 ** -17 + 1e-6)
            assert ep.camera_near_far[cam] == (0.01, 4.5)
            assert ep.camera_extrinsics[cam].shape == (12, 4, 4)
            assert ep.camera_extrinsics[cam][5][0, 3] == pytest.approx(0.5)
            assert ep.camera_intrinsics[cam][0, 0] == -20.0
        assert ep.extra["rlbench"]["ignore_collisions"][:3] == [0.0, 1.0, 0.0]


def test_import_needs_no_rlbench_installed():
    code = ("import sys; from robotr1_data.rlbench_io import importer; "
            "assert 'rlbench' not in sys.modules and 'pyrep' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


class _Shell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


def test_malicious_pickles_are_refused_naming_the_global(tmp_path, rlbench_dirs, capsys):
    marker = tmp_path / "pwned"
    data = pickle.dumps([_Shell(marker)])
    with pytest.raises(UnsafePickleError, match=r"'posix\.system'|'nt\.system'"):
        safe_loads(data, "evil.pkl")
    assert not marker.exists()
    with pytest.raises(UnsafePickleError, match=r"'builtins\.eval'"):
        safe_loads(pickle.dumps(_Eval()))
    with pytest.raises(UnsafePickleError, match=r"'subprocess\.Popen'"):
        safe_loads(b"\x80\x04csubprocess\nPopen\n(S'id'\ntR.")
    # Inside a real-looking dataset: the CLI refuses with one line and exit code 2.
    import shutil
    root = tmp_path / "rlb"
    shutil.copytree(rlbench_dirs["variation"], root)
    victim = root / "reach_target" / "variation1" / "episodes" / "episode1" / "low_dim_obs.pkl"
    victim.write_bytes(data)
    assert cli.main(["import-rlbench", str(root), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert "refusing to unpickle" in err and "system'" in err and len(err.splitlines()) == 1
    assert not marker.exists()


def test_allow_list_loads_numpy_and_rlbench_classes():
    from robotr1_data.rlbench_io import Demo, Observation
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    for proto in (2, 3, 4, 5):
        obj = safe_loads(pickle.dumps({"a": arr, "s": np.float64(2.5), "b": b"xy"}, protocol=proto))
        np.testing.assert_array_equal(obj["a"], arr)
        assert obj["s"] == 2.5 and obj["b"] == b"xy"
    d = Demo([Observation(gripper_open=1.0, misc={})])
    assert d[0].gripper_open == 1.0 and len(d) == 1


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("rec")
    generate(GenerateConfig(tasks=["push_button"], episodes=2, out=str(out), seed=2,
                            cameras=["front", "wrist"], image_size=(32, 32)), show_progress=False)
    return out


def _assert_same(x, y):
    for f in dataclasses.fields(x):
        a, b = getattr(x, f.name), getattr(y, f.name)
        if f.name == "images":
            assert sorted(a) == sorted(b)
            for k in a:
                want = a[k]
                if k.endswith("_depth"):
                    # Exact too: RLBench's 24-bit step over (far - near) is finer than the
                    # shard's fixed-point step, so import rounds each exported value back to
                    # its grid point. Only depth beyond the far plane changes (RLBench clips).
                    near, far = x.camera_near_far[k[:-6]]
                    want = decode_depth(encode_depth(np.clip(want, near, far)))
                assert want.dtype == b[k].dtype
                np.testing.assert_array_equal(b[k], want, err_msg=k)
        elif f.name in ("camera_intrinsics", "camera_extrinsics"):
            assert a.keys() == b.keys()
            for k in a:
                np.testing.assert_array_equal(a[k], b[k])
        elif isinstance(a, np.ndarray):
            assert a.dtype == b.dtype, f.name
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        else:
            assert a == b, f.name


@pytest.mark.parametrize("layout", ["variation", "all_variations"])
def test_round_trip_import_export_preserves_arrays(recorded, fake_rlbench, tmp_path, layout,
                                                   capsys):
    rlb = tmp_path / "rlb"
    assert cli.main(["export-rlbench", str(recorded), "--out", str(rlb), "--layout", layout]) == 0
    assert "exported 2 episodes" in capsys.readouterr().out
    assert cli.main(["import-rlbench", str(rlb), "--out", str(tmp_path / "back")]) == 0
    assert validate_dir(tmp_path / "back") == []
    with ShardReader(recorded / "push_button" / "shard-00000.h5") as r, \
            ShardReader(tmp_path / "back" / "push_button" / "shard-00000.h5") as b:
        assert len(b.episodes) == 2
        for n in range(2):
            _assert_same(r.load(n), b.load(n))

    # RLBench's own classes load the export with plain pickle; its depth decoding gives metres.
    folder = "variation0" if layout == "variation" else "all_variations"
    ep_dir = rlb / "push_button" / folder / "episodes" / "episode0"  # recorded episode 0
    out = _run(fake_rlbench, READER, ep_dir, tmp_path / "d.npy")
    with ShardReader(recorded / "push_button" / "shard-00000.h5") as r:
        e = r.load(0)
    assert out.split()[0] == str(e.length) and out.strip().endswith("None")
    near, far = e.camera_near_far["front"]
    np.testing.assert_allclose(np.load(tmp_path / "d.npy"),
                               np.clip(e.images["front_depth"][3], near, far),
                               atol=(far - near) / (2 ** 24 - 1) + 1e-6)

    # export(import(export(x))) writes the same pickles.
    rlb2 = tmp_path / "rlb2"
    assert cli.main(["export-rlbench", str(tmp_path / "back"), "--out", str(rlb2), "--layout",
                     layout]) == 0
    for p in rlb.rglob("*.pkl"):
        assert (rlb2 / p.relative_to(rlb)).read_bytes() == p.read_bytes(), p


def test_export_rerun_is_a_no_op_and_other_data_is_refused(recorded, tmp_path):
    assert cli.main(["export-rlbench", str(recorded), "--out", str(tmp_path)]) == 0
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert cli.main(["export-rlbench", str(recorded), "--out", str(tmp_path)]) == 0  # resumes
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert cli.main(["export-rlbench", str(recorded), "--out", str(tmp_path), "--no-sim-state"]) == 2


def test_the_camera_names_are_written_once():
    """RLBench's five camera names live in episode.py; every other module imports them, so no
    second list can drift (tasks may name a camera they use, so they are not scanned)."""
    import re

    import robotr1_data
    from robotr1_data.episode import CAMERAS, RLBENCH_CAMERAS
    from robotr1_data.rlbench_io.classes import OBSERVATION_FIELDS

    assert sorted(CAMERAS) == sorted(RLBENCH_CAMERAS) and CAMERAS[0] == "front"
    assert [f[: -len("_rgb")] for f in OBSERVATION_FIELDS if f.endswith("_rgb")] == \
        list(RLBENCH_CAMERAS)
    root = Path(robotr1_data.__file__).parent
    spelled = [str(p.relative_to(root)) for p in root.rglob("*.py")
               if "tasks" not in p.relative_to(root).parts
               and re.search(r"[\"']right_shoulder[\"']", p.read_text(encoding="utf-8"))]
    assert spelled == ["episode.py"], spelled
