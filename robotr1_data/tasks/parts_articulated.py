"""Reusable articulated and container parts: drawers, jars, taps, saucepans, safes, grills.

Like ``parts``, each helper adds named bodies to a SceneBuilder and returns the names a task
needs. Articulated pieces use real MuJoCo joints (drawers slide, tap handles turn on hinges);
the pieces a gripper must hold are registered with ``scene.graspable_body`` so the weld grasp can
drag a drawer along its slide or turn a handle about its hinge.

Every fixed part is built facing -x (toward the robot) in its own frame; tasks turn it with a yaw
about z and use ``geometry.at`` to turn part-frame points (handles, shelves) into world waypoints.
The expert grasps top-down, so openings and handles are sized for the Panda hand: the hand box spans
0.2 m along the finger axis and 0.06 m across it, from 0.045 m to 0.103 m above the TCP.
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from robotr1_data.backends.mujoco.scene import SceneBuilder
from robotr1_data.world import TABLE_TOP_Z

DRAWER_OPTIONS = ["bottom", "middle", "top"]  # RLBench's order (open_drawer, put_item_in_drawer)
SHELF_OPTIONS = ["bottom", "middle", "top"]   # put_money_in_safe

WOOD = (0.55, 0.38, 0.24, 1)
DARK_WOOD = (0.4, 0.27, 0.17, 1)
METAL = (0.55, 0.56, 0.6, 1)
DARK_METAL = (0.2, 0.2, 0.22, 1)


def _box(scene, body, center, half, rgba, name=None, **kw):
    return scene.geom(body, "box", list(half), rgba, pos=center, name=name, **kw)


# --- drawer cabinet ------------------------------------------------------------------------------
class Cabinet:
    """Dimensions of the three-drawer cabinet (part frame: origin at the floor centre)."""

    depth = 0.22           # along x; the front face is at x = -depth / 2
    width = 0.30
    pitch = 0.12           # drawer slot height; hand clearance to the tab above is ~7 mm
    base = 0.01
    height = base + 3 * pitch
    travel = 0.21          # slide range
    tab_half = (0.035, 0.006, 0.01)
    front = 0.012          # drawer front panel thickness

    @classmethod
    def slot_bottom(cls, k: int) -> float:
        return cls.base + k * cls.pitch

    @classmethod
    def tab_centre(cls, k: int) -> np.ndarray:
        """Centre of drawer k's pull tab (closed), in the cabinet frame."""
        x = -cls.depth / 2 - cls.front - cls.tab_half[0]
        return np.array([x, 0.0, cls.slot_bottom(k) + (cls.pitch - 0.01) / 2])

    @classmethod
    def floor_top(cls, k: int) -> float:
        return cls.slot_bottom(k) + 0.008


