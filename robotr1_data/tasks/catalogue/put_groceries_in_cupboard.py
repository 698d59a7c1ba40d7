"""put_groceries_in_cupboard: put the named grocery into the cupboard.

RLBench spawns all nine groceries on the table; with a top-down Panda hand (0.2 m long) that
many packages cannot sit far enough apart on our table to grasp one without hitting another, so
each episode puts the named grocery and three other random ones on the table and parks the rest
off the table, out of every camera's view."""

import math
from typing import List

from robotr1_data.world import TABLE_TOP_Z
from robotr1_data.tasks import parts_articulated as pa
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedCondition, NothingGrasped
from robotr1_data.tasks.geometry import at, grasp_yaw, yaw_quat
from robotr1_data.tasks.recipes import numbered, pick, put_inside
from robotr1_data.tasks.regions import SpawnRegion

NAMES = [label for label, *_ in pa.GROCERIES]
BODIES = [label.replace(" ", "_") for label in NAMES]
ON_TABLE = 4
REACH_IN = -0.02   # grocery centre's x in the cupboard frame when put away
FRONT_OFF = -0.2  # TCP x in the cupboard frame before reaching in
# Drawn at +y, then mirrored: the cupboard to a random side, the groceries to the other.
CUPBOARD_SPACE = SpawnRegion.on_table("cupboard_space", (0.2, 0.26), (0.3, 0.29))
GROCERY_SPACE = SpawnRegion.on_table("grocery_space", (0.0, 0.05), (0.33, 0.3))


class PutGroceriesInCupboard(Task):
    @classmethod
    def build(cls, scene):
        pa.cupboard(scene, "cupboard")
        for i in range(len(pa.GROCERIES)):
            pa.grocery(scene, i)

    def init_task(self):
        self.register_graspable_objects(BODIES)
        self.register_low_dim_bodies(BODIES + ["cupboard"])

    def init_episode(self, index: int) -> List[str]:
        target = BODIES[index]
        self.register_success_conditions([NothingGrasped(),
                                          DetectedCondition(target, "cupboard_success0")])
        side = self.rng.choice([-1.0, 1.0])
        # The cupboard stands at one side facing across the table; the groceries stand on the
        # other side, clear of where the hand comes down in front of the cupboard.
        origin = CUPBOARD_SPACE.point(self.rng, side)
        yaw = side * (math.pi / 2 + self.rng.uniform(0.0, 0.4))
        self.sim.set_body_pose("cupboard", origin, yaw_quat(yaw))

        others = [i for i in range(len(BODIES)) if i != index]
        shown = [index] + list(self.rng.choice(others, size=ON_TABLE - 1, replace=False))
        for attempt in range(50):  # greedy sampling can paint itself into a corner: start over
            try:
                spots = GROCERY_SPACE.sample(self.rng, ON_TABLE, min_distance=0.15, max_tries=200)
                break
            except RuntimeError:
                if attempt == 49:
                    raise
        spots[:, 1] *= -side
        parked = 0
        yaws = {}
        for i, body in enumerate(BODIES):
            half_z = pa.grocery_half_height(i)
            if i in shown:
                p = spots[shown.index(i)] + [0, 0, half_z]
                yaws[i] = self.rng.uniform(-math.pi / 2, math.pi / 2)
                self.sim.set_body_pose(body, p, yaw_quat(yaws[i]))
            else:  # parked on the floor far to the side, never seen by a camera
                self.sim.set_body_pose(body, (-1.0 + 0.3 * parked, 3.5, half_z), yaw_quat(0.0))
                parked += 1

        half_z = pa.grocery_half_height(index)
        centre = spots[0] + [0, 0, half_z]
        grip = centre + [0, 0, max(0.004, half_z - 0.02)]
        above_item = grip[2] - centre[2]  # TCP height above the grocery's centre
        put_z = pa.CUPBOARD.shelf_top(0) + half_z + 0.006 + above_item
        above = at(origin, yaw, [FRONT_OFF, 0, pa.CUPBOARD.height + 0.06])
        front = at(origin, yaw, [FRONT_OFF, 0, put_z])
        inside = at(origin, yaw, [REACH_IN, 0, put_z])
        self.waypoints = numbered(
            pick(grip, yaws[index], approach=0.08, carry_z=TABLE_TOP_Z + 0.2)
            + put_inside(above, front, inside, grasp_yaw(yaw, math.pi)))
        name = NAMES[index]
        return [f"put the {name} in the cupboard",
                f"pick up the {name} and place it in the cupboard",
                f"move the {name} to the bottom shelf",
                f"put away the {name} in the cupboard"]

    def variation_count(self) -> int:
        return len(NAMES)
