"""pick_up_cup: lift the cup of the named colour; a second cup of another colour distracts."""

from typing import List

from robotr1_data.tasks import parts
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedCondition, GraspedCondition
from robotr1_data.tasks.recipes import numbered, pick
from robotr1_data.tasks.regions import NEAR_WORKSPACE

CUP_HEIGHT = 0.09


class PickUpCup(Task):
    @classmethod
    def build(cls, scene):
        parts.cup(scene, "cup1", height=CUP_HEIGHT)
        parts.cup(scene, "cup2", height=CUP_HEIGHT)
        parts.lift_region(scene, "success_region", height=0.1)

    def init_task(self):
        self.register_graspable_objects(["cup1", "cup2"])
        self.register_success_conditions([GraspedCondition("cup1"),
                                          DetectedCondition("cup1", "success_region")])
        self.register_low_dim_bodies(["cup1", "cup2"])

    def init_episode(self, index: int) -> List[str]:
        color_name, rgb = parts.COLORS[index]
        other = self.rng.choice([i for i in range(len(parts.COLORS)) if i != index])
        self.sim.set_color("cup1", rgb, geoms=["cup1_body"])
        self.sim.set_color("cup2", parts.COLORS[other][1], geoms=["cup2_body"])
        points = NEAR_WORKSPACE.sample(self.rng, 2, min_distance=0.15)
        self.sim.set_body_pose("cup1", points[0])
        self.sim.set_body_pose("cup2", points[1])
        x, y, z = points[0]
        yaw = self.rng.uniform(-0.6, 0.6)
        grasp_z = z + CUP_HEIGHT - 0.035
        self.waypoints = numbered(pick((x, y, grasp_z), yaw, approach=0.12, lift=0.2))
        return [f"pick up the {color_name} cup", f"grasp the {color_name} cup and lift it",
                f"lift the {color_name} cup"]

    @classmethod
    def step_names(cls, variation, descriptions):
        color = parts.COLORS[variation][0]
        return [f"move above the {color} cup", f"move down and close the gripper on the {color} cup",
                f"lift the {color} cup"]

    @classmethod
    def object_names(cls, variation, descriptions):
        color = parts.COLORS[variation][0]
        return [f"the {color} cup", "the other cup"]

    def variation_count(self) -> int:
        return len(parts.COLORS)