def drawer_cabinet(scene: SceneBuilder, name: str = "drawer_frame") -> Dict[str, object]:
    """A cabinet with three drawers (bottom, middle, top) on slide joints along the part's x.

    Each drawer has a pull tab (a graspable body ``<name>_handle_<option>``) sticking out of its
    front, a floor and low walls, and a region site ``success_<option>`` covering its inside.
    Opening a drawer moves its joint ``drawer_joint_<option>`` toward -travel.
    """
    C = Cabinet
    frame = scene.body(name, pos=(0.35, 0.0, TABLE_TOP_Z))
    d, w, h = C.depth / 2, C.width / 2, C.height
    _box(scene, frame, (0, 0, C.base / 2), (d, w, C.base / 2), WOOD, name=f"{name}_bottom")
    _box(scene, frame, (0, 0, h + 0.005), (d, w, 0.005), WOOD, name=f"{name}_top")
    for side in (-1, 1):
        _box(scene, frame, (0, side * (w - 0.005), h / 2), (d, 0.005, h / 2), WOOD)
    _box(scene, frame, (d - 0.005, 0, h / 2), (0.005, w - 0.01, h / 2), WOOD)
    for k in (1, 2):
        _box(scene, frame, (0, 0, C.slot_bottom(k) - 0.005), (d, w - 0.01, 0.005), WOOD)
    out: Dict[str, object] = {"frame": name, "joints": [], "handles": [], "drawers": [],
                              "regions": []}
    for k, option in enumerate(DRAWER_OPTIONS):
        drawer = f"drawer_{option}"
        body = scene.body(drawer, pos=(0, 0, C.slot_bottom(k)), parent=name)
        scene.slide_joint(body, f"drawer_joint_{option}", axis=(1, 0, 0),
                          range_=(-C.travel, 0.0), damping=3.0)
        face_h = (C.pitch - 0.01) / 2
        _box(scene, body, (-d - C.front / 2, 0, face_h), (C.front / 2, w - 0.003, face_h - 0.002),
             DARK_WOOD, name=f"{drawer}_front")
        inner_w = w - 0.013
        _box(scene, body, (-0.01, 0, 0.005), (d - 0.01, inner_w, 0.003), WOOD)
        for side in (-1, 1):
            _box(scene, body, (-0.01, side * (inner_w - 0.003), 0.032), (d - 0.01, 0.003, 0.024),
                 WOOD)
        _box(scene, body, (d - 0.023, 0, 0.032), (0.003, inner_w, 0.024), WOOD)
        handle = scene.body(f"{name}_handle_{option}", pos=tuple(C.tab_centre(k) -
                                                                 [0, 0, C.slot_bottom(k)]),
                            parent=drawer)
        _box(scene, handle, (0, 0, 0), C.tab_half, METAL, name=f"{name}_handle_{option}_geom",
             density=800)
        scene.graspable_body(f"{name}_handle_{option}")
        scene.site(body, f"success_{option}", size=[d - 0.02, inner_w - 0.01, 0.03],
                   pos=(-0.01, 0, 0.035))
        out["joints"].append(f"drawer_joint_{option}")
        out["handles"].append(f"{name}_handle_{option}")
        out["drawers"].append(drawer)
        out["regions"].append(f"success_{option}")
    return out


# --- saucepan ------------------------------------------------------------------------------------
class Saucepan:
    radius = 0.075
    height = 0.07
    lid_half = 0.005      # lid disk half thickness
    knob_top = 0.035      # above the lid's origin (its disk centre)


def saucepan(scene: SceneBuilder, name: str = "saucepan") -> Dict[str, str]:
    """A pan with a side handle and a free lid (``<name>_lid``) with a graspable knob on top.

    The region ``<name>_success`` starts 6 cm above the lid's resting height."""
    S = Saucepan
    pan = scene.body(name, pos=(0.25, 0.0, TABLE_TOP_Z))
    scene.geom(pan, "cylinder", [S.radius, S.height / 2 - 0.002], DARK_METAL,
               pos=(0, 0, S.height / 2 - 0.002), name=f"{name}_pot")
    scene.geom(pan, "cylinder", [S.radius + 0.004, 0.002], METAL, pos=(0, 0, S.height - 0.002),
               name=f"{name}_rim")
    scene.geom(pan, "cylinder", [S.radius - 0.006, 0.0003], (0.08, 0.08, 0.09, 1),
               pos=(0, 0, S.height + 0.0003), collide=False, density=1)
    _box(scene, pan, (0, S.radius + 0.065, S.height - 0.015), (0.012, 0.065, 0.007),
         (0.1, 0.1, 0.1, 1),
         name=f"{name}_handle")
    rest = S.height + S.lid_half
    scene.site(pan, f"{name}_success", size=[0.3, 0.3, 0.3], pos=(0, 0, rest + 0.06 + 0.3))
    lid = scene.body(f"{name}_lid", pos=(0.25, 0.0, TABLE_TOP_Z + rest), free=True)
    scene.geom(lid, "cylinder", [S.radius + 0.004, S.lid_half], METAL, name=f"{name}_lid_disk",
               density=300)
    scene.geom(lid, "cylinder", [0.014, 0.015], (0.1, 0.1, 0.1, 1), pos=(0, 0, S.lid_half + 0.015),
               name=f"{name}_lid_knob", density=300, friction=(1.5, 0.01, 0.001))
    scene.graspable_body(f"{name}_lid")
    return {"pan": name, "lid": f"{name}_lid", "region": f"{name}_success", "rest_z": rest}


# --- jar -----------------------------------------------------------------------------------------
class Jar:
    radius = 0.035
    height = 0.09
    neck_top = 0.102
    lid_radius = 0.03
    lid_half = 0.0125


