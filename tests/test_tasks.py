"""Every registered task: the expert succeeds, success is false at reset, variations differ."""

import numpy as np
import pytest

from robotr1_data.expert import DemoError, Expert
from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim
from robotr1_data.tasks.registry import all_tasks

TASKS = sorted(all_tasks())
SEEDS = 20


@pytest.fixture(scope="module")
def sims():
    cache = {}
    yield cache
    for sim in cache.values():
        sim.close()


def _sim(sims, name):
    if name not in sims:
        sims[name] = MujocoSim(all_tasks()[name][0])
    return sims[name]


@pytest.mark.parametrize("name", TASKS)
def test_expert_succeeds_95_percent(sims, name):
    sim = _sim(sims, name)
    expert = Expert(sim)
    count = sim.task.variation_count()
    ok, reasons = 0, []
    for seed in range(SEEDS):
        sim.reset(seed % count, np.random.default_rng(seed))
        try:
            expert.run(lambda: None)
            ok += 1
        except DemoError as err:
            reasons.append(str(err))
    assert ok >= 0.95 * SEEDS, f"{name}: {ok}/{SEEDS} succeeded; failures: {reasons}"


@pytest.mark.parametrize("name", TASKS)
def test_success_false_at_reset_and_descriptions(sims, name):
    sim = _sim(sims, name)
    count = sim.task.variation_count()
    assert count >= 1
    for seed in range(10):
        descriptions = sim.reset(seed % count, np.random.default_rng(1000 + seed))
        assert descriptions and all(isinstance(d, str) and d.strip() for d in descriptions)
        met, _ = sim.task.success()
        assert not met, f"{name} variation {seed % count} is already successful at reset"


@pytest.mark.parametrize("name", TASKS)
def test_variations_differ(sims, name):
    sim = _sim(sims, name)
    count = sim.task.variation_count()
    if count < 2:
        pytest.skip("single-variation task")
    seen = set()
    for v in range(min(count, 4)):
        d = sim.reset(v, np.random.default_rng(7))
        rgba = sim.model.geom_rgba.round(3).tobytes()
        goal = tuple(np.round(np.concatenate([w.pos for w in sim.task.waypoints]), 3))
        seen.add((tuple(d), rgba, goal))
    assert len(seen) == min(count, 4), f"{name}: variations give identical scenes and goals"


@pytest.mark.parametrize("name", TASKS)
def test_reset_is_deterministic(sims, name):
    sim = _sim(sims, name)
    states = []
    for _ in range(2):
        sim.reset(0, np.random.default_rng(42))
        states.append(sim.get_state())
    np.testing.assert_array_equal(states[0], states[1])


@pytest.mark.parametrize("name", TASKS)
def test_keypoints_at_every_gripper_change(sims, name):
    from robotr1_data.record import record_demo

    sim = _sim(sims, name)
    if not sim.task.graspable_objects:
        pytest.skip("no grasping in this task")
    count = sim.task.variation_count()
    for seed in range(3):
        try:
            ep = record_demo(sim, Expert(sim), seed % count, seed)
        except DemoError:
            continue
        changes = np.nonzero(np.diff(ep.gripper_open) != 0)[0] + 1
        assert len(changes) >= 1, f"{name}: a grasping demo changes the gripper state"
        missing = sorted(set(changes.tolist()) - set(ep.keypoints.tolist()))
        assert not missing, f"{name} seed {seed}: no keypoint at gripper changes {missing}"
        assert ep.keypoints[-1] == ep.length - 1
