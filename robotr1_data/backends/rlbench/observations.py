"""RLBench ``Observation`` -> our fields (same names), camera parameters, depth in metres.

RLBench already uses the conventions our shards use (docs/format.md, docs/rlbench_io.md): extrinsics are
camera->world with the camera looking along +z, intrinsics carry negative focal lengths, and
``gripper_pose`` is (x, y, z, qx, qy, qz, qw). What changes here:

* depth: RLBench returns it normalised to 0..1 between the near and far clipping planes unless
  ``CameraConfig(depth_in_meters=True)``; we always store metres (near + d * (far - near));
* masks: RLBench returns CoppeliaSim object handles per pixel; we store compact ids 0..K-1 with
  their object names in ``mask_names`` (handles that name no object -- the background -- -1);
* camera parameters come from ``obs.misc['<cam>_camera_{extrinsics,intrinsics,near,far}']``;
* ``sim_state`` is the robot + task low-dim state (RLBench cannot restore a frame from a flat
  array: an episode is reproduced from its variation and seed instead).
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from robotr1_data.episode import CAMERAS, Episode
from robotr1_data.errors import UsageError
from robotr1_data.keypoints import discover_keypoints
# The dataset codecs, once: RLBench encodes depth and masks the same way live and on disk.
from robotr1_data.rlbench_io.codec import IMAGE_KINDS, handles_from_rgb, normalised_to_metres

SIM_STATE_LAYOUT = ("joint_positions[7]", "gripper_joint_positions[2]", "gripper_pose[7]",
                    "task_low_dim_state[D]")


def _vector(obs, field: str, size: Optional[int] = None) -> np.ndarray:
    value = getattr(obs, field, None)
    if value is None:
        raise UsageError(f"RLBench observation has no '{field}'; enable it in the "
                         f"ObservationConfig ({field}=True)")
    a = np.asarray(value, dtype=np.float64).reshape(-1)
    if size is not None and a.shape != (size,):
        raise UsageError(f"RLBench observation '{field}' has shape {a.shape}, expected ({size},)"
                         " (only the 7-joint Panda setup is supported)")
    return a


def low_dim(obs) -> Dict[str, np.ndarray]:
    """The per-frame low-dim fields of one Observation, named and shaped as Episode's."""
    task_state = getattr(obs, "task_low_dim_state", None)
    task_state = (np.zeros(0) if task_state is None
                  else np.asarray(task_state, dtype=np.float64).reshape(-1))
    out = {
        "joint_positions": _vector(obs, "joint_positions", 7),
        "joint_velocities": _vector(obs, "joint_velocities", 7),
        "gripper_pose": _vector(obs, "gripper_pose", 7),
        "gripper_open": np.float64(_vector(obs, "gripper_open", 1)[0]),
        "gripper_joint_positions": _vector(obs, "gripper_joint_positions", 2),
        "task_low_dim_state": task_state,
    }
    out["sim_state"] = np.concatenate([out["joint_positions"], out["gripper_joint_positions"],
                                       out["gripper_pose"], task_state])
    return out


def camera_parameters(obs, cameras: Sequence[str]) -> Dict[str, Dict[str, np.ndarray]]:
    """``{cam: {intrinsics (3,3), extrinsics (4,4), near, far}}`` from ``obs.misc``."""
    misc = getattr(obs, "misc", None) or {}
    out = {}
    for cam in cameras:
        keys = {k: f"{cam}_camera_{k}" for k in ("intrinsics", "extrinsics", "near", "far")}
        missing = [v for v in keys.values() if v not in misc]
        if missing:
            raise UsageError(f"RLBench observation misc lacks {missing}; camera '{cam}' must be "
                             "enabled (rgb or depth) in the ObservationConfig to report its "
                             "parameters")
        out[cam] = {
            "intrinsics": np.asarray(misc[keys["intrinsics"]], dtype=np.float64).reshape(3, 3),
            "extrinsics": np.asarray(misc[keys["extrinsics"]], dtype=np.float64).reshape(4, 4),
            "near": float(misc[keys["near"]]),
            "far": float(misc[keys["far"]]),
        }
    return out


