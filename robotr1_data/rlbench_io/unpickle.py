"""Load (and write) RLBench pickles safely: an allow-list of globals, nothing else.

A pickle can call any importable function while it loads (``os.system`` included), so a
downloaded ``low_dim_obs.pkl`` must never go through ``pickle.load``. ``safe_load`` resolves
only these globals and refuses every other one with an error naming it:

- ``rlbench.backend.observation.Observation`` and ``rlbench.demo.Demo`` -> the local stand-ins
  in :mod:`robotr1_data.rlbench_io.classes` (RLBench need not be installed);
- numpy's own array reconstruction, and only it: ``numpy[._]core.multiarray._reconstruct``
  followed by ``ndarray.__setstate__`` with a byte buffer whose length is exactly shape x itemsize
  (protocols 0-4), ``numpy[._]core.numeric._frombuffer`` with the same rule (protocol 5),
  ``numpy[._]core.multiarray.scalar``, ``numpy.dtype`` for plain numeric dtypes, and
  ``_codecs.encode`` (how protocol 2 spells bytes).

Allowed names are not enough: ``numpy.ndarray(shape, dtype, buffer, offset, strides)`` called from
a pickle makes a 40 MB zero-stride array out of 8 bytes, or 9 GiB out of nothing, and memo
references make a 70 KB list expand to gigabytes. So ``numpy.ndarray`` resolves to a name that
``_reconstruct`` accepts and that refuses to be called; every array is bounded by
``MAX_ARRAY_ELEMENTS``; and the loaded object graph is walked (iteratively bounded) to refuse
cycles, nesting deeper than ``MAX_DEPTH`` and containers that would expand past
``MAX_EXPANDED`` elements -- each refusal one UsageError line, before anything large exists.

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


# An RLBench observation's arrays are low-dim vectors, camera matrices and (in pickles that keep
# them) images: 16.7M elements is a 2048x2048 RGBA image, far above any of them.
MAX_ARRAY_ELEMENTS = 2048 * 2048 * 4
# A low_dim_obs.pkl nests Demo -> list -> Observation -> misc dict -> robotr1 record -> extra
# -> model_overrides -> ... about 10 deep.
MAX_DEPTH = 64
# Elements once shared references are expanded (what np.asarray / json would materialise):
# a 1000-frame demo with a 10,000-wide state is 10M.
MAX_EXPANDED = 20_000_000
_NUMERIC_KINDS = "biufc"


class UnsafePickleError(UsageError, pickle.UnpicklingError):
    """A pickle names a global outside the allow-list, or asks for data no RLBench observation
    holds; nothing from it was executed."""


class _NDArrayName:
    """What ``numpy.ndarray`` resolves to: the class argument numpy's ``_reconstruct`` expects,
    but calling it (arbitrary shape, buffer and strides) is refused."""

    def __new__(cls, *args, **kwargs):
        raise UnsafePickleError("it calls 'numpy.ndarray' directly (an array of any shape and "
                                "strides over a few bytes); numpy's own pickles never do")


class _PickledArray(np.ndarray):
    """The empty array ``_reconstruct`` returns; its ``__setstate__`` checks the state before
    numpy fills it. ``_Unpickler.load`` hands plain ndarrays back (see _finish)."""

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) in (4, 5)):
            raise UnsafePickleError("an array's pickled state is malformed")
        shape, dtype, raw = state[-4], state[-3], state[-1]
        _check_dtype(dtype)
        n = _check_shape(shape)
        if not isinstance(raw, (bytes, bytearray)) or len(raw) != n * dtype.itemsize:
            raise UnsafePickleError(
                f"an array claims shape {tuple(shape)} of {dtype} ({n * dtype.itemsize} bytes) "
                f"over a buffer of {len(raw) if isinstance(raw, (bytes, bytearray)) else '?'} "
                "bytes")
        super().__setstate__(state)


def _check_dtype(dtype) -> None:
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS or dtype.fields \
            or dtype.subdtype is not None or dtype.itemsize > 16:
        raise UnsafePickleError(f"it holds an array of dtype {dtype!r}; RLBench observations "
                                "hold plain numeric arrays only")


def _check_shape(shape) -> int:
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape) \
            or len(shape) > 8:
        raise UnsafePickleError(f"an array has shape {shape!r}")
    n = 1
    for d in shape:
        n *= d
    if n > MAX_ARRAY_ELEMENTS:
        raise UnsafePickleError(f"an array of shape {shape} ({n} elements) is larger than any "
                                f"RLBench observation holds ({MAX_ARRAY_ELEMENTS})")
    return n


def _safe_dtype(obj, align=False, copy=False):
    d = np.dtype(obj, align, copy)
    _check_dtype(d)
    return d


def _safe_reconstruct(subtype, shape, dtype):
    # numpy pickles always reconstruct an empty (0,) array and fill it with __setstate__.
    if subtype is not _NDArrayName:
        raise UnsafePickleError("numpy's _reconstruct is called with something other than "
                                "numpy.ndarray")
    return np.ndarray.__new__(_PickledArray, (0,), np.uint8)


def _safe_frombuffer(buf, dtype, shape, order):
    _check_dtype(dtype)
    n = _check_shape(tuple(shape))
    data = memoryview(buf).cast("B")
    if data.nbytes != n * dtype.itemsize:
        raise UnsafePickleError(f"an array claims shape {tuple(shape)} of {dtype} over a buffer "
                                f"of {data.nbytes} bytes")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order)


def _safe_scalar(dtype, obj=None):
    _check_dtype(dtype)
    multiarray, _ = _numpy_core()
    return multiarray.scalar(dtype, obj) if obj is not None else multiarray.scalar(dtype)


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
        ("numpy", "ndarray"): _NDArrayName,
        ("numpy", "dtype"): _safe_dtype,
        ("_codecs", "encode"): _codecs.encode,
    }
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = _safe_reconstruct
        allowed[(f"{core}.multiarray", "scalar")] = _safe_scalar
        allowed[(f"{core}.numeric", "_frombuffer")] = _safe_frombuffer
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


def _finish(obj: Any) -> Any:
    """The loaded graph with plain ndarrays, after refusing cycles, nesting deeper than
    MAX_DEPTH and anything that expands past MAX_EXPANDED elements. Each distinct object is
    visited once (shared references are counted, not re-walked), so this is linear in the
    pickle's size; recursion is bounded by MAX_DEPTH."""
    done: Dict[int, Tuple[Any, int]] = {}  # id -> (converted, expanded element count)
    keep = []  # the originals stay alive while their ids are keys
    active = set()

    def walk(o: Any, depth: int) -> Tuple[Any, int]:
        if o is None or isinstance(o, (bool, int, float, complex, str, bytes, np.generic)):
            return o, 1
        key = id(o)
        if key in done:
            return done[key]
        if key in active:
            raise UnsafePickleError("it holds a container that contains itself (a cycle); "
                                    "RLBench observations never do")
        if depth > MAX_DEPTH:
            raise UnsafePickleError(f"it nests containers more than {MAX_DEPTH} deep; RLBench "
                                    "observations never do")
        active.add(key)
        keep.append(o)
        if isinstance(o, np.ndarray):
            out, n = (o.view(np.ndarray) if type(o) is _PickledArray else o), int(o.size)
        elif isinstance(o, (list, tuple)):
            items, n = [], 1
            for v in o:
                c, k = walk(v, depth + 1)
                items.append(c)
                n += k
                _check_expanded(n)
            if isinstance(o, tuple):
                out = tuple(items)
            else:
                o[:] = items  # in place: other references to this list see the arrays too
                out = o
        elif isinstance(o, dict):
            n = 1
            for k_, v in list(o.items()):
                ck, a = walk(k_, depth + 1)
                cv, b = walk(v, depth + 1)
                o[k_] = cv
                n += a + b
                _check_expanded(n)
            out = o
        elif isinstance(o, (Observation, Demo)):
            n = 1
            for k_, v in list(vars(o).items()):
                cv, b = walk(v, depth + 1)
                setattr(o, k_, cv)
                n += b
                _check_expanded(n)
            out = o
        elif isinstance(o, (bytearray,)):
            out, n = o, 1
        else:  # sets and other built-ins that pickle opcodes make without any global
            raise UnsafePickleError(f"it holds an object of type {type(o).__name__}")
        active.discard(key)
        done[key] = (out, n)
        return out, n

    return walk(obj, 0)[0]


def _check_expanded(n: int) -> None:
    if n > MAX_EXPANDED:
        raise UnsafePickleError(f"its shared references expand to more than {MAX_EXPANDED} "
                                "elements (a memory bomb: a few KB that np.asarray would turn "
                                "into gigabytes)")


def safe_loads(data: bytes, source: str = "<bytes>") -> Any:
    try:
        return _finish(RestrictedUnpickler(io.BytesIO(data), source).load())
    except UnsafePickleError as exc:
        msg = str(exc)
        if not msg.startswith("refusing"):
            msg = (f"refusing to unpickle {source}: {msg} (the file may be malicious or not an "
                   "RLBench dataset; nothing from it was run)")
        raise UnsafePickleError(msg) from None
    except RecursionError:
        raise UnsafePickleError(f"refusing to unpickle {source}: it nests too deeply") from None
    except MemoryError:
        raise UnsafePickleError(f"refusing to unpickle {source}: it asks for more memory than "
                                "there is") from None
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
