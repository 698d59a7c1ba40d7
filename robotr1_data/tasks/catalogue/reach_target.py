"""reach_target: touch the ball of the named colour; two distractor balls of other colours."""

from typing import List

from robotr1_data.tasks import parts
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import TipNearCondition
from robotr1_data.tasks.recipes import numbered, reach
from robotr1_data.tasks.regions import ABOVE_TABLE


class ReachTarget(Task):
    @classmethod
    def build(cls, scene):
        for ball in ("target", "distractor0", "distractor1"):
            parts.target_sphere(scene, ball)

    def init_task(self):
        self.register_success_conditions([TipNearCondition("target", radius=0.03)])
        self.register_low_dim_bodies(["target", "distractor0", "distractor1"])

    def init_episode(self, index: int) -> List[str]:
        color_name, rgb = parts.COLORS[index]
        others = [i for i in range(len(parts.COLORS)) if i != index]
        picks = self.rng.choice(others, size=2, replace=False)
        self.sim.set_color("target", rgb)
        for ball, pick in zip(("distractor0", "distractor1"), picks):
            self.sim.set_color(ball, parts.COLORS[pick][1])
        points = ABOVE_TABLE.sample(self.rng, 3, min_distance=0.12)
        for ball, p in zip(("target", "distractor0", "distractor1"), points):
            self.sim.set_body_pose(ball, p)
        self.waypoints = numbered(reach(points[0]))
        return [f"reach the {color_name} target",
                f"touch the {color_name} ball with the panda gripper",
                f"reach the {color_name} sphere"]

    @classmethod
    def step_names(cls, variation, descriptions):
        return [f"move to the {parts.COLORS[variation][0]} ball"]

    @classmethod
    def object_names(cls, variation, descriptions):
        # The distractors' colours are drawn per episode and not stored: no name tells them apart.
        return [f"the {parts.COLORS[variation][0]} ball", None, None]

    def variation_count(self) -> int:
        return len(parts.COLORS)