def jar(scene: SceneBuilder, name: str) -> Dict[str, str]:
    """A glass jar fixed on the table with a screw neck and a region ``<name>_success`` where a
    lid resting on the neck has its origin."""
    J = Jar
    body = scene.body(name, pos=(0.25, 0.0, TABLE_TOP_Z))
    scene.geom(body, "cylinder", [J.radius, J.height / 2], (1, 0, 0, 0.9), pos=(0, 0, J.height / 2),
               name=f"{name}_glass")
    scene.geom(body, "cylinder", [0.026, (J.neck_top - J.height) / 2], (0.85, 0.85, 0.85, 1),
               pos=(0, 0, (J.neck_top + J.height) / 2), name=f"{name}_neck")
    scene.site(body, f"{name}_success", size=[0.012, 0.012, 0.012],
               pos=(0, 0, J.neck_top + J.lid_half))
    return {"jar": name, "glass": f"{name}_glass", "region": f"{name}_success"}


def jar_lid(scene: SceneBuilder, name: str) -> str:
    """A free, graspable screw lid that fits ``jar``."""
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z + Jar.lid_half), free=True)
    scene.geom(body, "cylinder", [Jar.lid_radius, Jar.lid_half], (0.3, 0.3, 0.32, 1),
               name=f"{name}_geom", density=300, friction=(1.5, 0.01, 0.001))
    scene.geom(body, "cylinder", [Jar.lid_radius * 0.7, 0.0008], (0.6, 0.6, 0.62, 1),
               pos=(0, 0, Jar.lid_half + 0.0004), collide=False, density=1)
    scene.graspable_body(name)
    return name


# --- tap -----------------------------------------------------------------------------------------
class Tap:
    handle_y = 0.11      # handles at +y (left, seen from the robot) and -y (right)
    lever = 0.045        # grasp point's distance from the hinge axis
    grip_z = 0.065       # grasp height above the table (lever centre)
    pivot_z = 0.03


def tap(scene: SceneBuilder, name: str = "tap") -> Dict[str, str]:
    """A mixer tap: a base, a column and spout, and two lever handles on vertical hinges.

    Handles ``left_joint`` / ``right_joint`` (as RLBench names them) start with their levers
    pointing toward the robot (part -x); the handle bodies are graspable."""
    base = scene.body(name, pos=(0.3, 0.0, TABLE_TOP_Z))
    _box(scene, base, (0.0, 0, 0.015), (0.07, 0.17, 0.015), (0.85, 0.85, 0.87, 1),
         name=f"{name}_base")
    scene.geom(base, "cylinder", [0.018, 0.1], METAL, pos=(0.05, 0, 0.115), name=f"{name}_column")
    _box(scene, base, (0.0, 0, 0.205), (0.05, 0.012, 0.012), METAL, name=f"{name}_spout",
         collide=False)
    out = {"base": name}
    for side, sign, rgba in (("left", 1, (0.8, 0.1, 0.1, 1)), ("right", -1, (0.1, 0.2, 0.8, 1))):
        handle = scene.body(f"{name}_{side}", pos=(0, sign * Tap.handle_y, Tap.pivot_z),
                            parent=name)
        scene.hinge_joint(handle, f"{side}_joint", axis=(0, 0, 1), range_=(-2.4, 2.4), damping=0.3)
        scene.geom(handle, "cylinder", [0.016, 0.015], METAL, pos=(0, 0, 0.015),
                   name=f"{name}_{side}_hub")
        _box(scene, handle, (-0.035, 0, Tap.grip_z - Tap.pivot_z), (0.035, 0.007, 0.007), rgba,
             name=f"{name}_{side}_lever", friction=(1.5, 0.01, 0.001))
        scene.graspable_body(f"{name}_{side}")
        out[side] = f"{name}_{side}"
    return out


# --- shelf units: safe and cupboard --------------------------------------------------------------
class ShelfUnit:
    """An open-fronted box with ``shelves`` compartments (part frame: floor centre, front at
    x = -depth / 2). Compartments are tall enough for the hand to reach in with a held object."""

    def __init__(self, depth=0.18, width=0.27, pitch=0.15, shelves=3, wall=0.01):
        self.depth, self.width, self.pitch = depth, width, pitch
        self.shelves, self.wall = shelves, wall

    def shelf_top(self, k: int) -> float:
        return self.wall * 2 + k * self.pitch

    @property
    def height(self) -> float:
        return self.shelf_top(self.shelves) - self.wall


