"""CameraRig's render path (RGB + depth from one pass, masks from one segmentation pass) returns
exactly what mujoco.Renderer's one-pass-per-mode path returned, for every camera and mode set."""

import numpy as np
import pytest

from robotr1_data.backends.mujoco.cameras import CameraRig, reference_renderer, render_three_pass
from robotr1_data.backends.mujoco.ik import HOME_Q
from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim
from robotr1_data.tasks.registry import get_task

import mujoco  # noqa: E402  (after robotr1_data.backends.mujoco, which picks the GL platform first)

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


def _compare(states, size, quality=False, task="pick_up_cup", cull=None, **modes):
    with MujocoSim(get_task(task)) as sim:
        rig = CameraRig(sim.model, CAMERAS, size, quality=quality, cull=cull, **modes)
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


@pytest.mark.parametrize("task", ["put_groceries_in_cupboard", "open_drawer", "stack_blocks"])
def test_skipping_geoms_outside_the_view_changes_no_pixel(task):
    """Geoms outside a camera's frustum are not drawn: other scenes, a non-square image, a
    moving arm (the wrist camera's view sweeps over the scene)."""
    with MujocoSim(get_task(task)) as sim:
        sim.reset(0, np.random.default_rng(1))
        states = []
        for k in range(3):
            sim.step(HOME_Q + 0.25 * k * np.array([1, 1, -1, -1, 1, 1, 1]), None)
            states.append(sim.get_state())
    with MujocoSim(get_task(task)) as sim:
        rig = CameraRig(sim.model, CAMERAS, (72, 96), threads=1)  # its scene ends on the wrist camera
        sim.set_state(states[-1])
        rig.render(sim.data)
        skipped = sum(g.type == mujoco.mjtGeom.mjGEOM_NONE for g in rig.scene.geoms[:rig.scene.ngeom])
        rig.close()
    assert skipped > 0, "the test scene has geoms outside the last camera's view"
    _compare(states, (72, 96), task=task, rgb=True, depth=True, mask=True)


@pytest.mark.parametrize("name, software", [
    ("llvmpipe (LLVM 15.0.6, 256 bits)", True), ("Mesa OffScreen", True), ("softpipe", True),
    ("", True), ("NVIDIA H200/PCIe/SSE2", False), ("AMD Radeon Pro W7900 (radeonsi, gfx1100)", False)])
def test_cpu_rasterisers_are_recognised(name, software):
    from robotr1_data.backends.mujoco.gl import is_software_renderer

    assert is_software_renderer(name) is software


def test_culling_follows_the_gl_renderer_and_changes_no_pixel(states, monkeypatch):
    """Culling is on for this machine's CPU rasteriser and off when the context reports a GPU;
    the arrays are the same bit for bit either way (so shards do not depend on the card)."""
    import robotr1_data.backends.mujoco.cameras as cameras

    with MujocoSim(get_task("pick_up_cup")) as sim:
        rig = CameraRig(sim.model, CAMERAS, (64, 64))
        assert rig.gl_renderer and rig._skip_unseen  # llvmpipe or OSMesa here
        rig.close()
        monkeypatch.setattr(cameras, "renderer_name", lambda: "NVIDIA H200/PCIe/SSE2")
        rig = CameraRig(sim.model, CAMERAS, (64, 64))
        assert not rig._skip_unseen and not rig._half_angles
        rig.close()
        rig = CameraRig(sim.model, CAMERAS, (64, 64), cull=True)
        assert rig._skip_unseen
        rig.close()
    _compare(states, (64, 64), cull=False, rgb=True, depth=True, mask=True)


