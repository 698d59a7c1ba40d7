"""The in-memory episode: what the recorder produces and what a shard stores.

Field names follow RLBench's ``Observation`` so researchers recognise them; arrays are stacked
over time (T frames). Images live in ``images`` keyed ``<camera>_rgb`` / ``<camera>_depth`` /
``<camera>_mask``; they may be missing entirely (recording without cameras) and then
``image_frames`` is empty.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

import numpy as np

# RLBench's five cameras, written once, in the order RLBench's Observation declares them (its
# constructor's parameters and its pickles depend on that order).
RLBENCH_CAMERAS = ("left_shoulder", "right_shoulder", "overhead", "wrist", "front")
# The same five in our order: ``front`` first (the view Robot-R1's questions use), the order
# ``--cameras all`` records and the MuJoCo scene lists its cameras in.
CAMERAS = ("front",) + tuple(c for c in RLBENCH_CAMERAS if c != "front")

# Per-frame low-dim fields: name -> (trailing shape, dtype). The shard writer and validator use
# this table, so a new field is added here once.
LOW_DIM_FIELDS = {
    "joint_positions": ((7,), np.float64),
    "joint_velocities": ((7,), np.float64),
    "gripper_pose": ((7,), np.float64),  # x, y, z, qx, qy, qz, qw (world frame, metres)
    "gripper_open": ((), np.float64),  # 1.0 when open amount > 0.9, else 0.0 (RLBench rule)
    "gripper_joint_positions": ((2,), np.float64),
    "sim_state": ((-1,), np.float64),  # simulator state to re-render the frame (backend-defined)
    "task_low_dim_state": ((-1,), np.float64),
}


@dataclasses.dataclass
class Episode:
    task: str
    variation: int
    seed: int
    descriptions: List[str]
    success: bool
    joint_positions: np.ndarray
    joint_velocities: np.ndarray
    gripper_pose: np.ndarray
    gripper_open: np.ndarray
    gripper_joint_positions: np.ndarray
    sim_state: np.ndarray
    task_low_dim_state: np.ndarray
    planner_keypoints: np.ndarray  # frames at which the expert reached each waypoint
    keypoints: np.ndarray  # ARM/PerAct heuristic keyframes (robotr1_data.keypoints)
    images: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    image_frames: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    camera_intrinsics: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    camera_extrinsics: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    camera_near_far: Dict[str, tuple] = dataclasses.field(default_factory=dict)
    mask_names: List[str] = dataclasses.field(default_factory=list)  # mask id -> body name
    attempts: int = 1  # how many seeds the expert tried before this demo succeeded
    extra: Optional[dict] = None  # backend- or task-specific attributes (JSON-serialisable)

    @property
    def length(self) -> int:
        return int(self.joint_positions.shape[0])

    @property
    def cameras(self) -> List[str]:
        return sorted({k.rsplit("_", 1)[0] for k in self.images})


def cameras_arg(values) -> List[str]:
    """``--cameras``: names, ``all`` (the five RLBench cameras) or ``none``."""
    values = [values] if isinstance(values, str) else list(values)
    if values in (["none"], []):
        return []
    if values == ["all"]:
        return list(CAMERAS)
    return values


def check_views(cameras, image_size, known=CAMERAS) -> None:
    """Refuse camera names not in ``known`` (the scene's cameras: ``sim.scene.scene_cameras()``
    for MuJoCo; RLBench's five by default) and image sizes outside 16..1024 pixels."""
    from robotr1_data.errors import UsageError

    bad = [c for c in cameras if c not in known]
    if bad:
        raise UsageError(f"unknown camera(s) {bad}; choose from {list(known)}")
    h, w = (int(v) for v in image_size)
    if not (16 <= h <= 1024 and 16 <= w <= 1024):
        raise UsageError(f"bad --image-size {h} {w}: both sides must be within 16..1024 pixels")
