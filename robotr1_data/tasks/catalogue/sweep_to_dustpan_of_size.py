"""sweep_to_dustpan_of_size: sweep the dirt into the tall or the short dustpan with the broom.

Two dustpans, one with high walls and one with low walls, stand side by side; the variation
names which one (RLBench's two). The broom's head pushes the crumbs by contact.
"""

import math
from typing import List

import numpy as np

from robotr1_data.world import TABLE_TOP_Z
from robotr1_data.tasks import parts_objects as po
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import ConditionSet, DetectedCondition
from robotr1_data.tasks.geometry import grasp_yaw, segment_distance, yaw_quat
from robotr1_data.tasks.recipes import pick, push
from robotr1_data.tasks.regions import SpawnRegion, sample_offsets

SIZES = [("tall", 0.06), ("short", 0.03)]
PANS = [f"dustpan_{size}" for size, _ in SIZES]
DIRT = [f"dirt{i}" for i in range(5)]
HANDLE, DROP, TAIL, REACH, HEAD_DEPTH = 0.02, 0.09, 0.1, 0.16, 0.012
PANS_MIDDLE = SpawnRegion.on_table("pans_middle", (0.17, -0.05), (0.22, 0.05))
BROOM_GRIP = SpawnRegion.on_table("broom_grip", (0.0, -0.27), (0.35, 0.27))


class SweepToDustpanOfSize(Task):
    @classmethod
    def build(cls, scene):
        po.stick(scene, "broom", reach=REACH, tail=TAIL, handle=HANDLE, drop=DROP,
                 head_half=(HEAD_DEPTH, 0.05), rgba=(0.75, 0.2, 0.2, 1),
                 head_rgba=(0.85, 0.75, 0.3, 1))
        for pan, (_, height) in zip(PANS, SIZES):
            po.dustpan(scene, pan, wall_height=height)
        for d in DIRT:
            po.dirt(scene, d)

    def init_task(self):
        self.register_graspable_objects(["broom"])
        self.register_low_dim_bodies(["broom"] + PANS + DIRT)

    def init_episode(self, index: int) -> List[str]:
        size = SIZES[index][0]
        self.register_success_conditions([ConditionSet(
            [DetectedCondition(d, f"{PANS[index]}_region") for d in DIRT])])
        # Sweep toward the robot (-x), give or take 15 degrees; the pans open against it.
        angle = math.pi + self.rng.uniform(-0.25, 0.25)
        d = np.array([math.cos(angle), math.sin(angle), 0.0])
        across = np.array([-d[1], d[0], 0.0])
        middle = PANS_MIDDLE.point(self.rng)
        flip = self.rng.choice([-1.0, 1.0])
        pans = [middle + flip * 0.09 * across, middle - flip * 0.09 * across]
        for pan, p in zip(PANS, pans):
            self.sim.set_body_pose(pan, p, yaw_quat(angle + math.pi))
        pile = pans[index] - 0.14 * d
        offsets = sample_offsets(self.rng, len(DIRT), (0.02, 0.03), 0.016)
        for crumb, (a, b) in zip(DIRT, offsets):
            self.sim.set_body_pose(crumb, pile + a * d + b * across + (0, 0, 0.006),
                                   yaw_quat(self.rng.uniform(-1.5, 1.5)))

        for _ in range(500):  # the broom lies clear of the pans and the dirt, head to +x
            grip_xy = tuple(BROOM_GRIP.point(self.rng)[:2])
            broom_yaw = math.pi + self.rng.uniform(-1.2, 1.2)
            axis = np.array([math.cos(broom_yaw), math.sin(broom_yaw), 0.0])
            head = np.array([*grip_xy, TABLE_TOP_Z]) - REACH * axis
            tail = head + (REACH + TAIL) * axis
            if (abs(head[1]) < 0.3 and -0.05 < head[0] < 0.45
                    and min(segment_distance(p, head, tail) for p in pans) > 0.15
                    and segment_distance(pile, head, tail) > 0.12):
                break
        else:
            raise RuntimeError("sweep_to_dustpan_of_size: no room for the broom")
        grip = po.place_stick(self.sim, "broom", grip_xy, broom_yaw, tail=TAIL, drop=DROP,
                              handle=HANDLE)

        grip_yaw = grasp_yaw(broom_yaw, math.pi)
        grasp_z = grip[2] + HANDLE / 2 - 0.01
        sweep_yaw = (angle + grip_yaw - broom_yaw + math.pi) % (2 * math.pi) - math.pi
        # Head from just beyond the pile to where its face is 2 cm past the pan's centre.
        start = pile - (0.02 + 0.006 + HEAD_DEPTH + 0.015) * d + REACH * d
        end = pans[index] + (0.02 - HEAD_DEPTH) * d + REACH * d
        z = grasp_z + 0.004
        self.waypoints = (
            pick((grip[0], grip[1], grasp_z), grip_yaw, lift=0.06)
            + push(start, end, z, sweep_yaw, hover=0.05, lift=None, close=False,
                   names=("above_dirt", "lower_broom", "sweep")))
        return [f"sweep dirt to the {size} dustpan", f"sweep the dirt up into the {size} dustpan",
                f"use the broom to brush the dirt into the {size} dustpan",
                f"clean up the dirt with the {size} pan"]

    def variation_count(self) -> int:
        return len(SIZES)
