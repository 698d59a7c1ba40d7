"""Fake scene objects: a handle -> name table (CoppeliaSim's object table) and poses."""

from typing import Dict, Union

import numpy as np

_NAMES: Dict[int, str] = {}
_HANDLES: Dict[str, int] = {}
_POSITIONS: Dict[int, np.ndarray] = {}
_NEXT = [100]


def reset_world():
    _NAMES.clear()
    _HANDLES.clear()
    _POSITIONS.clear()
    _NEXT[0] = 100


class Object(object):
    """Looks an object up by name, creating it in the fake world on first use."""

    def __init__(self, name_or_handle: Union[str, int]):
        if isinstance(name_or_handle, int):
            self._handle = name_or_handle
            return
        name = name_or_handle
        if name not in _HANDLES:
            _HANDLES[name] = _NEXT[0]
            _NAMES[_NEXT[0]] = name
            _POSITIONS[_NEXT[0]] = np.zeros(3)
            _NEXT[0] += 3  # handles are sparse in CoppeliaSim too
        self._handle = _HANDLES[name]

    def get_handle(self) -> int:
        return self._handle

    def get_name(self) -> str:
        return _NAMES[self._handle]

    def still_exists(self) -> bool:
        return self._handle in _NAMES

    def remove(self) -> None:
        name = _NAMES.pop(self._handle, None)
        _HANDLES.pop(name, None)

    @staticmethod
    def get_object_name(name_or_handle: Union[str, int]) -> str:
        if isinstance(name_or_handle, int):
            if name_or_handle not in _NAMES:
                raise RuntimeError("Object does not exist.")  # as sim.getObjectName
            return _NAMES[name_or_handle]
        return name_or_handle

    def get_position(self, relative_to=None) -> np.ndarray:
        return _POSITIONS[self._handle].copy()

    def set_position(self, position, relative_to=None, reset_dynamics=True) -> None:
        _POSITIONS[self._handle] = np.asarray(position, dtype=np.float64).copy()

    def __eq__(self, other):
        return isinstance(other, Object) and other._handle == self._handle

    def __hash__(self):
        return hash(self._handle)
