"""HDF5 shards: round trip, chunking, atomic writes, validation, reader errors, manifest.

Episodes are synthetic numpy arrays (no simulator), small so the tests stay fast on 2 cores.
"""

import json
import os

import h5py
import hdf5plugin
import numpy as np
import pytest

from robotr1_data.episode import Episode
from robotr1_data.errors import UsageError
from robotr1_data.shards import (
    SCHEMA_VERSION, ShardReader, ShardWriter, describe, file_sha256, read_manifest,
    validate_dir, write_manifest,
)
from robotr1_data.shards._spec import DEPTH_STEP_M, decode_depth, encode_depth

CONFIG = {"tasks": ["pick_up_cup"], "episodes_per_task": 2, "image_size": [16, 12],
          "cameras": ["front", "wrist"], "seed": 7}
H, W = 12, 16


def make_episode(seed=0, T=9, task="pick_up_cup", cameras=("front", "wrist"), every=2,
                 mask_names=("world", "table", "cup")):
    """A random but valid Episode with images on every ``every``-th frame."""
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(T, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    pose = np.concatenate([rng.normal(size=(T, 3)), q], axis=1)
    # Episode contract: no images -> image_frames is empty
    frames = np.arange(0, T, every, dtype=np.int64) if cameras else np.zeros(0, np.int64)
    n = len(frames)
    images, intr, extr, nf = {}, {}, {}, {}
    for c in cameras:
        images[f"{c}_rgb"] = rng.integers(0, 256, (n, H, W, 3), dtype=np.uint8)
        # On the stored fixed-point grid, so round trips compare bit-exact (the quantisation
        # itself is tested on its own).
        images[f"{c}_depth"] = decode_depth(encode_depth(rng.uniform(0.1, 3.0, (n, H, W))))
        images[f"{c}_mask"] = rng.integers(-1, len(mask_names), (n, H, W)).astype(np.int32)
        intr[c] = np.array([[-20.0, 0, W / 2], [0, -20.0, H / 2], [0, 0, 1]])
        extr[c] = np.tile(np.eye(4), (n, 1, 1)) + rng.normal(scale=0.01, size=(n, 4, 4))
        nf[c] = (0.01, 4.5)
    return Episode(
        task=task, variation=seed % 3, seed=1000 + seed,
        descriptions=["pick up the red cup", "grasp the red cup"], success=bool(seed % 2 == 0),
        joint_positions=rng.normal(size=(T, 7)), joint_velocities=rng.normal(size=(T, 7)),
        gripper_pose=pose, gripper_open=(rng.random(T) < 0.5).astype(np.float64),
        gripper_joint_positions=rng.uniform(0, 0.04, (T, 2)),
        sim_state=rng.normal(size=(T, 23)), task_low_dim_state=rng.normal(size=(T, 5)),
        planner_keypoints=np.array([2, 5, T - 1], np.int64),
        keypoints=np.array([3, 6, T - 1], np.int64),
        images=images, image_frames=frames, camera_intrinsics=intr, camera_extrinsics=extr,
        camera_near_far=nf, mask_names=list(mask_names), attempts=2 + seed,
        extra={"backend": "mujoco", "note": [1, 2.5, None]},
    )


def write_shard(path, episodes, config=CONFIG, compression="zstd"):
    with ShardWriter(path, config, compression=compression) as w:
        groups = [w.add(ep) for ep in episodes]
    return groups


@pytest.fixture
def good_dir(tmp_path):
    """A dataset directory: two shards and a manifest."""
    out = tmp_path / "data"
    (out / "shards").mkdir(parents=True)
    write_shard(out / "shards" / "shard_000.h5", [make_episode(0), make_episode(1)])
    write_shard(out / "shards" / "shard_001.h5", [make_episode(2, task="push_button")])
    write_manifest(out, [out / "shards" / "shard_000.h5", out / "shards" / "shard_001.h5"])
    return out


def assert_same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()  # bit-exact, NaN-safe


# -- round trip --------------------------------------------------------------------------
def test_round_trip_is_bit_exact(tmp_path):
    eps = [make_episode(0), make_episode(1, cameras=("front",), every=1)]
    path = tmp_path / "s.h5"
    assert write_shard(path, eps) == ["episodes/000000", "episodes/000001"]

    with ShardReader(path) as r:
        assert r.episodes == ["episodes/000000", "episodes/000001"]
        assert r.config == CONFIG
        assert r.mask_names == ["world", "table", "cup"]
        assert r.schema_version == SCHEMA_VERSION
        for ref, src in zip(r.episodes, eps):
            got = r.load(ref)
            for f in ("task", "variation", "seed", "descriptions", "success", "attempts",
                      "extra", "mask_names", "length", "cameras"):
                assert getattr(got, f) == getattr(src, f), f
            for f in ("joint_positions", "joint_velocities", "gripper_pose", "gripper_open",
                      "gripper_joint_positions", "sim_state", "task_low_dim_state",
                      "keypoints", "planner_keypoints", "image_frames"):
                assert_same(getattr(got, f), getattr(src, f))
            assert sorted(got.images) == sorted(src.images)
            for k in src.images:
                assert_same(got.images[k], src.images[k])
            for c in src.cameras:
                assert_same(got.camera_intrinsics[c], src.camera_intrinsics[c])
                assert_same(got.camera_extrinsics[c], src.camera_extrinsics[c])
                assert got.camera_near_far[c] == src.camera_near_far[c]
        a = r.attrs(1)
        assert a["task"] == "pick_up_cup" and a["success"] is False and a["attempts"] == 3
        assert a["cameras"] == ["front"] and a["length"] == 9

        f = r.h5
        assert f.attrs["num_episodes"] == 2
        assert json.loads(f.attrs["config"]) == CONFIG
        assert f.attrs["created_by"].startswith("robotr1 ")
        g = f["episodes/000000"]
        assert g["front_depth"].attrs["units"].startswith("m")
        assert g["joint_velocities"].attrs["units"] == "rad/s"
        assert g["front_rgb"].attrs["shape"] == "N,H,W,3"


def test_load_without_images_and_camera_filter(tmp_path):
    path = tmp_path / "s.h5"
    src = make_episode(0)
    write_shard(path, [src])
    with ShardReader(path) as r:
        ep = r.load(0, images=False)
        assert ep.images == {}
        assert_same(ep.joint_positions, src.joint_positions)
        ep = r.load(0, cameras=["wrist"])
        assert sorted(ep.images) == ["wrist_depth", "wrist_mask", "wrist_rgb"]
        assert list(ep.camera_intrinsics) == ["wrist"]
        with pytest.raises(UsageError, match="did you mean 'wrist'"):
            r.load(0, cameras=["wirst"])


def test_frame_reads_by_frame_index(tmp_path):
    path = tmp_path / "s.h5"
    src = make_episode(0, every=2)  # images at frames 0, 2, 4, 6, 8
    write_shard(path, [src])
    with ShardReader(path) as r:
        assert_same(r.frame(0, "front_rgb", 4), src.images["front_rgb"][2])
        assert_same(r.frame("episodes/000000", "wrist_depth", 8), src.images["wrist_depth"][4])
        assert_same(r.frame(0, "front_camera_extrinsics", 6), src.camera_extrinsics["front"][3])
        with pytest.raises(UsageError, match="frame 3 .* no stored image"):
            r.frame(0, "front_rgb", 3)
        with pytest.raises(UsageError, match="did you mean 'front_rgb'"):
            r.frame(0, "frnt_rgb", 0)
        assert_same(r.low_dim(0, "gripper_pose"), src.gripper_pose)
        with pytest.raises(UsageError, match="did you mean 'gripper_pose'"):
            r.low_dim(0, "gripper_pos")
        with pytest.raises(UsageError, match="no episode"):
            r.load("episodes/000009")


def test_sample_is_what_a_loader_reads_per_frame(tmp_path):
    path = tmp_path / "s.h5"
    eps = [make_episode(0, every=2), make_episode(1, every=1)]
    write_shard(path, eps)
    with ShardReader(path) as r:
        for e, src in enumerate(eps):
            for i in src.image_frames.tolist():
                row = int(np.searchsorted(src.image_frames, i))
                s = r.sample(e, i, images=("front_rgb", "wrist_depth"))
                assert sorted(s) == sorted(["front_rgb", "wrist_depth", "joint_positions",
                                            "joint_velocities", "gripper_pose", "gripper_open",
                                            "gripper_joint_positions", "task_low_dim_state"])
                assert_same(s["front_rgb"], src.images["front_rgb"][row])
                assert_same(s["wrist_depth"], src.images["wrist_depth"][row])
                assert_same(s["gripper_pose"], src.gripper_pose[i])
                assert_same(s["task_low_dim_state"], src.task_low_dim_state[i])
        s = r.sample("episodes/000001", 3, images=(), fields=("sim_state",))
        assert list(s) == ["sim_state"] and np.array_equal(s["sim_state"], eps[1].sim_state[3])
        with pytest.raises(UsageError, match="did you mean 'gripper_pose'"):
            r.sample(0, 0, fields=("gripper_pos",))
        with pytest.raises(UsageError, match="frame 1 .* no stored image"):
            r.sample(0, 1)
        # Image datasets are opened with HDF5's chunk cache off; low-dim ones keep it.
        image_ds, _ = r._per_frame(*r._episode(0))["front_rgb"]
        assert image_ds.id.get_access_plist().get_chunk_cache()[1] == 0
        assert r._low_cache["episodes/000000"]["gripper_pose"].id.get_access_plist() \
            .get_chunk_cache()[1] > 0


def test_reader_works_in_forked_and_spawned_workers(tmp_path):
    # One handle per data-loader worker: a child must not reuse the parent's HDF5 handle.
    import multiprocessing as mp
    import pickle
    path = tmp_path / "s.h5"
    src = make_episode(0)
    write_shard(path, [src])
    r = ShardReader(path)
    r.frame(0, "front_rgb", 0)  # the parent's handle is open before the fork
    _FORKED["reader"] = r
    with mp.get_context("fork").Pool(1) as pool:
        got = pool.apply(_forked_child_reads_frame)
    assert_same(got, src.images["front_rgb"][1])
    assert_same(r.frame(0, "front_rgb", 2), got)  # the parent's handle still works
    # spawn-style workers receive the reader pickled: it travels as its path
    copy = pickle.loads(pickle.dumps(r))
    assert_same(copy.frame(0, "front_rgb", 2), got)
    copy.close()
    r.close()
    with pytest.raises(UsageError, match="closed"):
        r.frame(0, "front_rgb", 0)


_FORKED = {}


def _forked_child_reads_frame():
    return _FORKED["reader"].frame(0, "front_rgb", 2)


def test_mask_names_stored_per_episode_when_scene_differs(tmp_path):
    path = tmp_path / "s.h5"
    write_shard(path, [make_episode(0), make_episode(1, mask_names=("world", "button"))])
    with ShardReader(path) as r:
        assert r.mask_names == ["world", "table", "cup"]
        assert r.load(1, images=False).mask_names == ["world", "button"]
        assert r.load(0, images=False).mask_names == ["world", "table", "cup"]


def test_episode_without_images(tmp_path):
    path = tmp_path / "s.h5"
    src = make_episode(0, cameras=())
    write_shard(path, [src])
    with ShardReader(path) as r:
        ep = r.load(0)
        assert ep.images == {} and ep.image_frames.shape == (0,)
    assert validate_dir(path) == []


# -- layout ------------------------------------------------------------------------------
def test_images_are_chunked_one_frame_per_chunk(tmp_path):
    path = tmp_path / "s.h5"
    write_shard(path, [make_episode(0)])
    with h5py.File(path, "r") as f:
        g = f["episodes/000000"]
        assert g["front_rgb"].chunks == (1, H, W, 3)
        assert g["front_depth"].chunks == (1, H, W)
        assert g["wrist_mask"].chunks == (1, H, W)
        # zstd through hdf5plugin (HDF5 registered filter 32015), checksummed, shuffled.
        filters = g["front_rgb"]._filters
        assert str(hdf5plugin.ZSTD_ID) in filters and "fletcher32" in filters
        assert g["front_depth"].dtype == np.uint32 and g["front_depth"].shuffle
        assert g["front_depth"].attrs["scale_factor"] == DEPTH_STEP_M
        assert g["front_depth"].attrs["add_offset"] == 0.0
        assert g["front_mask"].dtype == np.int32


@pytest.mark.parametrize("compression", ["zstd", "gzip", "lzf", None])
def test_every_compression_reads_back_the_same(tmp_path, compression):
    ep = make_episode(0)
    write_shard(tmp_path / "s.h5", [ep], compression=compression)
    write_shard(tmp_path / "ref.h5", [ep], compression=None)
    with ShardReader(tmp_path / "s.h5") as r, ShardReader(tmp_path / "ref.h5") as ref:
        got, want = r.load(0), ref.load(0)
        for k in want.images:
            assert_same(got.images[k], want.images[k])
        last = int(want.image_frames[-1])
        assert_same(r.frame(0, "front_depth", last), want.images["front_depth"][-1])
    assert validate_dir(tmp_path / "s.h5") == []


def test_depth_fixed_point_error_bound_and_idempotence():
    rng = np.random.default_rng(0)
    d = np.concatenate([rng.uniform(0.01, 5.0, 10_000), [0.0, 1.0, 255.99, 118.893106]])
    d = d.astype(np.float32)
    back = decode_depth(encode_depth(d))
    assert back.dtype == np.float32
    assert np.max(np.abs(back.astype(np.float64) - d)) <= DEPTH_STEP_M / 2 + 1e-12
    # Decoding is exact (power-of-two step, < 2^24 steps): a second round trip changes nothing.
    assert_same(decode_depth(encode_depth(back)), back)
    assert np.array_equal(encode_depth(back), encode_depth(d))


def test_writer_refuses_bad_depth(tmp_path):
    ep = make_episode(0)
    ep.images["front_depth"][0, 0, 0] = np.nan
    with pytest.raises(UsageError, match="front_depth has NaN"):
        write_shard(tmp_path / "s.h5", [ep])
    assert not (tmp_path / "s.h5").exists()


def test_version_1_shard_with_float_depth_still_reads(tmp_path):
    """Shards from schema 1 (float32 depth, gzip) read and validate unchanged."""
    ep = make_episode(0)
    p = tmp_path / "s.h5"
    write_shard(p, [ep], compression="gzip")
    with h5py.File(p, "a") as f:
        f.attrs["schema_version"] = 1
        g = f["episodes/000000"]
        del f.attrs["content_sha256"], g.attrs["content_sha256"]  # schema-1 shards had none
        for cam in ep.cameras:
            key = f"{cam}_depth"
            attrs = dict(g[key].attrs)
            del g[key]
            d = g.create_dataset(key, data=ep.images[key], chunks=(1, H, W), compression="gzip",
                                 shuffle=True, fletcher32=True)
            d.attrs["units"], d.attrs["shape"] = attrs["units"], attrs["shape"]
    with ShardReader(p) as r:
        assert_same(r.load(0).images["front_depth"], ep.images["front_depth"])
        i = int(ep.image_frames[0])
        assert_same(r.frame(0, "wrist_depth", i), ep.images["wrist_depth"][0])
    assert validate_dir(p) == []
    with h5py.File(p, "a") as f:  # but a schema-2 shard must carry the fixed-point encoding
        f.attrs["schema_version"] = 2
    assert any("front_depth: no scale_factor" in x for x in validate_dir(p))


# -- atomic write ------------------------------------------------------------------------
def test_exception_inside_with_leaves_nothing(tmp_path):
    path = tmp_path / "s.h5"
    with pytest.raises(RuntimeError):
        with ShardWriter(path, CONFIG) as w:
            w.add(make_episode(0))
            raise RuntimeError("recorder crashed")
    assert list(tmp_path.iterdir()) == []


def test_exception_does_not_touch_existing_file(tmp_path):
    path = tmp_path / "s.h5"
    write_shard(path, [make_episode(0)])
    before = file_sha256(path)
    with pytest.raises(RuntimeError):
        with ShardWriter(path, {"other": 1}) as w:
            w.add(make_episode(1))
            raise RuntimeError("boom")
    assert file_sha256(path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.h5"]


def test_file_appears_only_on_close(tmp_path):
    path = tmp_path / "s.h5"
    w = ShardWriter(path, CONFIG)
    w.add(make_episode(0))
    assert not path.exists()
    w.close()
    assert path.exists() and [p.name for p in tmp_path.iterdir()] == ["s.h5"]


def test_bad_episode_is_rejected_before_writing(tmp_path):
    ep = make_episode(0)
    ep.joint_velocities = ep.joint_velocities[:-1]
    with pytest.raises(UsageError, match="joint_velocities has 8 frames"):
        write_shard(tmp_path / "s.h5", [ep])
    ep = make_episode(0)
    ep.keypoints = np.array([3, 99])
    with pytest.raises(UsageError, match="keypoints must be strictly increasing"):
        write_shard(tmp_path / "s.h5", [ep])
    ep = make_episode(0)
    ep.images["front_rgb"] = ep.images["front_rgb"].astype(np.float32) / 255
    with pytest.raises(UsageError, match="front_rgb has dtype float32"):
        write_shard(tmp_path / "s.h5", [ep])
    assert list(tmp_path.iterdir()) == []


def test_failed_add_leaves_no_half_episode(tmp_path):
    path = tmp_path / "s.h5"
    bad = make_episode(1)
    bad.extra = {"not json": np.float32}  # only caught while writing attributes
    with ShardWriter(path, CONFIG) as w:
        with pytest.raises(UsageError, match="JSON"):
            w.add(bad)
        assert w.add(make_episode(0)) == "episodes/000000"
    with ShardReader(path) as r:
        assert r.episodes == ["episodes/000000"]
    assert validate_dir(path) == []


def test_writer_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        ShardWriter(tmp_path / "nope" / "s.h5", CONFIG)
    with pytest.raises(UsageError, match="JSON"):
        ShardWriter(tmp_path / "s.h5", {"rng": object()})
    with pytest.raises(UsageError, match="compression"):
        ShardWriter(tmp_path / "s.h5", CONFIG, compression="brotli")


# -- reader errors -----------------------------------------------------------------------
def test_reader_missing_file(tmp_path):
    with pytest.raises(UsageError, match="no shard at .*check the path"):
        ShardReader(tmp_path / "missing.h5")


def test_reader_not_hdf5(tmp_path):
    p = tmp_path / "notes.h5"
    p.write_text("hello, not a shard")
    with pytest.raises(UsageError, match="not an HDF5 file.*sha256"):
        ShardReader(p)


def test_reader_hdf5_but_not_a_shard(tmp_path):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f["x"] = 1
    with pytest.raises(UsageError, match="not a robotr1 shard"):
        ShardReader(p)


def test_reader_schema_too_new(tmp_path):
    p = tmp_path / "s.h5"
    write_shard(p, [make_episode(0)])
    with h5py.File(p, "a") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(UsageError, match="newer than this robotr1 supports.*pip install -U"):
        ShardReader(p)
    assert any("newer" in line for line in validate_dir(p))


# -- manifest ----------------------------------------------------------------------------
def test_manifest_round_trip(good_dir):
    m = read_manifest(good_dir)
    assert m["schema_version"] == SCHEMA_VERSION and m["config"] == CONFIG
    assert [s["path"] for s in m["shards"]] == ["shards/shard_000.h5", "shards/shard_001.h5"]
    assert m["shards"][0]["episodes"] == 2
    assert m["shards"][0]["tasks"] == {"pick_up_cup": 2}
    assert m["shards"][1]["tasks"] == {"push_button": 1}
    assert m["shards"][0]["sha256"] == file_sha256(good_dir / "shards" / "shard_000.h5")
    assert not [p for p in good_dir.iterdir() if p.name.endswith(".tmp")]


def test_file_sha256_known_value(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"abc")
    assert file_sha256(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_read_manifest_missing(tmp_path):
    with pytest.raises(UsageError, match="no manifest.json"):
        read_manifest(tmp_path)


# -- validation --------------------------------------------------------------------------
def test_validate_passes_good_dir_and_shard(good_dir):
    assert validate_dir(good_dir) == []
    assert validate_dir(good_dir, full=True) == []
    assert validate_dir(good_dir / "shards" / "shard_000.h5") == []


def test_validate_catches_checksum_mismatch(good_dir):
    p = good_dir / "shards" / "shard_001.h5"
    with h5py.File(p, "a") as f:  # a valid edit: only the checksum can tell
        f["episodes/000000"].attrs["seed"] = 5
    problems = validate_dir(good_dir)
    assert len(problems) == 1 and "shard_001.h5" in problems[0] and "sha256" in problems[0]


def test_validate_catches_deleted_dataset(good_dir):
    p = good_dir / "shards" / "shard_000.h5"
    with h5py.File(p, "a") as f:
        del f["episodes/000001/joint_velocities"]
    problems = validate_dir(good_dir)
    assert any("episodes/000001" in s and "joint_velocities: dataset missing" in s
               for s in problems), problems


def test_validate_catches_truncated_file(good_dir):
    p = good_dir / "shards" / "shard_000.h5"
    size = p.stat().st_size
    with open(p, "r+b") as fh:
        fh.truncate(size // 2)
    problems = validate_dir(good_dir)
    assert any("shard_000.h5" in s and "sha256" in s for s in problems)
    assert any("shard_000.h5" in s and ("truncated" in s or "unreadable" in s
                                        or "cannot be decoded" in s) for s in problems), problems


def test_validate_catches_corrupted_image_chunk(tmp_path):
    p = tmp_path / "s.h5"
    write_shard(p, [make_episode(0)])
    with h5py.File(p, "r") as f:
        d = f["episodes/000000/front_rgb"]
        last = d.id.get_num_chunks() - 1
        off = d.id.get_chunk_info(last).byte_offset
    data = bytearray(p.read_bytes())
    data[off + 40] ^= 0xFF  # one flipped byte in the last frame's compressed chunk
    p.write_bytes(bytes(data))
    problems = validate_dir(p)
    assert len(problems) == 1
    assert "front_rgb: image row 4 cannot be decoded" in problems[0], problems


def test_same_episodes_give_same_bytes(tmp_path):
    # No timestamps in the file, so a regenerated shard can be checked against the manifest.
    write_shard(tmp_path / "a.h5", [make_episode(0)])
    write_shard(tmp_path / "b.h5", [make_episode(0)])
    assert file_sha256(tmp_path / "a.h5") == file_sha256(tmp_path / "b.h5")


def test_validate_catches_keypoint_out_of_range(tmp_path):
    p = tmp_path / "s.h5"
    write_shard(p, [make_episode(0, T=9)])
    with h5py.File(p, "a") as f:
        del f["episodes/000000/keypoints"]
        f["episodes/000000/keypoints"] = np.array([3, 9], np.int64)
    problems = validate_dir(p)
    assert problems == [f"{p}: episodes/000000: keypoints: indices [9] outside [0, 9)"]


def test_validate_catches_bad_values(tmp_path):
    p = tmp_path / "s.h5"
    write_shard(p, [make_episode(0)])
    with h5py.File(p, "a") as f:
        g = f["episodes/000000"]
        pose = g["gripper_pose"][()]
        pose[4, 3:] *= 2
        g["gripper_pose"][...] = pose
        depth = g["front_depth"][0]
        depth[0, 0] = 0  # fixed-point depth cannot be NaN; zero metres is the bad value
        g["front_depth"][0] = depth
        g["planner_keypoints"][...] = np.array([5, 2, 8])
    problems = "\n".join(validate_dir(p))
    assert "gripper_pose: quaternion" in problems and "frames [4]" in problems
    assert "front_depth: image row 0 has depth values" in problems
    assert "planner_keypoints: not sorted and unique" in problems


def test_validate_catches_missing_and_extra_shards(good_dir):
    (good_dir / "shards" / "shard_001.h5").rename(good_dir / "shards" / "shard_009.h5")
    problems = "\n".join(validate_dir(good_dir))
    assert "shard_001.h5: listed in manifest.json but missing" in problems
    assert "shard_009.h5: shard not listed in manifest.json" in problems


def test_validate_catches_count_mismatch(good_dir):
    m = read_manifest(good_dir)
    m["shards"][0]["episodes"] = 3
    (good_dir / "manifest.json").write_text(json.dumps(m))
    problems = validate_dir(good_dir)
    assert problems == [f"{good_dir / 'shards' / 'shard_000.h5'}: holds 2 episodes, "
                        "manifest.json says 3"]


def test_validate_non_shard_file(tmp_path):
    p = tmp_path / "junk.h5"
    p.write_bytes(os.urandom(64))
    problems = validate_dir(tmp_path)
    # Without a manifest the directory is also reported incomplete (item: short datasets).
    assert len(problems) == 2 and "incomplete" in problems[0] and "not an HDF5 file" in problems[1]


# -- describe ----------------------------------------------------------------------------
def test_describe_file_and_dir(good_dir):
    text = describe(good_dir / "shards" / "shard_000.h5")
    assert f"schema_version {SCHEMA_VERSION}" in text
    assert "episodes/000001: task=pick_up_cup variation=1 seed=1001 length=9" in text
    assert "keypoints=[3, 6, 8]" in text
    assert ("front: depth 12x16 float32 (stored uint32 x 1.53e-05 m), mask 12x16 int32, "
            "rgb 12x16 uint8") in text
    assert "on disk" in text and "image_size: [16, 12]" in text
    text = describe(good_dir)
    assert "2 shards" in text and "'push_button': 1" in text
