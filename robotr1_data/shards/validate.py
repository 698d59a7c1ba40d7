"""validate_dir: find everything wrong with a dataset directory or shard, one line per problem.

The validator never stops at the first problem (a user fixing a copied dataset wants the whole
list) and never raises for bad data: unreadable parts become problem lines.
"""

from __future__ import annotations

import collections
import json
import os
from pathlib import Path
from typing import List, Union

import h5py
import numpy as np

from ..episode import LOW_DIM_FIELDS
from ..errors import UsageError
from . import _spec as S
from .digest import DIGEST_ATTR, episode_digest, root_digest
from .manifest import file_sha256, read_manifest
from .reader import open_shard

QUAT_TOL = 1e-3  # recorded quaternions are normalised to ~1e-12; 1e-3 flags real corruption


def validate_dir(path: Union[str, os.PathLike], full: bool = False) -> List[str]:
    """Problems found in a dataset directory or a single shard; an empty list means all good.

    For a directory with ``manifest.json``: checksums, episode/task counts and missing or
    unlisted shards, then every shard. Without a manifest: every ``*.h5`` below it.
    Image checks read the first and last stored frame of each image dataset (``full=True``
    reads every frame: slower, catches corruption anywhere).
    """
    from .summary import printable
    return [printable(p) for p in _validate(Path(path), full)]


def _validate(path: Path, full: bool) -> List[str]:
    if not path.exists():
        return [f"{path}: does not exist"]
    if path.is_file():
        return validate_shard(path, full=full)

    problems: List[str] = []
    found = sorted(p for p in path.rglob(f"*{S.SHARD_SUFFIX}") if not p.name.startswith("."))
    if not (path / S.MANIFEST_NAME).exists():
        if not found:
            return [f"{path}: no {S.MANIFEST_NAME} and no *{S.SHARD_SUFFIX} shards"]
        # generate/render/import write the manifest last: without one the run did not finish,
        # however valid each shard is on its own.
        problems.append(f"{path}: incomplete: no {S.MANIFEST_NAME} (the command that wrote it "
                        "was interrupted or failed before the end); rerun the same command to "
                        f"finish it{_rerun_hint(found[0], path)}")
        for p in found:
            problems += validate_shard(p, full=full)
        return problems

    try:
        manifest = read_manifest(path)
    except UsageError as e:
        return [f"{path / S.MANIFEST_NAME}: {e}"]
    listed = set()
    problems += _check_completeness(manifest, path)
    for entry in manifest["shards"]:
        rel = entry.get("path", "?")
        shard = path / rel
        listed.add(shard.resolve())
        where = f"{shard}"
        if not shard.is_file():
            problems.append(f"{where}: listed in {S.MANIFEST_NAME} but missing")
            continue
        if file_sha256(shard) != entry.get("sha256"):
            problems.append(f"{where}: sha256 differs from {S.MANIFEST_NAME} (corrupted or "
                            "modified after writing; re-copy or regenerate it)")
        shard_problems = validate_shard(shard, full=full)
        problems += shard_problems
        try:
            with h5py.File(shard, "r") as f:
                grp = f.get(S.EPISODES_GROUP, {})
                tasks = collections.Counter(
                    S.decode_attr("str", grp[k].attrs.get("task", "?")) for k in grp)
                n = len(grp)
        except Exception:
            continue  # already reported by validate_shard
        if n != entry.get("episodes"):
            problems.append(f"{where}: holds {n} episodes, {S.MANIFEST_NAME} says "
                            f"{entry.get('episodes')}")
        if dict(tasks) != entry.get("tasks"):
            problems.append(f"{where}: task counts {dict(tasks)} differ from {S.MANIFEST_NAME} "
                            f"{entry.get('tasks')}")
    for p in found:
        if p.resolve() not in listed:
            problems.append(f"{p}: shard not listed in {S.MANIFEST_NAME} (left over from another "
                            "run? remove it or rewrite the manifest)")
    return problems


