"""Waypoint recipes shared by tasks: the same motion written once, not copied into task files."""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from robotr1_data.tasks.base import Waypoint


def pick_and_place(grip: Sequence[float], place: Sequence[float], q_pick: Sequence[float],
                   q_place: Sequence[float], carry_z: float, approach: float = 0.08,
                   retreat: float = 0.06) -> List[Waypoint]:
    """Above the object, straight down, close, straight up to ``carry_z``, across above the
    place, straight down, open, straight back up (RLBench's waypoint0..5 for pick-and-place)."""
    grip, place = np.asarray(grip, float), np.asarray(place, float)
    return [
        Waypoint(grip + [0, 0, approach], q_pick, name="waypoint0"),
        Waypoint(grip, q_pick, gripper="close", linear=True, name="waypoint1"),
        Waypoint((grip[0], grip[1], carry_z), q_pick, linear=True, name="waypoint2"),
        Waypoint((place[0], place[1], carry_z), q_place, name="waypoint3"),
        Waypoint(place, q_place, gripper="open", linear=True, name="waypoint4"),
        Waypoint(place + [0, 0, retreat], q_place, linear=True, name="waypoint5"),
    ]
