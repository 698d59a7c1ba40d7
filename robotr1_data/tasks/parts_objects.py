"""Reusable free objects and fixed receptacles for the pick, place, push and sweep tasks.

Like ``parts``, each function adds named bodies to a SceneBuilder and returns the names a task
needs. Fixed receptacles (bins, bases, pegs, target patches, dustpans) are plain bodies that a
task moves with ``sim.set_body_pose``; free objects carry a free joint. Regions are box sites
(RLBench's proximity sensors) that ``DetectedCondition`` checks.
"""

from __future__ import annotations

import math
from typing import Dict, List, Sequence

import numpy as np

from robotr1_data.backends.mujoco.scene import SceneBuilder
from robotr1_data.world import TABLE_TOP_Z
from robotr1_data.tasks.geometry import quat_mul, rotate_z, yaw_quat

GREY = (0.35, 0.35, 0.38, 1)
DARK = (0.12, 0.12, 0.14, 1)
GRIP = (1.5, 0.01, 0.001)  # high sliding friction for things the fingers hold


# --- free objects ----------------------------------------------------------------------------
def block(scene: SceneBuilder, name: str, size=0.045, rgba=(1, 0, 0, 1),
          graspable: bool = True, density: float = 300.0, friction=GRIP) -> str:
    """A cube of edge ``size`` (or a box of edges (x, y, z)) whose origin is its centre.

    The block's own ``friction`` wins over the table's and the fingers' (geom priority), so a
    block meant for pushing can slide easily while one meant for grasping grips well.
    """
    sx, sy, sz = (size,) * 3 if np.isscalar(size) else size
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z + sz / 2), free=True)
    scene.geom(body, "box", [sx / 2, sy / 2, sz / 2], rgba, name=f"{name}_geom", density=density,
               friction=friction, priority=1)
    if graspable:
        scene.graspable_body(name)
    return name


def rubbish(scene: SceneBuilder, name: str = "rubbish") -> str:
    """A crumpled paper ball: a squat collision core under a few off-white lumps."""
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z + 0.02), free=True)
    scene.geom(body, "box", [0.02, 0.02, 0.018], (0.9, 0.9, 0.86, 1), name=f"{name}_core",
               density=150, friction=GRIP)
    lumps = [(0.012, 0.01, 0.006, 0.016), (-0.011, 0.008, 0.004, 0.015),
             (0.0, -0.012, 0.007, 0.017), (-0.006, -0.004, -0.004, 0.016)]
    for i, (dx, dy, dz, r) in enumerate(lumps):
        scene.geom(body, "sphere", [r], (0.93, 0.93, 0.9, 1), pos=(dx, dy, dz),
                   name=f"{name}_lump{i}", collide=False, density=1)
    scene.graspable_body(name)
    return name


def tomato(scene: SceneBuilder, name: str, radius: float = 0.024) -> str:
    """A red ball with a green stalk; rolling friction keeps it from wandering off."""
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z + radius), free=True)
    scene.geom(body, "sphere", [radius], (0.85, 0.1, 0.05, 1), name=f"{name}_geom", density=600,
               friction=(1.0, 0.05, 0.02))
    scene.geom(body, "cylinder", [0.004, 0.005], (0.1, 0.5, 0.1, 1), pos=(0, 0, radius),
               name=f"{name}_stalk", collide=False, density=1)
    scene.graspable_body(name)
    return name


def phone(scene: SceneBuilder, name: str = "phone", length: float = 0.12, width: float = 0.056,
          thickness: float = 0.022) -> str:
    """A phone lying flat, long along its local x; origin at its centre."""
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z + thickness / 2), free=True)
    scene.geom(body, "box", [length / 2, width / 2, thickness / 2], DARK, name=f"{name}_body",
               density=500, friction=GRIP)
    scene.geom(body, "box", [length / 2 - 0.006, width / 2 - 0.004, 0.0005], (0.2, 0.35, 0.6, 1),
               pos=(0, 0, thickness / 2), name=f"{name}_screen", collide=False, density=1)
    scene.graspable_body(name)
    return name


