"""Simulator backends. Importing this package exports MuJoCo's GL platform first (see gl.py):
MuJoCo reads MUJOCO_GL only once, when it is imported. The choice is made from the installed
libraries (no subprocess); the working check runs when a renderer is made."""

from robotr1_data.sim.gl import select_gl as _select_gl

_select_gl()