SAFE = ShelfUnit()
CUPBOARD = ShelfUnit(depth=0.18, width=0.27, pitch=0.21, shelves=1)


def shelf_unit(scene: SceneBuilder, name: str, unit: ShelfUnit, rgba, region_prefix: str,
               door: bool = False) -> Dict[str, object]:
    """Build ``unit``; each compartment k gets a region site ``<region_prefix><k>``."""
    body = scene.body(name, pos=(0.35, 0.0, TABLE_TOP_Z))
    d, w, t = unit.depth / 2, unit.width / 2, unit.wall
    h = unit.height
    for k in range(unit.shelves + 1):  # floor, shelves and roof
        top = unit.shelf_top(k)
        _box(scene, body, (0, 0, top - t / 2 - (t / 2 if k == 0 else 0)),
             (d, w, t / 2 + (t / 2 if k == 0 else 0)), rgba)
    for side in (-1, 1):
        _box(scene, body, (0, side * (w - t / 2), h / 2 + t / 2), (d, t / 2, h / 2 + t / 2), rgba)
    _box(scene, body, (d - t / 2, 0, h / 2), (t / 2, w - t, h / 2), rgba)
    if door:  # an open door swung back along the left wall (a prop: it does not collide)
        _box(scene, body, (-d - 0.11, w + 0.006, h / 2), (0.11, 0.006, h / 2), rgba, collide=False)
        scene.geom(body, "cylinder", [0.02, 0.004], METAL, pos=(-d - 0.17, w + 0.014, h / 2),
                   collide=False, quat=[0.7071, 0.7071, 0, 0])
    regions = []
    for k in range(unit.shelves):
        region = f"{region_prefix}{k}"
        scene.site(body, region, size=[d - t - 0.005, w - t - 0.005, 0.03],
                   pos=(-t / 2, 0, unit.shelf_top(k) + 0.03))
        regions.append(region)
    return {"body": name, "regions": regions}


def safe(scene: SceneBuilder, name: str = "safe") -> Dict[str, object]:
    """A grey safe with its door open and three shelves (regions success_detector0..2)."""
    return shelf_unit(scene, name, SAFE, (0.3, 0.32, 0.35, 1), "success_detector", door=True)


def cupboard(scene: SceneBuilder, name: str = "cupboard") -> Dict[str, object]:
    """A cupboard standing on the table (RLBench's hangs on a wall) with one compartment,
    region ``<name>_success0``."""
    return shelf_unit(scene, name, CUPBOARD, (0.85, 0.8, 0.7, 1), f"{name}_success")


def money(scene: SceneBuilder, name: str = "dollar_stack") -> str:
    """A free, graspable stack of bank notes (0.1 x 0.05 x 0.025 m)."""
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z + 0.0125), free=True)
    _box(scene, body, (0, 0, 0), (0.05, 0.025, 0.0125), (0.45, 0.65, 0.4, 1), name=f"{name}_geom",
         density=500, friction=(1.5, 0.01, 0.001))
    _box(scene, body, (0, 0, 0), (0.0505, 0.008, 0.0127), (0.85, 0.85, 0.75, 1), collide=False,
         density=1)
    scene.graspable_body(name)
    return name


# --- grill and food ------------------------------------------------------------------------------
class Grill:
    half = (0.1, 0.13, 0.04)
    top = 0.08


def grill(scene: SceneBuilder, name: str = "grill") -> Dict[str, str]:
    """A barbecue grill with a grate top and its lid swung open at part +y (a prop), plus a region
    ``success`` on the table beside it (part -y) where food taken off the grill is set down."""
    body = scene.body(name, pos=(0.25, 0.0, TABLE_TOP_Z))
    hx, hy, hz = Grill.half
    _box(scene, body, (0, 0, hz), (hx, hy, hz), (0.12, 0.12, 0.13, 1), name=f"{name}_box")
    for i in range(7):
        y = -hy + 0.02 + i * (2 * hy - 0.04) / 6
        _box(scene, body, (0, y, Grill.top + 0.001), (hx - 0.01, 0.003, 0.001), METAL,
             collide=False, density=1)
    _box(scene, body, (0, hy + 0.03, Grill.top + 0.085), (hx, 0.008, 0.09), (0.12, 0.12, 0.13, 1),
         name=f"{name}_lid", collide=False, quat=[0.9848, -0.1736, 0, 0])
    scene.site(body, "success", size=[0.1, 0.08, 0.05], pos=(0, -0.25, 0.04))
    return {"grill": name, "region": "success"}