def depth_to_metres(depth: np.ndarray, near: float, far: float, in_meters: bool) -> np.ndarray:
    """RLBench depth as float32 metres: normalised 0..1 values are mapped to near..far."""
    d = np.asarray(depth, dtype=np.float64)
    if d.ndim == 3 and d.shape[-1] == 1:
        d = d[..., 0]
    if not in_meters:
        d = normalised_to_metres(d, near, far)
    return d.astype(np.float32)


def images(obs, cameras: Sequence[str], kinds: Iterable[str], depth_in_meters: bool,
           params: Optional[Mapping[str, Mapping[str, float]]] = None) -> Dict[str, np.ndarray]:
    """``<cam>_rgb`` uint8 (H,W,3), ``<cam>_depth`` float32 metres, ``<cam>_mask`` raw handles."""
    kinds = list(kinds)
    params = params if params is not None else camera_parameters(obs, cameras)
    out: Dict[str, np.ndarray] = {}
    for cam in cameras:
        for kind in kinds:
            value = getattr(obs, f"{cam}_{kind}", None)
            if value is None:
                raise UsageError(f"RLBench observation has no '{cam}_{kind}'; enable "
                                 f"{cam}_camera.{kind} in the ObservationConfig")
            if kind == "rgb":
                a = np.asarray(value)
                if a.dtype != np.uint8:  # RLBench gives uint8; a float 0..1 image is scaled
                    a = np.clip(np.round(np.asarray(a, np.float64) * 255.0), 0, 255)
                    a = a.astype(np.uint8)
                out[f"{cam}_rgb"] = a
            elif kind == "depth":
                p = params[cam]
                out[f"{cam}_depth"] = depth_to_metres(value, p["near"], p["far"], depth_in_meters)
            else:
                a = np.asarray(value)
                if a.ndim == 3:  # masks_as_one_channel=False: RGB-coded handles
                    a = handles_from_rgb(a)
                elif a.dtype.kind == "f":  # RLBench decodes handles in floating point
                    a = np.rint(a)
                out[f"{cam}_mask"] = a.astype(np.int64)
    return out


def _pyrep_object_name(handle: int) -> str:
    from pyrep.objects.object import Object
    return Object.get_object_name(int(handle))


class MaskIds:
    """CoppeliaSim handles -> compact ids with names; a handle naming no object is background."""

    def __init__(self, name_of: Optional[Callable[[int], str]] = None):
        self.name_of = name_of or _pyrep_object_name
        self.names: List[str] = []
        self._ids: Dict[int, int] = {}

    def _lookup(self, handle: int) -> int:
        if handle not in self._ids:
            try:
                name = self.name_of(handle)
            except Exception:  # CoppeliaSim raises for a handle that is no object
                name = None
            if not name:
                self._ids[handle] = -1
            else:
                self._ids[handle] = len(self.names)
                self.names.append(str(name))
        return self._ids[handle]

    def __call__(self, handles: np.ndarray) -> np.ndarray:
        handles = np.asarray(handles, dtype=np.int64)
        uniq, inverse = np.unique(handles, return_inverse=True)
        ids = np.array([self._lookup(int(h)) for h in uniq], dtype=np.int32)
        return ids[inverse].reshape(handles.shape)


