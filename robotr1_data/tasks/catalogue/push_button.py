"""push_button: press the button (RLBench varies its colour)."""

from typing import List

from robotr1_data.tasks import parts
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import JointCondition
from robotr1_data.tasks.recipes import numbered, press
from robotr1_data.tasks.regions import NEAR_WORKSPACE

CAP_TOP = 0.056  # cap top above the table: housing 0.04 + cap 0.016


class PushButton(Task):
    @classmethod
    def build(cls, scene):
        parts.button(scene, "push_button_target")

    def init_task(self):
        self.register_success_conditions([JointCondition("push_button_target_joint", 0.006)])
        self.register_low_dim_bodies(["push_button_target_cap"])

    def init_episode(self, index: int) -> List[str]:
        color_name, rgb = parts.COLORS[index]
        self.sim.set_color("push_button_target_cap", rgb)
        (p,) = NEAR_WORKSPACE.sample(self.rng)
        self.sim.set_body_pose("push_button_target", p)
        top = p[2] + CAP_TOP
        yaw = self.rng.uniform(-0.5, 0.5)
        self.waypoints = numbered(press((p[0], p[1], top), yaw))
        return [f"push the {color_name} button", f"push down the {color_name} button",
                f"press the button with the {color_name} base", f"press the {color_name} button"]

    @classmethod
    def step_names(cls, variation, descriptions):
        color = parts.COLORS[variation][0]
        return [f"close the gripper above the {color} button", f"push down on the {color} button"]

    @classmethod
    def object_names(cls, variation, descriptions):
        return [f"the {parts.COLORS[variation][0]} button"]

    def variation_count(self) -> int:
        return len(parts.COLORS)
