"""RLBench interop under attack and interruption: pickle bombs, resumable exports, partial
exports noticed on import, PerAct's per-episode descriptions, badly typed pickles."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from robotr1_data import cli
from robotr1_data.generate import GenerateConfig, generate
from robotr1_data.rlbench_io import safe_load, safe_loads


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("rec")
    generate(GenerateConfig(tasks=["push_button"], episodes=3, out=str(out), seed=2,
                            cameras=["front"], image_size=(16, 16)), show_progress=False)
    return out


def test_variation_layout_writes_descriptions_in_every_episode_folder(recorded, tmp_path):
    # PerAct's RLBench fork reads variation_descriptions.pkl from the episode folder.
    assert cli.main(["export-rlbench", str(recorded), "--out", str(tmp_path)]) == 0
    var_files = sorted(tmp_path.glob("push_button/variation*/variation_descriptions.pkl"))
    assert var_files, "the per-variation file stays"
    for vf in var_files:
        eps = sorted(vf.parent.glob("episodes/episode*"))
        assert eps
        for ep in eps:
            assert safe_load(ep / "variation_descriptions.pkl") == safe_load(vf)


def _export(recorded, out, *extra):
    return cli.main(["export-rlbench", str(recorded), "--out", str(out), *extra])


def _tree(root: Path):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_export_resumes_after_a_kill_and_import_refuses_a_partial_export(recorded, tmp_path,
                                                                         capsys):
    full = tmp_path / "full"
    assert _export(recorded, full) == 0
    # A killed run: the completeness record says incomplete, one episode is half written and
    # another never started.
    part = tmp_path / "part"
    assert _export(recorded, part) == 0
    import json
    rec = json.loads((part / "robotr1_export.json").read_text())
    rec["complete"] = False
    (part / "robotr1_export.json").write_text(json.dumps(rec))
    eps = sorted(part.rglob("episode*"))
    (eps[-1] / "low_dim_obs.pkl").unlink()  # killed before the pickle: the folder is partial
    for png in (eps[-1] / "front_rgb").glob("*.png"):
        png.write_bytes(b"half")
    capsys.readouterr()
    assert cli.main(["import-rlbench", str(part), "--out", str(tmp_path / "imp")]) == 2
    err = capsys.readouterr().err.strip()
    assert "partial export" in err and "rerun" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "imp" / "manifest.json").exists()

    assert _export(recorded, part) == 0, "a rerun continues, no 'already exists'"
    assert _tree(part) == _tree(full)
    assert cli.main(["import-rlbench", str(part), "--out", str(tmp_path / "imp")]) == 0


def test_export_refuses_an_out_holding_another_export(recorded, tmp_path, capsys):
    assert _export(recorded, tmp_path, "--layout", "all_variations") == 0
    capsys.readouterr()
    assert _export(recorded, tmp_path) == 2
    err = capsys.readouterr().err
    assert "another export" in err and "--layout" in err


def test_export_refuses_episode_folders_it_did_not_write(recorded, tmp_path, capsys):
    (tmp_path / "push_button" / "variation0" / "episodes" / "episode0").mkdir(parents=True)
    assert _export(recorded, tmp_path) == 2
    assert "already exists" in capsys.readouterr().err


def test_import_names_episodes_missing_from_a_complete_export(recorded, tmp_path, capsys):
    assert _export(recorded, tmp_path / "x") == 0
    victim = sorted((tmp_path / "x").rglob("episode*"))[0]
    import shutil
    shutil.rmtree(victim)
    assert cli.main(["import-rlbench", str(tmp_path / "x"), "--out", str(tmp_path / "i")]) == 2
    err = capsys.readouterr().err
    assert victim.relative_to(tmp_path / "x").as_posix() in err


# --- pickle bombs: the exact payloads of the issue, at sizes that fail fast ------------------
class _Call:
    """Pickles as ``func(*args)``: how an attacker spells a call in a pickle."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _obs_pickle(tmp_path, task_state, n_obs=2):
    """A low_dim_obs.pkl whose observations carry ``task_state`` as task_low_dim_state."""
    from robotr1_data.rlbench_io import Demo, Observation, dump_rlbench
    obs = [Observation(joint_positions=np.zeros(7), joint_velocities=np.zeros(7),
                       gripper_pose=np.array([0, 0, 0, 0, 0, 0, 1.0]), gripper_open=1.0,
                       gripper_joint_positions=np.zeros(2), task_low_dim_state=task_state,
                       misc={"variation_index": 0}) for _ in range(n_obs)]
    ep = tmp_path / "bomb" / "variation0" / "episodes" / "episode0"
    ep.mkdir(parents=True)
    dump_rlbench(Demo(obs), ep / "low_dim_obs.pkl")
    return tmp_path / "bomb", ep / "low_dim_obs.pkl"


