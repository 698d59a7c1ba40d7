"""The policy interface of the closed-loop evaluator: observation -> next keypoint target.

A policy sees what a Robot-R1 model sees (the Robot-R1 prompt, docs/qa.md): camera images, the current state (the
gripper tip's world xyz in metres) and the task description; it answers with the next keypoint
target (PerAct's keyframe action): the TCP xyz, whether the gripper is open there, and optionally
an orientation (w, x, y, z) and a straight-line flag. A target without an orientation is executed
with the task's default approach orientation (:func:`default_approach_quat`, top-down unless the
task sets ``approach_quat``).

A policy that cannot produce a target (an unparseable model answer, say) raises
:class:`PolicyOutputError`; the evaluator counts it as a failure of the episode and goes on.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from robotr1_data.tasks.base import default_approach_quat  # noqa: F401 (part of the policy API)


@dataclasses.dataclass
class Observation:
    """What a policy sees before choosing the next keypoint."""

    task: str
    variation: int
    description: str
    state: np.ndarray  # (3,) TCP xyz, world metres (the paper's "Current Robot State Position")
    gripper_open: bool
    images: Dict[str, np.ndarray]  # camera name -> (H, W, 3) uint8 RGB, e.g. {"front": ...}
    tcp_pose: np.ndarray  # (7,) x, y, z, qx, qy, qz, qw (RLBench's gripper_pose)
    keypoint_index: int  # how many keypoints the episode has executed so far
    joint_positions: Optional[np.ndarray] = None  # (7,) commanded arm joints (the IK seed)


@dataclasses.dataclass
class KeypointTarget:
    """The next keypoint: go to ``xyz`` (orientation ``quat`` or the default), then set the gripper.

    ``hold`` means "stay where you are" (``xyz`` is then only drawn in videos). ``linear`` None
    lets the controller choose (straight line for short moves). ``text`` keeps a model's raw
    answer for the report.
    """

    xyz: np.ndarray
    gripper_open: bool
    quat: Optional[np.ndarray] = None  # w, x, y, z
    linear: Optional[bool] = None
    open_amount: float = 1.0
    hold: bool = False
    text: Optional[str] = None

    def __post_init__(self):
        self.xyz = np.asarray(self.xyz, dtype=np.float64).reshape(3)
        if self.quat is not None:
            self.quat = np.asarray(self.quat, dtype=np.float64).reshape(4)
        self.gripper_open = bool(self.gripper_open)


class PolicyOutputError(Exception):
    """The policy produced no usable target; ``reason`` is the failure category the evaluator
    counts (``unparseable`` or ``unreachable``) and ``text`` the raw output, if any."""

    def __init__(self, reason: str, detail: str = "", text: Optional[str] = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.text = text


@dataclasses.dataclass
class EpisodeContext:
    """Given to ``Policy.reset`` at the start of an episode.

    ``expert_waypoints`` is privileged information (the task's own plan); only the oracle reads it.
    ``rng`` is the policy's own generator, derived from the episode seed (one seeded RNG passed down, never numpy's global one).
    """

    task: str
    variation: int
    descriptions: List[str]
    seed: int
    rng: np.random.Generator
    default_quat: np.ndarray
    expert_waypoints: Sequence = ()


class Policy:
    """Subclass and implement ``predict``; ``cameras`` names the RGB views it needs."""

    name: str = "policy"
    cameras: Tuple[str, ...] = ()

    def reset(self, context: EpisodeContext) -> None:
        self.context = context

    def predict(self, obs: Observation) -> KeypointTarget:
        raise NotImplementedError

    def describe(self) -> dict:
        """Settings worth printing into the results (JSON-serialisable)."""
        return {"name": self.name}

    def close(self) -> None:
        pass
