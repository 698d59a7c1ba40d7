"""put_money_in_safe: pick up the stack of bank notes and leave it on the bottom, middle or top
shelf of the open safe."""

import math
from typing import List

from robotr1_data.tasks import parts_articulated as pa
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedCondition, NothingGrasped
from robotr1_data.tasks.geometry import at, grasp_yaw, yaw_quat
from robotr1_data.tasks.recipes import numbered, pick, put_inside
from robotr1_data.tasks.regions import SpawnRegion

MONEY_HALF_Z = 0.0125
REACH_IN = -0.03   # money centre's x in the safe frame when left on the shelf
FRONT_OFF = -0.22  # TCP x in the safe frame before sliding in
# Drawn at +y, then mirrored: the safe to a random side, the money to the other.
SAFE_SPACE = SpawnRegion.on_table("safe_space", (0.22, 0.2), (0.32, 0.26))
MONEY_SPACE = SpawnRegion.on_table("money_space", (0.05, 0.05), (0.3, 0.22))


class PutMoneyInSafe(Task):
    @classmethod
    def build(cls, scene):
        pa.safe(scene, "safe")
        pa.money(scene, "dollar_stack")

    def init_task(self):
        self.register_graspable_objects(["dollar_stack"])
        self.register_low_dim_bodies(["dollar_stack", "safe"])

    def init_episode(self, index: int) -> List[str]:
        option = pa.SHELF_OPTIONS[index]
        self.register_success_conditions([
            NothingGrasped(), DetectedCondition("dollar_stack", f"success_detector{index}")])
        side = self.rng.choice([-1.0, 1.0])
        origin = SAFE_SPACE.point(self.rng, side)
        yaw = side * (math.pi / 2 + self.rng.uniform(0.0, 0.4))
        self.sim.set_body_pose("safe", origin, yaw_quat(yaw))
        money = MONEY_SPACE.raised(MONEY_HALF_Z).point(self.rng, -side)
        money_yaw = self.rng.uniform(-math.pi / 2, math.pi / 2)
        self.sim.set_body_pose("dollar_stack", money, yaw_quat(money_yaw))

        grip = money + [0, 0, 0.004]
        shelf_z = pa.SAFE.shelf_top(index) + MONEY_HALF_Z + 0.004 + 0.004
        above = at(origin, yaw, [FRONT_OFF, 0, pa.SAFE.shelf_top(2) + 0.08])
        front = at(origin, yaw, [FRONT_OFF, 0, shelf_z])
        inside = at(origin, yaw, [REACH_IN, 0, shelf_z])
        self.waypoints = numbered(pick(grip, money_yaw, approach=0.08, lift=0.12)
                                  + put_inside(above, front, inside, grasp_yaw(yaw, math.pi)))
        return [f"put the money away in the safe on the {option} shelf",
                f"leave the money on the {option} shelf on the safe",
                f"place the stack of bank notes on the {option} shelf of the safe"]

    def variation_count(self) -> int:
        return len(pa.SHELF_OPTIONS)
