"""Old home of backend selection, kept so existing imports work: backends are now registered in
``robotr1_data.backends`` (``get_backend(name).demo_source(task, ...)``)."""

from __future__ import annotations

from robotr1_data.backends import backend_choices, get_backend
from robotr1_data.backends.mujoco.demo_source import MujocoDemoSource  # noqa: F401

BACKENDS = backend_choices()


def make_demo_source(backend: str, task: str, **kwargs):
    return get_backend(backend).demo_source(task, **kwargs)

__all__ = ["BACKENDS", "MujocoDemoSource", "make_demo_source"]
