"""ShardWriter: episodes -> one self-describing HDF5 file, written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional, Union

import h5py
import hdf5plugin
import numpy as np

from .. import __version__
from ..episode import LOW_DIM_FIELDS, Episode
from ..errors import UsageError
from . import _spec as S
from .digest import DIGEST_ATTR, root_digest, written_digest

# zstd by default (through hdf5plugin, HDF5's registered filter 32015). On rendered images at
# level 6 a random image read is 2.1-2.4x faster than with gzip-4 and the shard 8-12% smaller,
# at about gzip-4's write time; level 15+ saves another 11-18% at 7-40x the write time, more
# than recording the frame costs at 224x224 (bench/compression.py, docs/benchmarks.md).
# Readers outside robotr1 need `import hdf5plugin` before h5py opens the file (docs/format.md).
# "gzip" stays for readers that cannot load plugins (every HDF5 build reads it); "lzf" for
# h5py-only scratch data.
COMPRESSIONS = ("zstd", "gzip", "lzf", None)
GZIP_LEVEL = 4
ZSTD_LEVEL = 6


class ShardWriter:
    """Write episodes to ``path``; the file appears only when the writer closes cleanly.

    Use as a context manager::

        with ShardWriter("out/shard_000.h5", config) as w:
            w.add(episode)          # -> "episodes/000000"

    Data goes to a hidden temporary file in the same directory (so the final rename is atomic,
    same filesystem), which is flushed, fsynced and renamed over ``path`` on close. If the
    ``with`` block raises, the temporary file is deleted and ``path`` is left untouched.
    """

    def __init__(self, path: Union[str, os.PathLike], config: dict,
                 compression: Optional[str] = "zstd"):
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise UsageError(f"cannot write shard {self.path}: directory {self.path.parent} "
                             "does not exist; create it first (mkdir -p)")
        if compression not in COMPRESSIONS:
            raise UsageError(f"unknown compression {compression!r}; use one of "
                             f"{', '.join(map(repr, COMPRESSIONS))}")
        self._compression = compression
        self._config_json = S.to_json(config, "shard config")
        self._tmp = S.temp_path(self.path)
        self._num = 0
        self._mask_names: Optional[list] = None
        self._attempt_stats: Optional[str] = None
        self._written: dict = {}
        try:
            self._io: Optional[_GuardedFile] = _GuardedFile(self._tmp)
        except OSError as e:
            raise S.write_error(e, self.path) from None
        try:
            self._f: Optional[h5py.File] = h5py.File(self._io, "w")
            a = self._f.attrs
            a["schema_version"] = S.SCHEMA_VERSION
            a["config"] = self._config_json
            a["created_by"] = f"robotr1 {__version__}"
            a["num_episodes"] = 0
            self._f.create_group(S.EPISODES_GROUP)
        except BaseException:
            self.abort()
            raise
        self._check_io()

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- writing ---------------------------------------------------------------------------
    def add(self, episode: Episode) -> str:
        """Append one episode; returns its group path, e.g. ``"episodes/000003"``."""
        if self._f is None:
            raise UsageError(f"ShardWriter for {self.path} is closed; open a new writer")
        arrays = _check_episode(episode)  # before touching the file: no half-written groups
        name = f"{S.EPISODES_GROUP}/{self._num:06d}"
        try:
            g = self._f.create_group(name)
            try:
                written: dict = {}
                self._write_episode(g, episode, arrays, written)
                self._check_io()
                g.attrs[DIGEST_ATTR] = written_digest(dict(g.attrs), written)
            except BaseException:
                # A caller that catches the error and goes on must not leave a half episode.
                if self._f is not None and self._io is not None and self._io.error is None:
                    del self._f[name]
                raise
        except Exception:
            self._check_io()  # a failed write (disk full) is the cause: say that, in one line
            raise
        self._check_io()
        if self._mask_names is None:
            self._mask_names = list(episode.mask_names)
        self._num += 1
        return name

    def _write_episode(self, g: h5py.Group, episode: Episode, arrays: dict,
                       written: dict) -> None:
        """Write the episode's attributes and datasets; ``written`` gets name -> (array,
        dataset attributes) of each, for the content digest."""
        self._written = written
        cameras = episode.cameras
        attrs = {
            "task": episode.task, "variation": int(episode.variation), "seed": int(episode.seed),
            "descriptions": S.to_json(list(episode.descriptions), "descriptions"),
            "success": bool(episode.success), "attempts": int(episode.attempts),
            "length": episode.length, "extra": S.to_json(episode.extra, "episode.extra"),
            "cameras": json.dumps(cameras),
        }
        for k, v in attrs.items():
            g.attrs[k] = v
        # Body ids are scene-specific: the root keeps the first episode's table (the common
        # single-task shard); an episode whose table differs carries its own.
        mask_names = list(episode.mask_names)
        if self._mask_names is not None and mask_names != self._mask_names:
            g.attrs["mask_names"] = json.dumps(mask_names)

        for field, (units, shape) in S.LOW_DIM_UNITS.items():
            self._dataset(g, field, arrays[field], units, shape)
        for field, (units, shape) in S.INDEX_FIELDS.items():
            self._dataset(g, field, arrays[field], units, shape)

        n_img = len(arrays["image_frames"])
        for key, img in arrays["images"].items():
            kind = key.rsplit("_", 1)[1]
            units, shape = S.IMAGE_KINDS[kind][2], S.IMAGE_KINDS[kind][3]
            # One frame per chunk: a data loader reading frame i decompresses only frame i.
            self._dataset(g, key, img, units, shape, chunks=(1,) + img.shape[1:],
                          attrs=S.DEPTH_ATTRS if kind == "depth" else None)
        for cam, meta in arrays["camera_meta"].items():
            for suffix, value in meta.items():
                units, shape = S.CAMERA_META_UNITS[suffix]
                chunks = None
                if suffix == S.EXTRINSICS and value.ndim == 3 and n_img:
                    chunks = (1, 4, 4)  # same per-frame access pattern as the images
                self._dataset(g, f"{cam}_{suffix}", value, units, shape, chunks=chunks)

    def _dataset(self, g: h5py.Group, name: str, data: np.ndarray, units: str, shape: str,
                 chunks=None, attrs: Optional[dict] = None) -> None:
        kw = {}
        # HDF5 cannot chunk scalars or empty arrays, and compressing them gains nothing.
        if data.ndim > 0 and data.size > 0:
            if self._compression == "zstd":
                kw.update(hdf5plugin.Zstd(clevel=ZSTD_LEVEL))
            elif self._compression is not None:
                kw["compression"] = self._compression
                if self._compression == "gzip":
                    kw["compression_opts"] = GZIP_LEVEL
            if self._compression is not None:
                # Byte-shuffle makes multi-byte numbers (depth, masks, floats) compress far better.
                kw["shuffle"] = data.dtype.itemsize > 1
            # A per-chunk checksum turns silent bit rot into a read error the validator reports.
            # Uncompressed shards are still chunked, so one frame still reads without the rest.
            kw["fletcher32"] = True
            kw["chunks"] = chunks if chunks is not None else True
        d = g.create_dataset(name, data=data, **kw)
        d_attrs = dict({"units": units, "shape": shape}, **(attrs or {}))
        for k, v in d_attrs.items():
            d.attrs[k] = v
        self._written[name] = (np.asarray(data), d_attrs)

    def set_attempt_stats(self, attempts: int, failures: dict) -> None:
        """Record how many expert attempts the shard's episodes took and the failures by reason
        (root attribute ``attempt_stats``), so a dataset's statistics can always be rebuilt from
        its shards. Only counts: no timings, so the bytes stay deterministic."""
        self._attempt_stats = json.dumps({"attempts": int(attempts),
                                          "failures": {str(k): int(v) for k, v in
                                                       sorted(failures.items())}},
                                         sort_keys=True)

    # -- finishing -------------------------------------------------------------------------
    def close(self) -> Path:
        """Finish the file and move it to ``path`` (atomic rename). Idempotent."""
        if self._f is None:
            return self.path
        try:
            self._f.attrs["num_episodes"] = self._num
            self._f.attrs["mask_names"] = json.dumps(self._mask_names or [])
            if self._attempt_stats is not None:
                self._f.attrs["attempt_stats"] = self._attempt_stats
            self._f.attrs[DIGEST_ATTR] = root_digest(self._f, S.EPISODES_GROUP)
            self._f.flush()
            self._f.close()
            self._f = None
            self._check_io()
            self._io.finish()  # flush + fsync: data on disk before the name points at it
            self._check_io()
            self._io = None
            os.replace(self._tmp, self.path)
        except OSError as exc:
            self.abort()
            raise S.write_error(exc, self.path) from None
        except BaseException:
            self.abort()
            raise
        S.fsync_dir(self.path.parent)
        return self.path

    def _check_io(self) -> None:
        if self._io is not None and self._io.error is not None:
            err = S.write_error(self._io.error, self.path)
            self.abort()
            raise err

    def abort(self) -> None:
        """Drop everything written so far; ``path`` is not touched."""
        if self._io is not None:
            self._io.discard = True  # HDF5's last flushes go nowhere: the file is thrown away
        if self._f is not None:
            try:
                self._f.close()
            except Exception:
                pass  # the file is being thrown away; a close error must not mask the cause
            self._f = None
        if self._io is not None:
            self._io.close()
            self._io = None
        self._tmp.unlink(missing_ok=True)

    @property
    def num_episodes(self) -> int:
        return self._num


class _GuardedFile:
    """The file object HDF5 writes the shard through (h5py's file-object driver).

    Why not let libhdf5 open the path itself: on a full disk its own write errors leave the
    library with dirty metadata that every later flush, close and object deallocation retries,
    giving hundreds of lines of errors and, in 2 of 3 runs measured on a 1-3 MiB tmpfs, a
    segfault (exit 139). Here the first failed write is recorded and reported to HDF5 as done;
    the writer checks ``error`` after each step and throws the file away, so HDF5 never sees an
    I/O error and the process ends with one line."""

    def __init__(self, path: Path):
        # Unbuffered: a buffered file flushes inside seek(), where an error escapes into HDF5.
        self._fh = open(path, "w+b", buffering=0)
        self.error: Optional[OSError] = None
        self.discard = False

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        if self.error is None and not self.discard:
            try:
                done = 0
                while done < len(view):  # a raw write may write less than asked
                    done += self._fh.write(view[done:])
            except OSError as exc:
                self.error = exc
        return len(view)

    def read(self, size: int = -1) -> bytes:
        return self._fh.read(size)

    def readinto(self, buf) -> int:
        return self._fh.readinto(buf)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def truncate(self, size=None) -> int:
        if self.error is None and not self.discard:
            try:
                return self._fh.truncate(size)
            except OSError as exc:
                self.error = exc
        return size if size is not None else self._fh.tell()

    def flush(self) -> None:
        if self.error is None and not self.discard:
            try:
                self._fh.flush()
            except OSError as exc:
                self.error = exc

    def finish(self) -> None:
        """Flush and fsync; any failure lands in ``error``."""
        if self.error is None:
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            except OSError as exc:
                self.error = exc
        self.close()

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError as exc:  # a buffered write failing at close
            if self.error is None and not self.discard:
                self.error = exc


def _check_episode(ep: Episode) -> dict:
    """Arrays of ``ep`` in shard dtypes, or UsageError naming the bad field and the rule."""
    where = f"episode (task {ep.task!r}, seed {ep.seed})"
    out: dict = {}
    T = None
    for field, (trailing, dtype) in LOW_DIM_FIELDS.items():
        a = np.asarray(getattr(ep, field))
        if field == "gripper_open" and a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]  # RLBench stacks a 1-vector per frame; the shard stores (T,)
        ok = a.ndim == 1 + len(trailing) and all(
            want in (-1, got) for want, got in zip(trailing, a.shape[1:]))
        if not ok:
            raise UsageError(f"{where}: {field} has shape {a.shape}, expected "
                             f"(T{''.join(', ' + ('*' if t == -1 else str(t)) for t in trailing)})")
        if T is None:
            T = a.shape[0]
        elif a.shape[0] != T:
            raise UsageError(f"{where}: {field} has {a.shape[0]} frames but joint_positions "
                             f"has {T}; all low-dim fields need one row per frame")
        out[field] = a.astype(dtype, copy=False)

    for field in S.INDEX_FIELDS:
        a = np.asarray(getattr(ep, field))
        if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
            raise UsageError(f"{where}: {field} must be a 1-D array of integer frame indices, "
                             f"got shape {a.shape} dtype {a.dtype}")
        a = a.astype(np.int64, copy=False)
        # Catch recorder bugs at write time, where the traceback still points at the cause.
        if a.size and (a[0] < 0 or a[-1] >= T or np.any(np.diff(a) <= 0)):
            raise UsageError(f"{where}: {field} must be strictly increasing frame indices in "
                             f"[0, {T}), got {a.tolist()}")
        out[field] = a
    frames = out["image_frames"]
    n_img = len(frames)

    images = {}
    for key in sorted(ep.images):
        cam, _, kind = key.rpartition("_")
        if kind not in S.IMAGE_KINDS or not cam:
            raise UsageError(f"{where}: image key {key!r} must be '<camera>_rgb', "
                             "'<camera>_depth' or '<camera>_mask'")
        dtype, nd, _, _ = S.IMAGE_KINDS[kind]
        a = np.asarray(ep.images[key])
        if a.ndim != 1 + nd or (kind == "rgb" and a.shape[-1] != 3) or a.shape[0] != n_img:
            raise UsageError(f"{where}: {key} has shape {a.shape}; expected "
                             f"({S.IMAGE_KINDS[kind][3]}) with N = len(image_frames) = {n_img}")
        # rgb must already be uint8 (a float image in 0..1 would silently become black);
        # masks any integer type; depth any float in metres (stored fixed-point, _spec).
        if ((kind == "rgb" and a.dtype != np.uint8)
                or (kind == "mask" and a.dtype.kind not in "iu")
                or (kind == "depth" and a.dtype.kind != "f")):
            raise UsageError(f"{where}: {key} has dtype {a.dtype}; expected "
                             f"{np.dtype(dtype).name}")
        if kind == "depth":
            if not np.all(np.isfinite(a)) or (a.size and a.min() < 0):
                raise UsageError(f"{where}: {key} has NaN, infinite or negative depth; depth is "
                                 "metres along the camera axis (clip far-plane misses to far)")
            images[key] = S.encode_depth(a)  # stored fixed-point (see _spec.DEPTH_STEP_M)
        else:
            images[key] = a.astype(dtype, copy=False)
    out["images"] = images

    # Camera metadata for every camera the episode mentions (with or without images).
    meta: dict = {}
    for cam, k in sorted(ep.camera_intrinsics.items()):
        k = np.asarray(k, dtype=np.float64)
        if k.shape != (3, 3):
            raise UsageError(f"{where}: {cam} camera_intrinsics has shape {k.shape}, "
                             "expected (3, 3)")
        meta.setdefault(cam, {})[S.INTRINSICS] = k
    for cam, e in sorted(ep.camera_extrinsics.items()):
        e = np.asarray(e, dtype=np.float64)
        if e.shape == (4, 4) and n_img:
            e = np.broadcast_to(e, (n_img, 4, 4))  # a static camera: same pose every image
        if e.shape not in ((n_img, 4, 4), (4, 4)):
            raise UsageError(f"{where}: {cam} camera_extrinsics has shape {e.shape}, expected "
                             f"(N, 4, 4) with N = len(image_frames) = {n_img}, or (4, 4)")
        meta.setdefault(cam, {})[S.EXTRINSICS] = np.ascontiguousarray(e)
    for cam, nf in sorted(ep.camera_near_far.items()):
        near, far = (float(x) for x in nf)
        meta.setdefault(cam, {})[S.NEAR] = np.float64(near)
        meta[cam][S.FAR] = np.float64(far)
    out["camera_meta"] = meta
    return out
