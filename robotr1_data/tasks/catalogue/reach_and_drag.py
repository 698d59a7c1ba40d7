"""reach_and_drag: pick up the stick, reach past the cube and drag it onto the coloured target.

The variation is the target's colour (RLBench's 20); three more squares in other colours
distract. The cube is dragged by the stick's head through contact, never held.
"""

import math
from typing import List

import numpy as np

from robotr1_data.world import TABLE_TOP_Z
from robotr1_data.tasks import parts, parts_objects as po
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedCondition
from robotr1_data.tasks.geometry import grasp_yaw, segment_distance, yaw_quat
from robotr1_data.tasks.recipes import pick, push
from robotr1_data.tasks.regions import SpawnRegion

CUBE = 0.04
HANDLE, DROP, TAIL = 0.02, 0.055, 0.1  # the head hangs DROP below the handle, over the cube
REACH = 0.16         # stick grasp point to head centre
HEAD_DEPTH = 0.012   # half-extent of the head along the handle
DRAG = 0.15
TARGETS = ["target0", "distractor1", "distractor2", "distractor3"]
TARGET_SPACE = SpawnRegion.on_table("target_space", (0.14, -0.1), (0.22, 0.1))
STICK_GRIP = SpawnRegion.on_table("stick_grip", (0.0, 0.17), (0.1, 0.25))  # or mirrored to -y
DISTRACTOR_SPACE = SpawnRegion.on_table("distractor_space", (0.0, -0.28), (0.42, 0.28))


class ReachAndDrag(Task):
    @classmethod
    def build(cls, scene):
        po.stick(scene, "stick", reach=REACH, tail=TAIL, handle=HANDLE, drop=DROP,
                 head_half=(HEAD_DEPTH, 0.04))
        po.block(scene, "cube", size=CUBE, rgba=(0.6, 0.6, 0.62, 1), graspable=False,
                 friction=(0.5, 0.005, 0.0001))
        for t in TARGETS:
            po.target_patch(scene, t, half=0.05, region_half=0.04)

    def init_task(self):
        self.register_graspable_objects(["stick"])
        self.register_success_conditions([DetectedCondition("cube", "target0_region")])
        self.register_low_dim_bodies(["stick", "cube"] + TARGETS)

    def init_episode(self, index: int) -> List[str]:
        color_name, rgb = parts.COLORS[index]
        others = self.rng.choice([i for i in range(len(parts.COLORS)) if i != index], 3,
                                 replace=False)
        for t, c in zip(TARGETS, [rgb] + [parts.COLORS[i][1] for i in others]):
            self.sim.set_color(t, c)

        # Drag toward the robot (-x), give or take 20 degrees: the head reaches past the cube
        # and pulls it back under the handle.
        angle = math.pi + self.rng.uniform(-0.35, 0.35)
        d = np.array([math.cos(angle), math.sin(angle), 0.0])
        target = TARGET_SPACE.point(self.rng)
        cube = target - DRAG * d
        for _ in range(200):  # the stick lies beside the cube, its head toward +x
            side = self.rng.choice([-1.0, 1.0])
            grip_xy = tuple(STICK_GRIP.point(self.rng, side)[:2])
            stick_yaw = math.pi + self.rng.uniform(-0.25, 0.25)
            axis = np.array([math.cos(stick_yaw), math.sin(stick_yaw), 0.0])
            head = np.array([*grip_xy, TABLE_TOP_Z]) - REACH * axis
            if segment_distance(cube, head, head + (REACH + TAIL) * axis) > 0.1:
                break
        else:
            raise RuntimeError("reach_and_drag: no room for the stick beside the cube")
        self.sim.set_body_pose("cube", cube + (0, 0, CUBE / 2), yaw_quat(angle))
        grip = po.place_stick(self.sim, "stick", grip_xy, stick_yaw, tail=TAIL, drop=DROP,
                              handle=HANDLE)
        self.sim.set_body_pose("target0", target, yaw_quat(angle))
        avoid = [target, cube, head]
        distractors = []
        while len(distractors) < 3:
            (p,) = DISTRACTOR_SPACE.sample(self.rng)
            if all(np.linalg.norm(p[:2] - q[:2]) > 0.13 for q in avoid + distractors):
                distractors.append(p)
        for t, p in zip(TARGETS[1:], distractors):
            self.sim.set_body_pose(t, p, yaw_quat(self.rng.uniform(-0.8, 0.8)))

        grip_yaw = grasp_yaw(stick_yaw, math.pi)
        grasp_z = grip[2] + HANDLE / 2 - 0.01
        # The weld keeps the stick's yaw relative to the hand: turning the stick to point along
        # the drag turns the hand by the same angle.
        drag_yaw = (angle + grip_yaw - stick_yaw + math.pi) % (2 * math.pi) - math.pi
        start = cube - (CUBE / 2 + HEAD_DEPTH + 0.015) * d + REACH * d
        end = start + (DRAG + 0.015) * d
        z = grasp_z + 0.004  # the head skims 4 mm above the table
        self.waypoints = (
            pick((grip[0], grip[1], grasp_z), grip_yaw, lift=0.06)
            + push(start, end, z, drag_yaw, hover=0.05, lift=None, close=False,
                   names=("reach_past_cube", "lower_stick", "drag")))
        return [f"use the stick to drag the cube onto the {color_name} target",
                f"use the stick to drag the cube onto the {color_name} square",
                f"pick up the stick and use it to push or pull the cube onto the {color_name} "
                f"target",
                f"drag the block towards the {color_name} square on the table top",
                f"grasping the stick by one end, pick it up and use the other end to move the "
                f"block onto the {color_name} target"]

    def variation_count(self) -> int:
        return len(parts.COLORS)
