"""Success and failure conditions, composable as in RLBench (``rlbench/backend/conditions.py``).

Each condition answers ``condition_met(sim) -> (met, terminate)``; the simulator argument is the
backend so conditions never touch rendering or planning.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np


class Condition:
    stateful = False  # True when the result depends on earlier steps (must be polled each step)

    def condition_met(self, sim) -> Tuple[bool, bool]:
        raise NotImplementedError

    def reset(self):
        pass


class DetectedCondition(Condition):
    """A body's origin lies inside a box region (a site), like an RLBench proximity sensor."""

    def __init__(self, body: str, region: str, negated: bool = False):
        self.body, self.region, self.negated = body, region, negated

    def condition_met(self, sim):
        inside = sim.point_in_site(sim.body_position(self.body), self.region)
        met = (not inside) if self.negated else inside
        return met, False


class DetectedSeveralCondition(Condition):
    """At least ``count`` of ``bodies`` lie inside ``region`` (RLBench's DetectedSeveralCondition)."""

    def __init__(self, bodies: Sequence[str], region: str, count: int):
        self.bodies, self.region, self.count = list(bodies), region, count

    def condition_met(self, sim):
        inside = sum(sim.point_in_site(sim.body_position(b), self.region) for b in self.bodies)
        return inside >= self.count, False


class TipNearCondition(Condition):
    """The gripper tip is within ``radius`` metres of a body (RLBench's tip-in-sensor check)."""

    def __init__(self, body: str, radius: float):
        self.body, self.radius = body, radius

    def condition_met(self, sim):
        dist = np.linalg.norm(sim.tcp_position() - sim.body_position(self.body))
        return bool(dist <= self.radius), False


class JointCondition(Condition):
    """A joint moved more than ``threshold`` from its position at reset."""

    def __init__(self, joint: str, threshold: float):
        self.joint, self.threshold = joint, threshold

    def condition_met(self, sim):
        return bool(abs(sim.joint_position(self.joint) - sim.joint_reference(self.joint))
                    > self.threshold), False


class GraspedCondition(Condition):
    def __init__(self, body: str):
        self.body = body

    def condition_met(self, sim):
        return sim.grasped() == self.body, False


class NothingGrasped(Condition):
    def condition_met(self, sim):
        return sim.grasped() is None, False


class ConditionSet(Condition):
    """All conditions met; with ``order_matters`` they must become true one after another."""

    def __init__(self, conditions: Sequence[Condition], order_matters: bool = False,
                 simultaneously_met: bool = True):
        self.conditions = list(conditions)
        self.order_matters = order_matters
        self.simultaneously_met = simultaneously_met
        self._done: List[bool] = [False] * len(self.conditions)

    @property
    def stateful(self) -> bool:
        return (self.order_matters or not self.simultaneously_met
                or any(c.stateful for c in self.conditions))

    def reset(self):
        self._done = [False] * len(self.conditions)
        for c in self.conditions:
            c.reset()

    def condition_met(self, sim):
        results = [c.condition_met(sim) for c in self.conditions]
        terminate = any(t for _, t in results)
        if self.order_matters:
            # Latch conditions one after another: the next one counts only once the previous
            # has been met at some step.
            for i, (met, _) in enumerate(results):
                if not self._done[i]:
                    if met and (i == 0 or self._done[i - 1]):
                        self._done[i] = True
                    break
            return all(self._done), terminate
        if self.simultaneously_met:
            return all(m for m, _ in results), terminate
        self._done = [d or m for d, (m, _) in zip(self._done, results)]
        return all(self._done), terminate


class OrConditions(Condition):
    def __init__(self, conditions: Sequence[Condition]):
        self.conditions = list(conditions)

    @property
    def stateful(self) -> bool:
        return any(c.stateful for c in self.conditions)

    def reset(self):
        for c in self.conditions:
            c.reset()

    def condition_met(self, sim):
        results = [c.condition_met(sim) for c in self.conditions]
        return any(m for m, _ in results), any(t for _, t in results)
