"""Pick an OpenGL platform for MuJoCo's offscreen renderer before ``mujoco`` is imported.

MuJoCo reads ``MUJOCO_GL`` once, at import, and defaults to GLFW, which fails on a server
without a display ("an OpenGL platform library has not been loaded into this process"). So we
probe the candidates in a subprocess (a failed GL init can abort the process that tries it) and
export the first that works; child processes (workers) inherit the choice and skip the probe.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import List, Optional

from robotr1_data.errors import UsageError

DEBIAN_PACKAGES = {
    "egl": "libegl1 libopengl0 libegl-mesa0 libgl1-mesa-dri",
    "osmesa": "libosmesa6",
    "glfw": "libglfw3 (and a display, e.g. `xvfb-run -a`)",
}

_PROBE = (
    "import os,sys; os.environ['MUJOCO_GL']=sys.argv[1]; "
    "os.environ.pop('PYOPENGL_PLATFORM', None) if sys.argv[1] != 'egl' else None; "
    "import mujoco; c=mujoco.GLContext(8,8); c.make_current(); c.free()"
)


def candidates() -> List[str]:
    order = ["egl", "osmesa"]
    if os.environ.get("DISPLAY"):
        order.append("glfw")
    return order


def probe(backend: str, timeout: float = 60.0) -> bool:
    env = dict(os.environ)
    env.pop("PYOPENGL_PLATFORM", None)
    try:
        res = subprocess.run([sys.executable, "-c", _PROBE, backend], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return res.returncode == 0


_state = {"chosen": None, "failed": False}


def select_gl() -> Optional[str]:
    """Called when ``robotr1_data.sim`` is imported (before mujoco): choose, never raise.

    When nothing works, rendering later raises the clear error; physics-only use still runs.
    """
    try:
        _state["chosen"] = ensure_gl()
    except UsageError:
        _state["failed"] = True
    return _state["chosen"]


def check_rendering() -> None:
    if _state["failed"]:
        raise UsageError(no_gl_message())


def ensure_gl() -> str:
    """Export a working MUJOCO_GL and return it; an explicit MUJOCO_GL is honoured as is."""
    chosen = os.environ.get("MUJOCO_GL")
    if chosen:
        os.environ["MUJOCO_GL"] = chosen.lower()
        if chosen.lower() == "osmesa":
            os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
        return chosen.lower()
    if "mujoco" in sys.modules:
        # Too late to choose: mujoco already fixed its platform at import.
        return "default"
    for backend in candidates():
        if probe(backend):
            os.environ["MUJOCO_GL"] = backend
            if backend == "osmesa":
                os.environ["PYOPENGL_PLATFORM"] = "osmesa"
            return backend
    raise UsageError(no_gl_message())


def no_gl_message() -> str:
    tried = ", ".join(candidates())
    pkgs = " ".join(DEBIAN_PACKAGES[b] for b in ("egl", "osmesa"))
    return (f"no OpenGL platform works for headless rendering (tried {tried}); install the Debian "
            f"packages `apt-get install {pkgs}`, or set MUJOCO_GL=egl|osmesa|glfw explicitly "
            f"(glfw needs a display: run under `xvfb-run -a`), or record without cameras (--cameras none)")
