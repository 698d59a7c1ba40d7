"""The camera list comes from the compiled scene: a camera added to (a copy of) world.xml is
recorded by `generate --cameras NAME` without a line of Python changed."""

import json
import shutil

import h5py
import numpy as np

from robotr1_data import cli
from robotr1_data.episode import CAMERAS
from robotr1_data.world import ASSETS_DIR, ASSETS_ENV
from robotr1_data.backends.mujoco.scene import scene_cameras

SIDE = '    <camera name="side" pos="0.25 1.2 1.3" xyaxes="-1 0 0 0 -0.3 0.95" fovy="50"/>\n'


def test_packaged_scene_has_the_rlbench_cameras_in_order():
    assert scene_cameras() == list(CAMERAS)


def test_a_camera_added_to_the_world_file_is_recorded(tmp_path, monkeypatch):
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, assets)
    world = assets / "world.xml"
    lines = world.read_text().splitlines(keepends=True)
    at = next(i for i, l in enumerate(lines) if 'camera name="overhead"' in l)
    world.write_text("".join(lines[:at + 1] + [SIDE] + lines[at + 1:]))
    monkeypatch.setenv(ASSETS_ENV, str(assets))

    assert scene_cameras() == list(CAMERAS) + ["side"]
    out = tmp_path / "d"
    assert cli.main(["generate", "--tasks", "push_button", "--episodes", "1", "--out", str(out),
                     "--cameras", "side", "front", "--image-size", "16", "16", "--quiet"]) == 0
    with h5py.File(out / "push_button" / "shard-00000.h5", "r") as f:
        assert json.loads(f.attrs["config"])["cameras"] == ["side", "front"]
        ep = f["episodes"][sorted(f["episodes"])[0]]
        side = np.asarray(ep["side_rgb"][0]) if "side_rgb" in ep else None
    assert side is not None and side.shape[-1] == 3 and side.std() > 0, "the new view was rendered"


def test_unknown_camera_names_the_scene_cameras(tmp_path, capsys):
    assert cli.main(["generate", "--tasks", "push_button", "--out", str(tmp_path),
                     "--cameras", "side"]) == 2
    err = capsys.readouterr().err
    assert "unknown camera(s) ['side']" in err and "'wrist'" in err