def steak(scene: SceneBuilder, name: str = "steak") -> str:
    body = scene.body(name, pos=(0.25, 0.0, TABLE_TOP_Z + Grill.top + 0.01), free=True)
    _box(scene, body, (0, 0, 0), (0.045, 0.028, 0.01), (0.55, 0.2, 0.15, 1), name=f"{name}_geom",
         density=600, friction=(1.5, 0.01, 0.001))
    scene.graspable_body(name)
    return name


def chicken(scene: SceneBuilder, name: str = "chicken") -> str:
    """A drumstick: a capsule along the part's x with a knuckle at one end."""
    body = scene.body(name, pos=(0.25, 0.0, TABLE_TOP_Z + Grill.top + 0.018), free=True)
    scene.geom(body, "capsule", [0.018, 0.03], (0.8, 0.55, 0.3, 1), name=f"{name}_geom",
               quat=[0.7071068, 0, 0.7071068, 0], density=600, friction=(1.5, 0.01, 0.001))
    scene.geom(body, "sphere", [0.012], (0.95, 0.9, 0.8, 1), pos=(0.055, 0, -0.006),
               density=600)
    scene.graspable_body(name)
    return name


def item_block(scene: SceneBuilder, name: str = "item", size: float = 0.04,
               rgba=(0.9, 0.75, 0.1, 1)) -> str:
    """A free, graspable cube (the item put into drawers)."""
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z + size / 2), free=True)
    _box(scene, body, (0, 0, 0), (size / 2,) * 3, rgba, name=f"{name}_geom", density=400,
         friction=(1.5, 0.01, 0.001))
    scene.graspable_body(name)
    return name


# --- groceries -----------------------------------------------------------------------------------
# RLBench's nine groceries (put_groceries_in_cupboard order) as simple packages: (shape, half
# sizes, colour). Every package is at most 0.06 m across the gripper and 0.09 m tall, so it fits
# the Panda hand and the cupboard.
GROCERIES = [
    ("crackers", "box", (0.04, 0.022, 0.045), (0.9, 0.45, 0.1, 1)),
    ("chocolate jello", "box", (0.03, 0.02, 0.02), (0.4, 0.22, 0.1, 1)),
    ("strawberry jello", "box", (0.03, 0.02, 0.02), (0.95, 0.4, 0.55, 1)),
    ("soup", "cylinder", (0.025, 0.035), (0.8, 0.1, 0.1, 1)),
    ("tuna", "cylinder", (0.03, 0.015), (0.2, 0.35, 0.75, 1)),
    ("spam", "box", (0.035, 0.02, 0.025), (0.15, 0.2, 0.5, 1)),
    ("coffee", "cylinder", (0.03, 0.045), (0.3, 0.18, 0.1, 1)),
    ("mustard", "box", (0.025, 0.018, 0.045), (0.95, 0.85, 0.1, 1)),
    ("sugar", "box", (0.035, 0.02, 0.04), (0.95, 0.95, 0.92, 1)),
]


def grocery_half_height(index: int) -> float:
    _, kind, half, _ = GROCERIES[index]
    return half[2] if kind == "box" else half[1]


def grocery(scene: SceneBuilder, index: int) -> str:
    """Free, graspable grocery ``index`` of GROCERIES, its origin at its centre; body name is
    the grocery name with underscores (RLBench's shape names)."""
    label, kind, half, rgba = GROCERIES[index]
    name = label.replace(" ", "_")
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z + grocery_half_height(index)), free=True)
    size = list(half) if kind == "box" else [half[0], half[1]]
    scene.geom(body, kind, size, rgba, name=f"{name}_geom", density=300,
               friction=(1.5, 0.01, 0.001))
    label_half = ([half[0] + 0.0005, half[1] * 0.6, half[2] * 0.4] if kind == "box"
                  else [half[0] + 0.0005, half[1] * 0.4])
    scene.geom(body, kind, label_half, (0.95, 0.95, 0.95, 1) if index != 8 else (0.2, 0.4, 0.8, 1),
               collide=False, density=1)
    scene.graspable_body(name)
    return name
