"""The task framework: spawn regions (inside, apart, halves, mirrored sides), motion recipes,
task names from module names and a catalogue the registry scans whole."""

import pkgutil

import numpy as np
import pytest

import robotr1_data.tasks.catalogue as catalogue
from robotr1_data.world import TABLE_TOP_Z
from robotr1_data.tasks import recipes
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.geometry import down_quat
from robotr1_data.tasks.regions import TABLE, WORKSPACE, SpawnRegion
from robotr1_data.tasks.registry import all_tasks


def test_sample_is_inside_and_apart():
    rng = np.random.default_rng(3)
    for _ in range(20):
        points = WORKSPACE.sample(rng, 4, min_distance=0.15)
        assert points.shape == (4, 3)
        assert all(WORKSPACE.contains(p) for p in points)
        assert np.all(points[:, 2] == TABLE_TOP_Z)
        gaps = [np.linalg.norm(a[:2] - b[:2]) for i, a in enumerate(points) for b in points[i + 1:]]
        assert min(gaps) >= 0.15


def test_no_room_is_an_error_not_a_crowd():
    tiny = SpawnRegion.on_table("tiny", (0.0, 0.0), (0.05, 0.05))
    with pytest.raises(RuntimeError, match="could not place 3 objects"):
        tiny.sample(np.random.default_rng(0), 3, min_distance=0.2, max_tries=50)


def test_halves_split_the_region_where_the_robot_sees_front_and_left():
    front, back = TABLE.half("front"), TABLE.half("back")
    left, right = TABLE.half("left"), TABLE.half("right")
    assert front.low[0] == back.high[0] == pytest.approx(0.2)
    assert front.high == TABLE.high and back.low == TABLE.low
    assert left.low[1] == right.high[1] == 0.0 and left.high[1] > 0
    rng = np.random.default_rng(1)
    assert all(p[0] >= 0.2 for p in front.sample(rng, 10))
    assert all(p[1] <= 0.0 for p in right.sample(rng, 10))
    with pytest.raises(KeyError):
        TABLE.half("top")


def test_point_draws_x_then_y_and_mirrors_with_side():
    region = SpawnRegion.on_table("strip", (0.1, 0.2), (0.3, 0.25))
    p = region.point(np.random.default_rng(5))
    q = region.point(np.random.default_rng(5), side=-1.0)
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0.1, 0.3), rng.uniform(0.2, 0.25)
    np.testing.assert_array_equal(p, [x, y, TABLE_TOP_Z])
    np.testing.assert_array_equal(q, [x, -y, TABLE_TOP_Z])


def test_raised_moves_only_the_height():
    up = TABLE.raised(0.02)
    assert up.low[:2] == TABLE.low[:2] and up.low[2] == up.high[2] == TABLE_TOP_Z + 0.02


def test_pick_and_place_grasps_carries_and_releases():
    wps = recipes.numbered(recipes.pick_and_place((0.1, 0.0, 0.8), (0.3, 0.1, 0.85), 0.2, -0.3,
                                                  carry_z=1.0))
    assert [w.name for w in wps] == [f"waypoint{i}" for i in range(6)]
    assert [w.gripper for w in wps] == [None, "close", None, None, "open", None]
    assert [w.linear for w in wps] == [False, True, True, False, True, True]
    np.testing.assert_allclose([w.pos[2] for w in wps], [0.88, 0.8, 1.0, 1.0, 0.85, 0.91])
    np.testing.assert_array_equal(wps[1].quat, down_quat(0.2))
    np.testing.assert_array_equal(wps[4].quat, down_quat(-0.3))


def test_recipes_stop_where_asked_and_take_the_tasks_names():
    assert len(recipes.pick((0, 0, 1), 0.0, lift=None)) == 2
    assert len(recipes.place((0, 0, 1), 0.0, retreat=None)) == 2
    last = recipes.press((0, 0, 1), 0.0, release=None, close=False)
    assert [w.gripper for w in last] == [None, None] and last[-1].pos[2] == pytest.approx(0.988)
    named = recipes.push((0, 0), (0.1, 0), 0.8, 0.0, lift=None, names=("a", "b", "c"))
    assert [w.name for w in named] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="2 names for 3 waypoints"):
        recipes.push((0, 0), (0.1, 0), 0.8, 0.0, lift=None, names=("a", "b"))


class UnnamedTask(Task):
    pass


class NamedTask(Task):
    name = "given_name"


def test_task_name_defaults_to_its_module_name():
    assert UnnamedTask.name == __name__.rsplit(".", 1)[-1]
    assert NamedTask.name == "given_name"


def test_registry_finds_every_catalogue_module_by_its_file_name():
    modules = {m.name for m in pkgutil.iter_modules(catalogue.__path__)}
    found = all_tasks(refresh=True).items()
    builtin = {name for name, (_, source) in found if source == "built-in"}
    assert builtin == modules
    assert "base" not in builtin and "recipes" not in builtin


def test_plugins_written_against_the_old_helpers_still_import_them():
    from robotr1_data.tasks import geometry, regions
    from robotr1_data.tasks.base import DOWN_QUAT, down_quat as old_down_quat, sample_positions

    assert sample_positions is regions.sample_positions and old_down_quat is geometry.down_quat
    np.testing.assert_array_equal(DOWN_QUAT, geometry.DOWN_QUAT)


def test_moving_the_world_sites_moves_the_regions_and_the_tasks(tmp_path):
    """The table top and the workspace are written once, in world.xml: in a copy with the two
    sites moved (ROBOTR1_ASSETS), a fresh process places the table-top regions, a task's objects
    and the QA prompt's world origin by the copy, without a line of Python changed."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    from robotr1_data.world import ASSETS_DIR, ASSETS_ENV

    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, assets)
    world = assets / "world.xml"
    text = world.read_text()
    for old, new in [('<site name="table_top" pos="0.25 0 0.752"', '<site name="table_top" pos="0.25 0 0.8"'),
                     ('<site name="workspace" type="box" pos="0.19 0 0.752"',
                      '<site name="workspace" type="box" pos="0.19 0.6 0.8"')]:
        assert text.count(old) == 1
        text = text.replace(old, new)
    world.write_text(text)
    code = """if True:
        import json
        import numpy as np
        from robotr1_data.qa.templates import build_prompt
        from robotr1_data.tasks.regions import NEAR_WORKSPACE, TABLE, WORKSPACE
        from robotr1_data.tasks.registry import get_task
        from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim
        with MujocoSim(get_task("push_button")) as sim:
            sim.reset(0, np.random.default_rng(0))
            button = sim.data.body("push_button_target").xpos.tolist()
        prompt = build_prompt("waypoint_open", "push the button", "front", (0, 0, 1), None)
        print(json.dumps({"workspace": [WORKSPACE.low, WORKSPACE.high],
                          "near": [NEAR_WORKSPACE.low, NEAR_WORKSPACE.high],
                          "table": [TABLE.low, TABLE.high], "button": button,
                          "origin": "[0.250, 0.000, 0.800]" in prompt}))
    """
    env = {**os.environ, ASSETS_ENV: str(assets), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["workspace"] == [[0.0, 0.35, 0.8], [0.38, 0.85, 0.8]]
    assert got["near"] == [[0.0, 0.35, 0.8], [0.35, 0.85, 0.8]]
    assert got["table"] == [[-0.02, -0.28, 0.8], [0.42, 0.28, 0.8]]  # x, y of its own site
    x, y, z = got["button"]
    assert 0.0 <= x <= 0.35 and 0.35 <= y <= 0.85 and z == pytest.approx(0.8), got["button"]
    assert got["origin"], "the QA prompt states the moved world origin"
