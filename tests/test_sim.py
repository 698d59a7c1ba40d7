"""The MuJoCo backend: world frame, cameras (calibration, depth), grasping, determinism."""

import numpy as np
import pytest

from robotr1_data.expert import Expert
from robotr1_data.record import record_demo
from robotr1_data.backends.mujoco.ik import HOME_Q, PandaIK
from robotr1_data.backends.mujoco.mujoco_sim import FINGER_MAX, MujocoSim
from robotr1_data.world import TABLE_CENTER, TABLE_TOP_Z
from robotr1_data.tasks.registry import get_task

HAND_BODIES = {"panda_hand", "panda_leftfinger", "panda_rightfinger"}


@pytest.fixture(scope="module")
def cup_episode():
    with MujocoSim(get_task("pick_up_cup"), cameras=["front", "overhead"], image_size=(128, 128)) as sim:
        ep = record_demo(sim, Expert(sim), variation=0, seed=5)
        yield ep


def test_world_frame_matches_robot_r1_metadata():
    with MujocoSim(get_task("reach_target")) as sim:
        sim.reset(0, np.random.default_rng(0))
        top = sim.model.geom("table_top")
        centre = sim.data.geom("table_top").xpos + np.array([0, 0, top.size[2]])
        np.testing.assert_allclose(centre, TABLE_CENTER, atol=1e-9)
        front = sim.data.cam("front").xpos
        assert front[0] > 0.8, "the front camera sits on +x"
        # Home pose: the TCP points down, in front of the base.
        assert sim.tcp_pose()[2] > TABLE_TOP_Z + 0.3


def test_the_world_sites_read_without_mujoco_are_the_compiled_models():
    """world.py parses world.xml's named sites with xml.etree; every value is the compiled
    model's (positions and sizes to the bit, box bounds pos -/+ size), every site is in the
    world frame, the table-top areas lie on the table top, and no render shows them."""
    import mujoco

    from robotr1_data import world

    sites = world.world_sites()
    assert {"table_top", "table_reach", "workspace", "above_table"} <= set(sites)
    model = mujoco.MjModel.from_xml_path(str(world.asset_path("world.xml")))
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    for name, site in sites.items():
        compiled = model.site(name)
        assert compiled.bodyid[0] == 0, f"{name} is not directly in <worldbody>"
        np.testing.assert_array_equal(site.pos, compiled.pos)
        np.testing.assert_array_equal(site.pos, data.site(name).xpos)
        if compiled.type[0] == mujoco.mjtGeom.mjGEOM_BOX:
            np.testing.assert_array_equal(site.size, compiled.size)
            np.testing.assert_allclose(site.low, compiled.pos - compiled.size, rtol=0, atol=1e-12)
            np.testing.assert_allclose(site.high, compiled.pos + compiled.size, rtol=0, atol=1e-12)
        # Kept out of images, depth maps and masks: a group our renderer leaves off, no colour.
        assert not mujoco.MjvOption().sitegroup[compiled.group[0]] and compiled.rgba[3] == 0
    assert world.TABLE_TOP_Z == model.site("table_top").pos[2] == 0.752
    assert world.TABLE_CENTER == tuple(model.site("table_top").pos) == (0.25, 0.0, 0.752)
    for area in ("table_reach", "workspace"):
        assert model.site(area).pos[2] == world.TABLE_TOP_Z, f"{area} is not on the table top"


def test_a_missing_world_site_names_itself_and_the_fix(tmp_path, monkeypatch):
    import shutil

    from robotr1_data import world
    from robotr1_data.errors import UsageError

    assets = tmp_path / "assets"
    shutil.copytree(world.ASSETS_DIR, assets)
    path = assets / "world.xml"
    path.write_text("".join(l for l in path.read_text().splitlines(keepends=True)
                            if '<site name="workspace"' not in l))
    monkeypatch.setenv(world.ASSETS_ENV, str(assets))
    assert world.table_top_z() == 0.752
    with pytest.raises(UsageError, match='has no <site name="workspace"> directly in <worldbody>'):
        world.site("workspace")


def test_joint_limits_are_the_pandas():
    ik = PandaIK()
    lo, hi = ik.model.jnt_range[:7].T
    np.testing.assert_allclose(hi[[0, 2, 4, 6]], 2.8973)
    np.testing.assert_allclose([lo[3], hi[3], lo[5], hi[5]], [-3.0718, -0.0698, -0.0175, 3.7525])
    # Home pose forward kinematics: the textbook Panda TCP (0.307, 0, 0.487) from the base.
    tcp = ik.fk(HOME_Q)[:3, 3] - np.array([-0.3, 0.0, 0.752])
    np.testing.assert_allclose(tcp, [0.307, 0.0, 0.487], atol=2e-3)


