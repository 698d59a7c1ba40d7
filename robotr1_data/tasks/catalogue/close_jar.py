"""close_jar: pick the lid up from the table and put it on the jar of the named colour; a second
jar of another colour distracts."""

from typing import List

from robotr1_data.tasks import parts, parts_articulated as pa
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import DetectedCondition, NothingGrasped
from robotr1_data.tasks.geometry import yaw_quat
from robotr1_data.tasks.recipes import numbered, pick_and_place
from robotr1_data.tasks.regions import NEAR_WORKSPACE

JARS = ("jar0", "jar1")


class CloseJar(Task):
    @classmethod
    def build(cls, scene):
        for jar in JARS:
            pa.jar(scene, jar)
        pa.jar_lid(scene, "jar_lid0")

    def init_task(self):
        self.register_graspable_objects(["jar_lid0"])
        self.register_low_dim_bodies(["jar_lid0", *JARS])

    def init_episode(self, index: int) -> List[str]:
        color_name, rgb = parts.COLORS[index]
        target, other = JARS[index % 2], JARS[1 - index % 2]
        distractor = self.rng.choice([i for i in range(len(parts.COLORS)) if i != index])
        self.sim.set_color(target, rgb, geoms=[f"{target}_glass"])
        self.sim.set_color(other, parts.COLORS[distractor][1], geoms=[f"{other}_glass"])
        self.register_success_conditions([NothingGrasped(),
                                          DetectedCondition("jar_lid0", f"{target}_success")])
        points = NEAR_WORKSPACE.sample(self.rng, 3, min_distance=0.16)
        for jar, p in zip(JARS, points[:2]):
            self.sim.set_body_pose(jar, p)
        lid = points[2] + [0, 0, pa.Jar.lid_half]
        self.sim.set_body_pose("jar_lid0", lid, yaw_quat(self.rng.uniform(-3.14, 3.14)))
        jar = points[index % 2]
        grip = lid + [0, 0, 0.004]
        carry_z = jar[2] + pa.Jar.neck_top + 0.08
        place = jar + [0, 0, pa.Jar.neck_top + pa.Jar.lid_half + 0.004 + 0.004]
        pick_yaw, place_yaw = self.rng.uniform(-0.8, 0.8), self.rng.uniform(-0.8, 0.8)
        self.waypoints = numbered(pick_and_place(grip, place, pick_yaw, place_yaw, carry_z))
        return [f"close the {color_name} jar",
                f"screw on the {color_name} jar lid",
                f"grasping the lid, lift it from the table and use it to seal the {color_name} jar",
                f"pick up the lid from the table and put it on the {color_name} jar"]

    def variation_count(self) -> int:
        return len(parts.COLORS)
