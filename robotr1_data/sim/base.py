"""The simulator backend interface shared by the embedded MuJoCo backend and RLBench.

A backend owns one simulator with one task loaded. The recorder and the closed-loop evaluator
talk only to this interface; tasks talk to the scene-query methods (positions, joints, grasp).
"""

from __future__ import annotations

import abc
from typing import Dict, List, Optional

import numpy as np


class Closing:
    """``with`` support; by default closing closes the simulator held in ``self.sim``."""

    def close(self) -> None:
        self.sim.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SimBackend(Closing, abc.ABC):
    name = "base"
    control_dt = 0.05  # seconds per control step, as RLBench

    @abc.abstractmethod
    def reset(self, variation: int, rng: np.random.Generator) -> List[str]:
        """Start an episode of ``variation`` placed with ``rng``; return its descriptions."""

    @abc.abstractmethod
    def observe(self) -> Dict[str, np.ndarray]:
        """Low-dim observation fields of the current frame (names as RLBench's Observation)."""

    @abc.abstractmethod
    def render(self) -> Dict[str, np.ndarray]:
        """Images of the configured cameras for the current frame (empty without cameras)."""

    @abc.abstractmethod
    def get_state(self) -> np.ndarray:
        """Flat simulator state from which the frame can be re-rendered."""

    @abc.abstractmethod
    def set_state(self, state: np.ndarray) -> None:
        ...

    @abc.abstractmethod
    def close(self) -> None:
        ...

    def grasped(self) -> Optional[str]:
        return None