def test_the_robot_file_is_at_its_origin_and_the_world_file_places_it(tmp_path, monkeypatch):
    """panda.xml stands at its own origin; world.xml's panda_base frame places it, for the scene
    and for the IK model alike; a moved frame moves both; nothing warns (no MUJOCO_LOG.TXT)."""
    import shutil

    import mujoco

    from robotr1_data.world import ASSETS_DIR, ASSETS_ENV
    from robotr1_data.backends.mujoco.scene import placed_robot_model

    monkeypatch.chdir(tmp_path)  # MuJoCo writes its warnings to MUJOCO_LOG.TXT here
    robot = mujoco.MjModel.from_xml_path(str(ASSETS_DIR / "panda.xml"))
    np.testing.assert_array_equal(robot.body("panda_link0").pos, 0.0)
    base = mujoco.MjSpec.from_file(str(ASSETS_DIR / "world.xml")).frame("panda_base").pos
    np.testing.assert_array_equal(base, [-0.3, 0.0, 0.752])
    with MujocoSim(get_task("reach_target")) as sim:
        np.testing.assert_array_equal(sim.model.body("panda_link0").pos, base)
    np.testing.assert_array_equal(placed_robot_model().body("panda_link0").pos, base)

    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, assets)
    world = assets / "world.xml"
    text = world.read_text()
    assert text.count('<frame name="panda_base" pos="-0.3 0 0.752">') == 1
    world.write_text(text.replace('<frame name="panda_base" pos="-0.3 0 0.752">',
                                  '<frame name="panda_base" pos="-0.25 0.1 0.752">'))
    packaged = PandaIK().fk(HOME_Q)[:3, 3]
    monkeypatch.setenv(ASSETS_ENV, str(assets))
    moved = PandaIK().fk(HOME_Q)[:3, 3]
    np.testing.assert_allclose(moved - packaged, [0.05, 0.1, 0.0], atol=1e-12)
    with MujocoSim(get_task("reach_target")) as sim:
        sim.reset(0, np.random.default_rng(0))
        np.testing.assert_allclose(sim.tcp_pose()[:3], moved, atol=1e-9)  # scene and IK agree
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()


def test_home_posture_and_actuators_come_from_the_model_by_name():
    # The keyframe is the one home fact: HOME_Q is read from it, and it still compiles once a
    # task adds free-jointed objects (MuJoCo pads it with their qpos0).
    np.testing.assert_array_equal(HOME_Q, [0.0, -np.pi / 4, 0.0, -3 * np.pi / 4, 0.0, np.pi / 2, np.pi / 4])
    with MujocoSim(get_task("pick_up_cup")) as sim:
        m = sim.model
        key = m.key("home")
        assert m.nkey == 1 and key.qpos.size == m.nq > 9
        # The key's fingers are open and its ctrl holds the pose it sets.
        np.testing.assert_array_equal(key.qpos[sim._finger_qadr], FINGER_MAX)
        np.testing.assert_array_equal(key.ctrl, np.append(HOME_Q, [FINGER_MAX, FINGER_MAX]))
        sim.reset(0, np.random.default_rng(0))
        target = HOME_Q + 0.1
        sim.step(target, 0.02)
        # Each actuator drives its named joint's target, whatever the actuator order.
        for i in range(7):
            assert sim.data.actuator(f"actuator{i + 1}").ctrl[0] == target[i]
            assert m.actuator(f"actuator{i + 1}").trnid[0] == m.joint(f"panda_joint{i + 1}").id
        assert sim.data.actuator("finger1").ctrl[0] == sim.data.actuator("finger2").ctrl[0] == 0.02


def _project(point, intrinsics, extrinsics):
    p = np.linalg.inv(extrinsics) @ np.append(point, 1.0)
    u = intrinsics[0, 0] * p[0] / p[2] + intrinsics[0, 2]
    v = intrinsics[1, 1] * p[1] / p[2] + intrinsics[1, 2]
    return u, v, p[2]


@pytest.mark.parametrize("camera", ["front", "overhead"])
def test_calibration_projects_gripper_onto_hand_mask(cup_episode, camera):
    ep = cup_episode
    names = ep.mask_names
    hits = 0
    for row, frame in enumerate(ep.image_frames[::6]):
        idx = int(np.searchsorted(ep.image_frames, frame))
        u, v, z = _project(ep.gripper_pose[frame, :3], ep.camera_intrinsics[camera],
                           ep.camera_extrinsics[camera][idx])
        assert z > 0, "the gripper is in front of the camera"
        mask = ep.images[f"{camera}_mask"][idx]
        # The TCP sits between the fingers (and, seen from above, under the wrist), so look
        # within ~7 cm (10 px at this size): the hand and fingers must be there.
        r, c = int(round(v)), int(round(u))
        window = mask[max(r - 10, 0):r + 11, max(c - 10, 0):c + 11]
        labels = {names[i] for i in np.unique(window) if i >= 0}
        hits += bool(labels & HAND_BODIES)
    assert hits == len(ep.image_frames[::6]), "every projected gripper position lands on the hand"