def test_threads_render_the_same_arrays_in_the_same_order(states):
    """Cameras spread over several GL contexts in their own threads: the same bytes, keys in the
    one-context order; the default uses two on this machine's CPU rasteriser; close ends them."""
    import threading
    import time

    with MujocoSim(get_task("pick_up_cup")) as sim:
        rigs = {n: CameraRig(sim.model, CAMERAS, (64, 64), threads=n) for n in (1, 2, 3)}
        default = CameraRig(sim.model, CAMERAS, (64, 64))
        one_cam = CameraRig(sim.model, ["front"], (64, 64), threads=2)
        try:
            assert default.threads == 2 and rigs[3].threads == 3 and one_cam.threads == 1
            assert rigs[2]._deal() == [["front", "right_shoulder"], ["left_shoulder", "overhead", "wrist"]]
            assert rigs[3]._deal() == [["front"], ["left_shoulder", "wrist"], ["right_shoulder", "overhead"]]
            workers = [t for t in threading.enumerate() if t.name.startswith("camera-rig-")]
            assert not workers  # render's helpers are made on its first call
            for r in (rigs[2], rigs[3], default, one_cam):
                r.render(sim.data)
            workers = [t for t in threading.enumerate() if t.name.startswith("camera-rig-")]
            assert len(workers) == 1 + 2 + 1  # threads=2, threads=3, the default
            for state in states:
                sim.set_state(state)
                want = rigs[1].render(sim.data)
                for n in (2, 3):
                    got = rigs[n].render(sim.data)
                    assert list(got) == list(want)
                    assert all(got[k].tobytes() == want[k].tobytes() for k in want), n
            # a failure in the calling thread leaves no helper's arrays behind for the next frame
            def boom(data, cams, out=None):
                while rigs[2]._helpers[0]._out.empty():  # the helper has drawn this frame's state
                    time.sleep(0.001)
                raise RuntimeError("boom")

            rigs[2]._render = boom
            with pytest.raises(RuntimeError, match="boom"):
                rigs[2].render(sim.data)
            del rigs[2]._render  # the class's method again
            sim.set_state(states[0])
            got, want = rigs[2].render(sim.data), rigs[1].render(sim.data)
            assert list(got) == list(want) and all(got[k].tobytes() == want[k].tobytes() for k in want)
        finally:
            for r in (*rigs.values(), default, one_cam):
                r.close()
        assert not [t for t in threading.enumerate() if t.name.startswith("camera-rig-")]
    with pytest.raises(ValueError, match="threads"):
        with MujocoSim(get_task("pick_up_cup")) as sim:
            CameraRig(sim.model, CAMERAS, (32, 32), threads=0)


def test_submitted_frames_are_the_states_at_submit_time(states):
    """``submit`` copies the state and draws whole frames in background contexts (the first free
    one takes the next frame): stepping on before collecting changes no frame; every frame
    equals ``render``'s arrays for its state, in key order; more frames than ``in_flight`` wait
    rather than share a copy; a failure reaches only its frame."""
    import threading

    with MujocoSim(get_task("pick_up_cup")) as sim:
        ref = CameraRig(sim.model, CAMERAS, (64, 64), threads=1, pipeline=False)
        rigs = [CameraRig(sim.model, CAMERAS, (64, 64)),
                CameraRig(sim.model, ["front"], (64, 64)),
                CameraRig(sim.model, CAMERAS, (64, 64), threads=1, pipeline=True),
                CameraRig(sim.model, CAMERAS, (64, 64), pipeline=False)]
        try:
            # the defaults on this machine's CPU rasteriser: two background contexts, whatever
            # the cameras; pipeline=False: drawn before submit returns
            assert [r._mode for r in rigs] == ["pool", "pool", "pool", "sync"]
            assert [r.pool_size for r in rigs[:3]] == [2, 2, 1] and rigs[1].threads == 1
            for rig in rigs:
                want, jobs = [], []
                for state in states * 2:  # more frames than in_flight
                    sim.set_state(state)
                    jobs.append(rig.submit(sim.data))
                    want.append({k: v for k, v in ref.render(sim.data).items()
                                 if k.startswith(tuple(rig.cameras))})
                    sim.set_state(states[0])  # the caller moves on at once
                assert len(jobs) > rig.in_flight
                for job, w in zip(jobs, want):
                    got = job.result()
                    assert list(got) == list(w)
                    assert all(got[k].tobytes() == w[k].tobytes() for k in w)
                assert rig._spare.qsize() == (rig.in_flight if rig._pool else 0)  # every copy came back
            workers = [t for t in threading.enumerate() if t.name.startswith("camera-rig-")]
            assert len(workers) == 2 + 2 + 1 + 1  # pools of two, two, one; the sync rig's helper
            assert not rigs[3]._pool
            both = {w.name for w in workers if w.name.startswith("camera-rig-10")}
            assert both == {"camera-rig-100", "camera-rig-101"}
            rig = rigs[0]

            def boom(self, data, cams, out=None):
                raise RuntimeError("boom")

            saved = CameraRig._render
            CameraRig._render = boom  # the context that takes the next frame fails it
            try:
                with pytest.raises(RuntimeError, match="boom"):
                    rig.submit(sim.data).result()
            finally:
                CameraRig._render = saved
            assert rig._spare.qsize() == rig.in_flight  # its copy came back, the next is whole
            sim.set_state(states[1])
            got, want = rig.submit(sim.data).result(), ref.render(sim.data)
            assert all(got[k].tobytes() == want[k].tobytes() for k in want)
        finally:
            for r in (ref, *rigs):
                r.close()
        assert not [t for t in threading.enumerate() if t.name.startswith("camera-rig-")]
        off = CameraRig(sim.model, ["front"], (32, 32), pipeline=False)
        try:
            sim.set_state(states[2])
            job = off.submit(sim.data)  # not pipelined: drawn before submit returns
            assert job.done() and job.result()["front_rgb"].tobytes() == off.render(sim.data)["front_rgb"].tobytes()
            assert not off._pool
        finally:
            off.close()


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


