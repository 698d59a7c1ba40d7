"""stack_cups: nest the other two cups inside the cup of the named colour.

The target cup has the variation's colour (RLBench's 20); the other two share another.
"""

from typing import List

from robotr1_data.tasks import parts, parts_objects as po
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedCondition, NothingGrasped
from robotr1_data.tasks.geometry import yaw_quat
from robotr1_data.tasks.recipes import pick, place
from robotr1_data.tasks.regions import WORKSPACE

HEIGHT, WALL = 0.07, 0.004
PITCH = po.cup_nest_pitch(height=HEIGHT, wall=WALL)
CUPS = ["cup_target", "cup1", "cup2"]
GRASP_BELOW_RIM = 0.012  # TCP height below the rim: fingertips at the grip band's foot


class StackCups(Task):
    @classmethod
    def build(cls, scene):
        for cup in CUPS:
            po.tapered_cup(scene, cup, height=HEIGHT, wall=WALL, region=cup == "cup_target")

    def init_task(self):
        self.register_graspable_objects(CUPS)
        self.register_success_conditions([DetectedCondition("cup1", "cup_target_region"),
                                          DetectedCondition("cup2", "cup_target_region"),
                                          NothingGrasped()])
        self.register_low_dim_bodies(CUPS)

    def init_episode(self, index: int) -> List[str]:
        color_name, rgb = parts.COLORS[index]
        other = self.rng.choice([i for i in range(len(parts.COLORS)) if i != index])
        for cup, c in zip(CUPS, [rgb] + [parts.COLORS[other][1]] * 2):
            self.sim.set_color(cup, c, geoms=po.cup_geoms(cup))
        points = WORKSPACE.sample(self.rng, 3, min_distance=0.15)
        for cup, p in zip(CUPS, points):
            self.sim.set_body_pose(cup, p, yaw_quat(self.rng.uniform(-3.14, 3.14)))
        base = points[0]
        self.waypoints = []
        for k, p in enumerate(points[1:], start=1):
            yaw = self.rng.uniform(-0.6, 0.6)
            grasp = (p[0], p[1], p[2] + HEIGHT - GRASP_BELOW_RIM)
            # Let go 2 cm above where the cup will rest nested in the stack.
            release = (base[0], base[1], base[2] + k * PITCH + 0.02 + HEIGHT - GRASP_BELOW_RIM)
            self.waypoints += pick(grasp, yaw, approach=0.06, lift=0.17, prefix=f"cup{k}_")
            self.waypoints += place(release, yaw, approach=0.06, retreat=0.08, prefix=f"cup{k}_")
        return [f"stack the other cups on top of the {color_name} cup",
                "place two of the cups onto the odd cup out",
                f"put the remaining two cups on top of the {color_name} cup",
                f"pick up and set the cups down into the {color_name} cup",
                f"create a stack of cups with the {color_name} cup as its base",
                f"keeping the {color_name} cup on the table, stack the other two onto it"]

    def variation_count(self) -> int:
        return len(parts.COLORS)
