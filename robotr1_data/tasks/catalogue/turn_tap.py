"""turn_tap: grasp the left or right tap handle and turn it a quarter turn (1.57 rad, as in
RLBench) on its hinge; both levers turn outward, away from the spout."""

import math
from typing import List

import numpy as np

from robotr1_data.tasks import parts_articulated as pa
from robotr1_data.tasks.base import Task, Waypoint
from robotr1_data.tasks.conditions import JointCondition
from robotr1_data.tasks.geometry import at, down_quat, yaw_quat
from robotr1_data.tasks.recipes import numbered, pick
from robotr1_data.tasks.regions import SpawnRegion

OPTIONS = ["left", "right"]
TURN = 1.85   # how far the expert turns; success needs 1.57 rad
ARC_STEPS = 3  # straight segments approximating the lever tip's arc
TAP_SPACE = SpawnRegion.on_table("tap_space", (0.15, -0.15), (0.32, 0.15))


class TurnTap(Task):
    @classmethod
    def build(cls, scene):
        pa.tap(scene, "tap")

    def init_task(self):
        self.register_graspable_objects(["tap_left", "tap_right"])
        self.register_low_dim_bodies(["tap", "tap_left", "tap_right"])

    def init_episode(self, index: int) -> List[str]:
        option = OPTIONS[index]
        self.register_success_conditions([JointCondition(f"{option}_joint", 1.57)])
        origin = TAP_SPACE.point(self.rng)
        yaw = self.rng.uniform(-0.25, 0.25)
        self.sim.set_body_pose("tap", origin, yaw_quat(yaw))
        side = 1.0 if option == "left" else -1.0
        sign = -side  # left turns clockwise, right counter-clockwise (seen from above)
        hub = np.array([0.0, side * pa.Tap.handle_y, pa.Tap.grip_z])

        def grasp_pose(turned: float):
            alpha = math.pi + sign * turned  # lever direction in the tap frame
            local = hub + pa.Tap.lever * np.array([math.cos(alpha), math.sin(alpha), 0.0])
            return at(origin, yaw, local), yaw + sign * turned

        # Grasp the lever, turn it along its arc in straight segments, let go at the end.
        waypoints = pick(*grasp_pose(0.0), approach=0.08, lift=None)
        for i in range(1, ARC_STEPS + 1):
            pos, hand_yaw = grasp_pose(TURN * i / ARC_STEPS)
            waypoints.append(Waypoint(pos, down_quat(hand_yaw), linear=True,
                                      gripper="open" if i == ARC_STEPS else None))
        waypoints.append(Waypoint(pos + [0, 0, 0.06], down_quat(hand_yaw), linear=True))
        self.waypoints = numbered(waypoints)
        return [f"turn {option} tap", f"rotate the {option} tap",
                f"grasp the {option} tap and turn it"]

    def variation_count(self) -> int:
        return len(OPTIONS)
