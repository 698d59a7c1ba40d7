"""ShardReader: one shard file -> Episodes, attributes, single frames."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import h5py
import numpy as np

from ..episode import LOW_DIM_FIELDS, Episode
from ..errors import UsageError, did_you_mean
from . import _spec as S

EpisodeRef = Union[int, str]
# Datasets every episode has; an episode without one is refused when first opened, in one line.
REQUIRED_DATASETS = tuple(LOW_DIM_FIELDS) + tuple(S.INDEX_FIELDS)
# The low-dim state a policy-learning loader usually wants with each image (sim_state and
# task_low_dim_state are for re-rendering and task logic).
LOADER_FIELDS = ("joint_positions", "joint_velocities", "gripper_pose", "gripper_open",
                 "gripper_joint_positions", "task_low_dim_state")


def open_shard(path: Union[str, os.PathLike]) -> h5py.File:
    """Open ``path`` read-only as a shard, or raise UsageError that says what to do."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"no shard at {path}; check the path (a dataset directory's "
                         f"{S.MANIFEST_NAME} lists its shards)")
    if path.is_dir():
        raise UsageError(f"{path} is a directory; pass one shard file inside it "
                         f"({S.MANIFEST_NAME} lists them) or use validate/inspect on the directory")
    if not h5py.is_hdf5(str(path)):
        raise UsageError(f"{path} is not an HDF5 file, so not a robotr1 shard; if it was copied, "
                         f"the copy may be incomplete: compare its sha256 with {S.MANIFEST_NAME} "
                         "or regenerate it")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise UsageError(f"{path} cannot be opened as HDF5 ({e}); the file is probably truncated "
                         "or corrupted: re-copy or regenerate it") from None
    try:
        version = f.attrs.get("schema_version")
        version = None if version is None else int(version)
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:
        f.close()
        raise UsageError(f"{path}: root attribute 'schema_version' unreadable ({type(e).__name__}); "
                         "the file is damaged: re-copy or regenerate it") from None
    if version is None:
        f.close()
        raise UsageError(f"{path} is an HDF5 file but not a robotr1 shard (no 'schema_version' "
                         "root attribute); shards are written by robotr1_data.shards.ShardWriter")
    if version > S.SCHEMA_VERSION:
        f.close()
        raise UsageError(f"{path} uses shard schema version {version}, newer than this "
                         f"robotr1 supports ({S.SCHEMA_VERSION}); upgrade: pip install -U robotr1")
    return f


