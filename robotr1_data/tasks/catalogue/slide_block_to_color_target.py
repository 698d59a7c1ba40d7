"""slide_block_to_color_target: push the block across the table onto the target of a colour.

Four coloured squares lie around the block, one on each side; the variation names the colour
to slide the block onto (RLBench's four variations). The expert pushes with closed fingers.
"""

import math
from typing import List

import numpy as np

from robotr1_data.world import TABLE_TOP_Z
from robotr1_data.tasks import parts_objects as po
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedCondition
from robotr1_data.tasks.geometry import grasp_yaw, yaw_quat
from robotr1_data.tasks.recipes import push
from robotr1_data.tasks.regions import SpawnRegion

SIZE = (0.06, 0.06, 0.04)  # a squat block: pushed low, it slides rather than tips
SPACING = 0.15  # block centre to each target centre
TARGET_COLORS = [("green", (0.0, 0.8, 0.0)), ("blue", (0.0, 0.2, 1.0)),
                 ("pink", (1.0, 0.4, 0.7)), ("yellow", (1.0, 0.9, 0.0))]
TARGETS = [f"{name}_target" for name, _ in TARGET_COLORS]
PUSHER = 0.009  # half-depth of the closed fingers along the push
BLOCK_SPACE = SpawnRegion.on_table("block_space", (0.12, -0.1), (0.28, 0.1))


class SlideBlockToColorTarget(Task):
    @classmethod
    def build(cls, scene):
        po.block(scene, "block", size=SIZE, rgba=(0.6, 0.6, 0.62, 1), graspable=False,
                 friction=(0.5, 0.005, 0.0001))
        for t in TARGETS:
            po.target_patch(scene, t, half=0.05, region_half=0.04)

    def init_task(self):
        self.register_low_dim_bodies(["block"] + TARGETS)

    def init_episode(self, index: int) -> List[str]:
        color_name = TARGET_COLORS[index][0]
        sides = self.rng.permutation(4)  # target i (colour i) lies on side sides[i]
        layout_yaw = self.rng.uniform(-math.pi / 4, math.pi / 4)
        block = BLOCK_SPACE.point(self.rng)
        self.sim.set_body_pose("block", block + (0, 0, SIZE[2] / 2), yaw_quat(layout_yaw))
        centres = []
        for t, side, (_, rgb) in zip(TARGETS, sides, TARGET_COLORS):
            angle = layout_yaw + side * math.pi / 2
            centres.append(block + SPACING * np.array([math.cos(angle), math.sin(angle), 0.0]))
            self.sim.set_body_pose(t, centres[-1], yaw_quat(layout_yaw))
            self.sim.set_color(t, rgb)
        self.register_success_conditions([DetectedCondition("block", f"{TARGETS[index]}_region")])
        goal, push_angle = centres[index], layout_yaw + sides[index] * math.pi / 2
        u = np.array([math.cos(push_angle), math.sin(push_angle), 0.0])
        z = TABLE_TOP_Z + 0.016  # fingertips 6 mm above the table
        back = SIZE[0] / 2 + PUSHER
        start = block - (back + 0.02) * u
        end = goal - back * u
        self.waypoints = push(start, end, z, grasp_yaw(push_angle, math.pi))
        return [f"slide the block to {color_name} target",
                f"slide the block onto the {color_name} square",
                f"push the block until it is sitting on top of the {color_name} target",
                f"slide the block towards the {color_name} plane",
                f"cover the {color_name} target with the block by pushing the block in its "
                f"direction"]

    def variation_count(self) -> int:
        return len(TARGET_COLORS)
