"""put_item_in_drawer: open the bottom, middle or top drawer and put the block from the top of
the cabinet inside it."""

import math
from typing import List

from robotr1_data.tasks import parts_articulated as pa
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.catalogue.open_drawer import drawer_waypoints, place_cabinet
from robotr1_data.tasks.conditions import DetectedCondition
from robotr1_data.tasks.geometry import at, grasp_yaw, yaw_quat
from robotr1_data.tasks.recipes import numbered, pick, place, reach

ITEM = 0.04
CARRY_Z = pa.Cabinet.height + 0.09  # TCP height (cabinet frame) for carrying the block


class PutItemInDrawer(Task):
    @classmethod
    def build(cls, scene):
        pa.drawer_cabinet(scene, "drawer_frame")
        pa.item_block(scene, "item", size=ITEM)

    def init_task(self):
        self.register_graspable_objects(["item"] + [f"drawer_frame_handle_{o}"
                                                    for o in pa.DRAWER_OPTIONS])
        self.register_low_dim_bodies(["item", "drawer_frame"])

    def init_episode(self, index: int) -> List[str]:
        option = pa.DRAWER_OPTIONS[index]
        self.register_success_conditions([DetectedCondition("item", f"success_{option}")])
        origin, yaw = place_cabinet(self)
        item_local = [self.rng.uniform(-0.04, 0.04), self.rng.uniform(-0.07, 0.07),
                      pa.Cabinet.height + 0.01 + ITEM / 2]
        item = at(origin, yaw, item_local)
        item_yaw = self.rng.uniform(-0.78, 0.78)
        self.sim.set_body_pose("item", item, yaw_quat(item_yaw))
        drawer_yaw = grasp_yaw(yaw, math.pi)
        carry_z = origin[2] + CARRY_Z
        grip = item + [0, 0, 0.005]
        drop = [-pa.Cabinet.depth / 2 - 0.13, 0.0, pa.Cabinet.floor_top(index) + ITEM / 2 + 0.02]
        opened = drawer_waypoints(origin, yaw, index)
        retreat = opened[-1].pos + [0, 0, carry_z - opened[-1].pos[2]]
        self.waypoints = numbered(
            opened + reach(retreat, drawer_yaw, linear=True)
            + pick(grip, item_yaw, approach=0.08, carry_z=carry_z)
            + place(at(origin, yaw, drop), drawer_yaw, carry_z=carry_z, retreat=None))
        return [f"put item in {option} drawer",
                f"put the block away in the {option} drawer",
                f"open the {option} drawer and place the block inside of it",
                f"leave the block in the {option} drawer"]

    def variation_count(self) -> int:
        return len(pa.DRAWER_OPTIONS)
