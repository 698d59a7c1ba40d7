"""meat_off_grill: take the chicken or the steak off the grill and set it down beside it."""

from typing import List

from robotr1_data.tasks import parts_articulated as pa
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedCondition, NothingGrasped
from robotr1_data.tasks.geometry import at, yaw_quat
from robotr1_data.tasks.recipes import numbered, pick_and_place
from robotr1_data.tasks.regions import SpawnRegion

MEAT = ["chicken", "steak"]
HALF_Z = {"chicken": 0.018, "steak": 0.01}  # resting height of each piece's origin
GRILL_SPACE = SpawnRegion.on_table("grill_space", (0.15, 0.0), (0.3, 0.08))


class MeatOffGrill(Task):
    @classmethod
    def build(cls, scene):
        pa.grill(scene, "grill")
        pa.chicken(scene, "chicken")
        pa.steak(scene, "steak")

    def init_task(self):
        self.register_graspable_objects(MEAT)
        self.register_low_dim_bodies(MEAT + ["grill"])

    def init_episode(self, index: int) -> List[str]:
        meat = MEAT[index]
        self.register_success_conditions([NothingGrasped(), DetectedCondition(meat, "success")])
        origin = GRILL_SPACE.point(self.rng)
        yaw = self.rng.uniform(-0.2, 0.2)
        self.sim.set_body_pose("grill", origin, yaw_quat(yaw))
        slots = [0.065, -0.065]
        self.rng.shuffle(slots)
        poses = {}
        for piece, slot in zip(MEAT, slots):
            local = [self.rng.uniform(-0.03, 0.03), slot + self.rng.uniform(-0.01, 0.01),
                     pa.Grill.top + HALF_Z[piece]]
            piece_yaw = yaw + self.rng.uniform(-0.4, 0.4)
            poses[piece] = (at(origin, yaw, local), piece_yaw)
            self.sim.set_body_pose(piece, poses[piece][0], yaw_quat(piece_yaw))
        pos, piece_yaw = poses[meat]
        grip = pos + [0, 0, 0.005]
        drop = at(origin, yaw, [0.0, -0.25, HALF_Z[meat] + 0.005 + 0.012])
        carry_z = origin[2] + pa.Grill.top + 0.1
        self.waypoints = numbered(pick_and_place(grip, drop, piece_yaw, piece_yaw, carry_z))
        return [f"take the {meat} off the grill",
                f"pick up the {meat} and place it next to the grill",
                f"remove the {meat} from the grill and set it down to the side"]

    def variation_count(self) -> int:
        return len(MEAT)
