"""put_rubbish_in_bin: pick up the paper rubbish (not the tomatoes) and drop it into the bin."""

from typing import List

import numpy as np

from robotr1_data.world import TABLE_TOP_Z
from robotr1_data.tasks import parts_objects as po
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedCondition
from robotr1_data.tasks.geometry import grasp_yaw, yaw_quat
from robotr1_data.tasks.recipes import pick, place
from robotr1_data.tasks.regions import TABLE, SpawnRegion

BIN_HEIGHT = 0.1
BIN_SPACE = SpawnRegion.on_table("bin_space", (0.2, -0.25), (0.35, 0.25))


class PutRubbishInBin(Task):
    @classmethod
    def build(cls, scene):
        po.rubbish(scene, "rubbish")
        po.tomato(scene, "tomato1")
        po.tomato(scene, "tomato2")
        po.open_box(scene, "bin", inner=(0.08, 0.1), height=BIN_HEIGHT)

    def init_task(self):
        self.register_graspable_objects(["rubbish", "tomato1", "tomato2"])
        self.register_success_conditions([DetectedCondition("rubbish", "bin_region")])
        self.register_low_dim_bodies(["rubbish", "tomato1", "tomato2", "bin"])

    def init_episode(self, index: int) -> List[str]:
        yaw = self.rng.uniform(-0.4, 0.4)
        (bin_pos,) = BIN_SPACE.sample(self.rng)
        self.sim.set_body_pose("bin", bin_pos, yaw_quat(yaw))
        # The items stay clear of the bin (half-diagonal ~0.14 m); the rubbish further, so the
        # 0.2 m wide hand does not catch a wall while it grasps.
        clear = (0.27, 0.18, 0.18)
        for _ in range(200):
            items = TABLE.raised(0.02).sample(self.rng, 3, min_distance=0.09)
            if all(np.linalg.norm(p[:2] - bin_pos[:2]) > c for p, c in zip(items, clear)):
                break
        else:
            raise RuntimeError("put_rubbish_in_bin: no room for the items beside the bin")
        yaws = self.rng.uniform(-3.14, 3.14, size=3)
        for body, p, item_yaw in zip(("rubbish", "tomato1", "tomato2"), items, yaws):
            self.sim.set_body_pose(body, p, yaw_quat(item_yaw))
        grip_yaw = grasp_yaw(yaws[0])
        x, y, _ = items[0]
        drop = (bin_pos[0], bin_pos[1], bin_pos[2] + BIN_HEIGHT + 0.08)
        self.waypoints = (pick((x, y, TABLE_TOP_Z + 0.024), grip_yaw, lift=0.2)
                          + place(drop, grip_yaw, approach=0.05, retreat=0.05))
        return ["put rubbish in bin", "drop the rubbish into the bin",
                "pick up the rubbish and leave it in the trash can",
                "throw away the trash, leaving any other objects alone",
                "chuck away any rubbish on the table"]

    @classmethod
    def step_names(cls, variation, descriptions):
        return ["move above the rubbish", "move down and grasp the rubbish", "lift the rubbish",
                "carry the rubbish above the bin", "lower the rubbish and release it into the bin",
                "move up, away from the bin"]

    @classmethod
    def object_names(cls, variation, descriptions):
        return ["the rubbish", None, None, "the bin"]  # two identical tomatoes: no name for either

    def variation_count(self) -> int:
        return 1
