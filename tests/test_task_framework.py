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