def test_depth_in_metres_matches_table_plane(cup_episode):
    ep = cup_episode
    for camera in ("front", "overhead"):
        K, E = ep.camera_intrinsics[camera], ep.camera_extrinsics[camera][0]
        depth, mask = ep.images[f"{camera}_depth"][0], ep.images[f"{camera}_mask"][0]
        table = ep.mask_names.index("table")
        rows, cols = np.nonzero(mask == table)
        assert len(rows) > 100
        pick = np.linspace(0, len(rows) - 1, 50).astype(int)
        for r, c in zip(rows[pick], cols[pick]):
            # Ray of pixel (r, c) in the camera frame (z forward; RLBench's convention puts it
            # through integer (c, r)), then to the world.
            d_cam = np.array([(c - K[0, 2]) / K[0, 0], (r - K[1, 2]) / K[1, 1], 1.0])
            d_world = E[:3, :3] @ d_cam
            t = (TABLE_TOP_Z - E[2, 3]) / d_world[2]
            assert abs(depth[r, c] - t) < 0.01, f"{camera} pixel ({r},{c}): {depth[r, c]} vs {t}"


def test_images_have_rlbench_dtypes(cup_episode):
    ep = cup_episode
    n = len(ep.image_frames)
    assert ep.images["front_rgb"].shape == (n, 128, 128, 3) and ep.images["front_rgb"].dtype == np.uint8
    assert ep.images["front_depth"].dtype == np.float32
    assert ep.images["front_mask"].dtype == np.int32
    assert ep.camera_extrinsics["front"].shape == (n, 4, 4)


def test_grasp_holds_the_cup_while_lifting(cup_episode):
    ep = cup_episode
    cup = ep.task_low_dim_state[:, :3]
    assert cup[-1, 2] - cup[0, 2] > 0.1, "the cup was lifted"
    closed = np.nonzero(ep.gripper_open == 0)[0]
    after = closed[closed > closed[0] + 6]
    offset = cup[after] - ep.gripper_pose[after, :3]
    assert np.ptp(offset, axis=0).max() < 0.01, "the held cup moves with the gripper"


def test_button_is_really_pressed():
    with MujocoSim(get_task("push_button")) as sim:
        sim.reset(3, np.random.default_rng(3))
        assert not sim.task.success()[0]
        Expert(sim).run(lambda: None)
        assert sim.joint_position("push_button_target_joint") < -0.006


