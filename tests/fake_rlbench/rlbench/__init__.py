"""Fake RLBench (tests only): the public API of stepjam/RLBench over a numpy 'simulator'."""

__version__ = "1.2.0"

import pyrep  # noqa: F401  (RLBench imports PyRep first; a missing PyRep fails here)

from rlbench.environment import Environment  # noqa: E402
from rlbench.observation_config import ObservationConfig, CameraConfig  # noqa: E402
