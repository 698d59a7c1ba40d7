"""Local stand-ins for RLBench's observation classes, faithful to their fields and methods.

``rlbench.backend.observation.Observation`` and ``rlbench.demo.Demo`` are what RLBench's
``dataset_generator`` pickles into ``low_dim_obs.pkl``. The restricted unpickler maps those class
paths here, so a dataset loads without RLBench or CoppeliaSim installed; the exporter pickles
these classes *under RLBench's paths*, so RLBench's own loaders (and PerAct, RVT, ARM, which use
them) read our demos as theirs.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..episode import RLBENCH_CAMERAS

CAMERA_FIELDS = ("rgb", "depth", "mask", "point_cloud")
# Observation.__init__'s parameters, in RLBench's order.
OBSERVATION_FIELDS = tuple(f"{c}_{k}" for c in RLBENCH_CAMERAS for k in CAMERA_FIELDS) + (
    "joint_velocities", "joint_positions", "joint_forces", "gripper_open", "gripper_pose",
    "gripper_matrix", "gripper_joint_positions", "gripper_touch_forces", "task_low_dim_state",
    "ignore_collisions", "misc",
)


class Observation:
    """Storage for both visual and low-dimensional observations (RLBench's field names).

    Pickled as ``rlbench.backend.observation.Observation``. Image fields are None in a
    ``low_dim_obs.pkl`` (the images live in PNG folders beside it).
    """

    def __init__(self, *args, **kwargs):
        if len(args) > len(OBSERVATION_FIELDS):
            raise TypeError(f"Observation takes {len(OBSERVATION_FIELDS)} fields, got {len(args)}")
        values = dict(zip(OBSERVATION_FIELDS, args))
        unknown = set(kwargs) - set(OBSERVATION_FIELDS)
        if unknown:
            raise TypeError(f"unknown Observation field(s) {sorted(unknown)}")
        values.update(kwargs)
        for name in OBSERVATION_FIELDS:
            setattr(self, name, values.get(name))
        if self.misc is None:
            self.misc = {}

    def get_low_dim_data(self) -> np.ndarray:
        """Gripper open, joint velocities/positions/forces, gripper pose, gripper joint
        positions, touch forces and task state, concatenated (RLBench's order; None skipped)."""
        low_dim = [] if self.gripper_open is None else [[self.gripper_open]]
        for data in (self.joint_velocities, self.joint_positions, self.joint_forces,
                     self.gripper_pose, self.gripper_joint_positions, self.gripper_touch_forces,
                     self.task_low_dim_state):
            if data is not None:
                low_dim.append(data)
        return np.concatenate(low_dim) if low_dim else np.array([])

    def __repr__(self) -> str:
        pose = getattr(self, "gripper_pose", None)
        return f"Observation(gripper_pose={None if pose is None else np.round(pose, 3).tolist()})"


class Demo:
    """A recorded demonstration: a list of Observations plus the RNG state it started from.

    Pickled as ``rlbench.demo.Demo``; ``random_seed`` is ``numpy.random.get_state()`` upstream.
    """

    def __init__(self, observations, random_seed=None, num_reset_attempts: Optional[int] = None):
        self._observations = list(observations)
        self.random_seed = random_seed
        self.num_reset_attempts = num_reset_attempts

    def __len__(self) -> int:
        return len(self._observations)

    def __getitem__(self, i):
        return self._observations[i]

    def restore_state(self) -> None:
        np.random.set_state(self.random_seed)