def test_same_seed_same_arrays():
    eps = []
    for _ in range(2):
        with MujocoSim(get_task("push_button"), cameras=["front"], image_size=(64, 64)) as sim:
            eps.append(record_demo(sim, Expert(sim), variation=1, seed=11))
    a, b = eps
    for field in ("joint_positions", "gripper_pose", "sim_state", "keypoints"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    np.testing.assert_array_equal(a.images["front_rgb"], b.images["front_rgb"])


def test_sim_state_rerenders_the_same_frame(cup_episode):
    with MujocoSim(get_task("pick_up_cup"), cameras=["front"], image_size=(128, 128)) as sim:
        sim.reset(0, np.random.default_rng(0))
        sim.apply_overrides(cup_episode.extra["model_overrides"])
        frame = int(cup_episode.keypoints[-1])
        sim.set_state(cup_episode.sim_state[frame])
        idx = int(np.searchsorted(cup_episode.image_frames, frame))
        np.testing.assert_array_equal(sim.render()["front_rgb"], cup_episode.images["front_rgb"][idx])


def test_image_every_renders_keypoint_frames_from_state_bit_identically():
    eps = {}
    for every in (1, 4):
        with MujocoSim(get_task("pick_up_cup"), cameras=["front", "wrist"], image_size=(64, 64)) as sim:
            eps[every] = record_demo(sim, Expert(sim), variation=2, seed=9, image_every=every)
    full, sparse = eps[1], eps[4]
    assert set(sparse.keypoints.tolist()) <= set(sparse.image_frames.tolist())
    assert any(k % 4 for k in sparse.keypoints), "some keypoint frames were rendered afterwards"
    rows = np.searchsorted(full.image_frames, sparse.image_frames)
    for key in ("front_rgb", "front_depth", "front_mask", "wrist_rgb"):
        np.testing.assert_array_equal(sparse.images[key], full.images[key][rows])
    np.testing.assert_array_equal(sparse.camera_extrinsics["wrist"], full.camera_extrinsics["wrist"][rows])


def test_frames_drawn_in_the_background_are_the_frames_drawn_in_place():
    """One camera: recording draws each frame in a background thread while the expert steps on
    (CameraRig.submit); the episode's arrays are the ones drawn while the recorder waits."""
    eps = {}
    for pipeline in (None, False):
        with MujocoSim(get_task("push_button"), cameras=["front"], image_size=(48, 48),
                       render_pipeline=pipeline) as sim:
            assert sim.rig._mode == ("pool" if pipeline is None else "sync")
            eps[pipeline] = record_demo(sim, Expert(sim), variation=0, seed=4)
    np.testing.assert_array_equal(eps[None].image_frames, eps[False].image_frames)
    assert list(eps[None].images) == list(eps[False].images)
    for key, want in eps[False].images.items():
        assert eps[None].images[key].tobytes() == want.tobytes(), key


def test_a_model_edit_waits_for_the_frames_still_drawing():
    """Frames drawn in the background read the model too: a colour change (as a failed demo's
    retry makes at its reset) must not reach frames submitted before it."""
    with MujocoSim(get_task("push_button"), cameras=["front"], image_size=(128, 128)) as sim:
        sim.reset(0, np.random.default_rng(0))
        assert sim.rig._mode == "pool"
        before = sim.render()["front_rgb"]
        pending = [sim.render_async() for _ in range(sim.rig.in_flight)]
        sim.set_color("push_button_target_cap", (0.0, 0.0, 1.0))  # in view
        assert sim.render()["front_rgb"].tobytes() != before.tobytes()
        for collect in pending:
            assert collect()["front_rgb"].tobytes() == before.tobytes()


@pytest.mark.parametrize("every", [1, 3])
def test_frames_written_into_the_demos_arrays_are_the_frames_stacked_at_the_end(monkeypatch, every):
    """record_demo renders each frame into its slot of the demo's stacked arrays (FrameStore);
    small blocks (a demo longer than one block) and keypoint frames drawn out of order (every 3)
    give the arrays that stacking the frames at the end gives."""
    import robotr1_data.record as rec

    def record():
        with MujocoSim(get_task("push_button"), cameras=["front", "wrist", "overhead"],
                       image_size=(32, 32)) as sim:
            return record_demo(sim, Expert(sim), variation=0, seed=4, image_every=every)

    eps = {"store": record()}
    monkeypatch.setattr(rec.FrameStore, "MAX_BLOCK_BYTES", 1)  # 16 frames a block
    eps["blocks"] = record()
    monkeypatch.setattr(MujocoSim, "image_specs", None)  # no store: frames stacked at the end
    eps["stacked"] = record()
    want = eps["stacked"]
    assert want.length > 32 or every > 1
    for name in ("store", "blocks"):
        got = eps[name]
        np.testing.assert_array_equal(got.image_frames, want.image_frames)
        assert list(got.images) == list(want.images)
        for key, arr in want.images.items():
            assert got.images[key].dtype == arr.dtype and got.images[key].shape == arr.shape, key
            assert got.images[key].tobytes() == arr.tobytes(), (name, key)


def test_frame_store_slots_stay_put_across_blocks_and_come_back_in_any_order():
    from robotr1_data.record import FrameStore

    store = FrameStore({"a_rgb": ((2, 2, 3), np.uint8), "a_depth": ((2, 2), np.float32)}, capacity=2)
    views = []
    for i in range(7):  # blocks of 2, 4, 8
        index, out = store.slot()
        assert index == i
        out["a_rgb"][...] = i
        out["a_depth"][...] = i + 0.5
        views.append(out)
    assert all(int(v["a_rgb"][0, 0, 0]) == i for i, v in enumerate(views))  # earlier slots kept
    order = [6, 0, 3, 1, 5, 2, 4]
    got = store.arrays(order)
    assert list(got) == ["a_rgb", "a_depth"]
    np.testing.assert_array_equal(got["a_rgb"][:, 0, 0, 0], order)
    np.testing.assert_array_equal(got["a_depth"][:, 1, 1], np.array(order) + 0.5)
    one = FrameStore({"a_rgb": ((1, 1, 3), np.uint8)}, capacity=8)
    for i in range(3):
        one.slot()[1]["a_rgb"][...] = i
    same = one.arrays([0, 1, 2])["a_rgb"]
    assert same.shape == (3, 1, 1, 3) and np.shares_memory(same, one._blocks[0]["a_rgb"])  # no copy
