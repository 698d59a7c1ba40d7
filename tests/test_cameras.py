"""CameraRig's render path (RGB + depth from one pass, masks from one segmentation pass) returns
exactly what mujoco.Renderer's one-pass-per-mode path returned, for every camera and mode set."""

import numpy as np
import pytest

from robotr1_data.sim.cameras import CameraRig, reference_renderer, render_three_pass
from robotr1_data.sim.ik import HOME_Q
from robotr1_data.sim.mujoco_sim import MujocoSim
from robotr1_data.tasks.registry import get_task

CAMERAS = ["front", "left_shoulder", "right_shoulder", "overhead", "wrist"]


@pytest.fixture(scope="module")
def states():
    """A few states of a moving arm (so the wrist camera and the hand in view change)."""
    with MujocoSim(get_task("pick_up_cup")) as sim:
        sim.reset(0, np.random.default_rng(3))
        out = [sim.get_state()]
        target = HOME_Q + np.array([0.4, 0.3, -0.2, -0.3, 0.2, 0.4, 0.5])
        for k in range(3):
            for _ in range(4):
                sim.step(target if k % 2 == 0 else HOME_Q, 0.0 if k else None)
            out.append(sim.get_state())
        yield out


def _compare(states, size, quality=False, **modes):
    with MujocoSim(get_task("pick_up_cup")) as sim:
        rig = CameraRig(sim.model, CAMERAS, size, quality=quality, **modes)
        ref = reference_renderer(sim.model, size, quality=quality)
        try:
            for state in states:
                sim.set_state(state)
                new = rig.render(sim.data)
                old = render_three_pass(ref, sim.data, CAMERAS, rig._geom_body, **modes)
                assert sorted(new) == sorted(old)
                for key, want in old.items():
                    got = new[key]
                    assert got.dtype == want.dtype and got.shape == want.shape, key
                    assert got.flags.c_contiguous, key
                    # Bit for bit, NaN-free: array_equal on the raw bytes.
                    assert got.tobytes() == want.tobytes(), f"{key} differs from mujoco.Renderer"
                seen = {k.rsplit("_", 1)[1] for k in new}
                assert seen == {m for m, on in modes.items() if on}
        finally:
            rig.close()
            ref.close()


@pytest.mark.parametrize("modes", [
    dict(rgb=True, depth=True, mask=False),   # one ordinary pass gives RGB and depth
    dict(rgb=True, depth=True, mask=True),    # + one segmentation pass (depth read there)
    dict(rgb=False, depth=True, mask=False),
    dict(rgb=True, depth=False, mask=True),
], ids=["rgb+depth", "rgb+depth+mask", "depth", "rgb+mask"])
def test_render_is_bit_identical_to_mujoco_renderer(states, modes):
    _compare(states, (128, 128), **modes)


def test_render_quality_is_bit_identical_to_mujoco_renderer(states):
    # Multisampling and reflections change the ordinary pass's z-buffer, so depth must come
    # from the segmentation pass there; a small size keeps the slow quality renders short.
    _compare(states[-1:], (48, 64), quality=True, rgb=True, depth=True, mask=False)


def test_depth_and_mask_see_the_scene(states):
    """Guards the comparison above against comparing two empty images."""
    with MujocoSim(get_task("pick_up_cup"), cameras=CAMERAS, image_size=(64, 64)) as sim:
        sim.set_state(states[0])
        out = sim.render()
        names = sim.mask_names()
        for cam in CAMERAS:
            assert out[f"{cam}_rgb"].std() > 5
            depth = out[f"{cam}_depth"]  # metres; the sky reads as the far plane
            assert 0.02 < depth.min() < np.median(depth) < 3 and depth.max() <= sim.rig.near_far()[1] * 1.01
        assert names.index("table") in out["front_mask"]
        assert {names.index(b) for b in ("panda_leftfinger", "panda_rightfinger")} & set(
            np.unique(out["wrist_mask"]).tolist())
