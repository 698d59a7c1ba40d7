"""Spawn regions: points inside, apart, halves that split the region, mirrored sides."""

import numpy as np
import pytest

from robotr1_data.sim.scene import TABLE_TOP_Z
from robotr1_data.tasks.regions import TABLE, WORKSPACE, SpawnRegion


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
