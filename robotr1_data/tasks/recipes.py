"""Motion recipes: the expert's waypoints for the motions tasks share, written once.

A task says *where* (the grasp point, the place, the stroke) and *which* recipe; the recipe says
how the hand gets there: from above, straight down, close or open, straight back up. Every
position is the TCP's (world frame); every orientation is the top-down grasp turned by ``yaw``
(``geometry.down_quat``). Straight moves are ``linear`` waypoints (RLBench's ``linear``
extension string). Each recipe names its waypoints by role; ``numbered`` renames a whole list
RLBench's way (``waypoint0`` .. ``waypointN``) and ``names=`` gives the task's own.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence

from robotr1_data.tasks.base import Waypoint
from robotr1_data.tasks.geometry import down_quat


def numbered(waypoints: Sequence[Waypoint], start: int = 0) -> List[Waypoint]:
    """The waypoints renamed ``waypoint<start>``, ``waypoint<start + 1>``, ... in order."""
    return [dataclasses.replace(w, name=f"waypoint{start + i}") for i, w in enumerate(waypoints)]


def _named(waypoints: List[Waypoint], names: Optional[Sequence[str]]) -> List[Waypoint]:
    """The task's own names for the recipe's waypoints, when it gives them (one per waypoint)."""
    if names is None:
        return waypoints
    if len(names) != len(waypoints):
        raise ValueError(f"{len(names)} names for {len(waypoints)} waypoints")
    return [dataclasses.replace(w, name=n) for w, n in zip(waypoints, names)]


def reach(pos: Sequence[float], yaw: float = 0.0, linear: bool = False,
          name: str = "reach") -> List[Waypoint]:
    """One move of the hand to ``pos`` (gripper unchanged)."""
    return [Waypoint(pos, down_quat(yaw), linear=linear, name=name)]


def pick(pos: Sequence[float], yaw: float, approach: float = 0.1, lift: Optional[float] = 0.15,
         carry_z: Optional[float] = None, open_amount: Optional[float] = None,
         prefix: str = "",
         names: Optional[Sequence[str]] = None) -> List[Waypoint]:
    """``approach`` above ``pos``, straight down, close on the object, straight up by ``lift``
    (or to the height ``carry_z``; with neither, stay down: the hand then drags a handle).

    ``open_amount`` opens the fingers only that far on the way down (a part narrower than the
    open hand's span beside it)."""
    x, y, z = pos
    q = down_quat(yaw)
    if open_amount is None:
        above = Waypoint((x, y, z + approach), q, name=f"{prefix}approach")
    else:
        above = Waypoint((x, y, z + approach), q, gripper="open", open_amount=open_amount,
                         name=f"{prefix}approach")
    out = [above, Waypoint((x, y, z), q, gripper="close", linear=True, name=f"{prefix}grasp")]
    if carry_z is not None:
        out.append(Waypoint((x, y, carry_z), q, linear=True, name=f"{prefix}lift"))
    elif lift is not None:
        out.append(Waypoint((x, y, z + lift), q, linear=True, name=f"{prefix}lift"))
    return _named(out, names)


def place(pos: Sequence[float], yaw: float, approach: float = 0.1,
          retreat: Optional[float] = 0.1, carry_z: Optional[float] = None,
          open_amount: float = 1.0, prefix: str = "",
          names: Optional[Sequence[str]] = None) -> List[Waypoint]:
    """``approach`` above ``pos`` (or at the height ``carry_z``), straight down, open (to
    ``open_amount``), straight back up by ``retreat`` (None: stay). The TCP pose at release is
    ``pos``: a held object lands where it was held relative to the hand."""
    x, y, z = pos
    q = down_quat(yaw)
    out = [Waypoint((x, y, z + approach if carry_z is None else carry_z), q, name=f"{prefix}above"),
           Waypoint((x, y, z), q, gripper="open", linear=True, open_amount=open_amount,
                    name=f"{prefix}release")]
    if retreat is not None:
        out.append(Waypoint((x, y, z + retreat), q, linear=True, name=f"{prefix}retreat"))
    return _named(out, names)


def pick_and_place(grip: Sequence[float], put: Sequence[float], pick_yaw: float, place_yaw: float,
                   carry_z: float, approach: float = 0.08, retreat: float = 0.06) -> List[Waypoint]:
    """Pick at ``grip``, carry at the height ``carry_z``, put down at ``put`` (RLBench's
    waypoint0..5 for pick-and-place)."""
    return (pick(grip, pick_yaw, approach=approach, carry_z=carry_z)
            + place(put, place_yaw, retreat=retreat, carry_z=carry_z))


def put_inside(above: Sequence[float], front: Sequence[float], inside: Sequence[float],
               yaw: float,
               names: Optional[Sequence[str]] = None) -> List[Waypoint]:
    """Carry a held object into a compartment through its open side: over to ``above``, straight
    down to ``front`` (level with the shelf, outside), straight in to ``inside``, let go, back
    out to ``front``."""
    q = down_quat(yaw)
    return _named([Waypoint(above, q, name="above"),
                   Waypoint(front, q, linear=True, name="front"),
                   Waypoint(inside, q, gripper="open", linear=True, name="release"),
                   Waypoint(front, q, linear=True, name="retreat")], names)


def press(top: Sequence[float], yaw: float, approach: float = 0.08, depth: float = 0.012,
          release: Optional[float] = None, close: bool = True, prefix: str = "",
          names: Optional[Sequence[str]] = None) -> List[Waypoint]:
    """Press a button whose top is at ``top``: closed fingers ``approach`` above it, straight
    down ``depth`` below the top, and (with ``release``) straight back up to ``release`` above
    it. ``close=False`` when the fingers are closed already (the next of several buttons)."""
    x, y, z = top
    q = down_quat(yaw)
    out = [Waypoint((x, y, z + approach), q, gripper="close" if close else None,
                    name=f"{prefix}above"),
           Waypoint((x, y, z - depth), q, linear=True, name=f"{prefix}press")]
    if release is not None:
        out.append(Waypoint((x, y, z + release), q, linear=True, name=f"{prefix}release"))
    return _named(out, names)


def push(start: Sequence[float], end: Sequence[float], z: float, yaw: float,
         hover: float = 0.08, lift: Optional[float] = 0.06, close: bool = True,
         names: Optional[Sequence[str]] = None) -> List[Waypoint]:
    """A straight stroke along the table at the TCP height ``z``, from ``start`` to ``end``
    (x, y): come down ``hover`` above the start (closing the fingers, unless ``close=False``
    because they hold a tool), lower, push (or drag with a held tool), then lift by ``lift``
    (None: stay)."""
    q = down_quat(yaw)
    out = [Waypoint((start[0], start[1], z + hover), q, gripper="close" if close else None,
                    name="above_start"),
           Waypoint((start[0], start[1], z), q, linear=True, name="push_start"),
           Waypoint((end[0], end[1], z), q, linear=True, name="push_end")]
    if lift is not None:
        out.append(Waypoint((end[0], end[1], z + lift), q, linear=True, name="lift"))
    return _named(out, names)


def pull(above: Sequence[float], front: Sequence[float], handle: Sequence[float],
         end: Sequence[float], yaw: float,
         names: Optional[Sequence[str]] = None) -> List[Waypoint]:
    """Pull a handle along a straight slide: down at ``above``, straight to ``front`` (clear of
    the handle), straight onto the handle and close, pull straight to ``end``, let go."""
    q = down_quat(yaw)
    return _named([Waypoint(above, q, name="above"),
                   Waypoint(front, q, linear=True, name="front"),
                   Waypoint(handle, q, gripper="close", linear=True, name="grasp"),
                   Waypoint(end, q, gripper="open", linear=True, name="pull")], names)
