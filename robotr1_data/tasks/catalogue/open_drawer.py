"""open_drawer: pull the bottom, middle or top drawer of the cabinet open by its handle."""

import math
from typing import List

from robotr1_data.tasks import parts_articulated as pa
from robotr1_data.tasks.base import Task, Waypoint
from robotr1_data.tasks.conditions import JointCondition
from robotr1_data.tasks.geometry import at, grasp_yaw, yaw_quat
from robotr1_data.tasks.recipes import numbered, pull
from robotr1_data.tasks.regions import SpawnRegion

PULL = 0.19  # how far the expert pulls; success needs 0.15 m as in RLBench
CABINET_SPACE = SpawnRegion.on_table("cabinet_space", (0.1, 0.22), (0.25, 0.28))  # or at -y


def drawer_waypoints(origin, yaw, k: int, distance: float = PULL) -> List[Waypoint]:
    """Come down in front of drawer k, grip its tab from the front, pull straight out, let go."""
    tab = pa.Cabinet.tab_centre(k) - [0.01, 0, 0]  # grip the tab's outer half
    front = tab - [0.08, 0, 0]
    above = [front[0], front[1], pa.Cabinet.height + 0.05]
    return numbered(pull(at(origin, yaw, above), at(origin, yaw, front), at(origin, yaw, tab),
                         at(origin, yaw, tab - [distance, 0, 0]), grasp_yaw(yaw, math.pi)))


def place_cabinet(task: Task):
    """Put the cabinet at the robot's left or right, its drawers facing the middle of the table
    and turned up to 0.45 rad toward the front camera."""
    side = task.rng.choice([-1.0, 1.0])
    origin = CABINET_SPACE.point(task.rng, side)
    yaw = side * (math.pi / 2 + task.rng.uniform(0.0, 0.45))
    task.sim.set_body_pose("drawer_frame", origin, yaw_quat(yaw))
    return origin, yaw


class OpenDrawer(Task):
    @classmethod
    def build(cls, scene):
        pa.drawer_cabinet(scene, "drawer_frame")

    def init_task(self):
        handles = [f"drawer_frame_handle_{o}" for o in pa.DRAWER_OPTIONS]
        self.register_graspable_objects(handles)
        self.register_low_dim_bodies(["drawer_frame"] + handles)

    def init_episode(self, index: int) -> List[str]:
        option = pa.DRAWER_OPTIONS[index]
        self.register_success_conditions([JointCondition(f"drawer_joint_{option}", 0.15)])
        origin, yaw = place_cabinet(self)
        self.waypoints = drawer_waypoints(origin, yaw, index)
        return [f"open {option} drawer",
                f"grip the {option} handle and pull the {option} drawer open",
                f"slide the {option} drawer open"]

    def variation_count(self) -> int:
        return len(pa.DRAWER_OPTIONS)