def test_coarser_tessellation_is_opt_in_and_leaves_the_model_alone(states):
    """``tessellation`` changes the built-in shapes' outlines (the arm's capsules), nothing else:
    the model keeps its own slices and stacks, so a default rig made afterwards is still
    bit-identical to mujoco.Renderer."""
    with MujocoSim(get_task("pick_up_cup")) as sim:
        q = sim.model.vis.quality
        before = (q.numslices, q.numstacks)
        coarse = CameraRig(sim.model, CAMERAS, (64, 64), tessellation=(8, 4))
        assert (q.numslices, q.numstacks) == before == (28, 16)
        default = CameraRig(sim.model, CAMERAS, (64, 64))
        try:
            sim.set_state(states[-1])
            a, b = coarse.render(sim.data), default.render(sim.data)
        finally:
            coarse.close()
            default.close()
    assert sorted(a) == sorted(b)
    changed = [k for k in a if a[k].tobytes() != b[k].tobytes()]
    assert any(k.endswith("_rgb") for k in changed) and any(k.endswith("_mask") for k in changed)
    for cam in CAMERAS:  # small changes: outlines of curved shapes, not a different picture
        assert np.mean(a[f"{cam}_mask"] != b[f"{cam}_mask"]) < 0.05
    _compare(states[-1:], (64, 64), rgb=True, depth=True, mask=True)


@pytest.mark.parametrize("bad", [(2, 4), (8, 1), (8,)])
def test_bad_tessellation_is_a_usage_error(bad):
    from robotr1_data.errors import UsageError

    with MujocoSim(get_task("reach_target")) as sim:
        with pytest.raises(UsageError, match="needs SLICES >= 3 and STACKS >= 2"):
            CameraRig(sim.model, ["front"], (32, 32), tessellation=bad)


# --- calibration: RLBench's pixel convention -------------------------------------------------

def _pointcloud_rlbench(depth, extrinsics, intrinsics):
    """PyRep's ``pointcloud_from_depth_and_camera_params``, from the pinhole model it implements:
    pixel (row v, column u) with z-depth d is ``d * inv(K) @ [u, v, 1]`` in the camera frame
    (integer u, v: no half-pixel offset), then camera -> world through the extrinsics."""
    h, w = depth.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    pix = np.stack([u, v, np.ones_like(u)], -1) * depth[..., None].astype(np.float64)
    cam = pix @ np.linalg.inv(intrinsics).T
    return cam @ extrinsics[:3, :3].T + extrinsics[:3, 3]


def _table_top_pixels(sim, cam, mask, size):
    """Pixels whose centre ray (from MuJoCo's own camera pose and fovy, independent of the
    intrinsics under test) meets the table-top plane at least 1 cm inside its edges, and whose
    mask says table (nothing stands in front)."""
    from robotr1_data.world import TABLE_TOP_Z

    m, d = sim.model, sim.data
    h, w = size
    cid = m.camera(cam).id
    f = 0.5 * h / np.tan(0.5 * np.radians(m.cam_fovy[cid]))
    rows, cols = np.mgrid[0:h, 0:w]
    # MuJoCo camera frame: x right, y up, looking along -z; image row 0 is the top.
    rays = np.stack([(cols + 0.5 - w / 2) / f, (h / 2 - rows - 0.5) / f, -np.ones((h, w))], -1)
    rays = rays @ d.cam_xmat[cid].reshape(3, 3).T
    t = (TABLE_TOP_Z - d.cam_xpos[cid][2]) / rays[..., 2]
    hit = d.cam_xpos[cid] + t[..., None] * rays
    top = m.geom("table_top")
    centre, half = d.geom_xpos[top.id], top.size
    inside = (np.abs(hit[..., 0] - centre[0]) < half[0] - 0.01) & \
             (np.abs(hit[..., 1] - centre[1]) < half[1] - 0.01) & (t > 0)
    return inside & (mask == m.body("table").id)


