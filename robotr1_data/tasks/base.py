"""The Task base class, mirroring RLBench's ``rlbench.backend.task.Task`` hooks.

A task says what is in the scene (``build``), how a variation changes it and what the
instructions are (``init_episode``), where the expert should go (``self.waypoints``) and when it
has succeeded (``register_success_conditions``). Rendering, recording and planning live
elsewhere.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence

import numpy as np

from robotr1_data.tasks.conditions import Condition
# Re-exported: policies and plugins import the gripper orientation from here.
from robotr1_data.tasks.geometry import DOWN_QUAT, down_quat, quat_mul  # noqa: F401
from robotr1_data.tasks.regions import sample_positions  # noqa: F401



def default_approach_quat(task) -> np.ndarray:
    """The gripper orientation (w, x, y, z) for a target that gives none (a policy's keypoint, a
    controller's goal): the task's ``approach_quat`` when it defines one, else the top-down grasp
    ``DOWN_QUAT``."""
    quat = getattr(task, "approach_quat", None)
    return np.asarray(quat if quat is not None else DOWN_QUAT, dtype=np.float64)


@dataclasses.dataclass
class Waypoint:
    """RLBench's ``waypointN`` dummy: a TCP pose plus what to do on arrival.

    ``gripper`` is 'open', 'close' or None; ``linear`` asks for a straight-line path (the
    ``linear`` extension string in RLBench); ``open_amount`` opens to a fraction.
    """

    pos: Sequence[float]
    quat: Sequence[float] = tuple(DOWN_QUAT)
    gripper: Optional[str] = None
    linear: bool = False
    open_amount: float = 1.0
    name: str = ""


class Task:
    """Subclass this in a file named after the task (see docs/tasks.md).

    ``name`` (the name ``--tasks`` takes and shards record) defaults to the module's name, as
    RLBench names a task by its file: ``catalogue/open_drawer.py`` holds task ``open_drawer``.
    """

    name: str = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__module__.rsplit(".", 1)[-1]

    def __init__(self, sim):
        self.sim = sim
        self.rng: np.random.Generator = np.random.default_rng(0)
        self.waypoints: List[Waypoint] = []
        self._success: List[Condition] = []
        self._fail: List[Condition] = []
        self._graspable: List[str] = []
        self._low_dim_bodies: List[str] = []

    # --- scene (RLBench: the task's .ttt file) -------------------------------------------
    @classmethod
    def build(cls, scene) -> None:
        """Add the task's objects to ``scene`` (a SceneBuilder)."""
        raise NotImplementedError

    # --- hooks, as in RLBench ------------------------------------------------------------
    def init_task(self) -> None:
        """Called once after the scene loads: register conditions and graspable objects."""
        raise NotImplementedError

    def init_episode(self, index: int) -> List[str]:
        """Set up variation ``index`` (placing objects with ``self.rng``); return descriptions."""
        raise NotImplementedError

    def variation_count(self) -> int:
        raise NotImplementedError

    def get_low_dim_state(self) -> np.ndarray:
        """Positions of the task's objects (RLBench's ``task_low_dim_state``)."""
        if not self._low_dim_bodies:
            return np.zeros(0)
        return np.concatenate([self.sim.body_position(b) for b in self._low_dim_bodies])

    def cleanup(self) -> None:
        pass

    # --- optional names for Robot-R1 Bench (robotr1_data.bench; docs/bench.md) -------------
    # Class methods, so a reader of a shard can name things without a simulator: the shard
    # stores the variation and descriptions, not the waypoints or body names.
    @classmethod
    def step_names(cls, variation: int, descriptions: Sequence[str]) -> Optional[List[str]]:
        """Short human names of the expert's waypoints in order, like RLBench's waypoint
        comments ("move above the red cup", "close the gripper on the cup", "lift"); one per
        waypoint. None (the default): the bench names each step from its motion and gripper
        action."""
        return None

    @classmethod
    def object_names(cls, variation: int, descriptions: Sequence[str]) -> Optional[List[Optional[str]]]:
        """What a person would call each body of ``task_low_dim_state``, in order ("the red
        cup"); None for a body no name tells apart from another. None (the default): the bench
        derives names from the registered body names."""
        return None

    # --- registration helpers --------------------------------------------------------------
    def register_success_conditions(self, conditions: Sequence[Condition]):
        self._success = list(conditions)

    def register_fail_conditions(self, conditions: Sequence[Condition]):
        self._fail = list(conditions)

    def register_graspable_objects(self, bodies: Sequence[str]):
        self._graspable = list(bodies)

    def register_low_dim_bodies(self, bodies: Sequence[str]):
        self._low_dim_bodies = list(bodies)

    @property
    def graspable_objects(self) -> List[str]:
        return list(self._graspable)

    def reset_conditions(self):
        for c in self._success + self._fail:
            c.reset()

    @property
    def needs_polling(self) -> bool:
        """Whether success must be evaluated every step: true when a condition remembers what
        happened earlier (an ordered or latched ConditionSet), as RLBench polls every step."""
        return any(c.stateful for c in self._success + self._fail)

    def success(self):
        """(all success conditions met, any condition asks to terminate)."""
        results = [c.condition_met(self.sim) for c in self._success]
        met = bool(results) and all(m for m, _ in results)
        terminate = any(t for _, t in results)
        return met, terminate

    def failed(self) -> bool:
        return any(c.condition_met(self.sim)[0] for c in self._fail)

