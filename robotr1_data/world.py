"""Facts of the shared world (``assets/world.xml``) that code states without loading MuJoCo:
tasks place objects on the table top, QA prompts tell the model where the world origin is.
``tests/test_sim.py`` checks them against the compiled model."""

TABLE_TOP_Z = 0.752                   # height of the table's top surface, metres
TABLE_CENTER = (0.25, 0.0, TABLE_TOP_Z)  # centre of that surface: Robot-R1's world origin