@pytest.mark.parametrize("size", [(128, 128), (96, 160)], ids=["128x128", "96x160"])
def test_rlbench_pointcloud_of_the_table_is_flat(states, size):
    """Back-projected through RLBench's convention with our intrinsics and extrinsics, the
    table top lies on its plane to 0.1 mm (half a pixel off, it tilted by 5-9 mm)."""
    from robotr1_data.world import TABLE_TOP_Z

    cams = ["front", "left_shoulder", "right_shoulder"]
    with MujocoSim(get_task("pick_up_cup"), cameras=cams, image_size=size) as sim:
        sim.set_state(states[0])
        out, params = sim.render(), sim.camera_parameters()
        for cam in cams:
            table = _table_top_pixels(sim, cam, out[f"{cam}_mask"], size)
            assert table.sum() > 0.2 * table.size, f"{cam} sees the table top"
            pts = _pointcloud_rlbench(out[f"{cam}_depth"], params[cam]["extrinsics"],
                                      params[cam]["intrinsics"])[table]
            err = np.abs(pts[:, 2] - TABLE_TOP_Z)
            assert err.max() < 1e-4, f"{cam}: table off its plane by up to {err.max() * 1e3:.3f} mm"
            # Not flat by accident: the points spread over the table top.
            assert np.ptp(pts[:, 0]) > 0.3 and np.ptp(pts[:, 1]) > 0.3


def test_intrinsics_principal_point_is_half_a_pixel_before_the_centre():
    with MujocoSim(get_task("reach_target"), cameras=["front"], image_size=(96, 160)) as sim:
        K = sim.camera_parameters()["front"]["intrinsics"]
    assert K[0, 2] == 160 / 2 - 0.5 and K[1, 2] == 96 / 2 - 0.5
    assert K[0, 0] == K[1, 1] < 0  # RLBench: negative focal lengths, square pixels


def test_old_shards_keep_their_stored_intrinsics(tmp_path):
    """A schema-2 shard (principal point at W/2, H/2) reads back with its own intrinsics."""
    import h5py

    from robotr1_data.shards import SCHEMA_VERSION, ShardReader, ShardWriter
    from test_shards import CONFIG, H, W, make_episode

    assert SCHEMA_VERSION == 3
    path = tmp_path / "old.h5"
    with ShardWriter(path, CONFIG) as w:
        w.add(make_episode(0))  # its intrinsics are the old (W/2, H/2) kind
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 2
    with ShardReader(path) as r:
        assert r.schema_version == 2
        ep = r.load(r.episodes[0], images=False)
    for k in ep.camera_intrinsics.values():
        np.testing.assert_array_equal(k, [[-20.0, 0, W / 2], [0, -20.0, H / 2], [0, 0, 1]])


@pytest.mark.parametrize("size", [(0, 0), (2000, 16)])
def test_image_size_outside_the_offscreen_buffer_is_a_usage_error(size):
    from robotr1_data.errors import UsageError

    with pytest.raises(UsageError, match="--image-size H W"):
        MujocoSim(get_task("reach_target"), cameras=["front"], image_size=size)


def test_close_of_a_half_made_rig_frees_what_was_made():
    """__init__ calls close() when making the GL context fails, before the thread lists exist:
    it must still reach the context's own clean-up (an error there was swallowed and leaked it)."""
    rig = CameraRig.__new__(CameraRig)
    freed = []

    class GL:
        def make_current(self):
            pass

        def free(self):
            freed.append("gl")

    rig._con, rig._gl = None, GL()
    rig.close()
    assert freed == ["gl"] and rig._gl is None


def test_render_writes_into_the_arrays_it_is_given():
    """render / submit with ``out``: the frame lands in the caller's arrays (record_demo's slots
    of a demo's stacked arrays), equal to a fresh render, whichever way the cameras are drawn."""
    with MujocoSim(get_task("pick_up_cup")) as sim:
        sim.reset(0, np.random.default_rng(1))
        for kw in (dict(threads=1, pipeline=False), dict(threads=2, pipeline=False), dict(pipeline=True)):
            rig = CameraRig(sim.model, CAMERAS, (32, 48), **kw)
            try:
                specs = rig.image_specs()
                want = rig.render(sim.data)
                assert list(specs) == list(want)
                assert all(specs[k] == (v.shape, v.dtype) for k, v in want.items())
                for call in (rig.render, lambda d, out: rig.submit(d, out).result()):
                    out = {k: np.full(shape, 7, dtype) for k, (shape, dtype) in specs.items()}
                    got = call(sim.data, out)
                    assert list(got) == list(want)
                    for k in want:
                        assert got[k] is out[k] and out[k].tobytes() == want[k].tobytes(), (kw, k)
            finally:
                rig.close()
