"""Named spawn regions: where tasks place objects, in the spirit of RLBench's spawn boundaries.

An RLBench task names a boundary shape in its scene (``SpawnBoundary([self.boundary])``) and
samples object poses inside it, apart from each other. Here a ``SpawnRegion`` is a named box in
the world frame; its z range is a height (a table-top region has low z = high z = the table top,
from ``robotr1_data.world``). The shared regions below are named ``<site>``s of ``world.xml``,
read when this module is imported: a moved site moves them. Tasks take them by name, or name
their own at the top of the task file when an object needs a place of its own (beside a
cabinet, under a tool).

Two ways to draw, kept apart because a task's data depend on the exact sequence of draws:
``sample`` draws whole points (x, y, z at once, RLBench's sampling with a minimum distance) and
``point`` draws x then y and puts the point on the region's floor.
"""

from __future__ import annotations

import dataclasses
from typing import List, Sequence, Tuple

import numpy as np

from robotr1_data import world

Vec3 = Tuple[float, float, float]


def sample_positions(rng: np.random.Generator, count: int, low: Sequence[float],
                     high: Sequence[float], min_distance: float,
                     max_tries: int = 1000) -> np.ndarray:
    """``count`` points uniform in the box [low, high], pairwise at least ``min_distance`` apart
    in xy (RLBench's SpawnBoundary with collision checking, reduced to what our objects need)."""
    low, high = np.asarray(low, float), np.asarray(high, float)
    points: List[np.ndarray] = []
    for _ in range(max_tries):
        p = rng.uniform(low, high)
        if all(np.linalg.norm(p[:2] - q[:2]) >= min_distance for q in points):
            points.append(p)
            if len(points) == count:
                return np.array(points)
    raise RuntimeError(f"could not place {count} objects {min_distance} m apart in {low}..{high}")


def sample_offsets(rng: np.random.Generator, count: int, half: Sequence[float],
                   min_distance: float) -> np.ndarray:
    """``count`` 2-D offsets in [-half, half] at least ``min_distance`` apart (a small pile)."""
    half = np.asarray(half, float)
    return sample_positions(rng, count, -half, half, min_distance)


@dataclasses.dataclass(frozen=True)
class SpawnRegion:
    """A named box (world frame, metres) objects are placed in."""

    name: str
    low: Vec3
    high: Vec3

    @classmethod
    def on_table(cls, name: str, low_xy: Sequence[float],
                 high_xy: Sequence[float]) -> "SpawnRegion":
        """A region of the table top: x, y ranges at the table's height."""
        z = world.table_top_z()
        return cls(name, (low_xy[0], low_xy[1], z), (high_xy[0], high_xy[1], z))

    @classmethod
    def from_site(cls, name: str, site: str, on_table: bool = False) -> "SpawnRegion":
        """The box of ``world.xml``'s site ``site``; ``on_table``: only its x, y ranges, at the
        table's height (a table-top area)."""
        box = world.site(site)
        if on_table:
            return cls.on_table(name, box.low[:2], box.high[:2])
        return cls(name, box.low, box.high)

    def sample(self, rng: np.random.Generator, count: int = 1, min_distance: float = 0.0,
               max_tries: int = 1000) -> np.ndarray:
        """``count`` points (count x 3) in the region, pairwise at least ``min_distance`` apart
        in xy; a RuntimeError after ``max_tries`` draws (the caller may start over)."""
        return sample_positions(rng, count, self.low, self.high, min_distance, max_tries)

    def point(self, rng: np.random.Generator, side: float = 1.0) -> np.ndarray:
        """One point on the region's floor (x drawn, then y); ``side=-1`` mirrors it across
        the x axis, for a region that stands for "either side of the robot"."""
        x = rng.uniform(self.low[0], self.high[0])
        y = side * rng.uniform(self.low[1], self.high[1])
        return np.array([x, y, self.low[2]])

    def raised(self, dz: float) -> "SpawnRegion":
        """The same region ``dz`` higher (where an object's centre goes, ``dz`` above its foot)."""
        return dataclasses.replace(self, low=(*self.low[:2], self.low[2] + dz),
                                   high=(*self.high[:2], self.high[2] + dz))

    def half(self, which: str) -> "SpawnRegion":
        """The front (+x, toward the front camera), back (toward the robot), left (+y, seen
        from the robot) or right half."""
        axis, upper = {"front": (0, True), "back": (0, False), "left": (1, True),
                       "right": (1, False)}[which]
        mid = (self.low[axis] + self.high[axis]) / 2
        low, high = list(self.low), list(self.high)
        if upper:
            low[axis] = mid
        else:
            high[axis] = mid
        return SpawnRegion(f"{self.name}_{which}", tuple(low), tuple(high))

    def trimmed(self, which: str, width: float, name: str) -> "SpawnRegion":
        """The region less a strip ``width`` wide along its front, back, left or right edge."""
        axis, upper = {"front": (0, True), "back": (0, False), "left": (1, True),
                       "right": (1, False)}[which]
        low, high = list(self.low), list(self.high)
        if upper:
            high[axis] -= width
        else:
            low[axis] += width
        return SpawnRegion(name, tuple(low), tuple(high))

    def contains(self, point: Sequence[float]) -> bool:
        return bool(np.all(np.asarray(point, float) >= self.low)
                    and np.all(np.asarray(point, float) <= self.high))


# The table top the arm reaches with a top-down grasp, edge to edge.
TABLE = SpawnRegion.from_site("table", "table_reach", on_table=True)
# The table top less a margin at its edges: most objects start here.
WORKSPACE = SpawnRegion.from_site("workspace", "workspace", on_table=True)
# The workspace less its 3 cm farthest from the robot.
NEAR_WORKSPACE = WORKSPACE.trimmed("front", 0.03, "near_workspace")
# Mid-air above the table, from 7 to 40 cm over its top: targets the gripper reaches.
ABOVE_TABLE = SpawnRegion.from_site("above_table", "above_table")
