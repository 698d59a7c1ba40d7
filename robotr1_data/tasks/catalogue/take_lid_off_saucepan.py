"""take_lid_off_saucepan: grip the lid's knob and lift the lid off the pan (one variation)."""

from typing import List

from robotr1_data.tasks import parts_articulated as pa
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import ConditionSet, DetectedCondition, GraspedCondition
from robotr1_data.tasks.geometry import yaw_quat
from robotr1_data.tasks.recipes import numbered, pick
from robotr1_data.tasks.regions import SpawnRegion

PAN_SPACE = SpawnRegion.on_table("pan_space", (0.05, -0.2), (0.35, 0.2))


class TakeLidOffSaucepan(Task):
    @classmethod
    def build(cls, scene):
        pa.saucepan(scene, "saucepan")

    def init_task(self):
        self.register_graspable_objects(["saucepan_lid"])
        self.register_success_conditions([ConditionSet([
            GraspedCondition("saucepan_lid"),
            DetectedCondition("saucepan_lid", "saucepan_success")])])
        self.register_low_dim_bodies(["saucepan", "saucepan_lid"])

    def init_episode(self, index: int) -> List[str]:
        (p,) = PAN_SPACE.sample(self.rng)
        pan_yaw = self.rng.uniform(-3.14, 3.14)
        self.sim.set_body_pose("saucepan", p, yaw_quat(pan_yaw))
        lid_z = p[2] + pa.Saucepan.height + pa.Saucepan.lid_half
        self.sim.set_body_pose("saucepan_lid", (p[0], p[1], lid_z), yaw_quat(pan_yaw))
        grip_z = lid_z + pa.Saucepan.knob_top - 0.01
        yaw = self.rng.uniform(-0.8, 0.8)
        self.waypoints = numbered(pick((p[0], p[1], grip_z), yaw, approach=0.1, lift=0.2))
        return ["take lid off the saucepan",
                "using the handle, lift the lid off of the pan",
                "remove the lid from the pan",
                "grip the saucepan's lid and remove it from the pan",
                "leave the pan open",
                "uncover the saucepan"]

    def variation_count(self) -> int:
        return 1
