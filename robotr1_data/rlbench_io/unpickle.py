"""Load (and write) RLBench pickles safely: an allow-list of globals, nothing else.

A pickle can call any importable function while it loads (``os.system`` included), so a
downloaded ``low_dim_obs.pkl`` must never go through ``pickle.load``. ``safe_load`` resolves
only these globals and refuses every other one with an error naming it:

- ``rlbench.backend.observation.Observation`` and ``rlbench.demo.Demo`` -> the local stand-ins
  in :mod:`robotr1_data.rlbench_io.classes` (RLBench need not be installed);
- numpy's array reconstruction: ``numpy.ndarray``, ``numpy.dtype``,
  ``numpy[._]core.multiarray._reconstruct`` and ``.scalar``, ``numpy[._]core.numeric._frombuffer``
  (protocol 5), and ``_codecs.encode`` (how protocol 2 spells bytes).

The stand-ins define no ``__setstate__`` or ``__reduce__``, so loading one only fills its
``__dict__``; numpy's reconstructors build arrays from bytes and call nothing else.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any, Dict, Tuple, Union

import numpy as np

from ..errors import UsageError
from .classes import Demo, Observation

OBSERVATION_PATH = ("rlbench.backend.observation", "Observation")
DEMO_PATH = ("rlbench.demo", "Demo")


class UnsafePickleError(UsageError, pickle.UnpicklingError):
    """A pickle names a global outside the allow-list; nothing from it was executed."""


def _numpy_core():
    try:
        from numpy._core import multiarray, numeric  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray, numeric
    return multiarray, numeric


def _allowed() -> Dict[Tuple[str, str], Any]:
    multiarray, numeric = _numpy_core()
    import _codecs
    allowed: Dict[Tuple[str, str], Any] = {
        OBSERVATION_PATH: Observation,
        DEMO_PATH: Demo,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _codecs.encode,
    }
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{core}.multiarray", "scalar")] = multiarray.scalar
        if hasattr(numeric, "_frombuffer"):
            allowed[(f"{core}.numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


_ALLOWED = _allowed()


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only the allow-listed globals."""

    def __init__(self, file, source: str = "<bytes>"):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str):
        obj = _ALLOWED.get((module, name))
        if obj is None:
            raise UnsafePickleError(
                f"refusing to unpickle {self.source}: it references '{module}.{name}', which is "
                "not an RLBench observation class or numpy array data (the file may be "
                "malicious or not an RLBench dataset; nothing from it was run)")
        return obj

    def persistent_load(self, pid):
        raise UnsafePickleError(f"refusing to unpickle {self.source}: it uses persistent ids, "
                                "which RLBench pickles never do")


def safe_loads(data: bytes, source: str = "<bytes>") -> Any:
    try:
        return RestrictedUnpickler(io.BytesIO(data), source).load()
    except UnsafePickleError:
        raise
    except Exception as exc:  # truncated or not a pickle at all
        raise UsageError(f"cannot unpickle {source} ({type(exc).__name__}: {exc}); the file is "
                         "truncated or not a pickle: re-copy it") from None


def safe_load(path: Union[str, os.PathLike]) -> Any:
    """Unpickle ``path`` with the allow-list (see module docstring)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path} ({exc.strerror})") from None
    return safe_loads(data, str(path))


# --- writing ----------------------------------------------------------------------------------
def _write_paths() -> Dict[Any, Tuple[str, str]]:
    multiarray, _ = _numpy_core()
    return {
        Observation: OBSERVATION_PATH,
        Demo: DEMO_PATH,
        # numpy >= 2 writes numpy._core..., which numpy 1.x (most RLBench/PerAct setups) cannot
        # import; numpy.core... loads under both.
        multiarray._reconstruct: ("numpy.core.multiarray", "_reconstruct"),
        multiarray.scalar: ("numpy.core.multiarray", "scalar"),
    }


class _RLBenchPickler(pickle._Pickler):  # the pure-Python pickler: its save_global can be replaced
    _paths = None

    def save_global(self, obj, name=None):
        if self._paths is None:
            type(self)._paths = _write_paths()
        try:
            path = self._paths.get(obj)
        except TypeError:  # unhashable: not one of ours
            path = None
        if path is None:
            return super().save_global(obj, name)
        module, qualname = path
        if self.proto >= 4:
            self.save(module)
            self.save(qualname)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + module.encode("utf-8") + b"\n"
                       + qualname.encode("utf-8") + b"\n")
        self.memoize(obj)


def dump_rlbench(obj: Any, path: Union[str, os.PathLike], protocol: int = 4) -> None:
    """Pickle ``obj`` (a Demo, a list of descriptions, an int) as RLBench's dataset_generator
    does, with the stand-ins written under RLBench's class paths."""
    buf = io.BytesIO()
    _RLBenchPickler(buf, protocol=protocol).dump(obj)
    Path(path).write_bytes(buf.getvalue())
