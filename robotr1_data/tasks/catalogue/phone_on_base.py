"""phone_on_base: pick up the phone and put it down on its charging base."""

import math
from typing import List

from robotr1_data.tasks import parts_objects as po
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedCondition, NothingGrasped
from robotr1_data.tasks.geometry import grasp_yaw, yaw_quat
from robotr1_data.tasks.recipes import pick, place
from robotr1_data.tasks.regions import WORKSPACE

THICKNESS = 0.022
GRASP_BELOW_TOP = 0.007  # TCP below the phone's top face: fingertips 5 mm above the table


class PhoneOnBase(Task):
    @classmethod
    def build(cls, scene):
        po.phone(scene, "phone", thickness=THICKNESS)
        po.phone_base(scene, "phone_base")

    def init_task(self):
        self.register_graspable_objects(["phone"])
        self.register_success_conditions([DetectedCondition("phone", "phone_base_region"),
                                          NothingGrasped()])
        self.register_low_dim_bodies(["phone", "phone_base"])

    def init_episode(self, index: int) -> List[str]:
        phone_p, base_p = WORKSPACE.sample(self.rng, 2, min_distance=0.22)
        phone_yaw, base_yaw = self.rng.uniform(-math.pi / 2, math.pi / 2, size=2)
        phone_p[2] += THICKNESS / 2
        self.sim.set_body_pose("phone", phone_p, yaw_quat(phone_yaw))
        self.sim.set_body_pose("phone_base", base_p, yaw_quat(base_yaw))
        # Fingers close across the phone's width; the phone is symmetric under a half turn.
        grip = grasp_yaw(phone_yaw, math.pi)
        place_yaw = grasp_yaw(base_yaw, math.pi)
        grasp_z = phone_p[2] + THICKNESS / 2 - GRASP_BELOW_TOP
        # Release the phone 4 mm above the base plate so it settles onto it.
        place_z = base_p[2] + 0.015 + 0.004 + THICKNESS - GRASP_BELOW_TOP
        self.waypoints = (pick((phone_p[0], phone_p[1], grasp_z), grip)
                          + place((base_p[0], base_p[1], place_z), place_yaw))
        return ["put the phone on the base", "put the phone on the stand",
                "put the phone on the charging base", "charge the phone by placing it on its base",
                "place the phone on the stand", "pick up the phone and set it down on the dock"]

    def variation_count(self) -> int:
        return 1
