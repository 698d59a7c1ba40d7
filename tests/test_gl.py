"""Headless GL selection: explicit MUJOCO_GL honoured, a clear error when nothing works."""

import os

import pytest

from robotr1_data.errors import UsageError
from robotr1_data.backends.mujoco import gl


def test_explicit_choice_is_honoured(monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "OSMesa")
    # ensure_gl exports PYOPENGL_PLATFORM too; setenv first so monkeypatch restores the original
    # (a bare delenv of an absent variable records nothing to undo).
    monkeypatch.setenv("PYOPENGL_PLATFORM", "unset")
    monkeypatch.delenv("PYOPENGL_PLATFORM")
    assert gl.ensure_gl() == "osmesa"
    assert os.environ["PYOPENGL_PLATFORM"] == "osmesa"


def test_no_platform_names_the_packages(monkeypatch):
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(gl, "probe", lambda backend, timeout=60.0: False)
    monkeypatch.setitem(__import__("sys").modules, "mujoco", None)
    del __import__("sys").modules["mujoco"]
    with pytest.raises(UsageError) as err:
        gl.ensure_gl()
    msg = str(err.value)
    assert "libegl1" in msg and "libosmesa6" in msg and "xvfb-run" in msg


def test_candidates_prefer_egl_then_osmesa_then_glfw(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    assert gl.candidates() == ["egl", "osmesa"]
    monkeypatch.setenv("DISPLAY", ":99")
    assert gl.candidates() == ["egl", "osmesa", "glfw"]


def test_probe_finds_a_working_platform_here():
    assert any(gl.probe(b) for b in ("egl", "osmesa")), "install libegl1 or libosmesa6"


def test_generate_fails_before_any_work_when_no_gl_works(monkeypatch, tmp_path):
    from robotr1_data.generate import GenerateConfig, generate

    monkeypatch.setattr(gl, "_state", {"failed": True, "chosen": None, "source": "auto",
                                       "verified": False})
    with pytest.raises(UsageError, match="libegl1"):
        generate(GenerateConfig(tasks=["reach_target"], episodes=1, out=str(tmp_path),
                                cameras=["front"]), show_progress=False)
    assert not list(tmp_path.rglob("*.h5"))


def _fresh(code, env_extra=None, unset=("MUJOCO_GL", "PYOPENGL_PLATFORM", "ROBOTR1_GL_VERIFIED")):
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_importing_the_simulator_starts_no_process():
    """Building a model (no renderer) never runs the GL probe: no subprocess at all."""
    code = (
        "import subprocess\n"
        "calls = []\n"
        "real = subprocess.Popen.__init__\n"
        "def spy(self, *a, **k):\n"
        "    calls.append(a[0] if a else k.get('args'))\n"
        "    return real(self, *a, **k)\n"
        "subprocess.Popen.__init__ = spy\n"
        "import os\n"
        "import robotr1_data.backends.mujoco.mujoco_sim, robotr1_data.backends.mujoco.scene\n"
        "import robotr1_data.backends.mujoco.cameras\n"
        "from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim\n"
        "from robotr1_data.tasks.registry import get_task\n"
        "with MujocoSim(get_task('reach_target'), cameras=[]) as sim: pass\n"
        "print(len(calls), os.environ.get('MUJOCO_GL'))\n"
    )
    out = _fresh(code)
    assert out.returncode == 0, out.stderr[-2000:]
    n, chosen = out.stdout.split()
    assert n == "0", ("importing robotr1_data.backends.mujoco (or a physics-only sim) started a "
                      "subprocess")
    assert chosen in ("egl", "osmesa"), "MUJOCO_GL is exported before mujoco is imported"


def test_renderer_probes_once_and_renders():
    code = (
        "import numpy as np\n"
        "from robotr1_data.backends.mujoco import gl\n"
        "from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim\n"
        "from robotr1_data.tasks.registry import get_task\n"
        "with MujocoSim(get_task('reach_target'), cameras=['front'], image_size=(16, 16)) as sim:\n"
        "    sim.reset(0, np.random.default_rng(0)); img = sim.render()['front_rgb']\n"
        "print(gl._state['verified'], img.shape)\n"
    )
    out = _fresh(code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "True (16, 16, 3)"


def test_mujoco_imported_first_says_set_mujoco_gl_before_import():
    """A script that imports mujoco before robotr1 (MUJOCO_GL unset, no display) gets told that
    MUJOCO_GL must be set before mujoco is first imported, and how -- not to install packages."""
    code = (
        "import mujoco\n"
        "import sys\n"
        "from robotr1_data.errors import UsageError\n"
        "from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim\n"
        "from robotr1_data.tasks.registry import get_task\n"
        "try:\n"
        "    MujocoSim(get_task('reach_target'), cameras=['front'], image_size=(16, 16))\n"
        "except UsageError as e:\n"
        "    print(e)\n"
    )
    out = _fresh(code, unset=("MUJOCO_GL", "PYOPENGL_PLATFORM", "ROBOTR1_GL_VERIFIED", "DISPLAY"))
    assert out.returncode == 0, out.stderr[-2000:]
    msg = out.stdout.strip()
    assert "MUJOCO_GL must be set before mujoco is first imported" in msg, msg
    assert "os.environ['MUJOCO_GL']" in msg and "libegl1" not in msg and "\n" not in msg


def test_llvmpipe_rasterises_in_the_drawing_threads_on_two_cores_unless_told():
    """LP_NUM_THREADS: 0 on two cores (each of the recorder's two contexts rasterises in its own
    thread: faster there than Mesa's one-per-core default, bench/record.py); never above Mesa's
    default; a user's value is kept. Set before mujoco's first context, where Mesa reads it."""
    assert [gl.llvmpipe_threads(c) for c in (1, 2, 3, 4, 16)] == [0, 0, 0, 1, 7]
    assert all(gl.llvmpipe_threads(c) <= c for c in range(1, 65))
    code = "import os, robotr1_data.backends.mujoco; print(os.environ.get('LP_NUM_THREADS'))"
    unset = ("PYOPENGL_PLATFORM", "ROBOTR1_GL_VERIFIED", "LP_NUM_THREADS")
    for platform in ("egl", "osmesa"):
        out = _fresh(code, {"MUJOCO_GL": platform}, unset=unset)
        assert out.stdout.strip() == str(gl.llvmpipe_threads(os.cpu_count() or 1)), out.stderr
    out = _fresh(code, {"MUJOCO_GL": "egl", "LP_NUM_THREADS": "3"}, unset=unset)
    assert out.stdout.strip() == "3"
    out = _fresh(code, {"MUJOCO_GL": "glfw"}, unset=unset)  # a display's GL: not ours to tune
    assert out.stdout.strip() == "None"
