"""Content digests: a sha256 per episode (and one for the file) written with the data.

Fletcher32 covers chunk bytes only: a flipped byte in a chunk-index entry makes HDF5 read the
wrong place (an all-black frame) without any error, and attribute strings and scalar datasets
carry no checksum at all. So the writer stores, in each episode group, ``content_sha256`` over
everything the episode holds as read back through h5py (every dataset's name, dtype, shape,
attributes and values; every group attribute), and in the root ``content_sha256`` over the root
attributes and each episode's digest. ``validate --full`` recomputes both; plain ``validate``
the root one (attributes only, cheap). One function computes the digest for writer and
validator, so they cannot drift apart.
"""

from __future__ import annotations

import hashlib

import h5py
import numpy as np

DIGEST_ATTR = "content_sha256"
_BLOCK_BYTES = 16 << 20  # read big datasets in slices: bounded memory for any episode length


def _attr(h, name: str, value) -> None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    if isinstance(value, str):
        b = b"s" + value.encode("utf-8", "surrogateescape")
    else:
        a = np.asarray(value)
        b = a.dtype.str.encode() + repr(a.shape).encode() + np.ascontiguousarray(a).tobytes()
    h.update(name.encode() + b"\0" + len(b).to_bytes(8, "little") + b)


def _attrs(h, attrs) -> None:
    for k in sorted(attrs):
        if k != DIGEST_ATTR:
            _attr(h, k, attrs[k])


def _data(h, a: np.ndarray) -> None:
    a = np.ascontiguousarray(a)
    if a.size:  # (T, 0) state arrays hold no bytes
        h.update(a.reshape(-1).view(np.uint8).data)


def _header(h, name: str, dtype: np.dtype, shape: tuple, attrs) -> None:
    h.update(b"\1" + name.encode() + b"\0" + np.dtype(dtype).str.encode()
             + repr(tuple(shape)).encode())
    _attrs(h, attrs)


def episode_digest(g: h5py.Group) -> str:
    """Hex sha256 of one episode group's attributes and datasets as stored in the file (what
    validate recomputes; see module docstring)."""
    h = hashlib.sha256()
    _attrs(h, g.attrs)
    for name in sorted(g):
        d = g[name]
        _header(h, name, d.dtype, d.shape, d.attrs)
        if d.ndim == 0:
            _data(h, d[()])
            continue
        row = max(1, d.dtype.itemsize * int(np.prod(d.shape[1:], dtype=np.int64)))
        step = max(1, _BLOCK_BYTES // row)
        for i in range(0, d.shape[0], step):
            _data(h, d[i:i + step])
    return h.hexdigest()


def written_digest(attrs: dict, datasets: dict) -> str:
    """The same digest from what the writer handed h5py (group attributes, and name ->
    (array, dataset attributes)), so writing costs no read-back and decompression. h5py keeps
    each array's dtype and shape, and reads attributes back as the types hashed here (str, and
    numpy scalars of the written int/float/bool): tests check validate --full finds every fresh
    shard intact."""
    h = hashlib.sha256()
    _attrs(h, attrs)
    for name in sorted(datasets):
        a, d_attrs = datasets[name]
        _header(h, name, a.dtype, a.shape, d_attrs)
        _data(h, a)
    return h.hexdigest()


def root_digest(f: h5py.File, episodes_group: str) -> str:
    """Hex sha256 of the root attributes and each episode's stored digest."""
    h = hashlib.sha256()
    _attrs(h, f.attrs)
    grp = f.get(episodes_group)
    for name in sorted(grp) if grp is not None else []:
        stored = grp[name].attrs.get(DIGEST_ATTR, "")
        _attr(h, name, stored)
    return h.hexdigest()
