"""Compose a task's MuJoCo model: the shared world (robot, table, cameras) plus task objects.

This is our counterpart of an RLBench task's ``.ttt`` scene file. Tasks describe their objects
through the helpers in ``robotr1_data.tasks.parts``, which call into this builder; nothing else
edits MJCF.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import mujoco
import numpy as np

from robotr1_data.world import TABLE_TOP_Z, asset_path

HAND_BODY = "panda_hand"
BASE_BODY = "panda_link0"
BASE_FRAME = "panda_base"  # world.xml's <frame> around the robot's bodies: where the robot stands
# The robot's parts by their MJCF names, so no code depends on qpos or ctrl order.
ARM_JOINTS = [f"panda_joint{i}" for i in range(1, 8)]
FINGER_JOINTS = ["panda_finger_joint1", "panda_finger_joint2"]
ARM_ACTUATORS = [f"actuator{i}" for i in range(1, 8)]
FINGER_ACTUATORS = ["finger1", "finger2"]
HOME_KEY = "home"

GEOM_TYPES = {
    "box": mujoco.mjtGeom.mjGEOM_BOX,
    "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
    "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
    "capsule": mujoco.mjtGeom.mjGEOM_CAPSULE,
}


_CAMERAS_CACHE: dict = {}


def home_arm_q(model: mujoco.MjModel) -> np.ndarray:
    """The arm's joints in the ``home`` keyframe (``panda_settings.xml``), read by joint name:
    the keyframe is the one place the home posture is written."""
    key = model.key(HOME_KEY)
    return np.array([key.qpos[model.joint(j).qposadr[0]] for j in ARM_JOINTS], dtype=np.float64)


def placed_robot_model() -> mujoco.MjModel:
    """``panda.xml`` alone (no table, no task objects) with its base where ``world.xml``'s
    ``panda_base`` frame puts it, so it works in world coordinates: the IK model. The
    placement is read from the world file, the one place it is written."""
    world = mujoco.MjSpec.from_file(str(asset_path("world.xml")))
    base = world.frame(BASE_FRAME)
    if base is None:
        from robotr1_data.errors import UsageError
        raise UsageError(f"{asset_path('world.xml')} has no <frame name=\"{BASE_FRAME}\"> around "
                         "the robot (<include file=\"panda_tree.xml\"/>); put it back")
    spec = mujoco.MjSpec.from_file(str(asset_path("panda.xml")))
    frame = spec.worldbody.add_frame(pos=base.pos, quat=base.quat)
    spec.body(BASE_BODY).set_frame(frame)
    return spec.compile()


def scene_cameras() -> List[str]:
    """Camera names of the compiled world (``world.xml`` with the robot): RLBench's five in
    their usual order, then any other ``<camera>`` in model order. A new camera is one line of
    XML; nothing in Python lists it."""
    from robotr1_data.episode import CAMERAS

    key = str(asset_path("world.xml"))
    if key not in _CAMERAS_CACHE:
        model = mujoco.MjModel.from_xml_path(key)
        names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam)]
        _CAMERAS_CACHE[key] = ([c for c in CAMERAS if c in names]
                               + [c for c in names if c and c not in CAMERAS])
    return list(_CAMERAS_CACHE[key])


class SceneBuilder:
    def __init__(self):
        self.spec = mujoco.MjSpec.from_file(str(asset_path("world.xml")))
        self.graspable: List[str] = []

    def body(self, name: str, pos: Sequence[float] = (0, 0, TABLE_TOP_Z), free: bool = False,
             parent: Optional[str] = None, quat: Sequence[float] = (1, 0, 0, 0)):
        parent_body = self.spec.worldbody if parent is None else self.spec.body(parent)
        body = parent_body.add_body(name=name, pos=list(pos), quat=list(quat))
        if free:
            body.add_freejoint(name=f"{name}_free")
        return body

    def geom(self, body, kind: str, size: Sequence[float], rgba: Sequence[float],
             pos: Sequence[float] = (0, 0, 0), name: Optional[str] = None, collide: bool = True,
             density: float = 400.0, friction: Sequence[float] = (1.0, 0.005, 0.0001), **kw):
        geom = body.add_geom(type=GEOM_TYPES[kind], size=list(size) + [0] * (3 - len(size)),
                             rgba=list(rgba), pos=list(pos), density=density,
                             friction=list(friction), **kw)
        if name:
            geom.name = name
        if not collide:
            geom.contype = 0
            geom.conaffinity = 0
        return geom

    def site(self, body, name: str, size: Sequence[float], pos: Sequence[float] = (0, 0, 0)):
        """A box-shaped region (like RLBench's proximity sensors), invisible in renders."""
        return body.add_site(name=name, type=mujoco.mjtGeom.mjGEOM_BOX, size=list(size),
                             pos=list(pos), rgba=[0, 1, 0, 0], group=4)

    def slide_joint(self, body, name: str, axis, range_, stiffness: float = 0.0,
                    damping: float = 1.0):
        return body.add_joint(name=name, type=mujoco.mjtJoint.mjJNT_SLIDE, axis=list(axis),
                              range=list(range_), limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                              stiffness=stiffness, damping=damping)

    def hinge_joint(self, body, name: str, axis, range_, stiffness: float = 0.0,
                    damping: float = 0.5, pos=(0, 0, 0)):
        return body.add_joint(name=name, type=mujoco.mjtJoint.mjJNT_HINGE, axis=list(axis),
                              range=list(range_), limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                              stiffness=stiffness, damping=damping, pos=list(pos))

    def graspable_body(self, name: str):
        """Register ``name`` so the gripper can hold it: a weld to the hand, off until grasped.

        RLBench attaches a grasped object to the gripper; a weld constraint does the same
        through the solver, so a held object still collides and stays put when released.
        """
        self.graspable.append(name)
        self.spec.add_equality(type=mujoco.mjtEq.mjEQ_WELD, name=f"grasp_{name}",
                               name1=HAND_BODY, name2=name, objtype=mujoco.mjtObj.mjOBJ_BODY,
                               active=False, solref=[0.01, 1.0])

    def compile(self) -> mujoco.MjModel:
        return self.spec.compile()