class ShardReader:
    """Read a shard. Use as a context manager, or call ``close()``.

    Safe to hand to data-loader workers: an HDF5 handle must not cross processes, so a reader
    reopens the file on first use after a fork, and pickles as its path (spawned workers).
    One handle per worker, as robomimic users ask for (one h5py handle shared across forked workers is unsafe).
    """

    def __init__(self, path: Union[str, os.PathLike]):
        self.path = Path(path)
        self._f: Optional[h5py.File] = open_shard(self.path)  # fail now, with the fix
        self._pid = os.getpid()
        self._closed = False
        self._frames_cache: Dict[str, np.ndarray] = {}
        self._episodes: Optional[List[str]] = None
        self._drop_handles()

    def _drop_handles(self) -> None:
        """Forget the groups and datasets opened through the current file handle."""
        self._groups: Dict[str, h5py.Group] = {}
        self._keys_cache: Dict[str, dict] = {}  # episode -> per-image datasets (_per_frame)
        self._low_cache: Dict[str, dict] = {}  # episode -> low-dim datasets (sample)

    def __getstate__(self) -> dict:
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.path = state["path"]
        self._f, self._pid, self._closed, self._frames_cache = None, os.getpid(), False, {}
        self._episodes = None
        self._drop_handles()

    # -- plumbing --------------------------------------------------------------------------
    @property
    def h5(self) -> h5py.File:
        """The underlying h5py.File (opened in this process on first use)."""
        if self._closed:
            raise UsageError(f"ShardReader for {self.path} is closed; open a new one")
        if self._f is None or self._pid != os.getpid():
            self._f = open_shard(self.path)  # never reuse another process's handle
            self._pid = os.getpid()
            self._drop_handles()  # the old handle's groups and datasets are not ours
        return self._f

    def __enter__(self) -> "ShardReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        # A handle inherited through fork belongs to the parent: drop it, do not close it.
        if self._f is not None and self._pid == os.getpid():
            self._f.close()
        self._f = None
        self._drop_handles()
        self._closed = True

    def __len__(self) -> int:
        return len(self.episodes)

    def _group(self, ep: EpisodeRef) -> h5py.Group:
        return self._episode(ep)[1]

    def _episode(self, ep: EpisodeRef):
        """(group path, group) of ``ep``; caches are keyed by the path (h5py's ``.name`` costs
        microseconds a call, a loader's budget per sample is a hundred)."""
        f = self.h5  # (re)opens after a fork, dropping the cached groups
        names = self._names()
        if isinstance(ep, (int, np.integer)):
            if not -len(names) <= int(ep) < len(names):
                raise UsageError(f"episode index {int(ep)} out of range: {self.path} holds "
                                 f"{len(names)} episodes")
            key = names[int(ep)]
        else:
            key = str(ep).strip("/")
            if "/" not in key:
                key = f"{S.EPISODES_GROUP}/{key}"
            if key not in names:
                raise UsageError(f"no episode {ep!r} in {self.path}{did_you_mean(key, names)} "
                                 "(ShardReader.episodes lists them)")
        g = self._groups.get(key)
        if g is None:
            try:
                g = f[key]
                missing = [n for n in REQUIRED_DATASETS if n not in g]
            except (OSError, KeyError, RuntimeError, ValueError) as e:
                raise self._damaged(key, "group unreadable", e) from None
            if missing:
                raise UsageError(f"{self.path}: {key}: dataset {', '.join(missing)} missing; the "
                                 "shard is damaged or was not written by robotr1: regenerate it "
                                 f"(robotr1-data validate {self.path} lists every problem)")
            self._groups[key] = g
        return key, g

    def _damaged(self, name: str, what: str, exc: BaseException) -> UsageError:
        """The one-line error for data that exists but cannot be read."""
        msg = " ".join(str(exc).split())[:200]
        return UsageError(f"{self.path}: {name}: {what} ({type(exc).__name__}: {msg}); the shard "
                          f"is damaged: run robotr1-data validate {self.path} --full, then re-copy "
                          "or regenerate it")

    # -- shard-level -----------------------------------------------------------------------
    @property
    def episodes(self) -> List[str]:
        """Group paths, in write order: ``["episodes/000000", ...]``."""
        return list(self._names())

    def _names(self) -> List[str]:
        if self._episodes is None:  # listed once: shards are read-only, loaders ask per sample
            grp = self.h5.get(S.EPISODES_GROUP)
            self._episodes = ([f"{S.EPISODES_GROUP}/{k}" for k in sorted(grp)]
                              if grp is not None else [])
        return self._episodes

    @property
    def schema_version(self) -> int:
        return int(self.h5.attrs["schema_version"])

    @property
    def config(self) -> dict:
        """The generator configuration the shard was written with (enough to regenerate it)."""
        value = self._root_json("config", "{}")
        if not isinstance(value, dict):
            raise UsageError(f"{self.path}: root attribute 'config' is not a JSON object; the "
                             "shard is damaged: re-copy or regenerate it")
        return value

    @property
    def attempt_stats(self) -> Optional[dict]:
        """``{"attempts": n, "failures": {reason: count}}`` as generate recorded it, or None."""
        if "attempt_stats" not in self.h5.attrs:
            return None
        value = self._root_json("attempt_stats", "null")
        return value if isinstance(value, dict) else None

    @property
    def created_by(self) -> str:
        return S.decode_attr("str", self.h5.attrs.get("created_by", "unknown"))

    @property
    def mask_names(self) -> List[str]:
        """Body id -> name for the masks (the first episode's scene)."""
        return self._root_json("mask_names", "[]")

    def _root_json(self, name: str, default: str):
        try:
            return json.loads(S.decode_attr("str", self.h5.attrs.get(name, default)))
        except ValueError:  # UnicodeDecodeError included
            raise UsageError(f"{self.path}: root attribute '{name}' is not valid JSON; the shard "
                             "is damaged or was edited: re-copy or regenerate it") from None
        except (OSError, RuntimeError, KeyError) as e:
            raise self._damaged("root", f"attribute '{name}' unreadable", e) from None

    # -- episode-level ---------------------------------------------------------------------
    def attrs(self, ep: EpisodeRef) -> dict:
        """Episode attributes as Python values (JSON ones decoded)."""
        name, g = self._episode(ep)
        try:
            out = {k: S.decode_attr(kind, g.attrs[k]) for k, kind in S.EPISODE_ATTRS.items()
                   if k in g.attrs}
            if "mask_names" in g.attrs:
                out["mask_names"] = S.decode_attr("json", g.attrs["mask_names"])
        except (ValueError, TypeError, OSError, RuntimeError, KeyError) as e:
            raise self._damaged(name, "attributes unreadable", e) from None
        if "mask_names" not in out:
            out["mask_names"] = self.mask_names
        return out

    def low_dim(self, ep: EpisodeRef, field: str) -> np.ndarray:
        """One per-frame or index field of an episode, e.g. ``low_dim(0, "gripper_pose")``."""
        _check_field(field, list(LOW_DIM_FIELDS) + list(S.INDEX_FIELDS))
        name, g = self._episode(ep)
        return self._read(name, g, field)

    def _read(self, name: str, g: h5py.Group, field: str, index=()):
        try:
            return g[field][index]
        except (OSError, RuntimeError, ValueError, KeyError) as e:
            raise self._damaged(name, f"{field} unreadable", e) from None

    def image_frames(self, ep: EpisodeRef) -> np.ndarray:
        return self._frames(*self._episode(ep))

    def _frames(self, name: str, g: h5py.Group) -> np.ndarray:
        frames = self._frames_cache.get(name)
        if frames is None:
            frames = self._frames_cache[name] = self._read(name, g, "image_frames")
        return frames

    def _per_frame(self, name: str, g: h5py.Group) -> dict:
        """key -> (dataset, depth scale or None) for the episode's per-image datasets, cached.

        Listing a group opens every dataset; a random-access loader calls frame()/sample() per
        sample, so the datasets are opened once (shards are read-only). Image datasets open with
        HDF5's chunk cache off: a loader reads each image chunk once per sample, so caching it
        costs a copy and up to 1 MiB per open dataset for hits that random access never gets.
        """
        cached = self._keys_cache.get(name)
        if cached is None:
            try:
                per_image = [k for k in g if k.endswith(("_rgb", "_depth", "_mask"))
                             or (k.endswith(S.EXTRINSICS) and g[k].ndim == 3)]
                cached = {}
                for k in per_image:
                    ds = _open_uncached(g, k) if not k.endswith(S.EXTRINSICS) else g[k]
                    cached[k] = (ds, S.depth_scale(ds))
            except (OSError, RuntimeError, KeyError, ValueError) as e:
                raise self._damaged(name, "image datasets unreadable", e) from None
            self._keys_cache[name] = cached
        return cached

    def _row(self, name: str, g: h5py.Group, i: int) -> int:
        frames = self._frames(name, g)
        # Images may be stored for a subset of frames; image_frames maps frame -> row.
        row = int(np.searchsorted(frames, i))
        if row >= len(frames) or frames[row] != i:
            shown = frames[:8].tolist() + (["..."] if len(frames) > 8 else [])
            raise UsageError(f"frame {i} of {name} has no stored image; frames with images: "
                             f"{shown} ({len(frames)} in all)")
        return row

    def frame(self, ep: EpisodeRef, key: str, i: int) -> np.ndarray:
        """Image (or camera pose) ``key`` at *frame index* ``i``, reading only that chunk.

        ``key`` is ``<cam>_rgb``, ``<cam>_depth``, ``<cam>_mask`` or ``<cam>_camera_extrinsics``.
        """
        return self._frame(*self._episode(ep), key, i)

    def _frame(self, name: str, g: h5py.Group, key: str, i: int) -> np.ndarray:
        cached = self._per_frame(name, g)
        if key not in cached:
            per_image = list(cached)
            raise UsageError(f"no per-frame image field {key!r} in {name}"
                             f"{did_you_mean(key, per_image)}; available: "
                             f"{', '.join(sorted(per_image)) or 'none (recorded without cameras)'}")
        ds, scale = cached[key]
        row = self._row(name, g, i)
        try:
            return S.decode_image(ds[row], scale)
        except (OSError, RuntimeError, ValueError) as e:
            raise self._damaged(name, f"{key} frame {i} cannot be decoded", e) from None

    def sample(self, ep: EpisodeRef, i: int, images: Sequence[str] = ("front_rgb",),
               fields: Sequence[str] = LOADER_FIELDS) -> Dict[str, np.ndarray]:
        """What a training loader reads per sample: images ``images`` and one row of each
        low-dim ``fields`` at frame ``i``, e.g. ``sample(0, 12)["gripper_pose"]``.

        Reads one chunk per image; low-dim rows come from HDF5's chunk cache after the first
        read of an episode (a whole low-dim field is a few KiB, one chunk).
        """
        name, g = self._episode(ep)
        out = {k: self._frame(name, g, k, i) for k in images}
        lows = self._low_cache.get(name)
        if lows is None:
            lows = self._low_cache[name] = {}
        for f in fields:
            d = lows.get(f)
            if d is None:
                _check_field(f, list(LOW_DIM_FIELDS))  # per-frame fields only
                d = lows[f] = g[f]
            try:
                out[f] = d[i]
            except (OSError, RuntimeError) as e:
                raise self._damaged(name, f"{f} frame {i} unreadable", e) from None
        return out

    def load(self, ep: EpisodeRef, images: bool = True,
             cameras: Optional[Sequence[str]] = None) -> Episode:
        """The whole episode as an :class:`Episode`.

        ``images=False`` skips pixel arrays (fast); camera metadata and ``image_frames`` are
        still loaded, because extrinsics are indexed by ``image_frames`` rows.
        ``cameras`` restricts images and camera metadata to those cameras.
        """
        name, g = self._episode(ep)
        try:
            return self._load(name, g, images, cameras)
        except (OSError, RuntimeError, KeyError, ValueError) as e:  # damaged group metadata
            raise self._damaged(name, "unreadable", e) from None

    def _load(self, name: str, g: h5py.Group, images: bool,
              cameras: Optional[Sequence[str]]) -> Episode:
        a = self.attrs(name)
        meta_cams = sorted({k[: -len(S.INTRINSICS) - 1] for k in g if k.endswith(S.INTRINSICS)}
                           | {k[: -len(S.EXTRINSICS) - 1] for k in g if k.endswith(S.EXTRINSICS)}
                           | {k[: -len(S.NEAR) - 1] for k in g if k.endswith(S.NEAR)})
        all_cams = sorted(set(a.get("cameras", [])) | set(meta_cams))
        if cameras is None:
            cams = all_cams
        else:
            cams = list(cameras)
            for c in cams:
                if c not in all_cams:
                    raise UsageError(f"camera {c!r} not in {g.name}{did_you_mean(c, all_cams)}; "
                                     f"recorded cameras: {', '.join(all_cams) or 'none'}")

        imgs: Dict[str, np.ndarray] = {}
        intr: Dict[str, np.ndarray] = {}
        extr: Dict[str, np.ndarray] = {}
        near_far: Dict[str, tuple] = {}
        for cam in cams:
            if images:
                for kind in S.IMAGE_KINDS:
                    if f"{cam}_{kind}" in g:
                        imgs[f"{cam}_{kind}"] = self._images(name, g, f"{cam}_{kind}")
            if f"{cam}_{S.INTRINSICS}" in g:
                intr[cam] = self._read(name, g, f"{cam}_{S.INTRINSICS}")
            if f"{cam}_{S.EXTRINSICS}" in g:
                extr[cam] = self._read(name, g, f"{cam}_{S.EXTRINSICS}")
            if f"{cam}_{S.NEAR}" in g:
                near_far[cam] = (float(self._read(name, g, f"{cam}_{S.NEAR}")),
                                 float(self._read(name, g, f"{cam}_{S.FAR}")))

        fields = {f: self._read(name, g, f) for f in list(LOW_DIM_FIELDS) + list(S.INDEX_FIELDS)}
        return Episode(
            task=a["task"], variation=a["variation"], seed=a["seed"],
            descriptions=a["descriptions"], success=a["success"],
            images=imgs, camera_intrinsics=intr, camera_extrinsics=extr,
            camera_near_far=near_far, mask_names=a["mask_names"],
            attempts=a.get("attempts", 1), extra=a.get("extra"), **fields,
        )

    def _images(self, name: str, g: h5py.Group, key: str) -> np.ndarray:
        """A whole image dataset, decoded; a chunk that fails its checksum is named by frame."""
        try:
            ds = g[key]
        except (OSError, RuntimeError, KeyError, ValueError) as e:
            raise self._damaged(name, f"{key} unreadable", e) from None
        try:
            return S.decode_image(ds[()], S.depth_scale(ds))
        except (OSError, RuntimeError, ValueError) as e:
            frames = self._frames(name, g)
            for row in range(ds.shape[0]):  # find the frame: one chunk per frame
                try:
                    ds[row]
                except (OSError, RuntimeError, ValueError):
                    frame = int(frames[row]) if row < len(frames) else row
                    raise self._damaged(name, f"{key} frame {frame} cannot be decoded", e) from None
            raise self._damaged(name, f"{key} unreadable", e) from None


def _check_field(field: str, known: List[str]) -> None:
    if field not in known:
        raise UsageError(f"unknown low-dim field {field!r}{did_you_mean(field, known)}; "
                         f"fields: {', '.join(known)}")


def _open_uncached(g: h5py.Group, name: str) -> h5py.Dataset:
    """Open ``g[name]`` with HDF5's chunk cache off (see ShardReader._per_frame)."""
    dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    dapl.set_chunk_cache(0, 0, 1.0)  # slots, bytes, preemption
    return h5py.Dataset(h5py.h5d.open(g.id, name.encode(), dapl=dapl))
