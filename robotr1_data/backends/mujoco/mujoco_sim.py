"""The embedded default backend: one MuJoCo model (world + one task's objects) and its cameras.

Control runs at 0.05 s steps like RLBench (25 physics steps of 2 ms); the arm follows joint
targets through position actuators with gravity compensation, the fingers through their own.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import mujoco

from robotr1_data.errors import UsageError
from robotr1_data.backends.protocols import Closing


from robotr1_data.backends.mujoco.scene import (ARM_ACTUATORS, ARM_JOINTS,  # noqa: F401
                                                FINGER_ACTUATORS, FINGER_JOINTS)

FINGER_BODIES = ["panda_leftfinger", "panda_rightfinger"]
FINGER_MAX = 0.04
STATE_SPEC = "mjSTATE_INTEGRATION"


class MujocoSim(Closing):
    name = "mujoco"
    control_dt = 0.05

    def __init__(self, task_cls, cameras: Sequence[str] = (), image_size: Tuple[int, int] = (128, 128),
                 rgb: bool = True, depth: bool = True, mask: bool = True,
                 render_quality: bool = False,
                 tessellation: Optional[Tuple[int, int]] = None, render_threads: Optional[int] = None,
                 render_pipeline: Optional[bool] = None):
        """``tessellation``: opt-in (slices, stacks) for the built-in shapes' drawing
        (``CameraRig``); None draws them as the model says. ``render_threads``: GL contexts
        rendering the cameras side by side (``CameraRig``'s ``threads``; None: its choice).
        ``render_pipeline``: whether ``render_async`` draws in the background (``CameraRig``'s
        ``pipeline``; None: its choice)."""
        from robotr1_data.backends.mujoco.scene import SceneBuilder, home_arm_q

        self.mj = mujoco
        scene = SceneBuilder()
        task_cls.build(scene)
        self.model = scene.compile()
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.n_substeps = int(round(self.control_dt / m.opt.timestep))
        self.settle_substeps = 2 * self.n_substeps
        self._arm_qadr = np.array([m.joint(j).qposadr[0] for j in ARM_JOINTS])
        self._arm_vadr = np.array([m.joint(j).dofadr[0] for j in ARM_JOINTS])
        self._finger_qadr = np.array([m.joint(j).qposadr[0] for j in FINGER_JOINTS])
        self._arm_act = np.array([m.actuator(a).id for a in ARM_ACTUATORS])
        self._finger_act = np.array([m.actuator(a).id for a in FINGER_ACTUATORS])
        self._tcp = m.site("tcp").id
        self._finger_body_ids = {m.body(b).id for b in FINGER_BODIES}
        self._grasp_eq = {name: m.equality(f"grasp_{name}").id for name in scene.graspable}
        self._hand = m.body("panda_hand").id
        self._home_q = home_arm_q(m)
        self._defaults = {"body_pos": m.body_pos.copy(), "body_quat": m.body_quat.copy(),
                          "geom_rgba": m.geom_rgba.copy(), "eq_data": m.eq_data.copy()}
        self._state_spec = getattr(mujoco.mjtState, STATE_SPEC)
        self._grasped: Optional[str] = None
        self._ids: Dict[tuple, int] = {}
        self._joint_ref: Dict[str, float] = {}
        self.overrides: Dict[str, Dict[str, list]] = {}
        self.arm_target = self._home_q.copy()
        self.finger_target = FINGER_MAX
        self.task = task_cls(self)
        self.task.init_task()
        self.cameras = list(cameras)
        self.rig = None
        if cameras:
            from robotr1_data.backends.mujoco.cameras import CameraRig
            self.rig = CameraRig(m, cameras, image_size, rgb=rgb, depth=depth, mask=mask,
                                 quality=render_quality, tessellation=tessellation, threads=render_threads,
                                 pipeline=render_pipeline)

    # --- episode lifecycle -------------------------------------------------------------------
    def reset(self, variation: int, rng: np.random.Generator) -> List[str]:
        count = self.task.variation_count()
        if not 0 <= int(variation) < count:
            raise UsageError(f"task {self.task.name} has {count} variation(s); variation "
                             f"{variation} is out of range 0..{count - 1}")
        mj, m, d = self.mj, self.model, self.data
        self._before_model_edit()
        mj.mj_resetData(m, d)
        for key, value in self._defaults.items():
            getattr(m, key)[:] = value
        m.eq_active0[:] = 0
        d.eq_active[:] = 0
        self.overrides = {}
        self._grasped = None
        d.qpos[self._arm_qadr] = self._home_q
        d.qpos[self._finger_qadr] = FINGER_MAX
        self.arm_target = self._home_q.copy()
        self.finger_target = FINGER_MAX
        self._apply_ctrl()
        self.task.rng = rng
        self.task.reset_conditions()
        descriptions = self.task.init_episode(variation)
        mj.mj_forward(m, d)
        # Let placed objects come to rest on the table before the first recorded frame.
        for _ in range(self.settle_substeps):
            mj.mj_step(m, d)
        d.qvel[:] = 0.0
        mj.mj_forward(m, d)
        self._joint_ref = {m.joint(j).name: float(d.qpos[m.jnt_qposadr[j]]) for j in range(m.njnt)
                           if m.jnt_type[j] in (mj.mjtJoint.mjJNT_SLIDE, mj.mjtJoint.mjJNT_HINGE)}
        return descriptions

    def step(self, arm_target: Optional[np.ndarray] = None,
             finger_target: Optional[float] = None) -> None:
        """Advance one 0.05 s control step toward the given joint / finger targets."""
        if arm_target is not None:
            self.arm_target = np.asarray(arm_target, dtype=np.float64)
        if finger_target is not None:
            self.finger_target = float(finger_target)
        self._apply_ctrl()
        mj_step = self.mj.mj_step
        for _ in range(self.n_substeps):
            mj_step(self.model, self.data)
        # mj_step leaves poses (xpos, site_xpos) computed for the qpos *before* its last
        # integration; recompute so observations, images and the stored state agree.
        self.mj.mj_forward(self.model, self.data)

    def _apply_ctrl(self):
        self.data.ctrl[self._arm_act] = self.arm_target
        self.data.ctrl[self._finger_act] = self.finger_target

    # --- scene edits used by tasks (recorded so the scene can be rebuilt for re-rendering) ---
    def _before_model_edit(self) -> None:
        """Frames from ``render_async`` still being drawn read the model (colours, fixed body
        poses) as well as their copy of the state: let them finish before it changes."""
        if self.rig is not None:
            self.rig.wait()

    def set_body_pose(self, body: str, pos: Sequence[float], quat: Optional[Sequence[float]] = None):
        m, d = self.model, self.data
        self._before_model_edit()
        b = m.body(body)
        if b.jntnum[0] > 0 and m.jnt_type[b.jntadr[0]] == self.mj.mjtJoint.mjJNT_FREE:
            adr = m.jnt_qposadr[b.jntadr[0]]
            d.qpos[adr:adr + 3] = pos
            if quat is not None:
                d.qpos[adr + 3:adr + 7] = quat
            return
        m.body_pos[b.id] = pos
        self.overrides.setdefault("body_pos", {})[body] = [float(v) for v in pos]
        if quat is not None:
            m.body_quat[b.id] = quat
            self.overrides.setdefault("body_quat", {})[body] = [float(v) for v in quat]

    def set_color(self, body: str, rgba: Sequence[float], geoms: Optional[Sequence[str]] = None):
        """Colour a body's geoms (or only the named ones), as RLBench tasks set_color()."""
        m = self.model
        self._before_model_edit()
        bid = m.body(body).id
        ids = [m.geom(g).id for g in geoms] if geoms else [
            g for g in range(m.ngeom) if m.geom_bodyid[g] == bid]
        rgba = list(rgba) + [1.0] * (4 - len(rgba))
        for g in ids:
            m.geom_rgba[g] = rgba
            self.overrides.setdefault("geom_rgba", {})[m.geom(g).name or f"#{g}"] = [float(v) for v in rgba]

    def apply_overrides(self, overrides: Dict[str, Dict[str, list]]) -> None:
        """Re-apply the scene edits recorded for an episode (for re-rendering stored states)."""
        m = self.model
        self._before_model_edit()
        for key, values in overrides.items():
            for name, value in values.items():
                if key == "geom_rgba":
                    gid = int(name[1:]) if name.startswith("#") else m.geom(name).id
                    m.geom_rgba[gid] = value
                else:
                    getattr(m, key)[m.body(name).id] = value

    # --- scene queries -----------------------------------------------------------------------
    # Conditions and observations query objects by name every control step; MuJoCo's named
    # accessors build a view per call, so names are resolved to ids once.
    def _id(self, kind, name: str) -> int:
        key = (kind, name)
        idx = self._ids.get(key)
        if idx is None:
            idx = self._ids[key] = self.mj.mj_name2id(self.model, kind, name)
            if idx < 0:
                raise KeyError(f"no {kind.name[6:].lower()} named {name!r} in the scene")
        return idx

    def body_position(self, body: str) -> np.ndarray:
        return self.data.xpos[self._id(self.mj.mjtObj.mjOBJ_BODY, body)].copy()

    def body_quat(self, body: str) -> np.ndarray:
        return self.data.xquat[self._id(self.mj.mjtObj.mjOBJ_BODY, body)].copy()

    def joint_position(self, joint: str) -> float:
        jid = self._id(self.mj.mjtObj.mjOBJ_JOINT, joint)
        return float(self.data.qpos[self.model.jnt_qposadr[jid]])

    def joint_reference(self, joint: str) -> float:
        return self._joint_ref.get(joint, 0.0)

    def site_position(self, site: str) -> np.ndarray:
        return self.data.site_xpos[self._id(self.mj.mjtObj.mjOBJ_SITE, site)].copy()

    def point_in_site(self, point: np.ndarray, site: str) -> bool:
        sid = self._id(self.mj.mjtObj.mjOBJ_SITE, site)
        local = self.data.site_xmat[sid].reshape(3, 3).T @ (np.asarray(point) - self.data.site_xpos[sid])
        return bool(np.all(np.abs(local) <= self.model.site_size[sid]))

    def tcp_position(self) -> np.ndarray:
        return self.data.site_xpos[self._tcp].copy()

    def tcp_pose(self) -> np.ndarray:
        """x, y, z, qx, qy, qz, qw of the gripper tip (RLBench's gripper_pose order)."""
        quat = np.empty(4)
        self.mj.mju_mat2Quat(quat, self.data.site_xmat[self._tcp])
        if quat[0] < 0:  # one sign for the double cover, so poses compare and interpolate
            quat = -quat
        return np.concatenate([self.data.site_xpos[self._tcp], quat[1:], quat[:1]])

    def arm_q(self) -> np.ndarray:
        return self.data.qpos[self._arm_qadr].copy()

    def finger_opening(self) -> float:
        return float(self.data.qpos[self._finger_qadr].mean() / FINGER_MAX)

    # --- grasping ------------------------------------------------------------------------------
    def try_grasp(self) -> Optional[str]:
        """Attach the graspable object held between the fingers, if any (RLBench's grasp())."""
        if self._grasped is not None:
            return self._grasped
        touching: Dict[str, set] = {}
        m, d = self.model, self.data
        body_names = {m.body(name).id: name for name in self._grasp_eq}
        for i in range(d.ncon):
            c = d.contact[i]
            b1, b2 = m.geom_bodyid[c.geom1], m.geom_bodyid[c.geom2]
            for finger, other in ((b1, b2), (b2, b1)):
                if finger in self._finger_body_ids:
                    root = other
                    while root not in body_names and root != 0:
                        root = m.body_parentid[root]
                    if root in body_names:
                        touching.setdefault(body_names[root], set()).add(finger)
        held = [name for name, fingers in touching.items() if len(fingers) == 2]
        if not held:
            return None
        name = held[0]
        self._attach(name)
        return name

    def _attach(self, name: str):
        mj, m, d = self.mj, self.model, self.data
        eq = self._grasp_eq[name]
        hand_pos, hand_quat = d.xpos[self._hand], d.xquat[self._hand]
        obj = m.body(name).id
        # relpose = pose of the object in the hand frame at the moment of grasping, so the weld
        # holds it exactly where the fingers closed on it.
        neg = np.empty(4)
        mj.mju_negQuat(neg, hand_quat)
        rel_pos = np.empty(3)
        mj.mju_rotVecQuat(rel_pos, d.xpos[obj] - hand_pos, neg)
        rel_quat = np.empty(4)
        mj.mju_mulQuat(rel_quat, neg, d.xquat[obj])
        m.eq_data[eq, 0:3] = 0.0
        m.eq_data[eq, 3:6] = rel_pos
        m.eq_data[eq, 6:10] = rel_quat
        m.eq_data[eq, 10] = 1.0
        d.eq_active[eq] = 1
        self._grasped = name

    def release(self) -> None:
        if self._grasped is not None:
            self.data.eq_active[self._grasp_eq[self._grasped]] = 0
            self._grasped = None

    def grasped(self) -> Optional[str]:
        return self._grasped

    # --- observation ---------------------------------------------------------------------------
    def observe(self) -> Dict[str, np.ndarray]:
        d = self.data
        fingers = d.qpos[self._finger_qadr].copy()
        return {
            "joint_positions": d.qpos[self._arm_qadr].copy(),
            "joint_velocities": d.qvel[self._arm_vadr].copy(),
            "gripper_pose": self.tcp_pose(),
            # RLBench: open when the open amount exceeds 0.9.
            "gripper_open": np.float64(1.0 if fingers.mean() / FINGER_MAX > 0.9 else 0.0),
            "gripper_joint_positions": fingers,
            "sim_state": self.get_state(),
            "task_low_dim_state": np.asarray(self.task.get_low_dim_state(), dtype=np.float64),
        }

    def render(self, out: Optional[Dict[str, np.ndarray]] = None) -> Dict[str, np.ndarray]:
        """The cameras' arrays; written into ``out`` (``image_specs``' keys) when given."""
        return self.rig.render(self.data, out) if self.rig is not None else {}

    def render_async(self, out: Optional[Dict[str, np.ndarray]] = None) -> Callable[[], Dict[str, np.ndarray]]:
        """Start rendering the present state; the returned call gives ``render()``'s arrays.
        The state is copied, so stepping on does not change the frame (``CameraRig.submit``)."""
        if self.rig is None:
            return dict
        return self.rig.submit(self.data, out).result

    def image_specs(self) -> Dict[str, Tuple[Tuple[int, ...], np.dtype]]:
        """key -> (shape, dtype) of each array ``render`` returns, in its order."""
        return self.rig.image_specs() if self.rig is not None else {}

    def camera_parameters(self) -> Dict[str, Dict[str, np.ndarray]]:
        if self.rig is None:
            return {}
        near, far = self.rig.near_far()
        return {cam: {"intrinsics": self.rig.intrinsics(cam),
                      "extrinsics": self.rig.extrinsics(self.data, cam),
                      "near": near, "far": far} for cam in self.rig.cameras}

    def camera_extrinsics(self) -> Dict[str, np.ndarray]:
        """Per-frame camera poses only (intrinsics are fixed): the recorder's hot path."""
        if self.rig is None:
            return {}
        return {cam: self.rig.extrinsics(self.data, cam) for cam in self.rig.cameras}

    def mask_names(self) -> List[str]:
        return [self.model.body(i).name for i in range(self.model.nbody)]

    def get_state(self) -> np.ndarray:
        size = self.mj.mj_stateSize(self.model, self._state_spec)
        state = np.empty(size)
        self.mj.mj_getState(self.model, self.data, state, self._state_spec)
        return state

    def set_state(self, state: np.ndarray) -> None:
        self.mj.mj_setState(self.model, self.data, np.asarray(state, dtype=np.float64),
                            self._state_spec)
        self.mj.mj_forward(self.model, self.data)

    def close(self) -> None:
        if self.rig is not None:
            self.rig.close()
            self.rig = None

