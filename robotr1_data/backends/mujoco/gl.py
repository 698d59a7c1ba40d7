"""Pick an OpenGL platform for MuJoCo's offscreen renderer before ``mujoco`` is imported.

MuJoCo reads ``MUJOCO_GL`` once, when ``mujoco`` is first imported, and defaults to GLFW, which
fails on a server without a display. So importing ``robotr1_data.backends.mujoco`` (before its modules import
mujoco) exports a choice made from which GL libraries are installed -- file checks only, no
subprocess, no GL call: importing the simulator to build a model costs nothing here. The real
test runs when a renderer is made (``check_rendering``): a subprocess creates a tiny context with
that platform (a failed GL init can abort the process that tries it), once per process; child
processes inherit the verified choice through the environment and skip the probe.
"""

from __future__ import annotations

import ctypes
import glob
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
# The shared libraries MuJoCo's EGL / OSMesa contexts load (through PyOpenGL).
LIBRARIES = {"egl": ("libEGL.so.1", "libOpenGL.so.0"), "osmesa": ("libOSMesa.so*",)}
_LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
             "/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/lib64", "/lib",
             "/usr/local/lib")
VERIFIED_ENV = "ROBOTR1_GL_VERIFIED"  # set once a probe passed; inherited by worker processes

_PROBE = (
    "import os,sys; os.environ['MUJOCO_GL']=sys.argv[1]; "
    "os.environ.pop('PYOPENGL_PLATFORM', None) if sys.argv[1] != 'egl' else None; "
    "import mujoco; c=mujoco.GLContext(8,8); c.make_current(); c.free()"
)

# chosen: the platform exported (or found); source: "user" (MUJOCO_GL given), "auto" (picked
# here), "preloaded" (mujoco imported before robotr1 with MUJOCO_GL unset: it uses GLFW) or None;
# failed: a probe failed (or a test says so); verified: a probe passed in this process.
_state = {"chosen": None, "source": None, "failed": False, "verified": False}


def candidates() -> List[str]:
    order = ["egl", "osmesa"]
    if os.environ.get("DISPLAY"):
        order.append("glfw")
    return order


def _installed(pattern: str) -> bool:
    dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d] + list(_LIB_DIRS)
    if any(glob.glob(os.path.join(d, pattern)) for d in dirs):
        return True
    try:  # an unusual layout (conda, nix): ask the dynamic loader, still no subprocess
        ctypes.CDLL(pattern.replace("*", ".8") if "*" in pattern else pattern)
        return True
    except OSError:
        return False


def libraries_present(backend: str) -> bool:
    if backend == "glfw":
        return bool(os.environ.get("DISPLAY"))
    return all(_installed(p) for p in LIBRARIES[backend])


def _export(backend: str) -> None:
    os.environ["MUJOCO_GL"] = backend
    if backend == "osmesa":
        os.environ["PYOPENGL_PLATFORM"] = "osmesa"
    if backend in ("egl", "osmesa"):
        os.environ.setdefault("LP_NUM_THREADS", str(llvmpipe_threads(os.cpu_count() or 1)))