def demo_to_episode(demo: Sequence, task: str, variation: int, seed: int,
                    descriptions: Sequence[str], cameras: Sequence[str], kinds: Iterable[str],
                    depth_in_meters: bool = False, image_every: int = 1,
                    name_of: Optional[Callable[[int], str]] = None,
                    extra: Optional[dict] = None) -> Episode:
    """One RLBench ``Demo`` (a sequence of Observations) -> our Episode.

    Images are kept at every ``image_every``-th frame and at every keypoint, as the MuJoCo
    recorder does; camera extrinsics are stored per kept image (the wrist camera moves).
    """
    observations = list(demo)
    if not observations:
        raise UsageError("RLBench returned an empty demo")
    unknown = [c for c in cameras if c not in CAMERAS]
    if unknown:
        raise UsageError(f"unknown camera(s) {unknown}; RLBench has {list(CAMERAS)}")
    frames = [low_dim(o) for o in observations]
    sizes = {f["task_low_dim_state"].shape for f in frames}
    if len(sizes) > 1:
        raise UsageError(f"task_low_dim_state changes size within the demo ({sorted(sizes)}); "
                         "cannot stack it")
    stacked = {k: np.stack([f[k] for f in frames]) for k in frames[0]}
    keypoints = discover_keypoints(stacked["joint_velocities"], stacked["gripper_open"])

    kinds = [k for k in kinds if k in IMAGE_KINDS]
    imgs: Dict[str, np.ndarray] = {}
    image_frames = np.zeros(0, np.int64)
    intrinsics, extrinsics, near_far = {}, {}, {}
    mask_ids = MaskIds(name_of)
    if cameras and kinds:
        keep = set(range(0, len(observations), max(1, int(image_every)))) | set(keypoints.tolist())
        image_frames = np.array(sorted(keep), dtype=np.int64)
        per_frame = []
        per_params = []
        for i in image_frames:
            params = camera_parameters(observations[i], cameras)
            per_params.append(params)
            per_frame.append(images(observations[i], cameras, kinds, depth_in_meters, params))
        for key in per_frame[0]:
            stack = np.stack([f[key] for f in per_frame])
            imgs[key] = mask_ids(stack) if key.endswith("_mask") else stack
        first = per_params[0]
        for cam in cameras:
            intrinsics[cam] = first[cam]["intrinsics"]
            near_far[cam] = (first[cam]["near"], first[cam]["far"])
            extrinsics[cam] = np.stack([p[cam]["extrinsics"] for p in per_params])

    info = {"backend": "rlbench", "sim_state_layout": list(SIM_STATE_LAYOUT),
            "depth": "metres (converted from RLBench's normalised depth)"
            if not depth_in_meters else "metres (RLBench depth_in_meters)"}
    info.update(extra or {})
    return Episode(
        task=task, variation=int(variation), seed=int(seed), descriptions=list(descriptions),
        success=True,
        joint_positions=stacked["joint_positions"], joint_velocities=stacked["joint_velocities"],
        gripper_pose=stacked["gripper_pose"], gripper_open=stacked["gripper_open"],
        gripper_joint_positions=stacked["gripper_joint_positions"],
        sim_state=stacked["sim_state"], task_low_dim_state=stacked["task_low_dim_state"],
        # RLBench's demo does not say at which frame each waypoint was reached.
        planner_keypoints=np.zeros(0, np.int64), keypoints=keypoints,
        images=imgs, image_frames=image_frames, camera_intrinsics=intrinsics,
        camera_extrinsics=extrinsics, camera_near_far=near_far,
        mask_names=list(mask_ids.names) if "mask" in kinds and cameras else [],
        extra=info,
    )


def obs_to_dict(obs, cameras: Sequence[str], kinds: Iterable[str],
                depth_in_meters: bool) -> Dict[str, object]:
    """One Observation for a policy: low-dim fields, images and ``<cam>_camera_*`` parameters.

    Masks here keep RLBench's raw object handles (no episode-wide id table exists yet).
    """
    out: Dict[str, object] = dict(low_dim(obs))
    kinds = [k for k in kinds if k in IMAGE_KINDS]
    if cameras:
        params = camera_parameters(obs, cameras)
        if kinds:
            out.update(images(obs, cameras, kinds, depth_in_meters, params))
        for cam, p in params.items():
            for k, v in p.items():
                out[f"{cam}_camera_{k}"] = v
    misc = getattr(obs, "misc", None) or {}
    if "variation_index" in misc:
        out["variation_index"] = int(misc["variation_index"])
    return out