def square_ring(scene: SceneBuilder, name: str, inner: float = 0.05, bar: float = 0.014,
                height: float = 0.025, rgba=(0.9, 0.55, 0.1, 1)) -> str:
    """A flat square frame (insert_onto_square_peg's ring): four bars around a square hole."""
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z + height / 2), free=True)
    half_out = inner / 2 + bar
    for i, (px, py, sx, sy) in enumerate([(inner / 2 + bar / 2, 0, bar / 2, half_out),
                                          (-inner / 2 - bar / 2, 0, bar / 2, half_out),
                                          (0, inner / 2 + bar / 2, inner / 2, bar / 2),
                                          (0, -inner / 2 - bar / 2, inner / 2, bar / 2)]):
        scene.geom(body, "box", [sx, sy, height / 2], rgba, pos=(px, py, 0), name=f"{name}_bar{i}",
                   density=400, friction=GRIP)
    scene.graspable_body(name)
    return name


def stick(scene: SceneBuilder, name: str, reach: float = 0.2, tail: float = 0.1,
          handle: float = 0.02, drop: float = 0.055, head_half: Sequence[float] = (0.012, 0.05),
          rgba=(0.55, 0.35, 0.2, 1), head_rgba=(0.25, 0.25, 0.28, 1)) -> Dict[str, float]:
    """A hockey-stick tool (reach_and_drag's stick, a broom) and the rest it lies on.

    A square handle runs along local x; at its -x end a head (half-extents ``head_half`` along
    and across the handle) hangs ``drop`` below the handle, so the handle passes over what the
    head drags. The origin is the grasp point on the handle, ``reach`` from the head's centre.
    At reset the head stands on the table and the handle's far end on a fixed rest
    (``{name}_rest``), so the handle lies level ``drop`` above the table: place both with
    ``place_stick``.
    """
    h = handle / 2
    hx, hy = head_half
    hz = (drop + handle) / 2
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z + drop + h), free=True)
    scene.geom(body, "box", [(reach + tail - hx) / 2, h, h], rgba,
               pos=((tail - reach + hx) / 2, 0, 0), name=f"{name}_handle", density=400,
               friction=GRIP)
    scene.geom(body, "box", [hx, hy, hz], head_rgba, pos=(-reach, 0, h - hz),
               name=f"{name}_head", density=400)
    rest = scene.body(f"{name}_rest", pos=(0.2, 0.3, TABLE_TOP_Z))
    scene.geom(rest, "box", [0.02, 0.03, drop / 2], (0.3, 0.3, 0.33, 1), pos=(0, 0, drop / 2),
               name=f"{name}_rest_geom")
    scene.graspable_body(name)
    return {"body": name, "reach": reach, "tail": tail, "drop": drop, "handle": handle}


def place_stick(sim, name: str, grip_xy: Sequence[float], yaw: float, tail: float = 0.1,
                drop: float = 0.055, handle: float = 0.02) -> np.ndarray:
    """Lay a ``stick`` level with its grasp point at ``grip_xy``; returns that point (x, y, z)."""
    grip = np.array([grip_xy[0], grip_xy[1], TABLE_TOP_Z + drop + handle / 2])
    sim.set_body_pose(name, grip, yaw_quat(yaw))
    rest = grip + rotate_z((tail - 0.03, 0.0, 0.0), yaw)
    sim.set_body_pose(f"{name}_rest", (rest[0], rest[1], TABLE_TOP_Z))
    return grip


CUP_SIDES = 16


def tapered_cup(scene: SceneBuilder, name: str, bottom_radius: float = 0.026,
                top_radius: float = 0.036, height: float = 0.07, wall: float = 0.004,
                rgba=(1, 0, 0, 1), region: bool = False) -> Dict[str, object]:
    """A hollow cup whose walls widen upward, so cups of one size nest (stack_cups).

    The wall is slanted slabs; the origin is the centre of the base. A cup dropped into another
    settles ``nest_pitch`` higher. Thin slabs let a 40 N pinch tunnel through them, so the
    fingers touch an invisible solid grip band at the rim instead. Collision bits: walls (2/2)
    meet only other cups' walls and bases; bases (2/3) also the table; the band (4/1) only
    the gripper and the table, never another cup, so a cup can drop through it. Colour a
    cup through ``cup_geoms`` so the band stays invisible. With ``region`` the cup carries
    a region ``{name}_region`` inside it, moving with it, for cups stacked into it.
    """
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z), free=True)
    slope = math.atan2(top_radius - bottom_radius, height)
    slant = height / math.cos(slope)
    mid = (bottom_radius + top_radius) / 2 - wall / 2
    half_width = (top_radius + bottom_radius) / 2 * math.tan(math.pi / CUP_SIDES) * 1.08
    ry = np.array([math.cos(slope / 2), 0.0, math.sin(slope / 2), 0.0])
    for i in range(CUP_SIDES):
        phi = 2 * math.pi * i / CUP_SIDES
        rz = np.array([math.cos(phi / 2), 0.0, 0.0, math.sin(phi / 2)])
        scene.geom(body, "box", [wall / 2, half_width, slant / 2], rgba,
                   pos=(mid * math.cos(phi), mid * math.sin(phi), height / 2),
                   name=f"{name}_wall{i}", density=400, friction=GRIP,
                   quat=list(quat_mul(rz, ry)), contype=2, conaffinity=2)
    scene.geom(body, "cylinder", [bottom_radius - 0.001, wall / 2], rgba, pos=(0, 0, wall / 2),
               name=f"{name}_base", density=400, friction=GRIP, contype=2, conaffinity=3)
    band_mid = height - 0.012
    band_radius = bottom_radius + (top_radius - bottom_radius) * band_mid / height
    scene.geom(body, "cylinder", [band_radius, 0.01], (0, 0, 0, 0), pos=(0, 0, band_mid),
               name=f"{name}_grip_band", density=1, friction=GRIP, contype=4, conaffinity=1)
    if region:
        scene.site(body, f"{name}_region", size=[0.012, 0.012, 0.04], pos=(0, 0, 0.05))
    scene.graspable_body(name)
    return {"body": name, "height": height,
            "nest_pitch": cup_nest_pitch(bottom_radius, top_radius, height, wall)}


