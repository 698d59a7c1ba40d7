"""validate --full sees every damaged byte that matters in a lone shard (no manifest to compare
with) and never crashes: chunk-index entries, attribute strings, scalar datasets, the root
attribute heap. Each flip gives problem lines, never a traceback."""

import struct

import h5py
import numpy as np
import pytest

from robotr1_data import cli
from robotr1_data.shards import validate_dir

from test_shards import make_episode, write_shard


@pytest.fixture
def shard(tmp_path):
    p = tmp_path / "lone.h5"
    write_shard(p, [make_episode(0, T=9, every=1), make_episode(1, T=9, every=1)])
    assert validate_dir(p, full=True) == []
    return p


def _flip_at(path, offsets):
    data = bytearray(path.read_bytes())
    for i in offsets:
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _problems(path, capsys):
    probs = validate_dir(path, full=True)
    rc = cli.main(["validate", str(path), "--full"])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return rc, probs


def _chunk_index_offsets(path, key="episodes/000000/front_rgb", row=1):
    with h5py.File(path, "r") as f:
        addr = f[key].id.get_chunk_info(row).byte_offset
    data = path.read_bytes()
    packed = struct.pack("<Q", addr)
    hits = [i for i in range(len(data)) if data.startswith(packed, i)]
    assert hits, "the chunk's address is stored in the index"
    return hits[0]


@pytest.mark.parametrize("delta", [-8, -4, 0, 1, 2])
def test_chunk_index_flip_is_reported(shard, capsys, delta):
    # delta -8..-5: the chunk's size in the B-tree key; -4..-1: its filter mask; 0..7: address.
    at = _chunk_index_offsets(shard) + delta
    _flip_at(shard, [at])
    rc, probs = _problems(shard, capsys)
    assert rc == 1 and probs, f"flip at index entry byte {delta} went unnoticed"


def _find(path, needle: bytes):
    data = path.read_bytes()
    i = data.find(needle)
    assert i >= 0, needle
    return i


def test_attribute_string_flip_is_reported(shard, capsys):
    i = _find(shard, b"pick up the red cup")  # the episode's descriptions attribute
    _flip_at(shard, [i + 5])
    rc, probs = _problems(shard, capsys)
    assert rc == 1 and any("episodes/000000" in p or "000001" in p for p in probs), probs


def test_scalar_dataset_flip_is_reported(shard, capsys):
    with h5py.File(shard, "r") as f:
        off = f["episodes/000000/front_camera_far"].id.get_offset()
    if off is None:  # compact layout: the value sits in the object header
        off = _find(shard, struct.pack("<d", 4.5))
    _flip_at(shard, [off + 3])
    rc, probs = _problems(shard, capsys)
    assert rc == 1 and any("000000" in p for p in probs), probs


def test_root_attribute_heap_flip_is_reported_not_crashed(shard, capsys):
    i = _find(shard, b'"episodes_per_task"')  # inside the root 'config' attribute
    _flip_at(shard, [i + 3])
    rc, probs = _problems(shard, capsys)
    assert rc == 1 and probs


@pytest.mark.parametrize("at", range(0, 4096, 257))
def test_any_flip_in_the_metadata_never_crashes_validate(shard, capsys, at):
    _flip_at(shard, [at])
    _problems(shard, capsys)  # no traceback, whatever the answer


@pytest.mark.parametrize("at", range(0, 4096, 257))
def test_any_flip_in_the_metadata_never_crashes_inspect(shard, capsys, at):
    _flip_at(shard, [at])
    rc = cli.main(["inspect", str(shard)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert rc == 0 or (rc == 2 and len(out.err.strip().splitlines()) == 1), out.err


def test_episode_with_empty_state_and_no_cameras_validates_full(tmp_path):
    ep = make_episode(3, cameras=())
    ep.sim_state = np.zeros((ep.length, 0))  # imported RLBench data has no simulator state
    p = tmp_path / "empty.h5"
    write_shard(p, [ep])
    assert validate_dir(p, full=True) == []
