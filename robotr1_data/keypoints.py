"""Keypoint (keyframe) discovery: the ARM / PerAct heuristic.

A demo's keypoints are the frames where something "decisive" happens: the gripper opens or
closes, the arm comes to rest, or the demo ends. PerAct, C2F-ARM and Robot-R1 all train on the
gripper pose at these frames, so we reproduce the upstream rule *exactly*, quirks included
(ARM's and PerAct's keypoint discovery). Matching upstream matters more than tidiness: a "fixed" rule would give different
keypoints from every published dataset and make our questions incomparable with theirs.

The quirks, kept on purpose:

* the gripper-state check reads frames i-1 and i-2 with Python indexing, so at i = 0 and 1 they
  wrap to the end of the demo (upstream indexes a list with i - 1 / i - 2);
* the gripper-state check only holds for i < N - 2, so the last two frames are never "stopped";
* after a stop the countdown restarts at 4, so a long rest yields one keypoint every 5 frames
  rather than one per frame;
* if the last two keypoints are adjacent frames, the second-to-last is dropped (a stop right
  before the final frame would duplicate the final target).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .errors import UsageError

# Frames to wait after a stop before another stop may count (upstream's ``stopped_buffer``).
STOP_COUNTDOWN = 4


def _is_stopped(
    joint_velocities: np.ndarray,
    gripper_open: np.ndarray,
    i: int,
    countdown: int,
    stopping_delta: float,
) -> bool:
    n = len(gripper_open)
    # Upstream calls this flag ``next_is_not_final`` although it is true when i is the
    # second-to-last frame; the meaning is "i is not the second-to-last frame".
    second_to_last = i == n - 2
    # ``and`` short-circuits, so i + 1 is only read when it exists; i - 1 and i - 2 may be
    # negative and then wrap to the end exactly as upstream's list indexing does.
    g = gripper_open
    gripper_state_no_change = (
        i < n - 2 and g[i] == g[i + 1] and g[i] == g[i - 1] and g[i - 2] == g[i - 1]
    )
    # np.allclose(v, 0, atol=d) is |v| <= d per joint (rtol * 0 vanishes); NaN is never small.
    small_delta = bool(np.allclose(joint_velocities[i], 0.0, atol=stopping_delta))
    return countdown <= 0 and small_delta and not second_to_last and gripper_state_no_change


def discover_keypoints(
    joint_velocities: np.ndarray,
    gripper_open: np.ndarray,
    stopping_delta: float = 0.1,
) -> np.ndarray:
    """Keypoint frame indices of one demo, by the ARM/PerAct rule (sorted, int64).

    ``joint_velocities`` is (T, 7) rad/s, ``gripper_open`` is (T,) with RLBench's 0/1 values.
    Frame 0 is never a keypoint; the last frame always is (for T >= 2).
    """
    joint_velocities = np.asarray(joint_velocities, dtype=np.float64)
    gripper_open = np.asarray(gripper_open).reshape(-1)
    n = len(gripper_open)
    if joint_velocities.ndim != 2 or joint_velocities.shape[0] != n:
        raise UsageError(
            f"discover_keypoints: joint_velocities has shape {joint_velocities.shape} but "
            f"gripper_open has {n} frames; pass (T, 7) velocities and (T,) gripper states "
            "from the same episode"
        )

    keypoints = []
    countdown = 0
    prev_open = gripper_open[0] if n else None
    for i in range(n):
        stopped = _is_stopped(joint_velocities, gripper_open, i, countdown, stopping_delta)
        # The countdown keeps falling below zero while moving; only "<= 0" is ever tested.
        countdown = STOP_COUNTDOWN if stopped else countdown - 1
        last = i == n - 1
        # Frame 0 is the start state, not a target, so it is skipped even if "stopped".
        if i != 0 and (gripper_open[i] != prev_open or last or stopped):
            keypoints.append(i)
        prev_open = gripper_open[i]

    # A stop one frame before the end would make two nearly identical targets; keep the last.
    if len(keypoints) > 1 and keypoints[-1] - 1 == keypoints[-2]:
        keypoints.pop(-2)
    return np.asarray(keypoints, dtype=np.int64)


def next_keypoint(keypoints: Sequence[int], frame: int) -> Optional[int]:
    """The first keypoint strictly after ``frame``, or None when none is left.

    "Strictly" because at a keypoint frame the robot is already at that target: the question
    "where next?" must point to the following one.
    """
    kp = np.asarray(keypoints, dtype=np.int64)
    # keypoints are sorted (discover_keypoints and the shard validator guarantee it), so a
    # binary search finds the first index with kp > frame.
    j = int(np.searchsorted(kp, frame, side="right"))
    return int(kp[j]) if j < len(kp) else None
