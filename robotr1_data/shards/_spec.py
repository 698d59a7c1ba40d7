"""The shard schema as data: names, dtypes, shapes and units, shared by writer, reader, validator.

docs/format.md is the prose version of this module; change both together and bump
SCHEMA_VERSION when a reader of the old version could misread a new file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

try:
    # Importing hdf5plugin registers its filters (zstd among them) with this process's HDF5
    # library, so h5py reads and writes zstd chunks like built-in gzip ones.
    import hdf5plugin  # noqa: F401
except ImportError as e:  # pragma: no cover - hdf5plugin is a hard dependency
    raise ImportError("robotr1 shards are zstd-compressed through hdf5plugin, which is missing: "
                      "pip install hdf5plugin") from e

from ..episode import LOW_DIM_FIELDS

# Version 2: zstd compression (HDF5 filter 32015, from hdf5plugin) and depth stored as
# fixed-point uint32 (DEPTH_STEP_M). Version-1 shards (gzip, float32 depth) still read.
# Version 3: camera intrinsics put the principal point at (W/2 - 0.5, H/2 - 0.5), RLBench's
# pixel convention (versions 1-2 stored (W/2, H/2), half a pixel off). Readers return each
# shard's stored intrinsics as they are, so older shards keep theirs.
SCHEMA_VERSION = 3
EPISODES_GROUP = "episodes"
MANIFEST_NAME = "manifest.json"
SHARD_SUFFIX = ".h5"

# Per-frame low-dim datasets: name -> (units, symbolic shape). Dtypes come from
# episode.LOW_DIM_FIELDS so a new field is declared once.
LOW_DIM_UNITS = {
    "joint_positions": ("rad", "T,7"),
    "joint_velocities": ("rad/s", "T,7"),
    "gripper_pose": ("m (x,y,z), unit quaternion (qx,qy,qz,qw); world frame", "T,7"),
    "gripper_open": ("1.0 open (open amount > 0.9), 0.0 closed", "T"),
    "gripper_joint_positions": ("m (finger joint positions)", "T,2"),
    "sim_state": ("backend-defined simulator state (re-render source of truth)", "T,S"),
    "task_low_dim_state": ("task-defined", "T,D"),
}
assert set(LOW_DIM_UNITS) == set(LOW_DIM_FIELDS), "keep LOW_DIM_UNITS in step with episode.py"

# Frame-index datasets (int64): name -> (units, symbolic shape).
INDEX_FIELDS = {
    "keypoints": ("frame index (ARM/PerAct rule, robotr1_data.keypoints)", "K"),
    "planner_keypoints": ("frame index (expert reached a waypoint)", "P"),
    "image_frames": ("frame index of each stored image (row n of image datasets)", "N"),
}

# Per-camera image datasets, named "<cam>_<kind>": kind -> (dtype as read, trailing shape, units,
# shape). Depth is *stored* as STORED_DEPTH_DTYPE and decoded to float32 metres on read.
IMAGE_KINDS = {
    "rgb": (np.uint8, 3, "uint8 RGB, 0-255", "N,H,W,3"),
    "depth": (np.float32, 2, "m, z-depth along the camera axis", "N,H,W"),
    "mask": (np.int32, 2, "body id (-1 background); names in mask_names", "N,H,W"),
}

# Depth on disk: round(metres / DEPTH_STEP_M) as uint32, with the CF-convention attributes
# ``scale_factor`` (= DEPTH_STEP_M) and ``add_offset`` (0) that xarray/netCDF tools apply on their
# own. Why not float32: the low mantissa bits of rendered depth are noise that no lossless codec
# can squeeze (float32 under gzip was 2.6x RLBench's 24-bit PNG). A power-of-two step makes
# every stored value exactly representable in float32 up to 2^24 steps (256 m), so decoding is
# exact and encode(decode(q)) == q. Maximum error 2^-17 m = 7.6 micrometres: far below any depth
# sensor, and of the order of a 24-bit depth buffer's own step at 1-2 m (about 2.5-10 um).
DEPTH_STEP_M = 2.0 ** -16
STORED_DEPTH_DTYPE = np.uint32
DEPTH_MAX_M = (2 ** 32 - 1) * DEPTH_STEP_M
DEPTH_ATTRS = {"scale_factor": DEPTH_STEP_M, "add_offset": 0.0}  # metres = stored * scale


def encode_depth(depth_m: np.ndarray) -> np.ndarray:
    """Metres (any float array, finite and >= 0) -> stored uint32 steps of DEPTH_STEP_M."""
    d = np.asarray(depth_m, dtype=np.float64)
    return np.rint(np.clip(d, 0.0, DEPTH_MAX_M) / DEPTH_STEP_M).astype(STORED_DEPTH_DTYPE)


def decode_depth(stored: np.ndarray, scale: float = DEPTH_STEP_M) -> np.ndarray:
    """Stored steps -> float32 metres (exact below 256 m: steps < 2^24, power-of-two scale)."""
    return stored.astype(np.float32) * np.float32(scale)


def depth_scale(dataset) -> "float | None":
    """The dataset's ``scale_factor`` if it is stored fixed-point (schema-2 depth), else None
    (rgb, masks, schema-1 float depth): what ``decode_image`` needs for that dataset."""
    scale = dataset.attrs.get("scale_factor")
    return None if scale is None else float(scale)


def decode_image(stored: np.ndarray, scale: "float | None") -> np.ndarray:
    """Stored image rows as read: fixed-point depth to float32 metres, anything else as is."""
    return stored if scale is None else decode_depth(stored, scale)


# Per-camera metadata datasets, named "<cam>_<suffix>".
INTRINSICS = "camera_intrinsics"  # (3,3), RLBench convention: negative focal lengths
EXTRINSICS = "camera_extrinsics"  # (N,4,4) camera->world, one per stored image
NEAR, FAR = "camera_near", "camera_far"  # scalars, m
CAMERA_META_UNITS = {
    INTRINSICS: ("pixels; RLBench convention (negative focal lengths)", "3,3"),
    EXTRINSICS: ("camera->world homogeneous transform, m; camera z forward, x left, y up", "N,4,4"),
    NEAR: ("m", ""),
    FAR: ("m", ""),
}

# Episode group attributes: name -> kind ("json" values are stored as JSON strings).
EPISODE_ATTRS = {
    "task": "str",
    "variation": "int",
    "seed": "int",
    "descriptions": "json",
    "success": "bool",
    "attempts": "int",
    "length": "int",
    "extra": "json",
    "cameras": "json",
}
ROOT_ATTRS = ("schema_version", "config", "created_by", "mask_names", "num_episodes")


def decode_attr(kind: str, value: Any) -> Any:
    """An HDF5 attribute value back to the Python type the writer was given."""
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if kind == "json":
        return json.loads(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    return str(value)


def to_json(value: Any, what: str) -> str:
    from ..errors import UsageError

    try:
        # sort_keys makes the same configuration give the same bytes (stable checksums).
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise UsageError(f"{what} must be JSON-serialisable (plain dicts, lists, numbers, "
                         f"strings): {e}") from None


# File-safety helpers live in robotr1_data.files (no HDF5 import, so the QA store uses them too).
from ..files import (TEMP_MARKER, atomic_write_text, fsync_dir, fsync_file,  # noqa: E402,F401
                     is_own_temp, temp_path, write_error)
