"""The backend registry: the one place that knows which simulator backends exist.

A backend registers a ``Backend`` subclass under a name with ``@register_backend("name")``;
``robotr1-data generate --backend`` and ``robotr1-train eval-sim --backend`` list and use what
is registered. Built-in backends (``mujoco``, ``rlbench``) register when the registry is first
read; a plugin package registers through the ``robotr1.backends`` entry-point group (its module
is imported, which runs the decorator), so spawned worker processes find it too.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence as _Sequence
from importlib import metadata
from typing import Dict, List, Optional, Sequence

from robotr1_data.errors import UsageError

ENTRY_POINT_GROUP = "robotr1.backends"
BUILTIN_MODULES = ("robotr1_data.backends.mujoco", "robotr1_data.backends.rlbench")
DEFAULT_BACKEND = "mujoco"

_REGISTRY: Dict[str, "Backend"] = {}
_loaded = False


class Backend:
    """One simulator backend. Subclass, set ``description``, implement ``demo_source`` and/or
    ``keypoint_env``, override what differs from the defaults, and register the class.

    Heavy imports (the simulator) belong inside the methods: the registry is read by
    ``--help`` and by machines without that simulator.
    """

    name = ""
    description = ""
    needs_gl = False  # renders through MuJoCo's GL stack (the GL probe runs before work starts)
    has_expert_waypoints = False  # the oracle policy replays them; without them it is refused

    def require(self) -> None:
        """Raise ``UsageError`` (what to install, how) when the optional dependencies are
        missing; called before any work starts."""

    def check_tasks(self, tasks: Sequence[str]) -> List[str]:
        """The tasks to run: ``tasks`` checked (``UsageError`` naming a bad one), or every
        task when ``tasks`` is empty -- which backends without a task list refuse."""
        if not tasks:
            raise UsageError(f"name the tasks to run with --backend {self.name} (--tasks ...)")
        return list(tasks)

    def known_cameras(self) -> Optional[Sequence[str]]:
        """The camera names this backend renders; None: RLBench's five."""
        return None

    def demo_source(self, task: str, *, cameras=(), image_size=(128, 128), rgb=True, depth=True,
                    mask=True, render_quality=False, image_every=1, tessellation=None):
        """A ``DemoSource`` for ``task`` (``robotr1-data generate``). ``tessellation`` is
        passed only when set (``--tessellation``; backends with ``needs_gl``)."""
        raise UsageError(f"backend '{self.name}' records no demos; generate with another backend")

    def keypoint_env(self, task: str, *, cameras=(), image_size=(224, 224), observe_images=False,
                     max_steps_per_keypoint=120, range_margin=0.05, tessellation=None):
        """A ``KeypointEnv`` for ``task`` (``robotr1-train eval-sim``). ``cameras`` are the
        views to render (policy cameras and the video's); ``observe_images`` puts them into
        every observation (a policy that looks). ``tessellation`` as for ``demo_source``."""
        raise UsageError(f"backend '{self.name}' cannot run closed-loop evaluation")

    def release_keypoint_env(self, env) -> None:
        """Done with ``env`` for now; closes it unless the backend keeps it (one per process)."""
        env.close()

    def describe(self) -> str:
        return f"{self.name}: {self.description}"


def register_backend(name: str):
    """Class decorator: ``@register_backend("name") class MyBackend(Backend): ...``.

    Registering a name twice replaces the earlier entry (a test or plugin may override)."""
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"backend name {name!r}: use letters, digits, '-' or '_'")

    def add(cls):
        inst = cls() if isinstance(cls, type) else cls
        inst.name = name
        _REGISTRY[name] = inst
        return cls

    return add


def unregister_backend(name: str) -> None:
    _REGISTRY.pop(name, None)


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not hide the others
            raise UsageError(f"backend plugin '{ep.name}' ({ep.value}) failed to load: "
                             f"{type(exc).__name__}: {exc}; fix or uninstall it") from None


def backend_names() -> List[str]:
    """Built-in backends first, in ``BUILTIN_MODULES`` order, then the others as registered: a
    built-in package registers when any of its modules is imported, so registration order alone
    would depend on what was imported first."""
    _load()
    rank = {m: i for i, m in enumerate(BUILTIN_MODULES)}
    return sorted(_REGISTRY, key=lambda n: rank.get(type(_REGISTRY[n]).__module__, len(rank)))


def get_backend(name: str) -> Backend:
    _load()
    if name not in _REGISTRY:
        raise UsageError(f"unknown backend '{name}'; choose one of {', '.join(backend_names())}")
    return _REGISTRY[name]


class _Names(_Sequence):
    """The registered names, read when used: argparse ``choices`` and config validation see
    backends registered after the parser was declared."""

    def __getitem__(self, i):
        return backend_names()[i]

    def __len__(self):
        return len(backend_names())

    def __contains__(self, name):
        return name in backend_names()

    def __repr__(self):
        return repr(backend_names())


def backend_choices() -> Sequence[str]:
    return _Names()
