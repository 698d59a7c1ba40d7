"""Old home of the backend interface, kept so existing imports work. The interfaces the code
depends on are declared in ``robotr1_data.backends.protocols`` (``DemoSource``,
``KeypointEnv``); simulators share only ``Closing`` (``with`` support)."""

from robotr1_data.backends.protocols import Closing  # noqa: F401

__all__ = ["Closing"]
