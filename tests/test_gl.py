"""Headless GL selection: explicit MUJOCO_GL honoured, a clear error when nothing works."""

import os

import pytest

from robotr1_data.errors import UsageError
from robotr1_data.sim import gl


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

    monkeypatch.setitem(gl._state, "failed", True)
    with pytest.raises(UsageError, match="libegl1"):
        generate(GenerateConfig(tasks=["reach_target"], episodes=1, out=str(tmp_path),
                                cameras=["front"]), show_progress=False)
    assert not list(tmp_path.rglob("*.h5"))