def cup_nest_pitch(bottom_radius: float = 0.026, top_radius: float = 0.036,
                   height: float = 0.07, wall: float = 0.004) -> float:
    """How much higher a ``tapered_cup`` rests when nested in another of the same size."""
    return wall / math.sin(math.atan2(top_radius - bottom_radius, height))


def cup_geoms(name: str) -> List[str]:
    """The visible geoms of a ``tapered_cup`` (for ``sim.set_color``)."""
    return [f"{name}_wall{i}" for i in range(CUP_SIDES)] + [f"{name}_base"]


# --- fixed receptacles and regions -----------------------------------------------------------
def open_box(scene: SceneBuilder, name: str, inner: Sequence[float] = (0.09, 0.11),
             height: float = 0.1, wall: float = 0.006, rgba=GREY) -> Dict[str, str]:
    """A fixed open-topped box (a bin): four walls and a floor, with a region inside."""
    body = scene.body(name, pos=(0.3, 0.0, TABLE_TOP_Z))
    ix, iy = inner
    scene.geom(body, "box", [ix + wall, iy + wall, wall / 2], rgba, pos=(0, 0, wall / 2),
               name=f"{name}_floor")
    for i, (px, py, sx, sy) in enumerate([(ix + wall / 2, 0, wall / 2, iy + wall),
                                          (-ix - wall / 2, 0, wall / 2, iy + wall),
                                          (0, iy + wall / 2, ix, wall / 2),
                                          (0, -iy - wall / 2, ix, wall / 2)]):
        scene.geom(body, "box", [sx, sy, height / 2], rgba, pos=(px, py, height / 2),
                   name=f"{name}_wall{i}")
    region = f"{name}_region"
    scene.site(body, region, size=[ix, iy, height / 2], pos=(0, 0, height / 2))
    return {"body": name, "region": region}


def phone_base(scene: SceneBuilder, name: str = "phone_base", length: float = 0.15,
               width: float = 0.08, height: float = 0.015) -> Dict[str, str]:
    """A flat charging base, long along local x, with stops at both ends and a region on top."""
    body = scene.body(name, pos=(0.3, 0.0, TABLE_TOP_Z))
    scene.geom(body, "box", [length / 2, width / 2, height / 2], (0.8, 0.8, 0.82, 1),
               pos=(0, 0, height / 2), name=f"{name}_plate")
    for i, sign in enumerate((1, -1)):
        scene.geom(body, "box", [0.006, width / 2, 0.012], (0.2, 0.2, 0.22, 1),
                   pos=(sign * (length / 2 + 0.006), 0, 0.012), name=f"{name}_stop{i}")
    scene.geom(body, "box", [0.012, 0.012, 0.0006], (0.1, 0.8, 0.3, 1), pos=(0.05, 0, height),
               name=f"{name}_light", collide=False, density=1)
    region = f"{name}_region"
    scene.site(body, region, size=[0.025, 0.02, 0.02], pos=(0, 0, height + 0.011))
    return {"body": name, "region": region, "top": height}