def _check_completeness(manifest: dict, path: Path) -> List[str]:
    """A generated dataset holds exactly what its command asked for: never silently short."""
    cfg = manifest.get("config") or {}
    tasks, wanted = cfg.get("tasks"), cfg.get("episodes")
    if not isinstance(tasks, list) or not isinstance(wanted, int):
        return []  # not made by `generate` (e.g. imported): nothing to compare against
    have = collections.Counter()
    for entry in manifest.get("shards", []):
        if isinstance(entry, dict) and isinstance(entry.get("tasks"), dict):
            have.update(entry["tasks"])
    hint = _command_line(cfg, path)
    return [f"task {t}: {have.get(t, 0)} episodes listed, the generate command asked for {wanted}: "
            "incomplete (a run failed or was interrupted); rerun the same command to complete "
            f"it{hint}" for t in tasks if have.get(t, 0) != wanted]


def _rerun_hint(shard: Path, out: Path) -> str:
    try:
        with h5py.File(shard, "r") as f:
            cfg = json.loads(S.decode_attr("str", f.attrs.get("config", "{}")))
    except Exception:
        return ""  # the shard's own problems are reported by validate_shard
    return _command_line(cfg, out) if isinstance(cfg, dict) else ""


def _command_line(cfg: dict, out: Path) -> str:
    """`` (robotr1-data generate ... --out OUT)`` rebuilt from a stored generator config: the
    settings that decide content, so the rerun resumes instead of being refused."""
    tasks, episodes = cfg.get("tasks"), cfg.get("episodes")
    if not isinstance(tasks, list) or not isinstance(episodes, int) or "rendered_from" in cfg:
        return ""
    parts = ["robotr1-data generate --tasks", *map(str, tasks), f"--episodes {episodes}"]
    flags = [("seed", "--seed"), ("episodes_per_shard", "--episodes-per-shard"),
             ("variation", "--variation"), ("image_every", "--image-every"),
             ("max_attempts", "--max-attempts"), ("backend", "--backend")]
    for key, flag in flags:
        if cfg.get(key) is not None:
            parts.append(f"{flag} {cfg[key]}")
    cams = cfg.get("cameras")
    if isinstance(cams, list):
        parts.append("--cameras " + (" ".join(map(str, cams)) if cams else "none"))
        if cams and isinstance(cfg.get("image_size"), list):
            parts.append("--image-size " + " ".join(map(str, cfg["image_size"])))
    for key in ("depth", "mask"):
        if cfg.get(key) is False:
            parts.append(f"--no-{key}")
    if cfg.get("render_quality"):
        parts.append("--render-quality")
    if isinstance(cfg.get("tessellation"), list):
        parts.append("--tessellation " + " ".join(map(str, cfg["tessellation"])))
    if cfg.get("compression", "zstd") != "zstd":
        parts.append(f"--compression {cfg.get('compression') or 'none'}")
    return f" (if generate wrote it: {' '.join(parts)} --out {out})"


def validate_shard(path: Union[str, os.PathLike], full: bool = False) -> List[str]:
    """Problems in one shard file (see validate_dir). Never raises for a damaged file: every
    error HDF5 or the decoders raise becomes a problem line naming the file and episode."""
    try:
        f = open_shard(path)
    except UsageError as e:
        return [str(e)]
    except Exception as e:  # damaged superblock or root attributes
        return [f"{path}: unreadable ({_brief(e)}); the file is damaged: re-copy or regenerate it"]
    problems: List[str] = []
    try:
        with f:
            try:
                problems += [f"{path}: {msg}" for msg in _check_root(f)]
            except Exception as e:
                problems.append(f"{path}: root attributes unreadable ({_brief(e)})")
            try:
                grp = f.get(S.EPISODES_GROUP)
                names = sorted(grp) if grp is not None else []
            except Exception as e:
                grp, names = None, []
                problems.append(f"{path}: group '{S.EPISODES_GROUP}' unreadable ({_brief(e)})")
            for name in names:
                where = f"{path}: {S.EPISODES_GROUP}/{name}"
                try:
                    problems += [f"{where}: {msg}" for msg in _check_episode(grp[name], full)]
                    if full:
                        problems += [f"{where}: {msg}" for msg in _check_digest(grp[name])]
                except Exception as e:  # HDF5 errors on corrupt metadata or chunks
                    problems.append(f"{where}: unreadable ({_brief(e)})")
            try:
                problems += [f"{path}: {msg}" for msg in _check_root_digest(f)]
            except Exception as e:
                problems.append(f"{path}: root digest cannot be checked ({_brief(e)})")
    except Exception as e:  # closing a damaged file can fail too
        problems.append(f"{path}: unreadable ({_brief(e)})")
    return problems


