from typing import Dict

import numpy as np

from pyrep.objects.object import Object

_PROPS: Dict[int, dict] = {}


class Shape(Object):
    """A sphere in the fake world (radius, colour): enough to render and grasp."""

    def __init__(self, name_or_handle, radius: float = 0.03, color=(0.5, 0.5, 0.5)):
        super().__init__(name_or_handle)
        _PROPS.setdefault(self._handle, {"radius": float(radius),
                                         "color": np.asarray(color, dtype=np.float64)})

    @property
    def radius(self) -> float:
        return _PROPS[self._handle]["radius"]

    @property
    def color(self) -> np.ndarray:
        return _PROPS[self._handle]["color"]

    def set_color(self, color) -> None:
        _PROPS[self._handle]["color"] = np.asarray(color, dtype=np.float64)

    def is_collidable(self) -> bool:
        return True
