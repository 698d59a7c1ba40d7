"""stack_blocks: stack 2, 3 or 4 blocks of the named colour on the target plane.

Four target blocks share the variation's colour and four distractors another; variation ``i``
asks for ``2 + i % 3`` blocks of colour ``COLORS[i // 3]`` (RLBench's 60 variations).
"""

from typing import List

from robotr1_data.tasks import parts, parts_objects as po
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedSeveralCondition, NothingGrasped
from robotr1_data.tasks.geometry import grasp_yaw, yaw_quat
from robotr1_data.tasks.recipes import pick, place
from robotr1_data.tasks.regions import TABLE

SIZE = 0.045
GRASP_BELOW_CENTRE = -(SIZE / 2 - 0.015)  # the TCP sits this far below the block centre
MAX_STACKED_BLOCKS = 3
TARGETS = [f"stack_blocks_target{i}" for i in range(4)]
DISTRACTORS = [f"stack_blocks_distractor{i}" for i in range(4)]


class StackBlocks(Task):
    @classmethod
    def build(cls, scene):
        for b in TARGETS + DISTRACTORS:
            po.block(scene, b, size=SIZE)
        # The region is narrower than two blocks side by side: only a tower fits inside it.
        po.target_patch(scene, "stack_blocks_target_plane", half=0.035, rgba=(0.2, 0.2, 0.22, 1),
                        region_height=0.3, region_half=0.02)

    def init_task(self):
        self.register_graspable_objects(TARGETS + DISTRACTORS)
        self.register_low_dim_bodies(TARGETS + DISTRACTORS + ["stack_blocks_target_plane"])

    def init_episode(self, index: int) -> List[str]:
        color = index // MAX_STACKED_BLOCKS
        count = 2 + index % MAX_STACKED_BLOCKS
        color_name, rgb = parts.COLORS[color]
        other = self.rng.choice([i for i in range(len(parts.COLORS)) if i != color])
        for b in TARGETS:
            self.sim.set_color(b, rgb)
        for b in DISTRACTORS:
            self.sim.set_color(b, parts.COLORS[other][1])
        self.register_success_conditions([
            DetectedSeveralCondition(TARGETS, "stack_blocks_target_plane_region", count),
            NothingGrasped()])

        points = TABLE.sample(self.rng, 9, min_distance=0.1)
        plane, blocks = points[0], points[1:]
        plane_yaw = self.rng.uniform(-0.8, 0.8)
        self.sim.set_body_pose("stack_blocks_target_plane", plane, yaw_quat(plane_yaw))
        yaws = self.rng.uniform(-3.14, 3.14, size=8)
        for b, p, yaw in zip(TARGETS + DISTRACTORS, blocks, yaws):
            self.sim.set_body_pose(b, (p[0], p[1], p[2] + SIZE / 2), yaw_quat(yaw))

        self.waypoints = []
        place_yaw = grasp_yaw(plane_yaw)
        for k in range(count):
            x, y, z = blocks[k]
            grasp = (x, y, z + SIZE / 2 + GRASP_BELOW_CENTRE)
            # Release each block 3 mm above the one below it.
            centre_z = plane[2] + SIZE * (k + 0.5) + 0.003
            put = (plane[0], plane[1], centre_z + GRASP_BELOW_CENTRE)
            self.waypoints += pick(grasp, grasp_yaw(yaws[k]), prefix=f"block{k}_")
            self.waypoints += place(put, place_yaw, approach=0.06, retreat=0.06,
                                    prefix=f"block{k}_")
        return [f"place {count} of the {color_name} cubes on top of each other",
                f"pick up and set down {count} {color_name} blocks on top of each other",
                f"build a tall tower out of {count} {color_name} cubes",
                f"arrange {count} {color_name} blocks in a vertical stack on the table top",
                f"set {count} {color_name} cubes on top of each other"]

    def variation_count(self) -> int:
        return len(parts.COLORS) * MAX_STACKED_BLOCKS
