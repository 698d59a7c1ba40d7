"""Poses in the world frame, written once for every task and part: quaternions (w, x, y, z, as
MuJoCo stores them), turns about the vertical, the top-down gripper orientation and points of a
part turned on the table.

numpy has no quaternion type and scipy's Rotation orders quaternions (x, y, z, w) and is not a
dependency, so the four small functions tasks need are written here.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

# Gripper pointing straight down (TCP z = -world z), fingers opening along world y at yaw 0.
DOWN_QUAT = np.array([0.0, 1.0, 0.0, 0.0])  # w, x, y, z


def quat_mul(a, b) -> np.ndarray:
    """Hamilton product ``a * b`` of two (w, x, y, z) quaternions: rotate by b, then by a."""
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def yaw_quat(yaw: float) -> np.ndarray:
    """A turn of ``yaw`` radians about world z (w, x, y, z)."""
    return np.array([math.cos(0.5 * yaw), 0.0, 0.0, math.sin(0.5 * yaw)])


def down_quat(yaw: float = 0.0) -> np.ndarray:
    """Top-down gripper orientation turned by ``yaw`` radians about world z (w, x, y, z)."""
    return quat_mul(yaw_quat(yaw), DOWN_QUAT)


def rotate_z(vec: Sequence[float], yaw: float) -> np.ndarray:
    """``vec`` turned by ``yaw`` about z (any components after x, y are kept)."""
    c, s = math.cos(yaw), math.sin(yaw)
    x, y = vec[0], vec[1]
    return np.array([c * x - s * y, s * x + c * y] + list(vec[2:]))


def at(origin: Sequence[float], yaw: float, local: Sequence[float]) -> np.ndarray:
    """World position of the point ``local`` of a part placed at ``origin`` turned by ``yaw``."""
    c, s = math.cos(yaw), math.sin(yaw)
    x, y, z = local
    return np.asarray(origin, float) + np.array([c * x - s * y, s * x + c * y, z])


def grasp_yaw(object_yaw: float, symmetry: float = math.pi / 2) -> float:
    """The gripper yaw closest to zero that lines the fingers up with an object's faces: an
    object that looks the same every ``symmetry`` radians (a cube: a quarter turn; a handle, a
    phone or the parallel gripper itself: a half turn) gives a yaw in [-symmetry/2, symmetry/2)."""
    return (object_yaw + symmetry / 2) % symmetry - symmetry / 2


def segment_distance(point, a, b) -> float:
    """Distance from ``point`` to the segment a-b (to keep a lying tool clear of objects)."""
    point, a, b = (np.asarray(v, float) for v in (point, a, b))
    t = np.clip(np.dot(point - a, b - a) / np.dot(b - a, b - a), 0.0, 1.0)
    return float(np.linalg.norm(point - (a + t * (b - a))))