def _brief(e: BaseException) -> str:
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg[:300]}"


def _check_digest(g: h5py.Group) -> List[str]:
    """--full: the episode's content against the digest written with it (shards written before
    digests existed have none: nothing to compare)."""
    stored = g.attrs.get(DIGEST_ATTR)
    if stored is None:
        return []
    stored = S.decode_attr("str", stored)
    if episode_digest(g) != stored:
        return [f"content differs from its {DIGEST_ATTR} (a damaged byte in data, an index or "
                "an attribute, invisible to the chunk checksums); re-copy or regenerate the "
                "shard"]
    return []


def _check_root_digest(f: h5py.File) -> List[str]:
    stored = f.attrs.get(DIGEST_ATTR)
    if stored is None:
        return []
    if root_digest(f, S.EPISODES_GROUP) != S.decode_attr("str", stored):
        return [f"root attributes or episode digests differ from the root {DIGEST_ATTR} (the "
                "file is damaged or was edited); re-copy or regenerate it"]
    return []


def _check_root(f: h5py.File) -> List[str]:
    out = []
    for a in S.ROOT_ATTRS:
        if a not in f.attrs:
            out.append(f"root attribute '{a}' missing")
    for a in ("config", "mask_names"):
        if a in f.attrs:
            try:
                json.loads(S.decode_attr("str", f.attrs[a]))
            except ValueError:  # UnicodeDecodeError included
                out.append(f"root attribute '{a}' is not valid JSON")
    grp = f.get(S.EPISODES_GROUP)
    if grp is None:
        out.append(f"group '{S.EPISODES_GROUP}' missing")
    elif "num_episodes" in f.attrs and int(f.attrs["num_episodes"]) != len(grp):
        out.append(f"num_episodes says {int(f.attrs['num_episodes'])} but "
                   f"{len(grp)} episode groups exist")
    return out


def _check_episode(g: h5py.Group, full: bool) -> List[str]:
    out: List[str] = []
    for a, kind in S.EPISODE_ATTRS.items():
        if a not in g.attrs:
            out.append(f"attribute '{a}' missing")
        elif kind == "json":
            try:
                S.decode_attr(kind, g.attrs[a])
            except ValueError:
                out.append(f"attribute '{a}' is not valid JSON")

    # Low-dim fields: present, dtype, trailing shape, one row per frame, finite.
    T = None
    for field, (trailing, dtype) in LOW_DIM_FIELDS.items():
        if field not in g:
            out.append(f"{field}: dataset missing")
            continue
        d = g[field]
        if d.dtype != dtype:
            out.append(f"{field}: dtype {d.dtype}, expected {np.dtype(dtype).name}")
        if d.ndim != 1 + len(trailing) or any(
                t not in (-1, s) for t, s in zip(trailing, d.shape[1:])):
            out.append(f"{field}: shape {d.shape}, expected ({S.LOW_DIM_UNITS[field][1]})")
            continue
        if T is None:
            T = d.shape[0]
        elif d.shape[0] != T:
            out.append(f"{field}: {d.shape[0]} frames, other fields have {T}")
        a = d[()]
        if not np.all(np.isfinite(a)):
            out.append(f"{field}: contains NaN or inf")
        if field == "gripper_pose" and a.size:
            norm = np.linalg.norm(a[:, 3:7], axis=1)
            bad = np.flatnonzero(np.abs(norm - 1.0) > QUAT_TOL)
            if bad.size:
                out.append(f"gripper_pose: quaternion (qx,qy,qz,qw) not unit norm at frames "
                           f"{bad[:5].tolist()} (norm {norm[bad[0]]:.4f})")
    if T is None:
        return out
    if "length" in g.attrs and int(g.attrs["length"]) != T:
        out.append(f"attribute length={int(g.attrs['length'])} but low-dim fields have {T} frames")

    # Frame-index fields: int64, sorted, unique, inside the episode.
    for field in S.INDEX_FIELDS:
        if field not in g:
            out.append(f"{field}: dataset missing")
            continue
        d = g[field]
        if d.dtype != np.int64 or d.ndim != 1:
            out.append(f"{field}: dtype {d.dtype} shape {d.shape}, expected int64 (n,)")
            continue
        a = d[()]
        if a.size and (a.min() < 0 or a.max() >= T):
            out.append(f"{field}: indices {a[(a < 0) | (a >= T)][:5].tolist()} outside [0, {T})")
        if np.any(np.diff(a) <= 0):
            out.append(f"{field}: not sorted and unique")
    if "image_frames" not in g or g["image_frames"].ndim != 1:
        return out
    n_img = g["image_frames"].shape[0]

    try:
        cameras = S.decode_attr("json", g.attrs.get("cameras", "[]"))
    except ValueError:
        cameras = []
    for cam in cameras:
        out += _check_camera(g, cam, n_img, full)
    return out


