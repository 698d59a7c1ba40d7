"""Simulator backends behind one seam: a registry and two declared interfaces.

``get_backend(name)`` gives a ``Backend``; it makes ``DemoSource``s (``generate``) and
``KeypointEnv``s (``eval-sim``). Add one with ``@register_backend("name")`` on a ``Backend``
subclass (see docs/architecture.md, "Adding a backend"). Importing this package imports no
simulator.
"""

from robotr1_data.backends.protocols import Closing, DemoSource, KeypointEnv, KeypointReport
from robotr1_data.backends.registry import (DEFAULT_BACKEND, Backend, backend_choices, backend_names,
                                            get_backend, register_backend, unregister_backend)

__all__ = ["DEFAULT_BACKEND", "Backend", "Closing", "DemoSource", "KeypointEnv", "KeypointReport",
           "backend_choices", "backend_names", "get_backend", "register_backend",
           "unregister_backend"]
