"""pick_and_lift: lift the block of the named colour up to the green target; two distractors."""

from typing import List

from robotr1_data.tasks import parts, parts_objects as po
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedCondition, GraspedCondition
from robotr1_data.tasks.geometry import grasp_yaw, yaw_quat
from robotr1_data.tasks.recipes import pick, reach
from robotr1_data.tasks.regions import WORKSPACE, SpawnRegion

SIZE = 0.045
GOAL_SPACE = SpawnRegion("goal_space", (0.05, -0.2, 0.95), (0.35, 0.2, 1.1))
BLOCKS = ("pick_and_lift_target", "distractor0", "distractor1")


class PickAndLift(Task):
    @classmethod
    def build(cls, scene):
        for b in BLOCKS:
            po.block(scene, b, size=SIZE)
        po.floating_target(scene, "success_target", tolerance=0.03)

    def init_task(self):
        self.register_graspable_objects(list(BLOCKS))
        self.register_success_conditions([GraspedCondition("pick_and_lift_target"),
                                          DetectedCondition("pick_and_lift_target",
                                                            "success_target_region")])
        self.register_low_dim_bodies(list(BLOCKS) + ["success_target"])

    def init_episode(self, index: int) -> List[str]:
        color_name, rgb = parts.COLORS[index]
        others = self.rng.choice([i for i in range(len(parts.COLORS)) if i != index], 2,
                                 replace=False)
        for body, c in zip(BLOCKS, [rgb] + [parts.COLORS[i][1] for i in others]):
            self.sim.set_color(body, c)
        points = WORKSPACE.raised(SIZE / 2).sample(self.rng, 3, min_distance=0.14)
        yaws = self.rng.uniform(-3.14, 3.14, size=3)
        for body, p, yaw in zip(BLOCKS, points, yaws):
            self.sim.set_body_pose(body, p, yaw_quat(yaw))
        (goal,) = GOAL_SPACE.sample(self.rng)
        self.sim.set_body_pose("success_target", goal)
        grip = grasp_yaw(yaws[0])
        x, y, z = points[0]
        grasp_z = z + SIZE / 2 - 0.015
        # The weld keeps the block where the fingers closed, so the TCP ends the same offset
        # above the goal as it was above the block's centre.
        self.waypoints = (pick((x, y, grasp_z), grip)
                          + reach((goal[0], goal[1], goal[2] + grasp_z - z), grip,
                                  name="lift_to_target"))
        return [f"pick up the {color_name} block and lift it up to the target",
                f"grasp the {color_name} block to the target",
                f"lift the {color_name} block up to the target"]

    @classmethod
    def object_names(cls, variation, descriptions):
        # Distractor colours are drawn per episode and not stored; steps keep their generic names.
        return [f"the {parts.COLORS[variation][0]} block", None, None, "the target"]

    def variation_count(self) -> int:
        return len(parts.COLORS)
