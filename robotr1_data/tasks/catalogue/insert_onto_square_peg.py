"""insert_onto_square_peg: put the square ring onto the peg of the named colour.

Three coloured square pegs stand on a bar; the variation is the target peg's colour (RLBench's
20). The expert holds the ring by one side and lets it drop over the peg.
"""

import math
from typing import List

from robotr1_data.world import TABLE_TOP_Z
from robotr1_data.tasks import parts, parts_objects as po
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedCondition
from robotr1_data.tasks.geometry import grasp_yaw, rotate_z, yaw_quat
from robotr1_data.tasks.recipes import pick, place
from robotr1_data.tasks.regions import SpawnRegion

INNER, BAR, HEIGHT = 0.056, 0.014, 0.025  # ring hole, side width and height
SIDE = INNER / 2 + BAR / 2                 # ring centre to the middle of a side
PEG_TOP = 0.08                             # base 0.02 + peg 0.06
STAND_SPACE = SpawnRegion.on_table("stand_space", (0.2, -0.12), (0.35, 0.12))
RING_SPACE = SpawnRegion.on_table("ring_space", (0.0, -0.28), (0.35, 0.28))


class InsertOntoSquarePeg(Task):
    @classmethod
    def build(cls, scene):
        po.square_ring(scene, "square_ring", inner=INNER, bar=BAR, height=HEIGHT)
        po.peg_stand(scene, "pegs", count=3, spacing=0.12, peg_half=0.017, peg_height=0.06)

    def init_task(self):
        self.register_graspable_objects(["square_ring"])
        self.register_low_dim_bodies(["square_ring", "pegs"])

    def init_episode(self, index: int) -> List[str]:
        color_name, rgb = parts.COLORS[index]
        others = self.rng.choice([i for i in range(len(parts.COLORS)) if i != index], 2,
                                 replace=False)
        target = int(self.rng.integers(3))
        colors = [parts.COLORS[i][1] for i in others]
        colors.insert(target, rgb)
        for i, c in enumerate(colors):
            self.sim.set_color("pegs", c, geoms=[f"pegs_peg{i}"])
        self.register_success_conditions([DetectedCondition("square_ring",
                                                            f"pegs_peg{target}_region")])
        for _ in range(200):
            stand = STAND_SPACE.point(self.rng)
            ring = RING_SPACE.point(self.rng)
            # The stand is 0.34 m long along y: keep the ring's grasp clear of it.
            if abs(ring[1] - stand[1]) > 0.28 or abs(ring[0] - stand[0]) > 0.17:
                break
        else:
            raise RuntimeError("insert_onto_square_peg: no room for the ring")
        stand_yaw = self.rng.uniform(-0.4, 0.4)
        ring_yaw = self.rng.uniform(-math.pi, math.pi)
        self.sim.set_body_pose("pegs", stand, yaw_quat(stand_yaw))
        self.sim.set_body_pose("square_ring", ring + (0, 0, HEIGHT / 2), yaw_quat(ring_yaw))
        peg = stand + rotate_z((0.0, (target - 1) * 0.12, 0.0), stand_yaw)

        # Hold the side of the ring that lies along the fingers' closing axis.
        grip_yaw = grasp_yaw(ring_yaw)
        side = rotate_z((0.0, SIDE, 0.0), grip_yaw)  # closing axis is the hand's y
        grasp = ring + side
        grasp[2] = TABLE_TOP_Z + HEIGHT - 0.01
        # At the peg, turn the ring square to it; the held side turns with the hand.
        place_yaw = grip_yaw + grasp_yaw(stand_yaw - ring_yaw)
        drop = peg + rotate_z((0.0, SIDE, 0.0), place_yaw)
        # Release with the ring's bottom 5 mm above the peg top; it falls over the peg.
        drop[2] = TABLE_TOP_Z + PEG_TOP + 0.005 + (grasp[2] - TABLE_TOP_Z)
        # The fingers open only part way: wide open they would catch the ring's other sides.
        self.waypoints = (
            pick(grasp, grip_yaw, approach=0.08, carry_z=drop[2] + 0.06, open_amount=0.55)
            + place(drop, place_yaw, approach=0.05, retreat=0.05, open_amount=0.55,
                    names=("above_peg", "release", "retreat")))
        return [f"put the ring on the {color_name} spoke",
                f"slide the ring onto the {color_name} colored spoke",
                f"place the ring onto the {color_name} spoke",
                f"put the square ring on the {color_name} peg"]

    def variation_count(self) -> int:
        return len(parts.COLORS)
