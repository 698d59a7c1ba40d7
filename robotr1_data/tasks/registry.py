"""Find tasks: the built-in task files (``robotr1_data/tasks/catalogue/``), plus plugins.

Plugins are third-party packages that declare an entry point in the ``robotr1.tasks`` group
pointing at a Task subclass (``my_task = my_pkg.my_task:MyTask``); see docs/tasks.md.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from importlib import metadata
from typing import Dict, List, Tuple, Type

from robotr1_data.errors import UsageError, did_you_mean
from robotr1_data.tasks.base import Task

ENTRY_POINT_GROUP = "robotr1.tasks"
_cache: Dict[str, Tuple[Type[Task], str]] = {}


def _builtin() -> Dict[str, Tuple[Type[Task], str]]:
    import robotr1_data.tasks.catalogue as pkg
    found = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Task) and obj is not Task and obj.__module__ == module.__name__:
                found[obj.name] = (obj, "built-in")
    return found


def _plugins() -> Dict[str, Tuple[Type[Task], str]]:
    found = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not hide the other tasks
            print(f"warning: task plugin {ep.name!r} ({ep.value}) failed to load: {exc}")
            continue
        if not (inspect.isclass(cls) and issubclass(cls, Task)):
            print(f"warning: task plugin {ep.name!r} ({ep.value}) is not a robotr1 Task subclass")
            continue
        dist = getattr(ep, "dist", None)
        found[cls.name] = (cls, f"plugin ({dist.name if dist else ep.value})")
    return found


def all_tasks(refresh: bool = False) -> Dict[str, Tuple[Type[Task], str]]:
    if refresh or not _cache:
        _cache.clear()
        _cache.update(_builtin())
        for name, entry in _plugins().items():
            _cache.setdefault(name, entry)
    return dict(sorted(_cache.items()))


def get_task(name: str) -> Type[Task]:
    tasks = all_tasks()
    if name not in tasks:
        raise UsageError(f"unknown task '{name}'{did_you_mean(name, tasks)} "
                         f"(robotr1-data list-tasks shows all)")
    return tasks[name][0]


def task_names() -> List[str]:
    return list(all_tasks())
