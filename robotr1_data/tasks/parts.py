"""Reusable scene pieces: tasks assemble these instead of copying geometry between files.

Each part adds named bodies to a SceneBuilder and returns the names a task needs. Sizes are in
metres; every part sits on the table top when placed at z = TABLE_TOP_Z.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from robotr1_data.backends.mujoco.scene import SceneBuilder
from robotr1_data.world import TABLE_TOP_Z

# RLBench's colour list (rlbench/const.py), so variation indices mean the same colours.
COLORS: List[Tuple[str, Tuple[float, float, float]]] = [
    ("red", (1.0, 0.0, 0.0)), ("maroon", (0.5, 0.0, 0.0)), ("lime", (0.0, 1.0, 0.0)),
    ("green", (0.0, 0.5, 0.0)), ("blue", (0.0, 0.0, 1.0)), ("navy", (0.0, 0.0, 0.5)),
    ("yellow", (1.0, 1.0, 0.0)), ("cyan", (0.0, 1.0, 1.0)), ("magenta", (1.0, 0.0, 1.0)),
    ("silver", (0.75, 0.75, 0.75)), ("gray", (0.5, 0.5, 0.5)), ("orange", (1.0, 0.5, 0.0)),
    ("olive", (0.5, 0.5, 0.0)), ("purple", (0.5, 0.0, 0.5)), ("teal", (0, 0.5, 0.5)),
    ("azure", (0.0, 0.5, 1.0)), ("violet", (0.5, 0.0, 1.0)), ("rose", (1.0, 0.0, 0.5)),
    ("black", (0.0, 0.0, 0.0)), ("white", (1.0, 1.0, 1.0)),
]
COLOR_DICT: Dict[str, Tuple[float, float, float]] = dict(COLORS)


def target_sphere(scene: SceneBuilder, name: str, radius: float = 0.025) -> str:
    """A floating, non-colliding target ball (reach_target)."""
    body = scene.body(name, pos=(0.2, 0.0, 1.0))
    scene.geom(body, "sphere", [radius], (1, 0, 0, 1), name=f"{name}_geom", collide=False)
    return name


def button(scene: SceneBuilder, name: str, radius: float = 0.022) -> Dict[str, str]:
    """A push button: a fixed housing and a spring-loaded cap on a 15 mm slide joint."""
    base = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z))
    scene.geom(base, "box", [0.045, 0.045, 0.02], (0.25, 0.25, 0.28, 1), pos=(0, 0, 0.02),
               name=f"{name}_housing")
    cap = scene.body(f"{name}_cap", pos=(0, 0, 0.04), parent=name)
    scene.slide_joint(cap, f"{name}_joint", axis=(0, 0, 1), range_=(-0.015, 0.0),
                      stiffness=300.0, damping=5.0)
    scene.geom(cap, "cylinder", [radius, 0.008], (1, 0, 0, 1), pos=(0, 0, 0.008),
               name=f"{name}_cap_geom", density=200)
    return {"body": name, "cap": f"{name}_cap", "joint": f"{name}_joint"}


def cup(scene: SceneBuilder, name: str, radius: float = 0.03, height: float = 0.09) -> str:
    """A free cup the gripper can hold: a solid body with a dark rim disk on top."""
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z), free=True)
    scene.geom(body, "cylinder", [radius, height / 2], (1, 0, 0, 1), pos=(0, 0, height / 2),
               name=f"{name}_body", density=250, friction=(1.5, 0.01, 0.001))
    scene.geom(body, "cylinder", [radius * 0.85, 0.001], (0.1, 0.1, 0.1, 1),
               pos=(0, 0, height + 0.0005), name=f"{name}_rim", collide=False, density=1)
    scene.graspable_body(name)
    return name


def lift_region(scene: SceneBuilder, name: str, height: float = 0.1) -> str:
    """A region above the table: an object whose origin is inside has been lifted."""
    body = scene.body(f"{name}_body", pos=(0.25, 0.0, TABLE_TOP_Z + height + 0.5))
    scene.site(body, name, size=[0.8, 0.9, 0.5])
    return name
