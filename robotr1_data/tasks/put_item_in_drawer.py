"""put_item_in_drawer: open the bottom, middle or top drawer and put the block from the top of
the cabinet inside it."""

import math
from typing import List

from robotr1_data.tasks import parts_articulated as pa
from robotr1_data.tasks.base import Task, Waypoint
from robotr1_data.tasks.geometry import at, down_quat, grasp_yaw, yaw_quat
from robotr1_data.tasks.conditions import DetectedCondition
from robotr1_data.tasks.open_drawer import PULL, drawer_waypoints, place_cabinet

ITEM = 0.04
CARRY_Z = pa.Cabinet.height + 0.09  # TCP height (cabinet frame) for carrying the block


class PutItemInDrawer(Task):
    name = "put_item_in_drawer"

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
        q_item = down_quat(item_yaw)
        q_drawer = down_quat(grasp_yaw(yaw, math.pi))
        grip = item + [0, 0, 0.005]
        drop = [-pa.Cabinet.depth / 2 - 0.13, 0.0, pa.Cabinet.floor_top(index) + ITEM / 2 + 0.02]
        opened = drawer_waypoints(origin, yaw, index, PULL)
        retreat = opened[-1].pos + [0, 0, origin[2] + CARRY_Z - opened[-1].pos[2]]
        self.waypoints = opened + [
            Waypoint(retreat, q_drawer, linear=True, name="waypoint4"),
            Waypoint(grip + [0, 0, 0.08], q_item, name="waypoint5"),
            Waypoint(grip, q_item, gripper="close", linear=True, name="waypoint6"),
            Waypoint((grip[0], grip[1], origin[2] + CARRY_Z), q_item, linear=True,
                     name="waypoint7"),
            Waypoint(at(origin, yaw, [drop[0], drop[1], CARRY_Z]), q_drawer, name="waypoint8"),
            Waypoint(at(origin, yaw, drop), q_drawer, gripper="open", linear=True,
                     name="waypoint9"),
        ]
        return [f"put item in {option} drawer",
                f"put the block away in the {option} drawer",
                f"open the {option} drawer and place the block inside of it",
                f"leave the block in the {option} drawer"]

    def variation_count(self) -> int:
        return len(pa.DRAWER_OPTIONS)
