"""The RLBench backend against a fake `rlbench` + `pyrep` (tests/fake_rlbench).

CoppeliaSim cannot be installed here: these are contract tests of our side (task names, the
import guard, Observation -> shard fields, recording through `generate`, closed-loop execution,
one simulator per process) against a fake that mirrors RLBench's public API. The live path was
not run against CoppeliaSim.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from robotr1_data import cli
from robotr1_data.errors import UsageError
from robotr1_data.generate import GenerateConfig, GenerationError, generate
from robotr1_data.shards import ShardReader, validate_dir
from robotr1_data.backends import get_backend
from robotr1_data.backends.rlbench import backend as rlb_backend
from robotr1_data.backends.rlbench import observations as O
from robotr1_data.backends.rlbench.names import (BUILTIN_TO_RLBENCH, class_to_file, file_to_class,
                                                 resolve_task_class, rlbench_class_name)

FAKE = Path(__file__).parent / "fake_rlbench"
INSTALL_WORDS = ("CoppeliaSim 4.1", "COPPELIASIM_ROOT", "LD_LIBRARY_PATH",
                 "QT_QPA_PLATFORM_PLUGIN_PATH", "xvfb-run", "pip install")


def _purge_fake_modules():
    for name in list(sys.modules):
        if name in ("rlbench", "pyrep") or name.startswith(("rlbench.", "pyrep.")):
            del sys.modules[name]


@pytest.fixture
def fake(monkeypatch):
    """The fake RLBench importable, and a fresh 'process' simulator slot for this test."""
    _purge_fake_modules()
    monkeypatch.syspath_prepend(str(FAKE))
    monkeypatch.setattr(rlb_backend, "_SIMULATOR", rlb_backend._ProcessSimulator())
    yield
    rlb_backend._SIMULATOR.shutdown()
    _purge_fake_modules()


# --- import guard -----------------------------------------------------------------------------

def test_missing_pyrep_is_one_usage_error_that_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyrep", None)  # as if PyRep were not installed
    with pytest.raises(UsageError) as err:
        get_backend("rlbench").demo_source("pick_up_cup", cameras=["front"])
    msg = str(err.value)
    for word in INSTALL_WORDS:
        assert word in msg, word
    assert "pyrep" in msg and "Traceback" not in msg


def test_rlbench_without_pyrep_names_pyrep(monkeypatch, fake):
    monkeypatch.setitem(sys.modules, "pyrep", None)
    with pytest.raises(UsageError, match="'pyrep' could not be imported"):
        get_backend("rlbench").demo_source("pick_up_cup")


def test_cli_generate_without_pyrep_exits_2_with_the_message(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "pyrep", None)
    code = cli.main(["generate", "--backend", "rlbench", "--tasks", "pick_up_cup",
                     "--episodes", "1", "--out", str(tmp_path), "--cameras", "none", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("error:") == 1 and "Traceback" not in err
    for word in INSTALL_WORDS:
        assert word in err, word


# --- task names -------------------------------------------------------------------------------

def test_builtin_names_map_to_rlbench_classes():
    assert rlbench_class_name("pick_up_cup") == "PickUpCup"
    assert rlbench_class_name("push_button") == "PushButton"
    assert rlbench_class_name("reach_target") == "ReachTarget"
    assert rlbench_class_name("put_rubbish_in_bin") == "PutRubbishInBin"
    assert rlbench_class_name("phone_on_base") == "PhoneOnBase"
    assert rlbench_class_name("take_lid_off_saucepan") == "TakeLidOffSaucepan"
    assert rlbench_class_name("open_drawer") == "OpenDrawer"
    assert rlbench_class_name("CloseJar") == "CloseJar"  # RLBench class names pass through
    for ours, theirs in BUILTIN_TO_RLBENCH.items():
        assert class_to_file(theirs) == ours and file_to_class(ours) == theirs


def test_task_lookup_by_rlbench_name_and_unknown_name(fake):
    for name in ("pick_up_cup", "PickUpCup"):
        cls = resolve_task_class(name)
        assert cls.__name__ == "PickUpCup" and cls.__module__ == "rlbench.tasks.pick_up_cup"
    assert resolve_task_class("stack_blocks").__name__ == "StackBlocks"
    with pytest.raises(UsageError, match="unknown RLBench task 'pick_cup'; did you mean "
                                         "'pick_up_cup'"):
        resolve_task_class("pick_cup")
    with pytest.raises(UsageError, match="unknown RLBench task"):
        get_backend("rlbench").demo_source("no_such_task_at_all")


# --- observation mapping ----------------------------------------------------------------------

def test_observation_maps_to_our_fields_with_camera_params_and_metric_depth(fake):
    sim = rlb_backend.RLBenchSim("pick_up_cup", cameras=["front", "wrist"], image_size=(48, 64))
    try:
        descriptions = sim.reset(0, np.random.default_rng(0))
        assert descriptions[0] == "pick up the red cup"
        raw = sim._obs
        low = sim.observe()
        # same names as RLBench's Observation, our shapes and dtypes
        for field in ("joint_positions", "joint_velocities", "gripper_pose",
                      "gripper_joint_positions", "task_low_dim_state"):
            np.testing.assert_allclose(low[field], np.asarray(getattr(raw, field)).ravel())
        assert low["joint_positions"].shape == (7,) and low["gripper_pose"].shape == (7,)
        assert low["gripper_open"] == raw.gripper_open == 1.0
        assert low["sim_state"].shape == (7 + 2 + 7 + low["task_low_dim_state"].size,)

        params = sim.camera_parameters()
        for cam in ("front", "wrist"):
            for key in ("intrinsics", "extrinsics", "near", "far"):
                np.testing.assert_allclose(params[cam][key], raw.misc[f"{cam}_camera_{key}"])
        assert params["front"]["intrinsics"][0, 0] < 0  # RLBench convention kept

        images = sim.render()
        assert images["front_rgb"].shape == (48, 64, 3) and images["front_rgb"].dtype == np.uint8
        depth = images["front_depth"]
        assert depth.dtype == np.float32 and depth.shape == (48, 64)
        near, far = params["front"]["near"], params["front"]["far"]
        np.testing.assert_allclose(depth, near + raw.front_depth * (far - near), rtol=1e-5)
        # Metres, checked geometrically: table pixels back-project onto the table plane.
        names = sim.mask_names()
        mask = images["front_mask"]
        table = mask == names.index("diningTable_visible")
        assert table.sum() > 100 and "cup1" in names
        k, pose = params["front"]["intrinsics"], params["front"]["extrinsics"]
        v, u = np.nonzero(table)
        z = depth[table].astype(np.float64)
        cam_pts = np.stack([(k[0, 2] - u) / -k[0, 0] * z, (k[1, 2] - v) / -k[1, 1] * z, z], -1)
        world = cam_pts @ pose[:3, :3].T + pose[:3, 3]
        np.testing.assert_allclose(world[:, 2], 0.752, atol=1e-4)
    finally:
        sim.close()


def test_depth_conversion_and_mask_ids_units():
    d = np.array([[0.0, 0.5, 1.0]], np.float32)
    np.testing.assert_allclose(O.depth_to_metres(d, 0.01, 3.01, in_meters=False),
                               [[0.01, 1.51, 3.01]], rtol=1e-6)
    np.testing.assert_allclose(O.depth_to_metres(d, 0.01, 3.01, in_meters=True), d)
    names = {103: "cup1", 250: "table"}
    ids = O.MaskIds(lambda h: names[h])  # unknown handles raise -> background
    out = ids(np.array([[250, 103], [0, 103]]))
    # ids follow handle order; a handle that names no object (the background) is -1
    assert out.tolist() == [[1, 0], [-1, 0]] and ids.names == ["cup1", "table"]
    coded = np.zeros((1, 2, 3), np.uint8)
    coded[0, 1] = (3, 1, 0)  # handle 3 + 256
    assert O.handles_from_rgb(coded).tolist() == [[0, 259]]
    # a live RLBench returns the RGB-coded mask as floats in 0..1: same handles
    assert O.handles_from_rgb(coded / 255.0).tolist() == [[0, 259]]
    # one depth codec: the live decoder and the dataset PNG decoder agree
    from robotr1_data.rlbench_io import codec as C
    png = C.depth_to_png(np.array([[0.01, 1.51, 3.01]]), 0.01, 3.01)
    np.testing.assert_array_equal(O.depth_to_metres(C.rgb24_to_float(png), 0.01, 3.01, False),
                                  C.depth_from_png(png, 0.01, 3.01))


# --- recording ----------------------------------------------------------------------------------

def _arrays(out):
    res = {}
    for shard in sorted(Path(out).rglob("*.h5")):
        with ShardReader(shard) as r:
            for ref in r.episodes:
                e = r.load(ref)
                res[(shard.name, ref)] = (e.gripper_pose, e.keypoints, e.images["front_rgb"])
    return res


def test_cli_generate_backend_rlbench_writes_valid_shards(fake, tmp_path):
    out = tmp_path / "a"
    code = cli.main(["generate", "--backend", "rlbench", "--tasks", "pick_up_cup", "push_button",
                     "--episodes", "2", "--out", str(out), "--cameras", "front", "wrist",
                     "--image-size", "48", "48", "--image-every", "4", "--seed", "7", "--quiet"])
    assert code == 0
    assert validate_dir(out, full=True) == []
    with ShardReader(out / "pick_up_cup" / "shard-00000.h5") as r:
        assert r.config["backend"] == "rlbench"
        ep = r.load(r.episodes[0])
        assert ep.task == "pick_up_cup" and ep.success
        assert ep.descriptions[0] == "pick up the red cup"
        assert ep.extra["backend"] == "rlbench" and ep.extra["rlbench_task"] == "PickUpCup"
        assert ep.images["front_rgb"].shape[1:] == (48, 48, 3)
        assert ep.camera_extrinsics["wrist"].shape == (len(ep.image_frames), 4, 4)
        assert not np.allclose(ep.camera_extrinsics["wrist"][0], ep.camera_extrinsics["wrist"][-1])
        assert set(ep.keypoints.tolist()) <= set(ep.image_frames.tolist())
        assert ep.keypoints[-1] == ep.length - 1
        # the gripper closes on the cup: a keypoint at the change, as the ARM rule says
        change = int(np.flatnonzero(np.diff(ep.gripper_open))[0]) + 1
        assert change in ep.keypoints.tolist()
        assert "cup1" in ep.mask_names
        assert r.attrs(r.episodes[1])["variation"] == 1  # variations cycle as for MuJoCo
    # same command, same data (RLBench's global RNG is seeded per attempt)
    b = tmp_path / "b"
    generate(GenerateConfig(tasks=["pick_up_cup", "push_button"], episodes=2, out=str(b), seed=7,
                            cameras=["front", "wrist"], image_size=(48, 48), image_every=4,
                            backend="rlbench"), show_progress=False)
    A, B = _arrays(out), _arrays(b)
    assert A.keys() == B.keys()
    for key in A:
        for x, y in zip(A[key], B[key]):
            np.testing.assert_array_equal(x, y)


def test_failed_demos_are_counted_as_they_happen(fake, tmp_path, capsys, monkeypatch):
    import rlbench.backend.task as fake_task
    monkeypatch.setattr(fake_task.Task, "fail_probability", 1.0)  # every demo is unsuccessful
    cfg = GenerateConfig(tasks=["pick_up_cup"], episodes=1, out=str(tmp_path), cameras=[],
                         max_attempts=2, backend="rlbench")
    with pytest.raises(GenerationError, match="2 attempts failed"):
        generate(cfg, show_progress=False)
    err = capsys.readouterr().err
    assert err.count("expert failed: pick_up_cup episode 0") == 2
    assert "rlbench_not_successful: Error in task pick_up_cup. Demo was completed, but was not " \
           "successful." in err


# --- closed-loop evaluation ---------------------------------------------------------------------

def test_eval_env_pick_up_cup_closed_loop_succeeds(fake):
    from robotr1_data.backends.rlbench.eval_env import RLBenchEvalEnv
    with RLBenchEvalEnv("pick_up_cup", cameras=["front"], image_size=(32, 32)) as env:
        descriptions, obs = env.reset(variation=2, seed=11)
        assert descriptions[0] == "pick up the lime cup"
        assert obs["front_rgb"].shape == (32, 32, 3) and "front_camera_extrinsics" in obs
        cup = obs["task_low_dim_state"][:3]
        results = [env.execute(cup + [0, 0, 0.1], True), env.execute(cup, False),
                   env.execute(cup + [0, 0, 0.25], False, quat_wxyz=[0.1216, 0.0, 0.9926, 0.0])]
        assert [r[3] for r in results] == [None, None, None]
        assert [r[1] for r in results] == [False, False, True] and results[-1][2]
        assert results[1][0]["gripper_open"] == 0.0


def test_eval_env_invalid_action_is_unreachable_not_a_crash(fake, monkeypatch):
    from rlbench.action_modes.arm_action_modes import EndEffectorPoseViaPlanning
    from rlbench.backend.exceptions import InvalidActionError

    from robotr1_data.backends.rlbench.eval_env import RLBenchEvalEnv
    with RLBenchEvalEnv("reach_target", cameras=[]) as env:
        _, obs = env.reset(0, 3)
        before = obs["gripper_pose"].copy()
        # outside RLBench's workspace box: rejected before planning
        o, success, terminate, reason = env.execute([3.0, 0.0, 1.0], True)
        assert (success, terminate, reason) == (False, False, "unreachable_target")
        np.testing.assert_allclose(o["gripper_pose"], before)
        # inside the box but out of the arm's reach: the planner fails (ConfigurationPathError)
        assert env.execute([0.8, 0.6, 1.7], True)[3] == "unreachable_target"

        class PlannerGaveUp(InvalidActionError):
            pass

        def refuse(self, scene, action):
            raise PlannerGaveUp("no path")

        monkeypatch.setattr(EndEffectorPoseViaPlanning, "action", refuse)
        assert env.execute([0.3, 0.0, 1.0], True)[3] == "unreachable_target"
        assert env.steps == 3


# --- one simulator per process -------------------------------------------------------------------

def test_one_simulator_per_process(fake):
    from robotr1_data.backends.rlbench.backend import RLBenchDemoSource, shutdown_simulator
    from robotr1_data.backends.rlbench.eval_env import RLBenchEvalEnv
    source = RLBenchDemoSource("pick_up_cup", cameras=["front"], image_size=(32, 32))
    with pytest.raises(UsageError, match="one RLBench simulator per process.*--workers"):
        RLBenchEvalEnv("push_button", cameras=["front"], image_size=(32, 32))
    env = source.sim.env
    # RLBench itself refuses a second launch of the same Environment ...
    with pytest.raises(RuntimeError, match="Already called launch"):
        env.launch()
    # ... and PyRep a second CoppeliaSim in the process
    from rlbench.environment import Environment
    with pytest.raises(RuntimeError, match="one instance per process"):
        Environment(env._action_mode, obs_config=env._obs_config).launch()
    source.close()
    # once closed, the process's simulator is reused for the next task (no relaunch)
    with RLBenchEvalEnv("push_button", cameras=["front"], image_size=(32, 32), depth=True,
                        mask=True) as ev:
        assert ev.sim.env is env
        ev.reset(0, 1)
    with pytest.raises(UsageError, match="other settings"):
        RLBenchEvalEnv("push_button", cameras=["front"], image_size=(64, 64))
    shutdown_simulator()
    with pytest.raises(UsageError, match="cannot be launched again"):
        RLBenchEvalEnv("push_button", cameras=["front"], image_size=(32, 32))


def test_workers_each_run_their_own_simulator(fake, tmp_path, monkeypatch):
    # spawned workers are fresh interpreters: they find the fake through PYTHONPATH
    import os
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(FAKE)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    stats = generate(GenerateConfig(tasks=["pick_up_cup", "reach_target"], episodes=1,
                                    out=str(tmp_path), cameras=[], workers=2, backend="rlbench"),
                     show_progress=False)
    assert stats["pick_up_cup"]["episodes"] == 1 and stats["reach_target"]["episodes"] == 1
    assert validate_dir(tmp_path) == []


# --- closed-loop evaluation on the rlbench backend ----------------------------------------------

def test_eval_sim_runs_on_the_rlbench_backend(fake, monkeypatch, tmp_path):
    import json

    from robotr1_data.backends import rlbench as rlbench_backend_mod
    from robotr1_train.evaluation.closed_loop import EvalSimConfig, evaluate

    monkeypatch.setattr(rlbench_backend_mod, "_ENVS", {})
    cfg = EvalSimConfig(policies=["noop", "random"], tasks=["pick_up_cup"], episodes=2,
                        out=str(tmp_path / "eval"), max_keypoints=3, video=True,
                        image_size=(32, 32), backend="rlbench", show_progress=False)
    results = evaluate(cfg)
    eps = results["episodes"]
    assert len(eps) == 4 and all(e["backend"] == "rlbench" for e in eps)
    noop = [e for e in eps if e["policy"] == "noop"]
    assert all(not e["success"] and e["reason"] == "timeout" and e["keypoints_used"] == 3
               for e in noop)
    assert all(e["reason"] in (None, "timeout", "unreachable", "fail_condition") for e in eps)
    assert results["summary"]["noop"]["overall"]["successes"] == 0
    saved = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert saved["config"]["backend"] == "rlbench"
    assert any(e["video"] for e in eps), "front-camera frames from RLBench make a video"
    for env in rlbench_backend_mod._ENVS.values():
        env.close()


def test_eval_sim_rlbench_refuses_the_oracle(fake, tmp_path):
    from robotr1_train.evaluation.closed_loop import EvalSimConfig, evaluate

    cfg = EvalSimConfig(policies=["oracle"], tasks=["pick_up_cup"], episodes=1,
                        out=str(tmp_path / "e"), backend="rlbench", show_progress=False)
    with pytest.raises(UsageError, match="expert's waypoints"):
        evaluate(cfg)


def test_eval_sim_rlbench_counts_a_success(fake, monkeypatch, tmp_path):
    """A stand-in policy that knows where the cup is: the loop records RLBench's success."""
    from robotr1_data.backends import rlbench as rlbench_backend_mod
    from robotr1_train.evaluation import closed_loop
    from robotr1_train.policies.base import KeypointTarget, Policy

    class CupPicker(Policy):
        name = "cup_picker"

        def predict(self, obs):
            env = next(iter(rlbench_backend_mod._ENVS.values()))
            cup = np.asarray(env._obs.task_low_dim_state[:3], float)
            plan = [(cup + [0, 0, 0.1], True), (cup, False), (cup + [0, 0, 0.25], False)]
            xyz, open_ = plan[min(obs.keypoint_index, 2)]
            return KeypointTarget(xyz, open_)

    monkeypatch.setattr(rlbench_backend_mod, "_ENVS", {})
    monkeypatch.setattr(closed_loop, "_POLICIES", {"noop": CupPicker()})
    cfg = closed_loop.EvalSimConfig(policies=["noop"], tasks=["pick_up_cup"], episodes=2,
                                    out=str(tmp_path / "eval"), max_keypoints=5, video=False,
                                    image_size=(32, 32), backend="rlbench", show_progress=False)
    results = closed_loop.evaluate(cfg)
    assert [e["success"] for e in results["episodes"]] == [True, True]
    assert all(e["keypoints_used"] == 3 and e["reason"] is None for e in results["episodes"])
    for env in rlbench_backend_mod._ENVS.values():
        env.close()