def _check_camera(g: h5py.Group, cam: str, n_img: int, full: bool) -> List[str]:
    out: List[str] = []
    hw = None
    version = int(g.file.attrs.get("schema_version", 1))
    kinds = [k for k in S.IMAGE_KINDS if f"{cam}_{k}" in g]
    if not kinds:
        out.append(f"{cam}: listed in 'cameras' but has no _rgb/_depth/_mask dataset")
    for kind in kinds:
        key = f"{cam}_{kind}"
        d = g[key]
        dtype, nd, _, shape = S.IMAGE_KINDS[kind]
        scale = S.depth_scale(d) if kind == "depth" else None
        if scale is not None:
            dtype = S.STORED_DEPTH_DTYPE  # fixed-point depth (schema >= 2)
            if not 0 < scale < 1:
                out.append(f"{key}: scale_factor {scale} is not a plausible depth step in metres")
        elif kind == "depth" and version >= 2:
            out.append(f"{key}: no scale_factor attribute; schema {version} stores depth as "
                       f"uint32 steps of {S.DEPTH_STEP_M} m (rewrite with ShardWriter)")
        if d.dtype != dtype:
            out.append(f"{key}: dtype {d.dtype}, expected {np.dtype(dtype).name}")
        if d.ndim != 1 + nd or (kind == "rgb" and d.shape[-1] != 3):
            out.append(f"{key}: shape {d.shape}, expected ({shape})")
            continue
        if d.shape[0] != n_img:
            out.append(f"{key}: {d.shape[0]} images but image_frames lists {n_img}")
        if hw is None:
            hw = d.shape[1:3]
        elif d.shape[1:3] != hw:
            out.append(f"{key}: image size {d.shape[1:3]} differs from {cam}'s other images {hw}")
        if d.chunks is not None and d.chunks[0] != 1 and d.shape[0] > 1:
            out.append(f"{key}: chunks {d.chunks} hold several frames; reading one frame "
                       "decompresses all of them (rewrite with ShardWriter)")
        if d.shape[0] == 0:
            continue
        rows = range(d.shape[0]) if full else sorted({0, d.shape[0] - 1})
        for r in rows:
            try:
                img = d[r]  # decompression + fletcher32 checksum happen here
            except Exception as e:
                out.append(f"{key}: image row {r} cannot be decoded ({e})")
                continue
            img = S.decode_image(img, scale)
            if kind == "depth" and not (np.all(np.isfinite(img)) and np.all(img > 0)):
                out.append(f"{key}: image row {r} has depth values that are not finite and > 0")
    for suffix, shape in ((S.INTRINSICS, (3, 3)), (S.EXTRINSICS, (n_img, 4, 4))):
        key = f"{cam}_{suffix}"
        if key not in g:
            out.append(f"{key}: dataset missing")
        elif g[key].shape != shape:
            out.append(f"{key}: shape {g[key].shape}, expected {shape}")
        elif not np.all(np.isfinite(g[key][()])):
            out.append(f"{key}: contains NaN or inf")
    for suffix in (S.NEAR, S.FAR):
        if f"{cam}_{suffix}" not in g:
            out.append(f"{cam}_{suffix}: dataset missing")
    if f"{cam}_{S.NEAR}" in g and f"{cam}_{S.FAR}" in g:
        near, far = float(g[f"{cam}_{S.NEAR}"][()]), float(g[f"{cam}_{S.FAR}"][()])
        if not 0 < near < far:
            out.append(f"{cam}: camera near/far ({near}, {far}) must satisfy 0 < near < far")
    return out
