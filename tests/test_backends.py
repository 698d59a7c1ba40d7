"""The backend seam: a backend registered from this test module (no MuJoCo, no GL) records demos
through ``robotr1-data generate --backend fake`` and is evaluated by ``robotr1-train eval-sim
--backend fake``, with no change to robotr1's code.

The fake is a point gripper on a plane: the demo moves it in a straight line to a goal placed
from the seed and closes the gripper there; evaluation teleports it to each target and succeeds
within 2 cm of the goal.
"""

import json

import numpy as np
import pytest

from robotr1_data.backends import (Backend, Closing, DemoSource, KeypointEnv, KeypointReport,
                                   backend_names, get_backend, register_backend, unregister_backend)
from robotr1_data.errors import DemoError, UsageError
from robotr1_data.episode import Episode
from robotr1_data.keypoints import discover_keypoints
from robotr1_data.tasks.base import DOWN_QUAT, Waypoint

TASK = "point_reach"
START = np.array([0.3, 0.0, 1.1])
DT = 0.05
POSE_QUAT = np.array([0.0, 1.0, 0.0, 0.0])  # qx, qy, qz, qw: unit, top-down


def goal(variation: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    side = -1.0 if variation == 0 else 1.0
    return np.array([0.25 + 0.1 * rng.random(), side * (0.1 + 0.1 * rng.random()), 0.85])


class PointDemoSource(Closing):
    def __init__(self, task, **options):
        self.task, self.options = task, options
        self.closed = False

    def variation_count(self):
        return 2

    def record(self, variation, seed):
        if (seed >> 8) % 3 == 0:  # the expert sometimes fails: the caller retries with the next seed
            raise DemoError("scripted_failure", f"seed {seed}")
        g = goal(variation, seed)
        n_move, n_grip = 10, 3
        s = np.concatenate([np.linspace(0, 1, n_move), np.ones(n_grip)])
        pos = START + s[:, None] * (g - START)
        T = len(pos)
        joints = np.zeros((T, 7))
        joints[:, :3] = pos
        vel = np.vstack([np.zeros((1, 7)), np.diff(joints, axis=0) / DT])
        grip = np.concatenate([np.ones(n_move), np.zeros(n_grip)])
        return Episode(
            task=self.task, variation=variation, seed=seed,
            descriptions=[f"reach the {'left' if variation == 0 else 'right'} goal"], success=True,
            joint_positions=joints, joint_velocities=vel,
            gripper_pose=np.hstack([pos, np.tile(POSE_QUAT, (T, 1))]), gripper_open=grip,
            gripper_joint_positions=np.tile(grip[:, None] * 0.04, (1, 2)), sim_state=pos.copy(),
            task_low_dim_state=np.tile(g, (T, 1)), planner_keypoints=np.array([n_move - 1, T - 1]),
            keypoints=discover_keypoints(vel, grip), extra={"backend": "fake"})

    def close(self):
        self.closed = True


class PointEnv(Closing):
    frames_per_step = False

    def __init__(self):
        self.last = KeypointReport("none")
        self.pos, self.goal, self.open = START.copy(), None, True

    def variation_count(self):
        return 2

    def _obs(self):
        return {"gripper_pose": np.concatenate([self.pos, POSE_QUAT]), "gripper_open": float(self.open),
                "joint_positions": np.concatenate([self.pos, np.zeros(4)])}

    def reset(self, variation, seed):
        self.pos, self.goal, self.open = START.copy(), goal(variation, seed), True
        return [f"reach the {'left' if variation == 0 else 'right'} goal"], self._obs()

    def execute(self, target):
        if target.hold:
            self.last = KeypointReport("hold", 0)
            return self._obs(), False, False, None
        self.pos, self.open = np.asarray(target.xyz, float), bool(target.gripper_open)
        self.last = KeypointReport("done", 1, 0.0)
        success = bool(np.linalg.norm(self.pos - self.goal) < 0.02)
        return self._obs(), success, success, None

    def default_quat(self):
        return DOWN_QUAT.copy()

    def expert_waypoints(self):
        return [Waypoint(tuple(self.goal), gripper="close")]

    def expert_target(self):
        return None

    def check_target(self, xyz):
        return None if np.all(np.isfinite(xyz)) and np.all(np.abs(xyz) < 2) else "target is off the plane"

    def set_frame_hook(self, hook):
        pass

    def render(self):
        return {}  # no cameras: eval-sim writes no video

    def camera_parameters(self):
        return {}

    def close(self):
        pass


class FakeBackend(Backend):
    description = "a point gripper on a plane (tests/test_backends.py)"
    has_expert_waypoints = True

    def check_tasks(self, tasks):
        names = list(tasks) or [TASK]
        bad = [t for t in names if t != TASK]
        if bad:
            raise UsageError(f"the fake backend has no task {bad[0]!r}; it has {TASK}")
        return names

    def demo_source(self, task, **options):
        return PointDemoSource(task, **options)

    def keypoint_env(self, task, **options):
        return PointEnv()


@pytest.fixture
def fake_backend():
    register_backend("fake")(FakeBackend)
    yield get_backend("fake")
    unregister_backend("fake")


def test_builtin_backends_are_registered_and_declare_the_protocols():
    assert {"mujoco", "rlbench"} <= set(backend_names())
    assert get_backend("mujoco").has_expert_waypoints and get_backend("mujoco").needs_gl
    assert not get_backend("rlbench").has_expert_waypoints
    assert get_backend("rlbench").describe().startswith("rlbench: RLBench's tasks in CoppeliaSim")
    assert isinstance(PointDemoSource(TASK), DemoSource) and isinstance(PointEnv(), KeypointEnv)
    with pytest.raises(UsageError, match="unknown backend 'nope'; choose one of mujoco, rlbench"):
        get_backend("nope")


def test_mujoco_objects_satisfy_the_protocols():
    from robotr1_data.backends.mujoco.keypoint_env import MujocoKeypointEnv

    with get_backend("mujoco").demo_source("reach_target") as source:
        assert isinstance(source, DemoSource)
        ep = source.record(0, 11)
        assert ep.success and ep.task == "reach_target"
    with MujocoKeypointEnv.for_task("reach_target") as env:
        assert isinstance(env, KeypointEnv)
        descriptions, obs = env.reset(0, 3)
        assert descriptions and obs["gripper_pose"].shape == (7,) and env.expert_target() is not None


def test_generate_through_a_registered_backend(fake_backend, tmp_path):
    from robotr1_data import cli
    from robotr1_data.shards import ShardReader, validate_dir

    out = tmp_path / "data"
    code = cli.main(["generate", "--backend", "fake", "--tasks", TASK, "--episodes", "5",
                     "--out", str(out), "--cameras", "none", "--seed", "1", "--quiet"])
    assert code == 0
    assert validate_dir(out) == []
    shards = sorted(out.rglob("*.h5"))
    episodes = []
    for path in shards:
        with ShardReader(path) as r:
            assert r.config["backend"] == "fake"
            episodes += [r.load(e) for e in r.episodes]
            attempts = r.attempt_stats
    assert attempts["failures"] == {"scripted_failure": attempts["attempts"] - 5} != {}, attempts
    assert len(episodes) == 5 and {ep.task for ep in episodes} == {TASK}
    assert [ep.variation for ep in episodes] == [0, 1, 0, 1, 0]
    for ep in episodes:
        assert ep.extra["backend"] == "fake" and ep.success
        g = goal(ep.variation, ep.seed)
        assert np.allclose(ep.gripper_pose[-1, :3], g) and len(ep.keypoints) >= 1
    # the same seed gives the same bytes again
    again = tmp_path / "again"
    assert cli.main(["generate", "--backend", "fake", "--tasks", TASK, "--episodes", "5",
                     "--out", str(again), "--cameras", "none", "--seed", "1", "--quiet"]) == 0
    assert [p.read_bytes() for p in shards] == [p.read_bytes() for p in sorted(again.rglob("*.h5"))]


def test_eval_sim_through_a_registered_backend(fake_backend, tmp_path):
    from robotr1_train import cli

    out = tmp_path / "eval"
    code = cli.main(["eval-sim", "--backend", "fake", "--policy", "oracle", "--policy", "noop",
                     "--tasks", TASK, "--episodes", "3", "--max-keypoints", "4", "--out", str(out),
                     "--no-video", "--quiet"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["backend"] == "fake" and results["tasks"] == [TASK]
    eps = results["episodes"]
    assert all(e["backend"] == "fake" for e in eps)
    oracle = [e for e in eps if e["policy"] == "oracle"]
    noop = [e for e in eps if e["policy"] == "noop"]
    assert [e["success"] for e in oracle] == [True] * 3
    assert all(e["keypoints_used"] == 1 and e["expert_keypoints"] == 1 for e in oracle)
    assert all(e["reason"] == "timeout" and e["keypoints_used"] == 4 for e in noop)
    assert results["summary"]["oracle"]["overall"]["successes"] == 3
    assert (out / "report.md").exists()


def _exit_code(main, argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own exit for a bad choice
        return exc.code


def test_cli_choices_come_from_the_registry(fake_backend, tmp_path, capsys):
    from robotr1_data import cli as data_cli
    from robotr1_train import cli as train_cli

    argv = ["generate", "--backend", "fake", "--tasks", TASK, "--out", str(tmp_path / "x"), "--quiet"]
    unregister_backend("fake")
    try:
        assert _exit_code(data_cli.main, argv) == 2
        assert "invalid choice: 'fake' (choose from 'mujoco', 'rlbench')" in capsys.readouterr().err
    finally:
        register_backend("fake")(FakeBackend)
    assert _exit_code(train_cli.main, ["eval-sim", "--backend", "bogus", "--policy", "noop",
                                       "--out", str(tmp_path / "y")]) == 2
    assert "(choose from 'mujoco', 'rlbench', 'fake')" in capsys.readouterr().err


def test_a_backend_without_a_keypoint_env_is_one_usage_error(tmp_path):
    @register_backend("demos_only")
    class DemosOnly(FakeBackend):
        def keypoint_env(self, task, **options):
            return Backend.keypoint_env(self, task, **options)

    from robotr1_train.evaluation.closed_loop import EvalSimConfig, evaluate

    try:
        res = evaluate(EvalSimConfig(policies=["noop"], tasks=[TASK], episodes=1, out=str(tmp_path),
                                     video=False, backend="demos_only", show_progress=False))
    except UsageError as exc:
        assert "cannot run closed-loop evaluation" in str(exc)
    else:
        pytest.fail(f"expected a UsageError, got {res['summary']}")
    finally:
        unregister_backend("demos_only")


def test_the_oracle_is_refused_where_the_backend_has_no_waypoints(fake_backend, tmp_path):
    from robotr1_train.evaluation.closed_loop import EvalSimConfig

    fake_backend.has_expert_waypoints = False
    try:
        with pytest.raises(UsageError, match="expert's waypoints, which the fake backend"):
            EvalSimConfig(policies=["oracle"], tasks=[TASK], out=str(tmp_path), backend="fake").check()
    finally:
        fake_backend.has_expert_waypoints = True


def test_a_plugin_registers_through_its_entry_point(monkeypatch):
    from robotr1_data.backends import registry

    class EntryPoint:
        name, value = "pointsim", "pointsim_robotr1.backend"

        def load(self):  # importing the plugin's module runs its decorator
            register_backend("pointsim")(FakeBackend)

    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group: [EntryPoint()] if group == registry.ENTRY_POINT_GROUP else [])
    try:
        assert "pointsim" in backend_names()
        assert get_backend("pointsim").check_tasks([]) == [TASK]
    finally:
        unregister_backend("pointsim")
