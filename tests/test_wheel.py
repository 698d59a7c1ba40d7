"""A built wheel carries the MJCF assets, and robotr1 installed from it generates data from any
directory (the assets are read from the installed package, not from a checkout)."""

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Build from a copy: pip builds in the source tree (build/, *.egg-info), which must stay clean.
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("setup.cfg", "setup.py", "README.md"):
        (src / name).write_bytes((ROOT / name).read_bytes())
    for pkg in ("robotr1_data", "robotr1_train"):
        subprocess.run(["cp", "-r", str(ROOT / pkg), str(src / pkg)], check=True)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "--no-index", "-q", "-w", str(tmp / "dist"), str(src)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return next((tmp / "dist").glob("robotr1-*.whl"))


def test_wheel_contains_the_assets(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {f"robotr1_data/assets/{n}.xml" for n in ("world", "panda", "panda_settings",
                                                      "panda_tree")} <= set(names)


def test_installed_wheel_generates_from_another_directory(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # The dependencies (mujoco, h5py, ...) come from this interpreter's site-packages, added
    # after the venv's own; nothing is downloaded. A path line in a .pth does not run the
    # .pth files found there, so this environment's editable robotr1 stays out of sight.
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                    # this environment may hold robotr1 already (editable): install beside it
                    "--ignore-installed",
                    "--no-index", str(wheel)], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = tmp_path / "elsewhere"
    where.mkdir()
    found = subprocess.run([str(py), "-c", "import robotr1_data.world as a; "
                            "print(a.ASSETS_DIR)"],
                           cwd=where, env=env, capture_output=True, text=True, check=False)
    assert found.returncode == 0, found.stderr[-1500:]
    found = found.stdout
    assert found.strip().startswith(str(venv)), found
    run = subprocess.run([str(venv / "bin" / "robotr1-data"), "generate", "--tasks", "reach_target",
                          "--episodes", "1", "--cameras", "none", "--out", "d", "--quiet"],
                         cwd=where, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (where / "d" / "reach_target" / "shard-00000.h5").is_file()