@pytest.mark.parametrize("args", [
    ((5_000_000,), "f8", b"\0" * 8, 0, (0,)),   # zero-stride: 8 bytes claim 40 MB
    ((200_000_000,), "f8", b"\0" * 8, 0, (0,)),  # asks for 1.5 GiB
    ((10_000_000_000,), "u1"),                   # asks for 9.3 GiB, uninitialised
], ids=["zero-stride-5e6", "zero-stride-2e8", "ndarray-1e10"])
def test_ndarray_called_directly_is_refused(args, tmp_path, capsys):
    from robotr1_data.errors import UsageError
    data = pickle.dumps(_Call(np.ndarray, args), protocol=4)
    with pytest.raises(UsageError, match="numpy.ndarray"):
        safe_loads(data)
    root, _ = _obs_pickle(tmp_path, _Call(np.ndarray, args))
    assert cli.main(["import-rlbench", str(root), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "numpy.ndarray" in err and "Traceback" not in err


def test_numpy_reconstruction_with_mismatched_buffer_is_refused():
    import pickletools  # noqa: F401  (documents that the payload is hand-edited)
    good = pickle.dumps(np.arange(4, dtype=np.float64), protocol=2)
    assert np.array_equal(safe_loads(good), np.arange(4.0))
    # Claim 10**9 float64s with the same 32-byte buffer.
    bad = good.replace(b"K\x04\x85", b"J\x00\xca\x9a;\x85")
    assert bad != good
    from robotr1_data.errors import UsageError
    with pytest.raises(UsageError):
        safe_loads(bad)


def test_shared_reference_list_bomb_is_refused_in_one_line(tmp_path, capsys):
    from robotr1_data.errors import UsageError
    row = [0.0] * 1000
    bomb = [row] * 30_000  # 30M floats (240 MB as an array) from a ~30 KB pickle
    data = pickle.dumps(bomb, protocol=4)
    assert len(data) < 100_000
    with pytest.raises(UsageError, match="expand"):
        safe_loads(data)
    root, _ = _obs_pickle(tmp_path, bomb)
    assert cli.main(["import-rlbench", str(root), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("kind", ["self-reference", "deep-nest"])
def test_self_referencing_and_deep_nesting_refused_without_recursion_error(kind, tmp_path,
                                                                             capsys):
    from robotr1_data.errors import UsageError
    if kind == "self-reference":
        value = []
        value.append(value)
        data = pickle.dumps(value)
    else:
        n = 100_000
        data = b"\x80\x02" + b"(" * n + b"l" * n + b"."  # 100,000 nested lists
        value = None
    with pytest.raises(UsageError):
        safe_loads(data)
    if value is not None:
        root, _ = _obs_pickle(tmp_path, value)
        assert cli.main(["import-rlbench", str(root), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err


def _demo_pickle(tmp_path, demo_obj):
    from robotr1_data.rlbench_io import dump_rlbench
    ep = tmp_path / "typed" / "variation0" / "episodes" / "episode0"
    ep.mkdir(parents=True)
    dump_rlbench(demo_obj, ep / "low_dim_obs.pkl")
    return tmp_path / "typed"


def _typed_obs(**over):
    from robotr1_data.rlbench_io import Observation
    fields = dict(joint_positions=np.zeros(7), joint_velocities=np.zeros(7),
                  gripper_pose=np.array([0, 0, 0, 0, 0, 0, 1.0]), gripper_open=1.0,
                  gripper_joint_positions=np.zeros(2), task_low_dim_state=np.zeros(3),
                  misc={"variation_index": 0})
    fields.update(over)
    return Observation(**fields)


@pytest.mark.parametrize("case", ["joint_positions-str", "joint_positions-dict",
                                  "gripper_open-yes", "observations-int",
                                  "observations-missing", "object-array"])
def test_badly_typed_pickle_fields_are_one_line_errors(case, tmp_path, capsys):
    from robotr1_data.rlbench_io import Demo
    if case == "joint_positions-str":
        demo = Demo([_typed_obs(joint_positions="0,0,0,0,0,0,0")] * 2)
    elif case == "joint_positions-dict":
        demo = Demo([_typed_obs(joint_positions={"a": 1})] * 2)
    elif case == "gripper_open-yes":
        demo = Demo([_typed_obs(gripper_open="yes")] * 2)
    elif case == "observations-int":
        demo = Demo([])
        demo._observations = 3
    elif case == "observations-missing":
        demo = Demo([])
        del demo._observations
    else:
        arr = np.empty(2, dtype=object)
        arr[0], arr[1] = _typed_obs(), _typed_obs()
        demo = Demo([])
        demo._observations = arr
    root = _demo_pickle(tmp_path, demo)
    assert cli.main(["import-rlbench", str(root), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "low_dim_obs.pkl" in err or "episode0" in err


@pytest.mark.parametrize("field", ["task_low_dim_state", "sim_state"])
def test_low_dim_wider_than_an_observation_holds_is_refused(field, tmp_path, capsys):
    wide = np.zeros(100_000)  # within the unpickler's array bound, far above any low-dim state
    if field == "sim_state":
        from robotr1_data.rlbench_io import Demo
        demo = Demo([_typed_obs(misc={"variation_index": 0, "robotr1_sim_state": wide})] * 2)
    else:
        from robotr1_data.rlbench_io import Demo
        demo = Demo([_typed_obs(task_low_dim_state=wide)] * 2)
    root = _demo_pickle(tmp_path, demo)
    assert cli.main(["import-rlbench", str(root), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err and "100000" in err