def target_patch(scene: SceneBuilder, name: str, half: float = 0.05, rgba=(0, 1, 0, 1),
                 region_height: float = 0.06, region_half: float = 0.0) -> Dict[str, str]:
    """A coloured square painted on the table with a region above it (slide/drag targets).

    The region covers the patch unless ``region_half`` narrows it (e.g. to fit only a tower).
    """
    region_half = region_half or half
    body = scene.body(name, pos=(0.3, 0.0, TABLE_TOP_Z))
    scene.geom(body, "box", [half, half, 0.0008], rgba, pos=(0, 0, 0.0008), name=f"{name}_geom",
               collide=False, density=1)
    region = f"{name}_region"
    scene.site(body, region, size=[region_half, region_half, region_height / 2],
               pos=(0, 0, region_height / 2))
    return {"body": name, "region": region}


def peg_stand(scene: SceneBuilder, name: str, count: int = 3, spacing: float = 0.12,
              peg_half: float = 0.017, peg_height: float = 0.06,
              base_height: float = 0.02) -> Dict[str, object]:
    """A fixed bar with ``count`` square pegs along local y, each with a region at its foot
    (insert_onto_square_peg's spokes). Pegs are geoms ``{name}_peg{i}``."""
    body = scene.body(name, pos=(0.3, 0.0, TABLE_TOP_Z))
    length = spacing * (count - 1) / 2 + 0.05
    scene.geom(body, "box", [0.05, length, base_height / 2], (0.4, 0.3, 0.22, 1),
               pos=(0, 0, base_height / 2), name=f"{name}_base")
    pegs, regions = [], []
    for i in range(count):
        y = (i - (count - 1) / 2) * spacing
        pegs.append(f"{name}_peg{i}")
        scene.geom(body, "box", [peg_half, peg_half, peg_height / 2], (0.5, 0.5, 0.5, 1),
                   pos=(0, y, base_height + peg_height / 2), name=pegs[-1])
        regions.append(f"{name}_peg{i}_region")
        scene.site(body, regions[-1], size=[0.012, 0.012, 0.02], pos=(0, y, base_height + 0.02))
    return {"body": name, "pegs": pegs, "regions": regions, "offsets": [
        (0.0, (i - (count - 1) / 2) * spacing) for i in range(count)],
        "top": base_height + peg_height}


def dustpan(scene: SceneBuilder, name: str, wall_height: float = 0.06,
            inner: Sequence[float] = (0.05, 0.065), wall: float = 0.005,
            rgba=(0.2, 0.45, 0.8, 1)) -> Dict[str, str]:
    """A dustpan open toward local +x: back and side walls and a region over its floor.

    The floor is painted on the table (no step for dirt to climb), the side walls are half as
    high as the back wall; ``wall_height`` sets the pan's size ("tall" or "short").
    """
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z))
    ix, iy = inner
    scene.geom(body, "box", [ix, iy, 0.0008], (0.85, 0.85, 0.88, 1), pos=(0, 0, 0.0008),
               name=f"{name}_floor", collide=False, density=1)
    scene.geom(body, "box", [wall / 2, iy + wall, wall_height / 2], rgba,
               pos=(-ix - wall / 2, 0, wall_height / 2), name=f"{name}_back")
    for i, sign in enumerate((1, -1)):
        scene.geom(body, "box", [ix, wall / 2, wall_height / 4], rgba,
                   pos=(0, sign * (iy + wall / 2), wall_height / 4), name=f"{name}_side{i}")
    region = f"{name}_region"
    scene.site(body, region, size=[ix, iy, 0.02], pos=(0, 0, 0.02))
    return {"body": name, "region": region}


def dirt(scene: SceneBuilder, name: str, half: float = 0.006) -> str:
    """One small dark crumb of dirt."""
    body = scene.body(name, pos=(0.2, 0.0, TABLE_TOP_Z + half), free=True)
    scene.geom(body, "box", [half] * 3, (0.3, 0.22, 0.12, 1), name=f"{name}_geom", density=600,
               friction=(0.6, 0.005, 0.0001))
    return name


def floating_target(scene: SceneBuilder, name: str, radius: float = 0.02,
                    tolerance: float = 0.03) -> Dict[str, str]:
    """A non-colliding marker ball with a region around it (pick_and_lift's goal)."""
    body = scene.body(name, pos=(0.2, 0.0, 1.0))
    scene.geom(body, "sphere", [radius], (0.1, 0.9, 0.1, 0.5), name=f"{name}_geom", collide=False)
    region = f"{name}_region"
    scene.site(body, region, size=[tolerance] * 3)
    return {"body": name, "region": region}
