"""Ground truth of one frame, read from stored simulator state: the plan, the next movement and
the objects' places. Pure functions of arrays (no HDF5), so tests recompute every reference.

- **Plan**: step ``i`` is the expert's waypoint ``i``, reached at ``planner_keypoints[i]``. The
  step in progress at frame ``f`` is the first with ``planner_keypoints[i] > f``. Names come from
  the task's ``step_names`` when it gives one per waypoint, else from motion and gripper action
  (:func:`generic_step_name`).
- **Movement**: the Robot-R1 movement label (``robotr1_data.qa.movement``, the same vocabulary as
  the movement MCQA) of Δ = next keypoint − current gripper position; none when no axis moves.
- **Objects**: body ``k`` of ``task_low_dim_state`` is columns ``3k:3k+3`` (the task's
  registered low-dim bodies, in order); named by the task's ``object_names``, else from the
  body names; a body without a name that tells it apart is not asked about.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence

import numpy as np

from robotr1_data.qa import movement as M
from . import templates as T

NEAR = 0.08  # m: a waypoint this close to an object (at the step's start) is "to" that object in a generic name


# -- names --------------------------------------------------------------------------------

def task_class(task: str):
    """The registered Task class, or None (a plugin not installed here)."""
    from robotr1_data.errors import UsageError
    from robotr1_data.tasks.registry import get_task

    try:
        return get_task(task)
    except UsageError:
        return None


def low_dim_bodies(cls) -> Optional[List[str]]:
    """The bodies a task registers for ``task_low_dim_state``, read by running its ``init_task``
    without a simulator (it only registers names); None when that needs the simulator."""
    from robotr1_data.tasks.base import Task

    try:
        task = cls.__new__(cls)
        Task.__init__(task, None)
        task.init_task()
        return list(task._low_dim_bodies)
    except Exception:  # noqa: BLE001 - a task whose init_task touches the sim: no names
        return None


_FRONTED = {"left", "right", "top", "bottom", "middle", "tall", "short", "small", "large", "big"}


def humanize(body: str, task: str) -> str:
    """``stack_blocks_target_plane`` -> ``the target plane``, ``dustpan_tall`` -> ``the tall
    dustpan``: task prefix, digits and underscores dropped, a trailing position or size word
    put first."""
    name = body[len(task) + 1:] if body.startswith(task + "_") else body
    words = re.sub(r"\d+", " ", name.replace("_", " ")).split()
    if len(words) > 1 and words[-1] in _FRONTED:  # "tap_left" -> "the left tap"
        words = [words[-1]] + words[:-1]
    return "the " + " ".join(words)


def object_names(task: str, variation: int, descriptions: Sequence[str], count: int) -> List[Optional[str]]:
    """One name (or None) per low-dim body; names given twice become None (they tell nothing apart)."""
    cls = task_class(task)
    names: Optional[List[Optional[str]]] = None
    if cls is not None:
        names = cls.object_names(variation, descriptions)
        if names is None:
            bodies = low_dim_bodies(cls)
            names = [humanize(b, task) for b in bodies] if bodies else None
    if names is None or len(names) != count:
        return [None] * count
    seen: Dict[str, int] = {}
    for n in names:
        if n:
            seen[n] = seen.get(n, 0) + 1
    return [n if n and seen[n] == 1 else None for n in names]


def objects_at(low_dim_row: np.ndarray, names: Sequence[Optional[str]]) -> Dict[str, List[float]]:
    """Named objects -> position (world m) from one ``task_low_dim_state`` row."""
    row = np.asarray(low_dim_row, dtype=np.float64).reshape(-1)
    out = {}
    for k, n in enumerate(names):
        if n is not None and row.size >= 3 * k + 3:
            out[n] = [float(v) for v in row[3 * k:3 * k + 3]]
    return out


# -- plan ---------------------------------------------------------------------------------

def generic_step_name(start_xyz, end_xyz, open_before: bool, open_after: bool,
                      objects: Dict[str, List[float]], min_move: float = M.DEFAULT_MIN_MOVE) -> str:
    """A step named from its motion and gripper action: "move down to the red cup and close the
    gripper", "lift", "open the gripper"; "to <object>" when the waypoint is within ``NEAR`` of a
    named object as it was when the step began."""
    code = M.movement_code(np.asarray(end_xyz, float) - np.asarray(start_xyz, float), min_move)
    motion = ""
    if code != (0, 0, 0):
        motion = T.STEP_LIFT if code == (0, 0, 2) and not open_before else M.label(code)
        near = _nearest(end_xyz, objects)
        if near is not None:
            motion = T.STEP_TO.format(motion=motion, target=near)
    grip = T.STEP_CLOSE if open_before and not open_after else T.STEP_OPEN if open_after and not open_before else ""
    if motion and grip:
        return T.STEP_AND.format(a=motion, b=grip)
    return motion or grip or T.STEP_WAIT


def _nearest(xyz, objects: Dict[str, List[float]]) -> Optional[str]:
    best, name = NEAR, None
    for n, p in objects.items():
        d = float(np.linalg.norm(np.asarray(xyz, float) - np.asarray(p, float)))
        if d <= best:
            best, name = d, n
    return name


def plan(gripper_pose: np.ndarray, gripper_open: np.ndarray, planner_keypoints: Sequence[int],
         low_dim: np.ndarray, names: Sequence[Optional[str]], task_names: Optional[Sequence[str]],
         min_move: float = M.DEFAULT_MIN_MOVE) -> List[dict]:
    """The expert's steps: ``{"step", "name", "frame", "gripper_xyz", "gripper_open", "named_by"}``."""
    pk = [int(k) for k in planner_keypoints]
    use_task = task_names is not None and len(task_names) == len(pk)
    steps = []
    prev = 0
    for i, k in enumerate(pk):
        if use_task:
            name, by = str(task_names[i]), "task"
        else:
            # objects where they were when the step began: a held object moves with the gripper
            objs = objects_at(low_dim[prev], names) if len(low_dim) else {}
            name = generic_step_name(gripper_pose[prev, :3], gripper_pose[k, :3], bool(gripper_open[prev] > 0.5),
                                     bool(gripper_open[k] > 0.5), objs, min_move)
            by = "motion"
        steps.append({"step": i + 1, "name": name, "frame": k,
                      "gripper_xyz": [round(float(v), 4) for v in gripper_pose[k, :3]],
                      "gripper_open": bool(gripper_open[k] > 0.5), "named_by": by})
        prev = k
    return steps


def current_step(planner_keypoints: Sequence[int], frame: int) -> Optional[int]:
    """Index of the step in progress at ``frame`` (first waypoint reached after it), or None."""
    pk = np.asarray(planner_keypoints, dtype=np.int64)
    j = int(np.searchsorted(pk, frame, side="right"))
    return j if j < len(pk) else None


# -- spatial ------------------------------------------------------------------------------

def relations(a_xyz, b_xyz, margin: float) -> dict:
    """Where A is relative to B: per axis +1/-1 when |Δ| >= margin, 0 when |Δ| < margin / 2
    (level), None in between (too close to call: not stated, not judged)."""
    d = np.asarray(a_xyz, float) - np.asarray(b_xyz, float)
    axes = []
    for v in d:
        if abs(v) >= margin:
            axes.append(int(np.sign(v)))
        elif abs(v) < margin / 2:
            axes.append(0)
        else:
            axes.append(None)
    return {"delta": [round(float(v), 4) for v in d], "axes": axes,
            "distance": round(float(np.linalg.norm(d)), 4)}


def relation_words(axes: Sequence[Optional[int]]) -> List[str]:
    return [T.RELATION_WORDS[(i, s)] for i, s in enumerate(axes) if s]