def llvmpipe_threads(cores: int) -> int:
    """Rasteriser threads for each llvmpipe context (Mesa reads ``LP_NUM_THREADS`` once, when the
    first context is made; a user's own value is kept). Mesa's default is one per core for every
    context; the recorder draws in two contexts, each in its own thread (cameras.py), so on two
    cores that is six busy threads, and rasterising in the drawing thread itself (0) measured
    faster in most alternating runs: five cameras at 128² ~0.8x the step time, the Robot-R1
    camera the same (bench/record.py, docs/benchmarks.md; one full run showed no difference).
    With more cores: what is left after the two drawing threads, shared by the two contexts (a
    guess, never above Mesa's default; NVIDIA's EGL ignores the variable)."""
    return max(0, cores // 2 - 1)


def select_gl() -> Optional[str]:
    """Run when ``robotr1_data.backends.mujoco`` is imported, before mujoco: choose, never raise, never
    start a process. Rendering later raises the clear error; physics-only use always runs."""
    chosen = os.environ.get("MUJOCO_GL")
    if chosen:
        _state.update(chosen=chosen.lower(), source="user")
        _export(chosen.lower())
    elif "mujoco" in sys.modules:
        _state.update(chosen="glfw", source="preloaded")
    else:
        for backend in candidates():
            if libraries_present(backend):
                _export(backend)
                _state.update(chosen=backend, source="auto")
                break
        else:
            _state.update(chosen=None, source="auto", failed=True)
    return _state["chosen"]


def probe(backend: str, timeout: float = 60.0) -> bool:
    env = dict(os.environ)
    env.pop("PYOPENGL_PLATFORM", None)
    try:
        res = subprocess.run([sys.executable, "-c", _PROBE, backend], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return res.returncode == 0


def check_rendering() -> None:
    """Called when a renderer is about to be made: the chosen platform works, or a UsageError
    that says what to do. Probes at most once per process (and not at all in workers whose
    parent verified the same platform)."""
    if _state["failed"]:
        raise UsageError(no_gl_message())
    if _state["verified"] or _state["source"] in (None, "user"):
        return  # an explicit MUJOCO_GL is honoured as is; None: select_gl never ran
    chosen = _state["chosen"]
    if os.environ.get(VERIFIED_ENV) == chosen or probe(chosen):
        _state["verified"] = True
        os.environ[VERIFIED_ENV] = chosen
        return
    _state["failed"] = True
    raise UsageError(no_gl_message())


def ensure_gl() -> str:
    """Probe the candidates now, export the first that works and return it (an explicit
    MUJOCO_GL is honoured as is); a UsageError when none works. For callers that want the full
    check before mujoco is imported."""
    chosen = os.environ.get("MUJOCO_GL")
    if chosen:
        _export(chosen.lower())
        return chosen.lower()
    if "mujoco" in sys.modules:
        return "default"  # too late to choose: mujoco fixed its platform at import
    for backend in candidates():
        if probe(backend):
            _export(backend)
            return backend
    raise UsageError(no_gl_message())


def _working_platform() -> Optional[str]:
    return next((b for b in ("egl", "osmesa") if probe(b)), None)


def no_gl_message() -> str:
    if _state["source"] == "preloaded":
        works = _working_platform() or "egl"
        return ("mujoco was imported before robotr1 with MUJOCO_GL unset, so it chose GLFW, which "
                "needs a display; MUJOCO_GL must be set before mujoco is first imported: run "
                f"`MUJOCO_GL={works} python your_script.py`, or put `import os; "
                f"os.environ['MUJOCO_GL'] = '{works}'` above the first `import mujoco` (or import "
                "robotr1_data.backends.mujoco before mujoco)")
    if _state["source"] == "auto" and _state["chosen"]:
        other = next((b for b in candidates() if b != _state["chosen"] and probe(b)), None)
        if other:
            return (f"OpenGL platform '{_state['chosen']}' is installed but does not work here; "
                    f"'{other}' does: rerun with MUJOCO_GL={other} set")
    tried = ", ".join(candidates())
    pkgs = " ".join(DEBIAN_PACKAGES[b] for b in ("egl", "osmesa"))
    return (f"no OpenGL platform works for headless rendering (tried {tried}); install the Debian "
            f"packages `apt-get install {pkgs}`, or set MUJOCO_GL=egl|osmesa|glfw explicitly "
            f"(glfw needs a display: run under `xvfb-run -a`), or record without cameras (--cameras none)")


# Rasterisers that run on the CPU: there the vertices of geoms nobody sees are most of a small
# frame's cost, so CameraRig culls them; on a GPU, drawing them is cheaper than culling in Python
# (bench/render.py on an H200 through EGL: 5 cameras 128², 2.1 ms drawing every geom against 3.1
# ms culling; docs/benchmarks.md).
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "offscreen", "swiftshader", "lavapipe")


def renderer_name() -> str:
    """GL_RENDERER of the current GL context, '' when it cannot be read."""
    try:
        from OpenGL import GL  # PyOpenGL: a dependency of mujoco's own GL contexts

        name = GL.glGetString(GL.GL_RENDERER)
    except Exception:  # no current context, or PyOpenGL on another platform than the context's
        return ""
    return name.decode(errors="replace") if name else ""


def is_software_renderer(name: str) -> bool:
    """True for a CPU rasteriser, and for an unknown one ('' included): culling is the safe
    default there."""
    low = name.lower()
    return not low or any(s in low for s in SOFTWARE_RENDERERS)
