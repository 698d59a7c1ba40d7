"""Simulator backends. Importing this package picks MuJoCo's GL platform first (see gl.py):
MuJoCo reads MUJOCO_GL only once, when it is imported."""

from robotr1_data.sim.gl import select_gl as _select_gl

_select_gl()
