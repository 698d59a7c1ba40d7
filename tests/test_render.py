"""Store state, render later: `--image-every K` keeps images at every K-th frame and keypoints
(state at every frame), and `robotr1-data render` re-renders stored states bit-identically to
a recording made with the new camera settings."""

import json

import numpy as np
import pytest

from robotr1_data import cli
from robotr1_data.generate import GenerateConfig, generate
from robotr1_data.shards import ShardReader, read_manifest, validate_dir

TASK = "push_button"


def _gen(out, cameras, size, image_every):
    cfg = GenerateConfig(tasks=[TASK], episodes=2, out=str(out), seed=11, cameras=cameras,
                         image_size=size, image_every=image_every)
    generate(cfg, show_progress=False)
    return out / TASK / "shard-00000.h5"


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("render")
    plain = _gen(root / "plain", [], (32, 32), 1)  # state only, no cameras at all
    direct = _gen(root / "direct", ["front", "wrist"], (48, 40), 3)
    return root, plain, direct


def test_image_every_keeps_every_kth_frame_and_keypoints(datasets):
    _, plain, direct = datasets
    with ShardReader(direct) as r:
        for name in r.episodes:
            ep = r.load(name)
            want = set(range(0, ep.length, 3)) | set(ep.keypoints.tolist()) \
                | set(ep.planner_keypoints.tolist())
            assert ep.image_frames.tolist() == sorted(want)
            assert len(ep.image_frames) < ep.length
            assert ep.sim_state.shape[0] == ep.length  # state kept for every step
            assert ep.images["front_rgb"].shape == (len(want), 48, 40, 3)
            assert ep.camera_extrinsics["wrist"].shape == (len(want), 4, 4)
    with ShardReader(plain) as r:
        assert r.load(0).images == {}


def test_render_is_bit_identical_to_a_recording_with_those_settings(datasets, capsys):
    root, plain, direct = datasets
    out = root / "rendered"
    assert cli.main(["render", str(root / "plain"), "--out", str(out), "--cameras", "front",
                     "wrist", "--image-size", "48", "40", "--image-every", "3", "--quiet"]) == 0
    assert "rendered 2 episodes in 1 shard(s)" in capsys.readouterr().out
    rendered = out / TASK / "shard-00000.h5"
    with ShardReader(rendered) as a, ShardReader(direct) as b:
        assert len(a.episodes) == len(b.episodes) == 2
        for name in b.episodes:
            x, y = a.load(name), b.load(name)
            assert sorted(x.images) == sorted(y.images) == [
                f"{c}_{k}" for c in ("front", "wrist") for k in ("depth", "mask", "rgb")]
            for key in y.images:  # pixels, depth and masks: exactly equal
                np.testing.assert_array_equal(x.images[key], y.images[key], err_msg=key)
            np.testing.assert_array_equal(x.image_frames, y.image_frames)
            for cam in ("front", "wrist"):
                np.testing.assert_array_equal(x.camera_extrinsics[cam], y.camera_extrinsics[cam])
                np.testing.assert_array_equal(x.camera_intrinsics[cam], y.camera_intrinsics[cam])
                assert x.camera_near_far[cam] == y.camera_near_far[cam]
            assert x.mask_names == y.mask_names
            np.testing.assert_array_equal(x.sim_state, y.sim_state)
        assert a.config == b.config
    # Everything equal down to the file's bytes.
    direct_sha = read_manifest(root / "direct")["shards"][0]["sha256"]
    assert read_manifest(out)["shards"][0]["sha256"] == direct_sha
    assert validate_dir(out) == []
    assert json.loads((out / "manifest.json").read_text())["config"]["rendered_from"]

    # A rerun keeps the complete output.
    before = rendered.stat().st_mtime_ns
    assert cli.main(["render", str(root / "plain"), "--out", str(out), "--cameras", "front",
                     "wrist", "--image-size", "48", "40", "--image-every", "3", "--quiet"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert rendered.stat().st_mtime_ns == before
    # Another size into the same --out: refused, the existing output untouched.
    assert cli.main(["render", str(root / "plain"), "--out", str(out), "--cameras", "front",
                     "wrist", "--image-size", "32", "32", "--image-every", "3", "--quiet"]) == 2
    assert "made with other settings (image_size [48, 40] -> [32, 32])" in capsys.readouterr().err
    assert rendered.stat().st_mtime_ns == before


def test_render_default_image_every_and_errors(datasets, tmp_path, capsys):
    root, plain, direct = datasets
    # Re-render the camera dataset at another size; image frames follow its image_every (3).
    assert cli.main(["render", str(direct), "--out", str(tmp_path / "small"), "--cameras",
                     "front", "--image-size", "32", "32", "--no-depth", "--no-mask",
                     "--quiet"]) == 0
    with ShardReader(tmp_path / "small" / direct.name) as r, ShardReader(direct) as d:
        ep, src = r.load(0), d.load(0)
        assert sorted(ep.images) == ["front_rgb"] and ep.images["front_rgb"].shape[1:] == (32, 32, 3)
        np.testing.assert_array_equal(ep.image_frames, src.image_frames)
    capsys.readouterr()
    assert cli.main(["render", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["render", str(direct), "--out", str(tmp_path / "y"), "--cameras",
                     "side"]) == 2
    assert "unknown camera" in capsys.readouterr().err


def test_render_in_worker_processes_gives_the_same_bytes(datasets, tmp_path):
    root, _, _ = datasets
    out = tmp_path / "pooled"
    assert cli.main(["render", str(root / "plain"), "--out", str(out), "--cameras", "front",
                     "wrist", "--image-size", "48", "40", "--image-every", "3", "--quiet",
                     "--workers", "2"]) == 0
    direct_sha = read_manifest(root / "direct")["shards"][0]["sha256"]
    assert read_manifest(out)["shards"][0]["sha256"] == direct_sha
